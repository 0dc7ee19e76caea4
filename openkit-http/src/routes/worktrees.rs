//! `/api/worktrees`: list, create, rename, delete, logs, recover.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openkit_core::worktree::WorktreeInfo as CoreWorktreeInfo;
use openkit_core::{CreateWorktree, RecoverAction, RenameWorktree};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::ErrorBody;
use crate::wire::worktrees::{
    CreateWorktreeRequest, DeleteWorktreeResponse, RecoverWorktreeRequest, RecoverWorktreeResponse,
    RenameWorktreeRequest, WorktreeList, WorktreeLogs, WorktreeResponse, worktree_list,
};

/// `GET /api/worktrees`
#[utoipa::path(
    get,
    path = "/api/worktrees",
    tag = "worktrees",
    summary = "List worktrees with their status",
    responses(
        (status = 200, description = "The main checkout first, then every worktree", body = WorktreeList),
        (status = 409, description = "A config file could not be parsed (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Response> {
    let worktrees = state.workbench().worktrees().await?;
    let body = state.inner.list_body.encoded(&worktrees, |list| {
        serde_json::to_vec(&WorktreeList {
            worktrees: worktree_list(list),
        })
        .expect("wire types serialize")
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The encoded body of the last worktree list, reused while the workbench hands out the
/// same list (most lists: nothing changed), so a list costs no serialisation then.
#[derive(Default)]
pub struct ListBody(Mutex<Option<(Arc<Vec<CoreWorktreeInfo>>, Bytes)>>);

impl ListBody {
    pub(crate) fn encoded(
        &self,
        list: &Arc<Vec<CoreWorktreeInfo>>,
        encode: impl FnOnce(&[CoreWorktreeInfo]) -> Vec<u8>,
    ) -> Bytes {
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((of, body)) = cached.as_ref()
            && Arc::ptr_eq(of, list)
        {
            return body.clone();
        }
        let body = Bytes::from(encode(list));
        *cached = Some((Arc::clone(list), body.clone()));
        body
    }
}

/// `POST /api/worktrees`
#[utoipa::path(
    post,
    path = "/api/worktrees",
    tag = "worktrees",
    summary = "Create a worktree",
    request_body = CreateWorktreeRequest,
    responses(
        (status = 201, description = "Created; dependencies install in the background", body = WorktreeResponse),
        (status = 400, description = "Invalid id or branch, or the worktree exists (`WORKTREE_EXISTS` with `worktreeId`)", body = ErrorBody),
        (status = 409, description = "The id is being created or removed right now (`WORKTREE_BUSY`)", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateWorktreeRequest>,
) -> ApiResult<(StatusCode, Json<WorktreeResponse>)> {
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
        Json(WorktreeResponse::from(&created.worktree)),
    ))
}

/// `PATCH /api/worktrees/:id`
#[utoipa::path(
    patch,
    path = "/api/worktrees/{id}",
    tag = "worktrees",
    summary = "Rename a worktree (directory and/or branch)",
    params(("id" = String, Path, description = "Worktree id (resolved case-insensitively when unique)")),
    request_body = RenameWorktreeRequest,
    responses(
        (status = 200, description = "Renamed", body = WorktreeResponse),
        (status = 400, description = "Invalid name or branch, the root worktree, or the new id exists", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id or busy worktree", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn rename(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<RenameWorktreeRequest>,
) -> ApiResult<Json<WorktreeResponse>> {
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
    Ok(Json(WorktreeResponse::from(&worktree)))
}

/// `DELETE /api/worktrees/:id`
#[utoipa::path(
    delete,
    path = "/api/worktrees/{id}",
    tag = "worktrees",
    summary = "Remove a worktree with its dev server, terminals and links",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Removed", body = DeleteWorktreeResponse),
        (status = 400, description = "Invalid id, the root worktree, or the removal failed (`WORKTREE_REMOVE_FAILED` with `deleteOpId`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`) or busy worktree", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeleteWorktreeResponse>> {
    let report = state.workbench().delete_worktree(&id).await?;
    Ok(Json(DeleteWorktreeResponse::from(&report)))
}

/// `GET /api/worktrees/:id/logs`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/logs",
    tag = "worktrees",
    summary = "Dev-server output of a worktree",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "The kept output lines", body = WorktreeLogs),
        (status = 400, description = "Invalid worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous id", body = ErrorBody),
    )
)]
pub async fn logs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorktreeLogs>> {
    let logs = state.workbench().worktree_logs(&id).await?;
    Ok(Json(WorktreeLogs { logs }))
}

/// `POST /api/worktrees/:id/recover`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/recover",
    tag = "worktrees",
    summary = "Recover a worktree whose checkout went missing",
    params(("id" = String, Path, description = "Worktree id")),
    request_body = RecoverWorktreeRequest,
    responses(
        (status = 200, description = "Recovered", body = RecoverWorktreeResponse),
        (status = 400, description = "Invalid action (`INVALID_RECOVER_ACTION`) or branch, the root worktree, or recovery failed", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous id or busy worktree", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn recover(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<RecoverWorktreeRequest>,
) -> ApiResult<Json<RecoverWorktreeResponse>> {
    let (action, name) = match body.action.as_deref() {
        Some("reuse") => (RecoverAction::Reuse, "reuse"),
        Some("recreate") => (RecoverAction::Recreate, "recreate"),
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
    Ok(Json(RecoverWorktreeResponse {
        success: crate::wire::True,
        action: name.to_string(),
        worktree: (&worktree).into(),
    }))
}
