//! Dev servers and ports: the runner (one process group per worktree, output capture,
//! status, clean stop that also reaches daemons that left the group), port-offset leases, the env contract with its Node hook, and port
//! discovery from `/proc`.

mod discover;
mod env;
mod offsets;
mod run_group;
mod runner;
mod sockets;

pub use discover::{DEFAULT_CAP, Discovery, STABLE_WINDOW, detect_env_mapping, discover};
pub use env::{InheritedEnv, PortEnv, port_env, render_template};
pub use offsets::OffsetAllocator;
pub use run_group::{RUN_VAR, RunGroup, environ_has_tag};
pub use runner::{
    Containment, DEFAULT_GRACE, DevServerError, DevServerManager, LOG_LINES, PortHooks,
    StartRequest,
};
pub use sockets::{listening_ports, parse_listening, process_tree};

/// How long a finished run's output may take to reach its readers (see
/// [`LineReaders::drained`]).
pub(crate) const OUTPUT_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads the child's stdout and stderr line by line on background tasks, calling
/// `on_line` for each line (from either stream, in arrival order per stream).
pub(crate) fn spawn_line_readers(
    child: &mut tokio::process::Child,
    on_line: impl Fn(String) + Send + Sync + 'static,
) -> LineReaders {
    use tokio::io::AsyncBufReadExt;
    let on_line = std::sync::Arc::new(on_line);
    let streams: [Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>; 2] = [
        child.stdout.take().map(|s| Box::new(s) as _),
        child.stderr.take().map(|s| Box::new(s) as _),
    ];
    let readers = streams
        .into_iter()
        .flatten()
        .map(|stream| {
            let on_line = std::sync::Arc::clone(&on_line);
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    on_line(line);
                }
            })
        })
        .collect();
    LineReaders(readers)
}

/// The tasks reading one child's output (see [`spawn_line_readers`]).
pub(crate) struct LineReaders(Vec<tokio::task::JoinHandle<()>>);

impl LineReaders {
    /// Waits until every line written has been handed to `on_line`: both pipes are at end
    /// of file once every process holding them is gone. Waits at most `limit`, because a
    /// process that escaped the kill may hold a pipe open for ever.
    pub(crate) async fn drained(self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for reader in self.0 {
            let _ = tokio::time::timeout_at(deadline, reader).await;
        }
    }
}

/// The Node hook (`--require`d into Node dev servers): moves `listen` and loopback
/// `connect` calls on known ports by the offset.
pub const NODE_HOOK: &str = include_str!("../../assets/port-hook.cjs");

/// Writes the Node hook into `dir` (e.g. `~/.openkit/cache`) and returns its path.
pub fn install_node_hook(
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, crate::error::IoFailure> {
    let path = dir.join("port-hook.cjs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(NODE_HOOK) {
        crate::persist::write_atomic(&path, NODE_HOOK.as_bytes())?;
    }
    Ok(path)
}

/// The native `LD_PRELOAD` hook (built from `native/porthook.c`); empty off Linux.
const NATIVE_HOOK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libopenkit_porthook.so"));

/// Writes the native hook into `dir` and returns its path; `None` where there is none
/// (not Linux) or it cannot be written.
pub fn install_native_hook(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    if NATIVE_HOOK.is_empty() {
        return None;
    }
    let path = dir.join("libopenkit_porthook.so");
    if std::fs::read(&path).ok().as_deref() != Some(NATIVE_HOOK) {
        crate::persist::write_atomic(&path, NATIVE_HOOK)
            .map_err(|e| tracing::warn!("the native port hook is unavailable: {e}"))
            .ok()?;
    }
    Some(path)
}
