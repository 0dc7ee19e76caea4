//! `/api/claude/plugins` and `/api/claude/agents`: Claude Code plugins and
//! marketplaces through the `claude` CLI (run by core's command runner), and the agent
//! definitions plugins bring.

use axum::Json;
use axum::extract::State;
use openkit_core::registry::RegistryError;
use openkit_core::registry::plugins::{ClaudePlugins, MarketplaceAction, PluginAction};
use serde_json::Value;

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::plugins::{
    AddMarketplaceRequest, AvailablePlugin, AvailablePlugins, InstallPluginRequest, Marketplace,
    MarketplaceList, PluginAgentDeployRequest, PluginAgentDetail, PluginAgentList,
    PluginAgentParams, PluginAgentResponse, PluginAgentSummary, PluginDebug, PluginDetail,
    PluginList, PluginResponse, PluginScopeRequest, PluginSummary,
};
use crate::wire::{ErrorBody, Success};

use super::mcp_servers::tool_and_scope;

fn plugins(state: &AppState) -> ClaudePlugins {
    let workbench = state.workbench();
    ClaudePlugins::discover(
        workbench.git().runner().clone(),
        workbench.paths().project_root().to_path_buf(),
    )
}

/// The envelope of a plugin error; without the CLI it also says `cliAvailable: false`.
fn plugin_error(err: RegistryError) -> ApiError {
    let unavailable = matches!(err, RegistryError::ClaudeCliUnavailable);
    let api = ApiError::from(err);
    if unavailable {
        api.with("cliAvailable", Value::Bool(false))
    } else {
        api
    }
}

/// `GET /api/claude/plugins`
#[utoipa::path(
    get,
    path = "/api/claude/plugins",
    tag = "plugins",
    summary = "Installed Claude plugins with component counts and health",
    description = "From `claude plugin list --json`, or from Claude Code's own files when the \
        CLI is missing (`cliAvailable: false`).",
    responses(
        (status = 200, description = "Installed plugins", body = PluginList),
        (status = 400, description = "`claude plugin list` failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out (`COMMAND_UNAVAILABLE`, `COMMAND_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<PluginList>> {
    let plugins = plugins(&state);
    let list = plugins.list().await.map_err(plugin_error)?;
    Ok(Json(PluginList {
        plugins: list.iter().map(PluginSummary::from).collect(),
        cli_available: plugins.cli_available(),
    }))
}

/// `GET /api/claude/plugins/debug`
#[utoipa::path(
    get,
    path = "/api/claude/plugins/debug",
    tag = "plugins",
    summary = "The raw output of `claude plugin list --json`",
    responses(
        (status = 200, description = "Raw and parsed output", body = PluginDebug),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`, `cliAvailable: false`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn debug(State(state): State<AppState>) -> ApiResult<Json<PluginDebug>> {
    let raw = plugins(&state).raw_list().await.map_err(plugin_error)?;
    Ok(Json(raw.into()))
}

/// `GET /api/claude/plugins/available`
#[utoipa::path(
    get,
    path = "/api/claude/plugins/available",
    tag = "plugins",
    summary = "Plugins offered by the configured marketplaces",
    responses((status = 200, description = "Available plugins", body = AvailablePlugins))
)]
pub async fn available(State(state): State<AppState>) -> ApiResult<Json<AvailablePlugins>> {
    let list = plugins(&state).available().await.map_err(plugin_error)?;
    Ok(Json(AvailablePlugins {
        available: list.into_iter().map(AvailablePlugin::from).collect(),
    }))
}

/// `GET /api/claude/plugins/:id`
#[utoipa::path(
    get,
    path = "/api/claude/plugins/{id}",
    tag = "plugins",
    summary = "An installed plugin with manifest, README, components and health",
    params(("id" = String, Path, description = "`name@marketplace` (or the name)")),
    responses(
        (status = 200, description = "The plugin", body = PluginResponse),
        (status = 400, description = "`claude plugin list` failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 404, description = "`Plugin not found` (`PLUGIN_NOT_FOUND`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`, `cliAvailable: false`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PluginResponse>> {
    let plugin = plugins(&state).get(&id).await.map_err(plugin_error)?;
    let readme = ClaudePlugins::readme(&plugin);
    Ok(Json(PluginResponse {
        plugin: PluginDetail::new(&plugin, readme),
    }))
}

/// `POST /api/claude/plugins/install`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/install",
    tag = "plugins",
    summary = "Install a plugin from a marketplace (`claude plugin install`)",
    request_body = InstallPluginRequest,
    responses(
        (status = 200, description = "Installed", body = Success),
        (status = 400, description = "A bad ref (`INVALID_REGISTRY_ENTRY`) or scope (`UNKNOWN_SCOPE`), or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn install(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InstallPluginRequest>,
) -> ApiResult<Json<Success>> {
    plugins(&state)
        .install(
            body.reference.as_deref().unwrap_or_default(),
            body.scope.as_deref().unwrap_or("user"),
        )
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// Runs one per-plugin action.
async fn act(
    state: &AppState,
    action: PluginAction,
    id: &str,
    scope: Option<&str>,
) -> ApiResult<Json<Success>> {
    plugins(state)
        .act(action, id, scope)
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/plugins/:id/uninstall`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/{id}/uninstall",
    tag = "plugins",
    summary = "Uninstall a plugin",
    params(("id" = String, Path, description = "`name@marketplace`")),
    request_body = PluginScopeRequest,
    responses(
        (status = 200, description = "Uninstalled", body = Success),
        (status = 400, description = "A bad id or scope, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn uninstall(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PluginScopeRequest>,
) -> ApiResult<Json<Success>> {
    act(&state, PluginAction::Uninstall, &id, body.scope.as_deref()).await
}

/// `POST /api/claude/plugins/:id/enable`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/{id}/enable",
    tag = "plugins",
    summary = "Enable a plugin",
    params(("id" = String, Path, description = "`name@marketplace`")),
    request_body = PluginScopeRequest,
    responses(
        (status = 200, description = "Enabled", body = Success),
        (status = 400, description = "A bad id or scope, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn enable(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PluginScopeRequest>,
) -> ApiResult<Json<Success>> {
    act(&state, PluginAction::Enable, &id, body.scope.as_deref()).await
}

/// `POST /api/claude/plugins/:id/disable`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/{id}/disable",
    tag = "plugins",
    summary = "Disable a plugin",
    params(("id" = String, Path, description = "`name@marketplace`")),
    request_body = PluginScopeRequest,
    responses(
        (status = 200, description = "Disabled", body = Success),
        (status = 400, description = "A bad id or scope, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PluginScopeRequest>,
) -> ApiResult<Json<Success>> {
    act(&state, PluginAction::Disable, &id, body.scope.as_deref()).await
}

/// `POST /api/claude/plugins/:id/update`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/{id}/update",
    tag = "plugins",
    summary = "Update a plugin to its latest version",
    params(("id" = String, Path, description = "`name@marketplace`")),
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "A bad id, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    act(&state, PluginAction::Update, &id, None).await
}

/// `GET /api/claude/plugins/marketplaces`
#[utoipa::path(
    get,
    path = "/api/claude/plugins/marketplaces",
    tag = "plugins",
    summary = "Configured plugin marketplaces",
    responses(
        (status = 200, description = "Marketplaces", body = MarketplaceList),
        (status = 400, description = "The CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn marketplaces(State(state): State<AppState>) -> ApiResult<Json<MarketplaceList>> {
    let list = plugins(&state).marketplaces().await.map_err(plugin_error)?;
    Ok(Json(MarketplaceList {
        marketplaces: list.into_iter().map(Marketplace::from).collect(),
    }))
}

/// `POST /api/claude/plugins/marketplaces`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/marketplaces",
    tag = "plugins",
    summary = "Add a marketplace source",
    request_body = AddMarketplaceRequest,
    responses(
        (status = 200, description = "Added", body = Success),
        (status = 400, description = "A bad source (`INVALID_REGISTRY_ENTRY`), or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn add_marketplace(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AddMarketplaceRequest>,
) -> ApiResult<Json<Success>> {
    plugins(&state)
        .marketplace(
            MarketplaceAction::Add,
            body.source.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/claude/plugins/marketplaces/:name`
#[utoipa::path(
    delete,
    path = "/api/claude/plugins/marketplaces/{name}",
    tag = "plugins",
    summary = "Remove a marketplace",
    params(("name" = String, Path, description = "Marketplace name")),
    responses(
        (status = 200, description = "Removed", body = Success),
        (status = 400, description = "A bad name, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn remove_marketplace(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    plugins(&state)
        .marketplace(MarketplaceAction::Remove, &name)
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/plugins/marketplaces/:name/update`
#[utoipa::path(
    post,
    path = "/api/claude/plugins/marketplaces/{name}/update",
    tag = "plugins",
    summary = "Refresh a marketplace's plugin index",
    params(("name" = String, Path, description = "Marketplace name")),
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "A bad name, or the CLI failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn update_marketplace(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    plugins(&state)
        .marketplace(MarketplaceAction::Update, &name)
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// `GET /api/claude/agents`
#[utoipa::path(
    get,
    path = "/api/claude/agents",
    tag = "plugins",
    summary = "Agent definitions of the installed plugins, with where each is deployed",
    responses(
        (status = 200, description = "Plugin agents", body = PluginAgentList),
        (status = 400, description = "`claude plugin list` failed (`PLUGIN_COMMAND_FAILED`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn agents(State(state): State<AppState>) -> ApiResult<Json<PluginAgentList>> {
    let plugins = plugins(&state);
    let agents = plugins.agents().await.map_err(plugin_error)?;
    Ok(Json(PluginAgentList {
        agents: agents.iter().map(PluginAgentSummary::from).collect(),
        cli_available: plugins.cli_available(),
    }))
}

async fn agent_detail(state: &AppState, id: &str) -> ApiResult<Json<PluginAgentResponse>> {
    let (agent, content) = plugins(state).agent(id).await.map_err(plugin_error)?;
    Ok(Json(PluginAgentResponse {
        agent: PluginAgentDetail {
            summary: PluginAgentSummary::from(&agent),
            install_path: agent
                .plugin
                .install_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            agent_path: agent.agent_path.display().to_string(),
            content,
        },
    }))
}

/// `GET /api/claude/agents/detail?id=`
#[utoipa::path(
    get,
    path = "/api/claude/agents/detail",
    tag = "plugins",
    summary = "A plugin agent's definition",
    params(PluginAgentParams),
    responses(
        (status = 200, description = "The agent and its Markdown", body = PluginAgentResponse),
        (status = 400, description = "`Invalid agent id` (`INVALID_AGENT_ID`)", body = ErrorBody),
        (status = 404, description = "`Plugin not found` (`PLUGIN_NOT_FOUND`) or `Agent definition not found` (`AGENT_DEFINITION_NOT_FOUND`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn agent_by_query(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PluginAgentParams>,
) -> ApiResult<Json<PluginAgentResponse>> {
    agent_detail(&state, params.id.as_deref().unwrap_or_default()).await
}

/// `GET /api/claude/agents/:id`
#[utoipa::path(
    get,
    path = "/api/claude/agents/{id}",
    tag = "plugins",
    summary = "A plugin agent's definition",
    params(("id" = String, Path, description = "`<plugin-id>::<agent-name>`")),
    responses(
        (status = 200, description = "The agent and its Markdown", body = PluginAgentResponse),
        (status = 400, description = "`Invalid agent id` (`INVALID_AGENT_ID`)", body = ErrorBody),
        (status = 404, description = "`Plugin not found` (`PLUGIN_NOT_FOUND`) or `Agent definition not found` (`AGENT_DEFINITION_NOT_FOUND`)", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out", body = ErrorBody),
    )
)]
pub async fn agent_by_path(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PluginAgentResponse>> {
    agent_detail(&state, &id).await
}

/// `POST /api/claude/agents/deploy`
#[utoipa::path(
    post,
    path = "/api/claude/agents/deploy",
    tag = "plugins",
    summary = "Deploy a plugin agent (other agents: copied; Claude: its plugin enabled)",
    request_body = PluginAgentDeployRequest,
    responses(
        (status = 200, description = "Deployed", body = Success),
        (status = 400, description = "Invalid id (`INVALID_AGENT_ID`), unknown agent or scope, or the CLI failed", body = ErrorBody),
        (status = 404, description = "`Plugin not found` or `Agent definition not found`", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out, or no home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn deploy_agent(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PluginAgentDeployRequest>,
) -> ApiResult<Json<Success>> {
    let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
    plugins(&state)
        .deploy_agent(body.id.as_deref().unwrap_or_default(), tool, scope)
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}

/// `POST /api/claude/agents/undeploy`
#[utoipa::path(
    post,
    path = "/api/claude/agents/undeploy",
    tag = "plugins",
    summary = "Undeploy a plugin agent (other agents: copy removed; Claude: its plugin disabled)",
    request_body = PluginAgentDeployRequest,
    responses(
        (status = 200, description = "Undeployed", body = Success),
        (status = 400, description = "Invalid id (`INVALID_AGENT_ID`), unknown agent or scope, or the CLI failed", body = ErrorBody),
        (status = 404, description = "`Plugin not found` or `Agent definition not found`", body = ErrorBody),
        (status = 501, description = "`Claude CLI not available` (`CLAUDE_CLI_UNAVAILABLE`)", body = ErrorBody),
        (status = 503, description = "The CLI could not start or timed out, or no home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn undeploy_agent(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PluginAgentDeployRequest>,
) -> ApiResult<Json<Success>> {
    let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
    plugins(&state)
        .undeploy_agent(body.id.as_deref().unwrap_or_default(), tool, scope)
        .await
        .map_err(plugin_error)?;
    Ok(Json(Success::new()))
}
