//! Git access.
//!
//! # Policy
//! - **Mutations** (worktree add/remove/move/prune, branch rename, commit, push) run the
//!   `git` CLI ([`GitCli`]), exactly as the user's own git would: hooks, sparse checkout,
//!   credential helpers and git's own safety checks all apply.
//! - **Read-only queries on hot paths** (worktree registrations, HEAD, ahead/behind,
//!   working-tree dirtiness) use libgit2 in-process ([`repo`]), because a worktree list
//!   would otherwise spawn several processes per worktree. The `worktree_list` benchmark in
//!   `benches/` measures this choice against spawning `git`.
//! - Every command sets `GIT_TERMINAL_PROMPT=0` so a missing credential fails instead of
//!   hanging a request, and runs through the [`CommandRunner`](crate::command::CommandRunner)
//!   (scrubbed environment, timeout, concurrency budget, ops-log record).

mod cli;
pub mod repo;

pub use cli::{CommandObserver, CommandRecord, GIT_NETWORK_CREDENTIALS, GitCli, GitError};
