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
//! - `testing` (feature `testing`): a fake GitHub server for tests.
#![forbid(unsafe_code)]

pub mod github;
pub mod http;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
