//! Dev servers and ports: start/stop, `/api/ports`, `/api/discover`, `/api/detect-env`.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::worktrees::WorktreeStatus;
use super::{False, True};

/// A started (or already running) dev server.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevServerStarted {
    /// Always `true`.
    pub success: True,
    /// Canonical worktree id.
    pub worktree_id: String,
    /// `starting` until a known port listens, then `running`.
    pub status: WorktreeStatus,
    /// Process id of the server's process group leader.
    #[schema(required = true)]
    pub pid: Option<u32>,
    /// Ports in use (offset applied).
    pub ports: Vec<u16>,
    /// The port offset.
    pub offset: u32,
}

/// A stopped dev server.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevServerStopped {
    /// Always `true`.
    pub success: True,
    /// Canonical worktree id.
    pub worktree_id: String,
    /// A dev server was running.
    pub was_running: bool,
}

/// `GET /api/ports`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortsResponse {
    /// Ports found by discovery.
    pub discovered: Vec<u16>,
    /// Distance between the port sets of two worktrees.
    pub offset_step: u16,
}

/// Discovery found listening ports; they were saved and `envMapping` rebuilt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscoveryFound {
    /// Always `true`.
    pub success: True,
    /// Listening ports, sorted.
    pub ports: Vec<u16>,
    /// The command's output.
    pub logs: Vec<String>,
}

/// Discovery found no listening port; nothing was saved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscoveryEmpty {
    /// Always `false`.
    pub success: False,
    /// Always empty.
    pub ports: Vec<u16>,
    /// The command's output.
    pub logs: Vec<String>,
    /// Why nothing was found, when known.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// `POST /api/discover`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DiscoverResponse {
    /// Ports were found.
    Found(DiscoveryFound),
    /// No port was found.
    Empty(DiscoveryEmpty),
}

/// `POST /api/detect-env`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetectEnvResponse {
    /// Always `true`.
    pub success: True,
    /// Environment variables whose values are templates over known ports.
    pub env_mapping: BTreeMap<String, String>,
}
