//! The set of sessions, by id and by worktree.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use openkit_core::attention::{AgentSession, AttentionListener, HookEvent, is_agent_scope};

use crate::attention::{Listener, TICK};
use crate::holder::HolderClient;
use crate::holder::protocol::Request;
use crate::session::{Attachment, ScreenText, Session, SessionInfo};

/// Sizes are clamped to this range.
pub const MIN_SIZE: u16 = 1;
/// Largest accepted rows or columns.
pub const MAX_SIZE: u16 = 1000;

/// Clamps a terminal dimension into `1..=1000`.
pub fn clamp_size(value: u16) -> u16 {
    value.clamp(MIN_SIZE, MAX_SIZE)
}

/// How to start a session.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SpawnOptions {
    /// Working directory (the worktree).
    pub cwd: PathBuf,
    /// Columns (clamped).
    pub cols: u16,
    /// Rows (clamped).
    pub rows: u16,
    /// Run `$SHELL -lc <command>` instead of an interactive shell.
    pub startup_command: Option<String>,
    /// The shell; the caller passes `$SHELL` (fallback `/bin/sh`).
    pub shell: Option<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// The whole environment the shell starts from (the host environment the frontend
    /// was handed); `None` inherits this process's.
    pub base_env: Option<Vec<(std::ffi::OsString, std::ffi::OsString)>>,
    /// Start the shell under this supervisor (Linux), so that nothing it starts, not even
    /// a `setsid` grandchild, outlives the session (see `openkit_core::containment`).
    pub supervisor: Option<openkit_core::containment::Supervisor>,
}

/// How long a supervised session's processes get between `SIGHUP` (a session is ended by
/// hanging up its supervisor) and `SIGKILL`.
pub const SESSION_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// A failed terminal operation.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// No such session.
    #[error("Session not found")]
    SessionNotFound {
        /// The id asked for.
        id: String,
    },
    /// The PTY or the child could not be created.
    #[error("Could not start the terminal: {0}")]
    Spawn(String),
    /// Writing or resizing failed.
    #[error("Terminal I/O failed: {0}")]
    Io(String),
    /// An agent's state was reported for a session that is not an agent's.
    #[error("Session {id} is not an agent session")]
    NotAnAgent {
        /// The id asked for.
        id: String,
    },
}

impl openkit_core::DomainError for PtyError {
    fn kind(&self) -> openkit_core::ErrorKind {
        match self {
            PtyError::SessionNotFound { .. } => openkit_core::ErrorKind::NotFound,
            PtyError::Spawn(_) => openkit_core::ErrorKind::Unavailable,
            PtyError::Io(_) => openkit_core::ErrorKind::Internal,
            PtyError::NotAnAgent { .. } => openkit_core::ErrorKind::InvalidInput,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            PtyError::SessionNotFound { .. } => "SESSION_NOT_FOUND",
            PtyError::Spawn(_) => "TERMINAL_SPAWN_FAILED",
            PtyError::Io(_) => "TERMINAL_IO_FAILED",
            PtyError::NotAnAgent { .. } => "NOT_AN_AGENT_SESSION",
        }
    }
}

/// All terminal sessions of a server.
#[derive(Clone, Default)]
pub struct TerminalManager {
    sessions: Arc<Mutex<HashMap<String, Arc<Session>>>>,
    /// The last state of agent sessions that exited by themselves, by (worktree, scope),
    /// until the worktree's next session of that scope or its sessions are ended.
    exited_agents: Arc<Mutex<HashMap<(String, String), AgentSession>>>,
    listener: Listener,
    ticker: Arc<std::sync::OnceLock<()>>,
    /// Set once the holder's attention changes are subscribed to.
    subscribed: Arc<std::sync::OnceLock<()>>,
    /// Set when the sessions live in a holder process: every operation goes there.
    holder: Option<Arc<HolderClient>>,
}

impl std::fmt::Debug for TerminalManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalManager")
            .field("sessions", &self.len())
            .finish()
    }
}

impl TerminalManager {
    /// No sessions; sessions started live in this process.
    pub fn new() -> Self {
        TerminalManager::default()
    }

    /// Sessions that live in the holder `client` is connected to (see
    /// [`crate::holder`]): they outlive this process, and a later manager connected to
    /// the same holder finds them.
    pub fn with_holder(client: HolderClient) -> Self {
        TerminalManager {
            holder: Some(Arc::new(client)),
            ..TerminalManager::default()
        }
    }

    fn get_session(&self, id: &str) -> Result<Arc<Session>, PtyError> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| PtyError::SessionNotFound { id: id.to_string() })
    }

    /// Starts a session in `worktree_id`.
    pub fn spawn(
        &self,
        worktree_id: &str,
        scope: Option<String>,
        opts: SpawnOptions,
    ) -> Result<SessionInfo, PtyError> {
        if let Some(holder) = &self.holder {
            let (worktree_id, opts) = (worktree_id.to_string(), opts);
            return holder.call(&Request::Spawn {
                worktree_id,
                scope,
                opts,
            });
        }
        let (rows, cols) = (clamp_size(opts.rows), clamp_size(opts.cols));
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        let shell = opts
            .shell
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let shell_args: Vec<std::ffi::OsString> = match &opts.startup_command {
            Some(command) => vec!["-lc".into(), command.into()],
            None => Vec::new(),
        };
        let mut cmd = match &opts.supervisor {
            Some(sup) if cfg!(target_os = "linux") => {
                let mut cmd = CommandBuilder::new(sup.program());
                cmd.args(sup.args_for(SESSION_GRACE, shell.as_ref(), &shell_args));
                cmd
            }
            _ => {
                let mut cmd = CommandBuilder::new(&shell);
                cmd.args(&shell_args);
                cmd
            }
        };
        cmd.cwd(&opts.cwd);
        if let Some(base) = &opts.base_env {
            cmd.env_clear();
            for (k, v) in base {
                cmd.env(k, v);
            }
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        // Agents' hooks (`openkit __agent-hook`) tell the server which session they are.
        cmd.env("OPENKIT_TERMINAL_ID", &id);
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        drop(pair.slave);
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        let killer = child.clone_killer();
        let agent = scope
            .clone()
            .filter(|s| is_agent_scope(s) && opts.startup_command.is_some());
        let info = SessionInfo {
            id: id.clone(),
            worktree_id: worktree_id.to_string(),
            scope,
            startup_command: opts.startup_command.clone(),
            pid: child.process_id(),
            alive: true,
            exit_code: None,
            created_at: SystemTime::now(),
        };
        let mut session = Session::new(info.clone(), pair.master, writer, killer, rows, cols);
        if let Some(agent) = &agent {
            session = session.with_attention(agent);
            self.exited_agents
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(worktree_id.to_string(), agent.clone()));
            self.start_ticker();
        }
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Arc::clone(&session));
        let pump = Arc::clone(&session);
        let reader_thread = std::thread::Builder::new()
            .name(format!("pty-read-{}", &id[..8]))
            .spawn(move || pump.pump_output(reader))
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        let waiter = Arc::clone(&session);
        let sessions = Arc::clone(&self.sessions);
        let (exited_agents, listener) = (Arc::clone(&self.exited_agents), self.listener.clone());
        std::thread::Builder::new()
            .name(format!("pty-wait-{}", &id[..8]))
            .spawn(move || {
                let code = child.wait().map(|s| s.exit_code() as i32).unwrap_or(-1);
                // Let the reader deliver the last output first (it ends when every holder
                // of the terminal is gone; don't wait for background holders forever).
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
                while !reader_thread.is_finished() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                let ended = waiter.finish(code);
                let info = waiter.info();
                // Ended by itself (not by a kill, which removed it first): its agent's last
                // state stays visible and is announced.
                let by_itself = sessions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&info.id)
                    .is_some();
                if let (true, Some((change, view)), Some(scope)) = (by_itself, ended, info.scope) {
                    exited_agents
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert((info.worktree_id.clone(), scope), view.clone());
                    if let Some(change) = change {
                        listener.announce(&info.worktree_id, view, change);
                    }
                }
            })
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        Ok(info)
    }

    /// Sends every agent session's attention changes to `listener` (the workbench).
    /// A later listener replaces an earlier one (one subscription to a holder, however
    /// often this is called).
    pub fn on_attention(&self, listener: AttentionListener) {
        self.listener.set(listener);
        if let Some(holder) = &self.holder {
            let forward = self.listener.clone();
            self.subscribed.get_or_init(|| {
                let subscribed = holder.subscribe(Arc::new(move |change| forward.forward(change)));
                if let Err(e) = subscribed {
                    tracing::warn!(error = %e, "agent attention changes from the terminal holder are off");
                }
            });
        }
    }

    /// Re-reads quiet agent screens every [`TICK`], from the first agent session on,
    /// until the manager is gone.
    fn start_ticker(&self) {
        let sessions = Arc::downgrade(&self.sessions);
        let listener = self.listener.clone();
        self.ticker.get_or_init(move || {
            let tick = move || {
                while let Some(all) = sessions.upgrade() {
                    let agents: Vec<Arc<Session>> = all
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .values()
                        .filter(|s| s.is_agent())
                        .cloned()
                        .collect();
                    drop(all);
                    let now = std::time::Instant::now();
                    for session in agents {
                        if let Some((change, view)) = session.tick_attention(now) {
                            listener.announce(&session.info().worktree_id, view, change);
                        }
                    }
                    std::thread::sleep(TICK);
                }
            };
            if let Err(e) = std::thread::Builder::new()
                .name("pty-attention".into())
                .spawn(tick)
            {
                tracing::warn!(error = %e, "agent attention from the screen is off");
            }
        });
    }

    /// An agent's own hook reported `event` for session `id`: applied at once and
    /// announced when it changes the state. The session as it is now.
    pub fn report_hook(
        &self,
        id: &str,
        event: HookEvent,
        message: Option<String>,
    ) -> Result<AgentSession, PtyError> {
        if let Some(holder) = &self.holder {
            let (id, event) = (id.to_string(), event.as_str().to_string());
            return holder.call(&Request::ReportHook { id, event, message });
        }
        let session = self.get_session(id)?;
        let (change, view) = session
            .hook(event, message)
            .ok_or_else(|| PtyError::NotAnAgent { id: id.to_string() })?;
        if let Some(change) = change {
            self.listener
                .announce(&session.info().worktree_id, view.clone(), change);
        }
        Ok(view)
    }

    /// The agent sessions of every worktree, by worktree: live ones by start time, then
    /// the last state of each agent that exited by itself. One holder request for all.
    pub fn all_agent_sessions(&self) -> BTreeMap<String, Vec<AgentSession>> {
        if let Some(holder) = &self.holder {
            return holder.call(&Request::AgentSessions).unwrap_or_default();
        }
        let mut live: Vec<(String, SystemTime, AgentSession)> = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter_map(|s| {
                let info = s.info();
                s.agent_view()
                    .map(|v| (info.worktree_id, info.created_at, v))
            })
            .collect();
        live.sort_by(|a, b| (&a.0, a.1, &a.2.session_id).cmp(&(&b.0, b.1, &b.2.session_id)));
        let mut out: BTreeMap<String, Vec<AgentSession>> = BTreeMap::new();
        for (worktree, _, view) in live {
            out.entry(worktree).or_default().push(view);
        }
        // The map is ordered by (worktree, agent): exited agents follow, by agent.
        let exited = self.exited_agents.lock().unwrap_or_else(|e| e.into_inner());
        let mut gone: Vec<(&(String, String), &AgentSession)> = exited.iter().collect();
        gone.sort_by(|a, b| a.0.cmp(b.0));
        for ((worktree, _), view) in gone {
            out.entry(worktree.clone()).or_default().push(view.clone());
        }
        out
    }

    /// The agent sessions of one worktree (see [`TerminalManager::all_agent_sessions`]).
    pub fn agent_sessions(&self, worktree_id: &str) -> Vec<AgentSession> {
        self.all_agent_sessions()
            .remove(worktree_id)
            .unwrap_or_default()
    }

    /// A session's info.
    pub fn get(&self, id: &str) -> Result<SessionInfo, PtyError> {
        if let Some(holder) = &self.holder {
            return holder.call(&Request::Get { id: id.to_string() });
        }
        Ok(self.get_session(id)?.info())
    }

    /// The live session of `worktree_id` in `scope`.
    pub fn find_scoped(&self, worktree_id: &str, scope: &str) -> Option<SessionInfo> {
        self.list_for_worktree(worktree_id)
            .into_iter()
            .find(|s| s.scope.as_deref() == Some(scope) && s.alive)
    }

    /// Sessions of a worktree.
    pub fn list_for_worktree(&self, worktree_id: &str) -> Vec<SessionInfo> {
        if let Some(holder) = &self.holder {
            let worktree_id = Some(worktree_id.to_string());
            return holder
                .call(&Request::List { worktree_id })
                .unwrap_or_default();
        }
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .values()
            .map(|s| s.info())
            .filter(|i| i.worktree_id == worktree_id)
            .collect()
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        if let Some(holder) = &self.holder {
            return holder
                .call(&Request::List { worktree_id: None })
                .unwrap_or_default();
        }
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<SessionInfo> = sessions.values().map(|s| s.info()).collect();
        all.sort_by_key(|s| s.created_at);
        all
    }

    /// What session `id` shows now, as text (read-only: no client is attached).
    pub fn screen(&self, id: &str) -> Result<ScreenText, PtyError> {
        if let Some(holder) = &self.holder {
            return holder.call(&Request::Screen { id: id.to_string() });
        }
        Ok(self.get_session(id)?.screen())
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        if self.holder.is_some() {
            return self.list().len();
        }
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// True without sessions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends input.
    pub fn write(&self, id: &str, data: &[u8]) -> Result<(), PtyError> {
        if let Some(holder) = &self.holder {
            let (id, data) = (id.to_string(), data.to_vec());
            return holder.call(&Request::Write { id, data });
        }
        self.get_session(id)?
            .write(data)
            .map_err(|e| PtyError::Io(e.to_string()))
    }

    /// Resizes (clamped).
    pub fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), PtyError> {
        if let Some(holder) = &self.holder {
            let (id, cols, rows) = (id.to_string(), clamp_size(cols), clamp_size(rows));
            return holder.call(&Request::Resize { id, cols, rows });
        }
        self.get_session(id)?
            .resize(clamp_size(rows), clamp_size(cols))
            .map_err(PtyError::Io)
    }

    /// Attaches a client; `exclusive` detaches earlier clients (a newer socket replaces
    /// the older one).
    pub fn attach(&self, id: &str, exclusive: bool) -> Result<Attachment, PtyError> {
        if let Some(holder) = &self.holder {
            return holder.attach(id, exclusive);
        }
        Ok(self.get_session(id)?.attach(exclusive))
    }

    /// Ends a session: kills its child and removes it. False when it did not exist.
    pub fn kill(&self, id: &str) -> bool {
        if let Some(holder) = &self.holder {
            return holder
                .call(&Request::Kill { id: id.to_string() })
                .unwrap_or(false);
        }
        let session = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        match session {
            Some(s) => {
                s.kill();
                true
            }
            None => false,
        }
    }

    /// Ends every session of a worktree (and forgets its exited agents); returns how many.
    pub fn kill_worktree(&self, worktree_id: &str) -> usize {
        if let Some(holder) = &self.holder {
            let worktree_id = worktree_id.to_string();
            return holder
                .call(&Request::KillWorktree { worktree_id })
                .unwrap_or(0);
        }
        self.exited_agents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(wt, _), _| wt != worktree_id);
        let ids: Vec<String> = self
            .list_for_worktree(worktree_id)
            .into_iter()
            .map(|s| s.id)
            .collect();
        ids.iter().filter(|id| self.kill(id)).count()
    }

    /// The server is going away: every session it owns ends, unless they live in a
    /// holder, where they go on for the next server ([`TerminalManager::stop_sessions`]
    /// ends those).
    pub fn shutdown_all(&self) {
        if self.holder.is_some() {
            return;
        }
        let all: Vec<Arc<Session>> = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in all {
            s.kill();
        }
    }
}

impl TerminalManager {
    /// Ends every session, wherever it lives (a holder exits with its sessions).
    pub fn stop_sessions(&self) {
        match &self.holder {
            Some(holder) => {
                let _ = holder.call::<serde_json::Value>(&Request::Shutdown);
            }
            None => self.shutdown_all(),
        }
    }

    /// The holder the sessions live in, if any.
    pub fn holder(&self) -> Option<&HolderClient> {
        self.holder.as_deref()
    }
}

#[async_trait]
impl openkit_core::ports::Terminals for TerminalManager {
    async fn close_worktree_sessions(&self, worktree_id: &str) -> usize {
        self.kill_worktree(worktree_id)
    }

    fn active_session(&self, worktree_id: &str, scope: &str) -> Option<String> {
        self.find_scoped(worktree_id, scope).map(|s| s.id)
    }

    fn agent_sessions(&self) -> BTreeMap<String, Vec<AgentSession>> {
        self.all_agent_sessions()
    }

    fn session_pids(&self, worktree_id: &str) -> Vec<u32> {
        self.list_for_worktree(worktree_id)
            .into_iter()
            .filter(|s| s.alive)
            .filter_map(|s| s.pid)
            .collect()
    }

    async fn start_agent_session(
        &self,
        launch: openkit_core::ports::AgentLaunch,
    ) -> Result<openkit_core::ports::AgentSessionStarted, openkit_core::ports::TerminalsError> {
        use openkit_core::ports::{AgentSessionStarted, TerminalsError};
        let scope = launch.agent.command().to_string();
        // The scope rules of `POST /api/worktrees/:id/terminals` with a startup command:
        // an agent session is kept, a shell-only one replaced.
        if let Some(existing) = self.find_scoped(&launch.worktree_id, &scope) {
            if existing.startup_command.is_some() {
                return Ok(AgentSessionStarted {
                    session_id: existing.id,
                    reused: true,
                });
            }
            self.kill(&existing.id);
        }
        let opts = SpawnOptions {
            cwd: launch.cwd,
            cols: AGENT_COLS,
            rows: AGENT_ROWS,
            startup_command: Some(launch.command),
            shell: launch.shell,
            env: launch.env,
            base_env: Some(launch.base_env),
            supervisor: launch.supervisor,
        };
        let manager = self.clone();
        let worktree_id = launch.worktree_id;
        // Opening a PTY and spawning block: off the async workers.
        let info =
            tokio::task::spawn_blocking(move || manager.spawn(&worktree_id, Some(scope), opts))
                .await
                .map_err(|e| TerminalsError::Failed(e.to_string()))?
                .map_err(|e| TerminalsError::Failed(e.to_string()))?;
        Ok(AgentSessionStarted {
            session_id: info.id,
            reused: false,
        })
    }
}

/// Columns of an agent session started without a client (a client's resize fixes it).
pub const AGENT_COLS: u16 = 120;
/// Rows of an agent session started without a client.
pub const AGENT_ROWS: u16 = 32;
