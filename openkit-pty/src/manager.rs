//! The set of sessions, by id and by worktree.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

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
#[derive(Debug, Clone, Default)]
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
}

impl openkit_core::DomainError for PtyError {
    fn kind(&self) -> openkit_core::ErrorKind {
        match self {
            PtyError::SessionNotFound { .. } => openkit_core::ErrorKind::NotFound,
            PtyError::Spawn(_) => openkit_core::ErrorKind::Unavailable,
            PtyError::Io(_) => openkit_core::ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            PtyError::SessionNotFound { .. } => "SESSION_NOT_FOUND",
            PtyError::Spawn(_) => "TERMINAL_SPAWN_FAILED",
            PtyError::Io(_) => "TERMINAL_IO_FAILED",
        }
    }
}

/// All terminal sessions of a server.
#[derive(Clone, Default)]
pub struct TerminalManager {
    sessions: Arc<Mutex<HashMap<String, Arc<Session>>>>,
}

impl std::fmt::Debug for TerminalManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalManager")
            .field("sessions", &self.len())
            .finish()
    }
}

impl TerminalManager {
    /// No sessions.
    pub fn new() -> Self {
        TerminalManager::default()
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
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
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
        let id = uuid::Uuid::new_v4().simple().to_string();
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
        let session = Session::new(info.clone(), pair.master, writer, killer, rows, cols);
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
                waiter.finish(code);
                let id = waiter.info().id;
                sessions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            })
            .map_err(|e| PtyError::Spawn(e.to_string()))?;
        Ok(info)
    }

    /// A session's info.
    pub fn get(&self, id: &str) -> Result<SessionInfo, PtyError> {
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
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .values()
            .map(|s| s.info())
            .filter(|i| i.worktree_id == worktree_id)
            .collect()
    }

    /// Every session, oldest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<SessionInfo> = sessions.values().map(|s| s.info()).collect();
        all.sort_by_key(|s| s.created_at);
        all
    }

    /// What session `id` shows now, as text (read-only: no client is attached).
    pub fn screen(&self, id: &str) -> Result<ScreenText, PtyError> {
        Ok(self.get_session(id)?.screen())
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
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
        self.get_session(id)?
            .write(data)
            .map_err(|e| PtyError::Io(e.to_string()))
    }

    /// Resizes (clamped).
    pub fn resize(&self, id: &str, cols: u16, rows: u16) -> Result<(), PtyError> {
        self.get_session(id)?
            .resize(clamp_size(rows), clamp_size(cols))
            .map_err(PtyError::Io)
    }

    /// Attaches a client; `exclusive` detaches earlier clients (a newer socket replaces
    /// the older one).
    pub fn attach(&self, id: &str, exclusive: bool) -> Result<Attachment, PtyError> {
        Ok(self.get_session(id)?.attach(exclusive))
    }

    /// Ends a session: kills its child and removes it. False when it did not exist.
    pub fn kill(&self, id: &str) -> bool {
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

    /// Ends every session of a worktree; returns how many.
    pub fn kill_worktree(&self, worktree_id: &str) -> usize {
        let ids: Vec<String> = self
            .list_for_worktree(worktree_id)
            .into_iter()
            .map(|s| s.id)
            .collect();
        ids.iter().filter(|id| self.kill(id)).count()
    }

    /// Ends every session (server shutdown).
    pub fn shutdown_all(&self) {
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

#[async_trait]
impl openkit_core::ports::Terminals for TerminalManager {
    async fn close_worktree_sessions(&self, worktree_id: &str) -> usize {
        self.kill_worktree(worktree_id)
    }

    fn active_session(&self, worktree_id: &str, scope: &str) -> Option<String> {
        self.find_scoped(worktree_id, scope).map(|s| s.id)
    }

    fn session_pids(&self, worktree_id: &str) -> Vec<u32> {
        self.list_for_worktree(worktree_id)
            .into_iter()
            .filter(|s| s.alive)
            .filter_map(|s| s.pid)
            .collect()
    }
}
