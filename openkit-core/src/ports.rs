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

    /// Starts (or reuses) the agent session of `launch.worktree_id` in the agent's scope,
    /// following the scope rules of `POST /api/worktrees/:id/terminals`: a live agent
    /// session of that scope is reused, a shell-only one is replaced. Used by work that
    /// starts agents without a client (auto-started agents of newly assigned issues). By
    /// default: [`TerminalsError::Unsupported`].
    async fn start_agent_session(
        &self,
        launch: AgentLaunch,
    ) -> Result<AgentSessionStarted, TerminalsError> {
        let _ = launch;
        Err(TerminalsError::Unsupported)
    }
}

/// How to start an agent's scoped terminal session (see
/// [`Terminals::start_agent_session`]). Built by the workbench
/// ([`crate::Workbench::start_agent_session`]), which knows the host environment.
#[derive(Debug, Clone)]
pub struct AgentLaunch {
    /// The worktree (canonical id).
    pub worktree_id: String,
    /// Its checkout: the session's working directory.
    pub cwd: std::path::PathBuf,
    /// The agent, also the session's scope.
    pub agent: crate::agents::Agent,
    /// The startup command line run with `$SHELL -lc` (OpenKit's hooks already added).
    pub command: String,
    /// Variables added to the session's environment (`OPENKIT_ACTOR`).
    pub env: Vec<(String, String)>,
    /// The whole environment the shell starts from (the host environment).
    pub base_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// The shell (`$SHELL` of the host; `None`: `/bin/sh`).
    pub shell: Option<String>,
    /// The supervisor the session runs under, when the composition has one.
    pub supervisor: Option<crate::containment::Supervisor>,
}

/// What [`Terminals::start_agent_session`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSessionStarted {
    /// The session to attach to.
    pub session_id: String,
    /// A live agent session of the scope was there already and is kept.
    pub reused: bool,
}

/// Why no agent session could be started.
#[derive(Debug, thiserror::Error)]
pub enum TerminalsError {
    /// This frontend runs no terminals.
    #[error("Terminals are not available here")]
    Unsupported,
    /// The terminal could not be started.
    #[error("Could not start the terminal: {0}")]
    Failed(String),
}

impl crate::error::DomainError for TerminalsError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Unavailable
    }
    fn code(&self) -> &'static str {
        match self {
            TerminalsError::Unsupported => "TERMINALS_UNAVAILABLE",
            TerminalsError::Failed(_) => "TERMINAL_SPAWN_FAILED",
        }
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
