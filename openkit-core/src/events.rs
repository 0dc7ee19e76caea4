//! What the workbench tells the outside world while it works.

use serde::{Deserialize, Serialize};

/// Category of an activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityCategory {
    /// Agents' work.
    Agent,
    /// Worktree lifecycle.
    Worktree,
    /// The server itself.
    System,
}

/// Severity of an activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Something finished well.
    Success,
    /// Needs attention.
    Warning,
    /// Failed.
    Error,
}

impl ActivityCategory {
    /// Parses `agent`, `worktree` or `system`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "agent" => ActivityCategory::Agent,
            "worktree" => ActivityCategory::Worktree,
            "system" => ActivityCategory::System,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityCategory::Agent => "agent",
            ActivityCategory::Worktree => "worktree",
            ActivityCategory::System => "system",
        }
    }
}

impl Severity {
    /// Parses `info`, `success`, `warning` or `error`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Severity::Info,
            "success" => Severity::Success,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
}

/// An activity to record in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityNotice {
    /// Category.
    pub category: ActivityCategory,
    /// Event type, e.g. `creation_completed`.
    pub event_type: String,
    /// Severity.
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// Optional detail text.
    pub detail: Option<String>,
    /// The worktree concerned.
    pub worktree_id: Option<String>,
}

/// Something that happened in the workbench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkbenchEvent {
    /// The set of worktrees or the state of one changed; listeners re-read the list.
    WorktreesChanged,
    /// An activity for the feed.
    Activity(ActivityNotice),
}

/// Receives workbench events (the event bus, or a test recorder).
pub trait EventSink: Send + Sync {
    /// Publishes one event. Must not block for long.
    fn publish(&self, event: WorkbenchEvent);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _: WorkbenchEvent) {}
}

impl ActivityNotice {
    /// A worktree-category notice.
    pub fn worktree(
        event_type: &str,
        severity: Severity,
        worktree_id: &str,
        title: String,
    ) -> Self {
        ActivityNotice {
            category: ActivityCategory::Worktree,
            event_type: event_type.to_string(),
            severity,
            title,
            detail: None,
            worktree_id: Some(worktree_id.to_string()),
        }
    }

    /// Adds detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}
