//! `/api/config`: the project configuration, detection, init and setup commit.

use axum::Json;
use axum::extract::State;
use openkit_core::config::{CommitSetupOutcome, InitOptions, LOCAL_ONLY_KEYS};

use crate::error::{ApiError, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::config::{
    CommitSetupRequest, CommitSetupResponse, ConfigPatch, ConfigResponse, ConfigUpdated,
    DetectResponse, DetectedConfig, InitRequest, RetentionImpact, RetentionImpactRequest,
    SetupStatus, WorktreeConfig,
};
use crate::wire::{ErrorBody, True};

/// `GET /api/config`: the config (with the local-only keys merged in), or nulls when the
/// project has none.
#[utoipa::path(
    get,
    path = "/api/config",
    tag = "config",
    summary = "The project configuration",
    responses(
        (status = 200, description = "The configuration, or nulls when the project has none", body = ConfigResponse),
        (status = 409, description = "A config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<ConfigResponse>> {
    let store = state.workbench().config();
    let Some(config) = store.load()? else {
        return Ok(Json(ConfigResponse {
            config: None,
            project_name: None,
            has_branch_name_rule: store.has_branch_name_rule(),
        }));
    };
    let mut config = WorktreeConfig::from(&config);
    let local = serde_json::to_value(store.load_local()?).unwrap_or_default();
    if let Some(local) = local.as_object() {
        for key in LOCAL_ONLY_KEYS {
            if let Some(value) = local.get(key) {
                config.extra.insert(key.to_string(), value.clone());
            }
        }
    }
    Ok(Json(ConfigResponse {
        config: Some(config),
        project_name: Some(store.project_name()),
        has_branch_name_rule: store.has_branch_name_rule(),
    }))
}

/// `PATCH /api/config`
#[utoipa::path(
    patch,
    path = "/api/config",
    tag = "config",
    summary = "Change configuration fields (local-only keys go to config.local.json)",
    request_body = ConfigPatch,
    responses(
        (status = 200, description = "The configuration after the change", body = ConfigUpdated),
        (status = 400, description = "The result would be invalid (`INVALID_CONFIG`), or the patch would store a credential-shaped key such as `apiToken` in the committed config.json (`SECRET_IN_CONFIG`; credentials belong in .openkit/integrations.json)", body = ErrorBody),
        (status = 404, description = "The project has no config (`CONFIG_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    JsonBody(ConfigPatch(patch)): JsonBody<ConfigPatch>,
) -> ApiResult<Json<ConfigUpdated>> {
    let config = state.workbench().config().patch(patch)?;
    Ok(Json(ConfigUpdated::from(&config)))
}

/// `GET /api/config/detect`
#[utoipa::path(
    get,
    path = "/api/config/detect",
    tag = "config",
    summary = "Detect start/install commands and the base branch",
    responses(
        (status = 200, description = "Detected values", body = DetectResponse),
    )
)]
pub async fn detect(State(state): State<AppState>) -> ApiResult<Json<DetectResponse>> {
    let detected = openkit_core::config::detect(state.workbench().paths().project_root());
    Ok(Json(DetectResponse {
        success: True,
        config: DetectedConfig::from(&detected),
    }))
}

/// `POST /api/config/init`
#[utoipa::path(
    post,
    path = "/api/config/init",
    tag = "config",
    summary = "Create .openkit/config.json and .openkit/.gitignore",
    request_body = InitRequest,
    responses(
        (status = 200, description = "The new configuration", body = ConfigUpdated),
        (status = 400, description = "A config exists and `force` is not set (`CONFIG_EXISTS`), or the values are invalid", body = ErrorBody),
        (status = 409, description = "A config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn init(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InitRequest>,
) -> ApiResult<Json<ConfigUpdated>> {
    let config = state.workbench().config().init(InitOptions {
        start_command: body.start_command,
        install_command: body.install_command,
        base_branch: body.base_branch,
        force: body.force,
    })?;
    // Default project skills (work-on-task) for every agent: best-effort, non-fatal.
    let failed = state
        .on_registries(|r| Ok(r.skills().enable_default_project_skills()))
        .await
        .unwrap_or_default();
    for (tool, err) in failed {
        tracing::warn!("default skill not deployed for {tool}: {err}");
    }
    Ok(Json(ConfigUpdated::from(&config)))
}

/// `GET /api/config/setup-status`
#[utoipa::path(
    get,
    path = "/api/config/setup-status",
    tag = "config",
    summary = "Whether the setup files still need committing or pushing",
    responses(
        (status = 200, description = "Setup status", body = SetupStatus),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn setup_status(State(state): State<AppState>) -> ApiResult<Json<SetupStatus>> {
    let wb = state.workbench();
    let status = wb.config().setup_status(wb.git()).await?;
    Ok(Json(SetupStatus::from(&status)))
}

/// `POST /api/config/commit-setup`
#[utoipa::path(
    post,
    path = "/api/config/commit-setup",
    tag = "config",
    summary = "Commit and push the setup files",
    request_body = CommitSetupRequest,
    responses(
        (status = 200, description = "What was done", body = CommitSetupResponse),
        (status = 400, description = "Git refused the commit", body = ErrorBody),
        (status = 404, description = "The project has no config (`CONFIG_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Git reports a conflicting state", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn commit_setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CommitSetupRequest>,
) -> ApiResult<Json<CommitSetupResponse>> {
    let wb = state.workbench();
    let message = body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let outcome = wb.config().commit_setup(wb.git(), message).await?;
    let (already_committed, push_failed) = match outcome {
        CommitSetupOutcome::Pushed => (None, None),
        CommitSetupOutcome::AlreadyCommitted => (Some(true), None),
        CommitSetupOutcome::PushFailed => (None, Some(true)),
    };
    Ok(Json(CommitSetupResponse {
        success: True,
        already_committed,
        push_failed,
    }))
}

/// `POST /api/config/retention-impact`: what a retention setting would remove, without
/// writing anything.
#[utoipa::path(
    post,
    path = "/api/config/retention-impact",
    tag = "config",
    summary = "Preview what a retention setting would remove",
    request_body = RetentionImpactRequest,
    responses(
        (status = 200, description = "Sizes now and what would be removed", body = RetentionImpact),
        (status = 400, description = "Invalid `logType` (`INVALID_LOG_TYPE`) or threshold (`INVALID_RETENTION`)", body = ErrorBody),
    )
)]
pub async fn retention_impact(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RetentionImpactRequest>,
) -> ApiResult<Json<RetentionImpact>> {
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
    Ok(Json(RetentionImpact::from(&impact)))
}
