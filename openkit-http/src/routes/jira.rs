//! `/api/jira/*`: Jira Cloud through [`openkit_integrations::jira::JiraService`].
//!
//! Every route but `status`, `setup` and the OAuth start answers 400
//! `JIRA_NOT_CONFIGURED` before Jira is set up. Jira's own failures keep their upstream
//! codes: its 401 is a 502 `UPSTREAM_UNAUTHORIZED`, its 404 a 404
//! `UPSTREAM_NOT_FOUND`, its 429 a 429 with `Retry-After`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use openkit_integrations::secret::Secret;

use crate::error::{ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::routes::tracker::{list_error, proxied_attachment, task_answer};
use crate::state::AppState;
use crate::wire::jira::{
    JiraConfigRequest, JiraDescriptionRequest, JiraIssueList, JiraIssueResponse, JiraOAuthCallback,
    JiraOAuthStart, JiraOAuthStartRequest, JiraPriorityRequest, JiraProjectStatusOptions,
    JiraSetupRequest, JiraStatusBody, JiraStatusName, JiraStatusRequest, JiraSummaryRequest,
    JiraTaskRequest, JiraTypeRequest,
};
use crate::wire::tracker::{
    AttachmentQuery, CommentBody, IdNameOptions, IssueQuery, IssueWorktreeCreated,
    IssueWorktreeReused,
};
use crate::wire::{ErrorBody, Success, True};

/// `GET /api/jira/status`
#[utoipa::path(
    get,
    path = "/api/jira/status",
    tag = "jira",
    summary = "Whether Jira is configured, and its settings",
    responses(
        (status = 200, description = "The status; credentials are never shown", body = JiraStatusBody),
        (status = 409, description = "The `jira` section of integrations.json is invalid (`INVALID_INTEGRATIONS_FILE`)", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<JiraStatusBody>> {
    let status = state.integrations().jira().status()?;
    Ok(Json((&status).into()))
}

/// `POST /api/jira/setup`
#[utoipa::path(
    post,
    path = "/api/jira/setup",
    tag = "jira",
    summary = "Save API-token credentials after checking them against Jira",
    request_body = JiraSetupRequest,
    responses(
        (status = 200, description = "Checked and saved (0600)", body = Success),
        (status = 400, description = "`Connection failed: ...` (`JIRA_CONNECTION_FAILED`: refused credentials, unreachable or invalid site URL), or empty fields (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<JiraSetupRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .setup(&body.base_url, &body.email, Secret::new(body.token))
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/config`
#[utoipa::path(
    patch,
    path = "/api/jira/config",
    tag = "jira",
    summary = "Change the default project and the tracker settings",
    request_body = JiraConfigRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 400, description = "Not configured (`JIRA_NOT_CONFIGURED`) or an invalid value (`INVALID_INPUT`); nothing is written", body = ErrorBody),
    )
)]
pub async fn config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<JiraConfigRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .update_config(body.default_project_key, &body.settings.into())?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/jira/credentials`
#[utoipa::path(
    delete,
    path = "/api/jira/credentials",
    tag = "jira",
    summary = "Disconnect Jira: remove its credentials and settings",
    responses((status = 200, description = "Removed (also when none were saved)", body = Success))
)]
pub async fn delete_credentials(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().jira().disconnect()?;
    Ok(Json(Success::new()))
}

/// `GET /api/jira/status-options`
#[utoipa::path(
    get,
    path = "/api/jira/status-options",
    tag = "jira",
    summary = "Status names of the default project's workflows",
    responses(
        (status = 200, description = "The statuses", body = JiraProjectStatusOptions),
        (status = 400, description = "`defaultProjectKey is not configured` (`JIRA_NO_DEFAULT_PROJECT`) or Jira not configured; the envelope also carries `options: []`", body = ErrorBody),
        (status = 404, description = "Jira has no such project", body = ErrorBody),
        (status = 502, description = "Jira failed or refused the credentials", body = ErrorBody),
    )
)]
pub async fn project_status_options(
    State(state): State<AppState>,
) -> ApiResult<Json<JiraProjectStatusOptions>> {
    let names = state
        .integrations()
        .jira()
        .project_status_options()
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(JiraProjectStatusOptions {
        options: names
            .into_iter()
            .map(|name| JiraStatusName { name })
            .collect(),
    }))
}

/// `GET /api/jira/issues/:key/status-options`
#[utoipa::path(
    get,
    path = "/api/jira/issues/{key}/status-options",
    tag = "jira",
    summary = "The statuses an issue can move to now (its transitions)",
    params(("key" = String, Path, description = "Issue key")),
    responses(
        (status = 200, description = "Transition id and target status", body = IdNameOptions),
        (status = 400, description = "Invalid key or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn issue_status_options(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<IdNameOptions>> {
    let options = state
        .integrations()
        .jira()
        .issue_status_options(&key)
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(options.into()))
}

/// `GET /api/jira/priorities`
#[utoipa::path(
    get,
    path = "/api/jira/priorities",
    tag = "jira",
    summary = "Jira's priorities",
    responses(
        (status = 200, description = "The priorities", body = IdNameOptions),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn priorities(State(state): State<AppState>) -> ApiResult<Json<IdNameOptions>> {
    let options = state
        .integrations()
        .jira()
        .priorities()
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(options.into()))
}

/// `GET /api/jira/issues/:key/type-options`
#[utoipa::path(
    get,
    path = "/api/jira/issues/{key}/type-options",
    tag = "jira",
    summary = "The issue types an issue can have (Jira's edit metadata)",
    params(("key" = String, Path, description = "Issue key")),
    responses(
        (status = 200, description = "The types", body = IdNameOptions),
        (status = 400, description = "Invalid key or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn type_options(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<IdNameOptions>> {
    let options = state
        .integrations()
        .jira()
        .type_options(&key)
        .await
        .map_err(|e| list_error("options", e))?;
    Ok(Json(options.into()))
}

/// `PATCH /api/jira/issues/:key/status`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/status",
    tag = "jira",
    summary = "Move an issue to a status through the transition leading there",
    params(("key" = String, Path, description = "Issue key")),
    request_body = JiraStatusRequest,
    responses(
        (status = 200, description = "Moved", body = Success),
        (status = 400, description = "No transition leads to that status (`INVALID_INPUT`, the message lists those that do), invalid key, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn set_status(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<JiraStatusRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .transition(&key, &body.status_name)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/issues/:key/priority`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/priority",
    tag = "jira",
    summary = "Set an issue's priority by name",
    params(("key" = String, Path, description = "Issue key")),
    request_body = JiraPriorityRequest,
    responses(
        (status = 200, description = "Set", body = Success),
        (status = 400, description = "Jira refused the priority (`UPSTREAM_REJECTED`), invalid key, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn set_priority(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<JiraPriorityRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .set_priority(&key, &body.priority_name)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/issues/:key/type`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/type",
    tag = "jira",
    summary = "Set an issue's type by name",
    params(("key" = String, Path, description = "Issue key")),
    request_body = JiraTypeRequest,
    responses(
        (status = 200, description = "Set", body = Success),
        (status = 400, description = "Not a type the issue can have (`INVALID_INPUT`), invalid key, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn set_type(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<JiraTypeRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .set_type(&key, &body.type_name)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/issues/:key/description`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/description",
    tag = "jira",
    summary = "Replace an issue's description (sent to Jira as ADF)",
    params(("key" = String, Path, description = "Issue key")),
    request_body = JiraDescriptionRequest,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Invalid key, not configured, or refused by Jira", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn set_description(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<JiraDescriptionRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .set_description(&key, &body.description)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/issues/:key/summary`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/summary",
    tag = "jira",
    summary = "Replace an issue's summary (title)",
    params(("key" = String, Path, description = "Issue key")),
    request_body = JiraSummaryRequest,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Empty or multi-line summary, invalid key, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn set_summary(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<JiraSummaryRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .set_summary(&key, &body.summary)
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/jira/issues/:key/comments`
#[utoipa::path(
    post,
    path = "/api/jira/issues/{key}/comments",
    tag = "jira",
    summary = "Add a comment (sent to Jira as ADF)",
    params(("key" = String, Path, description = "Issue key")),
    request_body = CommentBody,
    responses(
        (status = 200, description = "Added", body = Success),
        (status = 400, description = "Empty comment, invalid key, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn add_comment(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .add_comment(&key, &body.comment)
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/jira/issues/:key/comments/:commentId`
#[utoipa::path(
    patch,
    path = "/api/jira/issues/{key}/comments/{commentId}",
    tag = "jira",
    summary = "Replace a comment's text",
    params(
        ("key" = String, Path, description = "Issue key"),
        ("commentId" = String, Path, description = "Comment id"),
    ),
    request_body = CommentBody,
    responses(
        (status = 200, description = "Replaced", body = Success),
        (status = 400, description = "Empty comment, invalid key or comment id, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue or comment", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn edit_comment(
    State(state): State<AppState>,
    ApiPath((key, comment_id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .edit_comment(&key, &comment_id, &body.comment)
        .await?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/jira/issues/:key/comments/:commentId`
#[utoipa::path(
    delete,
    path = "/api/jira/issues/{key}/comments/{commentId}",
    tag = "jira",
    summary = "Delete a comment",
    params(
        ("key" = String, Path, description = "Issue key"),
        ("commentId" = String, Path, description = "Comment id"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid key or comment id, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue or comment", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    ApiPath((key, comment_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .delete_comment(&key, &comment_id)
        .await?;
    Ok(Json(Success::new()))
}

/// `GET /api/jira/issues`
#[utoipa::path(
    get,
    path = "/api/jira/issues",
    tag = "jira",
    summary = "Issues assigned to the user that are not done",
    params(IssueQuery),
    responses(
        (status = 200, description = "The issues (at most 1000, newest update first); also starts the configured cleanup of saved issue data", body = JiraIssueList),
        (status = 400, description = "Not configured; the envelope also carries `issues: []`", body = ErrorBody),
        (status = 429, description = "Jira's rate limit (`Retry-After`)", body = ErrorBody),
        (status = 502, description = "Jira failed, is unreachable or refused the credentials; `issues: []`", body = ErrorBody),
    )
)]
pub async fn issues(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<IssueQuery>,
) -> ApiResult<Json<JiraIssueList>> {
    let issues = state
        .integrations()
        .jira()
        .issues(query.query.as_deref())
        .await
        .map_err(|e| list_error("issues", e))?;
    Ok(Json(JiraIssueList {
        issues: issues.iter().map(Into::into).collect(),
    }))
}

/// `GET /api/jira/issues/:key`
#[utoipa::path(
    get,
    path = "/api/jira/issues/{key}",
    tag = "jira",
    summary = "One issue, its description and comments rendered from ADF to Markdown",
    params(("key" = String, Path, description = "Issue key")),
    responses(
        (status = 200, description = "The issue; with `saveOn: view` it is saved to `.openkit/issues/jira/<KEY>/issue.json` and its attachments are downloaded in the background", body = JiraIssueResponse),
        (status = 400, description = "Invalid key or not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<JiraIssueResponse>> {
    let issue = state.integrations().jira().issue(&key, true).await?;
    Ok(Json((&issue).into()))
}

/// `GET /api/jira/attachment`
#[utoipa::path(
    get,
    path = "/api/jira/attachment",
    tag = "jira",
    summary = "An attachment's content, fetched with the saved credentials",
    params(AttachmentQuery),
    responses(
        (status = 200, description = "The raw file with Jira's `Content-Type`; `inline` only for script-free images, `nosniff`, `Content-Security-Policy: sandbox`",
            content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "Not Jira's attachment endpoint on the configured site, or a redirect off it (`ATTACHMENT_URL_REFUSED`); larger than 50 MiB; not configured", body = ErrorBody),
        (status = 404, description = "Unknown attachment", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn attachment(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AttachmentQuery>,
) -> ApiResult<Response> {
    let content = state.integrations().jira().attachment(&query.url).await?;
    Ok(proxied_attachment(
        &content.content_type,
        content.disposition.as_deref(),
        "attachment",
        content.bytes,
    ))
}

/// `POST /api/jira/task`
#[utoipa::path(
    post,
    path = "/api/jira/task",
    tag = "jira",
    summary = "A worktree for a Jira issue: reused when one matches its key (case-insensitively), else created on the branch the rule gives",
    request_body = JiraTaskRequest,
    responses(
        (status = 201, description = "Created and linked", body = IssueWorktreeCreated),
        (status = 200, description = "An existing worktree was linked and reused", body = IssueWorktreeReused),
        (status = 400, description = "Invalid key or branch, not configured", body = ErrorBody),
        (status = 404, description = "Unknown issue", body = ErrorBody),
        (status = 502, description = "Jira failed", body = ErrorBody),
    )
)]
pub async fn task(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<JiraTaskRequest>,
) -> ApiResult<Response> {
    let jira = state.integrations().jira();
    let (issue_ref, issue) = jira.issue_for_task(&body.issue_key).await?;
    let outcome = state
        .workbench()
        .create_worktree_for_issue(&issue_ref, &issue.summary.summary, body.branch)
        .await?;
    // The worktree exists now: failing to save the issue's data must not undo it.
    if let Err(e) = jira.save_for_worktree(&issue) {
        tracing::warn!(issue = %issue_ref, error = %e, "saving a Jira issue for its worktree");
    }
    Ok(task_answer(outcome))
}

/// `POST /api/jira/oauth/start`
#[utoipa::path(
    post,
    path = "/api/jira/oauth/start",
    tag = "jira",
    summary = "Start an OAuth 2.0 (3LO) login: the Atlassian URL to open",
    request_body = JiraOAuthStartRequest,
    responses(
        (status = 200, description = "Open `authorizeUrl`; its `state` is accepted once within ten minutes", body = JiraOAuthStart),
        (status = 400, description = "Missing client id or secret, or a redirect URI that is not http(s)", body = ErrorBody),
    )
)]
pub async fn oauth_start(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<JiraOAuthStartRequest>,
) -> ApiResult<Json<JiraOAuthStart>> {
    let authorize_url = state.integrations().jira().start_oauth(
        &body.client_id,
        Secret::new(body.client_secret),
        &body.redirect_uri,
    )?;
    Ok(Json(JiraOAuthStart {
        success: True,
        authorize_url,
    }))
}

/// `GET /api/jira/oauth/callback`
#[utoipa::path(
    get,
    path = "/api/jira/oauth/callback",
    tag = "jira",
    summary = "Finish an OAuth 2.0 (3LO) login: check the state, exchange the code, save the tokens",
    params(JiraOAuthCallback),
    responses(
        (status = 200, description = "Signed in and saved", body = Success),
        (status = 400, description = "Unknown, used or expired `state`, or no code (`JIRA_OAUTH_FAILED`); Atlassian refused the code (`JIRA_CONNECTION_FAILED`)", body = ErrorBody),
    )
)]
pub async fn oauth_callback(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<JiraOAuthCallback>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .jira()
        .finish_oauth(&query.code, &query.state)
        .await?;
    Ok(Json(Success::new()))
}
