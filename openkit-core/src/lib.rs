//! # openkit-core
//!
//! The domain of OpenKit, a local workbench for running many AI coding agents in
//! parallel: each task gets its own git worktree, dev server, terminals and notes.
//!
//! This crate holds the types, the services and the *ports* (traits) they need, plus the
//! default local implementations (git, files under `.openkit/`, child processes). It
//! never talks to a terminal, never reads `$HOME` or environment variables itself, and
//! knows nothing about HTTP: frontends (`openkit-http`, `openkit-cli`) and embedders
//! read their environment into a [`HostEnv`], build a [`Paths`] value, and get a
//! [`Workbench`] from the one [`Composition`] that wires every service of a project.
//!
//! ## Embedding
//!
//! ```no_run
//! use openkit_core::{Composition, CreateWorktree, HostEnv, Paths};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let host = HostEnv::from_vars(std::env::vars_os());
//! let paths = Paths::new("/path/to/repo", "/home/me/.openkit");
//! let workbench = Composition::new(paths, host).build()?;
//! // Optional: keep the status snapshot fresh by watching the worktrees, and publish
//! // worktree lists on the event bus.
//! let _background = workbench.start_background();
//! let created = workbench
//!     .create_worktree(CreateWorktree { branch: "feature/login".into(), ..Default::default() })
//!     .await?;
//! if let Some(settled) = created.settled {
//!     settled.await??; // wait for the install to finish
//! }
//! for wt in workbench.list_worktrees().await? {
//!     println!("{} {} dirty={}", wt.id, wt.branch, wt.has_uncommitted);
//! }
//! # Ok(()) }
//! ```
//!
//! Every error implements [`DomainError`]: a kind (for the transport status) and a stable
//! `UPPER_SNAKE` code.
#![forbid(unsafe_code)]

pub mod agent_reports;
pub mod agent_rules;
pub mod agents;
pub mod attention;
pub mod backbone;
pub mod bus;
pub mod codehost;
pub mod command;
pub mod compose;
pub mod config;
pub mod containment;
pub mod context;
pub mod devserver;
pub mod error;
pub mod events;
pub mod gateway;
pub mod git;
pub mod hooks;
pub mod host;
pub mod integrations;
pub mod issues;
pub mod links;
pub mod logs;
pub mod notes;
pub mod open_targets;
pub mod paths;
pub mod perf;
pub mod persist;
pub mod ports;
pub mod provision;
pub mod redact;
pub mod registry;
pub mod removal;
pub mod rules;
pub mod status;
pub mod task_worktree;
pub mod tasks;
pub mod trackers;
pub mod tunnel;
pub mod workbench;
pub mod worktree;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use compose::Composition;
pub use config::{ConfigError, ConfigStore, LocalConfig, WorktreeConfig};
pub use error::{DomainError, ErrorKind};
pub use host::HostEnv;
pub use paths::{Paths, discover_project};
pub use workbench::{
    Background, CreateWorktree, Created, DeleteFailure, DeleteReport, RenameWorktree, Workbench,
};
pub use worktree::{RecoverAction, WorktreeError, WorktreeId, WorktreeInfo, WorktreeStatus};
