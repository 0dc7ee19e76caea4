//! The façade that owns every service of one project and orchestrates them.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backbone::Backbone;
use crate::codehost::ops::CodeHostParts;
use crate::host::HostEnv;
use crate::issues::{IssueSources, LinkedIssue};
use crate::notes::NotesStore;
use crate::perf::PerfMonitor;
use crate::status::StatusEngine;
use crate::tasks::LocalTasks;

use crate::attention::{AttentionChange, AttentionState};
use crate::config::ConfigStore;
use crate::containment::Supervisor;
use crate::devserver::StartRequest;
use crate::error::{DomainError, ErrorKind};
use crate::events::{ActivityCategory, ActivityNotice, EventSink, Severity, WorkbenchEvent};
use crate::git::GitCli;
use crate::links;
use crate::paths::Paths;
use crate::ports::{DevServerRuntime, DevServers, Terminals};
use crate::provision;
use crate::worktree::{
    ROOT_ID, RecoverAction, Resolution, WorktreeEngine, WorktreeError, WorktreeId, WorktreeInfo,
    WorktreeStatus, default_id_for_branch, resolve, validate_branch,
};

/// A request to create a worktree.
#[derive(Debug, Clone, Default)]
pub struct CreateWorktree {
    /// The branch to check out (created from the base branch when it does not exist).
    pub branch: String,
    /// The worktree id; defaults to `name`, then to one derived from the branch.
    pub id: Option<String>,
    /// Display / directory name, used as the id when `id` is absent.
    pub name: Option<String>,
}

/// A created worktree.
#[derive(Debug)]
pub struct Created {
    /// The worktree as it is now (`creating` while the install runs).
    pub worktree: WorktreeInfo,
    /// Completes when the install finished; `None` when there was nothing left to do.
    pub settled: Option<tokio::task::JoinHandle<Result<(), WorktreeError>>>,
}

/// A request to rename a worktree.
#[derive(Debug, Clone, Default)]
pub struct RenameWorktree {
    /// New id (directory name).
    pub name: Option<String>,
    /// New branch name.
    pub branch: Option<String>,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteReport {
    /// The canonical id removed.
    pub worktree_id: String,
    /// Terminal sessions ended.
    pub removed_terminal_sessions: usize,
    /// True when a dev server was running and got stopped.
    pub removed_running_process: bool,
    /// Issues whose link to the worktree was cleared.
    pub cleared_links: usize,
    /// Identifies this delete operation in logs.
    pub delete_op_id: String,
}

/// A failed delete, with the operation id for the logs.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct DeleteFailure {
    /// Identifies this delete operation in logs.
    pub delete_op_id: String,
    /// What failed.
    #[source]
    pub error: WorktreeError,
}

impl DomainError for DeleteFailure {
    fn kind(&self) -> ErrorKind {
        self.error.kind()
    }
    fn code(&self) -> &'static str {
        self.error.code()
    }
    fn context(&self) -> Vec<(&'static str, String)> {
        let mut ctx = self.error.context();
        ctx.push(("deleteOpId", self.delete_op_id.clone()));
        ctx
    }
}

/// A worktree whose creation has not settled.
#[derive(Debug, Clone)]
struct Creating {
    branch: String,
    path: PathBuf,
}

/// One async lock per case-folded worktree id: create/rename/delete/recover of the same
/// worktree run one at a time; different worktrees proceed in parallel.
#[derive(Debug, Default)]
struct KeyedLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl KeyedLocks {
    async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(map.entry(id.to_ascii_lowercase()).or_default())
        };
        lock.lock_owned().await
    }
}

/// The services a [`Workbench`] is made of; filled in by
/// [`Composition`](crate::compose::Composition).
pub(crate) struct Services {
    pub(crate) paths: Paths,
    pub(crate) host: HostEnv,
    pub(crate) git: GitCli,
    pub(crate) engine: Arc<dyn WorktreeEngine>,
    pub(crate) dev_servers: Arc<dyn DevServers>,
    pub(crate) terminals: Arc<dyn Terminals>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) backbone: Arc<Backbone>,
    pub(crate) perf: PerfMonitor,
    pub(crate) discover_cap: Duration,
    pub(crate) notes: Arc<NotesStore>,
    pub(crate) tasks: Arc<LocalTasks>,
    pub(crate) issue_sources: Arc<IssueSources>,
    pub(crate) supervisor: Option<Supervisor>,
    pub(crate) program: Option<std::path::PathBuf>,
    pub(crate) codehost: CodeHostParts,
    pub(crate) hooks: Arc<crate::hooks::Hooks>,
}

/// The workbench's background tasks (live status, worktree events); they stop when this
/// is dropped.
#[derive(Debug)]
#[must_use = "the background tasks stop when this is dropped"]
pub struct Background {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Every service of one project, wired together.
pub struct Workbench {
    paths: Paths,
    host: HostEnv,
    config: ConfigStore,
    git: GitCli,
    engine: Arc<dyn WorktreeEngine>,
    dev_servers: Arc<dyn DevServers>,
    terminals: Arc<dyn Terminals>,
    events: Arc<dyn EventSink>,
    backbone: Arc<Backbone>,
    notes: Arc<NotesStore>,
    tasks: Arc<LocalTasks>,
    issue_sources: Arc<IssueSources>,
    /// The code host, `gh`, pull-request states (see [`crate::codehost::ops`]).
    codehost: CodeHostParts,
    perf: PerfMonitor,
    discover_cap: Duration,
    supervisor: Option<Supervisor>,
    program: Option<std::path::PathBuf>,
    /// What runs elsewhere once a worktree is deleted (see [`crate::removal`]).
    removal_follow_ups: crate::removal::RemovalFollowUps,
    /// Hook pipelines and their results (see [`crate::hooks`]).
    pub(crate) hooks: Arc<crate::hooks::Hooks>,
    /// The last list [`Workbench::worktrees`] handed out.
    last_list: Mutex<Option<Arc<Vec<WorktreeInfo>>>>,
    creating: Mutex<BTreeMap<String, Creating>>,
    locks: KeyedLocks,
}

impl std::fmt::Debug for Workbench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workbench")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl Workbench {
    pub(crate) fn from_services(s: Services) -> Self {
        Workbench {
            config: ConfigStore::new(s.paths.clone()),
            notes: s.notes,
            tasks: s.tasks,
            issue_sources: s.issue_sources,
            codehost: s.codehost,
            paths: s.paths,
            host: s.host,
            git: s.git,
            engine: s.engine,
            dev_servers: s.dev_servers,
            terminals: s.terminals,
            events: s.events,
            backbone: s.backbone,
            perf: s.perf,
            discover_cap: s.discover_cap,
            supervisor: s.supervisor,
            program: s.program,
            removal_follow_ups: Default::default(),
            hooks: s.hooks,
            last_list: Mutex::new(None),
            creating: Mutex::new(BTreeMap::new()),
            locks: KeyedLocks::default(),
        }
    }

    /// Starts the background tasks: the live status engine (when the worktree engine has
    /// one) and the publisher that turns "worktrees changed" into full-list events on the
    /// bus. Needs a tokio runtime. Call it once per workbench: the status engine starts
    /// only the first time.
    pub fn start_background(self: &Arc<Self>) -> Background {
        let mut tasks = vec![tokio::spawn(publish_worktree_changes(
            Arc::clone(&self.backbone),
            Arc::downgrade(self),
        ))];
        if let Some(status) = self.engine.status_engine() {
            let me = Arc::downgrade(self);
            let events = Arc::clone(&self.events);
            tasks.push(status.start(
                move || {
                    me.upgrade()
                        .map_or_else(|| "main".into(), |w| w.base_branch())
                },
                move || events.publish(WorkbenchEvent::WorktreesChanged),
            ));
        }
        // Always running: a code host may be plugged in later (Kizuna set up through the
        // API); without one the loop sends nothing.
        tasks.push(tokio::spawn(crate::codehost::ops::refresh_loop(
            Arc::downgrade(self),
        )));
        Background { tasks }
    }

    /// The follow-ups every successful delete starts (adapters register theirs).
    pub fn removal_follow_ups(&self) -> &crate::removal::RemovalFollowUps {
        &self.removal_follow_ups
    }

    /// The code-host parts (code host, `gh`, pull-request states).
    pub(crate) fn codehost(&self) -> &CodeHostParts {
        &self.codehost
    }

    /// Publishes an event to the workbench's sink.
    pub(crate) fn publish(&self, event: WorkbenchEvent) {
        self.events.publish(event);
    }

    /// The host environment everything this workbench runs inherits.
    pub fn host(&self) -> &HostEnv {
        &self.host
    }

    /// The supervisor runs are started under, when the composition was given the
    /// `openkit` program (a frontend starting terminals passes it on).
    pub fn supervisor(&self) -> Option<&Supervisor> {
        self.supervisor.as_ref()
    }

    /// A terminal session started or ended: the worktree list (its `agent_sessions`)
    /// changed.
    pub fn terminals_changed(&self) {
        self.events.publish(WorkbenchEvent::WorktreesChanged);
    }

    /// Announces an agent session's change of state: the worktree list changed, and a
    /// question (`agent_awaiting_input`) or an end (`agent_finished`: a turn its hook
    /// reported finished, or the process exiting) goes to the activity feed.
    pub fn announce_attention(&self, change: &AttentionChange) {
        let session = &change.session;
        let worktree = &change.worktree_id;
        let agent = crate::agents::Agent::parse(&session.agent)
            .map_or(session.agent.as_str(), |a| a.label());
        let notice = match session.state {
            AttentionState::WaitingForInput => Some((
                "agent_awaiting_input",
                Severity::Warning,
                format!("{agent} in {worktree} is waiting for input"),
            )),
            AttentionState::Exited => Some(match session.exit_code {
                Some(0) => (
                    "agent_finished",
                    Severity::Success,
                    format!("{agent} in {worktree} exited"),
                ),
                code => (
                    "agent_finished",
                    Severity::Error,
                    format!(
                        "{agent} in {worktree} exited with code {}",
                        code.map_or("unknown".to_string(), |c| c.to_string())
                    ),
                ),
            }),
            AttentionState::Idle if change.finished_turn => Some((
                "agent_finished",
                Severity::Success,
                format!("{agent} in {worktree} finished its turn"),
            )),
            _ => None,
        };
        if let Some((event_type, severity, title)) = notice {
            self.events
                .publish(WorkbenchEvent::Activity(ActivityNotice {
                    category: ActivityCategory::Agent,
                    event_type: event_type.to_string(),
                    severity,
                    title,
                    detail: session.message.clone(),
                    worktree_id: Some(worktree.clone()),
                }));
        }
        self.events.publish(WorkbenchEvent::WorktreesChanged);
    }

    /// The `openkit` program agents' hooks call back into, when the composition was
    /// given it.
    pub fn openkit_program(&self) -> Option<&std::path::Path> {
        self.program.as_deref()
    }

    /// The event backbone: the bus, the activity log and the ops log.
    pub fn backbone(&self) -> &Arc<Backbone> {
        &self.backbone
    }

    /// Per-issue notes.
    pub fn notes(&self) -> &Arc<NotesStore> {
        &self.notes
    }

    /// Local tasks.
    pub fn tasks(&self) -> &Arc<LocalTasks> {
        &self.tasks
    }

    /// The issue sources (local tasks and every registered tracker).
    pub fn issue_sources(&self) -> &Arc<IssueSources> {
        &self.issue_sources
    }

    /// The issue linked to worktree `id`, from the cached link index: sources the
    /// registry accepts only; the adapter's cached status and URL first, else those of
    /// the issue's `issue.json`.
    fn linked_issue(&self, links: &HashMap<String, LinkedIssue>, id: &str) -> Option<LinkedIssue> {
        let mut linked = links.get(id)?.clone();
        if !self.issue_sources.accepts(&linked.issue.source) {
            return None;
        }
        if let Some(known) = self
            .issue_sources
            .find(&linked.issue.source)
            .and_then(|adapter| adapter.peek(&linked.issue.id))
        {
            linked.status = Some(known.status);
            linked.url = known.url.or(linked.url);
        }
        Some(linked)
    }

    /// The performance monitor.
    pub fn perf(&self) -> &PerfMonitor {
        &self.perf
    }

    /// The longest port discovery may run.
    pub fn discover_cap(&self) -> Duration {
        self.discover_cap
    }

    /// The live status engine, when the worktree engine has one.
    pub fn status_engine(&self) -> Option<&StatusEngine> {
        self.engine.status_engine()
    }

    /// The project's paths.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The configuration store.
    pub fn config(&self) -> &ConfigStore {
        &self.config
    }

    /// The git runner.
    pub fn git(&self) -> &GitCli {
        &self.git
    }

    /// The terminal sessions port.
    pub fn terminals(&self) -> &Arc<dyn Terminals> {
        &self.terminals
    }

    /// The configured base branch (`main` without a config).
    pub(crate) fn base_branch(&self) -> String {
        self.config
            .load()
            .ok()
            .flatten()
            .map(|c| c.base_branch)
            .unwrap_or_else(|| "main".into())
    }

    pub(crate) fn notify(&self, notice: Option<ActivityNotice>) {
        if let Some(notice) = notice {
            self.events.publish(WorkbenchEvent::Activity(notice));
        }
        self.events.publish(WorkbenchEvent::WorktreesChanged);
    }

    /// Every worktree: the main checkout first, then the linked ones (including those
    /// being created), with dev-server state merged in.
    pub async fn list_worktrees(&self) -> Result<Vec<WorktreeInfo>, WorktreeError> {
        let records = self.engine.list(&self.base_branch()).await?;
        let creating = self
            .creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let links = self.notes.index().by_worktree();
        let mut agents = self.terminals.agent_sessions();
        let mut out: Vec<WorktreeInfo> = records
            .iter()
            .map(|record| {
                let mut info = WorktreeInfo::from_record(record);
                info.linked_issue = self.linked_issue(&links, &record.id);
                info.agent_sessions = agents.remove(&record.id).unwrap_or_default();
                if creating.contains_key(&record.id) {
                    info.status = WorktreeStatus::Creating;
                } else if let Some(rt) = self.dev_servers.runtime(&record.id) {
                    info.status = rt.status;
                    info.ports = rt.ports;
                    info.offset = Some(rt.offset);
                    info.pid = rt.pid;
                    info.last_activity = rt.last_activity;
                }
                info
            })
            .collect();
        for (id, c) in &creating {
            if !records.iter().any(|r| &r.id == id) {
                let mut info = WorktreeInfo::from_record(&crate::worktree::WorktreeRecord {
                    id: id.clone(),
                    path: c.path.clone(),
                    branch: c.branch.clone(),
                    git: Default::default(),
                    is_root: false,
                });
                info.status = WorktreeStatus::Creating;
                info.linked_issue = self.linked_issue(&links, id);
                out.push(info);
            }
        }
        out[1..].sort_by(|a, b| a.id.cmp(&b.id));
        self.codehost.merge_into(&mut out);
        Ok(out)
    }

    /// The list [`Workbench::list_worktrees`] gives, shared: while it stays the same,
    /// every call returns the same `Arc`, so a frontend can keep what it derived from it
    /// (an encoded response) for as long as the pointer is unchanged.
    pub async fn worktrees(&self) -> Result<Arc<Vec<WorktreeInfo>>, WorktreeError> {
        let list = self.list_worktrees().await?;
        let mut last = self.last_list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(prev) = last.as_ref()
            && **prev == list
        {
            return Ok(Arc::clone(prev));
        }
        let list = Arc::new(list);
        *last = Some(Arc::clone(&list));
        Ok(list)
    }

    /// Holds the lock that serialises changes of worktree `id` (create, rename, delete,
    /// recover, commit, push).
    pub(crate) async fn lock_worktree(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.locks.lock(id).await
    }

    /// Makes the next list re-read git's registrations before answering, so a worktree
    /// added or removed behind OpenKit's back a moment ago is seen (the live snapshot
    /// catches up by itself shortly after).
    fn resync(&self) {
        if let Some(status) = self.engine.status_engine() {
            status.invalidate(None);
        }
    }

    /// Resolves `id` to a canonical worktree id: exact, then unique case-insensitive.
    pub async fn resolve(&self, id: &str) -> Result<String, WorktreeError> {
        self.worktree(id).await.map(|w| w.id)
    }

    /// One worktree by (case-insensitive) id. An id the live snapshot does not know is
    /// looked up once more after re-reading git's registrations.
    pub async fn worktree(&self, id: &str) -> Result<WorktreeInfo, WorktreeError> {
        match self.find(id).await {
            Err(WorktreeError::NotFound { .. }) if self.engine.status_engine().is_some() => {
                self.resync();
                self.find(id).await
            }
            found => found,
        }
    }

    async fn find(&self, id: &str) -> Result<WorktreeInfo, WorktreeError> {
        let list = self.list_worktrees().await?;
        let canonical = resolve_in(id, list.iter().map(|w| w.id.as_str()))?;
        Ok(list
            .into_iter()
            .find(|w| w.id == canonical)
            .expect("resolved id is listed"))
    }

    /// Creates a worktree. Returns once the checkout exists and `.env*` files are copied;
    /// the install (when configured) continues in the background with status `creating`.
    pub async fn create_worktree(
        self: &Arc<Self>,
        request: CreateWorktree,
    ) -> Result<Created, WorktreeError> {
        let branch = request.branch.trim().to_string();
        validate_branch(&branch).map_err(|reason| WorktreeError::InvalidBranch { reason })?;
        let id = match request
            .id
            .as_deref()
            .or(request.name.as_deref())
            .map(str::trim)
        {
            Some(id) if !id.is_empty() => WorktreeId::parse(id)?,
            _ => WorktreeId::parse(&default_id_for_branch(&branch))?,
        };
        let config = self.config.load()?.unwrap_or_default();

        let guard = self.locks.lock(id.as_str()).await;
        self.resync();
        let existing = self.list_worktrees().await?;
        if let Some(other) = existing.iter().find(|w| id.eq_ignore_case(&w.id)) {
            return Err(WorktreeError::Exists {
                id: other.id.clone(),
            });
        }
        if let Some(other) = existing.iter().find(|w| !w.is_root && w.branch == branch) {
            return Err(WorktreeError::Exists {
                id: other.id.clone(),
            });
        }
        let path = self.paths.worktree_dir(&id);
        if path.exists() {
            return Err(WorktreeError::Exists { id: id.to_string() });
        }
        self.creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.to_string(),
                Creating {
                    branch: branch.clone(),
                    path: path.clone(),
                },
            );
        self.notify(Some(ActivityNotice::worktree(
            "creation_started",
            Severity::Info,
            id.as_str(),
            format!("Creating worktree {id}"),
        )));

        let checkout = async {
            let outcome = self.engine.add(&id, &branch, &config.base_branch).await?;
            provision::copy_env_files(self.paths.project_root(), &outcome.path)?;
            Ok::<_, WorktreeError>(outcome)
        }
        .await;
        let outcome = match checkout {
            Ok(outcome) => outcome,
            Err(err) => {
                self.creating
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(id.as_str());
                if self.paths.worktree_dir(&id).exists() {
                    let _ = self.engine.remove(&id).await;
                }
                self.notify(Some(
                    ActivityNotice::worktree(
                        "creation_failed",
                        Severity::Error,
                        id.as_str(),
                        format!("Creating worktree {id} failed"),
                    )
                    .with_detail(err.to_string()),
                ));
                return Err(err);
            }
        };
        drop(guard);

        let install = config.install_command.trim().to_string();
        if !config.auto_install || install.is_empty() {
            if self.hooks.has_steps(crate::hooks::Trigger::WorktreeCreated) {
                // The worktree-created hooks run before the creation completes.
                let worktree = self.worktree(id.as_str()).await?;
                let this = Arc::clone(self);
                let settled = tokio::spawn(async move {
                    this.run_created_hooks(id.as_str(), &outcome.path).await;
                    this.finish_creation(id.as_str(), None).await;
                    Ok(())
                });
                return Ok(Created {
                    worktree,
                    settled: Some(settled),
                });
            }
            self.finish_creation(id.as_str(), None).await;
            return Ok(Created {
                worktree: self.worktree(id.as_str()).await?,
                settled: None,
            });
        }
        let worktree = self.worktree(id.as_str()).await?;
        let this = Arc::clone(self);
        let install_dir = outcome.path.join(&config.project_dir);
        let settled = tokio::spawn(async move {
            // The runner records the install (redacted) with the observer.
            let shell = provision::run_shell(this.git.runner(), &install, &install_dir, &[]).await;
            let result = match shell {
                Ok(outcome) if outcome.success() => Ok(()),
                Ok(outcome) => Err(format!(
                    "`{install}` exited with {}:\n{}",
                    outcome
                        .exit_code
                        .map_or("a signal".to_string(), |c| format!("code {c}")),
                    outcome.tail
                )),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => {
                    this.run_created_hooks(id.as_str(), &outcome.path).await;
                    this.finish_creation(id.as_str(), None).await;
                    Ok(())
                }
                Err(reason) => {
                    let _guard = this.locks.lock(id.as_str()).await;
                    let _ = this.engine.remove(&id).await;
                    if outcome.created_branch {
                        let _ = this
                            .engine
                            .discard_branch_if_empty(&branch, &config.base_branch)
                            .await;
                    }
                    this.finish_creation(id.as_str(), Some(&reason)).await;
                    Err(WorktreeError::CreateFailed {
                        id: id.to_string(),
                        reason,
                    })
                }
            }
        });
        Ok(Created {
            worktree,
            settled: Some(settled),
        })
    }

    async fn finish_creation(&self, id: &str, failure: Option<&str>) {
        self.creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let notice = match failure {
            None => ActivityNotice::worktree(
                "creation_completed",
                Severity::Success,
                id,
                format!("Worktree {id} is ready"),
            ),
            Some(reason) => ActivityNotice::worktree(
                "creation_failed",
                Severity::Error,
                id,
                format!("Creating worktree {id} failed"),
            )
            .with_detail(reason),
        };
        self.notify(Some(notice));
    }

    /// Resolves `id` for a mutation: never the main checkout, never one being created.
    async fn resolve_mutable(
        &self,
        id: &str,
        action: &'static str,
    ) -> Result<WorktreeInfo, WorktreeError> {
        // A change acts on what git says now, not on the live snapshot.
        self.resync();
        let info = self.worktree(id).await?;
        if info.is_root {
            return Err(WorktreeError::RootImmutable { action });
        }
        if info.status == WorktreeStatus::Creating {
            return Err(WorktreeError::Busy {
                id: info.id,
                what: "it is still being created".into(),
            });
        }
        Ok(info)
    }

    /// Renames a worktree's directory (id) and/or its branch.
    pub async fn rename_worktree(
        &self,
        id: &str,
        request: RenameWorktree,
    ) -> Result<WorktreeInfo, WorktreeError> {
        let new_id = request
            .name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let new_branch = request
            .branch
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if new_id.is_none() && new_branch.is_none() {
            return Err(WorktreeError::InvalidInput {
                reason: "Provide \"name\" and/or \"branch\"".into(),
            });
        }
        let new_id = new_id.map(WorktreeId::parse).transpose()?;
        if let Some(b) = new_branch {
            validate_branch(b).map_err(|reason| WorktreeError::InvalidBranch { reason })?;
        }
        let info = self.resolve_mutable(id, "renamed").await?;
        let current = WorktreeId::listed(&info.id)?;
        let _guard = self.locks.lock(&info.id).await;
        let _new_guard = match &new_id {
            Some(n) if !n.eq_ignore_case(&info.id) => Some(self.locks.lock(n.as_str()).await),
            _ => None,
        };
        if self.dev_servers.runtime(&info.id).is_some() {
            return Err(WorktreeError::Busy {
                id: info.id,
                what: "its dev server is running; stop it first".into(),
            });
        }
        if self.hooks.is_running(&info.id) {
            return Err(WorktreeError::Busy {
                id: info.id,
                what: "its hooks are running; wait for them or cancel them first".into(),
            });
        }
        if let Some(n) = &new_id {
            let list = self.list_worktrees().await?;
            if let Some(other) = list
                .iter()
                .find(|w| w.id != info.id && n.eq_ignore_case(&w.id))
            {
                return Err(WorktreeError::Exists {
                    id: other.id.clone(),
                });
            }
        }
        self.engine
            .rename(&current, new_id.as_ref(), new_branch)
            .await?;
        let final_id = new_id
            .as_ref()
            .map_or_else(|| info.id.clone(), WorktreeId::to_string);
        if final_id != info.id {
            self.notes.relink_worktree(&info.id, Some(&final_id))?;
            links::move_worktree_settings(&self.paths, &info.id, Some(&final_id))?;
            self.dev_servers.forget(&info.id);
        }
        self.notify(Some(ActivityNotice::worktree(
            "worktree_renamed",
            Severity::Info,
            &final_id,
            format!("Worktree {} renamed to {final_id}", info.id),
        )));
        self.worktree(&final_id).await
    }

    /// Removes a worktree: stop its dev server, end its terminals, remove the checkout,
    /// prune, clear issue links, drop its settings, then notify. The branch is kept.
    pub async fn delete_worktree(&self, id: &str) -> Result<DeleteReport, DeleteFailure> {
        let delete_op_id = uuid::Uuid::new_v4().simple().to_string();
        let fail = |error: WorktreeError| DeleteFailure {
            delete_op_id: delete_op_id.clone(),
            error,
        };
        // Ids resolve only against directory names found on disk, and the path comes from
        // the listed name as a `WorktreeId`, so a malformed id can never reach the file
        // system; it is reported as invalid rather than missing. A worktree added behind
        // OpenKit's back under a name outside the id alphabet can still be deleted by
        // that name.
        let info = match self.resolve_mutable(id, "deleted").await {
            Err(missing @ WorktreeError::NotFound { .. }) => {
                return Err(fail(WorktreeId::parse(id).err().unwrap_or(missing)));
            }
            other => other.map_err(fail)?,
        };
        let target = WorktreeId::listed(&info.id).map_err(fail)?;
        let _guard = self.locks.lock(&info.id).await;
        let removed_running_process = self.dev_servers.stop(&info.id).await;
        let removed_terminal_sessions = self.terminals.close_worktree_sessions(&info.id).await;
        // Hook steps running in the checkout are stopped with everything they started.
        self.hooks.cancel(&info.id).await;
        self.engine.remove(&target).await.map_err(fail)?;
        let cleared_links = self
            .notes
            .relink_worktree(&info.id, None)
            .map_err(|e| fail(e.into()))?;
        links::move_worktree_settings(&self.paths, &info.id, None).map_err(|e| fail(e.into()))?;
        self.dev_servers.forget(&info.id);
        // In the background: a worktree-removed hook never holds up or fails the delete.
        let _removed_hooks = self.start_removed_hooks(&info.id, &info.path).await;
        self.notify(Some(ActivityNotice::worktree(
            "worktree_removed",
            Severity::Info,
            &info.id,
            format!("Worktree {} removed", info.id),
        )));
        // Elsewhere (a forge's running pipelines): in the background, never holding or
        // failing the delete; outcomes are reported as activity.
        self.removal_follow_ups.start(
            crate::removal::RemovedWorktree {
                id: info.id.clone(),
                branch: info.branch.clone(),
            },
            Arc::clone(&self.events),
        );
        Ok(DeleteReport {
            worktree_id: info.id,
            removed_terminal_sessions,
            removed_running_process,
            cleared_links,
            delete_op_id,
        })
    }

    /// Repairs a worktree whose checkout went missing or broke.
    pub async fn recover_worktree(
        &self,
        id: &str,
        action: RecoverAction,
        branch: Option<&str>,
    ) -> Result<WorktreeInfo, WorktreeError> {
        if id.eq_ignore_ascii_case(ROOT_ID) {
            return Err(WorktreeError::RootImmutable {
                action: "recovered",
            });
        }
        // The request is checked like a new id; the path comes from the canonical name
        // it resolves to among the known ones.
        WorktreeId::parse(id)?;
        if let Some(b) = branch {
            validate_branch(b).map_err(|reason| WorktreeError::InvalidBranch { reason })?;
        }
        let known = self.engine.known_ids().await;
        let canonical = resolve_in(id, known.iter().map(String::as_str))?;
        let target = WorktreeId::listed(&canonical)?;
        let _guard = self.locks.lock(&canonical).await;
        if self
            .creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&canonical)
        {
            return Err(WorktreeError::Busy {
                id: canonical,
                what: "it is still being created".into(),
            });
        }
        self.engine
            .recover(&target, action, branch, &self.base_branch())
            .await?;
        self.notify(Some(ActivityNotice::worktree(
            "worktree_recovered",
            Severity::Success,
            &canonical,
            format!("Worktree {canonical} recovered"),
        )));
        self.worktree(&canonical).await
    }

    /// Starts the dev server of a worktree (`startCommand` in the worktree joined with
    /// `projectDir`, on the worktree's port offset). Starting a running one returns it.
    /// The main checkout (`root`) runs no dev server. Serialised with create, rename and
    /// delete of the same worktree.
    pub async fn start_worktree(
        &self,
        id: &str,
    ) -> Result<(String, DevServerRuntime), WorktreeError> {
        let resolved = self.resolve_mutable(id, "started").await?;
        let _guard = self.locks.lock(&resolved.id).await;
        // Re-read under the lock: a delete or rename may have finished meanwhile.
        let info = self.resolve_mutable(&resolved.id, "started").await?;
        let config = self.config.load()?.unwrap_or_default();
        let local = self.config.load_local()?;
        let runtime = self
            .dev_servers
            .start(StartRequest {
                worktree_id: info.id.clone(),
                cwd: info.path.join(&config.project_dir),
                command: config.start_command.clone(),
                known_ports: config.ports.discovered.clone(),
                offset_step: u32::from(config.ports.offset_step),
                env_mapping: config.env_mapping.clone(),
                use_native_hook: local.use_native_port_hook,
            })
            .await?;
        Ok((info.id, runtime))
    }

    /// Stops the dev server of a worktree; false when none was running.
    pub async fn stop_worktree(&self, id: &str) -> Result<(String, bool), WorktreeError> {
        let canonical = self.resolve(id).await?;
        let _guard = self.locks.lock(&canonical).await;
        let was_running = self.dev_servers.stop(&canonical).await;
        Ok((canonical, was_running))
    }

    /// Stops every dev server (server shutdown).
    pub async fn stop_all_dev_servers(&self) {
        self.dev_servers.stop_all().await;
    }

    /// Dev-server output lines of a worktree (empty when it never ran).
    pub async fn worktree_logs(&self, id: &str) -> Result<Vec<String>, WorktreeError> {
        let canonical = self.resolve(id).await?;
        Ok(self.dev_servers.logs(&canonical).unwrap_or_default())
    }
}

fn resolve_in<'a>(
    id: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<String, WorktreeError> {
    match resolve(id, known) {
        Resolution::Found(id) => Ok(id),
        Resolution::Ambiguous(matches) => Err(WorktreeError::Ambiguous {
            id: id.to_string(),
            matches,
        }),
        Resolution::Missing => Err(WorktreeError::NotFound { id: id.to_string() }),
    }
}

/// Re-lists the worktrees after every coalesced "worktrees changed" signal and broadcasts
/// the list when it differs from the last one broadcast; ends when the workbench is gone.
async fn publish_worktree_changes(backbone: Arc<Backbone>, workbench: std::sync::Weak<Workbench>) {
    let mut last: Option<Arc<Vec<WorktreeInfo>>> = None;
    loop {
        backbone.worktrees_changed().await;
        let Some(wb) = workbench.upgrade() else {
            return;
        };
        match wb.worktrees().await {
            // The same list (a signal that changed nothing clients see) is not sent again.
            Ok(list) if last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &list)) => {}
            Ok(list) => {
                last = Some(Arc::clone(&list));
                backbone.publish_worktrees(list);
            }
            Err(e) => tracing::warn!("could not list worktrees for the event stream: {e}"),
        }
    }
}
