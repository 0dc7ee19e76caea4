//! The background refresh of tracker issues, and agents auto-started on new ones.
//!
//! [`TrackerRefresh`] watches every registered issue source except `local` whose section
//! exists in `.openkit/integrations.json` (section name == source name). For each, it calls
//! [`IssueSource::assigned`] every `refreshIntervalMinutes` of that section (read afresh on
//! every [`TrackerRefresh::tick`], so a `PATCH .../config` takes effect at the next tick).
//!
//! - **New issues.** What a poll returns is compared with what was seen before
//!   ([`seen::SeenStore`], `.openkit/tracker-refresh.json`, so a restart announces nothing
//!   twice). Each issue not seen before becomes exactly one `issue_assigned` activity event
//!   (category `system`, metadata `source`, `issueId`, `issueTitle`, `issueUrl`,
//!   `issueStatus`). The seen set is written before anything is announced.
//! - **The first poll after a tracker is configured is silent**: it records what is
//!   already assigned without announcing it or starting agents (a user connecting a
//!   tracker with thirty open issues expects no thirty events and no thirty agents; what
//!   arrives afterwards is new). Removing a tracker's section forgets its seen set, so a
//!   new configuration starts silently again.
//! - **Auto-start.** With `autoStartAgent` (or `autoStartClaudeOnNewIssue`), each new issue
//!   gets its worktree and a scoped agent session ([`Workbench::auto_start_agent`]), then,
//!   with `autoUpdateIssueStatusOnAgentStart`, its status changed; the result is one
//!   `auto_task_claimed` activity event (category `agent`, the reference's metadata
//!   `source`, `issueId`, `issueTitle`, `autoClaimed`, `agent`, plus `sessionId`,
//!   `focusTerminal` from `autoStartClaudeFocusTerminal`, `skipPermissions`,
//!   `statusUpdatedTo`), or an `auto_start_failed` warning. A refused status change is an
//!   `issue_status_update_failed` warning; the agent keeps running.
//! - **Failures.** Due sources are polled concurrently, so a slow tracker delays no other.
//!   A failing or hanging poll ([`POLL_TIMEOUT`]) is an ops-log warning
//!   (`trackers.poll`) every time and an `issue_refresh_failed` activity warning on the
//!   first failure of a streak; it never ends the loop. Polls of a failing source back off
//!   ([`retry_delay`]): 1 min, 2, 4, ... up to the larger of its interval and 30 min. The
//!   next success is an ops-log note and resets the delay.
//!
//! Time is passed in: [`TrackerRefresh::tick`] takes `now`, so tests drive it without
//! waiting; [`TrackerRefresh::spawn`] calls it every [`TICK`] until its handle is dropped.

pub mod autostart;
pub mod seen;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::events::{ActivityCategory, Severity};
use crate::integrations::{IntegrationsStore, TrackerSettings};
use crate::issues::{IssueRef, IssueSource, IssueSummary, SourceId};
use crate::logs::{ActivityEvent, Level, OpStatus, OpsLogEvent};
use crate::workbench::Workbench;

pub use autostart::{AutoStartError, AutoStarted, agent_command, issue_prompt};
pub use seen::SeenStore;

/// How often the loop of [`TrackerRefresh::spawn`] looks for sources due a poll.
pub const TICK: Duration = Duration::from_secs(15);
/// Longest a poll may take before it counts as failed.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// The first retry delay after a failed poll.
pub const RETRY_BASE: Duration = Duration::from_secs(60);
/// Retries back off at most to this (or the refresh interval, when longer).
pub const RETRY_CAP: Duration = Duration::from_secs(30 * 60);

/// The refresh interval of `settings` (at least one minute).
pub fn refresh_interval(settings: &TrackerSettings) -> Duration {
    Duration::from_secs(60 * u64::from(settings.refresh_interval_minutes.max(1)))
}

/// The delay before the next poll of a source after `failures` consecutive failed polls
/// (none: its `interval`): [`RETRY_BASE`] doubling per failure, capped at the larger of
/// `interval` and [`RETRY_CAP`].
pub fn retry_delay(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    let doubled = RETRY_BASE.saturating_mul(1u32 << (failures - 1).min(20));
    doubled.min(interval.max(RETRY_CAP))
}

/// When a source was last polled, and how its last polls went.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    last: Instant,
    failures: u32,
}

/// What one [`TrackerRefresh::tick`] did.
#[derive(Debug, Default, Clone)]
pub struct TickReport {
    /// Sources polled successfully.
    pub polled: Vec<SourceId>,
    /// Sources whose poll failed.
    pub failed: Vec<SourceId>,
    /// Issues announced as newly assigned.
    pub announced: Vec<IssueRef>,
    /// Issues an agent was started on, with the session.
    pub started: Vec<(IssueRef, String)>,
}

/// The background refresh of one project's trackers (see the module docs).
pub struct TrackerRefresh {
    workbench: Arc<Workbench>,
    store: Arc<IntegrationsStore>,
    seen: SeenStore,
    poll_timeout: Duration,
    /// Per source; the lock also serialises ticks.
    schedules: tokio::sync::Mutex<BTreeMap<SourceId, Schedule>>,
}

impl std::fmt::Debug for TrackerRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerRefresh")
            .field("seen", &self.seen.path())
            .finish_non_exhaustive()
    }
}

/// The running loop of [`TrackerRefresh::spawn`]; dropping it stops the loop.
#[derive(Debug)]
pub struct RefreshLoop {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RefreshLoop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TrackerRefresh {
    /// The refresh of `workbench`'s trackers, configured by `store`.
    pub fn new(workbench: Arc<Workbench>, store: Arc<IntegrationsStore>) -> Self {
        TrackerRefresh {
            seen: SeenStore::new(workbench.paths()),
            workbench,
            store,
            poll_timeout: POLL_TIMEOUT,
            schedules: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The same with another limit for one poll (default [`POLL_TIMEOUT`]).
    pub fn with_poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_timeout = timeout;
        self
    }

    /// Runs [`TrackerRefresh::tick`] now and then every `period` (normally [`TICK`]) until
    /// the returned handle is dropped.
    pub fn spawn(self: &Arc<Self>, period: Duration) -> RefreshLoop {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                me.tick(Instant::now()).await;
            }
        });
        RefreshLoop { task }
    }

    /// Polls every watched source that is due at `now` (never polled, or its interval
    /// or retry delay passed since its last poll), announces new issues and starts their
    /// agents. Never fails: problems become warnings. Ticks run one at a time.
    pub async fn tick(&self, now: Instant) -> TickReport {
        let mut schedules = self.schedules.lock().await;
        let mut report = TickReport::default();
        self.forget_unconfigured(&mut schedules);
        // Every due source is asked at once, so a slow tracker delays no other.
        let mut polls = tokio::task::JoinSet::new();
        for name in self.workbench.issue_sources().names() {
            if name.is_local() {
                continue;
            }
            let settings = match self.store.section::<TrackerSettings>(name.as_str()) {
                Ok(Some(settings)) => settings,
                Ok(None) => continue,
                Err(e) => {
                    self.poll_failed(&mut schedules, &name, now, &e.to_string(), &mut report);
                    continue;
                }
            };
            let interval = refresh_interval(&settings);
            if let Some(schedule) = schedules.get(&name)
                && now < schedule.last + retry_delay(interval, schedule.failures)
            {
                continue;
            }
            let Some(source) = self.workbench.issue_sources().find(&name) else {
                continue;
            };
            let timeout = self.poll_timeout;
            polls.spawn(async move {
                let answer = tokio::time::timeout(timeout, source.assigned()).await;
                (source, settings, answer)
            });
        }
        let mut answers = Vec::new();
        while let Some(joined) = polls.join_next().await {
            match joined {
                Ok(answer) => answers.push(answer),
                // A panicking adapter: its source is polled again at the next tick.
                Err(e) => tracing::warn!(error = %e, "an issue source's poll panicked"),
            }
        }
        answers.sort_by(|a, b| a.0.source().cmp(b.0.source()));
        for (source, settings, answer) in answers {
            let name = source.source().clone();
            match answer {
                Ok(Ok(assigned)) => {
                    let recovered = schedules.get(&name).map_or(0, |s| s.failures);
                    schedules.insert(
                        name.clone(),
                        Schedule {
                            last: now,
                            failures: 0,
                        },
                    );
                    if recovered > 0 {
                        self.ops(
                            Level::Info,
                            OpStatus::Succeeded,
                            &name,
                            format!("Refreshing {name} issues works again"),
                        );
                    }
                    report.polled.push(name);
                    self.arrived(&*source, &settings, assigned, &mut report)
                        .await;
                }
                Ok(Err(e)) => {
                    self.poll_failed(&mut schedules, &name, now, &e.to_string(), &mut report)
                }
                Err(_) => self.poll_failed(
                    &mut schedules,
                    &name,
                    now,
                    &format!("no answer within {} ms", self.poll_timeout.as_millis()),
                    &mut report,
                ),
            }
        }
        report
    }

    /// Drops the seen set and schedule of every source whose section is gone.
    fn forget_unconfigured(&self, schedules: &mut BTreeMap<SourceId, Schedule>) {
        let Ok(recorded) = self.seen.sources() else {
            return;
        };
        for name in recorded {
            if matches!(self.store.has_section(&name), Ok(false)) {
                let _ = self.seen.forget(&name);
                if let Ok(source) = SourceId::new(&name) {
                    schedules.remove(&source);
                }
            }
        }
    }

    /// Records the assigned issues and handles the new ones.
    async fn arrived(
        &self,
        source: &dyn IssueSource,
        settings: &TrackerSettings,
        assigned: Vec<IssueSummary>,
        report: &mut TickReport,
    ) {
        let name = source.source();
        let assigned: Vec<IssueSummary> = assigned
            .into_iter()
            .filter(|i| &i.issue.source == name)
            .collect();
        let ids: Vec<_> = assigned.iter().map(|i| i.issue.id.clone()).collect();
        let fresh = match self.seen.record(name, &ids) {
            Ok(Some(fresh)) => fresh,
            Ok(None) => return,
            Err(e) => {
                self.ops(
                    Level::Warning,
                    OpStatus::Failed,
                    name,
                    format!("Could not record the seen {name} issues: {e}"),
                );
                return;
            }
        };
        for id in fresh {
            let Some(issue) = assigned.iter().find(|i| i.issue.id == id) else {
                continue;
            };
            self.announce(issue);
            report.announced.push(issue.issue.clone());
            let started = self.workbench.auto_start_agent(source, issue, settings);
            if let Some(result) = started.await
                && let Some(session) = self.started(issue, settings, result)
            {
                report.started.push((issue.issue.clone(), session));
            }
        }
    }

    /// The `issue_assigned` event of a new issue.
    fn announce(&self, issue: &IssueSummary) {
        let mut event = ActivityEvent::new(
            ActivityCategory::System,
            "issue_assigned",
            Severity::Info,
            &format!("{} was assigned to you: {}", issue.issue.id, issue.title),
        );
        event.group_key = Some(format!(
            "issue-assigned:{}:{}",
            issue.issue.source, issue.issue.id
        ));
        event.metadata = Some(json!({
            "source": issue.issue.source,
            "issueId": issue.issue.id,
            "issueTitle": issue.title,
            "issueUrl": issue.url,
            "issueStatus": issue.status,
        }));
        self.activity(event);
    }

    /// Reports an auto-start; the session id when an agent runs.
    fn started(
        &self,
        issue: &IssueSummary,
        settings: &TrackerSettings,
        result: Result<AutoStarted, AutoStartError>,
    ) -> Option<String> {
        let id = &issue.issue.id;
        let started = match result {
            Ok(started) => started,
            Err(e) => {
                let mut event = ActivityEvent::new(
                    ActivityCategory::Agent,
                    "auto_start_failed",
                    Severity::Warning,
                    &format!("Could not start an agent on {id}"),
                );
                event.detail = Some(e.to_string());
                event.metadata = Some(json!({
                    "source": issue.issue.source,
                    "issueId": id,
                    "issueTitle": issue.title,
                    "agent": settings.agent_to_start(),
                    "code": crate::error::DomainError::code(&e),
                }));
                self.activity(event);
                return None;
            }
        };
        let status_updated = match &started.status_update {
            Some((status, Ok(()))) => Some(status.clone()),
            Some((status, Err(why))) => {
                let mut event = ActivityEvent::new(
                    ActivityCategory::Agent,
                    "issue_status_update_failed",
                    Severity::Warning,
                    &format!("Could not move {id} to \"{status}\""),
                );
                event.detail = Some(why.clone());
                event.worktree_id = Some(started.worktree_id.clone());
                event.metadata = Some(json!({
                    "source": issue.issue.source,
                    "issueId": id,
                    "status": status,
                }));
                self.activity(event);
                None
            }
            None => None,
        };
        let mut event = ActivityEvent::new(
            ActivityCategory::Agent,
            "auto_task_claimed",
            Severity::Info,
            &format!("{} started working on {id}", started.agent.label()),
        );
        event.detail = Some(issue.title.clone());
        event.worktree_id = Some(started.worktree_id.clone());
        event.group_key = Some(format!("auto-task-claimed:{id}"));
        event.metadata = Some(json!({
            "source": issue.issue.source,
            "issueId": id,
            "issueTitle": issue.title,
            "issueUrl": issue.url,
            "autoClaimed": true,
            "agent": started.agent.command(),
            "sessionId": started.session.session_id,
            "reusedSession": started.session.reused,
            "reusedWorktree": started.reused_worktree,
            "focusTerminal": settings.auto_start_claude_focus_terminal,
            "skipPermissions": settings.auto_start_claude_skip_permissions,
            "statusUpdatedTo": status_updated,
        }));
        self.activity(event);
        Some(started.session.session_id)
    }

    fn poll_failed(
        &self,
        schedules: &mut BTreeMap<SourceId, Schedule>,
        name: &SourceId,
        now: Instant,
        why: &str,
        report: &mut TickReport,
    ) {
        let failures = schedules.get(name).map_or(0, |s| s.failures) + 1;
        schedules.insert(
            name.clone(),
            Schedule {
                last: now,
                failures,
            },
        );
        report.failed.push(name.clone());
        self.ops(
            Level::Warning,
            OpStatus::Failed,
            name,
            format!("Refreshing {name} issues failed ({failures} in a row): {why}"),
        );
        if failures == 1 {
            let mut event = ActivityEvent::new(
                ActivityCategory::System,
                "issue_refresh_failed",
                Severity::Warning,
                &format!("Could not refresh the issues assigned to you in {name}"),
            );
            event.detail = Some(why.to_string());
            event.metadata = Some(json!({ "source": name }));
            self.activity(event);
        }
    }

    fn ops(&self, level: Level, status: OpStatus, source: &SourceId, message: String) {
        let mut event = OpsLogEvent::new("trackers", "trackers.poll", &message, level, status);
        event.metadata = Some(json!({ "issueSource": source }));
        if let Err(e) = self.workbench.backbone().record_ops(event) {
            tracing::warn!(error = %e, "could not write the ops log");
        }
    }

    fn activity(&self, event: ActivityEvent) {
        if let Err(e) = self.workbench.backbone().record_activity(event) {
            tracing::warn!(error = %e, "could not write the activity log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_cap() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(retry_delay(min(5), 0), min(5));
        let delays: Vec<_> = (1..=7).map(|f| retry_delay(min(5), f)).collect();
        assert_eq!(
            delays,
            vec![min(1), min(2), min(4), min(8), min(16), min(30), min(30)]
        );
        // A longer interval is the cap.
        assert_eq!(retry_delay(min(120), 10), min(120));
        assert_eq!(retry_delay(min(1), 64), min(30));
        let settings = TrackerSettings {
            refresh_interval_minutes: 0,
            ..Default::default()
        };
        assert_eq!(refresh_interval(&settings), min(1));
    }
}
