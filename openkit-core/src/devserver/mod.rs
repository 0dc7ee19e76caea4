//! Dev servers and ports: the runner (one process group per worktree, output capture,
//! status, clean stop), port-offset leases, the env contract with its Node hook, and port
//! discovery from `/proc`.

mod discover;
mod env;
mod offsets;
mod runner;
mod sockets;

pub use discover::{DEFAULT_CAP, Discovery, STABLE_WINDOW, detect_env_mapping, discover};
pub use env::{PortEnv, port_env, render_template};
pub use offsets::OffsetAllocator;
pub use runner::{
    DEFAULT_GRACE, DevServerError, DevServerManager, LOG_LINES, PortHooks, StartRequest,
};
pub use sockets::{listening_ports, parse_listening, process_tree};

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
