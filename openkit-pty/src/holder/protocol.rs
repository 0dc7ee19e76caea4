//! The holder's protocol: one request per connection, a JSON line each way; an attach
//! then streams frames, an event subscription JSON lines.
//!
//! A frame is a kind byte, a big-endian `u32` length and that many bytes: [`RESTORE`]
//! (the restore bytes, first), [`OUTPUT`] (a chunk of output), [`EXIT`] (the exit code as
//! a big-endian `i32`, last).

use std::io::{self, BufRead, Read, Write};

use openkit_core::attention::AgentSession;
use serde::{Deserialize, Serialize};

use crate::manager::{PtyError, SpawnOptions};
use crate::session::SessionInfo;

/// Version of this protocol; a server and a holder of different versions do not talk.
pub const VERSION: u32 = 1;

/// Frame kind: the restore bytes.
pub const RESTORE: u8 = 0;
/// Frame kind: output.
pub const OUTPUT: u8 = 1;
/// Frame kind: the exit code.
pub const EXIT: u8 = 2;

/// Largest frame accepted (output chunks are at most 16 KiB; a restore is the scrollback).
pub const MAX_FRAME: usize = 8 << 20;

/// What a server asks of its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Request {
    /// Who are you? (Answered with [`Hello`].)
    Hello,
    /// Start a session.
    Spawn {
        /// The worktree.
        worktree_id: String,
        /// Its scope.
        scope: Option<String>,
        /// How.
        opts: SpawnOptions,
    },
    /// One session's info.
    Get {
        /// Session id.
        id: String,
    },
    /// Every session (of one worktree).
    List {
        /// Only this worktree's.
        worktree_id: Option<String>,
    },
    /// What a session shows, as text.
    Screen {
        /// Session id.
        id: String,
    },
    /// Input.
    Write {
        /// Session id.
        id: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// New size.
    Resize {
        /// Session id.
        id: String,
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// End a session (answers whether it existed).
    Kill {
        /// Session id.
        id: String,
    },
    /// End a worktree's sessions (answers how many).
    KillWorktree {
        /// The worktree.
        worktree_id: String,
    },
    /// An agent's hook.
    ReportHook {
        /// Session id.
        id: String,
        /// `working`, `waiting-for-input`, `idle` or `finished`.
        event: String,
        /// The agent's words.
        message: Option<String>,
    },
    /// Every worktree's agent sessions.
    AgentSessions,
    /// Attach: after the answer, frames follow until the session ends or the client goes.
    Attach {
        /// Session id.
        id: String,
        /// Detach earlier clients.
        exclusive: bool,
    },
    /// Subscribe to attention changes: JSON lines follow while the connection lasts (a
    /// subscribed connection is what keeps the holder from idling out).
    Events,
    /// End every session and exit.
    Shutdown,
}

/// The answer to [`Request::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`VERSION`].
    pub version: u32,
    /// The project the holder serves.
    pub project: String,
    /// Its process id.
    pub pid: u32,
    /// Its user id.
    pub uid: u32,
}

/// An answer: `{"ok": value}` or `{"err": error}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    /// Done; the value depends on the request.
    Ok(serde_json::Value),
    /// Failed.
    Err(WireError),
}

/// A [`PtyError`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum WireError {
    /// [`PtyError::SessionNotFound`].
    SessionNotFound {
        /// The id.
        id: String,
    },
    /// [`PtyError::NotAnAgent`].
    NotAnAgent {
        /// The id.
        id: String,
    },
    /// [`PtyError::Spawn`].
    Spawn {
        /// Why.
        message: String,
    },
    /// [`PtyError::Io`] and anything else.
    Io {
        /// Why.
        message: String,
    },
}

impl From<PtyError> for WireError {
    fn from(e: PtyError) -> Self {
        match e {
            PtyError::SessionNotFound { id } => WireError::SessionNotFound { id },
            PtyError::NotAnAgent { id } => WireError::NotAnAgent { id },
            PtyError::Spawn(message) => WireError::Spawn { message },
            PtyError::Io(message) => WireError::Io { message },
        }
    }
}

impl From<WireError> for PtyError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::SessionNotFound { id } => PtyError::SessionNotFound { id },
            WireError::NotAnAgent { id } => PtyError::NotAnAgent { id },
            WireError::Spawn { message } => PtyError::Spawn(message),
            WireError::Io { message } => PtyError::Io(message),
        }
    }
}

/// Typed views of [`Answer::Ok`] values.
pub type Sessions = Vec<SessionInfo>;
/// Agent sessions.
pub type Agents = Vec<AgentSession>;

/// Writes `value` as one JSON line.
pub fn write_line(w: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one JSON line (at most [`MAX_FRAME`] bytes); `None` at end of stream.
pub fn read_line<T: for<'de> Deserialize<'de>>(r: &mut impl BufRead) -> io::Result<Option<T>> {
    let mut line = Vec::new();
    let n = r.take(MAX_FRAME as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes one frame (in one write: head and bytes together).
pub fn write_frame(w: &mut impl Write, kind: u8, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(5 + bytes.len());
    frame.push(kind);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(bytes);
    w.write_all(&frame)
}

/// Reads one frame; `None` at end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes)?;
    Ok(Some((head[0], bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_lines_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, OUTPUT, b"hello").unwrap();
        write_frame(&mut buf, EXIT, &3i32.to_be_bytes()).unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((OUTPUT, b"hello".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((EXIT, 3i32.to_be_bytes().to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), None);

        let mut buf = Vec::new();
        write_line(&mut buf, &Request::Kill { id: "x".into() }).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "{\"op\":\"kill\",\"id\":\"x\"}\n"
        );
        let back: Option<Request> = read_line(&mut &buf[..]).unwrap();
        assert!(matches!(back, Some(Request::Kill { id }) if id == "x"));
    }

    #[test]
    fn oversized_or_torn_frames_are_errors() {
        let mut head = vec![OUTPUT];
        head.extend_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(read_frame(&mut &head[..]).is_err());
        let mut torn = Vec::new();
        write_frame(&mut torn, OUTPUT, b"hello").unwrap();
        torn.truncate(7);
        assert!(read_frame(&mut &torn[..]).is_err());
    }
}
