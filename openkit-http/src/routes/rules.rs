//! `/api/config/branch-name-rule` and `/api/config/commit-message-rule` (+ `/status`).

use axum::Json;
use axum::extract::State;
use axum::routing::{MethodRouter, get};
use openkit_core::rules::{RuleKind, RuleStore};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;

/// `?source=jira|linear|local`
#[derive(Debug, Deserialize)]
pub struct SourceQuery {
    source: Option<String>,
}

/// Body of a rule `PUT`.
#[derive(Debug, Deserialize)]
pub struct PutRule {
    content: Option<String>,
    source: Option<String>,
}

fn store(state: &AppState) -> RuleStore {
    RuleStore::new(state.workbench().paths().clone())
}

fn non_empty(source: Option<String>) -> Option<String> {
    source.filter(|s| !s.is_empty())
}

async fn get_rule(kind: RuleKind, state: AppState, query: SourceQuery) -> ApiResult<Json<Value>> {
    let rule = store(&state).get(kind, non_empty(query.source).as_deref())?;
    Ok(Json(json!(rule)))
}

async fn put_rule(kind: RuleKind, state: AppState, body: PutRule) -> ApiResult<Json<Value>> {
    store(&state).put(
        kind,
        non_empty(body.source).as_deref(),
        body.content.as_deref(),
    )?;
    Ok(Json(json!({ "success": true })))
}

/// `GET` and `PUT` of one rule.
pub fn rule(kind: RuleKind) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>, ApiQuery(q): ApiQuery<SourceQuery>| {
            get_rule(kind, state, q)
        },
    )
    .put(
        move |State(state): State<AppState>, JsonBody(body): JsonBody<PutRule>| {
            put_rule(kind, state, body)
        },
    )
}

/// `GET .../status`: which sources have their own script.
pub fn status(kind: RuleKind) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>| async move {
        Json(json!({ "overrides": store(&state).overrides(kind) }))
    })
}
