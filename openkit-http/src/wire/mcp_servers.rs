//! `/api/mcp-servers` and `/api/mcp-env`: the MCP servers registry.

use std::collections::BTreeMap;

use openkit_core::registry::deploy::{
    DiscoveredServer as CoreDiscovered, Placement as CorePlacement, ToolDeployment,
};
use openkit_core::registry::mcp::{
    McpServer, McpServerPatch, NewMcpServer, Transport as CoreTransport,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// The transport of a URL server.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// Server-sent events.
    Sse,
}

impl From<CoreTransport> for Transport {
    fn from(t: CoreTransport) -> Self {
        match t {
            CoreTransport::Http => Transport::Http,
            CoreTransport::Sse => Transport::Sse,
        }
    }
}

impl From<Transport> for CoreTransport {
    fn from(t: Transport) -> Self {
        match t {
            Transport::Http => CoreTransport::Http,
            Transport::Sse => CoreTransport::Sse,
        }
    }
}

/// A registered MCP server.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerDefinition {
    /// Slug id: the key in every agent's configuration.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Command of a stdio server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// URL of a remote server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// Where it was imported from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// ISO-8601 UTC.
    pub created_at: String,
    /// ISO-8601 UTC.
    pub updated_at: String,
}

impl From<McpServer> for McpServerDefinition {
    fn from(s: McpServer) -> Self {
        McpServerDefinition {
            id: s.id,
            name: s.name,
            description: s.description,
            tags: s.tags,
            command: s.command,
            args: s.args,
            transport: s.transport.map(Into::into),
            url: s.url,
            env: s.env,
            source: s.source,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Query of `GET /api/mcp-servers`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct McpServerParams {
    /// Text to find in the name, id, description, command or URL.
    pub q: Option<String>,
    /// Only servers with this tag.
    pub tag: Option<String>,
}

/// `GET /api/mcp-servers`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpServerList {
    /// By id.
    pub servers: Vec<McpServerDefinition>,
}

/// `GET /api/mcp-servers/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpServerResponse {
    /// The server.
    pub server: McpServerDefinition,
}

/// `POST /api/mcp-servers`, `PATCH /api/mcp-servers/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpServerSaved {
    /// Always `true`.
    pub success: True,
    /// The server as stored.
    pub server: McpServerDefinition,
}

/// Body of `POST /api/mcp-servers`: `name` and either `command` or `url` are required.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateMcpServerRequest {
    /// Slug id; from the name when absent.
    pub id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// What it does.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Transport of a URL server (default `http`).
    #[serde(rename = "type")]
    pub transport: Option<Transport>,
    /// URL of a remote server.
    pub url: Option<String>,
    /// Environment.
    pub env: Option<BTreeMap<String, String>>,
}

impl From<CreateMcpServerRequest> for NewMcpServer {
    fn from(b: CreateMcpServerRequest) -> Self {
        NewMcpServer {
            id: b.id,
            name: b.name.unwrap_or_default(),
            description: b.description,
            tags: b.tags.unwrap_or_default(),
            command: b.command,
            args: b.args,
            transport: b.transport.map(Into::into),
            url: b.url,
            env: b.env.unwrap_or_default(),
            source: None,
        }
    }
}

/// Body of `PATCH /api/mcp-servers/:id`: only the fields given change; an empty
/// `command`, `url` or `args` clears it, and setting one of `command`/`url` clears the
/// other.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMcpServerRequest {
    /// Display name.
    pub name: Option<String>,
    /// What it does.
    pub description: Option<String>,
    /// Tags (replaced).
    pub tags: Option<Vec<String>>,
    /// Command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    #[serde(rename = "type")]
    pub transport: Option<Transport>,
    /// URL of a remote server.
    pub url: Option<String>,
    /// Environment (replaced).
    pub env: Option<BTreeMap<String, String>>,
}

impl From<UpdateMcpServerRequest> for McpServerPatch {
    fn from(b: UpdateMcpServerRequest) -> Self {
        McpServerPatch {
            name: b.name,
            description: b.description,
            tags: b.tags,
            command: b.command,
            args: b.args,
            transport: b.transport.map(Into::into),
            url: b.url,
            env: b.env,
        }
    }
}

/// Body of `POST /api/mcp-servers/:id/deploy` and `/undeploy`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeployServerRequest {
    /// `claude`, `codex`, `cursor`, `gemini` or `vscode`.
    #[schema(example = "claude")]
    pub tool: Option<String>,
    /// `global` or `project`.
    #[schema(example = "global")]
    pub scope: Option<String>,
}

/// Where one server stands in one agent's two files.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerPlacement {
    /// An entry with the server's id is in the agent's global file.
    pub global: bool,
    /// An entry with the server's id is in the agent's project file.
    pub project: bool,
    /// The agent's global file (`null` when the home directory is unknown).
    #[schema(required = true)]
    pub global_path: Option<String>,
    /// The agent's project file.
    pub project_path: String,
    /// The global entry differs from what a deploy would write.
    pub global_drifted: bool,
    /// The project entry differs from what a deploy would write.
    pub project_drifted: bool,
}

impl From<&ToolDeployment> for ServerPlacement {
    fn from(d: &ToolDeployment) -> Self {
        let path = |p: &CorePlacement| p.path.display().to_string();
        ServerPlacement {
            global: d.global.as_ref().is_some_and(|p| p.deployed),
            project: d.project.deployed,
            global_path: d.global.as_ref().map(path),
            project_path: path(&d.project),
            global_drifted: d.global.as_ref().is_some_and(|p| p.drifted),
            project_drifted: d.project.drifted,
        }
    }
}

/// `GET /api/mcp-servers/deployment-status`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpDeploymentStatus {
    /// Server id → agent → placement.
    pub status: BTreeMap<String, BTreeMap<String, ServerPlacement>>,
}

/// A file a discovered server was found in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FoundIn {
    /// The agent's configuration file.
    pub config_path: String,
}

/// A server found in an agent's configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredServer {
    /// Its key.
    pub key: String,
    /// Command of a stdio server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// URL of a remote server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment (values blank for files outside this project).
    pub env: BTreeMap<String, String>,
    /// Where it was found.
    pub found_in: Vec<FoundIn>,
    /// The registry has a server with this id.
    pub already_in_registry: bool,
}

impl From<CoreDiscovered> for DiscoveredServer {
    fn from(d: CoreDiscovered) -> Self {
        DiscoveredServer {
            key: d.key,
            command: d.command,
            args: d.args,
            transport: d.transport.map(Into::into),
            url: d.url,
            env: d.env,
            found_in: d
                .found_in
                .iter()
                .map(|p| FoundIn {
                    config_path: p.display().to_string(),
                })
                .collect(),
            already_in_registry: d.already_in_registry,
        }
    }
}

/// `POST /api/mcp-servers/scan`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpScanResult {
    /// Servers by key.
    pub discovered: Vec<DiscoveredServer>,
}

/// One server of `POST /api/mcp-servers/import`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportServer {
    /// Its key (slugged into the id).
    pub key: String,
    /// Display name (default: the key).
    pub name: Option<String>,
    /// Command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    #[serde(rename = "type")]
    pub transport: Option<Transport>,
    /// URL of a remote server.
    pub url: Option<String>,
    /// Environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Where it came from.
    pub source: Option<String>,
}

impl From<ImportServer> for NewMcpServer {
    fn from(s: ImportServer) -> Self {
        NewMcpServer {
            id: Some(openkit_core::registry::mcp::slug(&s.key)),
            name: s.name.filter(|n| !n.trim().is_empty()).unwrap_or(s.key),
            command: s.command,
            args: s.args,
            transport: s.transport.map(Into::into),
            url: s.url,
            env: s.env.unwrap_or_default(),
            source: s.source,
            ..NewMcpServer::default()
        }
    }
}

/// Body of `POST /api/mcp-servers/import`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ImportServersRequest {
    /// The servers to register.
    #[serde(default)]
    pub servers: Vec<ImportServer>,
}

/// `GET /api/mcp-env/:serverId`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpEnv {
    /// This project's overrides of the server's environment.
    pub env: BTreeMap<String, String>,
}

/// `PUT /api/mcp-env/:serverId`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct McpEnvSaved {
    /// Always `true`.
    pub success: True,
    /// The overrides now stored.
    pub env: BTreeMap<String, String>,
}

/// Body of `PUT /api/mcp-env/:serverId`: an empty object clears the overrides.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct McpEnvRequest {
    /// The overrides.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}
