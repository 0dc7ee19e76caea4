//! The activity feed: `/api/activity`.

use openkit_core::events::{ActivityCategory as CoreCategory, Severity as CoreSeverity};
use openkit_core::logs::ActivityEvent as CoreEvent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// Category of an activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivityCategory {
    /// Agents' work.
    Agent,
    /// Worktree lifecycle.
    Worktree,
    /// The server itself.
    System,
}

impl From<CoreCategory> for ActivityCategory {
    fn from(c: CoreCategory) -> Self {
        match c {
            CoreCategory::Agent => ActivityCategory::Agent,
            CoreCategory::Worktree => ActivityCategory::Worktree,
            CoreCategory::System => ActivityCategory::System,
        }
    }
}

/// Severity of an activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<CoreSeverity> for Severity {
    fn from(s: CoreSeverity) -> Self {
        match s {
            CoreSeverity::Info => Severity::Info,
            CoreSeverity::Success => Severity::Success,
            CoreSeverity::Warning => Severity::Warning,
            CoreSeverity::Error => Severity::Error,
        }
    }
}

/// One activity event.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEvent {
    /// Unique id.
    pub id: String,
    /// ISO-8601 UTC.
    pub timestamp: String,
    /// agent, worktree or system.
    pub category: ActivityCategory,
    /// Event type, e.g. `creation_completed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// info, success, warning or error.
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// Longer text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The worktree concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_id: Option<String>,
    /// The project's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Free-form details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Groups related events in the UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&CoreEvent> for ActivityEvent {
    fn from(e: &CoreEvent) -> Self {
        ActivityEvent {
            id: e.id.clone(),
            timestamp: e.timestamp.clone(),
            category: e.category.into(),
            event_type: e.event_type.clone(),
            severity: e.severity.into(),
            title: e.title.clone(),
            detail: e.detail.clone(),
            worktree_id: e.worktree_id.clone(),
            project_name: e.project_name.clone(),
            metadata: e.metadata.clone(),
            group_key: e.group_key.clone(),
            extra: e.extra.clone(),
        }
    }
}

/// Maps a list of core activity events.
pub fn activity_list(events: &[CoreEvent]) -> Vec<ActivityEvent> {
    events.iter().map(ActivityEvent::from).collect()
}

/// Query of `GET /api/activity`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Only events after this cursor: `<iso>` or `<iso>:<id>`.
    pub since: Option<String>,
    /// `agent`, `worktree` or `system`.
    pub category: Option<String>,
    /// Most events returned, 1 to 10000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub limit: Option<String>,
}

/// `GET /api/activity`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityList {
    /// Oldest first.
    pub events: Vec<ActivityEvent>,
}

/// Body of `POST /api/activity`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewActivityRequest {
    /// `agent`, `worktree` or `system`.
    pub category: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `info` (default), `success`, `warning` or `error`.
    pub severity: Option<String>,
    /// One-line title.
    pub title: String,
    /// Longer text.
    pub detail: Option<String>,
    /// The worktree concerned.
    pub worktree_id: Option<String>,
    /// Groups related events in the UI.
    pub group_key: Option<String>,
    /// Free-form details.
    pub metadata: Option<Map<String, Value>>,
}

/// A recorded (or, when the activity settings disable it, suppressed) event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityCreated {
    /// Always `true`.
    pub success: True,
    /// The event.
    pub event: ActivityEvent,
    /// Present (`true`) when the settings disable this event: it was neither stored nor
    /// broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<bool>,
}
