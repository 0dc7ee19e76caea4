//! `/api/agent-rules/:fileId`: CLAUDE.md and AGENTS.md at the project root.

use axum::Json;
use axum::extract::State;
use openkit_core::agent_rules::AgentRuleFile;

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::agent_rules::{AgentRuleContent, AgentRulePutRequest};
use crate::wire::{ErrorBody, Success};

fn rule_file(id: &str) -> ApiResult<AgentRuleFile> {
    AgentRuleFile::from_id(id).ok_or_else(|| ApiError::not_found("UNKNOWN_FILE", "Unknown file"))
}

/// `GET /api/agent-rules/:fileId`
#[utoipa::path(
    get,
    path = "/api/agent-rules/{file_id}",
    tag = "agent-rules",
    summary = "Read an agent rule file",
    params(("file_id" = String, Path, description = "`claude-md` or `agents-md`")),
    responses(
        (status = 200, description = "The file's content", body = AgentRuleContent),
        (status = 404, description = "Unknown file id (`UNKNOWN_FILE`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AgentRuleContent>> {
    let content = rule_file(&id)?.read(state.workbench().paths())?;
    Ok(Json(AgentRuleContent {
        exists: content.is_some(),
        content: content.unwrap_or_default(),
    }))
}

/// `PUT /api/agent-rules/:fileId`
#[utoipa::path(
    put,
    path = "/api/agent-rules/{file_id}",
    tag = "agent-rules",
    summary = "Create or replace an agent rule file",
    params(("file_id" = String, Path, description = "`claude-md` or `agents-md`")),
    request_body = AgentRulePutRequest,
    responses(
        (status = 200, description = "Written", body = Success),
        (status = 404, description = "Unknown file id (`UNKNOWN_FILE`)", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<AgentRulePutRequest>,
) -> ApiResult<Json<Success>> {
    rule_file(&id)?.write(state.workbench().paths(), &body.content)?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/agent-rules/:fileId`
#[utoipa::path(
    delete,
    path = "/api/agent-rules/{file_id}",
    tag = "agent-rules",
    summary = "Delete an agent rule file",
    params(("file_id" = String, Path, description = "`claude-md` or `agents-md`")),
    responses(
        (status = 200, description = "Deleted (or did not exist)", body = Success),
        (status = 404, description = "Unknown file id (`UNKNOWN_FILE`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    rule_file(&id)?.delete(state.workbench().paths())?;
    Ok(Json(Success::new()))
}
