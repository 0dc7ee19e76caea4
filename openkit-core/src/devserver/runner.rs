//! Running dev servers: one process group per worktree, with captured output, status
//! transitions and a clean stop.

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::Signal;
use tokio::sync::watch;

use super::env::{InheritedEnv, port_env};
use super::offsets::OffsetAllocator;
use super::run_group::{RUN_VAR, RunGroup};
use super::sockets::listening_ports;
use crate::containment::{RunRecord, RunRecords, Supervisor};
use crate::error::{DomainError, ErrorKind};
use crate::events::{ActivityNotice, EventSink, Severity, WorkbenchEvent};
use crate::host::HostEnv;
use crate::logs::now_iso;
use crate::ports::{DevServerRuntime, DevServers};
use crate::worktree::WorktreeStatus;

/// Output lines kept per worktree.
pub const LOG_LINES: usize = 1000;
/// Output reaches listeners (as a "worktrees changed" signal) at most this often.
pub const LOG_NOTIFY_INTERVAL: Duration = Duration::from_millis(500);
/// How long stop waits after SIGTERM before SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// Everything needed to start one dev server.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// Canonical worktree id.
    pub worktree_id: String,
    /// Directory to run in (worktree joined with `projectDir`).
    pub cwd: PathBuf,
    /// The command (`sh -c`).
    pub command: String,
    /// Discovered ports.
    pub known_ports: Vec<u16>,
    /// Offset step.
    pub offset_step: u32,
    /// envMapping templates.
    pub env_mapping: std::collections::BTreeMap<String, String>,
    /// Use the native `LD_PRELOAD` hook instead of the Node one.
    pub use_native_hook: bool,
}

/// A dev-server failure.
#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    /// No `startCommand` configured.
    #[error("No startCommand is configured; set one in .openkit/config.json (PATCH /api/config)")]
    NoStartCommand,
    /// Dev servers are not available in this build of the workbench.
    #[error("This workbench runs no dev servers")]
    Unavailable,
    /// The process could not start.
    #[error("Could not start `{command}`: {reason}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        reason: String,
    },
}

impl DomainError for DevServerError {
    fn kind(&self) -> ErrorKind {
        match self {
            DevServerError::NoStartCommand | DevServerError::Spawn { .. } => {
                ErrorKind::InvalidInput
            }
            DevServerError::Unavailable => ErrorKind::Unavailable,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            DevServerError::NoStartCommand => "NO_START_COMMAND",
            DevServerError::Unavailable => "DEV_SERVERS_UNAVAILABLE",
            DevServerError::Spawn { .. } => "START_FAILED",
        }
    }
}

struct Running {
    pid: u32,
    group: RunGroup,
    offset: u32,
    ports: Vec<u16>,
    status: Mutex<WorktreeStatus>,
    stopping: Mutex<bool>,
    exited: watch::Receiver<bool>,
}

type LogRing = Arc<Mutex<VecDeque<String>>>;

/// When output last reached listeners, and whether a trailing notice is scheduled.
#[derive(Clone, Copy)]
struct LogNotice {
    at: std::time::Instant,
    pending: bool,
}

/// Where the port hooks are (written out by the caller at start-up).
#[derive(Debug, Clone, Default)]
pub struct PortHooks {
    /// The Node `--require` hook file.
    pub node: Option<PathBuf>,
    /// The native `LD_PRELOAD` library, when available on this platform.
    pub native: Option<PathBuf>,
}

/// The default [`DevServers`]: real child processes, one process group each.
pub struct DevServerManager {
    me: std::sync::Weak<DevServerManager>,
    offsets: OffsetAllocator,
    running: Mutex<HashMap<String, Arc<Running>>>,
    logs: Mutex<HashMap<String, LogRing>>,
    activity: Mutex<HashMap<String, String>>,
    log_notified: Mutex<HashMap<String, LogNotice>>,
    /// Serialises starts, so two concurrent starts of one worktree run one process.
    start_lock: tokio::sync::Mutex<()>,
    events: Arc<dyn EventSink>,
    hooks: PortHooks,
    grace: Duration,
    host: HostEnv,
    containment: Containment,
}

/// How a dev-server run is held together (see [`crate::containment`]).
#[derive(Debug, Clone, Default)]
pub struct Containment {
    /// Start each run under this supervisor (Linux), so that nothing it starts, not even
    /// a `setsid` daemon with a scrubbed environment, outlives it.
    pub supervisor: Option<Supervisor>,
    /// Record each run here, and end the runs a crashed server left when the manager is
    /// created.
    pub records: Option<RunRecords>,
}

impl std::fmt::Debug for DevServerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevServerManager")
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl DevServerManager {
    /// A manager publishing to `events`, using `hooks`; dev servers get `host` as their
    /// environment (plus the port contract).
    pub fn new(events: Arc<dyn EventSink>, hooks: PortHooks, host: HostEnv) -> Arc<Self> {
        DevServerManager::with_grace(events, hooks, DEFAULT_GRACE, host)
    }

    /// Like [`DevServerManager::new`] with a custom stop grace period.
    pub fn with_grace(
        events: Arc<dyn EventSink>,
        hooks: PortHooks,
        grace: Duration,
        host: HostEnv,
    ) -> Arc<Self> {
        DevServerManager::contained(events, hooks, grace, host, Containment::default())
    }

    /// Like [`DevServerManager::with_grace`], holding every run together as `containment`
    /// says. With run records, the runs a previous server left alive are ended first (each
    /// reported as a `leftover_stopped` activity event).
    pub fn contained(
        events: Arc<dyn EventSink>,
        hooks: PortHooks,
        grace: Duration,
        host: HostEnv,
        containment: Containment,
    ) -> Arc<Self> {
        if let Some(records) = &containment.records {
            for left in records.reap_leftovers(grace) {
                events.publish(WorkbenchEvent::Activity(ActivityNotice::worktree(
                    "leftover_stopped",
                    Severity::Warning,
                    &left.worktree_id,
                    format!(
                        "Stopped the dev server of {} that a previous OpenKit server left running (pid {})",
                        left.worktree_id, left.pid
                    ),
                )));
            }
        }
        Arc::new_cyclic(|me| DevServerManager {
            me: me.clone(),
            offsets: OffsetAllocator::new(),
            running: Mutex::new(HashMap::new()),
            logs: Mutex::new(HashMap::new()),
            activity: Mutex::new(HashMap::new()),
            log_notified: Mutex::new(HashMap::new()),
            start_lock: tokio::sync::Mutex::new(()),
            events,
            hooks,
            grace,
            host,
            containment,
        })
    }

    fn log_ring(&self, id: &str) -> LogRing {
        Arc::clone(
            self.logs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(id.to_string())
                .or_default(),
        )
    }

    fn touch(&self, id: &str) {
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), now_iso());
    }

    fn changed(&self) {
        self.events.publish(WorkbenchEvent::WorktreesChanged);
    }

    /// New output: listeners hear of it at most every [`LOG_NOTIFY_INTERVAL`] per worktree,
    /// and output that arrives within an interval is announced once when it ends (so the
    /// last lines of a burst are never left unannounced).
    fn log_changed(self: &Arc<Self>, id: &str) {
        let now = std::time::Instant::now();
        let mut notices = self.log_notified.lock().unwrap_or_else(|e| e.into_inner());
        let wait = match notices.get_mut(id) {
            Some(n) if n.pending => return,
            Some(n) if now.duration_since(n.at) < LOG_NOTIFY_INTERVAL => {
                n.pending = true;
                LOG_NOTIFY_INTERVAL - now.duration_since(n.at)
            }
            _ => {
                notices.insert(
                    id.to_string(),
                    LogNotice {
                        at: now,
                        pending: false,
                    },
                );
                drop(notices);
                self.changed();
                return;
            }
        };
        drop(notices);
        let (this, id) = (Arc::downgrade(self), id.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let Some(this) = this.upgrade() else { return };
            if let Some(n) = this
                .log_notified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&id)
            {
                n.at = std::time::Instant::now();
                n.pending = false;
            }
            this.changed();
        });
    }

    /// Starts the dev server of a worktree and returns as soon as the process is spawned
    /// (status `starting`, or `running` when there are no known ports to wait for).
    /// Idempotent: the runtime of a server that is already running is returned as it is,
    /// and concurrent starts of one worktree spawn one process.
    pub async fn start_server(
        self: &Arc<Self>,
        req: StartRequest,
    ) -> Result<DevServerRuntime, DevServerError> {
        let _starting = self.start_lock.lock().await;
        if let Some(rt) = self.runtime(&req.worktree_id) {
            return Ok(rt);
        }
        if req.command.trim().is_empty() {
            return Err(DevServerError::NoStartCommand);
        }
        let offset = self.offsets.lease(&req.worktree_id, req.offset_step);
        let native = req
            .use_native_hook
            .then(|| self.hooks.native.clone())
            .flatten();
        // The child gets the host environment; the hooks extend these two values of it.
        let inherited_node_options = self.host.var_str("NODE_OPTIONS");
        let inherited_ld_preload = self.host.var_str("LD_PRELOAD");
        let env = port_env(
            offset,
            &req.known_ports,
            &req.env_mapping,
            self.hooks.node.as_deref(),
            native.as_deref(),
            InheritedEnv {
                node_options: inherited_node_options,
                ld_preload: inherited_ld_preload,
            },
        );
        let tag = RunGroup::new_tag();
        let shell_args = [OsString::from("-c"), OsString::from(&req.command)];
        let mut cmd = match &self.containment.supervisor {
            // The supervisor's own grace ends before ours, so it finishes its teardown
            // before a stop that runs out of patience kills it.
            Some(sup) if cfg!(target_os = "linux") => {
                let mut cmd = tokio::process::Command::new(sup.program());
                cmd.args(sup.args_for(self.grace * 3 / 4, OsStr::new("sh"), &shell_args));
                cmd
            }
            _ => {
                let mut cmd = tokio::process::Command::new("sh");
                cmd.args(&shell_args);
                cmd
            }
        };
        cmd.current_dir(&req.cwd)
            .env_clear()
            .envs(self.host.vars())
            .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(RUN_VAR, &tag)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.offsets.release(&req.worktree_id);
                return Err(DevServerError::Spawn {
                    command: req.command.clone(),
                    reason: e.to_string(),
                });
            }
        };
        // A pid of 0 would make every group signal below hit our own process group.
        let Some(group) = child.id().and_then(|pid| RunGroup::new(pid, tag)) else {
            let _ = child.start_kill();
            self.offsets.release(&req.worktree_id);
            return Err(DevServerError::Spawn {
                command: req.command.clone(),
                reason: "the process ended before it could be tracked".into(),
            });
        };
        let pid = group.pgid();
        if let Some(records) = &self.containment.records
            && let Some(record) = RunRecord::of(&req.worktree_id, pid)
            && let Err(e) = records.write(&record)
        {
            tracing::warn!(error = %e, "could not record the dev-server run");
        }
        let ports: Vec<u16> = req
            .known_ports
            .iter()
            .filter_map(|p| u16::try_from(u32::from(*p) + offset).ok())
            .collect();
        let (exited_tx, exited) = watch::channel(false);
        let status = if ports.is_empty() {
            WorktreeStatus::Running
        } else {
            WorktreeStatus::Starting
        };
        let running = Arc::new(Running {
            pid,
            group,
            offset,
            ports: ports.clone(),
            status: Mutex::new(status),
            stopping: Mutex::new(false),
            exited,
        });
        let ring = self.log_ring(&req.worktree_id);
        ring.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(req.worktree_id.clone(), Arc::clone(&running));
        self.touch(&req.worktree_id);
        self.changed();

        // Output, line by line, into the ring.
        let readers = {
            let (ring, this, id) = (Arc::clone(&ring), Arc::clone(self), req.worktree_id.clone());
            super::spawn_line_readers(&mut child, move |line| {
                {
                    let mut r = ring.lock().unwrap_or_else(|e| e.into_inner());
                    if r.len() == LOG_LINES {
                        r.pop_front();
                    }
                    r.push_back(line);
                }
                this.touch(&id);
                this.log_changed(&id);
            })
        };
        // Readiness: running once a known port listens in the process tree.
        if !ports.is_empty() {
            let (this, run) = (Arc::clone(self), Arc::clone(&running));
            tokio::spawn(async move {
                let mut exited = run.exited.clone();
                loop {
                    let listening = tokio::task::spawn_blocking(move || listening_ports(pid))
                        .await
                        .unwrap_or_default();
                    if listening.iter().any(|p| run.ports.contains(p)) {
                        *run.status.lock().unwrap_or_else(|e| e.into_inner()) =
                            WorktreeStatus::Running;
                        this.changed();
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = exited.wait_for(|e| *e) => return,
                    }
                    if *exited.borrow() {
                        return;
                    }
                }
            });
        }
        // Described before the exit task below can unregister a command that ends at once.
        let started = self.describe(&req.worktree_id, &running);
        // Exit: release everything, report a crash.
        let (this, id, command) = (
            Arc::clone(self),
            req.worktree_id.clone(),
            req.command.clone(),
        );
        tokio::spawn(async move {
            let status = child.wait().await;
            let code = status.as_ref().ok().and_then(|s| s.code());
            let stopped = *running.stopping.lock().unwrap_or_else(|e| e.into_inner());
            // Whatever the leader left behind (in its group or tagged) goes with it.
            running.group.send(Signal::SIGKILL).await;
            // Its last lines are in the ring before anyone is told it ended (the crash
            // report below quotes them).
            readers.drained(super::OUTPUT_DRAIN).await;
            // Unregister and give the offset back in one step under the `running` lock, so
            // a start that no longer sees this server also finds its offset free; only then
            // tell waiting stops that it is gone.
            {
                let mut all = this.running.lock().unwrap_or_else(|e| e.into_inner());
                if all.get(&id).is_some_and(|r| Arc::ptr_eq(r, &running)) {
                    all.remove(&id);
                    this.offsets.release(&id);
                }
            }
            if let Some(records) = &this.containment.records {
                records.remove(&id, pid);
            }
            let _ = exited_tx.send(true);
            this.touch(&id);
            if !stopped && code != Some(0) {
                let tail: Vec<String> = {
                    let r = ring.lock().unwrap_or_else(|e| e.into_inner());
                    r.iter().rev().take(20).rev().cloned().collect()
                };
                let how = code.map_or("was killed by a signal".to_string(), |c| {
                    format!("exited with code {c}")
                });
                this.events.publish(WorkbenchEvent::Activity(
                    ActivityNotice::worktree(
                        "crashed",
                        Severity::Error,
                        &id,
                        format!("Dev server of {id} {how}"),
                    )
                    .with_detail(format!("$ {command}\n{}", tail.join("\n"))),
                ));
            }
            this.changed();
        });
        Ok(started)
    }

    /// Stops every running dev server at once (each with its own grace period).
    async fn stop_every_server(&self) {
        let ids: Vec<String> = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        let Some(this) = self.me.upgrade() else {
            return;
        };
        let mut stops = tokio::task::JoinSet::new();
        for id in ids {
            let this = Arc::clone(&this);
            stops.spawn(async move { this.stop_server(&id).await });
        }
        while stops.join_next().await.is_some() {}
    }

    async fn stop_server(&self, id: &str) -> bool {
        let Some(run) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
        else {
            return false;
        };
        *run.stopping.lock().unwrap_or_else(|e| e.into_inner()) = true;
        run.group.send(Signal::SIGTERM).await;
        let mut exited = run.exited.clone();
        let _ = tokio::time::timeout(self.grace, exited.wait_for(|e| *e)).await;
        // The leader is gone or out of grace: everything left (daemons that ignored SIGTERM,
        // ones that left the group) is killed, and the stop returns once none of it is
        // alive (so its ports are free) and the run is unregistered.
        run.group.kill_and_wait(Duration::from_secs(5)).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), exited.wait_for(|e| *e)).await;
        true
    }

    /// What callers see of a running server.
    fn describe(&self, worktree_id: &str, run: &Running) -> DevServerRuntime {
        let status = *run.status.lock().unwrap_or_else(|e| e.into_inner());
        DevServerRuntime {
            status,
            ports: run.ports.clone(),
            offset: run.offset,
            pid: Some(run.pid),
            last_activity: self
                .activity
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(worktree_id)
                .cloned(),
        }
    }
}

#[async_trait]
impl DevServers for DevServerManager {
    fn runtime(&self, worktree_id: &str) -> Option<DevServerRuntime> {
        let run = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(worktree_id)
            .cloned()?;
        Some(self.describe(worktree_id, &run))
    }

    fn logs(&self, worktree_id: &str) -> Option<Vec<String>> {
        let ring = self
            .logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(worktree_id)
            .cloned()?;
        let lines = ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        Some(lines)
    }

    async fn start(&self, request: StartRequest) -> Result<DevServerRuntime, DevServerError> {
        let this = self.me.upgrade().ok_or(DevServerError::Unavailable)?;
        this.start_server(request).await
    }

    async fn stop(&self, worktree_id: &str) -> bool {
        self.stop_server(worktree_id).await
    }

    async fn stop_all(&self) {
        self.stop_every_server().await;
    }

    fn forget(&self, worktree_id: &str) {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(worktree_id);
        self.log_notified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(worktree_id);
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(worktree_id);
    }
}

/// A last line of defence: when the manager goes away (its runtime shut down without a
/// `stop_all`), every process group it still knows is killed, so no dev server outlives it.
impl Drop for DevServerManager {
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|e| e.into_inner());
        for run in running.values() {
            run.group.signal(Signal::SIGKILL);
        }
    }
}
