//! Hooks: `/api/hooks/...` (the project's `hooks.json`) and `/api/worktrees/:id/hooks/...`
//! (runs, results, reports, effective configuration, flow compliance).
//!
//! Requests carry triggers and kinds as strings so that an unknown one is answered with
//! our own `INVALID_HOOK_TRIGGER` (400) rather than a generic body error.

use openkit_core::hooks::{
    self as core, FlowState, HooksError, SkillOverride, StepKind as CoreKind,
    Trigger as CoreTrigger,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// When a step or skill applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HookTrigger {
    /// Before an agent starts implementing.
    PreImplementation,
    /// After an agent finished implementing (the default).
    PostImplementation,
    /// When the condition holds (the agent decides).
    Custom,
    /// Only when someone runs it.
    OnDemand,
    /// Automatically after a worktree was created.
    WorktreeCreated,
    /// Automatically after a worktree was removed.
    WorktreeRemoved,
}

impl From<CoreTrigger> for HookTrigger {
    fn from(t: CoreTrigger) -> Self {
        match t {
            CoreTrigger::PreImplementation => HookTrigger::PreImplementation,
            CoreTrigger::PostImplementation => HookTrigger::PostImplementation,
            CoreTrigger::Custom => HookTrigger::Custom,
            CoreTrigger::OnDemand => HookTrigger::OnDemand,
            CoreTrigger::WorktreeCreated => HookTrigger::WorktreeCreated,
            CoreTrigger::WorktreeRemoved => HookTrigger::WorktreeRemoved,
        }
    }
}

/// `command` or `prompt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookStepKind {
    /// A shell command OpenKit runs (`sh -c` in the worktree).
    Command,
    /// An instruction for agents, never executed.
    Prompt,
}

/// A trigger named in a request; absent means post-implementation.
pub fn trigger(value: Option<&str>) -> Result<Option<CoreTrigger>, HooksError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(CoreTrigger::parse)
        .transpose()
}

/// A step kind named in a request.
pub fn kind(value: Option<&str>) -> Result<Option<CoreKind>, HooksError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("command") => Ok(Some(CoreKind::Command)),
        Some("prompt") => Ok(Some(CoreKind::Prompt)),
        Some(other) => Err(HooksError::Invalid {
            reason: format!("Unknown step kind \"{other}\": use command or prompt"),
        }),
    }
}

/// A step of `hooks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStep {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The shell command (empty for prompt steps).
    pub command: String,
    /// `command` or `prompt`.
    pub kind: HookStepKind,
    /// The instruction of a prompt step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Whether it runs.
    pub enabled: bool,
    /// When it applies.
    pub trigger: HookTrigger,
    /// When it applies, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_title: Option<String>,
    /// Timeout in seconds (120 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

impl From<&core::HookStep> for HookStep {
    fn from(s: &core::HookStep) -> Self {
        HookStep {
            id: s.id.clone(),
            name: s.name.clone(),
            command: s.command.clone(),
            kind: match s.kind() {
                CoreKind::Command => HookStepKind::Command,
                CoreKind::Prompt => HookStepKind::Prompt,
            },
            prompt: s.prompt.clone(),
            enabled: s.enabled,
            trigger: s.trigger().into(),
            condition: s.condition.clone(),
            condition_title: s.condition_title.clone(),
            timeout: s.timeout,
        }
    }
}

/// A registry skill referenced by the hooks.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookSkillRef {
    /// The skill's name in `~/.openkit/skills/`.
    pub skill_name: String,
    /// Whether agents are asked to use it.
    pub enabled: bool,
    /// When it applies.
    pub trigger: HookTrigger,
    /// When it applies, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_title: Option<String>,
}

impl From<&core::HookSkill> for HookSkillRef {
    fn from(s: &core::HookSkill) -> Self {
        HookSkillRef {
            skill_name: s.skill_name.clone(),
            enabled: s.enabled,
            trigger: s.trigger().into(),
            condition: s.condition.clone(),
            condition_title: s.condition_title.clone(),
        }
    }
}

/// The hooks configuration (`.openkit/hooks.json`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HooksConfig {
    /// Command and prompt steps.
    pub steps: Vec<HookStep>,
    /// Registry skills by trigger.
    pub skills: Vec<HookSkillRef>,
}

impl From<&core::HooksConfig> for HooksConfig {
    fn from(c: &core::HooksConfig) -> Self {
        HooksConfig {
            steps: c.steps.iter().map(HookStep::from).collect(),
            skills: c.skills.iter().map(HookSkillRef::from).collect(),
        }
    }
}

/// `{ success: true, config }`, the answer of every change of the configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HooksConfigSaved {
    /// Always `true`.
    pub success: True,
    /// The configuration as saved.
    pub config: HooksConfig,
}

impl From<&core::HooksConfig> for HooksConfigSaved {
    fn from(c: &core::HooksConfig) -> Self {
        HooksConfigSaved {
            success: True,
            config: c.into(),
        }
    }
}

/// A step in a saved configuration (`PUT /api/hooks/config`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStepInput {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The shell command (command steps).
    #[serde(default)]
    pub command: Option<String>,
    /// `command` (default) or `prompt`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The instruction (prompt steps).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Whether it runs (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
    /// When it applies, in words.
    #[serde(default)]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(default)]
    pub condition_title: Option<String>,
    /// Timeout in seconds (default 120).
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// A skill in a saved configuration.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookSkillInput {
    /// The skill's name.
    pub skill_name: String,
    /// Whether agents are asked to use it (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
    /// When it applies, in words.
    #[serde(default)]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(default)]
    pub condition_title: Option<String>,
}

/// `PUT /api/hooks/config`: the whole configuration.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct HooksConfigInput {
    /// Command and prompt steps.
    #[serde(default)]
    pub steps: Vec<HookStepInput>,
    /// Registry skills by trigger.
    #[serde(default)]
    pub skills: Vec<HookSkillInput>,
}

impl HooksConfigInput {
    /// The core configuration; an unknown trigger or kind is refused.
    pub fn into_core(self) -> Result<core::HooksConfig, HooksError> {
        let steps = self
            .steps
            .into_iter()
            .map(|s| {
                Ok(core::HookStep {
                    id: s.id,
                    name: s.name,
                    command: s.command.unwrap_or_default(),
                    kind: kind(s.kind.as_deref())?,
                    prompt: s.prompt,
                    enabled: s.enabled.unwrap_or(true),
                    trigger: trigger(s.trigger.as_deref())?,
                    condition: s.condition,
                    condition_title: s.condition_title,
                    timeout: s.timeout,
                    extra: Default::default(),
                })
            })
            .collect::<Result<_, HooksError>>()?;
        let skills = self
            .skills
            .into_iter()
            .map(|s| {
                Ok(core::HookSkill {
                    skill_name: s.skill_name,
                    enabled: s.enabled.unwrap_or(true),
                    trigger: trigger(s.trigger.as_deref())?,
                    condition: s.condition,
                    condition_title: s.condition_title,
                    extra: Default::default(),
                })
            })
            .collect::<Result<_, HooksError>>()?;
        Ok(core::HooksConfig {
            steps,
            skills,
            extra: Default::default(),
        })
    }
}

/// `POST /api/hooks/steps`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddStepRequest {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The shell command (command steps).
    #[serde(default)]
    pub command: Option<String>,
    /// `command` (default) or `prompt`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The instruction (prompt steps).
    #[serde(default)]
    pub prompt: Option<String>,
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
    /// When it applies, in words.
    #[serde(default)]
    pub condition: Option<String>,
    /// Whether it runs (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Timeout in seconds (default 120).
    #[serde(default)]
    pub timeout: Option<u64>,
}

impl AddStepRequest {
    /// The core request.
    pub fn into_core(self) -> Result<core::NewStep, HooksError> {
        Ok(core::NewStep {
            name: self.name,
            kind: kind(self.kind.as_deref())?,
            command: self.command,
            prompt: self.prompt,
            trigger: trigger(self.trigger.as_deref())?,
            condition: self.condition,
            enabled: self.enabled,
            timeout: self.timeout,
        })
    }
}

/// `PATCH /api/hooks/steps/:stepId`: the fields to change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStepRequest {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New command.
    #[serde(default)]
    pub command: Option<String>,
    /// New instruction.
    #[serde(default)]
    pub prompt: Option<String>,
    /// `command` or `prompt`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// One of the triggers.
    #[serde(default)]
    pub trigger: Option<String>,
    /// New condition (empty clears it).
    #[serde(default)]
    pub condition: Option<String>,
    /// New timeout in seconds.
    #[serde(default)]
    pub timeout: Option<u64>,
}

impl UpdateStepRequest {
    /// The core patch.
    pub fn into_core(self) -> Result<core::StepPatch, HooksError> {
        Ok(core::StepPatch {
            name: self.name,
            command: self.command,
            prompt: self.prompt,
            kind: kind(self.kind.as_deref())?,
            enabled: self.enabled,
            trigger: trigger(self.trigger.as_deref())?,
            condition: self.condition,
            timeout: self.timeout,
        })
    }
}

/// `POST /api/hooks/skills/import`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportHookSkillRequest {
    /// The registry skill.
    #[serde(default)]
    pub skill_name: String,
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
    /// When it applies, in words.
    #[serde(default)]
    pub condition: Option<String>,
}

/// `PATCH /api/hooks/skills/:name`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToggleHookSkillRequest {
    /// Enable or disable.
    pub enabled: bool,
    /// Which instance (every one of the skill when absent).
    #[serde(default)]
    pub trigger: Option<String>,
}

/// Query naming a trigger (`DELETE /api/hooks/skills/:name?trigger=...`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriggerParams {
    /// Which instance (every one of the skill when absent).
    pub trigger: Option<String>,
}

/// A skill of the registry that can be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailableHookSkill {
    /// Its directory name.
    pub name: String,
    /// The frontmatter `name`, else the directory name.
    pub display_name: String,
    /// The frontmatter `description`.
    pub description: String,
}

/// `GET /api/hooks/skills/available`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailableHookSkills {
    /// Every skill of `~/.openkit/skills/`.
    pub available: Vec<AvailableHookSkill>,
}

/// `POST /api/worktrees/:id/hooks/run` (the body is optional).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RunHooksRequest {
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
}

/// Query of the run endpoints.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// Run steps again that passed on the current tree (default false: cached).
    pub force: Option<bool>,
    /// Answer once the run ended instead of as it starts (`POST .../hooks/run` only).
    pub wait: Option<bool>,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

/// Where a pipeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Steps are running.
    Running,
    /// Every step passed.
    Completed,
    /// Some step failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

/// The result of one command step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// The step's id.
    pub step_id: String,
    /// Its name.
    pub step_name: String,
    /// The command.
    pub command: String,
    /// Where it is.
    pub status: StepStatus,
    /// stdout and stderr interleaved, at most 64 KiB (the newest; a marker line says what
    /// was dropped), secrets redacted.
    pub output: String,
    /// The exit code (absent while running or when a signal ended it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// It ran past its timeout and was stopped.
    pub timed_out: bool,
    /// Output was dropped to keep it bounded.
    pub truncated: bool,
    /// Taken from an earlier pass on the same tree, not run again.
    pub cached: bool,
    /// When it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// How long it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The tree it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_hash: Option<String>,
}

impl From<&core::StepResult> for StepResult {
    fn from(r: &core::StepResult) -> Self {
        StepResult {
            step_id: r.step_id.clone(),
            step_name: r.step_name.clone(),
            command: r.command.clone(),
            status: match r.status {
                core::StepStatus::Pending => StepStatus::Pending,
                core::StepStatus::Running => StepStatus::Running,
                core::StepStatus::Passed => StepStatus::Passed,
                core::StepStatus::Failed => StepStatus::Failed,
                core::StepStatus::Cancelled => StepStatus::Cancelled,
            },
            output: r.output.clone(),
            exit_code: r.exit_code,
            timed_out: r.timed_out,
            truncated: r.truncated,
            cached: r.cached,
            started_at: r.started_at.clone(),
            completed_at: r.completed_at.clone(),
            duration_ms: r.duration_ms,
            tree_hash: r.tree_hash.clone(),
        }
    }
}

/// One run of a trigger's command steps in a worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRun {
    /// Run id.
    pub id: String,
    /// The worktree.
    pub worktree_id: String,
    /// The trigger that ran.
    pub trigger: HookTrigger,
    /// Where it is.
    pub status: RunStatus,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The tree it ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_hash: Option<String>,
    /// One result per step.
    pub steps: Vec<StepResult>,
}

impl From<&core::PipelineRun> for PipelineRun {
    fn from(r: &core::PipelineRun) -> Self {
        PipelineRun {
            id: r.id.clone(),
            worktree_id: r.worktree_id.clone(),
            trigger: r.trigger.into(),
            status: match r.status {
                core::RunStatus::Running => RunStatus::Running,
                core::RunStatus::Completed => RunStatus::Completed,
                core::RunStatus::Failed => RunStatus::Failed,
                core::RunStatus::Cancelled => RunStatus::Cancelled,
            },
            started_at: r.started_at.clone(),
            completed_at: r.completed_at.clone(),
            tree_hash: r.tree_hash.clone(),
            steps: r.steps.iter().map(StepResult::from).collect(),
        }
    }
}

/// An agent's report of a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillReport {
    /// The skill.
    pub skill_name: String,
    /// The trigger it ran for.
    pub trigger: HookTrigger,
    /// Whether it passed.
    pub success: bool,
    /// One line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// When it was reported.
    pub reported_at: String,
}

impl From<&core::SkillReport> for SkillReport {
    fn from(r: &core::SkillReport) -> Self {
        SkillReport {
            skill_name: r.skill_name.clone(),
            trigger: r.trigger.into(),
            success: r.success,
            summary: r.summary.clone(),
            content: r.content.clone(),
            reported_at: r.reported_at.clone(),
        }
    }
}

/// `GET /api/worktrees/:id/hooks/status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    /// The latest run, `null` before the first.
    pub status: Option<PipelineRun>,
    /// The latest result of every step, whichever run produced it.
    pub step_results: Vec<StepResult>,
    /// The latest report of every skill and trigger.
    pub skill_reports: Vec<SkillReport>,
}

impl From<&core::run::RunFile> for HookStatus {
    fn from(f: &core::run::RunFile) -> Self {
        HookStatus {
            status: f.latest.as_ref().map(PipelineRun::from),
            step_results: f.last_results.values().map(StepResult::from).collect(),
            skill_reports: f.skill_reports.iter().map(SkillReport::from).collect(),
        }
    }
}

/// `POST /api/worktrees/:id/hooks/report`: a skill's result (`skillName`), or the
/// result of a command step the agent ran itself (`stepId`, an addition).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookReportRequest {
    /// The skill reported.
    #[serde(default)]
    pub skill_name: Option<String>,
    /// Or the command step reported.
    #[serde(default)]
    pub step_id: Option<String>,
    /// One of the triggers (default post-implementation; skills only).
    #[serde(default)]
    pub trigger: Option<String>,
    /// Whether it passed.
    #[serde(default)]
    pub success: bool,
    /// One line.
    #[serde(default)]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(default)]
    pub content: Option<String>,
}

/// `DELETE /api/worktrees/:id/hooks/run`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksCancelled {
    /// Always `true`.
    pub success: True,
    /// Whether a run was cancelled (false: nothing ran).
    pub cancelled: bool,
    /// The cancelled run as it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<PipelineRun>,
}

/// An override of a skill in an issue's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookSkillOverride {
    /// On for this issue.
    Enable,
    /// Off for this issue.
    Disable,
}

/// A skill as it applies to one worktree.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveHookSkill {
    /// The skill's name.
    pub skill_name: String,
    /// When it applies.
    pub trigger: HookTrigger,
    /// Whether agents are asked to use it in this worktree.
    pub enabled: bool,
    /// What `hooks.json` says.
    pub configured_enabled: bool,
    /// The linked issue's `hookSkills` override, when it sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#override: Option<HookSkillOverride>,
    /// When it applies, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `GET /api/worktrees/:id/hooks/effective-config`: what applies to this worktree.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveHooksConfig {
    /// The worktree.
    pub worktree_id: String,
    /// Every step (`enabled` says whether it runs).
    pub steps: Vec<HookStep>,
    /// Every skill with the overrides applied.
    pub skills: Vec<EffectiveHookSkill>,
}

impl From<&core::EffectiveConfig> for EffectiveHooksConfig {
    fn from(c: &core::EffectiveConfig) -> Self {
        EffectiveHooksConfig {
            worktree_id: c.worktree_id.clone(),
            steps: c.steps.iter().map(HookStep::from).collect(),
            skills: c
                .skills
                .iter()
                .map(|s| EffectiveHookSkill {
                    skill_name: s.skill.skill_name.clone(),
                    trigger: s.skill.trigger().into(),
                    enabled: s.enabled,
                    configured_enabled: s.skill.enabled,
                    r#override: match s.override_ {
                        Some(SkillOverride::Enable) => Some(HookSkillOverride::Enable),
                        Some(SkillOverride::Disable) => Some(HookSkillOverride::Disable),
                        _ => None,
                    },
                    condition: s
                        .skill
                        .condition_title
                        .clone()
                        .or_else(|| s.skill.condition.clone()),
                })
                .collect(),
        }
    }
}

/// `PATCH /api/worktrees/:id/hooks/skills/:name`: the linked issue's override.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillOverrideRequest {
    /// `inherit` (remove the override), `enable` or `disable`.
    pub r#override: String,
    /// One of the triggers (default post-implementation).
    #[serde(default)]
    pub trigger: Option<String>,
}

/// Where a required item of the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookFlowState {
    /// Never run or reported.
    Missing,
    /// Its last run or report failed.
    Failed,
    /// It passed on another tree than the current one.
    Stale,
    /// Done.
    Done,
}

/// `step` or `skill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HookFlowKind {
    /// A command step.
    Step,
    /// A registry skill.
    Skill,
}

/// One required item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookFlowItem {
    /// `step` or `skill`.
    pub kind: HookFlowKind,
    /// Step id or skill name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The command (steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its trigger.
    pub trigger: HookTrigger,
    /// Where it is.
    pub state: HookFlowState,
}

/// `GET /api/worktrees/:id/hooks/flow`: which required steps and skills (enabled, of
/// the pre- and post-implementation triggers) are not done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookFlow {
    /// The worktree.
    pub worktree_id: String,
    /// Whether every required item is done.
    pub complete: bool,
    /// The current tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_hash: Option<String>,
    /// Every required item.
    pub items: Vec<HookFlowItem>,
}

impl From<&core::FlowCompliance> for HookFlow {
    fn from(f: &core::FlowCompliance) -> Self {
        HookFlow {
            worktree_id: f.worktree_id.clone(),
            complete: f.complete(),
            tree_hash: f.tree_hash.clone(),
            items: f
                .items
                .iter()
                .map(|i| HookFlowItem {
                    kind: if i.kind == "skill" {
                        HookFlowKind::Skill
                    } else {
                        HookFlowKind::Step
                    },
                    id: i.id.clone(),
                    name: i.name.clone(),
                    command: i.command.clone(),
                    trigger: i.trigger.into(),
                    state: match i.state {
                        FlowState::Missing => HookFlowState::Missing,
                        FlowState::Failed => HookFlowState::Failed,
                        FlowState::Stale => HookFlowState::Stale,
                        FlowState::Done => HookFlowState::Done,
                    },
                })
                .collect(),
        }
    }
}

/// `POST /api/worktrees/:id/hooks/report` with a `stepId`: the recorded result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookReported {
    /// Always `true`.
    pub success: True,
    /// The step result recorded (step reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_result: Option<StepResult>,
}

/// The payload of a `hook-update` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookUpdate {
    /// The worktree.
    pub worktree_id: String,
    /// The run as it is now, when a run changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<PipelineRun>,
    /// The report, when an agent reported a skill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_report: Option<SkillReport>,
    /// The result, when an agent reported a step it ran itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_report: Option<StepResult>,
}

impl From<&core::HookUpdate> for HookUpdate {
    fn from(u: &core::HookUpdate) -> Self {
        HookUpdate {
            worktree_id: u.worktree_id.clone(),
            run: u.run.as_ref().map(PipelineRun::from),
            skill_report: u.skill_report.as_ref().map(SkillReport::from),
            step_report: u.step_report.as_ref().map(StepResult::from),
        }
    }
}
