//! One terminal session: a child on a PTY, its screen model, its scrollback, and the
//! clients attached to its output.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use portable_pty::{ChildKiller, MasterPty, PtySize};
use tokio::sync::{mpsc, watch};

use crate::ring::ScrollbackRing;

/// Bytes of raw output kept for restore frames.
pub const SCROLLBACK_BYTES: usize = 256 * 1024;
/// Output chunks queued per attached client before it counts as too slow and is dropped.
pub const CLIENT_QUEUE: usize = 256;

/// What callers see of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Unguessable id.
    pub id: String,
    /// The worktree it runs in.
    pub worktree_id: String,
    /// `terminal`, `claude`, ... when scoped.
    pub scope: Option<String>,
    /// The command it was started with (`$SHELL -lc <cmd>`), if any.
    pub startup_command: Option<String>,
    /// Process id of the child.
    pub pid: Option<u32>,
    /// False once the child exited.
    pub alive: bool,
    /// Exit code once exited.
    pub exit_code: Option<i32>,
    /// When it started.
    pub created_at: SystemTime,
}

/// A client's view of a session: how to restore the screen, then live output, then exit.
#[derive(Debug)]
pub struct Attachment {
    /// Terminal bytes that reproduce the current screen and recent history.
    pub restore: Vec<u8>,
    /// Live output. Ends when the session exits, or when this client fell too far behind
    /// (it is dropped rather than allowed to hold memory or block the reader).
    pub output: mpsc::Receiver<Bytes>,
    /// The exit code, once the child exited.
    pub exit: watch::Receiver<Option<i32>>,
}

/// What a terminal shows now, as plain text (a read-only view of the screen model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenText {
    /// Rows of the screen.
    pub rows: u16,
    /// Columns of the screen.
    pub cols: u16,
    /// Cursor row (0-based).
    pub cursor_row: u16,
    /// Cursor column (0-based).
    pub cursor_col: u16,
    /// True while a full-screen program (editor, TUI) uses the alternate screen.
    pub alternate_screen: bool,
    /// The visible text, one line per row, without trailing blank rows.
    pub text: String,
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}

pub(crate) struct Shared {
    parser: vt100::Parser,
    ring: ScrollbackRing,
    subscribers: Vec<mpsc::Sender<Bytes>>,
}

/// A running (or exited) session.
pub(crate) struct Session {
    pub(crate) info: Mutex<SessionInfo>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Mutex<Box<dyn Write + Send>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
    shared: Arc<Mutex<Shared>>,
    exit: watch::Sender<Option<i32>>,
}

impl Session {
    pub(crate) fn new(
        info: SessionInfo,
        master: Box<dyn MasterPty + Send>,
        writer: Box<dyn Write + Send>,
        killer: Box<dyn ChildKiller + Send + Sync>,
        rows: u16,
        cols: u16,
    ) -> Arc<Self> {
        let (exit, _) = watch::channel(None);
        Arc::new(Session {
            info: Mutex::new(info),
            master: Mutex::new(master),
            writer: Mutex::new(writer),
            killer: Mutex::new(killer),
            shared: Arc::new(Mutex::new(Shared {
                parser: vt100::Parser::new(nonzero(rows), nonzero(cols), 1000),
                ring: ScrollbackRing::new(SCROLLBACK_BYTES),
                subscribers: Vec::new(),
            })),
            exit,
        })
    }

    /// Reads the PTY until EOF, feeding the screen, the ring and every client. Never
    /// blocks on a client: a full queue drops that client.
    pub(crate) fn pump_output(self: &Arc<Self>, mut reader: Box<dyn Read + Send>) {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = Bytes::copy_from_slice(&buf[..n]);
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            shared.parser.process(&chunk);
            shared.ring.push(&chunk);
            shared
                .subscribers
                .retain(|tx| tx.try_send(chunk.clone()).is_ok());
        }
    }

    /// Records the exit code and ends every client's output stream.
    pub(crate) fn finish(&self, code: i32) {
        {
            let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
            info.alive = false;
            info.exit_code = Some(code);
        }
        // The exit code first: a client whose stream ends can then tell exit from
        // being dropped.
        let _ = self.exit.send(Some(code));
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .subscribers
            .clear();
    }

    pub(crate) fn info(&self) -> SessionInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn write(&self, data: &[u8]) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.write_all(data)?;
        w.flush()
    }

    pub(crate) fn resize(&self, rows: u16, cols: u16) -> Result<(), String> {
        self.master
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| e.to_string())?;
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .parser
            .set_size(nonzero(rows), nonzero(cols));
        Ok(())
    }

    pub(crate) fn kill(&self) {
        let _ = self.killer.lock().unwrap_or_else(|e| e.into_inner()).kill();
    }

    /// The screen as text, without attaching or changing anything.
    pub(crate) fn screen(&self) -> ScreenText {
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let screen = shared.parser.screen();
        let (rows, cols) = screen.size();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let contents = screen.contents();
        ScreenText {
            rows: rows.get(),
            cols: cols.get(),
            cursor_row,
            cursor_col,
            alternate_screen: screen.alternate_screen(),
            text: contents.trim_end_matches(['\n', ' ']).to_string(),
        }
    }

    /// Attaches a client; with `exclusive`, earlier clients are detached.
    pub(crate) fn attach(&self, exclusive: bool) -> Attachment {
        let (tx, output) = mpsc::channel(CLIENT_QUEUE);
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let screen = shared.parser.screen();
        // Full-screen programs (editors, TUIs) are restored from the screen model; line
        // programs from the raw recent output, which also carries their history.
        let restore = if screen.alternate_screen() {
            screen.contents_formatted().into_bytes()
        } else {
            shared.ring.contents()
        };
        if exclusive {
            shared.subscribers.clear();
        }
        if self.exit.borrow().is_none() {
            shared.subscribers.push(tx);
        }
        Attachment {
            restore,
            output,
            exit: self.exit.subscribe(),
        }
    }
}
