//! Dev servers and ports: start/stop, `/api/ports`, `/api/discover`, `/api/detect-env`.

use axum::Json;
use axum::extract::State;
use openkit_core::devserver::{detect_env_mapping, discover};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;

/// `POST /api/worktrees/:id/start`: idempotent; a running server is returned as is.
pub async fn start(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (worktree_id, rt) = state.workbench().start_worktree(&id).await?;
    Ok(Json(json!({
        "success": true,
        "worktreeId": worktree_id,
        "status": rt.status,
        "pid": rt.pid,
        "ports": rt.ports,
        "offset": rt.offset,
    })))
}

/// `POST /api/worktrees/:id/stop`
pub async fn stop(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (worktree_id, was_running) = state.workbench().stop_worktree(&id).await?;
    Ok(Json(
        json!({ "success": true, "worktreeId": worktree_id, "wasRunning": was_running }),
    ))
}

/// `GET /api/ports`
pub async fn ports(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let config = state.workbench().config().load_or_default()?;
    Ok(Json(
        json!({ "discovered": config.ports.discovered, "offsetStep": config.ports.offset_step }),
    ))
}

/// `POST /api/discover`: runs `startCommand` in the project root until its listening
/// ports are stable (or a cap), kills it, saves `ports.discovered` and rebuilds
/// `envMapping` from the `.env*` files.
pub async fn discover_ports(State(state): State<AppState>) -> ApiResult<Json<Value>> {
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
        return Ok(Json(
            json!({ "success": false, "ports": [], "logs": found.logs, "error": found.error }),
        ));
    }
    let mut patch = Map::new();
    patch.insert("ports".into(), json!({ "discovered": found.ports }));
    workbench.config().patch(patch)?;
    let ports = found.ports.clone();
    let mapping = tokio::task::spawn_blocking(move || detect_env_mapping(&root, &ports))
        .await
        .unwrap_or_default();
    workbench.config().set_field("envMapping", json!(mapping))?;
    Ok(Json(
        json!({ "success": true, "ports": found.ports, "logs": found.logs }),
    ))
}

/// `POST /api/detect-env`: `envMapping` from the `.env*` files and the discovered ports.
pub async fn detect_env(State(state): State<AppState>) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "success": true, "envMapping": mapping })))
}
