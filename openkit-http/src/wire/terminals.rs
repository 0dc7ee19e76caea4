//! Terminal sessions: create, look up, destroy, and the WebSocket messages.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// Body of `POST /api/worktrees/:id/terminals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewTerminalRequest {
    /// Columns (default 80).
    pub cols: Option<u32>,
    /// Rows (default 24).
    pub rows: Option<u32>,
    /// Command run by the shell at start (`$SHELL -lc <command>`).
    pub startup_command: Option<String>,
    /// `terminal`, `claude`, `codex`, `gemini` or `opencode`: one session per worktree
    /// and scope is reused.
    pub scope: Option<String>,
}

/// A terminal session to attach to.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalCreated {
    /// Always `true`.
    pub success: True,
    /// The session id (for `/api/terminals/{id}/ws`).
    pub session_id: String,
    /// An existing scoped session was reused.
    pub reused_scoped_session: bool,
    /// A shell-only scoped session was replaced by one with a startup command.
    pub replaced_scoped_shell_session: bool,
}

/// `?scope=...`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// `terminal`, `claude`, `codex`, `gemini` or `opencode` (required).
    #[param(required = true)]
    pub scope: Option<String>,
}

/// `GET /api/worktrees/:id/terminals/active`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSession {
    /// Always `true`.
    pub success: True,
    /// The live session of that scope, if any.
    #[schema(required = true)]
    pub session_id: Option<String>,
}

/// A text frame the server sends on the terminal WebSocket (PTY output itself comes as
/// binary frames).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TerminalServerMessage {
    /// First frame: the current screen plus recent scrollback.
    Restore {
        /// Terminal output to write before live output.
        payload: String,
    },
    /// The process exited; the socket closes next.
    Exit {
        /// Its exit code.
        #[serde(rename = "exitCode")]
        exit_code: i32,
    },
}

/// A client text frame that resizes the terminal (any other text frame is input).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TerminalResize {
    /// Always `resize`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
}

/// Body of `POST /api/terminals/:id/attention`, sent by an agent's hook
/// (`openkit __agent-hook <event>`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttentionReport {
    /// `working`, `waiting-for-input`, `idle` or `finished` (a turn ended).
    pub event: String,
    /// The agent's own words (a permission it asks for).
    pub message: Option<String>,
}

/// The agent session after a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttentionReported {
    /// Always `true`.
    pub success: True,
    /// The session as the worktree list now shows it.
    pub session: super::worktrees::AgentSessionInfo,
}
