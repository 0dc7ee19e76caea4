//! # openkit-pty
//!
//! Terminal sessions for OpenKit worktrees on portable-pty: spawn `$SHELL` (or
//! `$SHELL -lc <command>`) in a worktree, write input, resize, and fan the output out to
//! any number of attached clients. A screen model (vt100) and a bounded byte ring let a
//! client that attaches later first restore the screen and recent history. Clients are
//! fed through bounded queues; one that cannot keep up is dropped, so it never blocks the
//! PTY reader or other clients and never grows memory without bound.
//!
//! This crate knows nothing of HTTP or WebSocket; it implements core's `Terminals` port.
//!
//! ```no_run
//! use openkit_pty::{SpawnOptions, TerminalManager};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let terminals = TerminalManager::new();
//! let session = terminals.spawn("my-worktree", Some("terminal".into()), SpawnOptions {
//!     cwd: "/path/to/worktree".into(), cols: 80, rows: 24, ..Default::default()
//! })?;
//! let mut attachment = terminals.attach(&session.id, true)?;
//! terminals.write(&session.id, b"echo hello\n")?;
//! while let Some(chunk) = attachment.output.recv().await {
//!     print!("{}", String::from_utf8_lossy(&chunk));
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod attention;
pub mod holder;
mod manager;
mod ring;
mod session;

pub use manager::{
    MAX_SIZE, MIN_SIZE, PtyError, SESSION_GRACE, SpawnOptions, TerminalManager, clamp_size,
};
pub use ring::ScrollbackRing;
pub use session::{
    Attachment, CLIENT_QUEUE, SCROLLBACK_BYTES, SLOW_CLIENT_GRACE, ScreenText, SessionInfo,
};
