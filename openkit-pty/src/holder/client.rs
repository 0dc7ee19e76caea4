//! The server's side of the holder: requests over the socket, attachments as streams of
//! frames read by a thread each, attention changes from one subscription.

use std::io::{self, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use openkit_core::attention::{AttentionChange, AttentionListener};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use super::protocol::{self, Answer, Hello, Request};
use crate::manager::PtyError;
use crate::session::{Attachment, CLIENT_QUEUE};

/// Why a holder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HolderError {
    /// Nothing listens on the socket.
    #[error("no terminal holder answers on {0}: {1}")]
    Unreachable(PathBuf, io::Error),
    /// It answers, but it is not ours to use.
    #[error("the terminal holder on {socket} is not this project's ({reason})")]
    Foreign {
        /// The socket.
        socket: PathBuf,
        /// What differs.
        reason: String,
    },
    /// It could not be started.
    #[error("could not start the terminal holder: {0}")]
    Launch(io::Error),
}

/// Held while this process starts a holder.
static LAUNCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How to start a holder when none answers: a program and its arguments (for the
/// `openkit` binary: itself, `__terminal-holder` and the holder's options).
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<std::ffi::OsString>,
}

impl Launcher {
    /// Starts the holder (it detaches into its own session) and waits until it answers
    /// on `socket` (5 s at most).
    pub fn launch(&self, socket: &Path) -> Result<(), HolderError> {
        let mut child = std::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(HolderError::Launch)?;
        // Reap it whenever it ends, so it never lingers as a zombie of the server.
        std::thread::spawn(move || child.wait());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match UnixStream::connect(socket) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(HolderError::Unreachable(socket.to_path_buf(), e));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// A connection to a project's holder.
#[derive(Debug)]
pub struct HolderClient {
    socket: PathBuf,
    project: String,
    hello: Hello,
    /// Starts a new holder when this one is gone (it crashed or was killed).
    launcher: Option<Launcher>,
}

impl HolderClient {
    /// Connects to the holder on `socket`, which must run as this user for `project`;
    /// with a `launcher`, one is started when none answers.
    pub fn connect(
        socket: &Path,
        project: &str,
        launcher: Option<&Launcher>,
    ) -> Result<Self, HolderError> {
        let hello = Self::greet(socket, project, launcher)?;
        Ok(HolderClient {
            socket: socket.to_path_buf(),
            project: project.to_string(),
            hello,
            launcher: launcher.cloned(),
        })
    }

    /// Says hello to the holder on `socket` (starting one with `launcher` when none
    /// answers) and checks it is ours: same protocol, user and project.
    fn greet(
        socket: &Path,
        project: &str,
        launcher: Option<&Launcher>,
    ) -> Result<Hello, HolderError> {
        let hello = match Self::hello(socket) {
            Ok(hello) => hello,
            Err(_) if launcher.is_some() => {
                // One launch at a time in this process: a request and the attention
                // subscription that both find the holder gone start one holder, not two
                // (the holder's own lock refuses a second, but only after it started).
                let _launching = LAUNCHING.lock().unwrap_or_else(|e| e.into_inner());
                match Self::hello(socket) {
                    Ok(hello) => hello,
                    Err(_) => {
                        launcher.expect("checked").launch(socket)?;
                        Self::hello(socket)
                            .map_err(|e| HolderError::Unreachable(socket.to_path_buf(), e))?
                    }
                }
            }
            Err(e) => return Err(HolderError::Unreachable(socket.to_path_buf(), e)),
        };
        let foreign = |reason: String| HolderError::Foreign {
            socket: socket.to_path_buf(),
            reason,
        };
        if hello.version != protocol::VERSION {
            return Err(foreign(format!(
                "protocol {} instead of {}",
                hello.version,
                protocol::VERSION
            )));
        }
        if hello.uid != nix::unistd::getuid().as_raw() {
            return Err(foreign(format!("it runs as user {}", hello.uid)));
        }
        if hello.project != project {
            return Err(foreign(format!("it serves {}", hello.project)));
        }
        Ok(hello)
    }

    /// A connection to the holder; when it is gone (crashed, killed), a new one is
    /// started and checked first (its sessions died with the old one; the server's own
    /// state did not).
    fn stream(&self) -> Result<UnixStream, PtyError> {
        let unreachable = |e: String| PtyError::Io(format!("terminal holder unreachable: {e}"));
        match UnixStream::connect(&self.socket) {
            Ok(stream) => Ok(stream),
            Err(e) if self.launcher.is_none() => Err(unreachable(e.to_string())),
            Err(_) => {
                Self::greet(&self.socket, &self.project, self.launcher.as_ref())
                    .map_err(|e| unreachable(e.to_string()))?;
                UnixStream::connect(&self.socket).map_err(|e| unreachable(e.to_string()))
            }
        }
    }

    fn hello(socket: &Path) -> io::Result<Hello> {
        let stream = UnixStream::connect(socket)?;
        // The peer must be our own user before we tell it anything.
        let peer =
            nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
                .map_err(io::Error::from)?;
        if peer.uid() != nix::unistd::getuid().as_raw() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "a holder of another user",
            ));
        }
        let (_, answer) = exchange(stream, &Request::Hello)?;
        match answer {
            Answer::Ok(v) => {
                serde_json::from_value(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Answer::Err(e) => Err(io::Error::other(format!("{e:?}"))),
        }
    }

    /// The holder's process id.
    pub fn pid(&self) -> u32 {
        self.hello.pid
    }

    /// Sends `request` and returns its answer's value.
    pub fn call<T: DeserializeOwned>(&self, request: &Request) -> Result<T, PtyError> {
        let unreachable = |e: io::Error| PtyError::Io(format!("terminal holder unreachable: {e}"));
        let (_, answer) = exchange(self.stream()?, request).map_err(unreachable)?;
        match answer {
            Answer::Ok(v) => serde_json::from_value(v).map_err(|e| {
                PtyError::Io(format!("unexpected answer from the terminal holder: {e}"))
            }),
            Answer::Err(e) => Err(e.into()),
        }
    }

    /// Attaches to a session: the restore bytes now, then output and the exit code from
    /// a reading thread. A client that does not keep up stops the reading, the holder
    /// then drops it, and its output ends (as for a local session).
    pub fn attach(&self, id: &str, exclusive: bool) -> Result<Attachment, PtyError> {
        let unreachable = |e: io::Error| PtyError::Io(format!("terminal holder unreachable: {e}"));
        let stream = self.stream()?;
        let request = Request::Attach {
            id: id.to_string(),
            exclusive,
        };
        let (mut reader, answer) = exchange(stream, &request).map_err(unreachable)?;
        if let Answer::Err(e) = answer {
            return Err(e.into());
        }
        let restore = match protocol::read_frame(&mut reader).map_err(unreachable)? {
            Some((protocol::RESTORE, bytes)) => bytes,
            _ => {
                return Err(PtyError::Io(
                    "the terminal holder sent no restore frame".into(),
                ));
            }
        };
        let (tx, output) = mpsc::channel(CLIENT_QUEUE);
        let (exit_tx, exit) = watch::channel(None);
        std::thread::Builder::new()
            .name("holder-attach".into())
            .spawn(move || {
                while let Ok(Some((kind, bytes))) = protocol::read_frame(&mut reader) {
                    let delivered = match kind {
                        protocol::OUTPUT => tx.blocking_send(Bytes::from(bytes)).is_ok(),
                        protocol::EXIT => {
                            if let Ok(code) = <[u8; 4]>::try_from(bytes.as_slice()) {
                                let _ = exit_tx.send(Some(i32::from_be_bytes(code)));
                            }
                            true
                        }
                        _ => true,
                    };
                    // The client went away: so does this attachment.
                    if !delivered {
                        return;
                    }
                }
            })
            .map_err(|e| PtyError::Io(e.to_string()))?;
        Ok(Attachment {
            restore,
            output,
            exit,
        })
    }

    /// Opens the attention-change subscription.
    fn events(&self) -> Result<BufReader<UnixStream>, PtyError> {
        let (reader, answer) = exchange(self.stream()?, &Request::Events)
            .map_err(|e| PtyError::Io(format!("terminal holder unreachable: {e}")))?;
        match answer {
            Answer::Ok(_) => Ok(reader),
            Answer::Err(e) => Err(e.into()),
        }
    }

    /// Passes every attention change to `listener` (the subscription is also what tells
    /// the holder a server is there). When the holder goes, the subscription is opened
    /// again on the holder that replaces it (once a second).
    pub fn subscribe(self: &Arc<Self>, listener: AttentionListener) -> Result<(), PtyError> {
        let mut reader = self.events()?;
        let client = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("holder-events".into())
            .spawn(move || {
                loop {
                    while let Ok(Some(change)) = protocol::read_line::<AttentionChange>(&mut reader)
                    {
                        listener(change);
                    }
                    reader = loop {
                        std::thread::sleep(Duration::from_secs(1));
                        let Some(client) = client.upgrade() else {
                            return;
                        };
                        if let Ok(reader) = client.events() {
                            break reader;
                        }
                    };
                }
            })
            .map_err(|e| PtyError::Io(e.to_string()))?;
        Ok(())
    }
}

/// Writes `request` on a fresh connection and reads the answer line; the reader stays
/// positioned after it for what follows.
fn exchange(stream: UnixStream, request: &Request) -> io::Result<(BufReader<UnixStream>, Answer)> {
    let mut writer = stream.try_clone()?;
    protocol::write_line(&mut writer, request)?;
    let mut reader = BufReader::new(stream);
    let answer = protocol::read_line::<Answer>(&mut reader)?.ok_or_else(|| {
        io::Error::new(io::ErrorKind::UnexpectedEof, "the terminal holder hung up")
    })?;
    Ok((reader, answer))
}
