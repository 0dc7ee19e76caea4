//! `/api/logs`: the operational log.

use axum::Json;
use axum::extract::State;
use openkit_core::logs::{Level, OpStatus, OpsLogEvent, OpsQuery};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiQuery, ApiResult, JsonBody};
use crate::routes::query::{parse_limit, parse_since_param};
use crate::state::AppState;

/// Query of `GET /api/logs`.
#[derive(Debug, Deserialize)]
pub struct LogParams {
    since: Option<String>,
    level: Option<String>,
    status: Option<String>,
    source: Option<String>,
    search: Option<String>,
    limit: Option<String>,
}

fn level(value: &str) -> ApiResult<Level> {
    Level::parse(value).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_LEVEL",
            format!("Invalid level \"{value}\": use debug, info, warning or error"),
        )
    })
}

fn status(value: &str) -> ApiResult<OpStatus> {
    OpStatus::parse(value).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_STATUS",
            format!("Invalid status \"{value}\": use started, succeeded, failed or info"),
        )
    })
}

/// `GET /api/logs`
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LogParams>,
) -> ApiResult<Json<Value>> {
    let query = OpsQuery {
        since: parse_since_param(params.since.as_deref())?,
        level: params.level.as_deref().map(level).transpose()?,
        status: params.status.as_deref().map(status).transpose()?,
        source: params.source.filter(|s| !s.is_empty()),
        search: params.search.filter(|s| !s.is_empty()),
        limit: parse_limit(params.limit.as_deref(), 200)?,
    };
    let events = state.on_backbone(move |b| b.ops().query(&query)).await?;
    Ok(Json(json!({ "events": events })))
}

/// Body of `POST /api/logs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOpsEvent {
    source: String,
    action: String,
    message: String,
    level: Option<String>,
    status: Option<String>,
    worktree_id: Option<String>,
    run_id: Option<String>,
    metadata: Option<Map<String, Value>>,
}

/// `POST /api/logs`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewOpsEvent>,
) -> ApiResult<Json<Value>> {
    if body.source.trim().is_empty() || body.action.trim().is_empty() {
        return Err(ApiError::bad_request(
            "INVALID_INPUT",
            "\"source\" and \"action\" must not be empty",
        ));
    }
    let level = body
        .level
        .as_deref()
        .map(level)
        .transpose()?
        .unwrap_or(Level::Info);
    let status = body
        .status
        .as_deref()
        .map(status)
        .transpose()?
        .unwrap_or(OpStatus::Info);
    let mut event = OpsLogEvent::new(
        body.source.trim(),
        body.action.trim(),
        &body.message,
        level,
        status,
    );
    event.worktree_id = body.worktree_id;
    event.run_id = body.run_id;
    event.metadata = body.metadata.map(Value::Object);
    let event = state.on_backbone(move |b| b.record_ops(event)).await?;
    Ok(Json(json!({ "success": true, "event": event })))
}
