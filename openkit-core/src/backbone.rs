//! The event backbone: the bus plus the two durable logs, fed by the workbench (as its
//! [`EventSink`]) and by every command OpenKit runs (as a [`CommandObserver`]).
//!
//! - Activity notices are checked against the `activity` settings of `config.json`
//!   (`categories`, `disabledEvents`): disabled events are neither stored nor broadcast.
//! - Ops-log events are redacted before they are written or broadcast.
//! - "Worktrees changed" signals are coalesced: a publisher task re-lists the worktrees and
//!   broadcasts the full list as one `Worktrees` event.
//! - Size-based retention runs after appends (with slack, so not every append rewrites);
//!   time-based retention runs at start-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::bus::EventBus;
use crate::config::ConfigStore;
use crate::error::IoFailure;
use crate::events::{ActivityNotice, EventSink, WorkbenchEvent};
use crate::git::{CommandObserver, CommandRecord};
use crate::logs::{
    ActivityEvent, ActivityLog, CommandInfo, Level, OpStatus, OpsLog, OpsLogEvent, Retention,
    RetentionImpact,
};
use crate::paths::Paths;
use crate::redact::{redact_json, redact_text};
use crate::worktree::WorktreeInfo;

/// What flows on the bus.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// The full worktree list after a change.
    Worktrees(Arc<Vec<WorktreeInfo>>),
    /// A new activity event.
    Activity(Arc<ActivityEvent>),
    /// A new ops-log event.
    OpsLog(Arc<OpsLogEvent>),
}

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// `activity.jsonl`.
    Activity,
    /// `ops-log.jsonl`.
    OpsLog,
}

/// Default ops-log retention: 7 days (the reference's default).
pub const DEFAULT_OPS_RETENTION_DAYS: f64 = 7.0;
/// Default ops-log size cap, so it cannot grow without bound.
pub const DEFAULT_OPS_MAX_SIZE_MB: f64 = 50.0;
/// Default activity size cap.
pub const DEFAULT_ACTIVITY_MAX_SIZE_MB: f64 = 20.0;
/// Size-based pruning trims a log to this fraction of its cap, so appends do not rewrite
/// the file every time.
const PRUNE_TO: f64 = 0.8;
/// Longest command output kept in an ops-log event.
const MAX_OUTPUT: usize = 4000;

/// The bus and both logs of one project.
pub struct Backbone {
    config: ConfigStore,
    activity: ActivityLog,
    ops: OpsLog,
    bus: EventBus<FeedEvent>,
    project_name: String,
    worktrees_changed: tokio::sync::Notify,
    appended_bytes: [AtomicU64; 2],
}

impl std::fmt::Debug for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backbone")
            .field("project", &self.project_name)
            .finish_non_exhaustive()
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [truncated {} bytes]", &text[..end], text.len() - end)
}

impl Backbone {
    /// The backbone of the project at `paths`; applies time-based retention to both logs.
    pub fn new(paths: Paths) -> Arc<Self> {
        let config = ConfigStore::new(paths.clone());
        let backbone = Backbone {
            project_name: config.project_name(),
            activity: ActivityLog::new(paths.openkit_dir().join("activity.jsonl")),
            ops: OpsLog::new(paths.openkit_dir().join("ops-log.jsonl")),
            config,
            bus: EventBus::new(1024, 1024),
            worktrees_changed: tokio::sync::Notify::new(),
            appended_bytes: [AtomicU64::new(0), AtomicU64::new(0)],
        };
        let now = chrono::Utc::now().timestamp_millis();
        for kind in [LogKind::Activity, LogKind::OpsLog] {
            if let Err(e) = backbone.apply_retention(kind, backbone.retention(kind), now) {
                tracing::warn!("retention of {kind:?} failed: {e}");
            }
        }
        Arc::new(backbone)
    }

    /// The bus.
    pub fn bus(&self) -> &EventBus<FeedEvent> {
        &self.bus
    }

    /// The activity log.
    pub fn activity(&self) -> &ActivityLog {
        &self.activity
    }

    /// The ops log.
    pub fn ops(&self) -> &OpsLog {
        &self.ops
    }

    fn settings(&self, key: &str) -> Value {
        self.config
            .load()
            .ok()
            .flatten()
            .and_then(|c| match key {
                "activity" => c.activity,
                _ => c.ops_log,
            })
            .unwrap_or(Value::Null)
    }

    /// The configured retention of a log, with OpenKit's defaults.
    pub fn retention(&self, kind: LogKind) -> Retention {
        let (key, default_days, default_mb) = match kind {
            LogKind::Activity => ("activity", None, DEFAULT_ACTIVITY_MAX_SIZE_MB),
            LogKind::OpsLog => (
                "opsLog",
                Some(DEFAULT_OPS_RETENTION_DAYS),
                DEFAULT_OPS_MAX_SIZE_MB,
            ),
        };
        let s = self.settings(key);
        Retention {
            retention_days: s["retentionDays"].as_f64().or(default_days),
            max_size_mb: Some(s["maxSizeMB"].as_f64().unwrap_or(default_mb)),
        }
    }

    /// What `policy` would remove from a log now.
    pub fn retention_impact(
        &self,
        kind: LogKind,
        policy: Retention,
    ) -> Result<RetentionImpact, IoFailure> {
        let now = chrono::Utc::now().timestamp_millis();
        match kind {
            LogKind::Activity => self.activity.store().retention_impact(policy, now),
            LogKind::OpsLog => self.ops.store().retention_impact(policy, now),
        }
    }

    /// Applies `policy` to a log.
    pub fn apply_retention(
        &self,
        kind: LogKind,
        policy: Retention,
        now_ms: i64,
    ) -> Result<RetentionImpact, IoFailure> {
        match kind {
            LogKind::Activity => self.activity.store().apply_retention(policy, now_ms),
            LogKind::OpsLog => self.ops.store().apply_retention(policy, now_ms),
        }
    }

    /// True when the activity settings let `event` through.
    fn activity_enabled(&self, event: &ActivityEvent) -> bool {
        let s = self.settings("activity");
        let category_on = s["categories"][event.category.as_str()]
            .as_bool()
            .unwrap_or(true);
        let disabled = s["disabledEvents"].as_array().is_some_and(|d| {
            d.iter()
                .any(|t| t.as_str() == Some(event.event_type.as_str()))
        });
        category_on && !disabled
    }

    /// Stores and broadcasts an activity event; `Ok(None)` when the settings disable it.
    pub fn record_activity(
        &self,
        mut event: ActivityEvent,
    ) -> Result<Option<Arc<ActivityEvent>>, IoFailure> {
        if !self.activity_enabled(&event) {
            return Ok(None);
        }
        event
            .project_name
            .get_or_insert_with(|| self.project_name.clone());
        if let Some(meta) = event.metadata.as_mut() {
            redact_json(meta);
        }
        self.activity.append(&event)?;
        self.after_append(LogKind::Activity, &event);
        let event = Arc::new(event);
        self.bus.publish(FeedEvent::Activity(Arc::clone(&event)));
        Ok(Some(event))
    }

    /// Redacts, stores and broadcasts an ops-log event.
    pub fn record_ops(&self, mut event: OpsLogEvent) -> Result<Arc<OpsLogEvent>, IoFailure> {
        event
            .project_name
            .get_or_insert_with(|| self.project_name.clone());
        event.message = redact_text(&event.message);
        if let Some(meta) = event.metadata.as_mut() {
            redact_json(meta);
        }
        if let Some(cmd) = event.command.as_mut() {
            cmd.args = cmd.args.iter().map(|a| redact_text(a)).collect();
            cmd.stdout = cmd
                .stdout
                .as_deref()
                .map(|s| redact_text(&truncate(s, MAX_OUTPUT)));
            cmd.stderr = cmd
                .stderr
                .as_deref()
                .map(|s| redact_text(&truncate(s, MAX_OUTPUT)));
        }
        self.ops.append(&event)?;
        self.after_append(LogKind::OpsLog, &event);
        let event = Arc::new(event);
        self.bus.publish(FeedEvent::OpsLog(Arc::clone(&event)));
        Ok(event)
    }

    /// Size-based retention with slack: checked roughly every 1/10 of the cap appended.
    fn after_append<T: serde::Serialize>(&self, kind: LogKind, record: &T) {
        let idx = kind as usize;
        let line = serde_json::to_vec(record).map_or(0, |v| v.len() as u64 + 1);
        let policy = self.retention(kind);
        let Some(cap_mb) = policy.max_size_mb else {
            return;
        };
        let cap = (cap_mb * 1024.0 * 1024.0) as u64;
        let appended = self.appended_bytes[idx].fetch_add(line, Ordering::Relaxed) + line;
        if appended < (cap / 10).max(1) {
            return;
        }
        self.appended_bytes[idx].store(0, Ordering::Relaxed);
        let path = match kind {
            LogKind::Activity => self.activity.store().path().to_path_buf(),
            LogKind::OpsLog => self.ops.store().path().to_path_buf(),
        };
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > cap) {
            let trim = Retention {
                retention_days: None,
                max_size_mb: Some(cap_mb * PRUNE_TO),
            };
            if let Err(e) = self.apply_retention(kind, trim, chrono::Utc::now().timestamp_millis())
            {
                tracing::warn!("size retention of {kind:?} failed: {e}");
            }
        }
    }

    /// Broadcasts a worktree list.
    pub fn publish_worktrees(&self, list: Vec<WorktreeInfo>) {
        self.bus.publish(FeedEvent::Worktrees(Arc::new(list)));
    }

    /// Waits until some worktree changed since the last call (changes coalesce).
    pub async fn worktrees_changed(&self) {
        self.worktrees_changed.notified().await;
    }

    /// Signals that the worktree list changed (the publisher task re-lists).
    pub fn mark_worktrees_changed(&self) {
        self.worktrees_changed.notify_one();
    }
}

impl EventSink for Backbone {
    fn publish(&self, event: WorkbenchEvent) {
        match event {
            WorkbenchEvent::WorktreesChanged => self.mark_worktrees_changed(),
            WorkbenchEvent::Activity(notice) => {
                if let Err(e) = self.record_activity(activity_from_notice(notice)) {
                    tracing::warn!("could not record activity: {e}");
                }
            }
        }
    }
}

fn activity_from_notice(n: ActivityNotice) -> ActivityEvent {
    let mut event = ActivityEvent::new(n.category, &n.event_type, n.severity, &n.title);
    event.detail = n.detail;
    event.worktree_id = n.worktree_id;
    event
}

impl CommandObserver for Backbone {
    fn command_finished(&self, r: &CommandRecord) {
        let ok = r.exit_code == Some(0);
        let summary = format!("{} {}", r.command, r.args.join(" "));
        let mut event = OpsLogEvent::new(
            &r.command,
            "command.run",
            &truncate(&summary, 300),
            if ok { Level::Debug } else { Level::Warning },
            if ok {
                OpStatus::Succeeded
            } else {
                OpStatus::Failed
            },
        );
        event.command = Some(CommandInfo {
            command: r.command.clone(),
            args: r.args.clone(),
            cwd: Some(r.cwd.to_string_lossy().into_owned()),
            pid: None,
            exit_code: r.exit_code,
            signal: None,
            duration_ms: Some(r.duration.as_millis() as u64),
            stdout: Some(r.stdout.clone()),
            stderr: Some(r.stderr.clone()),
        });
        if let Err(e) = self.record_ops(event) {
            tracing::warn!("could not record a command in the ops log: {e}");
        }
    }
}

