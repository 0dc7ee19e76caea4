//! `/api/notes/:source/:id`: per-issue notes, todos and git policy.

use axum::Json;
use axum::extract::State;
use openkit_core::notes::{GitPolicy, Notes, PolicyValue};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;

/// `GET /api/notes/:source/:id`
pub async fn get(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Notes>> {
    Ok(Json(state.notes().get(&source, &id)?))
}

/// Body of `PUT /api/notes/:source/:id`.
#[derive(Debug, Deserialize)]
pub struct SectionBody {
    section: String,
    #[serde(default)]
    content: Option<String>,
}

/// `PUT /api/notes/:source/:id`
pub async fn put_section(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<SectionBody>,
) -> ApiResult<Json<Notes>> {
    let content = body.content.unwrap_or_default();
    Ok(Json(state.notes().set_section(
        &source,
        &id,
        &body.section,
        &content,
    )?))
}

/// Body of `POST .../todos`.
#[derive(Debug, Deserialize)]
pub struct NewTodo {
    text: String,
}

/// `POST /api/notes/:source/:id/todos`
pub async fn add_todo(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<NewTodo>,
) -> ApiResult<Json<Notes>> {
    Ok(Json(state.notes().add_todo(&source, &id, &body.text)?))
}

/// Body of `PATCH .../todos/:todoId`.
#[derive(Debug, Deserialize)]
pub struct TodoUpdate {
    text: Option<String>,
    checked: Option<bool>,
}

/// `PATCH /api/notes/:source/:id/todos/:todoId`
pub async fn update_todo(
    State(state): State<AppState>,
    ApiPath((source, id, todo)): ApiPath<(String, String, String)>,
    JsonBody(body): JsonBody<TodoUpdate>,
) -> ApiResult<Json<Notes>> {
    Ok(Json(state.notes().update_todo(
        &source,
        &id,
        &todo,
        body.text.as_deref(),
        body.checked,
    )?))
}

/// `DELETE /api/notes/:source/:id/todos/:todoId`
pub async fn delete_todo(
    State(state): State<AppState>,
    ApiPath((source, id, todo)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Notes>> {
    Ok(Json(state.notes().delete_todo(&source, &id, &todo)?))
}

/// `PATCH /api/notes/:source/:id/git-policy`
pub async fn git_policy(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> ApiResult<Json<Notes>> {
    let mut update = GitPolicy::default();
    for (key, value) in body {
        let parsed = value.as_str().and_then(PolicyValue::parse).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_POLICY",
                format!("Invalid value for {key}: use \"inherit\", \"allow\" or \"deny\""),
            )
        })?;
        match key.as_str() {
            "agentCommits" => update.agent_commits = Some(parsed),
            "agentPushes" => update.agent_pushes = Some(parsed),
            "agentPRs" => update.agent_prs = Some(parsed),
            other => {
                return Err(ApiError::bad_request(
                    "INVALID_POLICY",
                    format!(
                        "Unknown policy field \"{other}\": use agentCommits, agentPushes or agentPRs"
                    ),
                ));
            }
        }
    }
    Ok(Json(state.notes().set_git_policy(&source, &id, update)?))
}
