//! The terminal holder: a small process that owns a project's PTYs, so its terminal
//! sessions outlive the server (a restart, an upgrade, a crash).
//!
//! `openkit serve` connects to the project's holder, starting one when none answers
//! (`openkit __terminal-holder`, which detaches into a session of its own). Every
//! terminal operation of the server's [`TerminalManager`](crate::TerminalManager)
//! then goes over a Unix socket to it ([`protocol`]); the next server finds the same
//! sessions with their screens, and attention changes keep coming. The holder ends its
//! sessions and exits when told to (`openkit serve --stop-sessions` when that server
//! stops) or after a time with no server connected.
//!
//! Trust: the socket is `~/.openkit/holders/<hash of the project root>.sock`, in a
//! directory only its user can enter (0700); both ends check the other's user id
//! (`SO_PEERCRED`), and a server refuses a holder that serves another project or speaks
//! another protocol version. A holder that dies takes its sessions with it (their
//! supervisors see it go) but no server state: the server's next terminal operation
//! starts a new holder (and checks it), and its attention subscription moves to it.

mod client;
pub mod protocol;
mod server;

use std::path::{Path, PathBuf};

pub use client::{HolderClient, HolderError, Launcher};
pub use server::{HolderOptions, serve};

/// The hidden subcommand a holder is started with.
pub const HOLDER_SUBCOMMAND: &str = "__terminal-holder";

/// Where the holder of the project at `project_root` listens, under the global state
/// directory `global_dir` (`~/.openkit`): named by a stable hash of the root, so every
/// server of that project (and no other) finds it, whatever binary version it runs.
pub fn socket_path(global_dir: &Path, project_root: &Path) -> PathBuf {
    // FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`.
    let hash = project_root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    global_dir.join("holders").join(format!("{hash:016x}.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_project_has_its_own_stable_socket() {
        let global = Path::new("/home/me/.openkit");
        let a = socket_path(global, Path::new("/work/a"));
        assert_eq!(a, socket_path(global, Path::new("/work/a")));
        assert_ne!(a, socket_path(global, Path::new("/work/b")));
        assert_eq!(
            socket_path(global, Path::new("")),
            Path::new("/home/me/.openkit/holders/cbf29ce484222325.sock")
        );
    }
}
