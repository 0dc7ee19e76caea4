//! Worktrees: `WorktreeInfo` and the bodies of `/api/worktrees`.

use std::path::PathBuf;

use openkit_core::attention::{
    AgentSession as CoreAgentSession, AttentionSource as CoreSource,
    AttentionState as CoreAttention,
};
use openkit_core::worktree::{WorktreeInfo as CoreWorktreeInfo, WorktreeStatus as CoreStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;

/// Lifecycle state of a worktree's dev server (or of the worktree while it is created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<CoreStatus> for WorktreeStatus {
    fn from(s: CoreStatus) -> Self {
        match s {
            CoreStatus::Running => WorktreeStatus::Running,
            CoreStatus::Stopped => WorktreeStatus::Stopped,
            CoreStatus::Starting => WorktreeStatus::Starting,
            CoreStatus::Creating => WorktreeStatus::Creating,
        }
    }
}

/// Everything the API reports about a worktree.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeInfo {
    /// Canonical id (`root` for the main checkout).
    pub id: String,
    /// Absolute checkout path.
    #[schema(value_type = String)]
    pub path: PathBuf,
    /// Checked-out branch (empty for a detached HEAD).
    pub branch: String,
    /// Lifecycle state.
    pub status: WorktreeStatus,
    /// Ports the dev server uses (offset applied) while it runs.
    pub ports: Vec<u16>,
    /// The port offset while running.
    #[schema(required = true)]
    pub offset: Option<u32>,
    /// Dev-server process id while running.
    #[schema(required = true)]
    pub pid: Option<u32>,
    /// Last output or state change of the dev server (ISO-8601).
    #[schema(required = true)]
    pub last_activity: Option<String>,
    /// Linked Jira issue URL.
    #[schema(required = true)]
    pub jira_url: Option<String>,
    /// Linked Jira issue status.
    #[schema(required = true)]
    pub jira_status: Option<String>,
    /// Web page of the branch's pull request on GitHub.
    #[schema(required = true)]
    pub github_pr_url: Option<String>,
    /// State of the branch's pull request: `open`, `draft`, `merged` or `closed`.
    #[schema(required = true)]
    pub github_pr_state: Option<super::github::PullRequestState>,
    /// Web page of the branch's pull request on the project's code host (GitHub or
    /// Kizuna, see `codeHost`).
    #[schema(required = true)]
    pub pr_url: Option<String>,
    /// State of that pull request: `open`, `draft`, `merged` or `closed`.
    #[schema(required = true)]
    pub pr_state: Option<super::github::PullRequestState>,
    /// The code host the pull request is on: `github` or `kizuna`.
    #[schema(required = true)]
    pub code_host: Option<String>,
    /// Linked Linear issue URL.
    #[schema(required = true)]
    pub linear_url: Option<String>,
    /// Linked Linear issue status.
    #[schema(required = true)]
    pub linear_status: Option<String>,
    /// Linked local task id.
    #[schema(required = true)]
    pub local_issue_id: Option<String>,
    /// Linked local task status.
    #[schema(required = true)]
    pub local_issue_status: Option<String>,
    /// Source of the linked issue, whatever the tracker (`local`, `jira`, `github`, a
    /// registered source, ...); absent without a link. Additive: the per-tracker fields
    /// above are filled as well for `jira`, `linear` and `local`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_source: Option<String>,
    /// Key of the linked issue in its source; absent without a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_id: Option<String>,
    /// URL of the linked issue, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_url: Option<String>,
    /// Status of the linked issue as its tracker names it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_status: Option<String>,
    /// Uncommitted changes exist.
    pub has_uncommitted: bool,
    /// Commits not pushed (or no upstream).
    pub has_unpushed: bool,
    /// Commits ahead of the upstream.
    pub commits_ahead: u32,
    /// Commits not in the base branch; `null` when the base branch does not exist.
    #[schema(required = true)]
    pub commits_ahead_of_base: Option<u32>,
    /// Present (and `true`) only on the entry of the main checkout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_root: bool,
    /// Its agent sessions and what each is doing; absent when it has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agent_sessions: Vec<AgentSessionInfo>,
}

/// What an agent session is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionState {
    /// Launched, nothing known yet.
    Starting,
    /// Producing output or running tools.
    Working,
    /// Asking its person something: needs them now.
    WaitingForInput,
    /// Done with its turn, waiting for the next instruction.
    Idle,
    /// The process ended.
    Exited,
}

impl From<CoreAttention> for AttentionState {
    fn from(s: CoreAttention) -> Self {
        match s {
            CoreAttention::Starting => AttentionState::Starting,
            CoreAttention::Working => AttentionState::Working,
            CoreAttention::WaitingForInput => AttentionState::WaitingForInput,
            CoreAttention::Idle => AttentionState::Idle,
            CoreAttention::Exited => AttentionState::Exited,
        }
    }
}

/// Where an agent session's state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionSource {
    /// The agent's own hook.
    Hook,
    /// Read off the terminal screen.
    Screen,
    /// The session's start or exit.
    Process,
}

/// One agent session of a worktree.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSessionInfo {
    /// The terminal session (attach at `/api/terminals/{id}/ws`).
    pub session_id: String,
    /// `claude`, `codex`, `gemini` or `opencode`.
    pub agent: String,
    /// What it is doing.
    pub state: AttentionState,
    /// Where that came from.
    pub source: AttentionSource,
    /// Since when (ISO-8601).
    pub since: String,
    /// The agent's own words (a permission it asks for), when its hook gave some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The exit code, once exited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

impl From<&CoreAgentSession> for AgentSessionInfo {
    fn from(s: &CoreAgentSession) -> Self {
        AgentSessionInfo {
            session_id: s.session_id.clone(),
            agent: s.agent.clone(),
            state: s.state.into(),
            source: match s.source {
                CoreSource::Hook => AttentionSource::Hook,
                CoreSource::Screen => AttentionSource::Screen,
                CoreSource::Process => AttentionSource::Process,
            },
            since: s.since.clone(),
            message: s.message.clone(),
            exit_code: s.exit_code,
        }
    }
}

impl From<&CoreWorktreeInfo> for WorktreeInfo {
    fn from(w: &CoreWorktreeInfo) -> Self {
        let linked = w.linked_issue.as_ref();
        // The reference's per-tracker fields, for the trackers it names.
        let of = |source: &str| linked.filter(|l| l.issue.source.as_str() == source);
        let (jira, linear, local) = (of("jira"), of("linear"), of("local"));
        WorktreeInfo {
            id: w.id.clone(),
            path: w.path.clone(),
            branch: w.branch.clone(),
            status: w.status.into(),
            ports: w.ports.clone(),
            offset: w.offset,
            pid: w.pid,
            last_activity: w.last_activity.clone(),
            jira_url: jira.and_then(|l| l.url.clone()),
            jira_status: jira.and_then(|l| l.status.clone()),
            github_pr_url: w.github_pr_url.clone(),
            github_pr_state: w
                .github_pr_state
                .as_deref()
                .and_then(super::github::PullRequestState::parse),
            pr_url: w.pr_url.clone(),
            pr_state: w
                .pr_state
                .as_deref()
                .and_then(super::github::PullRequestState::parse),
            code_host: w.code_host.clone(),
            linear_url: linear.and_then(|l| l.url.clone()),
            linear_status: linear.and_then(|l| l.status.clone()),
            local_issue_id: local.map(|l| l.issue.id.to_string()),
            local_issue_status: local.and_then(|l| l.status.clone()),
            issue_source: linked.map(|l| l.issue.source.to_string()),
            issue_id: linked.map(|l| l.issue.id.to_string()),
            issue_url: linked.and_then(|l| l.url.clone()),
            issue_status: linked.and_then(|l| l.status.clone()),
            has_uncommitted: w.has_uncommitted,
            has_unpushed: w.has_unpushed,
            commits_ahead: w.commits_ahead,
            commits_ahead_of_base: w.commits_ahead_of_base,
            is_root: w.is_root,
            agent_sessions: w
                .agent_sessions
                .iter()
                .map(AgentSessionInfo::from)
                .collect(),
        }
    }
}

/// Maps a list of core worktrees.
pub fn worktree_list(list: &[CoreWorktreeInfo]) -> Vec<WorktreeInfo> {
    list.iter().map(WorktreeInfo::from).collect()
}

/// `GET /api/worktrees`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorktreeList {
    /// The main checkout first, then every managed worktree.
    pub worktrees: Vec<WorktreeInfo>,
}

/// Body of `POST /api/worktrees`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorktreeRequest {
    /// Branch to check out (created from the base branch when it does not exist).
    pub branch: String,
    /// Worktree id (directory name); derived from the branch when absent.
    pub id: Option<String>,
    /// Display name, used as the id when `id` is absent.
    pub name: Option<String>,
}

/// A worktree after a create or rename.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorktreeResponse {
    /// Always `true`.
    pub success: True,
    /// The worktree.
    pub worktree: WorktreeInfo,
}

impl From<&CoreWorktreeInfo> for WorktreeResponse {
    fn from(w: &CoreWorktreeInfo) -> Self {
        WorktreeResponse {
            success: True,
            worktree: w.into(),
        }
    }
}

/// Body of `PATCH /api/worktrees/:id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameWorktreeRequest {
    /// New directory name (id).
    pub name: Option<String>,
    /// New branch name.
    pub branch: Option<String>,
}

/// What `DELETE /api/worktrees/:id` tore down.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteWorktreeResponse {
    /// Always `true`.
    pub success: True,
    /// The canonical id removed.
    pub worktree_id: String,
    /// Terminal sessions ended.
    pub removed_terminal_sessions: usize,
    /// True when a dev server was running and got stopped.
    pub removed_running_process: bool,
    /// Issues whose link to the worktree was cleared.
    pub cleared_links: usize,
    /// Identifies this delete operation in the ops log.
    pub delete_op_id: String,
}

impl From<&openkit_core::DeleteReport> for DeleteWorktreeResponse {
    fn from(r: &openkit_core::DeleteReport) -> Self {
        DeleteWorktreeResponse {
            success: True,
            worktree_id: r.worktree_id.clone(),
            removed_terminal_sessions: r.removed_terminal_sessions,
            removed_running_process: r.removed_running_process,
            cleared_links: r.cleared_links,
            delete_op_id: r.delete_op_id.clone(),
        }
    }
}

/// `GET /api/worktrees/:id/logs`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorktreeLogs {
    /// Dev-server output lines, oldest first (empty when it never ran).
    pub logs: Vec<String>,
}

/// Body of `POST /api/worktrees/:id/recover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverWorktreeRequest {
    /// `reuse` (re-register the existing branch) or `recreate`.
    #[schema(examples("reuse", "recreate"))]
    pub action: Option<String>,
    /// Branch to use instead of the registered one.
    pub branch: Option<String>,
}

/// A recovered worktree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoverWorktreeResponse {
    /// Always `true`.
    pub success: True,
    /// The action taken: `reuse` or `recreate`.
    pub action: String,
    /// The worktree.
    pub worktree: WorktreeInfo,
}
