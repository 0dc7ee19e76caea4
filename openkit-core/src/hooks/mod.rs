//! Hooks: the checks and agent skills a team wants every worktree's work to pass.
//!
//! - [`config`]: `.openkit/hooks.json` as a typed model ([`HooksConfig`]: command and
//!   prompt [`HookStep`]s, registry skills by name and [`Trigger`]) and its store (CRUD,
//!   validation, a skill imported twice into one trigger is kept once).
//! - [`run`]: what a run produced ([`PipelineRun`], [`StepResult`], [`SkillReport`]) and
//!   the worktree's `.openkit/hooks-run.json` that keeps it (written atomically).
//! - [`runner`]: one command step run to completion: `sh -c <command>` as the user wrote
//!   it (never interpolated with request data), in the worktree, through the
//!   [`CommandRunner`](crate::command::CommandRunner), with `FORCE_COLOR=0`, a timeout
//!   (120 s unless the step says otherwise), stdout and stderr interleaved and bounded
//!   (the oldest output is dropped, with a marker), pass or fail by exit code. Every
//!   process the step starts carries a run tag; on timeout, cancel *and* normal exit the
//!   step's process group, its descendants and every tagged process are killed, so a
//!   daemonising step (`setsid`, `nohup ... &`) does not outlive it.
//! - [`tree`]: the tree hash of a checkout (tracked and untracked content, what
//!   `git add -A` would stage), the key of the result cache: a step that passed on this
//!   tree with this command is not run again unless forced.
//! - [`service`]: [`Hooks`], which runs pipelines (the enabled command steps of a trigger
//!   in parallel), one at a time per worktree, cancellable, publishing every change as a
//!   `hook-update` on the bus; the effective configuration of a worktree (`hookSkills`
//!   overrides of its issue's notes applied) and its flow compliance.
//! - [`workbench`]: the façade methods (worktree resolution, lifecycle triggers
//!   `worktree-created` / `worktree-removed`).
//!
//! Prompt steps are never executed: they are instructions that reach agents through
//! `openkit task context`.

pub mod config;
pub mod run;
pub mod runner;
pub mod service;
pub mod tree;
mod workbench;

pub use workbench::overrides_of;

pub use config::{
    HookSkill, HookStep, HooksConfig, HooksStore, NewStep, SkillOverride, StepKind, StepPatch,
    Trigger,
};
pub use run::{PipelineRun, RunStatus, SkillReport, StepResult, StepStatus};
pub use service::{
    EffectiveConfig, EffectiveSkill, FlowCompliance, FlowItem, FlowState, HookUpdate, Hooks,
    RunRequest,
};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::notes::NotesError;
use crate::persist::PersistError;
use crate::worktree::WorktreeError;

/// A failure of a hooks operation.
#[derive(Debug, thiserror::Error)]
pub enum HooksError {
    /// No step with this id in `hooks.json`.
    #[error("Hook step \"{id}\" not found")]
    StepNotFound {
        /// The id asked for.
        id: String,
    },
    /// No such skill in `hooks.json` (for that trigger, when one was named).
    #[error("Skill \"{name}\" is not in the hooks{}", trigger.map(|t| format!(" for trigger {t}")).unwrap_or_default())]
    SkillNotFound {
        /// The skill name.
        name: String,
        /// The trigger named, if any.
        trigger: Option<Trigger>,
    },
    /// A trigger that is not one of the known ones.
    #[error(
        "Unknown trigger \"{value}\": use pre-implementation, post-implementation, custom, on-demand, worktree-created or worktree-removed"
    )]
    UnknownTrigger {
        /// What was sent.
        value: String,
    },
    /// The configuration or a request breaks a rule.
    #[error("{reason}")]
    Invalid {
        /// Which rule.
        reason: String,
    },
    /// A prompt step was asked to run.
    #[error(
        "Step \"{id}\" is a prompt step: prompt steps are instructions for agents and are never executed"
    )]
    NotRunnable {
        /// The step.
        id: String,
    },
    /// A pipeline already runs in this worktree.
    #[error("Hooks are already running in worktree \"{worktree_id}\"; cancel that run first")]
    AlreadyRunning {
        /// The worktree.
        worktree_id: String,
    },
    /// The worktree could not be resolved.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// The notes of the linked issue could not be read or written.
    #[error(transparent)]
    Notes(#[from] NotesError),
    /// A file could not be read or written.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

impl From<IoFailure> for HooksError {
    fn from(e: IoFailure) -> Self {
        HooksError::Persist(e.into())
    }
}

impl DomainError for HooksError {
    fn kind(&self) -> ErrorKind {
        match self {
            HooksError::StepNotFound { .. } | HooksError::SkillNotFound { .. } => {
                ErrorKind::NotFound
            }
            HooksError::UnknownTrigger { .. }
            | HooksError::Invalid { .. }
            | HooksError::NotRunnable { .. } => ErrorKind::InvalidInput,
            HooksError::AlreadyRunning { .. } => ErrorKind::Conflict,
            HooksError::Worktree(e) => e.kind(),
            HooksError::Notes(e) => e.kind(),
            HooksError::Persist(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            HooksError::StepNotFound { .. } => "HOOK_STEP_NOT_FOUND",
            HooksError::SkillNotFound { .. } => "HOOK_SKILL_NOT_FOUND",
            HooksError::UnknownTrigger { .. } => "INVALID_HOOK_TRIGGER",
            HooksError::Invalid { .. } => "INVALID_HOOKS_CONFIG",
            HooksError::NotRunnable { .. } => "HOOK_STEP_NOT_RUNNABLE",
            HooksError::AlreadyRunning { .. } => "HOOKS_ALREADY_RUNNING",
            HooksError::Worktree(e) => e.code(),
            HooksError::Notes(e) => e.code(),
            HooksError::Persist(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            HooksError::Worktree(e) => e.context(),
            HooksError::AlreadyRunning { worktree_id } => {
                vec![("worktreeId", worktree_id.clone())]
            }
            _ => Vec::new(),
        }
    }
}
