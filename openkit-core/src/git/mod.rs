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
//! - **Worktree changes** ([`diff`]): the changed-file list and file contents are read-only
//!   and come from libgit2 (the `diff` benchmark measures a 1,000-file list); **commit and
//!   push** ([`changes`]) are mutations and run `git add -A` / `git commit` / `git push`
//!   through [`GitCli`], so the user's hooks and credential helpers apply.
//! - **Agents** ([`policy`]): commit, push and pull requests asked for by an agent are
//!   decided by the linked issue's `gitPolicy` over the local-config defaults
//!   ([`Workbench::authorize_git`](crate::Workbench::authorize_git)); humans are never refused.

pub mod changes;
mod cli;
pub mod confine;
pub mod diff;
pub mod op_error;
pub mod policy;
pub mod repo;
mod workbench;

pub use changes::{CommitOutcome, PushOutcome};
pub use cli::{CommandObserver, CommandRecord, GIT_NETWORK_CREDENTIALS, GitCli, GitError};
pub use confine::TreePath;
pub use diff::{ChangeStatus, ChangedFile, FileContents};
pub use op_error::GitOpError;
pub use policy::{Actor, GitAction};
pub use workbench::{DiffFileQuery, WorktreeDiff};
