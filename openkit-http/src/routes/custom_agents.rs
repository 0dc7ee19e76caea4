//! `/api/claude/custom-agents`: custom agents of the OpenKit registry, copied into each
//! agent's agents directory.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use openkit_core::registry::deploy::ScanMode;
use openkit_core::registry::{RegistryError, Scope, Tool};

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::custom_agents::{
    AgentScanResult, CreateCustomAgentRequest, CustomAgentDetail, CustomAgentList,
    CustomAgentResponse, CustomAgentSaved, CustomAgentSummary, DiscoveredAgent,
    ImportAgentsRequest, UpdateCustomAgentRequest,
};
use crate::wire::registry::{AgentScopeRequest, Imported, ScanRequest};
use crate::wire::{ErrorBody, Success, True};

use super::mcp_servers::tool_and_scope;

/// The scope (default `project`) and the agents of a create or import.
fn deploy_targets(
    scope: Option<&str>,
    agents: Option<&[String]>,
) -> Result<(Scope, Vec<Tool>), RegistryError> {
    let scope = Scope::parse(scope.unwrap_or("project"))?;
    let tools = agents
        .unwrap_or_default()
        .iter()
        .map(|a| Tool::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((scope, tools))
}

/// `GET /api/claude/custom-agents`
#[utoipa::path(
    get,
    path = "/api/claude/custom-agents",
    tag = "custom-agents",
    summary = "List the custom agents with where each is deployed",
    responses((status = 200, description = "Agents by name", body = CustomAgentList))
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<CustomAgentList>> {
    let agents = state.on_registries(|r| r.custom_agents().list()).await?;
    Ok(Json(CustomAgentList {
        agents: agents.iter().map(CustomAgentSummary::from).collect(),
    }))
}

/// `GET /api/claude/custom-agents/:id`
#[utoipa::path(
    get,
    path = "/api/claude/custom-agents/{id}",
    tag = "custom-agents",
    summary = "A custom agent's Markdown",
    params(("id" = String, Path, description = "`custom::<name>`")),
    responses(
        (status = 200, description = "The agent", body = CustomAgentResponse),
        (status = 400, description = "`Invalid custom agent id` (`INVALID_CUSTOM_AGENT_ID`)", body = ErrorBody),
        (status = 404, description = "`Custom agent not found` (`CUSTOM_AGENT_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CustomAgentResponse>> {
    let agent = state
        .on_registries(move |r| r.custom_agents().get(&id))
        .await?;
    Ok(Json(CustomAgentResponse {
        agent: CustomAgentDetail::from(&agent),
    }))
}

/// `POST /api/claude/custom-agents`
#[utoipa::path(
    post,
    path = "/api/claude/custom-agents",
    tag = "custom-agents",
    summary = "Create a custom agent (and deploy it to `deployAgents`)",
    request_body = CreateCustomAgentRequest,
    responses(
        (status = 200, description = "The new agent", body = CustomAgentSaved),
        (status = 400, description = "No usable name (`INVALID_REGISTRY_ENTRY`), unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 409, description = "The name is taken (`CUSTOM_AGENT_EXISTS`)", body = ErrorBody),
        (status = 503, description = "A global deployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateCustomAgentRequest>,
) -> ApiResult<Json<CustomAgentSaved>> {
    let agent = state
        .on_registries(move |r| {
            let (scope, tools) =
                deploy_targets(body.scope.as_deref(), body.deploy_agents.as_deref())?;
            r.custom_agents().create(body.agent(), scope, &tools)
        })
        .await?;
    Ok(Json(CustomAgentSaved {
        success: True,
        agent: CustomAgentDetail::from(&agent),
    }))
}

/// `PATCH /api/claude/custom-agents/:id`
#[utoipa::path(
    patch,
    path = "/api/claude/custom-agents/{id}",
    tag = "custom-agents",
    summary = "Replace a custom agent's Markdown and rewrite its deployed copies",
    params(("id" = String, Path, description = "`custom::<name>`")),
    request_body = UpdateCustomAgentRequest,
    responses(
        (status = 200, description = "The agent as stored", body = CustomAgentSaved),
        (status = 400, description = "`Invalid custom agent id` (`INVALID_CUSTOM_AGENT_ID`) or no `content` (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 404, description = "`Custom agent not found` (`CUSTOM_AGENT_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateCustomAgentRequest>,
) -> ApiResult<Json<CustomAgentSaved>> {
    let agent = state
        .on_registries(move |r| {
            let content = body.content.ok_or(RegistryError::Invalid {
                field: "content",
                reason: "is required".into(),
            })?;
            r.custom_agents().update(&id, &content)
        })
        .await?;
    Ok(Json(CustomAgentSaved {
        success: True,
        agent: CustomAgentDetail::from(&agent),
    }))
}

/// `DELETE /api/claude/custom-agents/:id`
#[utoipa::path(
    delete,
    path = "/api/claude/custom-agents/{id}",
    tag = "custom-agents",
    summary = "Delete a custom agent (and its deployed copies not edited by hand)",
    params(("id" = String, Path, description = "`custom::<name>`")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "`Invalid custom agent id` (`INVALID_CUSTOM_AGENT_ID`)", body = ErrorBody),
        (status = 404, description = "`Custom agent not found` (`CUSTOM_AGENT_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| r.custom_agents().delete(&id))
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/custom-agents/:id/deploy`
#[utoipa::path(
    post,
    path = "/api/claude/custom-agents/{id}/deploy",
    tag = "custom-agents",
    summary = "Copy a custom agent into one agent's agents directory",
    params(("id" = String, Path, description = "`custom::<name>`")),
    request_body = AgentScopeRequest,
    responses(
        (status = 200, description = "Deployed", body = Success),
        (status = 400, description = "Invalid id (`INVALID_CUSTOM_AGENT_ID`), unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Custom agent not found` (`CUSTOM_AGENT_NOT_FOUND`)", body = ErrorBody),
        (status = 503, description = "A global deployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn deploy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<AgentScopeRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
            r.custom_agents().deploy(&id, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/custom-agents/:id/undeploy`
#[utoipa::path(
    post,
    path = "/api/claude/custom-agents/{id}/undeploy",
    tag = "custom-agents",
    summary = "Remove a custom agent's copy from one agent's agents directory",
    params(("id" = String, Path, description = "`custom::<name>`")),
    request_body = AgentScopeRequest,
    responses(
        (status = 200, description = "Not deployed there any more", body = Success),
        (status = 400, description = "Invalid id (`INVALID_CUSTOM_AGENT_ID`), unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Custom agent not found` (`CUSTOM_AGENT_NOT_FOUND`)", body = ErrorBody),
        (status = 503, description = "A global undeployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn undeploy(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<AgentScopeRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
            r.custom_agents().undeploy(&id, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/custom-agents/scan`
#[utoipa::path(
    post,
    path = "/api/claude/custom-agents/scan",
    tag = "custom-agents",
    summary = "Find agent Markdown files in the agents' directories (project, folder or device)",
    request_body = ScanRequest,
    responses(
        (status = 200, description = "Agent files found", body = AgentScanResult),
        (status = 400, description = "Unknown mode or a bad `scanPath` (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
    )
)]
pub async fn scan(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ScanRequest>,
) -> ApiResult<Json<AgentScanResult>> {
    let found = state
        .on_registries(move |r| r.custom_agents().scan(&ScanMode::try_from(body)?))
        .await?;
    Ok(Json(AgentScanResult {
        discovered: found.into_iter().map(DiscoveredAgent::from).collect(),
    }))
}

/// `POST /api/claude/custom-agents/import`
#[utoipa::path(
    post,
    path = "/api/claude/custom-agents/import",
    tag = "custom-agents",
    summary = "Copy agent files into the registry and deploy them to `deployAgents`",
    request_body = ImportAgentsRequest,
    responses(
        (status = 200, description = "The names imported (names already there are skipped)", body = Imported),
        (status = 400, description = "A bad name or file (`INVALID_REGISTRY_ENTRY`), unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 503, description = "A global deployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn import(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ImportAgentsRequest>,
) -> ApiResult<Json<Imported>> {
    let imported = state
        .on_registries(move |r| {
            let (scope, tools) =
                deploy_targets(body.scope.as_deref(), body.deploy_agents.as_deref())?;
            let files = body
                .agents
                .into_iter()
                .map(|a| (a.name, PathBuf::from(a.agent_path)))
                .collect();
            r.custom_agents().import(files, scope, &tools)
        })
        .await?;
    Ok(Json(Imported {
        success: True,
        imported,
    }))
}
