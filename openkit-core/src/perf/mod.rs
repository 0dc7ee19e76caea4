//! Performance monitoring: CPU and memory of the OpenKit server, each worktree's dev
//! server with its child processes, and its agent terminal sessions, read from `/proc`
//! (no `ps`/`pgrep` subprocesses; empty metrics on systems without `/proc`).
//!
//! - [`ProcessSource`] says which processes belong to which worktree ([`NoProcesses`],
//!   [`StaticProcesses`], or the embedder's dev-server runner and terminal manager).
//! - [`PerfMonitor`] samples on demand: every interval ([`DEFAULT_INTERVAL`], 2 s) only
//!   while at least one [`PerfSubscription`] is alive, keeping the last [`RING`] (150)
//!   snapshots.
//! - [`PerfSnapshot`] is the reference's wire shape (camelCase JSON).
//!
//! No HTTP here; the routes live in `openkit-http`.

pub mod proc;

mod monitor;
mod sampler;
mod snapshot;
mod source;

use std::time::Duration;

pub use monitor::{
    DEFAULT_INTERVAL, LIVE_BUFFER, PerfMonitor, PerfSubscription, READ_TIMEOUT, RING,
    SOURCE_TIMEOUT,
};
pub use sampler::cpu_percent;
pub use snapshot::{PerfSnapshot, ProcessMetrics, SystemMetrics, WorktreeMetrics};
pub use source::{NoProcesses, ProcessSource, StaticProcesses, TrackedWorktree};

/// Why a sample could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// Reading `/proc` took longer than allowed.
    #[error("reading process information took longer than {0:?}")]
    ReadTimedOut(Duration),
    /// The blocking read panicked or was cancelled.
    #[error("reading process information failed: {0}")]
    ReadFailed(String),
}
