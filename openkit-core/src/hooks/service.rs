//! [`Hooks`]: pipelines per worktree (parallel steps, result cache, cancel, live
//! updates), skill reports, the effective configuration and flow compliance.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::HooksError;
use super::config::{
    HookSkill, HookStep, HooksConfig, HooksStore, SkillOverride, StepKind, Trigger,
};
use super::run::{PipelineRun, RunFile, RunStatus, SkillReport, StepResult, StepStatus};
use super::runner::run_step;
use super::tree::tree_hash;
use crate::backbone::Backbone;
use crate::command::CommandRunner;
use crate::events::{ActivityNotice, EventSink, Severity, WorkbenchEvent};
use crate::logs::now_iso;
use crate::paths::Paths;

/// How long a cancel waits for the run to wind down before it answers.
const CANCEL_WAIT: Duration = Duration::from_secs(20);

/// What a `hook-update` event carries: the worktree, and the run as it is now or the
/// report just recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUpdate {
    /// The worktree.
    pub worktree_id: String,
    /// The run, when a run changed.
    pub run: Option<PipelineRun>,
    /// The report, when an agent reported a skill.
    pub skill_report: Option<SkillReport>,
    /// The result, when an agent reported a step it ran itself.
    pub step_report: Option<StepResult>,
}

/// A pipeline to start.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The canonical worktree id.
    pub worktree_id: String,
    /// Where the steps run (the checkout; the project root for a removed worktree).
    pub cwd: PathBuf,
    /// The checkout whose `.openkit/hooks-run.json` keeps the results; `None` for a
    /// worktree that is gone (results are only published).
    pub checkout: Option<PathBuf>,
    /// The path `OPENKIT_WORKTREE_PATH` names.
    pub worktree_path: PathBuf,
    /// Which steps.
    pub trigger: Trigger,
    /// Only this step (a single-step run), whatever its trigger or enabled flag.
    pub only_step: Option<String>,
    /// Run steps that passed on this tree again.
    pub force: bool,
}

/// A skill with its `hookSkills` override applied.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSkill {
    /// As `hooks.json` has it.
    pub skill: HookSkill,
    /// The override, when it sets one other than `inherit`.
    pub override_: Option<SkillOverride>,
    /// Whether agents are asked to use it in this worktree.
    pub enabled: bool,
}

/// What applies to one worktree.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveConfig {
    /// The worktree.
    pub worktree_id: String,
    /// Every step of `hooks.json`.
    pub steps: Vec<HookStep>,
    /// Every skill, overrides applied.
    pub skills: Vec<EffectiveSkill>,
}

/// Where one required item of the flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    /// Never run or reported.
    Missing,
    /// Its last run or report failed (or was cancelled).
    Failed,
    /// It passed, on another tree than the current one.
    Stale,
    /// Passed (on this tree, for steps) or reported successful.
    Done,
}

impl FlowState {
    /// `missing`, `failed`, `stale` or `done`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::Missing => "missing",
            FlowState::Failed => "failed",
            FlowState::Stale => "stale",
            FlowState::Done => "done",
        }
    }
}

/// One required step or skill and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowItem {
    /// `step` or `skill`.
    pub kind: &'static str,
    /// Step id or skill name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The command (steps).
    pub command: Option<String>,
    /// Its trigger.
    pub trigger: Trigger,
    /// Where it is.
    pub state: FlowState,
}

/// Which required steps and skills of a worktree are done: enabled command steps and
/// enabled skills (overrides applied) of the pre- and post-implementation triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCompliance {
    /// The worktree.
    pub worktree_id: String,
    /// The current tree.
    pub tree_hash: Option<String>,
    /// Every required item.
    pub items: Vec<FlowItem>,
}

impl FlowCompliance {
    /// Whether every required item is done.
    pub fn complete(&self) -> bool {
        self.items.iter().all(|i| i.state == FlowState::Done)
    }
}

/// The `hookSkills` overrides as `hooks.json`'s skills see them: `"<trigger>:<skill>"`.
pub type Overrides = BTreeMap<String, SkillOverride>;

/// The effective configuration: `config` with `overrides` applied.
pub fn effective(worktree_id: &str, config: HooksConfig, overrides: &Overrides) -> EffectiveConfig {
    let skills = config
        .skills
        .into_iter()
        .map(|skill| {
            let override_ = overrides
                .get(&skill.override_key())
                .copied()
                .filter(|o| *o != SkillOverride::Inherit);
            let enabled = match override_ {
                Some(SkillOverride::Enable) => true,
                Some(SkillOverride::Disable) => false,
                _ => skill.enabled,
            };
            EffectiveSkill {
                skill,
                override_,
                enabled,
            }
        })
        .collect();
    EffectiveConfig {
        worktree_id: worktree_id.to_string(),
        steps: config.steps,
        skills,
    }
}

/// Flow compliance of `config` given the worktree's results and its current tree.
pub fn compliance(config: &EffectiveConfig, file: &RunFile, tree: Option<&str>) -> FlowCompliance {
    let mut items = Vec::new();
    for step in config
        .steps
        .iter()
        .filter(|s| s.enabled && s.kind() == StepKind::Command && s.trigger().is_required())
    {
        let state = match file.last_results.get(&step.id) {
            None => FlowState::Missing,
            Some(r) if r.status == StepStatus::Passed => {
                if tree.is_some() && r.tree_hash.as_deref() != tree {
                    FlowState::Stale
                } else {
                    FlowState::Done
                }
            }
            Some(r) if r.status.is_final() => FlowState::Failed,
            Some(_) => FlowState::Missing,
        };
        items.push(FlowItem {
            kind: "step",
            id: step.id.clone(),
            name: step.name.clone(),
            command: Some(step.command.clone()),
            trigger: step.trigger(),
            state,
        });
    }
    for skill in config
        .skills
        .iter()
        .filter(|s| s.enabled && s.skill.trigger().is_required())
    {
        let trigger = skill.skill.trigger();
        let state = match file.report(&skill.skill.skill_name, trigger) {
            None => FlowState::Missing,
            Some(r) if r.success => FlowState::Done,
            Some(_) => FlowState::Failed,
        };
        items.push(FlowItem {
            kind: "skill",
            id: skill.skill.skill_name.clone(),
            name: skill.skill.skill_name.clone(),
            command: None,
            trigger,
            state,
        });
    }
    FlowCompliance {
        worktree_id: config.worktree_id.clone(),
        tree_hash: tree.map(str::to_string),
        items,
    }
}

/// A pipeline in flight.
struct InFlight {
    cancel: watch::Sender<bool>,
    finished: watch::Receiver<Option<PipelineRun>>,
}

/// Runs hooks and keeps their results (see the module docs of [`super`]).
pub struct Hooks {
    store: HooksStore,
    runner: CommandRunner,
    backbone: Arc<Backbone>,
    events: Arc<dyn EventSink>,
    running: Mutex<HashMap<String, InFlight>>,
    /// Serialises read-modify-write cycles of the results files.
    files: Mutex<()>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks").finish_non_exhaustive()
    }
}

impl Hooks {
    /// The hooks of the project at `paths`: steps run through `runner`, updates go to
    /// the `backbone`'s bus, outcomes to the activity feed through `events`.
    pub fn new(
        paths: &Paths,
        runner: CommandRunner,
        backbone: Arc<Backbone>,
        events: Arc<dyn EventSink>,
    ) -> Self {
        Hooks {
            store: HooksStore::new(paths),
            runner,
            backbone,
            events,
            running: Mutex::new(HashMap::new()),
            files: Mutex::new(()),
        }
    }

    /// The `hooks.json` store.
    pub fn store(&self) -> &HooksStore {
        &self.store
    }

    /// Whether `trigger` has any step that would run.
    pub fn has_steps(&self, trigger: Trigger) -> bool {
        self.store
            .load()
            .is_ok_and(|c| c.steps.iter().any(|s| s.runs_on(trigger)))
    }

    /// Whether a pipeline runs in `worktree_id` now.
    pub fn is_running(&self, worktree_id: &str) -> bool {
        self.lock_running()
            .contains_key(&worktree_id.to_ascii_lowercase())
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, InFlight>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to the results file of `checkout` (read, change, atomic write),
    /// off the async threads.
    async fn update_file(
        self: &Arc<Self>,
        checkout: &Path,
        change: impl FnOnce(&mut RunFile) + Send + 'static,
    ) -> Result<RunFile, HooksError> {
        let this = Arc::clone(self);
        let checkout = checkout.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let _guard = this.files.lock().unwrap_or_else(|e| e.into_inner());
            super::tree::exclude_results(&checkout);
            let mut file = RunFile::read(&checkout)?;
            change(&mut file);
            file.write(&checkout)?;
            Ok(file)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// The results of `checkout` (empty when none).
    pub async fn results(&self, checkout: &Path) -> Result<RunFile, HooksError> {
        let checkout = checkout.to_path_buf();
        tokio::task::spawn_blocking(move || RunFile::read(&checkout))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// The tree hash of `checkout`, off the async threads.
    pub async fn tree_hash(checkout: &Path) -> Option<String> {
        let checkout = checkout.to_path_buf();
        tokio::task::spawn_blocking(move || tree_hash(&checkout))
            .await
            .ok()
            .flatten()
    }

    /// Records the run's state: in the worktree's file (when it has one) and on the bus.
    async fn publish(self: &Arc<Self>, checkout: Option<&Path>, run: &PipelineRun) {
        if let Some(checkout) = checkout {
            let latest = run.clone();
            let written = self
                .update_file(checkout, move |file| {
                    for step in latest
                        .steps
                        .iter()
                        .filter(|s| s.status.is_final() && !s.cached)
                    {
                        file.last_results.insert(step.step_id.clone(), step.clone());
                    }
                    file.latest = Some(latest);
                })
                .await;
            if let Err(e) = written {
                tracing::warn!("could not record the hook run of {}: {e}", run.worktree_id);
            }
        }
        self.backbone.publish_hook_update(HookUpdate {
            worktree_id: run.worktree_id.clone(),
            run: Some(run.clone()),
            skill_report: None,
            step_report: None,
        });
    }

    /// Starts a pipeline: the enabled command steps of the trigger (or the one step asked
    /// for), in parallel. Steps that passed on the current tree with the same command are
    /// taken from the cache unless `force`. Returns the run as it starts and a handle that
    /// completes with the final run. Refused while another pipeline runs in the worktree.
    pub async fn start(
        self: &Arc<Self>,
        request: RunRequest,
    ) -> Result<(PipelineRun, tokio::task::JoinHandle<PipelineRun>), HooksError> {
        let config = self.store.load()?;
        let steps: Vec<HookStep> = match &request.only_step {
            Some(id) => {
                let step = config.step(id)?;
                if step.kind() == StepKind::Prompt {
                    return Err(HooksError::NotRunnable { id: id.clone() });
                }
                vec![step.clone()]
            }
            None => config
                .steps
                .iter()
                .filter(|s| s.runs_on(request.trigger))
                .cloned()
                .collect(),
        };
        let key = request.worktree_id.to_ascii_lowercase();
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let (finished_tx, finished_rx) = watch::channel(None);
        {
            let mut running = self.lock_running();
            if running.contains_key(&key) {
                return Err(HooksError::AlreadyRunning {
                    worktree_id: request.worktree_id,
                });
            }
            running.insert(
                key.clone(),
                InFlight {
                    cancel: cancel_tx,
                    finished: finished_rx,
                },
            );
        }
        // From here on the entry must be removed whatever happens.
        let prepared = self.prepare(&request, steps).await;
        let (run, to_run) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.lock_running().remove(&key);
                return Err(e);
            }
        };
        self.publish(request.checkout.as_deref(), &run).await;
        let this = Arc::clone(self);
        let initial = run.clone();
        let handle = tokio::spawn(async move {
            let run = this.execute(&request, run, to_run, cancel_rx).await;
            this.lock_running().remove(&key);
            let _ = finished_tx.send(Some(run.clone()));
            run
        });
        Ok((initial, handle))
    }

    /// The run as it starts (cached steps already passed, the others running) and the
    /// steps to execute.
    async fn prepare(
        &self,
        request: &RunRequest,
        steps: Vec<HookStep>,
    ) -> Result<(PipelineRun, Vec<HookStep>), HooksError> {
        let (tree, file) = match &request.checkout {
            Some(checkout) => (
                Self::tree_hash(checkout).await,
                self.results(checkout).await.unwrap_or_default(),
            ),
            None => (None, RunFile::default()),
        };
        let now = now_iso();
        let mut results = Vec::with_capacity(steps.len());
        let mut to_run = Vec::new();
        for step in steps {
            let cached = file.last_results.get(&step.id).filter(|r| {
                !request.force
                    && r.status == StepStatus::Passed
                    && tree.is_some()
                    && r.tree_hash == tree
                    && r.command == step.command
            });
            match cached {
                Some(hit) => {
                    let mut hit = hit.clone();
                    hit.cached = true;
                    hit.step_name = step.name.clone();
                    results.push(hit);
                }
                None => {
                    let mut pending = StepResult::pending(&step.id, &step.name, &step.command);
                    pending.status = StepStatus::Running;
                    pending.started_at = Some(now.clone());
                    pending.tree_hash = tree.clone();
                    results.push(pending);
                    to_run.push(step);
                }
            }
        }
        let mut run = PipelineRun {
            id: uuid::Uuid::new_v4().simple().to_string(),
            worktree_id: request.worktree_id.clone(),
            trigger: request.trigger,
            status: RunStatus::Running,
            started_at: now,
            completed_at: None,
            tree_hash: tree,
            steps: results,
        };
        if to_run.is_empty() {
            run.status = run.final_status();
            run.completed_at = Some(now_iso());
        }
        Ok((run, to_run))
    }

    /// Runs `to_run` in parallel, recording and publishing each result as it comes.
    async fn execute(
        self: &Arc<Self>,
        request: &RunRequest,
        mut run: PipelineRun,
        to_run: Vec<HookStep>,
        cancel: watch::Receiver<bool>,
    ) -> PipelineRun {
        if to_run.is_empty() {
            self.announce(&run);
            return run;
        }
        let env = vec![
            (
                "OPENKIT_HOOK_TRIGGER".to_string(),
                request.trigger.as_str().to_string(),
            ),
            (
                "OPENKIT_WORKTREE_ID".to_string(),
                request.worktree_id.clone(),
            ),
            (
                "OPENKIT_WORKTREE_PATH".to_string(),
                request.worktree_path.to_string_lossy().into_owned(),
            ),
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for step in to_run {
            let runner = self.runner.clone();
            let cwd = request.cwd.clone();
            let env = env.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move { run_step(&runner, &cwd, &step, &env, cancel).await });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok(mut result) = done else {
                continue;
            };
            result.tree_hash = run.tree_hash.clone();
            if let Some(slot) = run.steps.iter_mut().find(|s| s.step_id == result.step_id) {
                *slot = result;
            }
            if tasks.is_empty() {
                run.status = run.final_status();
                run.completed_at = Some(now_iso());
            }
            self.publish(request.checkout.as_deref(), &run).await;
        }
        // A step task that panicked leaves its slot running: report it as failed.
        if run.status == RunStatus::Running {
            for step in run.steps.iter_mut().filter(|s| !s.status.is_final()) {
                step.status = StepStatus::Failed;
                step.output.push_str("[openkit] the step's task failed");
            }
            run.status = run.final_status();
            run.completed_at = Some(now_iso());
            self.publish(request.checkout.as_deref(), &run).await;
        }
        self.announce(&run);
        run
    }

    /// The activity event of a finished run (none for an empty one).
    fn announce(&self, run: &PipelineRun) {
        if run.steps.is_empty() {
            return;
        }
        let failed: Vec<&str> = run
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Failed)
            .map(|s| s.step_name.as_str())
            .collect();
        let (event_type, severity, title) = match run.status {
            RunStatus::Completed => (
                "hooks_passed",
                Severity::Success,
                format!("Hooks ({}) passed in {}", run.trigger, run.worktree_id),
            ),
            RunStatus::Cancelled => (
                "hooks_cancelled",
                Severity::Info,
                format!("Hooks ({}) cancelled in {}", run.trigger, run.worktree_id),
            ),
            _ => (
                "hooks_failed",
                if run.trigger.is_lifecycle() {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                format!("Hooks ({}) failed in {}", run.trigger, run.worktree_id),
            ),
        };
        let mut notice = ActivityNotice::worktree(event_type, severity, &run.worktree_id, title);
        if !failed.is_empty() {
            notice = notice.with_detail(format!("Failed: {}", failed.join(", ")));
        }
        self.events.publish(WorkbenchEvent::Activity(notice));
    }

    /// Cancels the pipeline of `worktree_id`: its steps' processes are killed. Waits until
    /// it wound down and returns its final run; `None` when nothing ran.
    pub async fn cancel(&self, worktree_id: &str) -> Option<PipelineRun> {
        let mut finished = {
            let running = self.lock_running();
            let flight = running.get(&worktree_id.to_ascii_lowercase())?;
            let _ = flight.cancel.send(true);
            flight.finished.clone()
        };
        let done = tokio::time::timeout(CANCEL_WAIT, finished.wait_for(Option::is_some)).await;
        match done {
            Ok(Ok(run)) => run.clone(),
            _ => None,
        }
    }

    /// Records an agent's skill report in the results of `checkout` and publishes it.
    pub async fn report_skill(
        self: &Arc<Self>,
        worktree_id: &str,
        checkout: &Path,
        report: SkillReport,
    ) -> Result<(), HooksError> {
        let kept = report.clone();
        self.update_file(checkout, move |file| file.record_report(kept))
            .await?;
        let title = format!(
            "Skill {} ({}) {} in {worktree_id}",
            report.skill_name,
            report.trigger,
            if report.success { "passed" } else { "failed" }
        );
        let mut notice = ActivityNotice::worktree(
            "hook_skill_reported",
            if report.success {
                Severity::Success
            } else {
                Severity::Warning
            },
            worktree_id,
            title,
        );
        if let Some(summary) = &report.summary {
            notice = notice.with_detail(summary.clone());
        }
        self.events.publish(WorkbenchEvent::Activity(notice));
        self.backbone.publish_hook_update(HookUpdate {
            worktree_id: worktree_id.to_string(),
            run: None,
            skill_report: Some(report),
            step_report: None,
        });
        Ok(())
    }

    /// Records an agent's own result of a command step (it ran the command itself) as the
    /// step's latest result on the current tree.
    pub async fn report_step(
        self: &Arc<Self>,
        worktree_id: &str,
        checkout: &Path,
        step_id: &str,
        success: bool,
        summary: Option<String>,
    ) -> Result<StepResult, HooksError> {
        let config = self.store.load()?;
        let step = config.step(step_id)?;
        let mut result = StepResult::pending(&step.id, &step.name, &step.command);
        result.status = if success {
            StepStatus::Passed
        } else {
            StepStatus::Failed
        };
        result.output = summary.unwrap_or_default();
        result.completed_at = Some(now_iso());
        result.tree_hash = Self::tree_hash(checkout).await;
        let kept = result.clone();
        self.update_file(checkout, move |file| {
            file.last_results.insert(kept.step_id.clone(), kept);
        })
        .await?;
        self.backbone.publish_hook_update(HookUpdate {
            worktree_id: worktree_id.to_string(),
            run: None,
            skill_report: None,
            step_report: Some(result.clone()),
        });
        Ok(result)
    }
}
