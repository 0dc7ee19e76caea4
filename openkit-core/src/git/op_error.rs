//! Failures of the git operations on a worktree: diff, file contents, commit, push and the
//! agent git policy.

use crate::config::ConfigError;
use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::git::GitError;
use crate::git::policy::GitAction;
use crate::notes::NotesError;
use crate::worktree::WorktreeError;

/// A failed git operation on a worktree.
#[derive(Debug, thiserror::Error)]
pub enum GitOpError {
    /// The worktree id did not resolve (`WORKTREE_NOT_FOUND`, `WORKTREE_ID_AMBIGUOUS`).
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// git failed in a way that is not the caller's doing.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Reading the configuration failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading the linked issue's notes failed.
    #[error(transparent)]
    Notes(#[from] NotesError),
    /// The worktree's checkout is gone or is not a git checkout.
    #[error("The checkout of worktree \"{id}\" cannot be opened: {detail}")]
    CheckoutUnavailable {
        /// The worktree.
        id: String,
        /// What libgit2 said.
        detail: String,
    },
    /// A commit needs a message.
    #[error("A commit message is required")]
    EmptyMessage,
    /// The working tree has no change to commit.
    #[error("Nothing to commit in worktree \"{id}\": the working tree is clean")]
    NothingToCommit {
        /// The worktree.
        id: String,
    },
    /// HEAD is not on a branch.
    #[error("Worktree \"{id}\" has a detached HEAD; check out a branch first")]
    DetachedHead {
        /// The worktree.
        id: String,
    },
    /// The branch has no commit yet.
    #[error("Worktree \"{id}\" has no commits yet; commit first")]
    NoCommits {
        /// The worktree.
        id: String,
    },
    /// The repository has no remote to push to.
    #[error("The repository has no remote to push to; add one with `git remote add origin <url>`")]
    NoRemote,
    /// git refused the commit (a hook, a locked index, a missing identity, ...).
    #[error("Commit failed: {detail}")]
    CommitFailed {
        /// What git said.
        detail: String,
    },
    /// The remote refused the update (not a fast-forward, or a server-side hook).
    #[error("The remote rejected the push of \"{branch}\"; pull or rebase first: {detail}")]
    PushRejected {
        /// The branch pushed.
        branch: String,
        /// What git said.
        detail: String,
    },
    /// The remote refused our credentials (or asked for some and prompts are off).
    #[error("Authentication with the remote failed: {detail}")]
    AuthFailed {
        /// What git said.
        detail: String,
    },
    /// The remote could not be reached.
    #[error("Could not reach the remote: {detail}")]
    RemoteUnreachable {
        /// What git said.
        detail: String,
    },
    /// The push failed for another reason.
    #[error("Push failed: {detail}")]
    PushFailed {
        /// What git said.
        detail: String,
    },
    /// Neither `origin/<base>` nor a local `<base>` exists.
    #[error("Base branch \"{branch}\" not found (neither origin/{branch} nor a local branch)")]
    BaseNotFound {
        /// The configured base branch.
        branch: String,
    },
    /// A file path that is not a plain path inside the worktree.
    #[error("Invalid file path \"{path}\": {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A file status outside `modified|added|deleted|renamed|untracked`.
    #[error("Invalid status \"{status}\": use modified, added, deleted, renamed or untracked")]
    InvalidStatus {
        /// The status as given.
        status: String,
    },
    /// One side of a file is over the size cap.
    #[error("\"{path}\" is {size} bytes; the diff viewer shows files up to {limit} bytes")]
    FileTooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The file is binary; there is no text to show.
    #[error("\"{path}\" is a binary file")]
    BinaryFile {
        /// The file.
        path: String,
    },
    /// Neither side of the file exists.
    #[error("File \"{path}\" exists neither in the base nor in the working tree")]
    FileNotFound {
        /// The file.
        path: String,
    },
    /// The agent git policy forbids this action.
    #[error("Agents may not {} in worktree \"{worktree}\": {reason}", action.verb())]
    PolicyDenied {
        /// What was refused.
        action: GitAction,
        /// The worktree.
        worktree: String,
        /// Where the decision came from.
        reason: String,
    },
    /// An agent acted on a worktree other than its own.
    #[error("Agent of worktree \"{scope}\" may not act on worktree \"{worktree}\"")]
    ScopeMismatch {
        /// The agent's scope.
        scope: String,
        /// The worktree it acted on.
        worktree: String,
    },
    /// Reading a file failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// A blocking task could not complete.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl DomainError for GitOpError {
    fn kind(&self) -> ErrorKind {
        use GitOpError::*;
        match self {
            Worktree(e) => e.kind(),
            Git(e) => e.kind(),
            Config(e) => e.kind(),
            Notes(e) => e.kind(),
            CheckoutUnavailable { .. } | PushRejected { .. } => ErrorKind::Conflict,
            EmptyMessage
            | NothingToCommit { .. }
            | DetachedHead { .. }
            | NoCommits { .. }
            | NoRemote
            | CommitFailed { .. }
            | BaseNotFound { .. }
            | InvalidPath { .. }
            | InvalidStatus { .. }
            | FileTooLarge { .. }
            | BinaryFile { .. } => ErrorKind::InvalidInput,
            AuthFailed { .. } | RemoteUnreachable { .. } | PushFailed { .. } => ErrorKind::Upstream,
            FileNotFound { .. } => ErrorKind::NotFound,
            PolicyDenied { .. } | ScopeMismatch { .. } => ErrorKind::Forbidden,
            Io(_) | Task(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        use GitOpError::*;
        match self {
            Worktree(e) => e.code(),
            Git(e) => e.code(),
            Config(e) => e.code(),
            Notes(e) => e.code(),
            CheckoutUnavailable { .. } => "WORKTREE_CHECKOUT_UNAVAILABLE",
            EmptyMessage => "COMMIT_MESSAGE_REQUIRED",
            NothingToCommit { .. } => "NOTHING_TO_COMMIT",
            DetachedHead { .. } => "DETACHED_HEAD",
            NoCommits { .. } => "NO_COMMITS",
            NoRemote => "NO_REMOTE",
            CommitFailed { .. } => "COMMIT_FAILED",
            PushRejected { .. } => "PUSH_REJECTED",
            AuthFailed { .. } => "GIT_AUTH_FAILED",
            RemoteUnreachable { .. } => "REMOTE_UNREACHABLE",
            PushFailed { .. } => "PUSH_FAILED",
            BaseNotFound { .. } => "BASE_BRANCH_NOT_FOUND",
            InvalidPath { .. } => "INVALID_FILE_PATH",
            InvalidStatus { .. } => "INVALID_STATUS",
            FileTooLarge { .. } => "FILE_TOO_LARGE",
            BinaryFile { .. } => "BINARY_FILE",
            FileNotFound { .. } => "FILE_NOT_FOUND",
            PolicyDenied { .. } => "AGENT_GIT_POLICY_DENIED",
            ScopeMismatch { .. } => "AGENT_SCOPE_MISMATCH",
            Io(_) => "IO_ERROR",
            Task(_) => "INTERNAL_ERROR",
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            GitOpError::Worktree(e) => e.context(),
            GitOpError::PolicyDenied { worktree, .. }
            | GitOpError::ScopeMismatch { worktree, .. } => {
                vec![("worktreeId", worktree.clone())]
            }
            _ => Vec::new(),
        }
    }
}
