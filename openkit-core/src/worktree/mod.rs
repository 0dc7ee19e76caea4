//! Worktrees: ids, the git engine, and what clients see.

mod engine;
mod error;
mod id;
mod info;

pub use engine::{AddOutcome, GitWorktrees, RecoverAction, WorktreeEngine};
pub use error::WorktreeError;
pub use id::{
    MAX_ID_LEN, ROOT_ID, Resolution, WorktreeId, default_id_for_branch, resolve, validate_branch,
};
pub use info::{GitStatus, WorktreeInfo, WorktreeRecord, WorktreeStatus};
