//! `/api/activity`: the activity feed.

use std::borrow::Borrow;

use axum::Json;
use axum::extract::State;
use openkit_core::backbone::redact_activity;
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::{ActivityEvent, ActivityQuery};
use serde_json::Value;

use crate::error::{ApiError, ApiQuery, ApiResult, JsonBody};
use crate::routes::query::{parse_limit, parse_since_param};
use crate::state::AppState;
use crate::wire::activity::{
    ActivityCreated, ActivityEvent as WireEvent, ActivityList, ActivityParams, NewActivityRequest,
    activity_list,
};
use crate::wire::{ErrorBody, True};

/// `GET /api/activity`
#[utoipa::path(
    get,
    path = "/api/activity",
    tag = "activity",
    summary = "Query the activity feed",
    params(ActivityParams),
    responses(
        (status = 200, description = "Matching events, oldest first", body = ActivityList),
        (status = 400, description = "Invalid `since` (`INVALID_SINCE`), `category` (`INVALID_CATEGORY`) or `limit` (`INVALID_LIMIT`)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<ActivityList>> {
    let category = params
        .category
        .as_deref()
        .map(|c| {
            ActivityCategory::parse(c).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_CATEGORY",
                    format!("Invalid category \"{c}\": use agent, worktree or system"),
                )
            })
        })
        .transpose()?;
    let query = ActivityQuery {
        since: parse_since_param(params.since.as_deref())?,
        category,
        limit: parse_limit(params.limit.as_deref(), 100)?,
    };
    let events = state
        .on_backbone(move |b| b.activity().query(&query))
        .await?;
    Ok(Json(ActivityList {
        events: activity_list(&events),
    }))
}

/// `POST /api/activity`
#[utoipa::path(
    post,
    path = "/api/activity",
    tag = "activity",
    summary = "Record an activity event",
    request_body = NewActivityRequest,
    responses(
        (status = 200, description = "Recorded (or suppressed by the activity settings)", body = ActivityCreated),
        (status = 400, description = "Invalid category, severity, or empty type/title", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewActivityRequest>,
) -> ApiResult<Json<ActivityCreated>> {
    let category = ActivityCategory::parse(&body.category).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_CATEGORY",
            format!(
                "Invalid category \"{}\": use agent, worktree or system",
                body.category
            ),
        )
    })?;
    let severity = match body.severity.as_deref() {
        None => Severity::Info,
        Some(s) => Severity::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_SEVERITY",
                format!("Invalid severity \"{s}\": use info, success, warning or error"),
            )
        })?,
    };
    if body.event_type.trim().is_empty() || body.title.trim().is_empty() {
        return Err(ApiError::bad_request(
            "INVALID_INPUT",
            "\"type\" and \"title\" must not be empty",
        ));
    }
    let mut event = ActivityEvent::new(category, body.event_type.trim(), severity, &body.title);
    event.detail = body.detail;
    event.worktree_id = body.worktree_id;
    event.group_key = body.group_key;
    event.metadata = body.metadata.map(Value::Object);
    // The backbone redacts what it records; the echo of a suppressed event is scrubbed
    // the same way.
    redact_activity(&mut event);
    let candidate = event.clone();
    let recorded = state
        .on_backbone(move |b| b.record_activity(candidate))
        .await?;
    Ok(Json(match recorded {
        Some(event) => ActivityCreated {
            success: True,
            event: WireEvent::from(Borrow::<ActivityEvent>::borrow(&event)),
            suppressed: None,
        },
        // Disabled by the activity settings: neither stored nor broadcast.
        None => ActivityCreated {
            success: True,
            event: WireEvent::from(&event),
            suppressed: Some(true),
        },
    }))
}
