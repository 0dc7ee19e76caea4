//! `/api/local-config`: machine-local settings.

use axum::Json;
use axum::extract::State;

use crate::error::{ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::local_config::{LocalConfigPatch, LocalConfigResponse, LocalConfigUpdated};
use crate::wire::{ErrorBody, True};

/// `GET /api/local-config`
#[utoipa::path(
    get,
    path = "/api/local-config",
    tag = "local-config",
    summary = "The machine-local settings",
    responses(
        (status = 200, description = "The local configuration", body = LocalConfigResponse),
        (status = 409, description = "config.local.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<LocalConfigResponse>> {
    let config = state.workbench().config().load_local()?;
    Ok(Json(LocalConfigResponse {
        config: (&config).into(),
    }))
}

/// `PATCH /api/local-config`: nested objects (`shortcuts`) merge key by key.
#[utoipa::path(
    patch,
    path = "/api/local-config",
    tag = "local-config",
    summary = "Change machine-local settings",
    request_body = LocalConfigPatch,
    responses(
        (status = 200, description = "The local configuration after the change", body = LocalConfigUpdated),
        (status = 400, description = "The result would be invalid (`INVALID_CONFIG`)", body = ErrorBody),
        (status = 409, description = "config.local.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    JsonBody(LocalConfigPatch(patch)): JsonBody<LocalConfigPatch>,
) -> ApiResult<Json<LocalConfigUpdated>> {
    let config = state.workbench().config().patch_local(patch)?;
    Ok(Json(LocalConfigUpdated {
        success: True,
        config: (&config).into(),
    }))
}
