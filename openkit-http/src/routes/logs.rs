//! `/api/logs`: the operational log.

use std::borrow::Borrow;

use axum::Json;
use axum::extract::State;
use openkit_core::logs::{Level, OpStatus, OpsLogEvent, OpsQuery};
use serde_json::Value;

use crate::error::{ApiError, ApiQuery, ApiResult, JsonBody};
use crate::routes::query::{parse_limit, parse_since_param};
use crate::state::AppState;
use crate::wire::logs::{
    ClientLogRequest, LogParams, NewOpsEventRequest, OpsLogCreated, OpsLogEvent as WireEvent,
    OpsLogList, ops_list,
};
use crate::wire::{ErrorBody, True};

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
#[utoipa::path(
    get,
    path = "/api/logs",
    tag = "logs",
    summary = "Query the operational log",
    params(LogParams),
    responses(
        (status = 200, description = "Matching events, oldest first", body = OpsLogList),
        (status = 400, description = "Invalid `since`, `level`, `status` or `limit`", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LogParams>,
) -> ApiResult<Json<OpsLogList>> {
    let query = OpsQuery {
        since: parse_since_param(params.since.as_deref())?,
        level: params.level.as_deref().map(level).transpose()?,
        status: params.status.as_deref().map(status).transpose()?,
        source: params.source.filter(|s| !s.is_empty()),
        search: params.search.filter(|s| !s.is_empty()),
        limit: parse_limit(params.limit.as_deref(), 200)?,
    };
    let events = state.on_backbone(move |b| b.ops().query(&query)).await?;
    Ok(Json(OpsLogList {
        events: ops_list(&events),
    }))
}

/// `POST /api/logs`
#[utoipa::path(
    post,
    path = "/api/logs",
    tag = "logs",
    summary = "Append an ops-log event",
    request_body = NewOpsEventRequest,
    responses(
        (status = 200, description = "Recorded", body = OpsLogCreated),
        (status = 400, description = "Empty source/action, or invalid level or status", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewOpsEventRequest>,
) -> ApiResult<Json<OpsLogCreated>> {
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
    Ok(Json(OpsLogCreated {
        success: True,
        event: WireEvent::from(Borrow::<OpsLogEvent>::borrow(&event)),
    }))
}

/// `POST /api/client-logs`
///
/// A web UI (the dashboard, or the original UI served with `--ui-dir`) reports what went
/// wrong on its side; it lands in the ops log as source `client`, redacted like every
/// record.
#[utoipa::path(
    post,
    path = "/api/client-logs",
    tag = "logs",
    summary = "Record a web UI's own log line in the ops log",
    request_body = ClientLogRequest,
    responses(
        (status = 200, description = "Recorded", body = OpsLogCreated),
        (status = 400, description = "Empty message (`INVALID_INPUT`) or invalid level (`INVALID_LEVEL`)", body = ErrorBody),
    )
)]
pub async fn client_log(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ClientLogRequest>,
) -> ApiResult<Json<OpsLogCreated>> {
    if body.message.trim().is_empty() {
        return Err(ApiError::bad_request(
            "INVALID_INPUT",
            "\"message\" must not be empty",
        ));
    }
    let level = body
        .level
        .as_deref()
        .map(level)
        .transpose()?
        .unwrap_or(Level::Info);
    let action = body
        .source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("log")
        .to_string();
    let mut event = OpsLogEvent::new(
        "client",
        &action,
        body.message.trim(),
        level,
        OpStatus::Info,
    );
    event.metadata = body.context.map(Value::Object);
    let event = state.on_backbone(move |b| b.record_ops(event)).await?;
    Ok(Json(OpsLogCreated {
        success: True,
        event: WireEvent::from(Borrow::<OpsLogEvent>::borrow(&event)),
    }))
}
