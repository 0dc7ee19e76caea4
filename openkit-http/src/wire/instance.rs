//! `GET /api/instance`: which server a client is talking to.

use serde::Serialize;
use utoipa::ToSchema;

use super::True;

/// This server: the project it serves and the process.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// Always `true`.
    pub success: True,
    /// The project's name (its directory's name).
    pub project_name: String,
    /// The project's root directory.
    pub project_dir: String,
    /// OpenKit's version.
    pub version: String,
    /// The server's process id.
    pub pid: u32,
    /// The port it listens on.
    pub port: u16,
}
