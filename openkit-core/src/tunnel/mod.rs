//! The ngrok tunnel in front of the gateway listener (never the API port).
//!
//! Contract with ngrok: the program is the one the frontend names (`OPENKIT_NGROK_BIN`)
//! or `ngrok` on the host's `PATH`, started as
//! `ngrok http <gatewayPort> --log stdout --log-format json` with the host environment
//! minus credentials, plus `NGROK_AUTHTOKEN` when one is configured. Each stdout line is
//! a JSON object; the public URL is the `url` field of the line whose `msg` is
//! `started tunnel`, and a line of level `eror`/`crit` is remembered as the error.
//!
//! The process runs in its own process group, under the workbench's supervisor when
//! there is one (so whatever it starts ends with it, even if the server dies), and is
//! stopped with `SIGTERM` to its group, then `SIGKILL` after a grace period. An exit
//! nobody asked for is reported in [`TunnelStatus`] with its error.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncBufReadExt as _;
use tokio::sync::watch;

use crate::command::env as child_env;
use crate::containment::Supervisor;
use crate::error::{DomainError, ErrorKind};
use crate::host::HostEnv;

/// The variable ngrok reads its authtoken from.
pub const AUTHTOKEN_VAR: &str = "NGROK_AUTHTOKEN";

/// How the tunnel is started.
#[derive(Clone, Default)]
pub struct TunnelSettings {
    /// The ngrok program; `None`: `ngrok` on the host's `PATH`.
    pub program: Option<PathBuf>,
    /// The authtoken handed to ngrok (`NGROK_AUTHTOKEN`); `None`: ngrok's own config.
    pub authtoken: Option<String>,
    /// How long a start may take to report its URL (default 20 s).
    pub start_timeout: Option<Duration>,
}

impl std::fmt::Debug for TunnelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelSettings")
            .field("program", &self.program)
            .field("authtoken", &self.authtoken.as_ref().map(|_| "<set>"))
            .field("start_timeout", &self.start_timeout)
            .finish()
    }
}

/// The tunnel's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelState {
    /// No process.
    Stopped,
    /// Started, no public URL yet.
    Starting,
    /// Serving its public URL.
    Running,
    /// The process failed to start or ended by itself.
    Error,
}

impl TunnelState {
    /// The word clients see (`stopped`, `starting`, `running`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelState::Stopped => "stopped",
            TunnelState::Starting => "starting",
            TunnelState::Running => "running",
            TunnelState::Error => "error",
        }
    }
}

/// What the tunnel is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelStatus {
    /// True while a process runs (starting or running).
    pub enabled: bool,
    /// The state.
    pub state: TunnelState,
    /// The public URL while running.
    pub public_url: Option<String>,
    /// The local port the tunnel forwards to (the gateway's).
    pub local_port: Option<u16>,
    /// When the public URL came up.
    pub started_at: Option<DateTime<Utc>>,
    /// Why it failed or ended.
    pub error: Option<String>,
}

impl TunnelStatus {
    fn stopped() -> Self {
        TunnelStatus {
            enabled: false,
            state: TunnelState::Stopped,
            public_url: None,
            local_port: None,
            started_at: None,
            error: None,
        }
    }
}

/// The tunnel could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// No ngrok program.
    #[error("ngrok was not found ({0}); install it or set OPENKIT_NGROK_BIN")]
    NotFound(String),
    /// No gateway listener to point it at.
    #[error("the gateway listener is not running, so there is nothing to tunnel to")]
    NoGateway,
    /// The process could not be spawned.
    #[error("could not start ngrok: {0}")]
    Spawn(String),
    /// It ended before reporting a URL.
    #[error("ngrok exited before its tunnel started: {0}")]
    Exited(String),
    /// It reported no URL in time.
    #[error("ngrok reported no public URL within {0} s")]
    Timeout(u64),
}

impl DomainError for TunnelError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }

    /// The reference's code for every start failure.
    fn code(&self) -> &'static str {
        "ngrok_start_failed"
    }
}

/// The process of the current run.
struct Run {
    pgid: i32,
    generation: u64,
    exited: watch::Receiver<bool>,
}

struct Shared {
    status: TunnelStatus,
    run: Option<Run>,
    generation: u64,
}

/// The ngrok process manager.
pub struct Tunnel {
    settings: TunnelSettings,
    host: HostEnv,
    supervisor: Option<Supervisor>,
    cwd: PathBuf,
    grace: Duration,
    ops: tokio::sync::Mutex<()>,
    shared: Arc<Mutex<Shared>>,
    changed: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("settings", &self.settings)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// A stopped tunnel whose process gets `host` (scrubbed) and runs in `cwd`, under
    /// `supervisor` when given.
    pub fn new(
        settings: TunnelSettings,
        host: HostEnv,
        supervisor: Option<Supervisor>,
        cwd: PathBuf,
    ) -> Self {
        Tunnel {
            settings,
            host,
            supervisor,
            cwd,
            grace: Duration::from_secs(3),
            ops: tokio::sync::Mutex::new(()),
            shared: Arc::new(Mutex::new(Shared {
                status: TunnelStatus::stopped(),
                run: None,
                generation: 0,
            })),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the tunnel is doing now.
    pub fn status(&self) -> TunnelStatus {
        self.lock().status.clone()
    }

    /// The program that would be started.
    fn program(&self) -> Result<PathBuf, TunnelError> {
        if let Some(program) = &self.settings.program {
            return if program.is_file() {
                Ok(program.clone())
            } else {
                Err(TunnelError::NotFound(format!(
                    "{} does not exist",
                    program.display()
                )))
            };
        }
        self.host
            .search_path()
            .into_iter()
            .map(|dir| dir.join("ngrok"))
            .find(|p| is_executable(p))
            .ok_or_else(|| TunnelError::NotFound("not on PATH".to_string()))
    }

    /// Starts ngrok towards `port`, or keeps the running tunnel when it already points
    /// there and `regenerate` is false (a restart mints a new public URL). Waits until
    /// the public URL is known.
    pub async fn enable(&self, port: u16, regenerate: bool) -> Result<TunnelStatus, TunnelError> {
        let _op = self.ops.lock().await;
        {
            let shared = self.lock();
            let alive = shared.run.as_ref().is_some_and(|r| !*r.exited.borrow());
            if alive
                && !regenerate
                && shared.status.state == TunnelState::Running
                && shared.status.local_port == Some(port)
            {
                return Ok(shared.status.clone());
            }
        }
        self.stop_run().await;
        let result = self.start(port).await;
        if let Err(e) = &result {
            self.stop_run().await;
            let mut shared = self.lock();
            shared.status = TunnelStatus {
                state: TunnelState::Error,
                error: Some(e.to_string()),
                ..TunnelStatus::stopped()
            };
        }
        result
    }

    /// Stops the tunnel and everything it started.
    pub async fn disable(&self) -> TunnelStatus {
        let _op = self.ops.lock().await;
        self.stop_run().await;
        let mut shared = self.lock();
        shared.status = TunnelStatus::stopped();
        shared.status.clone()
    }

    async fn start(&self, port: u16) -> Result<TunnelStatus, TunnelError> {
        let program = self.program()?;
        let args: Vec<OsString> = [
            "http",
            &port.to_string(),
            "--log",
            "stdout",
            "--log-format",
            "json",
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        let mut cmd = match &self.supervisor {
            Some(sup) if cfg!(target_os = "linux") => {
                let mut cmd = tokio::process::Command::new(sup.program());
                cmd.args(sup.args_for(self.grace * 3 / 4, program.as_os_str(), &args));
                cmd
            }
            _ => {
                let mut cmd = tokio::process::Command::new(&program);
                cmd.args(&args);
                cmd
            }
        };
        cmd.current_dir(&self.cwd)
            .env_clear()
            .envs(
                self.host
                    .vars()
                    .filter(|(name, _)| child_env::passes(name, &[])),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(token) = &self.settings.authtoken {
            cmd.env(AUTHTOKEN_VAR, token);
        }
        let mut child = cmd.spawn().map_err(|e| TunnelError::Spawn(e.to_string()))?;
        let Some(pgid) = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .filter(|p| *p > 0)
        else {
            let _ = child.start_kill();
            return Err(TunnelError::Spawn("the process ended at once".into()));
        };
        let (exited_tx, exited) = watch::channel(false);
        let generation = {
            let mut shared = self.lock();
            shared.generation += 1;
            let generation = shared.generation;
            shared.run = Some(Run {
                pgid,
                generation,
                exited,
            });
            shared.status = TunnelStatus {
                enabled: true,
                state: TunnelState::Starting,
                local_port: Some(port),
                ..TunnelStatus::stopped()
            };
            generation
        };
        let last_error = Arc::new(Mutex::new(None::<String>));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let (shared, changed, last_error) = (
                Arc::clone(&self.shared),
                Arc::clone(&self.changed),
                Arc::clone(&last_error),
            );
            readers.push(tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match parse_log_line(&line) {
                        LogLine::Started(url) => {
                            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                            if s.generation == generation && s.status.state == TunnelState::Starting
                            {
                                s.status.state = TunnelState::Running;
                                s.status.public_url = Some(url);
                                s.status.started_at = Some(Utc::now());
                                drop(s);
                                changed.send_modify(|n| *n += 1);
                            }
                        }
                        LogLine::Error(message) => {
                            *last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                        }
                        LogLine::Other => {}
                    }
                }
            }));
        }
        if let Some(stderr) = child.stderr.take() {
            let last_error = Arc::clone(&last_error);
            readers.push(tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let line = line.trim();
                    if !line.is_empty() {
                        let message = match parse_log_line(line) {
                            LogLine::Error(message) => message,
                            _ => line.chars().take(500).collect(),
                        };
                        *last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                    }
                }
            }));
        }
        // The waiter: an exit nobody asked for becomes the status's error.
        {
            let (shared, changed) = (Arc::clone(&self.shared), Arc::clone(&self.changed));
            tokio::spawn(async move {
                let status = child.wait().await;
                for reader in readers {
                    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
                }
                let _ = exited_tx.send(true);
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                let current = s.run.as_ref().is_some_and(|r| r.generation == generation);
                if current {
                    let how = match status {
                        Ok(status) => status.to_string(),
                        Err(e) => e.to_string(),
                    };
                    let detail = last_error.lock().unwrap_or_else(|e| e.into_inner()).take();
                    s.run = None;
                    s.status = TunnelStatus {
                        state: TunnelState::Error,
                        local_port: s.status.local_port,
                        error: Some(match detail {
                            Some(detail) => format!("ngrok exited ({how}): {detail}"),
                            None => format!("ngrok exited ({how})"),
                        }),
                        ..TunnelStatus::stopped()
                    };
                }
                drop(s);
                changed.send_modify(|n| *n += 1);
            });
        }
        let timeout = self
            .settings
            .start_timeout
            .unwrap_or(Duration::from_secs(20));
        let mut changes = self.changed.subscribe();
        let wait = async {
            loop {
                {
                    let shared = self.lock();
                    match shared.status.state {
                        TunnelState::Running if shared.generation == generation => {
                            return Ok(shared.status.clone());
                        }
                        TunnelState::Error => {
                            return Err(TunnelError::Exited(
                                shared.status.error.clone().unwrap_or_default(),
                            ));
                        }
                        _ => {}
                    }
                }
                if changes.changed().await.is_err() {
                    return Err(TunnelError::Exited("the tunnel was dropped".into()));
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(TunnelError::Timeout(timeout.as_secs())),
        }
    }

    /// Ends the current process group, if any: `SIGTERM`, then `SIGKILL` after the grace.
    async fn stop_run(&self) {
        let run = self.lock().run.take();
        let Some(mut run) = run else {
            return;
        };
        let group = Pid::from_raw(run.pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let ended = tokio::time::timeout(self.grace, run.exited.wait_for(|e| *e))
            .await
            .is_ok();
        if !ended {
            let _ = killpg(group, Signal::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(2), run.exited.wait_for(|e| *e)).await;
        }
        // Whatever of the group is left (a child that outlived its parent) goes too.
        let _ = killpg(group, Signal::SIGKILL);
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        if let Some(run) = self.lock().run.take() {
            let _ = killpg(Pid::from_raw(run.pgid), Signal::SIGTERM);
        }
    }
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What one line of ngrok's JSON log says.
#[derive(Debug, PartialEq, Eq)]
enum LogLine {
    /// `msg: "started tunnel"` with an `http(s)://` `url`.
    Started(String),
    /// A line of level `eror` or `crit`: its `err` (or `msg`).
    Error(String),
    /// Anything else, including lines that are not JSON.
    Other,
}

fn parse_log_line(line: &str) -> LogLine {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) else {
        return LogLine::Other;
    };
    let text = |key: &str| object.get(key).and_then(serde_json::Value::as_str);
    if text("msg") == Some("started tunnel")
        && let Some(url) = text("url")
        && is_public_url(url)
    {
        return LogLine::Started(url.trim_end_matches('/').to_string());
    }
    if matches!(text("lvl"), Some("eror" | "crit" | "error")) {
        let message = text("err")
            .filter(|e| !e.is_empty() && *e != "<nil>")
            .or_else(|| text("msg"))
            .unwrap_or("error");
        return LogLine::Error(message.chars().take(500).collect());
    }
    LogLine::Other
}

/// An `http(s)://host[:port]` URL without user info, path, query or odd characters: what
/// a pairing link is built on.
fn is_public_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.trim_end_matches('/');
    !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

#[cfg(test)]
mod tests;
