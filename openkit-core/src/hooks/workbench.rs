//! The workbench's hooks operations: worktree resolution, `hookSkills` overrides from
//! the linked issue's notes, and the lifecycle triggers.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::HooksError;
use super::config::{SkillOverride, Trigger};
use super::run::{PipelineRun, RunFile, SkillReport, StepResult};
use super::service::{
    EffectiveConfig, FlowCompliance, Hooks, Overrides, RunRequest, compliance, effective,
};
use crate::context::issue_for_worktree;
use crate::issues::IssueRef;
use crate::logs::now_iso;
use crate::notes::Notes;
use crate::workbench::Workbench;
use crate::worktree::{WorktreeError, WorktreeInfo, WorktreeStatus};

/// The key of the notes field that holds the overrides.
const HOOK_SKILLS: &str = "hookSkills";

/// The `hookSkills` overrides of `notes` (entries that do not parse are ignored).
pub fn overrides_of(notes: &Notes) -> Overrides {
    notes
        .extra
        .get(HOOK_SKILLS)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), SkillOverride::parse(value.as_str()?)?)))
        .collect()
}

impl Workbench {
    /// The hooks service.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    /// The worktree hooks act on: resolved, and not one still being created.
    async fn hook_worktree(&self, id: &str) -> Result<WorktreeInfo, HooksError> {
        let info = self.worktree(id).await?;
        if info.status == WorktreeStatus::Creating {
            return Err(WorktreeError::Busy {
                id: info.id,
                what: "it is still being created".into(),
            }
            .into());
        }
        Ok(info)
    }

    /// Starts the command steps of `trigger` in worktree `id` (see [`Hooks::start`]).
    pub async fn run_hooks(
        &self,
        id: &str,
        trigger: Trigger,
        force: bool,
    ) -> Result<(PipelineRun, tokio::task::JoinHandle<PipelineRun>), HooksError> {
        let info = self.hook_worktree(id).await?;
        self.hooks
            .start(RunRequest {
                worktree_id: info.id,
                cwd: info.path.clone(),
                checkout: Some(info.path.clone()),
                worktree_path: info.path,
                trigger,
                only_step: None,
                force,
            })
            .await
    }

    /// Runs one step in worktree `id` to completion (cached when it passed on this tree,
    /// unless `force`).
    pub async fn run_hook_step(
        &self,
        id: &str,
        step_id: &str,
        force: bool,
    ) -> Result<StepResult, HooksError> {
        let info = self.hook_worktree(id).await?;
        let trigger = self.hooks.store().load()?.step(step_id)?.trigger();
        let (_, handle) = self
            .hooks
            .start(RunRequest {
                worktree_id: info.id,
                cwd: info.path.clone(),
                checkout: Some(info.path.clone()),
                worktree_path: info.path,
                trigger,
                only_step: Some(step_id.to_string()),
                force,
            })
            .await?;
        let run = handle
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        Ok(run
            .steps
            .into_iter()
            .next()
            .expect("a single-step run has its step"))
    }

    /// The latest run of worktree `id`, if any.
    pub async fn hook_status(&self, id: &str) -> Result<Option<PipelineRun>, HooksError> {
        let info = self.worktree(id).await?;
        Ok(self.hooks.results(&info.path).await?.latest)
    }

    /// The results file of worktree `id` (latest run, latest result per step, reports).
    pub async fn hook_results(&self, id: &str) -> Result<(String, RunFile), HooksError> {
        let info = self.worktree(id).await?;
        let file = self.hooks.results(&info.path).await?;
        Ok((info.id, file))
    }

    /// Cancels the running pipeline of worktree `id`; its final run, or `None` when
    /// nothing ran.
    pub async fn cancel_hooks(&self, id: &str) -> Result<Option<PipelineRun>, HooksError> {
        let canonical = self.resolve(id).await?;
        Ok(self.hooks.cancel(&canonical).await)
    }

    /// Records an agent's report of a skill in worktree `id`.
    pub async fn report_hook_skill(
        &self,
        id: &str,
        skill_name: &str,
        trigger: Trigger,
        success: bool,
        summary: Option<String>,
        content: Option<String>,
    ) -> Result<(), HooksError> {
        let skill_name = skill_name.trim();
        if skill_name.is_empty() {
            return Err(HooksError::Invalid {
                reason: "\"skillName\" must not be empty".into(),
            });
        }
        let info = self.hook_worktree(id).await?;
        let report = SkillReport {
            skill_name: skill_name.to_string(),
            trigger,
            success,
            summary: summary.filter(|s| !s.trim().is_empty()),
            content: content.filter(|s| !s.trim().is_empty()),
            reported_at: now_iso(),
        };
        self.hooks.report_skill(&info.id, &info.path, report).await
    }

    /// Records an agent's own result of command step `step_id` in worktree `id`.
    pub async fn report_hook_step(
        &self,
        id: &str,
        step_id: &str,
        success: bool,
        summary: Option<String>,
    ) -> Result<StepResult, HooksError> {
        let info = self.hook_worktree(id).await?;
        self.hooks
            .report_step(&info.id, &info.path, step_id, success, summary)
            .await
    }

    /// The issue linked to worktree `id`, whose notes may override skills.
    fn hook_issue(&self, worktree_id: &str) -> Option<IssueRef> {
        issue_for_worktree(self.notes(), self.tasks(), worktree_id)
    }

    /// The `hookSkills` overrides that apply to worktree `worktree_id`.
    fn hook_overrides(&self, worktree_id: &str) -> Result<Overrides, HooksError> {
        match self.hook_issue(worktree_id) {
            Some(issue) => Ok(overrides_of(&self.notes().get(&issue)?)),
            None => Ok(Overrides::new()),
        }
    }

    /// What applies to worktree `id`: every step, every skill with the linked issue's
    /// `hookSkills` overrides applied.
    pub async fn hook_effective_config(&self, id: &str) -> Result<EffectiveConfig, HooksError> {
        let canonical = self.resolve(id).await?;
        let config = self.hooks.store().load()?;
        Ok(effective(
            &canonical,
            config,
            &self.hook_overrides(&canonical)?,
        ))
    }

    /// Which required steps and skills worktree `id` has not yet run or reported.
    pub async fn hook_flow(&self, id: &str) -> Result<FlowCompliance, HooksError> {
        let info = self.worktree(id).await?;
        let config = self.hook_effective_config(&info.id).await?;
        let file = self.hooks.results(&info.path).await?;
        let tree = Hooks::tree_hash(&info.path).await;
        Ok(compliance(&config, &file, tree.as_deref()))
    }

    /// Sets the `hookSkills` override of skill `skill` in `trigger` for the issue linked
    /// to worktree `id` (`inherit` removes it). The worktree must be linked to an issue.
    pub async fn set_hook_skill_override(
        &self,
        id: &str,
        skill: &str,
        trigger: Trigger,
        value: SkillOverride,
    ) -> Result<EffectiveConfig, HooksError> {
        let canonical = self.resolve(id).await?;
        let issue = self.hook_issue(&canonical).ok_or_else(|| HooksError::Invalid {
            reason: format!(
                "Worktree \"{canonical}\" is not linked to an issue, whose notes would keep the override"
            ),
        })?;
        let key = format!("{trigger}:{}", skill.trim());
        self.notes().update(&issue, |notes| {
            let entry = notes
                .extra
                .entry(HOOK_SKILLS)
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            let map = entry.as_object_mut().expect("made an object");
            match value {
                SkillOverride::Inherit => {
                    map.remove(&key);
                }
                other => {
                    map.insert(key, Value::String(other.as_str().into()));
                }
            }
            if map.is_empty() {
                notes.extra.remove(HOOK_SKILLS);
            }
            Ok(())
        })?;
        self.hook_effective_config(&canonical).await
    }

    /// Runs the `worktree-created` steps in a new checkout to completion (a failure is
    /// reported in the activity feed, never fails the creation). Nothing when there are
    /// none.
    pub(crate) async fn run_created_hooks(&self, id: &str, path: &Path) {
        if !self.hooks.has_steps(Trigger::WorktreeCreated) {
            return;
        }
        let started = self
            .hooks
            .start(RunRequest {
                worktree_id: id.to_string(),
                cwd: path.to_path_buf(),
                checkout: Some(path.to_path_buf()),
                worktree_path: path.to_path_buf(),
                trigger: Trigger::WorktreeCreated,
                only_step: None,
                force: true,
            })
            .await;
        match started {
            Ok((_, handle)) => {
                let _ = handle.await;
            }
            Err(e) => tracing::warn!("worktree-created hooks of {id}: {e}"),
        }
    }

    /// Starts the `worktree-removed` steps of a removed worktree in the project root, in
    /// the background (results are published, not stored: the checkout is gone). A
    /// failure is reported in the activity feed and never affects the delete.
    pub(crate) async fn start_removed_hooks(
        &self,
        id: &str,
        path: &Path,
    ) -> Option<tokio::task::JoinHandle<PipelineRun>> {
        if !self.hooks.has_steps(Trigger::WorktreeRemoved) {
            return None;
        }
        let started = self
            .hooks
            .start(RunRequest {
                worktree_id: id.to_string(),
                cwd: self.paths().project_root().to_path_buf(),
                checkout: None,
                worktree_path: path.to_path_buf(),
                trigger: Trigger::WorktreeRemoved,
                only_step: None,
                force: true,
            })
            .await;
        match started {
            Ok((_, handle)) => Some(handle),
            Err(e) => {
                tracing::warn!("worktree-removed hooks of {id}: {e}");
                None
            }
        }
    }
}
