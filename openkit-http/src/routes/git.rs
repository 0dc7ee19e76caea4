//! Local git operations on a worktree: diff list, file contents, commit, push.
//!
//! Worktree ids resolve like every worktree route (exact, then unique case-insensitive;
//! several matches are a 409). Commit and push are made on behalf of the [`RequestActor`]:
//! the `X-OpenKit-Actor` header (`human`, or `agent:<worktree-id>` as the `openkit` CLI
//! sends it from an agent's terminal); without it the caller is a human. Agents are
//! refused (403 `AGENT_GIT_POLICY_DENIED`) when the effective git policy denies.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use openkit_core::git::{Actor, DiffFileQuery};
use serde::Serialize;

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::ErrorBody;
use crate::wire::git::{
    CommitRequest, CommitResponse, DiffErrorBody, DiffFile, DiffFileErrorBody, DiffFileParams,
    DiffFileResponse, DiffParams, DiffResponse, PushResponse,
};

/// The header naming who a request is made for: `human` or `agent:<scope>`.
pub const ACTOR_HEADER: &str = "x-openkit-actor";

/// Who a request is made for, from the [`ACTOR_HEADER`] (absent: a human). A value that
/// is neither `human` nor `agent:<scope>` is a 400 `INVALID_ACTOR`.
#[derive(Debug, Clone)]
pub struct RequestActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for RequestActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(ACTOR_HEADER) else {
            return Ok(RequestActor(Actor::Human));
        };
        value
            .to_str()
            .ok()
            .and_then(Actor::parse)
            .map(RequestActor)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_ACTOR",
                    "X-OpenKit-Actor must be \"human\" or \"agent:<worktree-id>\"",
                )
            })
    }
}

/// Parses a boolean query value (`true`/`1`, `false`/`0`, absent or empty = false).
fn flag(name: &str, value: Option<&str>) -> ApiResult<bool> {
    match value.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("Invalid {name} \"{other}\": use true or false"),
        )),
    }
}

/// An error answered with the envelope inside an area's own failure shape.
pub(crate) fn failure<T: Serialize>(err: ApiError, shape: impl FnOnce(ErrorBody) -> T) -> Response {
    let status = err.status();
    (status, Json(shape(err.into_body()))).into_response()
}

/// `GET /api/worktrees/:id/diff`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/diff",
    tag = "git",
    summary = "Changed files of a worktree (uncommitted, or everything since the base branch)",
    params(("id" = String, Path, description = "Worktree id"), DiffParams),
    responses(
        (status = 200, description = "The changed files with line counts", body = DiffResponse),
        (status = 400, description = "Invalid `includeCommitted` (`INVALID_QUERY`) or the base branch exists nowhere (`BASE_BRANCH_NOT_FOUND`)", body = DiffErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = DiffErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`) or a checkout that cannot be opened (`WORKTREE_CHECKOUT_UNAVAILABLE`)", body = DiffErrorBody),
    )
)]
pub async fn diff(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DiffParams>,
) -> Result<Json<DiffResponse>, Response> {
    let answer = async {
        let include = flag("includeCommitted", params.include_committed.as_deref())?;
        let diff = state.workbench().worktree_diff(&id, include).await?;
        Ok::<_, ApiError>(DiffResponse {
            success: crate::wire::True,
            files: diff.files.iter().map(DiffFile::from).collect(),
            base_branch: diff.base_branch,
        })
    };
    answer.await.map(Json).map_err(|e| {
        failure(e, |envelope| DiffErrorBody {
            files: Vec::new(),
            base_branch: String::new(),
            envelope,
        })
    })
}

/// `GET /api/worktrees/:id/diff/file`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/diff/file",
    tag = "git",
    summary = "Old and new content of one changed file (for a diff editor)",
    params(("id" = String, Path, description = "Worktree id"), DiffFileParams),
    responses(
        (status = 200, description = "Both sides as text", body = DiffFileResponse),
        (status = 400, description = "A path outside the worktree (`INVALID_FILE_PATH`), a missing path (`PATH_REQUIRED`), an unknown status (`INVALID_STATUS`), a side over 2 MiB (`FILE_TOO_LARGE`), a binary file (`BINARY_FILE`), invalid `includeCommitted` (`INVALID_QUERY`) or no base branch (`BASE_BRANCH_NOT_FOUND`)", body = DiffFileErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`) or file (`FILE_NOT_FOUND`)", body = DiffFileErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`) or a checkout that cannot be opened", body = DiffFileErrorBody),
    )
)]
pub async fn diff_file(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DiffFileParams>,
) -> Result<Json<DiffFileResponse>, Response> {
    let answer = async {
        let include_committed = flag("includeCommitted", params.include_committed.as_deref())?;
        let path = params
            .path
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::bad_request("PATH_REQUIRED", "path is required"))?;
        let contents = state
            .workbench()
            .worktree_diff_file(
                &id,
                DiffFileQuery {
                    path,
                    status: params.status.filter(|s| !s.is_empty()),
                    include_committed,
                    old_path: params.old_path,
                },
            )
            .await?;
        Ok::<_, ApiError>(DiffFileResponse::from(contents))
    };
    answer.await.map(Json).map_err(|e| {
        failure(e, |envelope| DiffFileErrorBody {
            old_content: String::new(),
            new_content: String::new(),
            envelope,
        })
    })
}

/// `POST /api/worktrees/:id/commit`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/commit",
    tag = "git",
    summary = "Commit every change of a worktree (untracked files included)",
    params(
        ("id" = String, Path, description = "Worktree id"),
        ("X-OpenKit-Actor" = Option<String>, Header, description = "`human` (default) or `agent:<worktree-id>`: agents are subject to the git policy"),
    ),
    request_body = CommitRequest,
    responses(
        (status = 200, description = "Committed (after the commit-message rule)", body = CommitResponse),
        (status = 400, description = "Empty message (`COMMIT_MESSAGE_REQUIRED`), nothing to commit (`NOTHING_TO_COMMIT`), detached HEAD (`DETACHED_HEAD`), git or a hook refused (`COMMIT_FAILED`), or a bad `X-OpenKit-Actor` (`INVALID_ACTOR`)", body = ErrorBody),
        (status = 403, description = "The agent git policy denies (`AGENT_GIT_POLICY_DENIED`), or an agent acts outside its worktree (`AGENT_SCOPE_MISMATCH`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn commit(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CommitRequest>,
) -> ApiResult<Json<CommitResponse>> {
    let message = body.message.unwrap_or_default();
    let outcome = state
        .workbench()
        .commit_worktree(&actor, &id, &message)
        .await?;
    Ok(Json(CommitResponse::from(&outcome)))
}

/// `POST /api/worktrees/:id/push`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/push",
    tag = "git",
    summary = "Push a worktree's branch (setting its upstream on the first push)",
    params(
        ("id" = String, Path, description = "Worktree id"),
        ("X-OpenKit-Actor" = Option<String>, Header, description = "`human` (default) or `agent:<worktree-id>`: agents are subject to the git policy"),
    ),
    responses(
        (status = 200, description = "Pushed", body = PushResponse),
        (status = 400, description = "No remote (`NO_REMOTE`), no commits (`NO_COMMITS`), detached HEAD (`DETACHED_HEAD`), or a bad `X-OpenKit-Actor` (`INVALID_ACTOR`)", body = ErrorBody),
        (status = 403, description = "The agent git policy denies (`AGENT_GIT_POLICY_DENIED`), or an agent acts outside its worktree (`AGENT_SCOPE_MISMATCH`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The remote rejected the push, e.g. not a fast-forward (`PUSH_REJECTED`), or an ambiguous id (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
        (status = 502, description = "The remote refused our credentials (`GIT_AUTH_FAILED`), could not be reached (`REMOTE_UNREACHABLE`) or failed otherwise (`PUSH_FAILED`)", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn push(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RequestActor(actor): RequestActor,
) -> ApiResult<Json<PushResponse>> {
    let outcome = state.workbench().push_worktree(&actor, &id).await?;
    Ok(Json(PushResponse::from(&outcome)))
}
