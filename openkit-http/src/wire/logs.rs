//! The operational log: `/api/logs`.

use openkit_core::logs::{
    CommandInfo as CoreCommand, Level as CoreLevel, OpStatus as CoreStatus,
    OpsLogEvent as CoreEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// Level of an ops-log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<CoreLevel> for Level {
    fn from(l: CoreLevel) -> Self {
        match l {
            CoreLevel::Debug => Level::Debug,
            CoreLevel::Info => Level::Info,
            CoreLevel::Warning => Level::Warning,
            CoreLevel::Error => Level::Error,
        }
    }
}

/// Status of an ops-log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<CoreStatus> for OpStatus {
    fn from(s: CoreStatus) -> Self {
        match s {
            CoreStatus::Started => OpStatus::Started,
            CoreStatus::Succeeded => OpStatus::Succeeded,
            CoreStatus::Failed => OpStatus::Failed,
            CoreStatus::Info => OpStatus::Info,
        }
    }
}

/// A command OpenKit ran.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    /// Program.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Process id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Exit code (`null` when killed by a signal or still running).
    #[schema(required = true)]
    pub exit_code: Option<i32>,
    /// Terminating signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Standard output (truncated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Standard error (truncated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl From<&CoreCommand> for CommandInfo {
    fn from(c: &CoreCommand) -> Self {
        CommandInfo {
            command: c.command.clone(),
            args: c.args.clone(),
            cwd: c.cwd.clone(),
            pid: c.pid,
            exit_code: c.exit_code,
            signal: c.signal.clone(),
            duration_ms: c.duration_ms,
            stdout: c.stdout.clone(),
            stderr: c.stderr.clone(),
        }
    }
}

/// One ops-log event.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The worktree concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree_id: Option<String>,
    /// The project's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// A command that ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    /// Free-form details (request/response traces for `http` events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&CoreEvent> for OpsLogEvent {
    fn from(e: &CoreEvent) -> Self {
        OpsLogEvent {
            id: e.id.clone(),
            timestamp: e.timestamp.clone(),
            source: e.source.clone(),
            action: e.action.clone(),
            message: e.message.clone(),
            level: e.level.into(),
            status: e.status.into(),
            run_id: e.run_id.clone(),
            worktree_id: e.worktree_id.clone(),
            project_name: e.project_name.clone(),
            command: e.command.as_ref().map(CommandInfo::from),
            metadata: e.metadata.clone(),
            extra: e.extra.clone(),
        }
    }
}

/// Maps a list of core ops-log events.
pub fn ops_list(events: &[CoreEvent]) -> Vec<OpsLogEvent> {
    events.iter().map(OpsLogEvent::from).collect()
}

/// Query of `GET /api/logs`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// Only events after this cursor: `<iso>` or `<iso>:<id>`.
    pub since: Option<String>,
    /// `debug`, `info`, `warning` or `error`.
    pub level: Option<String>,
    /// `started`, `succeeded`, `failed` or `info`.
    pub status: Option<String>,
    /// Source substring.
    pub source: Option<String>,
    /// Full-text match across message, source, action and command.
    pub search: Option<String>,
    /// Most events returned, 1 to 10000 (default 200).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub limit: Option<String>,
}

/// `GET /api/logs`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpsLogList {
    /// Oldest first.
    pub events: Vec<OpsLogEvent>,
}

/// Body of `POST /api/logs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOpsEventRequest {
    /// Where it comes from (`ui.toast`, ...).
    pub source: String,
    /// What was done.
    pub action: String,
    /// Human sentence.
    pub message: String,
    /// `debug`, `info` (default), `warning` or `error`.
    pub level: Option<String>,
    /// `started`, `succeeded`, `failed` or `info` (default).
    pub status: Option<String>,
    /// The worktree concerned.
    pub worktree_id: Option<String>,
    /// Correlates events of one run.
    pub run_id: Option<String>,
    /// Free-form details.
    pub metadata: Option<Map<String, Value>>,
}

/// A recorded ops-log event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpsLogCreated {
    /// Always `true`.
    pub success: True,
    /// The event as stored (redacted).
    pub event: OpsLogEvent,
}

/// Body of `POST /api/client-logs`: something a web UI wants in the ops log (an error it
/// caught, a failed call).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientLogRequest {
    /// `debug`, `info` (default), `warning` or `error`.
    pub level: Option<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// Where in the UI (a view, a component).
    pub source: Option<String>,
    /// Free-form details (redacted before they are stored).
    pub context: Option<Map<String, Value>>,
}
