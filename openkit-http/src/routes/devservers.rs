//! Dev servers and ports: start/stop, `/api/ports`, `/api/discover`, `/api/detect-env`.

use axum::Json;
use axum::extract::State;
use openkit_core::devserver::{detect_env_mapping, discover};
use serde_json::{Map, json};

use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use crate::wire::devservers::{
    DetectEnvResponse, DevServerStarted, DevServerStopped, DiscoverResponse, DiscoveryEmpty,
    DiscoveryFound, PortsResponse,
};
use crate::wire::{ErrorBody, False, True};

/// `POST /api/worktrees/:id/start`: idempotent; a running server is returned as is.
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/start",
    tag = "devservers",
    summary = "Start a worktree's dev server",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Started, or already running", body = DevServerStarted),
        (status = 400, description = "No `startCommand` (`NO_START_COMMAND`), the command could not start (`START_FAILED`), or the worktree is being created", body = ErrorBody),
        (status = 404, description = "No such worktree, or no config", body = ErrorBody),
        (status = 409, description = "Ambiguous id or busy worktree", body = ErrorBody),
        (status = 503, description = "No dev-server runner is configured (`DEV_SERVERS_UNAVAILABLE`)", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DevServerStarted>> {
    let (worktree_id, rt) = state.workbench().start_worktree(&id).await?;
    Ok(Json(DevServerStarted {
        success: True,
        worktree_id,
        status: rt.status.into(),
        pid: rt.pid,
        ports: rt.ports,
        offset: rt.offset,
    }))
}

/// `POST /api/worktrees/:id/stop`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/stop",
    tag = "devservers",
    summary = "Stop a worktree's dev server",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Stopped (or nothing ran)", body = DevServerStopped),
        (status = 400, description = "Invalid worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous id", body = ErrorBody),
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DevServerStopped>> {
    let (worktree_id, was_running) = state.workbench().stop_worktree(&id).await?;
    Ok(Json(DevServerStopped {
        success: True,
        worktree_id,
        was_running,
    }))
}

/// `GET /api/ports`
#[utoipa::path(
    get,
    path = "/api/ports",
    tag = "devservers",
    summary = "Discovered ports and the offset step",
    responses(
        (status = 200, description = "Ports configuration", body = PortsResponse),
        (status = 409, description = "The config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn ports(State(state): State<AppState>) -> ApiResult<Json<PortsResponse>> {
    let config = state.workbench().config().load_or_default()?;
    Ok(Json(PortsResponse {
        discovered: config.ports.discovered,
        offset_step: config.ports.offset_step,
    }))
}

/// `POST /api/discover`: runs `startCommand` in the project root until its listening
/// ports are stable (or a cap), kills it, saves `ports.discovered` and rebuilds
/// `envMapping` from the `.env*` files.
#[utoipa::path(
    post,
    path = "/api/discover",
    tag = "devservers",
    summary = "Discover the dev server's ports",
    responses(
        (status = 200, description = "What discovery found (`success: false` when no port listened)", body = DiscoverResponse),
        (status = 400, description = "No `startCommand` is configured (`NO_START_COMMAND`, with empty `ports` and `logs`), or the config is invalid", body = ErrorBody),
        (status = 404, description = "The project has no config (`CONFIG_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn discover_ports(State(state): State<AppState>) -> ApiResult<Json<DiscoverResponse>> {
    let workbench = state.workbench();
    let config = workbench
        .config()
        .load()?
        .ok_or(openkit_core::ConfigError::NotInitialized)?;
    if config.start_command.trim().is_empty() {
        return Err(
            ApiError::bad_request("NO_START_COMMAND", "No startCommand is configured")
                .with("ports", json!([]))
                .with("logs", json!([])),
        );
    }
    let root = workbench.paths().project_root().to_path_buf();
    let cwd = root.join(&config.project_dir);
    let found = discover(&config.start_command, &cwd, state.inner.discover_cap).await;
    if found.ports.is_empty() {
        return Ok(Json(DiscoverResponse::Empty(DiscoveryEmpty {
            success: False,
            ports: Vec::new(),
            logs: found.logs,
            error: found.error,
        })));
    }
    let mut patch = Map::new();
    patch.insert("ports".into(), json!({ "discovered": found.ports }));
    workbench.config().patch(patch)?;
    let ports = found.ports.clone();
    let mapping = tokio::task::spawn_blocking(move || detect_env_mapping(&root, &ports))
        .await
        .unwrap_or_default();
    workbench.config().set_field("envMapping", json!(mapping))?;
    Ok(Json(DiscoverResponse::Found(DiscoveryFound {
        success: True,
        ports: found.ports,
        logs: found.logs,
    })))
}

/// `POST /api/detect-env`: `envMapping` from the `.env*` files and the discovered ports.
#[utoipa::path(
    post,
    path = "/api/detect-env",
    tag = "devservers",
    summary = "Rebuild `envMapping` from the .env files",
    responses(
        (status = 200, description = "The new mapping (saved to the config)", body = DetectEnvResponse),
        (status = 400, description = "The result would be an invalid config", body = ErrorBody),
        (status = 404, description = "The project has no config (`CONFIG_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn detect_env(State(state): State<AppState>) -> ApiResult<Json<DetectEnvResponse>> {
    let workbench = state.workbench();
    let config = workbench
        .config()
        .load()?
        .ok_or(openkit_core::ConfigError::NotInitialized)?;
    let root = workbench.paths().project_root().to_path_buf();
    let ports = config.ports.discovered.clone();
    let mapping = tokio::task::spawn_blocking(move || detect_env_mapping(&root, &ports))
        .await
        .unwrap_or_default();
    workbench.config().set_field("envMapping", json!(mapping))?;
    Ok(Json(DetectEnvResponse {
        success: True,
        env_mapping: mapping,
    }))
}
