//! `/api/agent-rules/:fileId`: CLAUDE.md and AGENTS.md at the project root.

use axum::Json;
use axum::extract::State;
use openkit_core::agent_rules::AgentRuleFile;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;

fn rule_file(id: &str) -> ApiResult<AgentRuleFile> {
    AgentRuleFile::from_id(id).ok_or_else(|| ApiError::not_found("UNKNOWN_FILE", "Unknown file"))
}

/// `GET /api/agent-rules/:fileId`
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let content = rule_file(&id)?.read(state.workbench().paths())?;
    Ok(Json(json!({
        "exists": content.is_some(),
        "content": content.unwrap_or_default(),
    })))
}

/// Body of `PUT /api/agent-rules/:fileId`.
#[derive(Debug, Deserialize)]
pub struct PutBody {
    content: String,
}

/// `PUT /api/agent-rules/:fileId`
pub async fn put(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PutBody>,
) -> ApiResult<Json<Value>> {
    rule_file(&id)?.write(state.workbench().paths(), &body.content)?;
    Ok(Json(json!({ "success": true })))
}

/// `DELETE /api/agent-rules/:fileId`
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    rule_file(&id)?.delete(state.workbench().paths())?;
    Ok(Json(json!({ "success": true })))
}
