//! `/api/kizuna/*`: Kizuna's setup, issues and task flow, merging pull requests,
//! pipelines and agents. Pull requests are opened through the generic
//! `POST /api/worktrees/:id/create-pr` when the project's `codeHost` is `kizuna`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openkit_core::task_worktree::TaskWorktree;
use openkit_integrations::kizuna::{IssueQuery, KizunaSetup};
use openkit_integrations::secret::Secret;

use crate::error::{ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::kizuna::{
    KizunaAgent, KizunaAgentList, KizunaAgentRequest, KizunaAgentResponse, KizunaConfigRequest,
    KizunaIssue, KizunaIssueList, KizunaIssuePatchRequest, KizunaIssueResponse, KizunaIssueUpdated,
    KizunaIssuesParams, KizunaMergeRequest, KizunaMergeResponse, KizunaPipelineList,
    KizunaPipelineResponse, KizunaSetupRequest, KizunaStatus, KizunaTaskRequest,
    KizunaTaskResponse,
};
use crate::wire::{ErrorBody, Success, True};

/// `GET /api/kizuna/status`
#[utoipa::path(
    get,
    path = "/api/kizuna/status",
    tag = "kizuna",
    summary = "Kizuna's connection (never the token) and settings",
    responses(
        (status = 200, description = "The status", body = KizunaStatus),
        (status = 409, description = "`integrations.json` does not parse (`CORRUPT_FILE`, `INVALID_INTEGRATIONS_FILE`)", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<KizunaStatus>> {
    Ok(Json(state.integrations().kizuna().status()?.into()))
}

/// `POST /api/kizuna/setup`
#[utoipa::path(
    post,
    path = "/api/kizuna/setup",
    tag = "kizuna",
    summary = "Connect Kizuna (validated with a read of the repository before saving)",
    request_body = KizunaSetupRequest,
    responses(
        (status = 200, description = "Saved; the issue source, code host and pipeline follow-up are plugged in", body = Success),
        (status = 400, description = "`Connection failed: ...` (`KIZUNA_CONNECTION_FAILED`), a bad base URL (`INVALID_BASE_URL`) or org/repo/token (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KizunaSetupRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kizuna()
        .setup(KizunaSetup {
            base_url: body.base_url,
            token: Secret::new(body.token),
            org: body.org,
            repo: body.repo,
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/kizuna/config`
#[utoipa::path(
    patch,
    path = "/api/kizuna/config",
    tag = "kizuna",
    summary = "Change the watched assignee and the shared tracker settings",
    request_body = KizunaConfigRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`) or an invalid value (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KizunaConfigRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kizuna()
        .update_config(body.into_patch())?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/kizuna/credentials`
#[utoipa::path(
    delete,
    path = "/api/kizuna/credentials",
    tag = "kizuna",
    summary = "Forget Kizuna: token, settings and stored agent tokens; everything unplugged",
    responses(
        (status = 200, description = "Removed (or there was nothing)", body = Success),
    )
)]
pub async fn delete_credentials(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().kizuna().delete_credentials()?;
    Ok(Json(Success::new()))
}

/// `GET /api/kizuna/issues`
#[utoipa::path(
    get,
    path = "/api/kizuna/issues",
    tag = "kizuna",
    summary = "The repository's issues (every page, through the Link header)",
    params(KizunaIssuesParams),
    responses(
        (status = 200, description = "The issues", body = KizunaIssueList),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), a bad `state` (`INVALID_INPUT`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`, with `Retry-After`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed (`UPSTREAM_UNAUTHORIZED`, `UPSTREAM_FORBIDDEN`, `UPSTREAM_FAILED`, ...)", body = ErrorBody),
    )
)]
pub async fn issues(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<KizunaIssuesParams>,
) -> ApiResult<Json<KizunaIssueList>> {
    let query = IssueQuery {
        query: params.query,
        state: params.state,
        labels: params
            .labels
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let issues = state.integrations().kizuna().issues(&query).await?;
    Ok(Json(KizunaIssueList {
        issues: issues.into_iter().map(KizunaIssue::from).collect(),
    }))
}

/// `GET /api/kizuna/issues/:number`
#[utoipa::path(
    get,
    path = "/api/kizuna/issues/{number}",
    tag = "kizuna",
    summary = "One issue",
    params(("number" = u64, Path, description = "Issue number")),
    responses(
        (status = 200, description = "The issue", body = KizunaIssueResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`)", body = ErrorBody),
        (status = 404, description = "No such issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<u64>,
) -> ApiResult<Json<KizunaIssueResponse>> {
    let issue = state.integrations().kizuna().issue(number).await?;
    Ok(Json(KizunaIssueResponse {
        issue: issue.into(),
    }))
}

/// `PATCH /api/kizuna/issues/:number`
#[utoipa::path(
    patch,
    path = "/api/kizuna/issues/{number}",
    tag = "kizuna",
    summary = "Change an issue's title, body, state, labels or assignees",
    params(("number" = u64, Path, description = "Issue number")),
    request_body = KizunaIssuePatchRequest,
    responses(
        (status = 200, description = "Changed", body = KizunaIssueUpdated),
        (status = 400, description = "Nothing to change or a bad state (`INVALID_INPUT`), Kizuna's validation (`UPSTREAM_REJECTED` with `upstreamCode`)", body = ErrorBody),
        (status = 404, description = "No such issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn update_issue(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<u64>,
    JsonBody(body): JsonBody<KizunaIssuePatchRequest>,
) -> ApiResult<Json<KizunaIssueUpdated>> {
    let issue = state
        .integrations()
        .kizuna()
        .update_issue(number, body.into())
        .await?;
    Ok(Json(KizunaIssueUpdated {
        success: True,
        issue: issue.into(),
    }))
}

/// `POST /api/kizuna/task`
#[utoipa::path(
    post,
    path = "/api/kizuna/task",
    tag = "kizuna",
    summary = "Create (or reuse) the worktree of a Kizuna issue, linked to it",
    request_body = KizunaTaskRequest,
    responses(
        (status = 201, description = "Created and linked", body = KizunaTaskResponse),
        (status = 200, description = "An existing worktree named after the issue was linked and reused", body = KizunaTaskResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), an invalid branch", body = ErrorBody),
        (status = 404, description = "No such issue (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The worktree id is busy", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn task(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KizunaTaskRequest>,
) -> ApiResult<(StatusCode, Json<KizunaTaskResponse>)> {
    let done = state
        .integrations()
        .kizuna()
        .create_task(body.number, body.branch)
        .await?;
    let (status, worktree_id, worktree_path, reused_existing) = match done {
        TaskWorktree::Reused {
            worktree_id,
            worktree_path,
        } => (StatusCode::OK, worktree_id, worktree_path, true),
        TaskWorktree::Created { worktree } => {
            (StatusCode::CREATED, worktree.id, worktree.path, false)
        }
    };
    Ok((
        status,
        Json(KizunaTaskResponse {
            success: True,
            worktree_id,
            worktree_path,
            reused_existing,
        }),
    ))
}

/// `POST /api/kizuna/pulls/:number/merge`
#[utoipa::path(
    post,
    path = "/api/kizuna/pulls/{number}/merge",
    tag = "kizuna",
    summary = "Merge a pull request (a draft is refused)",
    params(("number" = u64, Path, description = "Pull request number")),
    request_body = KizunaMergeRequest,
    responses(
        (status = 200, description = "Merged", body = KizunaMergeResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), a bad `method` (`INVALID_INPUT`), Kizuna's refusal (`UPSTREAM_REJECTED` with `upstreamCode`)", body = ErrorBody),
        (status = 404, description = "No such pull request (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A draft (`KIZUNA_PR_DRAFT`) or not open (`KIZUNA_PR_NOT_OPEN`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn merge_pull(
    State(state): State<AppState>,
    ApiPath(number): ApiPath<u64>,
    JsonBody(body): JsonBody<KizunaMergeRequest>,
) -> ApiResult<Json<KizunaMergeResponse>> {
    let merged = state
        .integrations()
        .kizuna()
        .merge_pull(number, body.method.as_deref())
        .await?;
    Ok(Json(merged.into()))
}

/// `GET /api/kizuna/worktrees/:id/pipelines`
#[utoipa::path(
    get,
    path = "/api/kizuna/worktrees/{id}/pipelines",
    tag = "kizuna",
    summary = "The pipelines of a worktree's branch",
    params(("id" = String, Path, description = "Worktree id (`root` for the main checkout)")),
    responses(
        (status = 200, description = "Newest first", body = KizunaPipelineList),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), a detached HEAD (`DETACHED_HEAD`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn pipelines(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<KizunaPipelineList>> {
    let (worktree_id, branch, pipelines) = state.integrations().kizuna().pipelines(&id).await?;
    Ok(Json(KizunaPipelineList {
        worktree_id,
        branch,
        pipelines: pipelines.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/kizuna/worktrees/:id/pipelines`
#[utoipa::path(
    post,
    path = "/api/kizuna/worktrees/{id}/pipelines",
    tag = "kizuna",
    summary = "Trigger a pipeline on a worktree's branch",
    params(("id" = String, Path, description = "Worktree id (`root` for the main checkout)")),
    responses(
        (status = 201, description = "Triggered", body = KizunaPipelineResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), a detached HEAD (`DETACHED_HEAD`), Kizuna's refusal (`UPSTREAM_REJECTED`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn trigger_pipeline(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<KizunaPipelineResponse>)> {
    let (_, pipeline) = state.integrations().kizuna().trigger_pipeline(&id).await?;
    Ok((
        StatusCode::CREATED,
        Json(KizunaPipelineResponse {
            success: True,
            pipeline: pipeline.into(),
        }),
    ))
}

/// `POST /api/kizuna/pipelines/:id/cancel`
#[utoipa::path(
    post,
    path = "/api/kizuna/pipelines/{id}/cancel",
    tag = "kizuna",
    summary = "Cancel a pending or running pipeline",
    params(("id" = u64, Path, description = "Pipeline id")),
    responses(
        (status = 200, description = "Canceled", body = KizunaPipelineResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), not running (`UPSTREAM_REJECTED`, `upstreamCode` `VALIDATION_ERROR`)", body = ErrorBody),
        (status = 404, description = "No such pipeline (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn cancel_pipeline(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<KizunaPipelineResponse>> {
    let pipeline = state.integrations().kizuna().cancel_pipeline(id).await?;
    Ok(Json(KizunaPipelineResponse {
        success: True,
        pipeline: pipeline.into(),
    }))
}

/// `GET /api/kizuna/agents`
#[utoipa::path(
    get,
    path = "/api/kizuna/agents",
    tag = "kizuna",
    summary = "Kizuna's agents (never a token)",
    responses(
        (status = 200, description = "The agents; `secretStored` marks those OpenKit registered", body = KizunaAgentList),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn agents(State(state): State<AppState>) -> ApiResult<Json<KizunaAgentList>> {
    let agents = state.integrations().kizuna().agents().await?;
    Ok(Json(KizunaAgentList {
        agents: agents.into_iter().map(KizunaAgent::from).collect(),
    }))
}

/// `POST /api/kizuna/agents`
#[utoipa::path(
    post,
    path = "/api/kizuna/agents",
    tag = "kizuna",
    summary = "Register an OpenKit agent with Kizuna; its token is stored (0600), never returned",
    request_body = KizunaAgentRequest,
    responses(
        (status = 201, description = "Registered", body = KizunaAgentResponse),
        (status = 400, description = "Not configured (`KIZUNA_NOT_CONFIGURED`), a bad name (`INVALID_INPUT`), Kizuna's refusal (`UPSTREAM_REJECTED` with `upstreamCode`)", body = ErrorBody),
        (status = 429, description = "Kizuna's rate limit (`UPSTREAM_RATE_LIMITED`)", body = ErrorBody),
        (status = 502, description = "Kizuna refused or failed", body = ErrorBody),
    )
)]
pub async fn register_agent(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KizunaAgentRequest>,
) -> ApiResult<(StatusCode, Json<KizunaAgentResponse>)> {
    let agent = state
        .integrations()
        .kizuna()
        .register_agent(&body.name, body.description.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(KizunaAgentResponse {
            success: True,
            agent: KizunaAgent::new(agent, true),
        }),
    ))
}
