//! What hook runs produced, and the worktree's `.openkit/hooks-run.json` that keeps it.
//!
//! The file is the latest [`PipelineRun`] (the original's format) plus two additive
//! fields: `lastResults` (the latest result of every step, whichever run or single-step
//! call produced it: the result cache and flow compliance read it) and `skillReports`
//! (the latest report of every skill and trigger).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{HooksError, Trigger};
use crate::persist;

/// The file name of the results, inside the checkout's `.openkit/`.
pub const RUN_FILE: &str = "hooks-run.json";

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Waiting to start.
    Pending,
    /// Running now.
    Running,
    /// Exited 0.
    Passed,
    /// Exited non-zero, timed out or could not start.
    Failed,
    /// Stopped by a cancel.
    Cancelled,
}

impl StepStatus {
    /// Whether it ended.
    pub fn is_final(self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
    }
}

/// Where a pipeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Steps are running.
    Running,
    /// Every step passed.
    Completed,
    /// Some step failed.
    Failed,
    /// Cancelled before it ended.
    Cancelled,
}

/// The result of one command step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// The step's id.
    pub step_id: String,
    /// Its name.
    pub step_name: String,
    /// The command that ran.
    pub command: String,
    /// Where it is.
    pub status: StepStatus,
    /// stdout and stderr interleaved, bounded (oldest output dropped, with a marker).
    #[serde(default)]
    pub output: String,
    /// The exit code (absent while running, or when a signal ended it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// It ran past its timeout and was stopped.
    #[serde(default)]
    pub timed_out: bool,
    /// Output was dropped to keep it bounded.
    #[serde(default)]
    pub truncated: bool,
    /// Taken from an earlier pass on the same tree, not run again.
    #[serde(default)]
    pub cached: bool,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// How long it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The tree it ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_hash: Option<String>,
}

impl StepResult {
    /// A step not started yet.
    pub fn pending(step_id: &str, step_name: &str, command: &str) -> Self {
        StepResult {
            step_id: step_id.to_string(),
            step_name: step_name.to_string(),
            command: command.to_string(),
            status: StepStatus::Pending,
            output: String::new(),
            exit_code: None,
            timed_out: false,
            truncated: false,
            cached: false,
            started_at: None,
            completed_at: None,
            duration_ms: None,
            tree_hash: None,
        }
    }
}

/// One run of a trigger's command steps in a worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRun {
    /// Run id.
    pub id: String,
    /// The worktree.
    pub worktree_id: String,
    /// The trigger that ran.
    #[serde(default = "post_implementation")]
    pub trigger: Trigger,
    /// Where it is.
    pub status: RunStatus,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The tree it ran on (absent when it could not be computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_hash: Option<String>,
    /// One result per step, in configuration order.
    pub steps: Vec<StepResult>,
}

fn post_implementation() -> Trigger {
    Trigger::PostImplementation
}

impl PipelineRun {
    /// The status its steps add up to once all ended: cancelled if any was, else failed
    /// if any failed, else completed.
    pub fn final_status(&self) -> RunStatus {
        if self.steps.iter().any(|s| s.status == StepStatus::Cancelled) {
            RunStatus::Cancelled
        } else if self.steps.iter().any(|s| s.status == StepStatus::Failed) {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        }
    }
}

/// An agent's report of a skill it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillReport {
    /// The skill.
    pub skill_name: String,
    /// The trigger it ran for.
    pub trigger: Trigger,
    /// Whether it passed.
    pub success: bool,
    /// One line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// When it was reported.
    pub reported_at: String,
}

/// The content of `hooks-run.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFile {
    /// The latest pipeline run.
    #[serde(flatten, default)]
    pub latest: Option<PipelineRun>,
    /// The latest result of every step, by step id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_results: BTreeMap<String, StepResult>,
    /// The latest report of every skill and trigger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skill_reports: Vec<SkillReport>,
}

impl RunFile {
    /// The file of the checkout at `checkout`.
    pub fn path(checkout: &Path) -> PathBuf {
        checkout.join(".openkit").join(RUN_FILE)
    }

    /// Reads it (empty when missing).
    pub fn read(checkout: &Path) -> Result<Self, HooksError> {
        Ok(persist::read_json::<RunFile>(&Self::path(checkout))?.unwrap_or_default())
    }

    /// Writes it atomically.
    pub fn write(&self, checkout: &Path) -> Result<(), HooksError> {
        persist::write_json(&Self::path(checkout), self)?;
        Ok(())
    }

    /// Keeps `report` as the latest of its skill and trigger.
    pub fn record_report(&mut self, report: SkillReport) {
        self.skill_reports
            .retain(|r| !(r.skill_name == report.skill_name && r.trigger == report.trigger));
        self.skill_reports.push(report);
    }

    /// The latest report of `skill` for `trigger`.
    pub fn report(&self, skill: &str, trigger: Trigger) -> Option<&SkillReport> {
        self.skill_reports
            .iter()
            .find(|r| r.skill_name == skill && r.trigger == trigger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_a_pipeline_run_with_additive_fields_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RunFile::read(dir.path()).unwrap(), RunFile::default());
        let mut step = StepResult::pending("s1", "Lint", "make lint");
        step.status = StepStatus::Passed;
        step.exit_code = Some(0);
        let run = PipelineRun {
            id: "r1".into(),
            worktree_id: "wt".into(),
            trigger: Trigger::PostImplementation,
            status: RunStatus::Completed,
            started_at: "2026-01-01T00:00:00.000Z".into(),
            completed_at: None,
            tree_hash: Some("abc".into()),
            steps: vec![step.clone()],
        };
        let mut file = RunFile {
            latest: Some(run.clone()),
            ..Default::default()
        };
        file.last_results.insert("s1".into(), step);
        file.record_report(SkillReport {
            skill_name: "review".into(),
            trigger: Trigger::PostImplementation,
            success: false,
            summary: None,
            content: None,
            reported_at: "t1".into(),
        });
        file.record_report(SkillReport {
            skill_name: "review".into(),
            trigger: Trigger::PostImplementation,
            success: true,
            summary: Some("fine".into()),
            content: None,
            reported_at: "t2".into(),
        });
        assert_eq!(file.skill_reports.len(), 1, "the latest report replaces");
        file.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(RunFile::path(dir.path())).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["id"], "r1", "the run's own fields at the top: {json}");
        assert_eq!(json["steps"][0]["stepId"], "s1");
        assert_eq!(json["status"], "completed");
        assert_eq!(RunFile::read(dir.path()).unwrap(), file);
        assert!(
            file.report("review", Trigger::PostImplementation)
                .unwrap()
                .success
        );
        assert_eq!(run.final_status(), RunStatus::Completed);
    }
}
