//! Local git operations on a worktree: `/api/worktrees/:id/diff`, `.../diff/file`,
//! `.../commit`, `.../push`.

use openkit_core::git::{ChangeStatus, ChangedFile, CommitOutcome, FileContents, PushOutcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ErrorBody, True};

/// How a file changed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Changed in place.
    Modified,
    /// New (staged, or committed since the base).
    Added,
    /// Removed.
    Deleted,
    /// Moved (`oldPath` says from where).
    Renamed,
    /// New and not known to git.
    Untracked,
}

impl From<ChangeStatus> for FileStatus {
    fn from(s: ChangeStatus) -> Self {
        match s {
            ChangeStatus::Modified => FileStatus::Modified,
            ChangeStatus::Added => FileStatus::Added,
            ChangeStatus::Deleted => FileStatus::Deleted,
            ChangeStatus::Renamed => FileStatus::Renamed,
            ChangeStatus::Untracked => FileStatus::Untracked,
        }
    }
}

/// One changed file.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffFile {
    /// Path relative to the worktree root.
    #[schema(example = "src/app.ts")]
    pub path: String,
    /// How it changed.
    pub status: FileStatus,
    /// Lines added (0 for binary files).
    pub lines_added: u64,
    /// Lines removed (0 for binary files).
    pub lines_removed: u64,
    /// Either side is binary (no line counts, no contents).
    pub is_binary: bool,
    /// Where a renamed file came from (pass it as `oldPath` to `.../diff/file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

impl From<&ChangedFile> for DiffFile {
    fn from(f: &ChangedFile) -> Self {
        DiffFile {
            path: f.path.clone(),
            status: f.status.into(),
            lines_added: f.lines_added as u64,
            lines_removed: f.lines_removed as u64,
            is_binary: f.is_binary,
            old_path: f.old_path.clone(),
        }
    }
}

/// Query of `GET /api/worktrees/:id/diff`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct DiffParams {
    /// `true` (or `1`): everything since the branch left `origin/<baseBranch>` (the local
    /// base branch without a remote), committed or not. Default `false`: uncommitted
    /// changes only, untracked files included.
    #[param(value_type = Option<bool>)]
    pub include_committed: Option<String>,
}

/// `GET /api/worktrees/:id/diff`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffResponse {
    /// Always `true`.
    pub success: True,
    /// The changed files, by path.
    pub files: Vec<DiffFile>,
    /// The configured base branch.
    #[schema(example = "main")]
    pub base_branch: String,
}

/// A failed `GET /api/worktrees/:id/diff`: the error envelope plus an empty list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffErrorBody {
    /// Always empty.
    pub files: Vec<DiffFile>,
    /// Always empty.
    pub base_branch: String,
    /// The envelope.
    #[serde(flatten)]
    pub envelope: ErrorBody,
}

/// Query of `GET /api/worktrees/:id/diff/file`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct DiffFileParams {
    /// The file, relative to the worktree root (no `..`, not absolute, not inside
    /// `.git`, not through a symbolic link).
    pub path: Option<String>,
    /// `modified` (default), `added`, `deleted`, `renamed` or `untracked`.
    pub status: Option<String>,
    /// Compare with where the branch left the base branch instead of HEAD.
    #[param(value_type = Option<bool>)]
    pub include_committed: Option<String>,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
}

/// `GET /api/worktrees/:id/diff/file`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffFileResponse {
    /// Always `true`.
    pub success: True,
    /// The file in the base (empty for added or untracked files).
    pub old_content: String,
    /// The file in the working tree (empty for deleted files).
    pub new_content: String,
}

impl From<FileContents> for DiffFileResponse {
    fn from(c: FileContents) -> Self {
        DiffFileResponse {
            success: True,
            old_content: c.old_content,
            new_content: c.new_content,
        }
    }
}

/// A failed `GET /api/worktrees/:id/diff/file`: the error envelope plus empty contents.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffFileErrorBody {
    /// Always empty.
    pub old_content: String,
    /// Always empty.
    pub new_content: String,
    /// The envelope.
    #[serde(flatten)]
    pub envelope: ErrorBody,
}

/// Body of `POST /api/worktrees/:id/commit`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommitRequest {
    /// The commit message (the project's commit-message rule is applied to it).
    #[schema(example = "feat: add new feature")]
    pub message: Option<String>,
}

/// `POST /api/worktrees/:id/commit`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitResponse {
    /// Always `true`.
    pub success: True,
    /// The new commit's id.
    pub commit: String,
    /// The message it was made with, after the commit-message rule.
    pub message: String,
    /// The branch it is on.
    pub branch: String,
}

impl From<&CommitOutcome> for CommitResponse {
    fn from(c: &CommitOutcome) -> Self {
        CommitResponse {
            success: True,
            commit: c.commit.clone(),
            message: c.message.clone(),
            branch: c.branch.clone(),
        }
    }
}

/// `POST /api/worktrees/:id/push`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    /// Always `true`.
    pub success: True,
    /// The branch pushed.
    pub branch: String,
    /// The remote pushed to.
    pub remote: String,
    /// The upstream the branch tracks (`origin/<branch>` after a first push).
    pub upstream: String,
    /// This push set the upstream (the branch had none).
    pub set_upstream: bool,
}

impl From<&PushOutcome> for PushResponse {
    fn from(p: &PushOutcome) -> Self {
        PushResponse {
            success: True,
            branch: p.branch.clone(),
            remote: p.remote.clone(),
            upstream: p.upstream.clone(),
            set_upstream: p.set_upstream,
        }
    }
}
