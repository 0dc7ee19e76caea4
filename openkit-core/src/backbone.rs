//! The event backbone: the bus plus the two durable logs, fed by the workbench (as its
//! [`EventSink`]) and by every command OpenKit runs (as a [`CommandObserver`]).
//!
//! - Activity notices are checked against the `activity` settings of `config.json`
//!   (`categories`, `disabledEvents`): disabled events are neither stored nor broadcast.
//! - Ops-log events are redacted before they are written or broadcast.
//! - "Worktrees changed" signals are coalesced: a publisher task re-lists the worktrees and
//!   broadcasts the full list as one `Worktrees` event.
//! - Records on hot paths (request traces, git commands, workbench notices) are queued for
//!   the logs' background writers ([`Backbone::enqueue_ops`]); the callers do no disk I/O.
//! - Retention runs on a maintenance thread the backbone owns, never on a caller's path:
//!   age limits at start-up and hourly, size caps checked every few seconds (a log over
//!   its cap is trimmed to 80 % of it). The ops log keeps the reference's 7 days (and a
//!   50 MB cap); the activity log is the user's history and is pruned only under the
//!   `activity.retentionDays` / `activity.maxSizeMB` the user set. Every prune, and every
//!   record a writer lost, is reported in the ops log.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bus::EventBus;
use crate::config::ConfigStore;
use crate::error::IoFailure;
use crate::events::{ActivityNotice, EventSink, WorkbenchEvent};
use crate::git::{CommandObserver, CommandRecord};
use crate::logs::{
    ActivityEvent, ActivityLog, CommandInfo, Level, Losses, OpStatus, OpsLog, OpsLogEvent,
    PruneReport, Retention, RetentionImpact,
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
    /// A hook run changed or an agent reported a hook result (see [`crate::hooks`]).
    HookUpdate(Arc<crate::hooks::HookUpdate>),
}

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// `activity.jsonl`.
    Activity,
    /// `ops-log.jsonl`.
    OpsLog,
}

impl LogKind {
    /// The log's settings key in `config.json` (`activity`, `opsLog`), also its name in
    /// ops-log records.
    pub fn key(self) -> &'static str {
        match self {
            LogKind::Activity => "activity",
            LogKind::OpsLog => "opsLog",
        }
    }

    /// The log's file name under `.openkit/`.
    pub fn file_name(self) -> &'static str {
        match self {
            LogKind::Activity => "activity.jsonl",
            LogKind::OpsLog => "ops-log.jsonl",
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// A setting for a message: at most two decimals, no trailing zeros.
fn number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The ops-log record of a prune: which log, why (age, size), what went and what is left.
/// `pass` is what was applied, `limits` the log's configured limits.
fn prune_event(
    kind: LogKind,
    pass: Retention,
    limits: Retention,
    report: &PruneReport,
) -> OpsLogEvent {
    let impact = &report.impact;
    let mut reasons = Vec::new();
    let mut why = Vec::new();
    if let Some(days) = pass.retention_days {
        reasons.push("age");
        why.push(format!(
            "{} older than {} days",
            report.removed_by_age,
            number(days)
        ));
    }
    if let Some(target) = pass.max_size_mb {
        reasons.push("size");
        let cap = limits.max_size_mb.unwrap_or(target);
        why.push(if cap > target {
            format!(
                "{} over the {} MB size cap (trimmed to {} MB)",
                report.removed_by_size,
                number(cap),
                number(target)
            )
        } else {
            format!(
                "{} over the {} MB size cap",
                report.removed_by_size,
                number(cap)
            )
        });
    }
    let detail = if impact.entries_to_remove == 0 {
        "unreadable lines only".to_string()
    } else {
        why.join(", ")
    };
    let message = format!(
        "Pruned {}: removed {} lines ({}){}; {} lines ({}) remain",
        kind.file_name(),
        impact.entries_to_remove,
        megabytes(impact.bytes_to_remove),
        if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        },
        report.remaining_entries(),
        megabytes(report.remaining_bytes()),
    );
    let mut event = OpsLogEvent::new(
        "logs",
        "log.prune",
        &message,
        Level::Info,
        OpStatus::Succeeded,
    );
    event.metadata = Some(serde_json::json!({
        "log": kind.key(),
        "file": kind.file_name(),
        "reasons": reasons,
        "retentionDays": limits.retention_days,
        "maxSizeMB": limits.max_size_mb,
        "removedEntries": impact.entries_to_remove,
        "removedByAge": report.removed_by_age,
        "removedBySize": report.removed_by_size,
        "removedBytes": impact.bytes_to_remove,
        "remainingEntries": report.remaining_entries(),
        "remainingBytes": report.remaining_bytes(),
    }));
    event
}

/// What [`clean_up_after_crash`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CrashCleanup {
    /// Temporary files of interrupted writes (`.openkit-tmp-*`).
    pub temp_files: Vec<std::path::PathBuf>,
    /// Local task ids allocated by a creation that never wrote its task; their folders
    /// are gone, the ids stay used.
    pub abandoned_tasks: Vec<String>,
}

impl CrashCleanup {
    /// The ops-log record of the cleanup (`source: "startup"`, `action: "startup.cleanup"`),
    /// `None` when nothing was left behind.
    fn event(&self) -> Option<OpsLogEvent> {
        if self.temp_files.is_empty() && self.abandoned_tasks.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !self.temp_files.is_empty() {
            parts.push(format!(
                "removed {} temporary file(s) of interrupted writes",
                self.temp_files.len()
            ));
        }
        if !self.abandoned_tasks.is_empty() {
            parts.push(format!(
                "removed the empty folders of task id(s) {} allocated by creations that never \
                 wrote their task (the ids stay used)",
                self.abandoned_tasks.join(", ")
            ));
        }
        let mut event = OpsLogEvent::new(
            "startup",
            "startup.cleanup",
            &format!("Cleaned up after an interrupted run: {}", parts.join("; ")),
            Level::Info,
            OpStatus::Succeeded,
        );
        event.metadata = Some(serde_json::json!({
            "tempFiles": self
                .temp_files
                .iter()
                .map(|p| p.to_string_lossy())
                .collect::<Vec<_>>(),
            "abandonedTasks": self.abandoned_tasks,
        }));
        Some(event)
    }
}

/// Clears what a crashed (killed) OpenKit left under `.openkit/`: stale temporary files of
/// atomic writes ([`remove_stale_temp_files`](crate::persist::remove_stale_temp_files):
/// `.openkit/` and `.openkit/issues/**` only), then the folders of local task ids that were
/// allocated but never written ([`LocalTasks::reclaim_abandoned`](crate::tasks::LocalTasks::reclaim_abandoned)).
/// [`Backbone::new`] runs it at start-up; failures are logged, never fatal.
pub fn clean_up_after_crash(paths: &Paths) -> CrashCleanup {
    let temp_files = crate::persist::remove_stale_temp_files(&paths.openkit_dir());
    let abandoned_tasks = crate::tasks::LocalTasks::new(paths.clone())
        .reclaim_abandoned()
        .unwrap_or_else(|e| {
            tracing::warn!("could not check for abandoned task folders: {e}");
            Vec::new()
        });
    CrashCleanup {
        temp_files,
        abandoned_tasks,
    }
}

/// Default ops-log retention: 7 days (the reference's default).
pub const DEFAULT_OPS_RETENTION_DAYS: f64 = 7.0;
/// Default ops-log size cap, so OpenKit's own diagnostics cannot grow without bound. The
/// activity log has no default limit: it is the user's history.
pub const DEFAULT_OPS_MAX_SIZE_MB: f64 = 50.0;
/// Size-based pruning trims a log to this fraction of its cap, so a log at its cap is not
/// rewritten on every check.
pub const PRUNE_TO: f64 = 0.8;
/// How often the maintenance thread checks the logs' sizes and reports lost records.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(5);
/// How often age-based retention runs after the pass at start-up.
pub const AGE_RETENTION_INTERVAL: Duration = Duration::from_secs(3600);
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
    maintenance: Arc<MaintenanceSignal>,
    maintenance_thread: Mutex<Option<JoinHandle<()>>>,
    /// Held for a whole maintenance pass: passes never overlap, and a pass that returns
    /// has every report of an earlier one in the ops log.
    maintenance_pass: Mutex<()>,
}

impl Drop for Backbone {
    /// Stops the maintenance thread (after its current pass); the logs' writers drain
    /// their queues when the logs drop.
    fn drop(&mut self) {
        self.maintenance.stop();
        let handle = self
            .maintenance_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // The thread itself may drop the last reference at the end of a pass.
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

/// Wakes or stops the maintenance thread.
#[derive(Default)]
struct MaintenanceSignal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    wake: bool,
    stop: bool,
}

impl MaintenanceSignal {
    /// Waits for a wake-up or `interval`; false once stopped.
    fn wait(&self, interval: Duration) -> bool {
        let deadline = Instant::now() + interval;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.wake && !st.stop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.wake = false;
        !st.stop
    }

    fn wake(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).wake = true;
        self.changed.notify_all();
    }

    fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.changed.notify_all();
    }
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
    /// The backbone of the project at `paths`. Writes `.openkit/.gitignore` when missing
    /// (see [`ensure_openkit_gitignore`](crate::config::ensure_openkit_gitignore)), so the
    /// logs it creates never show up in `git status`, and starts the maintenance thread,
    /// whose first pass applies age-based retention to both logs. It first clears what a
    /// crash left behind (see [`clean_up_after_crash`]) and reports it in the ops log.
    pub fn new(paths: Paths) -> Arc<Self> {
        if let Err(e) = crate::config::ensure_openkit_gitignore(&paths) {
            tracing::warn!("could not write .openkit/.gitignore: {e}");
        }
        let cleanup = clean_up_after_crash(&paths);
        let config = ConfigStore::new(paths.clone());
        let backbone = Backbone {
            project_name: config.project_name(),
            activity: ActivityLog::new(paths.openkit_dir().join("activity.jsonl")),
            ops: OpsLog::new(paths.openkit_dir().join("ops-log.jsonl")),
            config,
            bus: EventBus::new(1024, 1024),
            worktrees_changed: tokio::sync::Notify::new(),
            maintenance: Arc::new(MaintenanceSignal::default()),
            maintenance_thread: Mutex::new(None),
            maintenance_pass: Mutex::new(()),
        };
        let backbone = Arc::new(backbone);
        if let Some(event) = cleanup.event() {
            backbone.record_or_warn(event);
        }
        backbone.start_maintenance();
        backbone
    }

    /// Starts the maintenance thread: a pass at once (with age retention), then one every
    /// [`MAINTENANCE_INTERVAL`] (with age retention every [`AGE_RETENTION_INTERVAL`]). It
    /// holds only a weak reference, so it ends with the backbone.
    fn start_maintenance(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let signal = Arc::clone(&self.maintenance);
        signal.wake();
        let spawned = std::thread::Builder::new()
            .name("openkit-log-maintenance".into())
            .spawn(move || {
                let mut last_age_pass: Option<Instant> = None;
                while signal.wait(MAINTENANCE_INTERVAL) {
                    let Some(backbone) = weak.upgrade() else {
                        return;
                    };
                    let age = last_age_pass.is_none_or(|t| t.elapsed() >= AGE_RETENTION_INTERVAL);
                    backbone.run_maintenance(age, chrono::Utc::now().timestamp_millis());
                    if age {
                        last_age_pass = Some(Instant::now());
                    }
                }
            });
        match spawned {
            Ok(handle) => {
                *self
                    .maintenance_thread
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(handle);
            }
            Err(e) => {
                tracing::warn!("could not start log maintenance, pruning once now: {e}");
                self.run_maintenance(true, chrono::Utc::now().timestamp_millis());
            }
        }
    }

    /// One maintenance pass, as the maintenance thread runs it: reports the records the
    /// logs' writers lost, applies age-based retention when `age` is set, and trims a log
    /// over its size cap to [`PRUNE_TO`] of the cap. Every prune is recorded in the ops log
    /// (`source: "logs"`, `action: "log.prune"`); the prunes are returned.
    pub fn run_maintenance(&self, age: bool, now_ms: i64) -> Vec<(LogKind, PruneReport)> {
        let _pass = self
            .maintenance_pass
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for kind in [LogKind::Activity, LogKind::OpsLog] {
            let losses = match kind {
                LogKind::Activity => self.activity.store().take_losses(),
                LogKind::OpsLog => self.ops.store().take_losses(),
            };
            if !losses.is_empty() {
                self.report_losses(kind, &losses);
            }
        }
        let mut prunes = Vec::new();
        for kind in [LogKind::Activity, LogKind::OpsLog] {
            let policy = self.retention(kind);
            let days = policy.retention_days.filter(|d| age && *d > 0.0);
            let over_cap = policy
                .max_size_mb
                .filter(|mb| *mb > 0.0 && self.file_size(kind) > (mb * 1024.0 * 1024.0) as u64);
            if days.is_none() && over_cap.is_none() {
                continue;
            }
            let pass = Retention {
                retention_days: days,
                max_size_mb: over_cap.map(|mb| mb * PRUNE_TO),
            };
            match self.prune(kind, pass, policy, now_ms) {
                Ok(report) if !report.is_empty() => prunes.push((kind, report)),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("retention of {kind:?} failed: {e}");
                    let mut event = OpsLogEvent::new(
                        "logs",
                        "log.prune",
                        &format!("Could not prune {}: {e}", kind.file_name()),
                        Level::Warning,
                        OpStatus::Failed,
                    );
                    event.metadata = Some(serde_json::json!({ "log": kind.key() }));
                    self.record_or_warn(event);
                }
            }
        }
        prunes
    }

    fn file_size(&self, kind: LogKind) -> u64 {
        let path = match kind {
            LogKind::Activity => self.activity.store().path(),
            LogKind::OpsLog => self.ops.store().path(),
        };
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Applies `pass` to a log and reports a prune that removed anything in the ops log;
    /// `limits` are the log's configured limits, for the report.
    fn prune(
        &self,
        kind: LogKind,
        pass: Retention,
        limits: Retention,
        now_ms: i64,
    ) -> Result<PruneReport, IoFailure> {
        let report = match kind {
            LogKind::Activity => self.activity.store().prune(pass, now_ms)?,
            LogKind::OpsLog => self.ops.store().prune(pass, now_ms)?,
        };
        if !report.is_empty() {
            self.record_or_warn(prune_event(kind, pass, limits, &report));
        }
        Ok(report)
    }

    fn report_losses(&self, kind: LogKind, losses: &Losses) {
        let mut parts = Vec::new();
        if losses.dropped > 0 {
            parts.push(format!(
                "{} dropped because the writer fell behind",
                losses.dropped
            ));
        }
        if losses.failed > 0 {
            parts.push(format!(
                "{} could not be written ({})",
                losses.failed,
                losses.last_error.as_deref().unwrap_or("unknown error")
            ));
        }
        let mut event = OpsLogEvent::new(
            "logs",
            "log.records_lost",
            &format!(
                "Records of {} were lost: {}",
                kind.file_name(),
                parts.join("; ")
            ),
            Level::Warning,
            OpStatus::Failed,
        );
        event.metadata = Some(serde_json::json!({
            "log": kind.key(),
            "dropped": losses.dropped,
            "failed": losses.failed,
            "lastError": losses.last_error,
        }));
        self.record_or_warn(event);
    }

    fn record_or_warn(&self, event: OpsLogEvent) {
        if let Err(e) = self.record_ops(event.clone()) {
            tracing::error!("could not record in the ops log ({e}): {}", event.message);
        }
    }

    /// Waits until every record queued so far is in its log file (or reported lost). The
    /// logs drain their queues when the backbone drops; call this where a process must
    /// not end before its traces are on disk while the backbone is still shared.
    pub fn flush(&self) {
        self.activity.store().flush();
        self.ops.store().flush();
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

    /// The configured retention of a log. The ops log defaults to
    /// [`DEFAULT_OPS_RETENTION_DAYS`] and [`DEFAULT_OPS_MAX_SIZE_MB`]; the activity log has
    /// no default: without `activity.retentionDays` / `activity.maxSizeMB` it is never
    /// pruned.
    pub fn retention(&self, kind: LogKind) -> Retention {
        let s = self.settings(kind.key());
        match kind {
            LogKind::Activity => Retention {
                retention_days: s["retentionDays"].as_f64(),
                max_size_mb: s["maxSizeMB"].as_f64(),
            },
            LogKind::OpsLog => Retention {
                retention_days: Some(
                    s["retentionDays"]
                        .as_f64()
                        .unwrap_or(DEFAULT_OPS_RETENTION_DAYS),
                ),
                max_size_mb: Some(s["maxSizeMB"].as_f64().unwrap_or(DEFAULT_OPS_MAX_SIZE_MB)),
            },
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

    /// Applies `policy` to a log now; a prune that removed anything is reported in the
    /// ops log.
    pub fn apply_retention(
        &self,
        kind: LogKind,
        policy: Retention,
        now_ms: i64,
    ) -> Result<RetentionImpact, IoFailure> {
        let _pass = self
            .maintenance_pass
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Ok(self.prune(kind, policy, policy, now_ms)?.impact)
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

    /// Stamps and redacts an activity event; `None` when the settings disable it.
    fn prepare_activity(&self, mut event: ActivityEvent) -> Option<ActivityEvent> {
        if !self.activity_enabled(&event) {
            return None;
        }
        event
            .project_name
            .get_or_insert_with(|| self.project_name.clone());
        redact_activity(&mut event);
        Some(event)
    }

    /// Stores and broadcasts an activity event; `Ok(None)` when the settings disable it.
    /// The event is in the file when this returns.
    pub fn record_activity(
        &self,
        event: ActivityEvent,
    ) -> Result<Option<Arc<ActivityEvent>>, IoFailure> {
        let Some(event) = self.prepare_activity(event) else {
            return Ok(None);
        };
        self.activity.append(&event)?;
        let event = Arc::new(event);
        self.bus.publish(FeedEvent::Activity(Arc::clone(&event)));
        Ok(Some(event))
    }

    /// Like [`Backbone::record_activity`], but the event is queued for the activity log's
    /// background writer, so the caller does no disk I/O.
    pub fn enqueue_activity(&self, event: ActivityEvent) -> Option<Arc<ActivityEvent>> {
        let event = Arc::new(self.prepare_activity(event)?);
        self.activity.enqueue(Arc::clone(&event));
        self.bus.publish(FeedEvent::Activity(Arc::clone(&event)));
        Some(event)
    }

    /// Redacts, stores and broadcasts an ops-log event. The event is in the file when this
    /// returns.
    pub fn record_ops(&self, event: OpsLogEvent) -> Result<Arc<OpsLogEvent>, IoFailure> {
        let event = self.prepare_ops(event);
        self.ops.append(&event)?;
        let event = Arc::new(event);
        self.bus.publish(FeedEvent::OpsLog(Arc::clone(&event)));
        Ok(event)
    }

    /// Redacts, queues and broadcasts an ops-log event: the caller does no disk I/O (see
    /// [`JsonlStore::enqueue`](crate::logs::JsonlStore::enqueue)). For hot paths such as
    /// request traces and command records. A record the writer cannot keep up with is
    /// counted and reported in the ops log by the maintenance thread.
    pub fn enqueue_ops(&self, event: OpsLogEvent) -> Arc<OpsLogEvent> {
        let event = Arc::new(self.prepare_ops(event));
        self.ops.enqueue(Arc::clone(&event));
        self.bus.publish(FeedEvent::OpsLog(Arc::clone(&event)));
        event
    }

    /// Stamps and redacts an ops-log event.
    fn prepare_ops(&self, mut event: OpsLogEvent) -> OpsLogEvent {
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
        event
    }

    /// Broadcasts a worktree list.
    pub fn publish_worktrees(&self, list: Arc<Vec<WorktreeInfo>>) {
        self.bus.publish(FeedEvent::Worktrees(list));
    }

    /// Broadcasts a change of a worktree's hook run or reports (output already redacted).
    pub fn publish_hook_update(&self, update: crate::hooks::HookUpdate) {
        self.bus.publish(FeedEvent::HookUpdate(Arc::new(update)));
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
                self.enqueue_activity(activity_from_notice(notice));
            }
        }
    }
}

/// Scrubs secrets out of an activity event the way the ops log is scrubbed: title,
/// detail and group key through [`redact_text`], metadata and unknown fields through
/// [`redact_json`]. The backbone applies it to every event it stores or broadcasts; a
/// frontend that echoes an event it did not record (one the settings suppressed) applies
/// it too.
pub fn redact_activity(event: &mut ActivityEvent) {
    let title = redact_text(&event.title);
    if title != event.title {
        event.title = title;
    }
    for text in [event.detail.as_mut(), event.group_key.as_mut()]
        .into_iter()
        .flatten()
    {
        let clean = redact_text(text);
        if clean != *text {
            *text = clean;
        }
    }
    if let Some(meta) = event.metadata.as_mut() {
        redact_json(meta);
    }
    for value in event.extra.values_mut() {
        redact_json(value);
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
        let summary = if r.timed_out {
            format!("timed out: {summary}")
        } else {
            summary
        };
        let level = match (ok, r.timed_out) {
            (_, true) => Level::Error,
            (true, false) => Level::Debug,
            (false, false) => Level::Warning,
        };
        let mut event = OpsLogEvent::new(
            &r.command,
            "command.run",
            &truncate(&summary, 300),
            level,
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
            // A timed-out command's process group is killed.
            signal: r.timed_out.then(|| "SIGKILL".to_string()),
            duration_ms: Some(r.duration.as_millis() as u64),
            stdout: Some(r.stdout.clone()),
            stderr: Some(r.stderr.clone()),
        });
        if r.timed_out {
            event.metadata = Some(serde_json::json!({ "timedOut": true }));
        }
        self.enqueue_ops(event);
    }
}
