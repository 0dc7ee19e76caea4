//! `/api/worktrees`: list, create, rename, delete, logs, recover.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openkit_core::{CreateWorktree, RecoverAction, RenameWorktree};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;

/// `GET /api/worktrees`
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let worktrees = state.workbench().list_worktrees().await?;
    Ok(Json(json!({ "worktrees": worktrees })))
}

/// Body of `POST /api/worktrees`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    branch: String,
    id: Option<String>,
    name: Option<String>,
}

/// `POST /api/worktrees`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .workbench()
        .create_worktree(CreateWorktree {
            branch: body.branch,
            id: body.id,
            name: body.name,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "worktree": created.worktree })),
    ))
}

/// Body of `PATCH /api/worktrees/:id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: Option<String>,
    branch: Option<String>,
}

/// `PATCH /api/worktrees/:id`
pub async fn rename(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<RenameBody>,
) -> ApiResult<Json<Value>> {
    let worktree = state
        .workbench()
        .rename_worktree(
            &id,
            RenameWorktree {
                name: body.name,
                branch: body.branch,
            },
        )
        .await?;
    Ok(Json(json!({ "success": true, "worktree": worktree })))
}

/// `DELETE /api/worktrees/:id`
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let report = state.workbench().delete_worktree(&id).await?;
    Ok(Json(json!({
        "success": true,
        "worktreeId": report.worktree_id,
        "removedTerminalSessions": report.removed_terminal_sessions,
        "removedRunningProcess": report.removed_running_process,
        "clearedLinks": report.cleared_links,
        "deleteOpId": report.delete_op_id,
    })))
}

/// `GET /api/worktrees/:id/logs`
pub async fn logs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let logs = state.workbench().worktree_logs(&id).await?;
    Ok(Json(json!({ "logs": logs })))
}

/// Body of `POST /api/worktrees/:id/recover`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    action: Option<String>,
    branch: Option<String>,
}

/// `POST /api/worktrees/:id/recover`
pub async fn recover(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<RecoverBody>,
) -> ApiResult<Json<Value>> {
    let action = match body.action.as_deref() {
        Some("reuse") => RecoverAction::Reuse,
        Some("recreate") => RecoverAction::Recreate,
        _ => {
            return Err(ApiError::bad_request(
                "INVALID_RECOVER_ACTION",
                "action must be \"reuse\" or \"recreate\"",
            ));
        }
    };
    let branch = body
        .branch
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let worktree = state
        .workbench()
        .recover_worktree(&id, action, branch)
        .await?;
    Ok(Json(json!({
        "success": true,
        "action": body.action,
        "worktree": worktree,
    })))
}
