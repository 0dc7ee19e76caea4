//! What every handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use openkit_core::Workbench;
use openkit_core::backbone::Backbone;
use openkit_core::notes::NotesStore;
use openkit_core::perf::PerfMonitor;
use openkit_core::tasks::LocalTasks;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::security::SecurityPolicy;

/// Shared server state: the workbench, the event backbone, frontend settings.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) workbench: Arc<Workbench>,
    pub(crate) backbone: Arc<Backbone>,
    pub(crate) notes: Arc<NotesStore>,
    pub(crate) tasks: Arc<LocalTasks>,
    pub(crate) perf: PerfMonitor,
    pub(crate) terminals: openkit_pty::TerminalManager,
    pub(crate) shell: Option<String>,
    pub(crate) discover_cap: std::time::Duration,
    pub(crate) policy: Arc<SecurityPolicy>,
    pub(crate) search_path: Vec<PathBuf>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// State for `workbench` and its `backbone`, accepting requests as `policy` says.
    pub fn new(workbench: Arc<Workbench>, backbone: Arc<Backbone>, policy: SecurityPolicy) -> Self {
        let (_, shutdown) = watch::channel(false);
        let paths = workbench.paths().clone();
        AppState {
            inner: Arc::new(Inner {
                notes: Arc::new(NotesStore::new(paths.clone())),
                tasks: Arc::new(LocalTasks::new(paths)),
                perf: PerfMonitor::new(
                    Arc::new(crate::routes::perf::WorkbenchProcesses(Arc::downgrade(
                        &workbench,
                    ))),
                    openkit_core::perf::DEFAULT_INTERVAL,
                ),
                terminals: openkit_pty::TerminalManager::new(),
                shell: None,
                discover_cap: openkit_core::devserver::DEFAULT_CAP,
                workbench,
                backbone,
                policy: Arc::new(policy),
                search_path: Vec::new(),
                shutdown,
            }),
        }
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| Inner {
            workbench: Arc::clone(&arc.workbench),
            backbone: Arc::clone(&arc.backbone),
            notes: Arc::clone(&arc.notes),
            tasks: Arc::clone(&arc.tasks),
            perf: arc.perf.clone(),
            terminals: arc.terminals.clone(),
            shell: arc.shell.clone(),
            discover_cap: arc.discover_cap,
            policy: Arc::clone(&arc.policy),
            search_path: arc.search_path.clone(),
            shutdown: arc.shutdown.clone(),
        });
        change(&mut inner);
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// Directories searched for local apps (open targets); usually `$PATH`.
    pub fn with_search_path(self, search_path: Vec<PathBuf>) -> Self {
        self.rebuild(|i| i.search_path = search_path)
    }

    /// Long-lived responses (event streams) end when this turns `true`.
    pub fn with_shutdown(self, shutdown: watch::Receiver<bool>) -> Self {
        self.rebuild(|i| i.shutdown = shutdown)
    }

    /// The workbench.
    pub fn workbench(&self) -> &Arc<Workbench> {
        &self.inner.workbench
    }

    /// The event backbone.
    pub fn backbone(&self) -> &Arc<Backbone> {
        &self.inner.backbone
    }

    /// Per-issue notes.
    pub fn notes(&self) -> &Arc<NotesStore> {
        &self.inner.notes
    }

    /// Local tasks.
    pub fn tasks(&self) -> &Arc<LocalTasks> {
        &self.inner.tasks
    }

    /// Uses `terminals` for terminal sessions (give the workbench the same manager, so
    /// deleting a worktree ends its sessions).
    pub fn with_terminals(self, terminals: openkit_pty::TerminalManager) -> Self {
        self.rebuild(|i| i.terminals = terminals)
    }

    /// The shell terminals start (`$SHELL`; `/bin/sh` when unset).
    pub fn with_shell(self, shell: Option<String>) -> Self {
        self.rebuild(|i| i.shell = shell)
    }

    /// The longest port discovery may run.
    pub fn with_discover_cap(self, cap: std::time::Duration) -> Self {
        self.rebuild(|i| i.discover_cap = cap)
    }

    /// The terminal sessions.
    pub fn terminals(&self) -> &openkit_pty::TerminalManager {
        &self.inner.terminals
    }

    /// The performance monitor.
    pub fn perf(&self) -> &PerfMonitor {
        &self.inner.perf
    }

    /// A receiver that turns `true` when the server shuts down.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.clone()
    }

    /// Runs blocking log I/O on the blocking pool.
    pub async fn on_backbone<T, E>(
        &self,
        f: impl FnOnce(&Backbone) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Send + 'static,
        ApiError: From<E>,
    {
        let backbone = Arc::clone(&self.inner.backbone);
        match tokio::task::spawn_blocking(move || f(&backbone)).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                format!("log task failed: {join}"),
            )),
        }
    }
}
