//! `/api/linear/*`: Linear through [`openkit_integrations::linear::LinearService`].
//!
//! Every route but `status` and `setup` answers 400 `LINEAR_NOT_CONFIGURED` before
//! Linear is set up. Linear's own failures keep their upstream codes (its
//! authentication error is a 502 `UPSTREAM_UNAUTHORIZED`, an unknown entity a 404
//! `UPSTREAM_NOT_FOUND`, its rate limit a 429 with `Retry-After`).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use openkit_integrations::secret::Secret;

use crate::error::{ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::routes::tracker::{list_error, proxied_attachment, task_answer};
use crate::state::AppState;
use crate::wire::linear::{
    LinearConfigRequest, LinearDescriptionRequest, LinearIssueList, LinearIssueResponse,
    LinearPriorityOption, LinearPriorityOptions, LinearSetupRequest, LinearStatusBody,
    LinearStatusOptions, LinearStatusRequest, LinearTaskRequest, LinearTitleRequest,
};
use crate::wire::tracker::{
    AttachmentQuery, CommentBody, IssueQuery, IssueWorktreeCreated, IssueWorktreeReused,
};
use crate::wire::{ErrorBody, Success};

/// `GET /api/linear/status`
#[utoipa::path(
    get,
    path = "/api/linear/status",
    tag = "linear",
    summary = "Whether Linear is configured, and its settings",
    responses(
        (status = 200, description = "The status; the API key is never shown", body = LinearStatusBody),
        (status = 409, description = "The `linear` section of integrations.json is invalid", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<LinearStatusBody>> {
    Ok(Json((&state.integrations().linear().status()?).into()))
}

/// `POST /api/linear/setup`
#[utoipa::path(
    post,
    path = "/api/linear/setup",
    tag = "linear",
    summary = "Save an API key after checking it against Linear",
    request_body = LinearSetupRequest,
    responses(
        (status = 200, description = "Checked and saved (0600)", body = Success),
        (status = 400, description = "`Connection failed: ...` (`LINEAR_CONNECTION_FAILED`) or an empty key", body = ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LinearSetupRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .setup(Secret::new(body.api_key))
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/linear/config`
#[utoipa::path(
    patch,
    path = "/api/linear/config",
    tag = "linear",
    summary = "Change the default team and the tracker settings",
    request_body = LinearConfigRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 400, description = "Not configured or an invalid value (`INVALID_INPUT`); nothing is written", body = ErrorBody),
    )
)]
pub async fn config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LinearConfigRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .update_config(body.default_team_key, &body.settings.into())?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/linear/credentials`
#[utoipa::path(
    delete,
    path = "/api/linear/credentials",
    tag = "linear",
    summary = "Disconnect Linear: remove its API key and settings",
    responses((status = 200, description = "Removed (also when none was saved)", body = Success))
)]
pub async fn delete_credentials(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().linear().disconnect()?;
    Ok(Json(Success::new()))
}

/// `GET /api/linear/status-options`
#[utoipa::path(
    get,
    path = "/api/linear/status-options",
    tag = "linear",
    summary = "Workflow states of the default team (every team's names once without one)",
    responses(
        (status = 200, description = "The states", body = LinearStatusOptions),
        (status = 400, description = "Not configured; `options: []`", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn status_options(State(state): State<AppState>) -> ApiResult<Json<LinearStatusOptions>> {
    let states = state
        .integrations()
        .linear()
        .status_options()
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(states.as_slice().into()))
}

/// `GET /api/linear/issues/:identifier/status-options`
#[utoipa::path(
    get,
    path = "/api/linear/issues/{identifier}/status-options",
    tag = "linear",
    summary = "Workflow states of the issue's team",
    params(("identifier" = String, Path, description = "Issue identifier")),
    responses(
        (status = 200, description = "The states", body = LinearStatusOptions),
        (status = 400, description = "Invalid identifier or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn issue_status_options(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
) -> ApiResult<Json<LinearStatusOptions>> {
    let states = state
        .integrations()
        .linear()
        .issue_status_options(&identifier)
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(states.as_slice().into()))
}

/// `GET /api/linear/priority-options`
#[utoipa::path(
    get,
    path = "/api/linear/priority-options",
    tag = "linear",
    summary = "Linear's priorities",
    responses(
        (status = 200, description = "The priorities", body = LinearPriorityOptions),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn priority_options(
    State(state): State<AppState>,
) -> ApiResult<Json<LinearPriorityOptions>> {
    let options = state
        .integrations()
        .linear()
        .priority_options()
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(LinearPriorityOptions {
        options: options
            .into_iter()
            .map(|(value, label)| LinearPriorityOption { value, label })
            .collect(),
    }))
}

/// `PATCH /api/linear/issues/:identifier/status`
#[utoipa::path(
    patch,
    path = "/api/linear/issues/{identifier}/status",
    tag = "linear",
    summary = "Move an issue to a state of its team",
    params(("identifier" = String, Path, description = "Issue identifier")),
    request_body = LinearStatusRequest,
    responses(
        (status = 200, description = "Moved", body = Success),
        (status = 400, description = "Not a state of the issue's team (`INVALID_INPUT`), invalid identifier, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn set_status(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody<LinearStatusRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .set_status(&identifier, &body.status_name)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/linear/issues/:identifier/description`
#[utoipa::path(
    patch,
    path = "/api/linear/issues/{identifier}/description",
    tag = "linear",
    summary = "Replace an issue's description (Markdown)",
    params(("identifier" = String, Path, description = "Issue identifier")),
    request_body = LinearDescriptionRequest,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Invalid identifier or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn set_description(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody<LinearDescriptionRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .set_description(&identifier, &body.description)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/linear/issues/:identifier/title`
#[utoipa::path(
    patch,
    path = "/api/linear/issues/{identifier}/title",
    tag = "linear",
    summary = "Replace an issue's title",
    params(("identifier" = String, Path, description = "Issue identifier")),
    request_body = LinearTitleRequest,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Empty title, invalid identifier, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn set_title(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody<LinearTitleRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .set_title(&identifier, &body.title)
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/linear/issues/:identifier/comments`
#[utoipa::path(
    post,
    path = "/api/linear/issues/{identifier}/comments",
    tag = "linear",
    summary = "Add a comment (Markdown)",
    params(("identifier" = String, Path, description = "Issue identifier")),
    request_body = CommentBody,
    responses(
        (status = 200, description = "Added", body = Success),
        (status = 400, description = "Empty comment, invalid identifier, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn add_comment(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .add_comment(&identifier, &body.comment)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/linear/issues/:identifier/comments/:commentId`
#[utoipa::path(
    patch,
    path = "/api/linear/issues/{identifier}/comments/{commentId}",
    tag = "linear",
    summary = "Replace a comment's text",
    params(
        ("identifier" = String, Path, description = "Issue identifier"),
        ("commentId" = String, Path, description = "Comment id"),
    ),
    request_body = CommentBody,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Empty comment, invalid ids, not configured", body = ErrorBody),
        (status = 404, description = "Unknown comment", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn edit_comment(
    State(state): State<AppState>,
    ApiPath((identifier, comment_id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .edit_comment(&identifier, &comment_id, &body.comment)
        .await?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/linear/issues/:identifier/comments/:commentId`
#[utoipa::path(
    delete,
    path = "/api/linear/issues/{identifier}/comments/{commentId}",
    tag = "linear",
    summary = "Delete a comment",
    params(
        ("identifier" = String, Path, description = "Issue identifier"),
        ("commentId" = String, Path, description = "Comment id"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid ids, not configured", body = ErrorBody),
        (status = 404, description = "Unknown comment", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    ApiPath((identifier, comment_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .linear()
        .delete_comment(&identifier, &comment_id)
        .await?;
    Ok(Json(Success::new()))
}

/// `GET /api/linear/issues`
#[utoipa::path(
    get,
    path = "/api/linear/issues",
    tag = "linear",
    summary = "Open issues assigned to the user",
    params(IssueQuery),
    responses(
        (status = 200, description = "The issues (at most 1000, newest update first); also starts the configured cleanup of saved issue data", body = LinearIssueList),
        (status = 400, description = "Not configured; `issues: []`", body = ErrorBody),
        (status = 429, description = "Linear's rate limit (`Retry-After`)", body = ErrorBody),
        (status = 502, description = "Linear failed, is unreachable or refused the key; `issues: []`", body = ErrorBody),
    )
)]
pub async fn issues(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<IssueQuery>,
) -> ApiResult<Json<LinearIssueList>> {
    let issues = state
        .integrations()
        .linear()
        .issues(query.query.as_deref())
        .await
        .map_err(|e| list_error("issues", e))?;
    Ok(Json(LinearIssueList {
        issues: issues.iter().map(Into::into).collect(),
    }))
}

/// `GET /api/linear/issues/:identifier`
#[utoipa::path(
    get,
    path = "/api/linear/issues/{identifier}",
    tag = "linear",
    summary = "One issue with its comments and attachments",
    params(("identifier" = String, Path, description = "Issue identifier")),
    responses(
        (status = 200, description = "The issue; with `saveOn: view` it is saved to `.openkit/issues/linear/<ID>/issue.json` and its uploads downloaded in the background", body = LinearIssueResponse),
        (status = 400, description = "Invalid identifier or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    ApiPath(identifier): ApiPath<String>,
) -> ApiResult<Json<LinearIssueResponse>> {
    let issue = state
        .integrations()
        .linear()
        .issue(&identifier, true)
        .await?;
    Ok(Json((&issue).into()))
}

/// `GET /api/linear/attachment`
#[utoipa::path(
    get,
    path = "/api/linear/attachment",
    tag = "linear",
    summary = "A file on Linear's upload host, fetched with the API key",
    params(AttachmentQuery),
    responses(
        (status = 200, description = "The raw file with Linear's `Content-Type`; `inline` only for script-free images, `nosniff`, `Content-Security-Policy: sandbox`",
            content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "Not on Linear's upload host, a redirect, larger than 50 MiB (`ATTACHMENT_URL_REFUSED`, `INVALID_INPUT`); not configured", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn attachment(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AttachmentQuery>,
) -> ApiResult<Response> {
    let file = state.integrations().linear().attachment(&query.url).await?;
    let fallback = query
        .url
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("attachment");
    Ok(proxied_attachment(
        &file.content_type,
        file.disposition.as_deref(),
        fallback,
        file.bytes,
    ))
}

/// `POST /api/linear/task`
#[utoipa::path(
    post,
    path = "/api/linear/task",
    tag = "linear",
    summary = "A worktree for a Linear issue: reused when one matches its identifier (case-insensitively), else created on the branch the rule gives",
    request_body = LinearTaskRequest,
    responses(
        (status = 201, description = "Created and linked", body = IssueWorktreeCreated),
        (status = 200, description = "An existing worktree was linked and reused", body = IssueWorktreeReused),
        (status = 400, description = "Invalid identifier or branch, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Linear failed", body = ErrorBody),
    )
)]
pub async fn task(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LinearTaskRequest>,
) -> ApiResult<Response> {
    let linear = state.integrations().linear();
    let (issue_ref, issue) = linear.issue_for_task(&body.identifier).await?;
    let outcome = state
        .workbench()
        .create_worktree_for_issue(&issue_ref, &issue.summary.title, body.branch)
        .await?;
    // The worktree exists now: failing to save the issue's data must not undo it.
    if let Err(e) = linear.save_for_worktree(&issue) {
        tracing::warn!(issue = %issue_ref, error = %e, "saving a Linear issue for its worktree");
    }
    Ok(task_answer(outcome))
}
