//! `/api/kiket/*`: Kiket (issues, workflows and transitions, the issue-to-worktree flow,
//! webhooks, SLA events), following the reference's Jira section.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use openkit_core::task_worktree::TaskWorktree;
use openkit_integrations::kiket::{
    IssueChanges, IssueFilter, IssueQuery, KiketConfigChange, KiketSetup, SlaFilter,
};
use openkit_integrations::secret::Secret;

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::routes::git::failure;
use crate::state::AppState;
use crate::wire::kiket::{
    IssueTaskResponse, KiketCommentAdded, KiketCommentRequest, KiketCommentWire,
    KiketConfigRequest, KiketIssueDetail, KiketIssueList, KiketIssueListError, KiketIssueResponse,
    KiketIssueSummary, KiketIssueUpdate, KiketIssueUpdated, KiketIssuesParams, KiketSetupRequest,
    KiketSlaEvent, KiketSlaEvents, KiketSlaParams, KiketStatusChanged, KiketStatusOption,
    KiketStatusOptions, KiketStatusRequest, KiketStatusResponse, KiketTaskRequest,
    KiketWebhookAccepted, KiketWorkflowWire, KiketWorkflows,
};
use crate::wire::{ErrorBody, Success, True};

/// The header carrying the webhook's HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "x-kiket-signature";
/// The header carrying the webhook's timestamp.
pub const TIMESTAMP_HEADER: &str = "x-kiket-timestamp";

/// `GET /api/kiket/status`
#[utoipa::path(
    get,
    path = "/api/kiket/status",
    tag = "kiket",
    summary = "Kiket's configuration and tracker settings (never a credential)",
    responses(
        (status = 200, description = "The status", body = KiketStatusResponse),
        (status = 409, description = "integrations.json does not parse (`CORRUPT_FILE`, `INVALID_INTEGRATIONS_FILE`)", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<KiketStatusResponse>> {
    let status = state.integrations().kiket().status()?;
    Ok(Json((&status).into()))
}

/// `POST /api/kiket/setup`
#[utoipa::path(
    post,
    path = "/api/kiket/setup",
    tag = "kiket",
    summary = "Configure Kiket; the credentials are checked against the API before saving",
    request_body = KiketSetupRequest,
    responses(
        (status = 200, description = "Saved; the `kiket` issue source is registered", body = Success),
        (status = 400, description = "`Connection failed: ...` (`KIKET_CONNECTION_FAILED`) or a missing field (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiketSetupRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kiket()
        .setup(KiketSetup {
            base_url: body.base_url,
            workspace_token: Secret::new(body.workspace_token),
            project_slug: body.project_slug,
            webhook_secret: body.webhook_secret.map(Secret::new),
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/kiket/config`
#[utoipa::path(
    patch,
    path = "/api/kiket/config",
    tag = "kiket",
    summary = "Change the project, webhook secret, assignee filter or tracker settings",
    request_body = KiketConfigRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 400, description = "Not configured (`KIKET_NOT_CONFIGURED`) or an invalid setting (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiketConfigRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kiket()
        .update_config(KiketConfigChange {
            project_slug: body.project_slug,
            webhook_secret: body.webhook_secret.map(|s| s.map(Secret::new)),
            assignee: body.assignee,
            settings: body.settings.into_patch(),
        })?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/kiket/credentials`
#[utoipa::path(
    delete,
    path = "/api/kiket/credentials",
    tag = "kiket",
    summary = "Disconnect Kiket (the issue source is unregistered; notes stay)",
    responses((status = 200, description = "Removed", body = Success))
)]
pub async fn delete_credentials(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().kiket().delete_credentials()?;
    Ok(Json(Success::new()))
}

/// `GET /api/kiket/issues`
#[utoipa::path(
    get,
    path = "/api/kiket/issues",
    tag = "kiket",
    summary = "Issues of the project (every page, 100 at a time), filtered",
    params(KiketIssuesParams),
    responses(
        (status = 200, description = "The issues", body = KiketIssueList),
        (status = 400, description = "Not configured (`KIKET_NOT_CONFIGURED`) or Kiket refused the query", body = KiketIssueListError),
        (status = 429, description = "Kiket's rate limit (`UPSTREAM_RATE_LIMITED`, `Retry-After`)", body = KiketIssueListError),
        (status = 502, description = "Kiket failed, refused the token, or it lacks `read:issues` (`KIKET_MISSING_SCOPE`)", body = KiketIssueListError),
    )
)]
pub async fn issues(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<KiketIssuesParams>,
) -> Result<Json<KiketIssueList>, Response> {
    let query = IssueQuery {
        query: params.query,
        filter: IssueFilter {
            state: params.state,
            label: params.label,
            assignee: params.assignee,
        },
    };
    match state.integrations().kiket().issues(&query).await {
        Ok(issues) => Ok(Json(KiketIssueList {
            issues: issues.iter().map(KiketIssueSummary::from).collect(),
        })),
        Err(e) => Err(failure(ApiError::from(e), |envelope| KiketIssueListError {
            issues: Vec::new(),
            envelope,
        })),
    }
}

/// `GET /api/kiket/issues/:key`
#[utoipa::path(
    get,
    path = "/api/kiket/issues/{key}",
    tag = "kiket",
    summary = "One issue with description, custom fields and comments",
    params(("key" = String, Path, description = "Issue key (`CORE-42`)")),
    responses(
        (status = 200, description = "The issue", body = KiketIssueResponse),
        (status = 400, description = "Not configured or an invalid key", body = ErrorBody),
        (status = 404, description = "No such issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed or refused", body = ErrorBody),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<KiketIssueResponse>> {
    let issue = state.integrations().kiket().issue(&key).await?;
    Ok(Json(KiketIssueResponse {
        issue: KiketIssueDetail::from(&issue),
    }))
}

/// `PATCH /api/kiket/issues/:key`
#[utoipa::path(
    patch,
    path = "/api/kiket/issues/{key}",
    tag = "kiket",
    summary = "Change an issue's labels, assignee or custom fields",
    params(("key" = String, Path, description = "Issue key")),
    request_body = KiketIssueUpdate,
    responses(
        (status = 200, description = "Changed", body = KiketIssueUpdated),
        (status = 400, description = "Nothing to change, not configured, or Kiket refused a field (`UPSTREAM_REJECTED`)", body = ErrorBody),
        (status = 404, description = "No such issue", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed, or the token lacks `write:issues` (`KIKET_MISSING_SCOPE`)", body = ErrorBody),
    )
)]
pub async fn update_issue(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<KiketIssueUpdate>,
) -> ApiResult<Json<KiketIssueUpdated>> {
    let changes = IssueChanges {
        labels: body.labels,
        assignee: body.assignee,
        custom_fields: body.custom_fields,
    };
    let issue = state
        .integrations()
        .kiket()
        .update_issue(&key, &changes)
        .await?;
    Ok(Json(KiketIssueUpdated {
        success: True,
        issue: KiketIssueDetail::from(&issue),
    }))
}

/// `POST /api/kiket/issues/:key/comments`
#[utoipa::path(
    post,
    path = "/api/kiket/issues/{key}/comments",
    tag = "kiket",
    summary = "Add a comment to an issue",
    params(("key" = String, Path, description = "Issue key")),
    request_body = KiketCommentRequest,
    responses(
        (status = 200, description = "Added", body = KiketCommentAdded),
        (status = 400, description = "Empty comment or not configured", body = ErrorBody),
        (status = 404, description = "No such issue", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed, or the token lacks `write:comments` (`KIKET_MISSING_SCOPE`)", body = ErrorBody),
    )
)]
pub async fn add_comment(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<KiketCommentRequest>,
) -> ApiResult<Json<KiketCommentAdded>> {
    let comment = state
        .integrations()
        .kiket()
        .add_comment(&key, &body.comment)
        .await?;
    Ok(Json(KiketCommentAdded {
        success: True,
        comment: KiketCommentWire::from(&comment),
    }))
}

/// `GET /api/kiket/workflows`
#[utoipa::path(
    get,
    path = "/api/kiket/workflows",
    tag = "kiket",
    summary = "The project's workflows: states and transitions",
    responses(
        (status = 200, description = "The workflows", body = KiketWorkflows),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 404, description = "The project is unknown to Kiket", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed, or the token lacks `read:workflows`", body = ErrorBody),
    )
)]
pub async fn workflows(State(state): State<AppState>) -> ApiResult<Json<KiketWorkflows>> {
    let workflows = state.integrations().kiket().workflows().await?;
    Ok(Json(KiketWorkflows {
        workflows: workflows.iter().map(KiketWorkflowWire::from).collect(),
    }))
}

/// `GET /api/kiket/issues/:key/status-options`
#[utoipa::path(
    get,
    path = "/api/kiket/issues/{key}/status-options",
    tag = "kiket",
    summary = "The states an issue can move to from its current one",
    params(("key" = String, Path, description = "Issue key")),
    responses(
        (status = 200, description = "The options", body = KiketStatusOptions),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 404, description = "No such issue", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed or refused", body = ErrorBody),
    )
)]
pub async fn status_options(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<KiketStatusOptions>> {
    let options = state.integrations().kiket().status_options(&key).await?;
    Ok(Json(KiketStatusOptions {
        options: options.iter().map(KiketStatusOption::from).collect(),
    }))
}

/// `PATCH /api/kiket/issues/:key/status`
#[utoipa::path(
    patch,
    path = "/api/kiket/issues/{key}/status",
    tag = "kiket",
    summary = "Move an issue to a state through its workflow's transition",
    params(("key" = String, Path, description = "Issue key")),
    request_body = KiketStatusRequest,
    responses(
        (status = 200, description = "Moved", body = KiketStatusChanged),
        (status = 400, description = "No transition to that state (`KIKET_UNKNOWN_STATUS`) or not configured", body = ErrorBody),
        (status = 404, description = "No such issue", body = ErrorBody),
        (status = 409, description = "A workflow guard refused, or an approval is pending (`KIKET_TRANSITION_REFUSED`, Kiket's message, its code in `upstreamCode`)", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed, or the token lacks `write:issues`", body = ErrorBody),
    )
)]
pub async fn update_status(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    JsonBody(body): JsonBody<KiketStatusRequest>,
) -> ApiResult<Json<KiketStatusChanged>> {
    let issue = state
        .integrations()
        .kiket()
        .transition(&key, &body.status_name)
        .await?;
    Ok(Json(KiketStatusChanged {
        success: True,
        state: issue.state,
    }))
}

/// `POST /api/kiket/task`
#[utoipa::path(
    post,
    path = "/api/kiket/task",
    tag = "kiket",
    summary = "Create (or reuse) the worktree of a Kiket issue",
    request_body = KiketTaskRequest,
    responses(
        (status = 200, description = "A worktree named after the issue existed; linked and reused", body = IssueTaskResponse),
        (status = 201, description = "Created on the branch the `kiket` branch-name rule gives (or `branch`) and linked", body = IssueTaskResponse),
        (status = 400, description = "Invalid branch or key, not configured", body = ErrorBody),
        (status = 404, description = "No such issue", body = ErrorBody),
        (status = 409, description = "The worktree id is busy", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed or refused", body = ErrorBody),
        (status = 503, description = "git could not run", body = ErrorBody),
    )
)]
pub async fn task(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiketTaskRequest>,
) -> ApiResult<Response> {
    let done = state
        .integrations()
        .kiket()
        .create_task(&body.issue_key, body.branch)
        .await?;
    Ok(task_response(done))
}

/// The reference's `task` answer for a [`TaskWorktree`].
pub fn task_response(done: TaskWorktree) -> Response {
    let (status, worktree_id, worktree_path, reused) = match done {
        TaskWorktree::Reused {
            worktree_id,
            worktree_path,
        } => (StatusCode::OK, worktree_id, worktree_path, true),
        TaskWorktree::Created { worktree } => (
            StatusCode::CREATED,
            worktree.id.clone(),
            worktree.path.clone(),
            false,
        ),
    };
    (
        status,
        Json(IssueTaskResponse {
            success: True,
            worktree_id,
            worktree_path,
            reused_existing: reused,
        }),
    )
        .into_response()
}

/// `POST /api/kiket/webhook`
#[utoipa::path(
    post,
    path = "/api/kiket/webhook",
    tag = "kiket",
    summary = "Receive a Kiket webhook (signed with the configured webhook secret)",
    request_body(content = Object, description = "Kiket's webhook payload (`issue.transitioned`, `workflow.sla_status`, ...), verified byte for byte"),
    params(
        ("X-Kiket-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body (or of `<timestamp>.<body>`) with the webhook secret"),
        ("X-Kiket-Timestamp" = Option<String>, Header, description = "Unix time or RFC 3339; must be within 300 s of now when given"),
    ),
    responses(
        (status = 200, description = "Verified and recorded as an activity event (a transition is `info`; SLA `imminent` a `warning`, `breached` an `error`, `recovered` a `success`); a repeated delivery is acknowledged without a second event", body = KiketWebhookAccepted),
        (status = 400, description = "Kiket is not configured, or the verified body is not a Kiket event (`KIKET_INVALID_PAYLOAD`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong signature, no webhook secret, or a timestamp outside the window (`KIKET_INVALID_SIGNATURE`); nothing changed", body = ErrorBody),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<KiketWebhookAccepted>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let outcome = state.integrations().kiket().receive_webhook(
        &body,
        header(SIGNATURE_HEADER),
        header(TIMESTAMP_HEADER),
    )?;
    Ok(Json(KiketWebhookAccepted {
        success: True,
        event: outcome.event,
        activity_id: outcome.activity_id,
        duplicate: outcome.duplicate,
    }))
}

/// `GET /api/kiket/sla-events`
#[utoipa::path(
    get,
    path = "/api/kiket/sla-events",
    tag = "kiket",
    summary = "SLA alerts of the installation (Kiket's `/sla/events`)",
    params(KiketSlaParams),
    responses(
        (status = 200, description = "The alerts", body = KiketSlaEvents),
        (status = 400, description = "Not configured or an invalid `limit`", body = ErrorBody),
        (status = 429, description = "Kiket's rate limit", body = ErrorBody),
        (status = 502, description = "Kiket failed or refused", body = ErrorBody),
    )
)]
pub async fn sla_events(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<KiketSlaParams>,
) -> ApiResult<Json<KiketSlaEvents>> {
    let limit = params
        .limit
        .as_deref()
        .map(|l| {
            l.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_QUERY",
                        format!("Invalid limit \"{l}\": use a positive number"),
                    )
                })
        })
        .transpose()?;
    let events = state
        .integrations()
        .kiket()
        .sla_events(&SlaFilter {
            issue_id: params.issue_id,
            state: params.state,
            limit,
        })
        .await?;
    Ok(Json(KiketSlaEvents {
        events: events.iter().map(KiketSlaEvent::from).collect(),
    }))
}
