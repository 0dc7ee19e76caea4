//! One terminal session: a child on a PTY, its screen model, its scrollback, and the
//! clients attached to its output.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use portable_pty::{ChildKiller, MasterPty, PtySize};
use tokio::sync::{mpsc, watch};

use openkit_core::attention::tracker::Transition;
use openkit_core::attention::{AgentSession, HookEvent};

use crate::attention::SessionAttention;
use crate::ring::ScrollbackRing;

/// Bytes of raw output kept for restore frames.
pub const SCROLLBACK_BYTES: usize = 256 * 1024;
/// Output chunks queued per attached client.
pub const CLIENT_QUEUE: usize = 256;
/// How long the output of a session waits for a client whose queue is full before that
/// client is dropped: a client slower than the program slows the program down (as a real
/// terminal does), one that stopped reading is cut off.
pub const SLOW_CLIENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// What callers see of a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Output not yet fed to the screen model is kept up to this much; beyond it the oldest
/// is skipped (the model is only read on attach, resize and agents' ticks, so a flood
/// nobody looks at is never parsed).
pub const SCREEN_BACKLOG: usize = 4 << 20;

pub(crate) struct Shared {
    parser: vt100::Parser,
    /// Output the parser has not seen yet, oldest first, and its size.
    unparsed: std::collections::VecDeque<Bytes>,
    unparsed_bytes: usize,
    ring: ScrollbackRing,
    subscribers: Vec<mpsc::Sender<Bytes>>,
}

impl Shared {
    /// The screen model, fed with everything output so far.
    fn caught_up(&mut self) -> &mut vt100::Parser {
        while let Some(chunk) = self.unparsed.pop_front() {
            self.parser.process(&chunk);
        }
        self.unparsed_bytes = 0;
        &mut self.parser
    }

    /// The current screen.
    fn screen(&mut self) -> &vt100::Screen {
        self.caught_up().screen()
    }
}

/// A running (or exited) session.
pub(crate) struct Session {
    pub(crate) info: Mutex<SessionInfo>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Mutex<Box<dyn Write + Send>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
    shared: Arc<Mutex<Shared>>,
    exit: watch::Sender<Option<i32>>,
    /// Agent sessions only.
    attention: Option<Mutex<SessionAttention>>,
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
                unparsed: std::collections::VecDeque::new(),
                unparsed_bytes: 0,
                ring: ScrollbackRing::new(SCROLLBACK_BYTES),
                subscribers: Vec::new(),
            })),
            exit,
            attention: None,
        })
    }

    /// Tracks this session's attention state as `agent`'s (call before it runs).
    pub(crate) fn with_attention(mut self: Arc<Self>, agent: &str) -> Arc<Self> {
        if let Some(session) = Arc::get_mut(&mut self) {
            session.attention = Some(Mutex::new(SessionAttention::new(agent)));
        }
        self
    }

    /// Whether this is an agent session (its attention is tracked).
    pub(crate) fn is_agent(&self) -> bool {
        self.attention.is_some()
    }

    fn attention(&self) -> Option<std::sync::MutexGuard<'_, SessionAttention>> {
        self.attention
            .as_ref()
            .map(|a| a.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The agent session as the worktree list shows it (agent sessions only).
    pub(crate) fn agent_view(&self) -> Option<AgentSession> {
        let id = self.info().id;
        self.attention().map(|a| a.view(&id))
    }

    /// Applies an agent's hook; the change and the session after it.
    pub(crate) fn hook(
        &self,
        event: HookEvent,
        message: Option<String>,
    ) -> Option<(Option<Transition>, AgentSession)> {
        let id = self.info().id;
        let mut attention = self.attention()?;
        let change = attention.hook(event, message);
        Some((change, attention.view(&id)))
    }

    /// Re-reads a quiet screen; the change, if any, and the session after it.
    pub(crate) fn tick_attention(
        &self,
        now: std::time::Instant,
    ) -> Option<(Transition, AgentSession)> {
        let id = self.info().id;
        let mut attention = self.attention()?;
        let shared = &self.shared;
        let change = attention.tick(now, || {
            let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
            openkit_core::attention::screen::asks_for_input(&shared.screen().contents())
        })?;
        Some((change, attention.view(&id)))
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
            let stalled: Vec<mpsc::Sender<Bytes>> = {
                let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                shared.ring.push(&chunk);
                shared.unparsed_bytes += chunk.len();
                shared.unparsed.push_back(chunk.clone());
                while shared.unparsed_bytes > SCREEN_BACKLOG {
                    let skipped = shared.unparsed.pop_front().map_or(0, |c| c.len());
                    shared.unparsed_bytes -= skipped;
                }
                let mut stalled = Vec::new();
                shared
                    .subscribers
                    .retain(|tx| match tx.try_send(chunk.clone()) {
                        Ok(()) => true,
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            stalled.push(tx.clone());
                            true
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => false,
                    });
                stalled
            };
            for tx in stalled {
                self.wait_for_client(&tx, &chunk);
            }
            if let Some(mut attention) = self.attention() {
                attention.output(std::time::Instant::now());
            }
        }
    }

    /// Delivers `chunk` to a client whose queue was full, waiting up to
    /// [`SLOW_CLIENT_GRACE`] (without holding the session lock, and before the next read
    /// of the PTY, so the program waits too); a client that does not take it by then is
    /// dropped.
    fn wait_for_client(&self, tx: &mpsc::Sender<Bytes>, chunk: &Bytes) {
        let deadline = std::time::Instant::now() + SLOW_CLIENT_GRACE;
        loop {
            match tx.try_send(chunk.clone()) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(_) => break,
            }
        }
        self.shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .subscribers
            .retain(|s| !s.same_channel(tx));
    }

    /// Records the exit code and ends every client's output stream; for an agent
    /// session, its last state change and what it looks like now.
    pub(crate) fn finish(&self, code: i32) -> Option<(Option<Transition>, AgentSession)> {
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
        let id = self.info().id;
        let mut attention = self.attention()?;
        let change = attention.exited(code);
        Some((change, attention.view(&id)))
    }

    pub(crate) fn info(&self) -> SessionInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn write(&self, data: &[u8]) -> std::io::Result<()> {
        if let Some(mut attention) = self.attention() {
            attention.input(std::time::Instant::now());
        }
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
            .caught_up()
            .set_size(nonzero(rows), nonzero(cols));
        Ok(())
    }

    pub(crate) fn kill(&self) {
        let _ = self.killer.lock().unwrap_or_else(|e| e.into_inner()).kill();
    }

    /// The screen as text, without attaching or changing anything.
    pub(crate) fn screen(&self) -> ScreenText {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let screen = shared.screen();
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
        let screen = shared.screen();
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
