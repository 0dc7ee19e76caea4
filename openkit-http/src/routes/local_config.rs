//! `/api/local-config`: machine-local settings.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::error::{ApiResult, JsonBody};
use crate::state::AppState;

/// `GET /api/local-config`
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let config = state.workbench().config().load_local()?;
    Ok(Json(json!({ "config": config })))
}

/// `PATCH /api/local-config`: nested objects (`shortcuts`) merge key by key.
pub async fn patch(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let config = state.workbench().config().patch_local(patch)?;
    Ok(Json(json!({ "success": true, "config": config })))
}
