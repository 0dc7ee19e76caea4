//! Errors of worktree operations.

use crate::config::ConfigError;
use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::git::GitError;

/// A failed worktree operation.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// No worktree has this id (exactly or case-insensitively).
    #[error("Worktree \"{id}\" not found")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// Several worktrees match the id case-insensitively.
    #[error("Worktree \"{id}\" is ambiguous. Matches: {}", matches.join(", "))]
    Ambiguous {
        /// The id asked for.
        id: String,
        /// The canonical ids it matches.
        matches: Vec<String>,
    },
    /// A worktree with this id (or branch checkout) exists already.
    #[error("Worktree \"{id}\" already exists")]
    Exists {
        /// The canonical id of the existing worktree.
        id: String,
    },
    /// The id is not acceptable.
    #[error("{reason}")]
    InvalidId {
        /// Why.
        reason: String,
    },
    /// The branch name is not acceptable.
    #[error("{reason}")]
    InvalidBranch {
        /// Why.
        reason: String,
    },
    /// Another input is not acceptable.
    #[error("{reason}")]
    InvalidInput {
        /// Why.
        reason: String,
    },
    /// The repository has no commits, so there is nothing to branch from.
    #[error("The repository has no commits yet; make an initial commit before creating worktrees")]
    NoCommits,
    /// The worktree is being created, renamed or removed right now.
    #[error("Worktree \"{id}\" is busy: {what}")]
    Busy {
        /// The canonical id.
        id: String,
        /// What is going on.
        what: String,
    },
    /// The main checkout cannot be changed through worktree operations.
    #[error("The main checkout (\"root\") cannot be {action}")]
    RootImmutable {
        /// What was attempted ("renamed", "deleted", ...).
        action: &'static str,
    },
    /// Creating the worktree failed; partial state was cleaned up.
    #[error("Creating worktree \"{id}\" failed: {reason}")]
    CreateFailed {
        /// The id being created.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// Removing the worktree failed.
    #[error("Removing worktree \"{id}\" failed: {reason}")]
    RemoveFailed {
        /// The canonical id.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// Recovery was refused or failed.
    #[error("Recovering worktree \"{id}\" failed: {reason}")]
    RecoverFailed {
        /// The canonical id.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// Renaming failed.
    #[error("Renaming worktree \"{id}\" failed: {reason}")]
    RenameFailed {
        /// The canonical id.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// git failed unexpectedly.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The file system failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// The project configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dev server could not be started.
    #[error(transparent)]
    DevServer(#[from] crate::devserver::DevServerError),
}

impl DomainError for WorktreeError {
    fn kind(&self) -> ErrorKind {
        use WorktreeError::*;
        match self {
            NotFound { .. } => ErrorKind::NotFound,
            Ambiguous { .. } | Exists { .. } | Busy { .. } => ErrorKind::Conflict,
            InvalidId { .. }
            | InvalidBranch { .. }
            | InvalidInput { .. }
            | NoCommits
            | RootImmutable { .. } => ErrorKind::InvalidInput,
            CreateFailed { .. }
            | RemoveFailed { .. }
            | RecoverFailed { .. }
            | RenameFailed { .. } => ErrorKind::InvalidInput,
            Git(e) => e.kind(),
            Io(_) => ErrorKind::Internal,
            Config(e) => e.kind(),
            DevServer(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        use WorktreeError::*;
        match self {
            NotFound { .. } => "WORKTREE_NOT_FOUND",
            Ambiguous { .. } => "WORKTREE_ID_AMBIGUOUS",
            Exists { .. } => "WORKTREE_EXISTS",
            InvalidId { .. } => "INVALID_WORKTREE_ID",
            InvalidBranch { .. } => "INVALID_BRANCH_NAME",
            InvalidInput { .. } => "INVALID_INPUT",
            NoCommits => "REPOSITORY_HAS_NO_COMMITS",
            Busy { .. } => "WORKTREE_BUSY",
            RootImmutable { .. } => "ROOT_WORKTREE_IMMUTABLE",
            CreateFailed { .. } => "WORKTREE_CREATE_FAILED",
            RemoveFailed { .. } => "WORKTREE_REMOVE_FAILED",
            RecoverFailed { .. } => "WORKTREE_RECOVER_FAILED",
            RenameFailed { .. } => "WORKTREE_RENAME_FAILED",
            Git(e) => e.code(),
            Io(_) => "IO_ERROR",
            Config(e) => e.code(),
            DevServer(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            WorktreeError::Exists { id } => vec![("worktreeId", id.clone())],
            _ => Vec::new(),
        }
    }
}
