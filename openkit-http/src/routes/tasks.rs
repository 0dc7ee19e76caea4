//! `/api/tasks`: local tasks and their attachments.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openkit_core::tasks::{MAX_ATTACHMENT_BYTES, Task, TaskError, TaskFields};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;

/// Body of `POST /api/tasks` and `PATCH /api/tasks/:id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    title: Option<String>,
    description: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    labels: Option<Vec<String>>,
}

impl From<TaskBody> for TaskFields {
    fn from(b: TaskBody) -> Self {
        TaskFields {
            title: b.title,
            description: b.description,
            status: b.status,
            priority: b.priority,
            labels: b.labels,
        }
    }
}

/// A task with what the list and detail views add: identifier, linked worktree.
fn task_json(state: &AppState, task: &Task) -> Value {
    let mut value = serde_json::to_value(task).unwrap_or_default();
    let linked = state
        .notes()
        .get("local", &task.id)
        .ok()
        .and_then(|n| n.linked_worktree_id);
    if let Some(obj) = value.as_object_mut() {
        obj.insert("identifier".into(), json!(task.id));
        obj.insert("linkedWorktreeId".into(), json!(linked));
    }
    value
}

/// The configured id prefix (`LOCAL`).
fn prefix(state: &AppState) -> ApiResult<String> {
    Ok(state
        .workbench()
        .config()
        .load_or_default()?
        .local_issue_prefix)
}

/// `GET /api/tasks`
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let tasks = Arc::clone(state.tasks());
    let summaries = tokio::task::spawn_blocking(move || tasks.summaries())
        .await
        .unwrap_or_default();
    Ok(Json(json!({ "tasks": summaries })))
}

/// `GET /api/tasks/:id`
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let task = state.tasks().get(&id)?;
    let mut value = task_json(&state, &task);
    value["attachments"] = json!(state.tasks().attachments(&id)?);
    Ok(Json(json!({ "task": value })))
}

/// `POST /api/tasks`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TaskBody>,
) -> ApiResult<Json<Value>> {
    let task = state.tasks().create(&prefix(&state)?, body.into())?;
    Ok(Json(
        json!({ "success": true, "task": task_json(&state, &task) }),
    ))
}

/// `PATCH /api/tasks/:id`
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<TaskBody>,
) -> ApiResult<Json<Value>> {
    let task = state.tasks().update(&id, body.into())?;
    Ok(Json(
        json!({ "success": true, "task": task_json(&state, &task) }),
    ))
}

/// `DELETE /api/tasks/:id`
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state.tasks().delete(&id)?;
    Ok(Json(json!({ "success": true })))
}

/// Body of `POST /api/tasks/recover-local`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoverBody {
    task_id: String,
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    labels: Option<Vec<String>>,
}

/// `POST /api/tasks/recover-local`: recreates the metadata of a local task whose
/// worktree still exists, linked to that worktree, and bumps the id counter.
pub async fn recover_local(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RecoverBody>,
) -> ApiResult<Json<Value>> {
    let prefix = prefix(&state)?;
    let well_formed = body
        .task_id
        .strip_prefix(&format!("{prefix}-"))
        .is_some_and(|n| !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(ApiError::bad_request(
            "INVALID_TASK_ID",
            format!(
                "Invalid taskId \"{}\": expected {prefix}-<number>",
                body.task_id
            ),
        ));
    }
    let worktree_id = state.workbench().resolve(&body.task_id).await?;
    let task = state.tasks().restore(
        &body.task_id,
        TaskFields {
            title: body.title,
            description: body.description,
            status: None,
            priority: body.priority,
            labels: body.labels,
        },
    )?;
    state.notes().link("local", &task.id, Some(&worktree_id))?;
    Ok(Json(json!({
        "success": true,
        "task": task_json(&state, &task),
        "linkedWorktreeId": worktree_id,
    })))
}

/// `POST /api/tasks/:id/attachments` (multipart, field `file`)
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    mut multipart: Multipart,
) -> ApiResult<Json<Value>> {
    state.tasks().get(&id)?;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            TaskError::TooLarge.to_string(),
        )
    };
    loop {
        let field = multipart.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request("INVALID_MULTIPART", e.body_text())
            }
        })?;
        let Some(field) = field else {
            return Err(ApiError::bad_request(
                "MISSING_FILE",
                "Send the file in a multipart field named \"file\"",
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("attachment").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request("INVALID_MULTIPART", e.body_text())
            }
        })?;
        let attachment = match state.tasks().add_attachment(&id, &name, &bytes) {
            Err(TaskError::TooLarge) => return Err(too_large()),
            other => other?,
        };
        return Ok(Json(json!({ "success": true, "attachment": attachment })));
    }
}

/// Largest request body of an upload: the attachment plus multipart framing.
pub const MAX_UPLOAD_BODY: usize = MAX_ATTACHMENT_BYTES + 64 * 1024;

/// `GET /api/tasks/:id/attachments/:filename`
pub async fn download(
    State(state): State<AppState>,
    ApiPath((id, filename)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let path = state.tasks().attachment_path(&id, &filename)?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        ApiError::from(openkit_core::error::IoFailure::new(
            format!("reading {}", path.display()),
            e,
        ))
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                openkit_core::tasks::mime_for(&filename),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `DELETE /api/tasks/:id/attachments/:filename`
pub async fn delete_attachment(
    State(state): State<AppState>,
    ApiPath((id, filename)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    state.tasks().delete_attachment(&id, &filename)?;
    Ok(Json(json!({ "success": true })))
}

/// Body of `POST /api/tasks/:id/create-worktree`.
#[derive(Debug, Deserialize)]
pub struct CreateWorktreeBody {
    branch: Option<String>,
}

/// `POST /api/tasks/:id/create-worktree`: a worktree with the task's id on a branch named
/// by the branch-name rule (or `branch`), linked to the task. An existing worktree whose id
/// matches the task's (case-insensitively) is linked and reused instead.
pub async fn create_worktree(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<CreateWorktreeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let task = state.tasks().get(&id)?;
    let worktrees = state.workbench().list_worktrees().await?;
    if let Some(existing) = worktrees
        .iter()
        .find(|w| !w.is_root && w.id.eq_ignore_ascii_case(&task.id))
    {
        state.notes().link("local", &task.id, Some(&existing.id))?;
        return Ok((
            StatusCode::OK,
            Json(json!({
                "success": true,
                "worktreeId": existing.id,
                "worktreePath": existing.path,
                "reusedExisting": true,
            })),
        ));
    }
    let branch = match body
        .branch
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
    {
        Some(branch) => branch,
        None => {
            let rules = openkit_core::rules::RuleStore::new(state.workbench().paths().clone());
            let input = openkit_core::rules::BranchInput {
                issue_id: task.id.clone(),
                name: task.title.clone(),
                r#type: "feature".into(),
            };
            tokio::task::spawn_blocking(move || rules.branch_name(Some("local"), &input))
                .await
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL_ERROR",
                        e.to_string(),
                    )
                })?
        }
    };
    let created = state
        .workbench()
        .create_worktree(openkit_core::CreateWorktree {
            branch,
            id: Some(task.id.clone()),
            name: None,
        })
        .await?;
    state
        .notes()
        .link("local", &task.id, Some(&created.worktree.id))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "worktree": created.worktree, "reusedExisting": false })),
    ))
}
