//! The holder process: owns the PTYs of one project and serves its server over a Unix
//! socket (see [`super`]).

use std::io::{self, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openkit_core::attention::HookEvent;
use serde_json::{Value, json};

use super::protocol::{self, Answer, Hello, Request, WireError};
use crate::manager::{PtyError, TerminalManager};

/// How the holder runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderOptions {
    /// Where it listens.
    pub socket: PathBuf,
    /// The project it serves (a server of another project is refused).
    pub project: String,
    /// With no server connected for this long, it ends its sessions and exits.
    pub idle: Duration,
}

impl HolderOptions {
    /// The holder's command-line arguments (after its subcommand).
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--socket".into(),
            self.socket.clone().into_os_string(),
            "--project".into(),
            self.project.clone().into(),
            "--idle-secs".into(),
            self.idle.as_secs().to_string().into(),
        ]
    }

    /// Parses what [`HolderOptions::to_args`] wrote.
    pub fn from_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Self, String> {
        let (mut socket, mut project, mut idle) = (None, None, None);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .ok_or_else(|| format!("{} needs a value", flag.to_string_lossy()))?;
            match flag.to_str() {
                Some("--socket") => socket = Some(PathBuf::from(value)),
                Some("--project") => project = Some(value.to_string_lossy().into_owned()),
                Some("--idle-secs") => {
                    let secs = value
                        .to_str()
                        .and_then(|v| v.parse().ok())
                        .ok_or("--idle-secs needs a number of seconds")?;
                    idle = Some(Duration::from_secs(secs));
                }
                _ => return Err(format!("unexpected argument {}", flag.to_string_lossy())),
            }
        }
        Ok(HolderOptions {
            socket: socket.ok_or("--socket is required")?,
            project: project.ok_or("--project is required")?,
            idle: idle.unwrap_or(Duration::from_secs(3600)),
        })
    }
}

struct Holder {
    terminals: TerminalManager,
    project: String,
    socket: PathBuf,
    /// Connections subscribed to attention changes (the servers).
    subscribers: Mutex<Vec<UnixStream>>,
    /// When a server was last connected.
    last_server: Mutex<Instant>,
}

/// Runs the holder until it is told to stop or idles out. Call it first thing in a
/// process of its own (`openkit __terminal-holder`); it starts a new session, so the
/// terminal and signals of the server that started it are not its own.
pub fn serve(opts: HolderOptions) -> io::Result<()> {
    let _ = nix::unistd::setsid();
    // Held until the process ends (a kill -9 included): one holder per socket, even when
    // two start at once (a server's request and its attention subscription both finding
    // the last one dead).
    let _claim = claim(&opts.socket)?;
    let listener = bind(&opts.socket)?;
    let holder = Arc::new(Holder {
        terminals: TerminalManager::new(),
        project: opts.project,
        socket: opts.socket,
        subscribers: Mutex::new(Vec::new()),
        last_server: Mutex::new(Instant::now()),
    });
    let weak = Arc::downgrade(&holder);
    holder.terminals.on_attention(Arc::new(move |change| {
        if let Some(holder) = weak.upgrade() {
            let mut subscribers = holder.subscribers.lock().unwrap_or_else(|e| e.into_inner());
            subscribers.retain_mut(|s| protocol::write_line(s, &change).is_ok());
        }
    }));
    {
        let holder = Arc::clone(&holder);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let serverless = holder
                    .subscribers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty();
                let since = *holder.last_server.lock().unwrap_or_else(|e| e.into_inner());
                // Idle, or its socket is gone (the state directory was removed): no server
                // can reach it any more.
                if (serverless && since.elapsed() >= opts.idle) || !holder.socket.exists() {
                    holder.stop();
                }
            }
        });
    }
    let me = nix::unistd::getuid();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // Only our own user's processes (the socket's directory already says so).
        let peer =
            nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials);
        if !peer.is_ok_and(|c| c.uid() == me.as_raw()) {
            continue;
        }
        let holder = Arc::clone(&holder);
        std::thread::spawn(move || {
            let _ = holder.handle(stream);
        });
    }
    Ok(())
}

/// An exclusive lock on `<socket>.lock`, or `AddrInUse` when another holder has it. The
/// check-remove-bind of [`bind`] happens under it, so two holders started together can
/// never both bind (the second would unlink the first's socket and orphan it).
fn claim(socket: &Path) -> io::Result<std::fs::File> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let mut name = socket.as_os_str().to_owned();
    name.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::path::PathBuf::from(name))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a terminal holder already runs for {}", socket.display()),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Listens on `socket` in a directory only its user can enter; a socket left by a holder
/// that is gone is replaced, a live one is not.
fn bind(socket: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    if socket.exists() {
        if UnixStream::connect(socket).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("a terminal holder already listens on {}", socket.display()),
            ));
        }
        std::fs::remove_file(socket)?;
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

impl Holder {
    /// Ends every session and the process.
    fn stop(&self) -> ! {
        self.terminals.shutdown_all();
        let _ = std::fs::remove_file(&self.socket);
        // Give the sessions' supervisors their hang-up before we go.
        std::thread::sleep(Duration::from_millis(100));
        std::process::exit(0)
    }

    fn handle(self: Arc<Self>, stream: UnixStream) -> io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let Some(request) = protocol::read_line::<Request>(&mut reader)? else {
            return Ok(());
        };
        let t = &self.terminals;
        let answer = |value: Result<Value, PtyError>| match value {
            Ok(v) => Answer::Ok(v),
            Err(e) => Answer::Err(WireError::from(e)),
        };
        let reply = match request {
            Request::Hello => answer(Ok(json!(Hello {
                version: protocol::VERSION,
                project: self.project.clone(),
                pid: std::process::id(),
                uid: nix::unistd::getuid().as_raw(),
            }))),
            Request::Spawn {
                worktree_id,
                scope,
                opts,
            } => answer(t.spawn(&worktree_id, scope, opts).map(|i| to_json(&i))),
            Request::Get { id } => answer(t.get(&id).map(|i| to_json(&i))),
            Request::List { worktree_id } => answer(Ok(to_json(&match worktree_id {
                Some(wt) => t.list_for_worktree(&wt),
                None => t.list(),
            }))),
            Request::Screen { id } => answer(t.screen(&id).map(|screen| to_json(&screen))),
            Request::Write { id, data } => answer(t.write(&id, &data).map(|()| Value::Null)),
            Request::Resize { id, cols, rows } => {
                answer(t.resize(&id, cols, rows).map(|()| Value::Null))
            }
            Request::Kill { id } => answer(Ok(json!(t.kill(&id)))),
            Request::KillWorktree { worktree_id } => {
                answer(Ok(json!(t.kill_worktree(&worktree_id))))
            }
            Request::ReportHook { id, event, message } => answer(
                HookEvent::parse(&event)
                    .ok_or_else(|| PtyError::Io(format!("unknown hook event {event}")))
                    .and_then(|e| t.report_hook(&id, e, message))
                    .map(|s| to_json(&s)),
            ),
            Request::AgentSessions => answer(Ok(to_json(&t.all_agent_sessions()))),
            Request::Attach { id, exclusive } => {
                return match t.attach(&id, exclusive) {
                    Ok(attachment) => {
                        protocol::write_line(&mut writer, &Answer::Ok(Value::Null))?;
                        stream_attachment(writer, attachment)
                    }
                    Err(e) => protocol::write_line(&mut writer, &answer(Err(e))),
                };
            }
            Request::Events => {
                protocol::write_line(&mut writer, &Answer::Ok(Value::Null))?;
                // A server that stops reading is dropped, never waited for by the PTYs.
                writer.set_write_timeout(Some(Duration::from_secs(1)))?;
                let fd = writer.as_raw_fd();
                self.subscribers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(writer);
                // Until the server goes (its end of the connection closes).
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut reader, &mut sink);
                let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
                subscribers.retain(|s| s.as_raw_fd() != fd);
                *self.last_server.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                return Ok(());
            }
            Request::Shutdown => {
                protocol::write_line(&mut writer, &Answer::Ok(Value::Null))?;
                self.stop();
            }
        };
        protocol::write_line(&mut writer, &reply)
    }
}

/// Output queued for a client is sent in frames of up to this much.
const BATCH: usize = 256 * 1024;

/// Streams an attachment: the restore bytes, output as it comes (what queued up while
/// the last frame was written goes out as one frame, so a busy terminal costs a few
/// large writes rather than many small ones), the exit code last.
fn stream_attachment(mut writer: UnixStream, mut attachment: crate::Attachment) -> io::Result<()> {
    protocol::write_frame(&mut writer, protocol::RESTORE, &attachment.restore)?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(chunk) = attachment.output.blocking_recv() {
        batch.clear();
        batch.extend_from_slice(&chunk);
        while batch.len() < BATCH {
            match attachment.output.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        protocol::write_frame(&mut writer, protocol::OUTPUT, &batch)?;
    }
    let code = *attachment.exit.borrow();
    if let Some(code) = code {
        protocol::write_frame(&mut writer, protocol::EXIT, &code.to_be_bytes())?;
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip_through_arguments() {
        let opts = HolderOptions {
            socket: "/home/me/.openkit/holders/x.sock".into(),
            project: "/work/my project".into(),
            idle: Duration::from_secs(90),
        };
        assert_eq!(HolderOptions::from_args(opts.to_args()), Ok(opts));
        assert!(HolderOptions::from_args(["--socket".into()]).is_err());
        assert!(HolderOptions::from_args(["--project".into(), "p".into()]).is_err());
        assert!(HolderOptions::from_args(["--bogus".into(), "1".into()]).is_err());
    }

    #[test]
    fn only_one_holder_claims_a_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("holders").join("p.sock");
        let first = claim(&socket).unwrap();
        let second = claim(&socket).unwrap_err();
        assert_eq!(second.kind(), io::ErrorKind::AddrInUse);
        drop(first);
        claim(&socket).unwrap();
    }
}
