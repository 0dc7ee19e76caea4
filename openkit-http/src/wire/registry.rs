//! Shapes shared by the registry areas (MCP servers, skills, custom agents): scan
//! requests, deploy requests, imports and per-agent placements.

use openkit_core::registry::RegistryError;
use openkit_core::registry::deploy::ScanMode;
use openkit_core::registry::skills::AgentPlacement;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;

/// Body of the `scan` operations.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanRequest {
    /// `project` (default), `folder` or `device`.
    #[schema(example = "project")]
    pub mode: Option<String>,
    /// The folder of a `folder` scan (absolute).
    pub scan_path: Option<String>,
}

impl TryFrom<ScanRequest> for ScanMode {
    type Error = RegistryError;

    /// Fails (`INVALID_REGISTRY_ENTRY`) on another mode or a folder scan without an
    /// absolute, existing `scanPath`.
    fn try_from(body: ScanRequest) -> Result<Self, RegistryError> {
        ScanMode::parse(body.mode.as_deref(), body.scan_path.as_deref())
    }
}

/// Body of skill and custom-agent deploy/undeploy.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AgentScopeRequest {
    /// `claude`, `codex`, `cursor`, `gemini` or `vscode`.
    pub agent: Option<String>,
    /// `global` or `project`.
    pub scope: Option<String>,
}

/// Whether something is deployed for one agent, per scope.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Placement {
    /// In the agent's global directory.
    pub global: bool,
    /// In the agent's project directory.
    pub project: bool,
}

impl From<AgentPlacement> for Placement {
    fn from(p: AgentPlacement) -> Self {
        Placement {
            global: p.global,
            project: p.project,
        }
    }
}

/// `{ "success": true, "imported": [...] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Imported {
    /// Always `true`.
    pub success: True,
    /// What was added to the registry (entries already there are skipped).
    pub imported: Vec<String>,
}
