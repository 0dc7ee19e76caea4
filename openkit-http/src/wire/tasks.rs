//! Local tasks and their attachments: `/api/tasks`.

use std::path::PathBuf;

use openkit_core::tasks::{
    Attachment as CoreAttachment, Task as CoreTask, TaskError, TaskFields, TaskPriority,
    TaskStatus, TaskSummary as CoreSummary,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::worktrees::WorktreeInfo;
use super::{False, True};

/// A task's status on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Status {
    /// Not started.
    #[serde(rename = "todo")]
    Todo,
    /// Being worked on.
    #[serde(rename = "in-progress")]
    InProgress,
    /// Finished.
    #[serde(rename = "done")]
    Done,
}

impl From<TaskStatus> for Status {
    fn from(s: TaskStatus) -> Self {
        match s {
            TaskStatus::Todo => Status::Todo,
            TaskStatus::InProgress => Status::InProgress,
            TaskStatus::Done => Status::Done,
        }
    }
}

/// A task's priority on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Priority {
    /// Urgent.
    #[serde(rename = "high")]
    High,
    /// The default.
    #[serde(rename = "medium")]
    Medium,
    /// Whenever.
    #[serde(rename = "low")]
    Low,
}

impl From<TaskPriority> for Priority {
    fn from(p: TaskPriority) -> Self {
        match p {
            TaskPriority::High => Priority::High,
            TaskPriority::Medium => Priority::Medium,
            TaskPriority::Low => Priority::Low,
        }
    }
}

/// A local task with what every view adds: `identifier` and the linked worktree.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// `LOCAL-7`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Where the task stands.
    pub status: Status,
    /// How much it matters.
    pub priority: Priority,
    /// Labels.
    pub labels: Vec<String>,
    /// ISO-8601 UTC.
    pub created_at: String,
    /// ISO-8601 UTC.
    pub updated_at: String,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Same as `id`.
    pub identifier: String,
    /// The worktree the task's notes link to.
    #[schema(required = true)]
    pub linked_worktree_id: Option<String>,
}

/// Keys the wire types set themselves; an unknown field of the same name is dropped.
const COMPUTED: [&str; 4] = [
    "identifier",
    "linkedWorktreeId",
    "attachmentCount",
    "attachments",
];

impl Task {
    /// `task` with its linked worktree.
    pub fn new(task: &CoreTask, linked_worktree_id: Option<String>) -> Self {
        let mut extra = task.extra.clone();
        for key in COMPUTED {
            extra.remove(key);
        }
        Task {
            id: task.id.clone(),
            title: task.title.clone(),
            description: task.description.clone(),
            status: task.status.into(),
            priority: task.priority.into(),
            labels: task.labels.clone(),
            created_at: task.created_at.clone(),
            updated_at: task.updated_at.clone(),
            extra,
            identifier: task.id.clone(),
            linked_worktree_id,
        }
    }
}

/// A task as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Number of attachments.
    pub attachment_count: usize,
}

impl From<&CoreSummary> for TaskSummary {
    fn from(s: &CoreSummary) -> Self {
        TaskSummary {
            task: Task::new(&s.task, s.linked_worktree_id.clone()),
            attachment_count: s.attachment_count,
        }
    }
}

/// A file attached to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// File name inside the task's `attachments/`.
    pub filename: String,
    /// Guessed from the extension.
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    /// Absolute path on disk.
    #[schema(value_type = String)]
    pub local_path: PathBuf,
    /// ISO-8601 UTC (file modification time).
    pub created_at: String,
}

impl From<&CoreAttachment> for Attachment {
    fn from(a: &CoreAttachment) -> Self {
        Attachment {
            filename: a.filename.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            local_path: a.local_path.clone(),
            created_at: a.created_at.clone(),
        }
    }
}

/// A task with its attachments.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaskDetail {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
}

/// `GET /api/tasks`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskList {
    /// Every local task.
    pub tasks: Vec<TaskSummary>,
}

/// `GET /api/tasks/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskDetailResponse {
    /// The task with its attachments.
    pub task: TaskDetail,
}

/// A created or changed task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskResponse {
    /// Always `true`.
    pub success: True,
    /// The task.
    pub task: Task,
}

/// Body of `POST /api/tasks` (`title` required) and `PATCH /api/tasks/:id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// Title.
    pub title: Option<String>,
    /// Description (Markdown).
    pub description: Option<String>,
    /// `todo`, `in-progress` or `done` (anything else: `INVALID_INPUT`).
    #[schema(value_type = Option<Status>)]
    pub status: Option<String>,
    /// `high`, `medium` or `low` (anything else: `INVALID_INPUT`).
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// Labels.
    pub labels: Option<Vec<String>>,
}

impl TryFrom<TaskRequest> for TaskFields {
    type Error = TaskError;

    /// Fails (`INVALID_INPUT`) on a status or priority outside the allowed words.
    fn try_from(b: TaskRequest) -> Result<Self, TaskError> {
        Ok(TaskFields {
            title: b.title,
            description: b.description,
            status: b.status.as_deref().map(TaskStatus::parse).transpose()?,
            priority: b.priority.as_deref().map(TaskPriority::parse).transpose()?,
            labels: b.labels,
        })
    }
}

/// Body of `POST /api/tasks/recover-local`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverTaskRequest {
    /// `<prefix>-<number>` of an existing worktree.
    pub task_id: String,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// `high`, `medium` or `low` (anything else: `INVALID_INPUT`).
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// Labels.
    pub labels: Option<Vec<String>>,
}

/// A recovered task, linked to its worktree.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveredTask {
    /// Always `true`.
    pub success: True,
    /// The task.
    pub task: Task,
    /// The canonical worktree id it is linked to.
    pub linked_worktree_id: String,
}

/// Multipart body of `POST /api/tasks/:id/attachments`.
#[derive(Debug, ToSchema)]
pub struct AttachmentUpload {
    /// The file (its file name is kept, sanitised and de-duplicated).
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// An uploaded attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentUploaded {
    /// Always `true`.
    pub success: True,
    /// The stored file.
    pub attachment: Attachment,
}

/// Body of `POST /api/tasks/:id/create-worktree`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskWorktreeRequest {
    /// Branch to use instead of the branch-name rule's.
    pub branch: Option<String>,
}

/// A worktree created for a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskWorktreeCreated {
    /// Always `true`.
    pub success: True,
    /// The new worktree.
    pub worktree: WorktreeInfo,
    /// Always `false`.
    pub reused_existing: False,
}

/// An existing worktree of the task's id, linked and reused.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskWorktreeReused {
    /// Always `true`.
    pub success: True,
    /// Its canonical id.
    pub worktree_id: String,
    /// Its path.
    #[schema(value_type = String)]
    pub worktree_path: PathBuf,
    /// Always `true`.
    pub reused_existing: True,
}
