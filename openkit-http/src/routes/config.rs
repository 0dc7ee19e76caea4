//! `/api/config`: the project configuration, detection, init and setup commit.

use axum::Json;
use axum::extract::State;
use openkit_core::config::{CommitSetupOutcome, InitOptions, LOCAL_ONLY_KEYS};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult, JsonBody};
use crate::state::AppState;

/// `GET /api/config`: the config (with the local-only keys merged in), or nulls when the
/// project has none.
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let store = state.workbench().config();
    let Some(config) = store.load()? else {
        return Ok(Json(json!({
            "config": null,
            "projectName": null,
            "hasBranchNameRule": store.has_branch_name_rule(),
        })));
    };
    let mut config = serde_json::to_value(config)
        .map_err(|e| ApiError::bad_request("INVALID_CONFIG", e.to_string()))?;
    let local = serde_json::to_value(store.load_local()?).unwrap_or_default();
    if let (Some(config), Some(local)) = (config.as_object_mut(), local.as_object()) {
        for key in LOCAL_ONLY_KEYS {
            if let Some(value) = local.get(key) {
                config.insert(key.to_string(), value.clone());
            }
        }
    }
    Ok(Json(json!({
        "config": config,
        "projectName": store.project_name(),
        "hasBranchNameRule": store.has_branch_name_rule(),
    })))
}

/// `PATCH /api/config`
pub async fn patch(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let config = state.workbench().config().patch(patch)?;
    Ok(Json(json!({ "success": true, "config": config })))
}

/// `GET /api/config/detect`
pub async fn detect(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let detected = openkit_core::config::detect(state.workbench().paths().project_root());
    Ok(Json(json!({ "success": true, "config": detected })))
}

/// Body of `POST /api/config/init`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitBody {
    start_command: Option<String>,
    install_command: Option<String>,
    base_branch: Option<String>,
    #[serde(default)]
    force: bool,
}

/// `POST /api/config/init`
pub async fn init(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InitBody>,
) -> ApiResult<Json<Value>> {
    let config = state.workbench().config().init(InitOptions {
        start_command: body.start_command,
        install_command: body.install_command,
        base_branch: body.base_branch,
        force: body.force,
    })?;
    Ok(Json(json!({ "success": true, "config": config })))
}

/// `GET /api/config/setup-status`
pub async fn setup_status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let wb = state.workbench();
    let status = wb.config().setup_status(wb.git()).await?;
    Ok(Json(json!(status)))
}

/// Body of `POST /api/config/commit-setup`.
#[derive(Debug, Deserialize)]
pub struct CommitSetupBody {
    message: Option<String>,
}

/// `POST /api/config/commit-setup`
pub async fn commit_setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CommitSetupBody>,
) -> ApiResult<Json<Value>> {
    let wb = state.workbench();
    let message = body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let outcome = wb.config().commit_setup(wb.git(), message).await?;
    Ok(Json(match outcome {
        CommitSetupOutcome::Pushed => json!({ "success": true }),
        CommitSetupOutcome::AlreadyCommitted => {
            json!({ "success": true, "alreadyCommitted": true })
        }
        CommitSetupOutcome::PushFailed => json!({ "success": true, "pushFailed": true }),
    }))
}

/// Body of `POST /api/config/retention-impact`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionBody {
    log_type: Option<String>,
    /// The original OpenKit's name for `logType`.
    target: Option<String>,
    retention_days: Option<f64>,
    #[serde(rename = "maxSizeMB")]
    max_size_mb: Option<f64>,
}

/// `POST /api/config/retention-impact`: what a retention setting would remove, without
/// writing anything.
pub async fn retention_impact(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RetentionBody>,
) -> ApiResult<Json<Value>> {
    use openkit_core::backbone::LogKind;
    use openkit_core::logs::Retention;
    let kind = match body.log_type.as_deref().or(body.target.as_deref()) {
        Some("activity") => LogKind::Activity,
        Some("opsLog" | "ops-log" | "ops") => LogKind::OpsLog,
        _ => return Err(ApiError::bad_request("INVALID_LOG_TYPE", "Invalid logType")),
    };
    for (name, value) in [
        ("retentionDays", body.retention_days),
        ("maxSizeMB", body.max_size_mb),
    ] {
        if value.is_some_and(|v| !v.is_finite() || v <= 0.0) {
            return Err(ApiError::bad_request(
                "INVALID_RETENTION",
                format!("{name} must be a positive number"),
            ));
        }
    }
    let policy = Retention {
        retention_days: body.retention_days,
        max_size_mb: body.max_size_mb,
    };
    let impact = state
        .on_backbone(move |b| b.retention_impact(kind, policy))
        .await?;
    Ok(Json(json!(impact)))
}
