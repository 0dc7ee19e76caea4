//! The façade that owns every service of one project and orchestrates them.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::ConfigStore;
use crate::devserver::StartRequest;
use crate::error::{DomainError, ErrorKind};
use crate::events::{ActivityNotice, EventSink, NoEvents, Severity, WorkbenchEvent};
use crate::git::GitCli;
use crate::links;
use crate::paths::Paths;
use crate::ports::{DevServerRuntime, DevServers, NoDevServers, NoTerminals, Terminals};
use crate::provision;
use crate::worktree::{
    GitWorktrees, ROOT_ID, RecoverAction, Resolution, WorktreeEngine, WorktreeError, WorktreeInfo,
    WorktreeStatus, default_id_for_branch, resolve, validate_branch, validate_id,
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

/// Builds a [`Workbench`], swapping any port.
pub struct WorkbenchBuilder {
    paths: Paths,
    git: GitCli,
    engine: Option<Arc<dyn WorktreeEngine>>,
    dev_servers: Arc<dyn DevServers>,
    terminals: Arc<dyn Terminals>,
    events: Arc<dyn EventSink>,
}

impl WorkbenchBuilder {
    /// Uses `git` for every git command (e.g. with an observer, or a hermetic env).
    pub fn git(mut self, git: GitCli) -> Self {
        self.git = git;
        self
    }

    /// Replaces the git worktree engine.
    pub fn engine(mut self, engine: Arc<dyn WorktreeEngine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Sets the dev-server runner.
    pub fn dev_servers(mut self, dev_servers: Arc<dyn DevServers>) -> Self {
        self.dev_servers = dev_servers;
        self
    }

    /// Sets the terminal manager.
    pub fn terminals(mut self, terminals: Arc<dyn Terminals>) -> Self {
        self.terminals = terminals;
        self
    }

    /// Sets where events go.
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Builds the workbench; opens the git repository unless an engine was given.
    pub fn build(self) -> Result<Workbench, WorktreeError> {
        let engine = match self.engine {
            Some(engine) => engine,
            None => Arc::new(GitWorktrees::open(self.paths.clone(), self.git.clone())?),
        };
        Ok(Workbench {
            config: ConfigStore::new(self.paths.clone()),
            paths: self.paths,
            git: self.git,
            engine,
            dev_servers: self.dev_servers,
            terminals: self.terminals,
            events: self.events,
            creating: Mutex::new(BTreeMap::new()),
            locks: KeyedLocks::default(),
        })
    }
}

/// Every service of one project, wired together.
pub struct Workbench {
    paths: Paths,
    config: ConfigStore,
    git: GitCli,
    engine: Arc<dyn WorktreeEngine>,
    dev_servers: Arc<dyn DevServers>,
    terminals: Arc<dyn Terminals>,
    events: Arc<dyn EventSink>,
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
    /// Starts building a workbench for the project at `paths`.
    pub fn builder(paths: Paths) -> WorkbenchBuilder {
        WorkbenchBuilder {
            paths,
            git: GitCli::new(),
            engine: None,
            dev_servers: Arc::new(NoDevServers),
            terminals: Arc::new(NoTerminals),
            events: Arc::new(NoEvents),
        }
    }

    /// A workbench with the default git engine and no dev servers, terminals or events.
    pub fn open(paths: Paths) -> Result<Self, WorktreeError> {
        Workbench::builder(paths).build()
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

    fn base_branch(&self) -> String {
        self.config
            .load()
            .ok()
            .flatten()
            .map(|c| c.base_branch)
            .unwrap_or_else(|| "main".into())
    }

    fn notify(&self, notice: Option<ActivityNotice>) {
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
        let mut out: Vec<WorktreeInfo> = records
            .iter()
            .map(|record| {
                let mut info = WorktreeInfo::from_record(record);
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
                out.push(info);
            }
        }
        out[1..].sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Resolves `id` to a canonical worktree id: exact, then unique case-insensitive.
    pub async fn resolve(&self, id: &str) -> Result<String, WorktreeError> {
        let list = self.list_worktrees().await?;
        resolve_in(id, list.iter().map(|w| w.id.as_str()))
    }

    /// One worktree by (case-insensitive) id.
    pub async fn worktree(&self, id: &str) -> Result<WorktreeInfo, WorktreeError> {
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
            Some(id) if !id.is_empty() => id.to_string(),
            _ => default_id_for_branch(&branch),
        };
        validate_id(&id).map_err(|reason| WorktreeError::InvalidId { reason })?;
        let config = self.config.load()?.unwrap_or_default();

        let guard = self.locks.lock(&id).await;
        let existing = self.list_worktrees().await?;
        if let Some(other) = existing.iter().find(|w| w.id.eq_ignore_ascii_case(&id)) {
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
            return Err(WorktreeError::Exists { id });
        }
        self.creating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.clone(),
                Creating {
                    branch: branch.clone(),
                    path: path.clone(),
                },
            );
        self.notify(Some(ActivityNotice::worktree(
            "creation_started",
            Severity::Info,
            &id,
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
                    .remove(&id);
                if self.paths.worktree_dir(&id).exists() {
                    let _ = self.engine.remove(&id).await;
                }
                self.notify(Some(
                    ActivityNotice::worktree(
                        "creation_failed",
                        Severity::Error,
                        &id,
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
            self.finish_creation(&id, None).await;
            return Ok(Created {
                worktree: self.worktree(&id).await?,
                settled: None,
            });
        }
        let worktree = self.worktree(&id).await?;
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
                    this.finish_creation(&id, None).await;
                    Ok(())
                }
                Err(reason) => {
                    let _guard = this.locks.lock(&id).await;
                    let _ = this.engine.remove(&id).await;
                    if outcome.created_branch {
                        let _ = this
                            .engine
                            .discard_branch_if_empty(&branch, &config.base_branch)
                            .await;
                    }
                    this.finish_creation(&id, Some(&reason)).await;
                    Err(WorktreeError::CreateFailed { id, reason })
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
        if let Some(n) = new_id {
            validate_id(n).map_err(|reason| WorktreeError::InvalidId { reason })?;
        }
        if let Some(b) = new_branch {
            validate_branch(b).map_err(|reason| WorktreeError::InvalidBranch { reason })?;
        }
        let info = self.resolve_mutable(id, "renamed").await?;
        let _guard = self.locks.lock(&info.id).await;
        let _new_guard = match new_id {
            Some(n) if !n.eq_ignore_ascii_case(&info.id) => Some(self.locks.lock(n).await),
            _ => None,
        };
        if self.dev_servers.runtime(&info.id).is_some() {
            return Err(WorktreeError::Busy {
                id: info.id,
                what: "its dev server is running; stop it first".into(),
            });
        }
        if let Some(n) = new_id {
            let list = self.list_worktrees().await?;
            if let Some(other) = list
                .iter()
                .find(|w| w.id != info.id && w.id.eq_ignore_ascii_case(n))
            {
                return Err(WorktreeError::Exists {
                    id: other.id.clone(),
                });
            }
        }
        self.engine.rename(&info.id, new_id, new_branch).await?;
        let final_id = new_id.unwrap_or(&info.id).to_string();
        if final_id != info.id {
            links::relink_worktree(&self.paths, &info.id, Some(&final_id))?;
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
        // Ids resolve only against directory names found on disk, so a malformed id can
        // never reach the file system; it is reported as invalid rather than missing. A
        // worktree added behind OpenKit's back under a name outside the id alphabet can
        // still be deleted by that name.
        let info = match self.resolve_mutable(id, "deleted").await {
            Err(WorktreeError::NotFound { .. }) if validate_id(id).is_err() => {
                let reason = validate_id(id).err().unwrap_or_default();
                return Err(fail(WorktreeError::InvalidId { reason }));
            }
            other => other.map_err(fail)?,
        };
        let _guard = self.locks.lock(&info.id).await;
        let removed_running_process = self.dev_servers.stop(&info.id).await;
        let removed_terminal_sessions = self.terminals.close_worktree_sessions(&info.id).await;
        self.engine.remove(&info.id).await.map_err(fail)?;
        let cleared_links =
            links::relink_worktree(&self.paths, &info.id, None).map_err(|e| fail(e.into()))?;
        links::move_worktree_settings(&self.paths, &info.id, None).map_err(|e| fail(e.into()))?;
        self.dev_servers.forget(&info.id);
        self.notify(Some(ActivityNotice::worktree(
            "worktree_removed",
            Severity::Info,
            &info.id,
            format!("Worktree {} removed", info.id),
        )));
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
        validate_id(id).map_err(|reason| WorktreeError::InvalidId { reason })?;
        if let Some(b) = branch {
            validate_branch(b).map_err(|reason| WorktreeError::InvalidBranch { reason })?;
        }
        let known = self.engine.known_ids().await;
        let canonical = resolve_in(id, known.iter().map(String::as_str))?;
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
            .recover(&canonical, action, branch, &self.base_branch())
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
