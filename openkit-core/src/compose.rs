//! One composition: every service of a project wired together, each with a default that
//! can be swapped before [`Composition::build`].
//!
//! The server, the CLI and every test harness build their [`Workbench`] here, so there is
//! one place that says which implementation of each port a project runs with. The
//! defaults are registered in [`defaults`], one function per port, the way a reader wants
//! to find them; a caller swaps one with the matching builder method.
//!
//! ```no_run
//! use openkit_core::compose::Composition;
//! use openkit_core::{HostEnv, Paths};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let host = HostEnv::from_vars(std::env::vars_os()); // a frontend reads its environment
//! let paths = Paths::new("/path/to/repo", "/home/me/.openkit");
//! let workbench = Composition::new(paths, host).build()?;
//! let _background = workbench.start_background(); // live status + worktree events
//! for wt in workbench.list_worktrees().await? {
//!     println!("{} dirty={}", wt.id, wt.has_uncommitted);
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;

use crate::backbone::Backbone;
use crate::codehost::CodeHost;
use crate::codehost::gh::GhCli;
use crate::codehost::ops::CodeHostParts;
use crate::command::CommandRunner;
use crate::config::ConfigStore;
use crate::containment::{RunRecords, SUPERVISE_SUBCOMMAND, Supervisor};
use crate::events::{EventSink, WorkbenchEvent};
use crate::git::CommandObserver;
use crate::git::GitCli;
use crate::host::HostEnv;
use crate::issues::{IssueSource, IssueSources, LinkIndex, LocalIssues};
use crate::notes::NotesStore;
use crate::paths::Paths;
use crate::perf::{PerfMonitor, ProcessSource, TrackedWorktree};
use crate::ports::{DevServers, NoTerminals, Terminals};
use crate::status::StatusSettings;
use crate::tasks::LocalTasks;
use crate::workbench::{Services, Workbench};
use crate::worktree::{GitWorktrees, WorktreeEngine, WorktreeError};

/// The default implementation of each port, one function each.
pub mod defaults {
    use super::*;
    use crate::devserver::{self, DevServerManager, PortHooks};

    /// Git runs as the `git` CLI through a command runner over the host environment,
    /// recorded by `observer` (the backbone, so every command reaches the ops log).
    pub fn git(host: &HostEnv, observer: Arc<dyn CommandObserver>) -> GitCli {
        GitCli::with_runner(CommandRunner::new(host.clone()).with_observer(observer))
    }

    /// Worktrees are git's linked worktrees under `.openkit/worktrees/`, with the live
    /// status engine.
    pub fn engine(
        paths: &Paths,
        git: &GitCli,
        status: StatusSettings,
    ) -> Result<Arc<dyn WorktreeEngine>, WorktreeError> {
        Ok(Arc::new(GitWorktrees::with_status_settings(
            paths.clone(),
            git.clone(),
            status,
        )?))
    }

    /// The port hooks, written to `~/.openkit/cache` (a hook that cannot be written is
    /// left out, with a warning).
    pub fn port_hooks(paths: &Paths) -> PortHooks {
        let cache = paths.global_dir().join("cache");
        PortHooks {
            node: devserver::install_node_hook(&cache)
                .map_err(|e| tracing::warn!("the Node port hook is unavailable: {e}"))
                .ok(),
            native: devserver::install_native_hook(&cache),
        }
    }

    /// Dev servers are child process groups on non-clashing ports.
    /// Each run is recorded in `.openkit/runs/` (a crashed server's leftovers are ended
    /// at start) and, given a supervisor, started under it.
    pub fn dev_servers(
        events: Arc<dyn EventSink>,
        paths: &Paths,
        host: &HostEnv,
        grace: Duration,
        supervisor: Option<&Supervisor>,
    ) -> Arc<dyn DevServers> {
        let containment = devserver::Containment {
            supervisor: supervisor.cloned(),
            records: Some(RunRecords::new(paths.runs_dir())),
        };
        DevServerManager::contained(events, port_hooks(paths), grace, host.clone(), containment)
    }

    /// No terminals until a frontend plugs its PTY manager in.
    pub fn terminals() -> Arc<dyn Terminals> {
        Arc::new(NoTerminals)
    }

    /// The issue sources: local tasks (over `tasks`) registered as `local`; trackers
    /// register theirs ([`Composition::issue_source`]).
    pub fn issue_sources(paths: &Paths, tasks: &Arc<LocalTasks>) -> Arc<IssueSources> {
        let sources = Arc::new(IssueSources::new());
        sources.register(Arc::new(LocalIssues::new(
            Arc::clone(tasks),
            ConfigStore::new(paths.clone()),
        )));
        sources
    }
}

/// How the dev-server port is filled.
enum DevServersChoice {
    Default,
    Given(Arc<dyn DevServers>),
}

/// Everything needed to wire one project; see the module docs.
pub struct Composition {
    paths: Paths,
    host: HostEnv,
    events: Option<Arc<dyn EventSink>>,
    engine: Option<Arc<dyn WorktreeEngine>>,
    dev_servers: DevServersChoice,
    terminals: Arc<dyn Terminals>,
    status: StatusSettings,
    stop_grace: Duration,
    discover_cap: Duration,
    perf_interval: Duration,
    issue_sources: Vec<Arc<dyn IssueSource>>,
    program: Option<PathBuf>,
    code_host: Option<Arc<dyn CodeHost>>,
    pr_refresh: Duration,
}

impl Composition {
    /// The default services for the project at `paths`, with `host` as the environment
    /// of everything it runs.
    pub fn new(paths: Paths, host: HostEnv) -> Self {
        Composition {
            paths,
            host,
            events: None,
            engine: None,
            dev_servers: DevServersChoice::Default,
            terminals: defaults::terminals(),
            status: StatusSettings::default(),
            stop_grace: crate::devserver::DEFAULT_GRACE,
            discover_cap: crate::devserver::DEFAULT_CAP,
            perf_interval: crate::perf::DEFAULT_INTERVAL,
            issue_sources: Vec::new(),
            program: None,
            code_host: None,
            pr_refresh: crate::codehost::ops::DEFAULT_PR_REFRESH,
        }
    }

    /// The `openkit` executable, for what OpenKit starts that calls back into it: with it,
    /// every dev server and terminal runs under its supervisor (`__supervise`, see
    /// [`crate::containment`]; without one a run is held by its process group only), and
    /// agents are launched with hooks that report their state (`__agent-hook`, see
    /// [`crate::attention::launch`]).
    pub fn openkit_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Registers an issue source (a tracker adapter) next to local tasks; one with the
    /// name of a default replaces it.
    pub fn issue_source(mut self, source: Arc<dyn IssueSource>) -> Self {
        self.issue_sources.push(source);
        self
    }

    /// Plugs in a code host (the GitHub adapter); without one, GitHub operations answer
    /// `GITHUB_NOT_CONFIGURED` and no pull-request state is kept.
    pub fn code_host(mut self, host: Arc<dyn CodeHost>) -> Self {
        self.code_host = Some(host);
        self
    }

    /// How often the background task re-lists pull requests (default 60 s; it also runs
    /// on demand).
    pub fn pr_refresh_interval(mut self, interval: Duration) -> Self {
        self.pr_refresh = interval;
        self
    }

    /// Plugs in the terminal sessions (the frontend's PTY manager).
    pub fn terminals(mut self, terminals: Arc<dyn Terminals>) -> Self {
        self.terminals = terminals;
        self
    }

    /// Replaces the dev-server runner.
    pub fn dev_servers(mut self, dev_servers: Arc<dyn DevServers>) -> Self {
        self.dev_servers = DevServersChoice::Given(dev_servers);
        self
    }

    /// How long the default dev-server runner waits after SIGTERM before SIGKILL.
    pub fn dev_server_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// The longest port discovery may run.
    pub fn discover_cap(mut self, cap: Duration) -> Self {
        self.discover_cap = cap;
        self
    }

    /// Replaces the worktree engine.
    pub fn engine(mut self, engine: Arc<dyn WorktreeEngine>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Tunes the default engine's status engine.
    pub fn status_settings(mut self, settings: StatusSettings) -> Self {
        self.status = settings;
        self
    }

    /// Sends the workbench's and dev servers' events to `events` instead of the backbone
    /// (the backbone still records commands and serves the logs).
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = Some(events);
        self
    }

    /// The sampling interval of the performance monitor.
    pub fn perf_interval(mut self, interval: Duration) -> Self {
        self.perf_interval = interval;
        self
    }

    /// Wires everything. Opens the git repository unless an engine was given; writes
    /// nothing but what the backbone needs (`.openkit/.gitignore`, log retention).
    pub fn build(self) -> Result<Arc<Workbench>, WorktreeError> {
        let backbone = Backbone::new(self.paths.clone());
        let events = self
            .events
            .unwrap_or_else(|| Arc::clone(&backbone) as Arc<dyn EventSink>);
        let git = defaults::git(&self.host, Arc::clone(&backbone) as _);
        let engine = match self.engine {
            Some(engine) => engine,
            None => defaults::engine(&self.paths, &git, self.status)?,
        };
        let supervisor = self
            .program
            .as_ref()
            .filter(|_| cfg!(target_os = "linux"))
            .map(|p| Supervisor::new(p, vec![SUPERVISE_SUBCOMMAND.into()]));
        let dev_servers = match self.dev_servers {
            DevServersChoice::Default => defaults::dev_servers(
                Arc::clone(&events),
                &self.paths,
                &self.host,
                self.stop_grace,
                supervisor.as_ref(),
            ),
            DevServersChoice::Given(d) => d,
        };
        let links = Arc::new(LinkIndex::new(&self.paths));
        // A link or an issue status written through the stores changes the worktree list.
        let sink = Arc::clone(&events);
        links.on_change(move || sink.publish(WorkbenchEvent::WorktreesChanged));
        let tasks = Arc::new(LocalTasks::new(self.paths.clone()).with_index(Arc::clone(&links)));
        let issue_sources = defaults::issue_sources(&self.paths, &tasks);
        for source in self.issue_sources {
            issue_sources.register(source);
        }
        let notes = Arc::new(
            NotesStore::new(self.paths.clone())
                .with_sources(Arc::clone(&issue_sources))
                .with_index(links),
        );
        // Hook steps draw from budgets of their own, so long checks never hold up git.
        let hooks = Arc::new(crate::hooks::Hooks::new(
            &self.paths,
            git.runner().clone().with_limits(
                crate::hooks::runner::STEP_LIMIT,
                crate::command::DEFAULT_LONG_LIMIT,
            ),
            Arc::clone(&backbone),
            Arc::clone(&events),
        ));
        let perf_interval = self.perf_interval;
        let codehost = CodeHostParts::new(
            self.code_host,
            GhCli::new(git.runner().clone(), self.host.search_path()),
            self.pr_refresh,
        );
        Ok(Arc::new_cyclic(|me: &Weak<Workbench>| {
            let perf = PerfMonitor::new(Arc::new(WorkbenchProcesses(me.clone())), perf_interval);
            Workbench::from_services(Services {
                paths: self.paths,
                host: self.host,
                git,
                engine,
                dev_servers,
                terminals: self.terminals,
                events,
                backbone,
                perf,
                discover_cap: self.discover_cap,
                notes,
                tasks,
                issue_sources,
                supervisor,
                program: self.program,
                codehost,
                hooks,
            })
        }))
    }
}

/// The workbench's processes for the performance monitor: each worktree's running dev
/// server and the processes of its terminal sessions.
struct WorkbenchProcesses(Weak<Workbench>);

#[async_trait]
impl ProcessSource for WorkbenchProcesses {
    async fn tracked(&self) -> Vec<TrackedWorktree> {
        let Some(workbench) = self.0.upgrade() else {
            return Vec::new();
        };
        let terminals = workbench.terminals();
        workbench
            .list_worktrees()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|w| TrackedWorktree {
                agent_session_pids: terminals.session_pids(&w.id),
                dev_server_pid: w.pid,
                worktree_id: w.id,
            })
            .filter(|t| t.dev_server_pid.is_some() || !t.agent_session_pids.is_empty())
            .collect()
    }
}
