//! `/api/tasks`: local tasks and their attachments.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openkit_core::issues::IssueRef;
use openkit_core::task_worktree::TaskWorktree;
use openkit_core::tasks::{
    MAX_ATTACHMENT_BYTES, Task as CoreTask, TaskError, TaskFields, TaskPriority,
};

use crate::error::{ApiError, ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::tasks::{
    Attachment, AttachmentUpload, AttachmentUploaded, RecoverTaskRequest, RecoveredTask, Task,
    TaskDetail, TaskDetailResponse, TaskList, TaskRequest, TaskResponse, TaskSummary,
    TaskWorktreeCreated, TaskWorktreeRequest, TaskWorktreeReused,
};
use crate::wire::{ErrorBody, False, Success, True};

/// A task with what the list and detail views add: identifier, linked worktree.
fn task_wire(state: &AppState, task: &CoreTask) -> Task {
    let linked = IssueRef::local(&task.id)
        .ok()
        .and_then(|issue| state.notes().get(&issue).ok())
        .and_then(|n| n.linked_worktree_id);
    Task::new(task, linked)
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
#[utoipa::path(
    get,
    path = "/api/tasks",
    tag = "tasks",
    summary = "List local tasks",
    responses(
        (status = 200, description = "Every local task with its link and attachment count", body = TaskList),
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<TaskList>> {
    let tasks = Arc::clone(state.tasks());
    let summaries = tokio::task::spawn_blocking(move || tasks.summaries())
        .await
        .unwrap_or_default();
    Ok(Json(TaskList {
        tasks: summaries.iter().map(TaskSummary::from).collect(),
    }))
}

/// `GET /api/tasks/:id`
#[utoipa::path(
    get,
    path = "/api/tasks/{id}",
    tag = "tasks",
    summary = "A task with its attachments",
    params(("id" = String, Path, description = "Task id (`LOCAL-7`)")),
    responses(
        (status = 200, description = "The task", body = TaskDetailResponse),
        (status = 400, description = "Invalid task id", body = ErrorBody),
        (status = 404, description = "No such task (`TASK_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The task file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskDetailResponse>> {
    let task = state.tasks().get(&id)?;
    let attachments = state.tasks().attachments(&id)?;
    Ok(Json(TaskDetailResponse {
        task: TaskDetail {
            task: task_wire(&state, &task),
            attachments: attachments.iter().map(Attachment::from).collect(),
        },
    }))
}

/// `POST /api/tasks`
#[utoipa::path(
    post,
    path = "/api/tasks",
    tag = "tasks",
    summary = "Create a local task",
    request_body = TaskRequest,
    responses(
        (status = 200, description = "The new task", body = TaskResponse),
        (status = 400, description = "Missing title or invalid status/priority (`INVALID_INPUT`)", body = ErrorBody),
        (status = 409, description = "The config file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TaskRequest>,
) -> ApiResult<Json<TaskResponse>> {
    let task = state.tasks().create(&prefix(&state)?, body.try_into()?)?;
    Ok(Json(TaskResponse {
        success: True,
        task: task_wire(&state, &task),
    }))
}

/// `PATCH /api/tasks/:id`
#[utoipa::path(
    patch,
    path = "/api/tasks/{id}",
    tag = "tasks",
    summary = "Change a task",
    params(("id" = String, Path, description = "Task id")),
    request_body = TaskRequest,
    responses(
        (status = 200, description = "The changed task", body = TaskResponse),
        (status = 400, description = "Invalid field value or task id (`INVALID_INPUT`)", body = ErrorBody),
        (status = 404, description = "No such task (`TASK_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The task file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<TaskRequest>,
) -> ApiResult<Json<TaskResponse>> {
    let task = state.tasks().update(&id, body.try_into()?)?;
    Ok(Json(TaskResponse {
        success: True,
        task: task_wire(&state, &task),
    }))
}

/// `DELETE /api/tasks/:id`
#[utoipa::path(
    delete,
    path = "/api/tasks/{id}",
    tag = "tasks",
    summary = "Delete a task with its notes and attachments",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid task id", body = ErrorBody),
        (status = 404, description = "No such task (`TASK_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    state.tasks().delete(&id)?;
    Ok(Json(Success::new()))
}

/// `POST /api/tasks/recover-local`: recreates the metadata of a local task whose
/// worktree still exists, linked to that worktree, and bumps the id counter.
#[utoipa::path(
    post,
    path = "/api/tasks/recover-local",
    tag = "tasks",
    summary = "Recreate a local task for an existing worktree",
    request_body = RecoverTaskRequest,
    responses(
        (status = 200, description = "The recovered task", body = RecoveredTask),
        (status = 400, description = "Invalid `taskId` (`INVALID_TASK_ID`) or field", body = ErrorBody),
        (status = 404, description = "No worktree with that id (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The task exists (`TASK_EXISTS`) or the worktree id is ambiguous", body = ErrorBody),
    )
)]
pub async fn recover_local(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RecoverTaskRequest>,
) -> ApiResult<Json<RecoveredTask>> {
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
            priority: body
                .priority
                .as_deref()
                .map(TaskPriority::parse)
                .transpose()?,
            labels: body.labels,
        },
    )?;
    state
        .notes()
        .link(&IssueRef::local(&task.id)?, Some(&worktree_id))?;
    Ok(Json(RecoveredTask {
        success: True,
        task: task_wire(&state, &task),
        linked_worktree_id: worktree_id,
    }))
}

/// `POST /api/tasks/:id/attachments` (multipart, field `file`)
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/attachments",
    tag = "tasks",
    summary = "Upload an attachment",
    params(("id" = String, Path, description = "Task id")),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = AttachmentUploaded),
        (status = 400, description = "Not a multipart body, or a malformed one (`INVALID_MULTIPART`), or no `file` field (`MISSING_FILE`)", body = ErrorBody),
        (status = 404, description = "No such task (`TASK_NOT_FOUND`)", body = ErrorBody),
        (status = 413, description = "The file is over 25 MiB (`PAYLOAD_TOO_LARGE`)", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<AttachmentUploaded>> {
    let mut multipart =
        multipart.map_err(|e| ApiError::new(e.status(), "INVALID_MULTIPART", e.body_text()))?;
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
        return Ok(Json(AttachmentUploaded {
            success: True,
            attachment: Attachment::from(&attachment),
        }));
    }
}

/// Largest request body of an upload: the attachment plus multipart framing.
pub const MAX_UPLOAD_BODY: usize = MAX_ATTACHMENT_BYTES + 64 * 1024;

/// `GET /api/tasks/:id/attachments/:filename`
#[utoipa::path(
    get,
    path = "/api/tasks/{id}/attachments/{filename}",
    tag = "tasks",
    summary = "Download an attachment",
    params(
        ("id" = String, Path, description = "Task id"),
        ("filename" = String, Path, description = "Attachment file name"),
    ),
    responses(
        (status = 200, description = "The raw file, with a `Content-Type` guessed from its extension and a one-hour cache. Images that cannot carry script (PNG, JPEG, GIF, WebP, AVIF, BMP, ICO) are `Content-Disposition: inline`, everything else (HTML, SVG, ...) `attachment`; every answer has `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`",
            content_type = "application/octet-stream", body = Vec<u8>,
            headers(
                ("Content-Disposition" = String, description = "`inline` for script-free images, else `attachment`; `filename` (ASCII) and `filename*` (UTF-8) per RFC 6266"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
                ("Content-Security-Policy" = String, description = "`sandbox`"),
            )),
        (status = 400, description = "Invalid task id or file name", body = ErrorBody),
        (status = 404, description = "No such task or attachment (`ATTACHMENT_NOT_FOUND`)", body = ErrorBody),
    )
)]
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
    let mime = openkit_core::tasks::mime_for(&filename);
    Ok(attachment_response(mime, &filename, bytes))
}

/// An attachment's bytes as served to a browser (local tasks and the trackers'
/// proxies): its type, `inline` only for script-free images, `nosniff`, a sandbox CSP
/// and a private one-hour cache.
pub(crate) fn attachment_response(mime: String, filename: &str, bytes: Vec<u8>) -> Response {
    let disposition = content_disposition(inline_safe(&mime), filename);
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_SECURITY_POLICY, ATTACHMENT_CSP.to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response()
}

/// The `Content-Security-Policy` of every attachment: a sandbox (no script, no same-origin
/// access, no forms) in case a browser renders it anyway.
pub const ATTACHMENT_CSP: &str = "sandbox";

/// Image types a browser renders without running anything, shown inline. Everything else
/// (HTML, SVG, XML, PDF, text, ...) is served as a download, so an uploaded page never
/// runs in our origin.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
];

/// True when an attachment of this MIME type may be shown inline.
fn inline_safe(mime: &str) -> bool {
    INLINE_TYPES.contains(&mime)
}

/// `Content-Disposition` for a stored attachment name (RFC 6266): `inline` or
/// `attachment`, a quoted ASCII `filename` (anything else, and `"` or `\`, becomes `_`)
/// and, when the name is not plain ASCII, the exact name as `filename*=UTF-8''...`
/// (RFC 5987 percent-encoding).
fn content_disposition(inline: bool, filename: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = filename
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("{kind}; filename=\"{fallback}\"");
    if fallback != filename {
        value.push_str("; filename*=UTF-8''");
        for byte in filename.bytes() {
            // RFC 5987 attr-char; everything else is percent-encoded.
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(byte as char);
            } else {
                value.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    value
}

/// `DELETE /api/tasks/:id/attachments/:filename`
#[utoipa::path(
    delete,
    path = "/api/tasks/{id}/attachments/{filename}",
    tag = "tasks",
    summary = "Delete an attachment",
    params(
        ("id" = String, Path, description = "Task id"),
        ("filename" = String, Path, description = "Attachment file name"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid task id or file name", body = ErrorBody),
        (status = 404, description = "No such task or attachment (`ATTACHMENT_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn delete_attachment(
    State(state): State<AppState>,
    ApiPath((id, filename)): ApiPath<(String, String)>,
) -> ApiResult<Json<Success>> {
    state.tasks().delete_attachment(&id, &filename)?;
    Ok(Json(Success::new()))
}

/// `POST /api/tasks/:id/create-worktree`: a worktree with the task's id on a branch named
/// by the branch-name rule (or `branch`), linked to the task. An existing worktree whose id
/// matches the task's (case-insensitively) is linked and reused instead.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/create-worktree",
    tag = "tasks",
    summary = "Create (or reuse) the worktree of a task",
    params(("id" = String, Path, description = "Task id")),
    request_body = TaskWorktreeRequest,
    responses(
        (status = 200, description = "An existing worktree of the task's id was linked and reused", body = TaskWorktreeReused),
        (status = 201, description = "Created and linked", body = TaskWorktreeCreated),
        (status = 400, description = "Invalid branch or task id", body = ErrorBody),
        (status = 404, description = "No such task (`TASK_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The worktree id is busy", body = ErrorBody),
        (status = 503, description = "git could not run or timed out (`GIT_UNAVAILABLE`, `GIT_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn create_worktree(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<TaskWorktreeRequest>,
) -> ApiResult<Response> {
    let answer = match state
        .workbench()
        .create_worktree_for_task(&id, body.branch)
        .await?
    {
        TaskWorktree::Reused {
            worktree_id,
            worktree_path,
        } => (
            StatusCode::OK,
            Json(TaskWorktreeReused {
                success: True,
                worktree_id,
                worktree_path,
                reused_existing: True,
            }),
        )
            .into_response(),
        TaskWorktree::Created { worktree } => (
            StatusCode::CREATED,
            Json(TaskWorktreeCreated {
                success: True,
                worktree: worktree.as_ref().into(),
                reused_existing: False,
            }),
        )
            .into_response(),
    };
    Ok(answer)
}
