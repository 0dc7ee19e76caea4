//! `/api/notes/:source/:id`: per-issue notes, todos and git policy.

use axum::Json;
use axum::extract::State;
use openkit_core::notes::{GitPolicy, PolicyValue};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::ErrorBody;
use crate::wire::notes::{
    GitPolicyUpdate, NewTodoRequest, Notes, NotesSectionRequest, TodoUpdateRequest,
};

/// `GET /api/notes/:source/:id`
#[utoipa::path(
    get,
    path = "/api/notes/{source}/{id}",
    tag = "notes",
    summary = "The notes of an issue",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
    ),
    responses(
        (status = 200, description = "The notes (empty notes when none were written)", body = Notes),
        (status = 400, description = "Unknown source (`INVALID_SOURCE`) or invalid issue id (`INVALID_ISSUE_ID`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Notes>> {
    let issue = state.notes().issue(&source, &id)?;
    Ok(Json(Notes::from(&state.notes().get(&issue)?)))
}

/// `PUT /api/notes/:source/:id`
#[utoipa::path(
    put,
    path = "/api/notes/{source}/{id}",
    tag = "notes",
    summary = "Replace a notes section",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
    ),
    request_body = NotesSectionRequest,
    responses(
        (status = 200, description = "The updated notes", body = Notes),
        (status = 400, description = "Unknown source, invalid issue id, or unknown section (`INVALID_INPUT`)", body = ErrorBody),
        (status = 409, description = "The notes file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn put_section(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<NotesSectionRequest>,
) -> ApiResult<Json<Notes>> {
    let content = body.content.unwrap_or_default();
    let issue = state.notes().issue(&source, &id)?;
    let notes = state.notes().set_section(&issue, &body.section, &content)?;
    Ok(Json(Notes::from(&notes)))
}

/// `POST /api/notes/:source/:id/todos`
#[utoipa::path(
    post,
    path = "/api/notes/{source}/{id}/todos",
    tag = "notes",
    summary = "Add a todo",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
    ),
    request_body = NewTodoRequest,
    responses(
        (status = 200, description = "The updated notes", body = Notes),
        (status = 400, description = "Unknown source, invalid issue id, or empty text", body = ErrorBody),
        (status = 409, description = "The notes file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn add_todo(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<NewTodoRequest>,
) -> ApiResult<Json<Notes>> {
    let issue = state.notes().issue(&source, &id)?;
    let notes = state.notes().add_todo(&issue, &body.text)?;
    Ok(Json(Notes::from(&notes)))
}

/// `PATCH /api/notes/:source/:id/todos/:todoId`
#[utoipa::path(
    patch,
    path = "/api/notes/{source}/{id}/todos/{todo_id}",
    tag = "notes",
    summary = "Change a todo",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
        ("todo_id" = String, Path, description = "Todo id"),
    ),
    request_body = TodoUpdateRequest,
    responses(
        (status = 200, description = "The updated notes", body = Notes),
        (status = 400, description = "Unknown source, invalid issue id, or empty text", body = ErrorBody),
        (status = 404, description = "No such todo (`TODO_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The notes file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn update_todo(
    State(state): State<AppState>,
    ApiPath((source, id, todo)): ApiPath<(String, String, String)>,
    JsonBody(body): JsonBody<TodoUpdateRequest>,
) -> ApiResult<Json<Notes>> {
    let issue = state.notes().issue(&source, &id)?;
    let notes = state
        .notes()
        .update_todo(&issue, &todo, body.text.as_deref(), body.checked)?;
    Ok(Json(Notes::from(&notes)))
}

/// `DELETE /api/notes/:source/:id/todos/:todoId`
#[utoipa::path(
    delete,
    path = "/api/notes/{source}/{id}/todos/{todo_id}",
    tag = "notes",
    summary = "Delete a todo",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
        ("todo_id" = String, Path, description = "Todo id"),
    ),
    responses(
        (status = 200, description = "The updated notes", body = Notes),
        (status = 400, description = "Unknown source or invalid issue id", body = ErrorBody),
        (status = 404, description = "No such todo (`TODO_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The notes file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn delete_todo(
    State(state): State<AppState>,
    ApiPath((source, id, todo)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Notes>> {
    let issue = state.notes().issue(&source, &id)?;
    let notes = state.notes().delete_todo(&issue, &todo)?;
    Ok(Json(Notes::from(&notes)))
}

/// `PATCH /api/notes/:source/:id/git-policy`
#[utoipa::path(
    patch,
    path = "/api/notes/{source}/{id}/git-policy",
    tag = "notes",
    summary = "Change the agent git policy of an issue",
    params(
        ("source" = String, Path, description = "Issue source: `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered one"),
        ("id" = String, Path, description = "Issue key"),
    ),
    request_body = GitPolicyUpdate,
    responses(
        (status = 200, description = "The updated notes", body = Notes),
        (status = 400, description = "Unknown field or value (`INVALID_POLICY`), unknown source or invalid issue id", body = ErrorBody),
        (status = 409, description = "The notes file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn git_policy(
    State(state): State<AppState>,
    ApiPath((source, id)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<Notes>> {
    // Parsed field by field (not as `GitPolicyUpdate`) for `INVALID_POLICY` errors that
    // name the field.
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
    let issue = state.notes().issue(&source, &id)?;
    let notes = state.notes().set_git_policy(&issue, update)?;
    Ok(Json(Notes::from(&notes)))
}
