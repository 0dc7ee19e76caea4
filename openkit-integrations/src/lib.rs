//! # openkit-integrations
//!
//! Adapters that connect OpenKit to issue trackers and code hosts (Jira, Linear, GitHub,
//! Kiket, Kizuna, Kite). Each adapter implements a port defined in `openkit-core`, takes
//! an injected base URL and HTTP client, and is tested against local fake servers.
//!
//! - [`github`]: GitHub and GitHub Enterprise as core's `CodeHost` (pull requests and
//!   their state, repositories), over the REST API with reqwest (rustls).
//! - [`http`]: what every adapter shares: rate-limit and `Retry-After` headers, the gate
//!   that stops requests while a limit is in force, `Link` paging.
//! - [`api`]: [`api::ApiClient`], the one way tracker adapters send requests: checked
//!   base URLs, credentials only to their origin, timeouts, rate limits (server-imposed
//!   and client-side), retries, and errors in the service's terms ([`api::UpstreamError`]).
//! - [`hub`]: [`Integrations`], a project's integration services and what they share
//!   (the workbench, `integrations.json`, the HTTP client, endpoints not given at setup).
//! - [`secret`]: [`secret::Secret`], a credential that never shows itself.
//! - `testing` (feature `testing`): a fake GitHub server for tests.
#![forbid(unsafe_code)]

pub mod api;
pub mod github;
pub mod http;
pub mod hub;
pub mod jira;
pub mod linear;
pub mod secret;
pub mod tracker;

pub use hub::Integrations;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(any(test, feature = "testing"))]
pub mod testing_jira;
#[cfg(any(test, feature = "testing"))]
pub mod testing_linear;
