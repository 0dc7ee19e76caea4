//! `/api/mcp-servers` and `/api/mcp-env`: the MCP servers registry and its deployment to
//! the agents' configuration files.

use axum::Json;
use axum::extract::State;
use openkit_core::registry::deploy::ScanMode;
use openkit_core::registry::{RegistryError, Scope, Tool};

use crate::error::{ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::mcp_servers::{
    CreateMcpServerRequest, DeployServerRequest, DiscoveredServer, ImportServersRequest,
    McpDeploymentStatus, McpEnv, McpEnvRequest, McpEnvSaved, McpScanResult, McpServerDefinition,
    McpServerList, McpServerParams, McpServerResponse, McpServerSaved, ServerPlacement,
    UpdateMcpServerRequest,
};
use crate::wire::registry::{Imported, ScanRequest};
use crate::wire::{ErrorBody, Success, True};

/// The tool and scope of a deploy request.
pub(crate) fn tool_and_scope(
    tool: Option<&str>,
    scope: Option<&str>,
) -> Result<(Tool, Scope), RegistryError> {
    Ok((
        Tool::parse(tool.unwrap_or_default())?,
        Scope::parse(scope.unwrap_or_default())?,
    ))
}

/// `GET /api/mcp-servers`
#[utoipa::path(
    get,
    path = "/api/mcp-servers",
    tag = "mcp-servers",
    summary = "List the registered MCP servers",
    params(McpServerParams),
    responses(
        (status = 200, description = "Servers by id, filtered by `q` and `tag`", body = McpServerList),
        (status = 409, description = "`~/.openkit/mcp-servers.json` does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<McpServerParams>,
) -> ApiResult<Json<McpServerList>> {
    let servers = state
        .on_registries(move |r| r.mcp().list(params.q.as_deref(), params.tag.as_deref()))
        .await?;
    Ok(Json(McpServerList {
        servers: servers.into_iter().map(McpServerDefinition::from).collect(),
    }))
}

/// `GET /api/mcp-servers/deployment-status`
#[utoipa::path(
    get,
    path = "/api/mcp-servers/deployment-status",
    tag = "mcp-servers",
    summary = "Where every registry server is deployed, read from the agents' files",
    responses(
        (status = 200, description = "Server id → agent → global/project presence, paths and drift", body = McpDeploymentStatus),
        (status = 409, description = "`~/.openkit/mcp-servers.json` does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn deployment_status(
    State(state): State<AppState>,
) -> ApiResult<Json<McpDeploymentStatus>> {
    let status = state.on_registries(|r| r.server_status()).await?;
    Ok(Json(McpDeploymentStatus {
        status: status
            .iter()
            .map(|(id, tools)| {
                let tools = tools
                    .iter()
                    .map(|(tool, d)| (tool.as_str().to_string(), ServerPlacement::from(d)))
                    .collect();
                (id.clone(), tools)
            })
            .collect(),
    }))
}

/// `GET /api/mcp-servers/:id`
#[utoipa::path(
    get,
    path = "/api/mcp-servers/{id}",
    tag = "mcp-servers",
    summary = "One registered MCP server",
    params(("id" = String, Path, description = "Server id")),
    responses(
        (status = 200, description = "The server", body = McpServerResponse),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<McpServerResponse>> {
    let server = state.on_registries(move |r| r.mcp().get(&id)).await?;
    Ok(Json(McpServerResponse {
        server: server.into(),
    }))
}

/// `POST /api/mcp-servers`
#[utoipa::path(
    post,
    path = "/api/mcp-servers",
    tag = "mcp-servers",
    summary = "Register an MCP server",
    request_body = CreateMcpServerRequest,
    responses(
        (status = 200, description = "The server as stored", body = McpServerSaved),
        (status = 400, description = "Missing name, neither command nor url, a bad id, url or env name (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 409, description = "`Server \"<id>\" already exists` (`MCP_SERVER_EXISTS`), or the registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateMcpServerRequest>,
) -> ApiResult<Json<McpServerSaved>> {
    let server = state
        .on_registries(move |r| r.mcp().create(body.into()))
        .await?;
    Ok(Json(McpServerSaved {
        success: True,
        server: server.into(),
    }))
}

/// `PATCH /api/mcp-servers/:id`
#[utoipa::path(
    patch,
    path = "/api/mcp-servers/{id}",
    tag = "mcp-servers",
    summary = "Change a registered MCP server",
    params(("id" = String, Path, description = "Server id")),
    request_body = UpdateMcpServerRequest,
    responses(
        (status = 200, description = "The server as stored", body = McpServerSaved),
        (status = 400, description = "The result would be invalid (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateMcpServerRequest>,
) -> ApiResult<Json<McpServerSaved>> {
    let server = state
        .on_registries(move |r| r.mcp().update(&id, body.into()))
        .await?;
    Ok(Json(McpServerSaved {
        success: True,
        server: server.into(),
    }))
}

/// `DELETE /api/mcp-servers/:id`
#[utoipa::path(
    delete,
    path = "/api/mcp-servers/{id}",
    tag = "mcp-servers",
    summary = "Remove a server from the registry (deployments stay)",
    params(("id" = String, Path, description = "Server id")),
    responses(
        (status = 200, description = "Removed", body = Success),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    state.on_registries(move |r| r.mcp().delete(&id)).await?;
    Ok(Json(Success::new()))
}

/// `POST /api/mcp-servers/:id/deploy`
#[utoipa::path(
    post,
    path = "/api/mcp-servers/{id}/deploy",
    tag = "mcp-servers",
    summary = "Write a registry server into an agent's configuration file",
    description = "Edits only the server's entry (comments and formatting of the rest of \
        the file are kept); the registry env is merged with this project's overrides \
        (`/api/mcp-env/{serverId}`).",
    params(("id" = String, Path, description = "Server id")),
    request_body = DeployServerRequest,
    responses(
        (status = 200, description = "Deployed", body = Success),
        (status = 400, description = "Unknown tool (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The agent's file does not parse and was left untouched (`AGENT_CONFIG_UNPARSEABLE`), or a registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
        (status = 503, description = "A global deployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn deploy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<DeployServerRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.tool.as_deref(), body.scope.as_deref())?;
            r.deploy_server(&id, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/mcp-servers/:id/undeploy`
#[utoipa::path(
    post,
    path = "/api/mcp-servers/{id}/undeploy",
    tag = "mcp-servers",
    summary = "Remove a registry server from an agent's configuration file",
    params(("id" = String, Path, description = "Server id")),
    request_body = DeployServerRequest,
    responses(
        (status = 200, description = "Not deployed there any more", body = Success),
        (status = 400, description = "Unknown tool (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The agent's file does not parse and was left untouched (`AGENT_CONFIG_UNPARSEABLE`), or a registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
        (status = 503, description = "A global undeployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn undeploy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<DeployServerRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.tool.as_deref(), body.scope.as_deref())?;
            r.undeploy_server(&id, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/mcp-servers/scan`
#[utoipa::path(
    post,
    path = "/api/mcp-servers/scan",
    tag = "mcp-servers",
    summary = "Find MCP servers in the agents' configuration files",
    description = "`project` reads this project's agent files; `folder` the agent files \
        under `scanPath`; `device` the user's global files and project files under the \
        home directory (both bounded in depth and time). Env values of files outside \
        this project are blanked.",
    request_body = ScanRequest,
    responses(
        (status = 200, description = "Servers found, merged by key", body = McpScanResult),
        (status = 400, description = "Unknown mode or a bad `scanPath` (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 409, description = "The registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn scan(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ScanRequest>,
) -> ApiResult<Json<McpScanResult>> {
    let found = state
        .on_registries(move |r| r.scan_servers(&ScanMode::try_from(body)?))
        .await?;
    Ok(Json(McpScanResult {
        discovered: found.into_iter().map(DiscoveredServer::from).collect(),
    }))
}

/// `POST /api/mcp-servers/import`
#[utoipa::path(
    post,
    path = "/api/mcp-servers/import",
    tag = "mcp-servers",
    summary = "Register discovered servers (ids already taken are skipped)",
    request_body = ImportServersRequest,
    responses(
        (status = 200, description = "The ids registered", body = Imported),
        (status = 400, description = "An entry is invalid; nothing was imported (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 409, description = "The registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn import(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ImportServersRequest>,
) -> ApiResult<Json<Imported>> {
    let imported = state
        .on_registries(move |r| {
            r.import_servers(body.servers.into_iter().map(Into::into).collect())
        })
        .await?;
    Ok(Json(Imported {
        success: True,
        imported,
    }))
}

/// `GET /api/mcp-env/:serverId`
#[utoipa::path(
    get,
    path = "/api/mcp-env/{serverId}",
    tag = "mcp-servers",
    summary = "This project's env overrides of a server",
    params(("serverId" = String, Path, description = "Server id")),
    responses(
        (status = 200, description = "The overrides (stored in `.openkit/mcp-env.json`)", body = McpEnv),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get_env(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<McpEnv>> {
    let env = state
        .on_registries(move |r| r.mcp().env_overrides(&id))
        .await?;
    Ok(Json(McpEnv { env }))
}

/// `PUT /api/mcp-env/:serverId`
#[utoipa::path(
    put,
    path = "/api/mcp-env/{serverId}",
    tag = "mcp-servers",
    summary = "Set this project's env overrides of a server (`{}` clears them)",
    params(("serverId" = String, Path, description = "Server id")),
    request_body = McpEnvRequest,
    responses(
        (status = 200, description = "The overrides stored", body = McpEnvSaved),
        (status = 400, description = "A name that is not an environment variable (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 404, description = "`Server not found` (`MCP_SERVER_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A registry file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn put_env(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<McpEnvRequest>,
) -> ApiResult<Json<McpEnvSaved>> {
    let env = state
        .on_registries(move |r| r.mcp().set_env_overrides(&id, body.env))
        .await?;
    Ok(Json(McpEnvSaved { success: True, env }))
}
