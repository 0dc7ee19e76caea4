//! Agent CLIs and sessions: `/api/agents/:agent/cli/*`,
//! `/api/worktrees/:id/agents/:agent/restore`.

use std::path::PathBuf;

use openkit_core::agents::{Agent, HistoryMatch as CoreMatch};
use serde::Serialize;
use utoipa::ToSchema;

use super::True;

/// An agent CLI.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentCli {
    /// Always `true`.
    pub success: True,
    /// `claude`, `codex`, `gemini` or `opencode`.
    pub agent: String,
    /// Human label.
    pub label: String,
    /// The command it runs as.
    pub command: String,
    /// Its Homebrew package.
    pub brew_package: String,
}

impl From<Agent> for AgentCli {
    fn from(agent: Agent) -> Self {
        AgentCli {
            success: True,
            agent: agent.command().to_string(),
            label: agent.label().to_string(),
            command: agent.command().to_string(),
            brew_package: agent.brew_package().to_string(),
        }
    }
}

/// `GET /api/agents/:agent/cli/status`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentCliStatus {
    /// The agent.
    #[serde(flatten)]
    pub cli: AgentCli,
    /// The command was found.
    pub installed: bool,
    /// Where it was found.
    #[schema(value_type = Option<String>, required = true)]
    pub path: Option<PathBuf>,
}

/// A past native session of an agent in one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMatch {
    /// The agent's own session id (for `--resume`).
    pub session_id: String,
    /// The first real user prompt, shortened.
    pub title: String,
    /// Last change of the session (ISO-8601 UTC).
    pub updated_at: String,
    /// The first real user prompt, longer.
    pub preview: String,
}

impl From<&CoreMatch> for HistoryMatch {
    fn from(m: &CoreMatch) -> Self {
        HistoryMatch {
            session_id: m.session_id.clone(),
            title: m.title.clone(),
            updated_at: m.updated_at.clone(),
            preview: m.preview.clone(),
        }
    }
}

/// `GET /api/worktrees/:id/agents/:agent/restore`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentRestore {
    /// Always `true`.
    pub success: True,
    /// The live scoped terminal session of the agent, if any.
    #[schema(required = true)]
    pub active_session_id: Option<String>,
    /// Native sessions of the agent in this worktree, newest first.
    pub history_matches: Vec<HistoryMatch>,
}
