//! The activity feed, `.openkit/activity.jsonl`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cursor::{now_iso, parse_ts};
use super::jsonl::{Cursor, IndexMeta, JsonlStore, LogRecord, Retention, hash_id};
use crate::error::IoFailure;
use crate::events::{ActivityCategory, Severity};

/// One activity event (the reference's `ActivityEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The worktree concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree_id: Option<String>,
    /// The project's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Free-form details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Groups related events in the UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ActivityEvent {
    /// A new event stamped now with a fresh id.
    pub fn new(
        category: ActivityCategory,
        event_type: &str,
        severity: Severity,
        title: &str,
    ) -> Self {
        ActivityEvent {
            id: uuid::Uuid::new_v4().to_string(),
            timestamp: now_iso(),
            category,
            event_type: event_type.to_string(),
            severity,
            title: title.to_string(),
            detail: None,
            worktree_id: None,
            project_name: None,
            metadata: None,
            group_key: None,
            extra: Map::new(),
        }
    }
}

fn category_tag(c: ActivityCategory) -> u16 {
    match c {
        ActivityCategory::Agent => 1,
        ActivityCategory::Worktree => 2,
        ActivityCategory::System => 3,
    }
}

impl LogRecord for ActivityEvent {
    fn meta(&self) -> IndexMeta {
        IndexMeta {
            ts_ms: parse_ts(&self.timestamp).unwrap_or(i64::MIN),
            id_hash: hash_id(&self.id),
            tag: category_tag(self.category),
        }
    }
}

/// Filters of `GET /api/activity`.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    /// Only events after this cursor.
    pub since: Option<Cursor>,
    /// Only this category.
    pub category: Option<ActivityCategory>,
    /// At most this many (the newest).
    pub limit: usize,
}

/// The activity log.
#[derive(Debug)]
pub struct ActivityLog {
    store: JsonlStore<ActivityEvent>,
}

impl ActivityLog {
    /// The log at `path` (usually `.openkit/activity.jsonl`).
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        ActivityLog {
            store: JsonlStore::new(path),
        }
    }

    /// Appends an event.
    pub fn append(&self, event: &ActivityEvent) -> Result<(), IoFailure> {
        self.store.append(event)
    }

    /// Queues an event for the background writer (see [`JsonlStore::enqueue`]).
    pub fn enqueue(&self, event: std::sync::Arc<ActivityEvent>) -> super::Enqueued {
        self.store.enqueue(event)
    }

    /// Events matching `query`, oldest first.
    pub fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEvent>, IoFailure> {
        let tag = query.category.map(category_tag);
        self.store.query(
            query.since.as_ref(),
            |m| tag.is_none_or(|t| m.tag == t),
            |_| true,
            |_| true,
            query.limit,
        )
    }

    /// The underlying store (retention, size).
    pub fn store(&self) -> &JsonlStore<ActivityEvent> {
        &self.store
    }

    /// Applies retention (see [`JsonlStore::apply_retention`]).
    pub fn apply_retention(
        &self,
        policy: Retention,
        now_ms: i64,
    ) -> Result<super::RetentionImpact, IoFailure> {
        self.store.apply_retention(policy, now_ms)
    }
}
