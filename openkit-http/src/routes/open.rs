//! `/api/worktrees/:id/open-targets` and `/api/worktrees/:id/open`.

use axum::Json;
use axum::extract::State;
use openkit_core::open_targets::{self, OpenError};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::state::AppState;

/// `GET /api/worktrees/:id/open-targets`
pub async fn targets(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state.workbench().resolve(&id).await?;
    let available = open_targets::detect(&state.inner.search_path);
    let persisted = state
        .workbench()
        .config()
        .load()
        .ok()
        .flatten()
        .and_then(|c| c.open_project_target);
    let selected = open_targets::selected(&available, persisted.as_deref());
    Ok(Json(json!({
        "success": true,
        "targets": available,
        "selectedTarget": selected,
    })))
}

/// Body of `POST /api/worktrees/:id/open`.
#[derive(Debug, Deserialize)]
pub struct OpenBody {
    target: Option<String>,
}

/// `POST /api/worktrees/:id/open`
pub async fn open(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<OpenBody>,
) -> ApiResult<Json<Value>> {
    let target = body.target.unwrap_or_else(|| "file-manager".into());
    if !open_targets::is_known_target(&target) {
        return Err(OpenError::UnknownTarget(target).into());
    }
    let worktree = state.workbench().worktree(&id).await?;
    open_targets::open_with(
        state.workbench().git().runner(),
        &target,
        &worktree.path,
        &state.inner.search_path,
    )?;
    // Remember the choice when the project has a config to remember it in.
    let config = state.workbench().config();
    if config.paths().config_file().exists() {
        let mut patch = Map::new();
        patch.insert("openProjectTarget".into(), Value::String(target));
        config.patch(patch)?;
    }
    Ok(Json(json!({ "success": true })))
}
