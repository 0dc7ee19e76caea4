//! What an agent reports about itself: "waiting for input", "entered a phase", "runs its
//! checks". One definition of each report's activity event, shared by every frontend that
//! takes reports (`openkit activity await-input|phase|check-flow`, the MCP tools
//! `await_input` and `report_phase`), so the feed shows the same event whichever way an
//! agent chose.

use serde_json::{Value, json};

use crate::events::{ActivityCategory, Severity};
use crate::logs::ActivityEvent;

/// One report an agent sends from its worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentReport {
    /// The agent waits for the developer (`agent_awaiting_input`, a warning).
    AwaitingInput {
        /// What it needs, when it said.
        message: Option<String>,
    },
    /// The agent entered a phase: planning, implementing, testing, ... (`agent_phase`).
    Phase {
        /// The phase, as the agent named it.
        phase: String,
    },
    /// The agent runs the project's checks (`agent_check_flow`).
    CheckFlow,
}

impl AgentReport {
    /// The activity event type of this report.
    pub fn event_type(&self) -> &'static str {
        match self {
            AgentReport::AwaitingInput { .. } => "agent_awaiting_input",
            AgentReport::Phase { .. } => "agent_phase",
            AgentReport::CheckFlow => "agent_check_flow",
        }
    }

    /// The activity event an agent in `worktree_id` (the main checkout when `None`)
    /// reports: category `agent`, its type, severity, title, detail and metadata.
    pub fn event(&self, worktree_id: Option<&str>) -> ActivityEvent {
        let label = worktree_id.unwrap_or("root");
        let (severity, title, detail, metadata) = match self {
            AgentReport::AwaitingInput { message } => (
                Severity::Warning,
                format!("Agent in {label} is waiting for input"),
                message.clone(),
                json!({}),
            ),
            AgentReport::Phase { phase } => (
                Severity::Info,
                format!("Agent in {label}: {phase}"),
                None,
                json!({ "phase": phase }),
            ),
            AgentReport::CheckFlow => (
                Severity::Info,
                format!("Agent in {label} runs its checks"),
                None,
                json!({}),
            ),
        };
        let mut event =
            ActivityEvent::new(ActivityCategory::Agent, self.event_type(), severity, &title);
        event.detail = detail;
        event.worktree_id = worktree_id.map(str::to_string);
        event.metadata = Some(metadata).filter(|m| m != &Value::Object(Default::default()));
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_become_their_activity_events() {
        let waiting = AgentReport::AwaitingInput {
            message: Some("Which API version?".into()),
        }
        .event(Some("login"));
        assert_eq!(waiting.category, ActivityCategory::Agent);
        assert_eq!(waiting.event_type, "agent_awaiting_input");
        assert_eq!(waiting.severity, Severity::Warning);
        assert_eq!(waiting.title, "Agent in login is waiting for input");
        assert_eq!(waiting.detail.as_deref(), Some("Which API version?"));
        assert_eq!(waiting.worktree_id.as_deref(), Some("login"));
        assert_eq!(waiting.metadata, None);

        let phase = AgentReport::Phase {
            phase: "testing".into(),
        }
        .event(None);
        assert_eq!(phase.event_type, "agent_phase");
        assert_eq!(phase.severity, Severity::Info);
        assert_eq!(phase.title, "Agent in root: testing");
        assert_eq!(phase.worktree_id, None);
        assert_eq!(phase.metadata, Some(json!({ "phase": "testing" })));

        let checks = AgentReport::CheckFlow.event(Some("x"));
        assert_eq!(checks.event_type, "agent_check_flow");
        assert_eq!(checks.title, "Agent in x runs its checks");
    }
}
