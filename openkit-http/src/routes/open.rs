//! `/api/worktrees/:id/open-targets` and `/api/worktrees/:id/open`.

use axum::Json;
use axum::extract::State;
use openkit_core::open_targets::{self, OpenError};
use serde_json::{Map, Value};

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::open::{OpenRequest, OpenTarget, OpenTargets};
use crate::wire::{ErrorBody, Success, True};

/// `GET /api/worktrees/:id/open-targets`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/open-targets",
    tag = "open",
    summary = "Apps available to open a worktree in",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Available targets and the selected one", body = OpenTargets),
        (status = 400, description = "Invalid worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous worktree id", body = ErrorBody),
    )
)]
pub async fn targets(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OpenTargets>> {
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
    Ok(Json(OpenTargets {
        success: True,
        targets: available.iter().map(OpenTarget::from).collect(),
        selected_target: selected.map(str::to_string),
    }))
}

/// `POST /api/worktrees/:id/open`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/open",
    tag = "open",
    summary = "Open a worktree in a local app and remember the choice",
    params(("id" = String, Path, description = "Worktree id")),
    request_body = OpenRequest,
    responses(
        (status = 200, description = "Opened", body = Success),
        (status = 400, description = "Unknown target, the app is not available, or it failed to start", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous worktree id, or the config file does not parse", body = ErrorBody),
    )
)]
pub async fn open(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<OpenRequest>,
) -> ApiResult<Json<Success>> {
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
    Ok(Json(Success::new()))
}
