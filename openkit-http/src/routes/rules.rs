//! `/api/config/branch-name-rule` and `/api/config/commit-message-rule` (+ `/status`).

use axum::Json;
use axum::extract::State;
use openkit_core::rules::{RuleKind, RuleStore};

use crate::error::{ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::rules::{PutRuleRequest, RuleContent, RuleSourceQuery, RuleStatus};
use crate::wire::{ErrorBody, Success};

fn store(state: &AppState) -> RuleStore {
    RuleStore::new(state.workbench().paths().clone())
        .with_sources(std::sync::Arc::clone(state.workbench().issue_sources()))
}

async fn get_rule(
    kind: RuleKind,
    state: AppState,
    query: RuleSourceQuery,
) -> ApiResult<Json<RuleContent>> {
    let store = store(&state);
    let source = store.source(query.source.as_deref())?;
    let rule = store.get(kind, source.as_ref())?;
    Ok(Json(RuleContent::from(&rule)))
}

async fn put_rule(
    kind: RuleKind,
    state: AppState,
    body: PutRuleRequest,
) -> ApiResult<Json<Success>> {
    let store = store(&state);
    let source = store.source(body.source.as_deref())?;
    store.put(kind, source.as_ref(), body.content.as_deref())?;
    Ok(Json(Success::new()))
}

fn rule_status(kind: RuleKind, state: &AppState) -> Json<RuleStatus> {
    Json(RuleStatus {
        overrides: store(state).overrides(kind).into(),
    })
}

/// `GET /api/config/branch-name-rule`
#[utoipa::path(
    get,
    path = "/api/config/branch-name-rule",
    tag = "rules",
    summary = "The branch-name rule script",
    params(RuleSourceQuery),
    responses(
        (status = 200, description = "The script (or the built-in rule)", body = RuleContent),
        (status = 400, description = "Unknown source (`INVALID_SOURCE`)", body = ErrorBody),
    )
)]
pub async fn get_branch_name_rule(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RuleSourceQuery>,
) -> ApiResult<Json<RuleContent>> {
    get_rule(RuleKind::BranchName, state, query).await
}

/// `PUT /api/config/branch-name-rule`
#[utoipa::path(
    put,
    path = "/api/config/branch-name-rule",
    tag = "rules",
    summary = "Save or delete the branch-name rule script",
    request_body = PutRuleRequest,
    responses(
        (status = 200, description = "Saved (or deleted)", body = Success),
        (status = 400, description = "Unknown source (`INVALID_SOURCE`)", body = ErrorBody),
    )
)]
pub async fn put_branch_name_rule(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PutRuleRequest>,
) -> ApiResult<Json<Success>> {
    put_rule(RuleKind::BranchName, state, body).await
}

/// `GET /api/config/branch-name-rule/status`
#[utoipa::path(
    get,
    path = "/api/config/branch-name-rule/status",
    tag = "rules",
    summary = "Which sources have their own branch-name rule",
    responses(
        (status = 200, description = "Per-source overrides", body = RuleStatus),
    )
)]
pub async fn branch_name_rule_status(State(state): State<AppState>) -> Json<RuleStatus> {
    rule_status(RuleKind::BranchName, &state)
}

/// `GET /api/config/commit-message-rule`
#[utoipa::path(
    get,
    path = "/api/config/commit-message-rule",
    tag = "rules",
    summary = "The commit-message rule script",
    params(RuleSourceQuery),
    responses(
        (status = 200, description = "The script (or the built-in rule)", body = RuleContent),
        (status = 400, description = "Unknown source (`INVALID_SOURCE`)", body = ErrorBody),
    )
)]
pub async fn get_commit_message_rule(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RuleSourceQuery>,
) -> ApiResult<Json<RuleContent>> {
    get_rule(RuleKind::CommitMessage, state, query).await
}

/// `PUT /api/config/commit-message-rule`
#[utoipa::path(
    put,
    path = "/api/config/commit-message-rule",
    tag = "rules",
    summary = "Save or delete the commit-message rule script",
    request_body = PutRuleRequest,
    responses(
        (status = 200, description = "Saved (or deleted)", body = Success),
        (status = 400, description = "Unknown source (`INVALID_SOURCE`)", body = ErrorBody),
    )
)]
pub async fn put_commit_message_rule(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PutRuleRequest>,
) -> ApiResult<Json<Success>> {
    put_rule(RuleKind::CommitMessage, state, body).await
}

/// `GET /api/config/commit-message-rule/status`
#[utoipa::path(
    get,
    path = "/api/config/commit-message-rule/status",
    tag = "rules",
    summary = "Which sources have their own commit-message rule",
    responses(
        (status = 200, description = "Per-source overrides", body = RuleStatus),
    )
)]
pub async fn commit_message_rule_status(State(state): State<AppState>) -> Json<RuleStatus> {
    rule_status(RuleKind::CommitMessage, &state)
}
