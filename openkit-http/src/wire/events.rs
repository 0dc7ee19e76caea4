//! Server-sent events of `GET /api/events`: the JSON of each `data:` line.

use openkit_core::backbone::FeedEvent as CoreFeedEvent;
use serde::Serialize;
use utoipa::ToSchema;

use super::activity::{ActivityEvent, activity_list};
use super::hooks::{HookUpdate, PipelineRun, SkillReport, StepResult};
use super::logs::{OpsLogEvent, ops_list};
use super::worktrees::{WorktreeInfo, worktree_list};

/// One event of the stream, tagged by `type`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type")]
pub enum FeedEvent {
    /// The full worktree list, on connect and on every change.
    #[serde(rename = "worktrees")]
    Worktrees {
        /// The list, as `GET /api/worktrees` returns it.
        worktrees: Vec<WorktreeInfo>,
    },
    /// Recent activity events, sent on connect (and on a resync).
    #[serde(rename = "activity-history")]
    ActivityHistory {
        /// Oldest first.
        events: Vec<ActivityEvent>,
    },
    /// One new activity event.
    #[serde(rename = "activity")]
    Activity {
        /// The event.
        event: ActivityEvent,
    },
    /// Recent ops-log events, sent on connect (and on a resync).
    #[serde(rename = "ops-log-history")]
    OpsLogHistory {
        /// Oldest first.
        events: Vec<OpsLogEvent>,
    },
    /// One new ops-log event.
    #[serde(rename = "ops-log")]
    OpsLog {
        /// The event.
        event: OpsLogEvent,
    },
    /// A worktree's hook run changed (a step started or ended, the run ended), or an
    /// agent reported a hook result.
    #[serde(rename = "hook-update", rename_all = "camelCase")]
    HookUpdate {
        /// The worktree.
        worktree_id: String,
        /// The run as it is now, when a run changed.
        #[serde(skip_serializing_if = "Option::is_none")]
        run: Option<PipelineRun>,
        /// The report, when an agent reported a skill.
        #[serde(skip_serializing_if = "Option::is_none")]
        skill_report: Option<SkillReport>,
        /// The result, when an agent reported a step it ran itself.
        #[serde(skip_serializing_if = "Option::is_none")]
        step_report: Option<StepResult>,
    },
}

impl From<&CoreFeedEvent> for FeedEvent {
    fn from(event: &CoreFeedEvent) -> Self {
        match event {
            CoreFeedEvent::Worktrees(list) => FeedEvent::Worktrees {
                worktrees: worktree_list(list),
            },
            CoreFeedEvent::Activity(e) => FeedEvent::Activity {
                event: e.as_ref().into(),
            },
            CoreFeedEvent::OpsLog(e) => FeedEvent::OpsLog {
                event: e.as_ref().into(),
            },
            CoreFeedEvent::HookUpdate(u) => {
                let u = HookUpdate::from(u.as_ref());
                FeedEvent::HookUpdate {
                    worktree_id: u.worktree_id,
                    run: u.run,
                    skill_report: u.skill_report,
                    step_report: u.step_report,
                }
            }
        }
    }
}

impl FeedEvent {
    /// The `activity-history` event.
    pub fn activity_history(events: &[openkit_core::logs::ActivityEvent]) -> Self {
        FeedEvent::ActivityHistory {
            events: activity_list(events),
        }
    }

    /// The `ops-log-history` event.
    pub fn ops_log_history(events: &[openkit_core::logs::OpsLogEvent]) -> Self {
        FeedEvent::OpsLogHistory {
            events: ops_list(events),
        }
    }
}
