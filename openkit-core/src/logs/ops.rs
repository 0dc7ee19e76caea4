//! The operational log, `.openkit/ops-log.jsonl`: commands run, requests served,
//! lifecycle operations, client-reported errors.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::cursor::{now_iso, parse_ts};
use super::jsonl::{Cursor, IndexMeta, JsonlStore, LogRecord, hash_id};
use crate::error::IoFailure;

/// Level of an ops-log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Noise useful when debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd.
    Warning,
    /// A failure.
    Error,
}

/// Status of an ops-log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpStatus {
    /// An operation began.
    Started,
    /// It finished well.
    Succeeded,
    /// It failed.
    Failed,
    /// A plain note.
    Info,
}

impl<'de> Deserialize<'de> for OpStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OpStatus::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown status {s:?}")))
    }
}

impl OpStatus {
    /// Parses a status; the original's `success` reads as `succeeded`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "started" => OpStatus::Started,
            "succeeded" | "success" => OpStatus::Succeeded,
            "failed" => OpStatus::Failed,
            "info" => OpStatus::Info,
            _ => return None,
        })
    }
}

impl Level {
    /// Parses a level.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warning" => Level::Warning,
            "error" => Level::Error,
            _ => return None,
        })
    }
}

/// A command OpenKit ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    /// Program.
    pub command: String,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Exit code.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Terminating signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Standard output (truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Standard error (truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// One ops-log event (the reference's `OpsLogEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpsLogEvent {
    /// Unique id.
    pub id: String,
    /// ISO-8601 UTC.
    pub timestamp: String,
    /// Where it comes from (`http`, `git`, `ui.toast`, ...).
    pub source: String,
    /// What was done.
    pub action: String,
    /// Human sentence.
    pub message: String,
    /// Level.
    pub level: Level,
    /// Status.
    pub status: OpStatus,
    /// Correlates events of one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The worktree concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree_id: Option<String>,
    /// The project's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// A command that ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// Free-form details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OpsLogEvent {
    /// A new event stamped now with a fresh id.
    pub fn new(source: &str, action: &str, message: &str, level: Level, status: OpStatus) -> Self {
        OpsLogEvent {
            id: uuid::Uuid::new_v4().to_string(),
            timestamp: now_iso(),
            source: source.to_string(),
            action: action.to_string(),
            message: message.to_string(),
            level,
            status,
            run_id: None,
            worktree_id: None,
            project_name: None,
            command: None,
            metadata: None,
            extra: Map::new(),
        }
    }
}

fn tag(level: Level, status: OpStatus) -> u16 {
    (level as u16) | ((status as u16) << 4)
}

impl LogRecord for OpsLogEvent {
    fn meta(&self) -> IndexMeta {
        IndexMeta {
            ts_ms: parse_ts(&self.timestamp).unwrap_or(i64::MIN),
            id_hash: hash_id(&self.id),
            tag: tag(self.level, self.status),
        }
    }
}

/// Filters of `GET /api/logs`.
#[derive(Debug, Clone, Default)]
pub struct OpsQuery {
    /// Only events after this cursor.
    pub since: Option<Cursor>,
    /// Only this level.
    pub level: Option<Level>,
    /// Only this status.
    pub status: Option<OpStatus>,
    /// Only sources containing this text (case-insensitive).
    pub source: Option<String>,
    /// Text in message, source, action or command (case-insensitive).
    pub search: Option<String>,
    /// At most this many (the newest).
    pub limit: usize,
}

/// The ops log.
#[derive(Debug)]
pub struct OpsLog {
    store: JsonlStore<OpsLogEvent>,
}

impl OpsLog {
    /// The log at `path` (usually `.openkit/ops-log.jsonl`).
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        OpsLog {
            store: JsonlStore::new(path),
        }
    }

    /// Appends an event.
    pub fn append(&self, event: &OpsLogEvent) -> Result<(), IoFailure> {
        self.store.append(event)
    }

    /// Queues an event for the background writer (see [`JsonlStore::enqueue`]).
    pub fn enqueue(&self, event: std::sync::Arc<OpsLogEvent>) -> super::Enqueued {
        self.store.enqueue(event)
    }

    /// Events matching `query`, oldest first.
    pub fn query(&self, query: &OpsQuery) -> Result<Vec<OpsLogEvent>, IoFailure> {
        let level = query.level.map(|l| l as u16);
        let status = query.status.map(|s| s as u16);
        let source = query.source.as_deref().map(str::to_lowercase);
        let search = query.search.as_deref().map(str::to_lowercase);
        // Raw-line pre-checks: a line that lacks a needle anywhere cannot match it in a
        // field. Needles JSON would escape are checked on the parsed record only.
        let prefilters: Vec<regex::bytes::Regex> = [source.as_deref(), search.as_deref()]
            .into_iter()
            .flatten()
            .filter(|n| !n.chars().any(|c| c == '"' || c == '\\' || c.is_control()))
            .filter_map(|n| {
                regex::bytes::RegexBuilder::new(&regex::escape(n))
                    .case_insensitive(true)
                    .build()
                    .ok()
            })
            .collect();
        self.store.query(
            query.since.as_ref(),
            |m| level.is_none_or(|l| m.tag & 0xf == l) && status.is_none_or(|s| m.tag >> 4 == s),
            |line| prefilters.iter().all(|re| re.is_match(line)),
            |e| {
                source
                    .as_deref()
                    .is_none_or(|s| e.source.to_lowercase().contains(s))
                    && search.as_deref().is_none_or(|q| matches_search(e, q))
            },
            query.limit,
        )
    }

    /// The underlying store (retention, size).
    pub fn store(&self) -> &JsonlStore<OpsLogEvent> {
        &self.store
    }
}

fn matches_search(e: &OpsLogEvent, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    hit(&e.message)
        || hit(&e.source)
        || hit(&e.action)
        || e.command
            .as_ref()
            .is_some_and(|c| hit(&c.command) || c.args.iter().any(|a| hit(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_success_status_reads_as_succeeded() {
        let line = r#"{"id":"1","timestamp":"2026-01-01T00:00:00.000Z","source":"git","action":"x","message":"m","level":"info","status":"success"}"#;
        let e: OpsLogEvent = serde_json::from_str(line).unwrap();
        assert_eq!(e.status, OpStatus::Succeeded);
        assert!(serde_json::to_string(&e).unwrap().contains("\"succeeded\""));
    }
}
