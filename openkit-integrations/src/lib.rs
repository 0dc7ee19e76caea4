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
//! - [`jira`]: Jira Cloud (API token or OAuth 2.0 3LO; issues, transitions, comments,
//!   ADF rendered to Markdown, the attachment proxy) as the `jira` issue source.
//! - [`linear`]: Linear over GraphQL as the `linear` issue source.
//! - [`tracker`]: what the Jira and Linear services share.
//! - [`kiket`]: Kiket (issues, workflows, webhooks, SLA events) as the `kiket` issue source.
//! - [`kite`]: Kite, the agent event relay: activity forwarded as CloudEvents through a
//!   durable outbox, agent messages both ways.
//! - [`kizuna`]: Kizuna (issues, pull requests as a code host, pipelines, agents).
//! - [`secret`]: [`secret::Secret`], a credential that never shows itself.
//! - [`verify`]: the parallel, time-bounded connection checks of
//!   `GET /api/integrations/verify`.
//! - `testing` (feature `testing`): a fake GitHub server for tests; `testing_jira`,
//!   `testing_linear`, `testing_kiket`, `testing_kite` and `testing_kizuna` the fakes of
//!   the other services.
#![forbid(unsafe_code)]

pub mod api;
pub mod github;
pub mod http;
pub mod hub;
pub mod jira;
pub mod kiket;
pub mod kite;
pub mod kizuna;
pub mod linear;
pub mod secret;
pub mod tracker;
pub mod verify;

pub use hub::Integrations;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(any(test, feature = "testing"))]
pub mod testing_jira;
#[cfg(any(test, feature = "testing"))]
pub mod testing_kiket;
#[cfg(any(test, feature = "testing"))]
pub mod testing_kite;
#[cfg(any(test, feature = "testing"))]
pub mod testing_kizuna;
#[cfg(any(test, feature = "testing"))]
pub mod testing_linear;
