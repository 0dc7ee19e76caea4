//! The ports the workbench needs from the outside world, with null implementations for
//! embedders that do not run dev servers or terminals.
//!
//! `openkit-pty` implements [`Terminals`]; the dev-server runner implements [`DevServers`];
//! the event bus implements [`EventSink`].

use async_trait::async_trait;

use crate::devserver::{DevServerError, StartRequest};
use crate::worktree::WorktreeStatus;

/// Runtime state of a worktree's dev server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevServerRuntime {
    /// Starting or running.
    pub status: WorktreeStatus,
    /// Ports in use (offset applied).
    pub ports: Vec<u16>,
    /// The port offset.
    pub offset: u32,
    /// Process id of the server's process group leader.
    pub pid: Option<u32>,
    /// Last output or state change (ISO-8601).
    pub last_activity: Option<String>,
}

/// Dev-server processes, one per worktree.
#[async_trait]
pub trait DevServers: Send + Sync {
    /// The running (or starting) dev server of `worktree_id`, if any.
    fn runtime(&self, worktree_id: &str) -> Option<DevServerRuntime>;

    /// Output lines kept for `worktree_id`; `None` when it never ran.
    fn logs(&self, worktree_id: &str) -> Option<Vec<String>>;

    /// Starts the dev server of a worktree; a running one is returned as it is.
    async fn start(&self, request: StartRequest) -> Result<DevServerRuntime, DevServerError>;

    /// Stops the dev server of `worktree_id`; true when one was running.
    async fn stop(&self, worktree_id: &str) -> bool;

    /// Stops every dev server (server shutdown).
    async fn stop_all(&self);

    /// Forgets a worktree's runtime state after it was renamed or removed.
    fn forget(&self, worktree_id: &str);
}

/// Terminal sessions attached to worktrees.
#[async_trait]
pub trait Terminals: Send + Sync {
    /// Ends every session of `worktree_id`; returns how many were ended.
    async fn close_worktree_sessions(&self, worktree_id: &str) -> usize;

    /// The live session of `worktree_id` in `scope` (`terminal`, `claude`, ...), if any.
    fn active_session(&self, worktree_id: &str, scope: &str) -> Option<String>;

    /// Process ids of the live sessions of `worktree_id` (for performance monitoring).
    fn session_pids(&self, worktree_id: &str) -> Vec<u32>;

    /// The agent sessions of every worktree and what each is doing (see
    /// [`crate::attention`]), by worktree id: asked once per list.
    fn agent_sessions(
        &self,
    ) -> std::collections::BTreeMap<String, Vec<crate::attention::AgentSession>> {
        std::collections::BTreeMap::new()
    }
}

/// No dev servers: nothing ever runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDevServers;

#[async_trait]
impl DevServers for NoDevServers {
    fn runtime(&self, _: &str) -> Option<DevServerRuntime> {
        None
    }
    fn logs(&self, _: &str) -> Option<Vec<String>> {
        None
    }
    async fn start(&self, _: StartRequest) -> Result<DevServerRuntime, DevServerError> {
        Err(DevServerError::Unavailable)
    }
    async fn stop(&self, _: &str) -> bool {
        false
    }
    async fn stop_all(&self) {}
    fn forget(&self, _: &str) {}
}

/// No terminals: nothing to close.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTerminals;

#[async_trait]
impl Terminals for NoTerminals {
    async fn close_worktree_sessions(&self, _: &str) -> usize {
        0
    }
    fn active_session(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn session_pids(&self, _: &str) -> Vec<u32> {
        Vec::new()
    }
}
