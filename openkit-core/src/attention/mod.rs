//! Attention: what each agent session is doing, so a person running many of them knows
//! which one needs them.
//!
//! An agent session (a terminal started in an agent scope: `claude`, `codex`, `gemini`,
//! `opencode`) is in one [`AttentionState`]. The state comes from the agent's own hooks
//! first: OpenKit launches Claude Code with hooks (`--settings`) and Codex with a notify
//! program that call back into `openkit __agent-hook` ([`launch`]). Where an agent has no
//! hook for a moment (Codex reports only finished turns; Gemini CLI and OpenCode none), the
//! screen model stands in ([`screen`]): output means working, a quiet screen asking a
//! question means waiting for input, a quiet screen otherwise idle. [`tracker`] combines
//! both and smooths the screen's guesses so they do not flicker; a hook is believed at
//! once.
//!
//! Core holds the rules; `openkit-pty` feeds them output and time, and the workbench turns
//! every change into the worktree list (`agentSessions`) and activity events
//! (`agent_awaiting_input`, `agent_finished`).

pub mod launch;
pub mod screen;
pub mod tracker;

use serde::{Deserialize, Serialize};

pub use tracker::{AttentionTracker, Coverage};

/// What an agent session is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionState {
    /// Launched, nothing known yet.
    Starting,
    /// Producing output or running tools.
    Working,
    /// Asking its person something (a permission, a question): needs them now.
    WaitingForInput,
    /// Done with its turn, waiting for the next instruction.
    Idle,
    /// The process ended.
    Exited,
}

impl AttentionState {
    /// The wire name (`waiting-for-input`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionState::Starting => "starting",
            AttentionState::Working => "working",
            AttentionState::WaitingForInput => "waiting-for-input",
            AttentionState::Idle => "idle",
            AttentionState::Exited => "exited",
        }
    }
}

/// Where a state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionSource {
    /// The agent's own hook said so.
    Hook,
    /// Read off the screen.
    Screen,
    /// The session's lifecycle (start, exit).
    Process,
}

/// What an agent's hook reports (`openkit __agent-hook <event>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookEvent {
    /// A prompt was submitted or a tool ran: the agent works.
    Working,
    /// It asks for a permission or an answer.
    WaitingForInput,
    /// It is ready for a first or next instruction (session start).
    Idle,
    /// It finished its turn.
    Finished,
}

impl HookEvent {
    /// Parses `working`, `waiting-for-input`, `idle` or `finished`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "working" => HookEvent::Working,
            "waiting-for-input" => HookEvent::WaitingForInput,
            "idle" => HookEvent::Idle,
            "finished" => HookEvent::Finished,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Working => "working",
            HookEvent::WaitingForInput => "waiting-for-input",
            HookEvent::Idle => "idle",
            HookEvent::Finished => "finished",
        }
    }

    /// The state it puts the session in.
    pub fn state(self) -> AttentionState {
        match self {
            HookEvent::Working => AttentionState::Working,
            HookEvent::WaitingForInput => AttentionState::WaitingForInput,
            HookEvent::Idle | HookEvent::Finished => AttentionState::Idle,
        }
    }
}

/// One agent session as the worktree list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    /// The terminal session id.
    pub session_id: String,
    /// The agent (the session's scope: `claude`, `codex`, ...).
    pub agent: String,
    /// What it is doing.
    pub state: AttentionState,
    /// Where that came from.
    pub source: AttentionSource,
    /// Since when (ISO-8601).
    pub since: String,
    /// The agent's own words about it, when a hook gave some (a permission request).
    pub message: Option<String>,
    /// The exit code once exited.
    pub exit_code: Option<i32>,
}

/// A change of an agent session's state, for the workbench to announce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionChange {
    /// The worktree the session runs in.
    pub worktree_id: String,
    /// The session after the change.
    pub session: AgentSession,
    /// The state before it.
    pub from: AttentionState,
    /// A hook reported a finished turn (as opposed to an agent that is merely idle).
    pub finished_turn: bool,
}

/// Receives every [`AttentionChange`] (the workbench, through the server's wiring).
pub type AttentionListener = std::sync::Arc<dyn Fn(AttentionChange) + Send + Sync>;

/// The scopes that are agents (a `terminal` session is a plain shell).
pub const AGENT_SCOPES: [&str; 4] = ["claude", "codex", "gemini", "opencode"];

/// Whether a terminal scope is an agent's.
pub fn is_agent_scope(scope: &str) -> bool {
    AGENT_SCOPES.contains(&scope)
}
