//! `/api/activity`: the activity feed.

use axum::Json;
use axum::extract::State;
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::{ActivityEvent, ActivityQuery};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiQuery, ApiResult, JsonBody};
use crate::routes::query::{parse_limit, parse_since_param};
use crate::state::AppState;

/// Query of `GET /api/activity`.
#[derive(Debug, Deserialize)]
pub struct ActivityParams {
    since: Option<String>,
    category: Option<String>,
    limit: Option<String>,
}

/// `GET /api/activity`
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "events": events })))
}

/// Body of `POST /api/activity`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewActivity {
    category: String,
    #[serde(rename = "type")]
    event_type: String,
    severity: Option<String>,
    title: String,
    detail: Option<String>,
    worktree_id: Option<String>,
    group_key: Option<String>,
    metadata: Option<Map<String, Value>>,
}

/// `POST /api/activity`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewActivity>,
) -> ApiResult<Json<Value>> {
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
    let candidate = event.clone();
    let recorded = state
        .on_backbone(move |b| b.record_activity(candidate))
        .await?;
    Ok(Json(match recorded {
        Some(event) => json!({ "success": true, "event": event }),
        // Disabled by the activity settings: neither stored nor broadcast.
        None => json!({ "success": true, "event": event, "suppressed": true }),
    }))
}
