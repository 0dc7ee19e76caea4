//! # openkit-integrations
//!
//! Adapters that connect OpenKit to issue trackers and code hosts (Jira, Linear, GitHub,
//! Kiket, Kizuna, Kite). Each adapter implements a port defined in `openkit-core`, takes
//! an injected base URL and HTTP client, and is tested against local fake servers.
//!
//! No adapter has landed yet: this crate fixes the place and the dependency rule
//! (`openkit-integrations` depends on `openkit-core`, never the other way round) so the
//! tracker work can start without reshaping the workspace.
#![forbid(unsafe_code)]
