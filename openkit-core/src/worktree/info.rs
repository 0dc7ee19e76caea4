//! What a worktree looks like to clients.

use std::path::PathBuf;

use serde::Serialize;

use crate::issues::LinkedIssue;

/// Lifecycle state of a worktree's dev server (or of the worktree itself while created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorktreeStatus {
    /// The dev server runs.
    Running,
    /// Nothing runs.
    Stopped,
    /// The dev server is starting.
    Starting,
    /// The worktree is being created (checkout, `.env` copy, install).
    Creating,
}

/// Git state of a checkout, relative to its upstream and the configured base branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitStatus {
    /// Modified, staged or untracked files exist.
    pub has_uncommitted: bool,
    /// Commits not on the upstream, or no upstream at all.
    pub has_unpushed: bool,
    /// Commits ahead of the upstream.
    pub commits_ahead: u32,
    /// Commits in HEAD that are in no base-branch ref (local or `origin/`); `None` when
    /// the base branch does not exist.
    pub commits_ahead_of_base: Option<u32>,
}

/// A worktree as the engine sees it: identity and git state, without runtime details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeRecord {
    /// Canonical id (the directory name under `.openkit/worktrees/`, or `root`).
    pub id: String,
    /// Absolute checkout path.
    pub path: PathBuf,
    /// Checked-out branch; empty for a detached HEAD.
    pub branch: String,
    /// Git state.
    pub git: GitStatus,
    /// True for the main checkout.
    pub is_root: bool,
}

/// Everything the API reports about a worktree (`WorktreeInfo` in the reference).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeInfo {
    /// Canonical id.
    pub id: String,
    /// Absolute checkout path.
    pub path: PathBuf,
    /// Checked-out branch.
    pub branch: String,
    /// Lifecycle state.
    pub status: WorktreeStatus,
    /// Ports the dev server uses (offset applied) while it runs.
    pub ports: Vec<u16>,
    /// The port offset while running.
    pub offset: Option<u32>,
    /// Dev-server process id while running.
    pub pid: Option<u32>,
    /// Last output or state change of the dev server (ISO-8601).
    pub last_activity: Option<String>,
    /// The issue linked to this worktree (any source), with its URL and status as far
    /// as they are known without asking the tracker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_issue: Option<LinkedIssue>,
    /// Pull request URL.
    pub github_pr_url: Option<String>,
    /// Pull request state.
    pub github_pr_state: Option<String>,
    /// The branch's pull request on the project's code host, whichever it is.
    pub pr_url: Option<String>,
    /// Its state (`open`, `draft`, `merged`, `closed`).
    pub pr_state: Option<String>,
    /// The code host it is on (`github`, `kizuna`).
    pub code_host: Option<String>,
    /// Uncommitted changes exist.
    pub has_uncommitted: bool,
    /// Commits not pushed (or no upstream).
    pub has_unpushed: bool,
    /// Commits ahead of upstream.
    pub commits_ahead: u32,
    /// Commits not in the base branch.
    pub commits_ahead_of_base: Option<u32>,
    /// True for the synthetic entry of the main checkout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_root: bool,
    /// Its agent sessions and what each is doing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_sessions: Vec<crate::attention::AgentSession>,
}

impl WorktreeInfo {
    /// A stopped worktree with the record's identity and git state.
    pub fn from_record(record: &WorktreeRecord) -> Self {
        WorktreeInfo {
            id: record.id.clone(),
            path: record.path.clone(),
            branch: record.branch.clone(),
            status: WorktreeStatus::Stopped,
            ports: Vec::new(),
            offset: None,
            pid: None,
            last_activity: None,
            linked_issue: None,
            github_pr_url: None,
            github_pr_state: None,
            pr_url: None,
            pr_state: None,
            code_host: None,
            has_uncommitted: record.git.has_uncommitted,
            has_unpushed: record.git.has_unpushed,
            commits_ahead: record.git.commits_ahead,
            commits_ahead_of_base: record.git.commits_ahead_of_base,
            is_root: record.is_root,
            agent_sessions: Vec::new(),
        }
    }
}
