//! GitHub: the bodies of `/api/github/*` and `POST /api/worktrees/:id/create-pr`.

use openkit_core::DomainError;
use openkit_core::codehost::{
    CleanupOutcome, GitHubStatus as CoreStatus, InitialCommit, PrRefresh, PullRequest,
    RefreshOutcome, RepoCreated,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;

/// `GET /api/github/status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubStatus {
    /// The GitHub CLI (`gh`) is on `PATH`.
    pub installed: bool,
    /// GitHub accepted the credentials (`GH_TOKEN`, `GITHUB_TOKEN` or gh's token).
    pub authenticated: bool,
    /// `owner/name` from the `origin` remote; `null` when it names no repository.
    #[schema(required = true)]
    pub repo: Option<String>,
    /// An `origin` remote exists.
    pub has_remote: bool,
    /// The repository has at least one commit.
    pub has_commits: bool,
    /// A GitHub adapter is configured in this server (additive).
    pub configured: bool,
    /// The signed-in GitHub login, when authenticated (additive).
    #[schema(required = true)]
    pub user: Option<String>,
    /// Why `authenticated` is false: not configured, no token, rejected, unreachable,
    /// rate limited (additive).
    #[schema(required = true)]
    pub error: Option<String>,
    /// The stable code of `error` (`GITHUB_UNREACHABLE`, `GITHUB_UNAUTHORIZED`, ...).
    #[schema(required = true)]
    pub error_code: Option<String>,
}

impl From<&CoreStatus> for GitHubStatus {
    fn from(s: &CoreStatus) -> Self {
        GitHubStatus {
            installed: s.installed,
            authenticated: s.authenticated,
            repo: s.repo.clone(),
            has_remote: s.has_remote,
            has_commits: s.has_commits,
            configured: s.configured,
            user: s.user.clone(),
            error: s.error.as_ref().map(ToString::to_string),
            error_code: s.error.as_ref().map(|e| e.code().to_string()),
        }
    }
}

/// `POST /api/github/login`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GitHubLogin {
    /// Always `true`.
    pub success: True,
    /// The one-time code to enter at `https://github.com/login/device`.
    #[schema(example = "1A2B-3C4D")]
    pub code: String,
}

/// `POST /api/github/install`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GitHubInstall {
    /// Always `true`.
    pub success: True,
    /// The one-time code of the device login started after the install; `null` when it
    /// could not start.
    #[schema(required = true)]
    pub code: Option<String>,
}

/// `POST /api/github/initial-commit`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InitialCommitResponse {
    /// Always `true`.
    pub success: True,
    /// The commit id.
    pub commit: String,
    /// The branch it is on.
    pub branch: String,
}

impl From<&InitialCommit> for InitialCommitResponse {
    fn from(c: &InitialCommit) -> Self {
        InitialCommitResponse {
            success: True,
            commit: c.commit.clone(),
            branch: c.branch.clone(),
        }
    }
}

/// Body of `POST /api/github/create-repo`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRepoRequest {
    /// Private repository (default `true`).
    pub private: Option<bool>,
}

/// `POST /api/github/create-repo`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRepoResponse {
    /// Always `true`.
    pub success: True,
    /// `owner/name`.
    pub repo: String,
    /// The repository's web page.
    pub url: String,
    /// The URL set as `origin`.
    pub remote_url: String,
    /// The current branch was pushed (with upstream) to it.
    pub pushed: bool,
    /// Why the push failed, when it did (the repository and `origin` exist anyway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_error: Option<String>,
}

impl From<&RepoCreated> for CreateRepoResponse {
    fn from(r: &RepoCreated) -> Self {
        CreateRepoResponse {
            success: True,
            repo: r.repo.clone(),
            url: r.url.clone(),
            remote_url: r.remote_url.clone(),
            pushed: r.pushed,
            push_error: r.push_error.clone(),
        }
    }
}

/// Body of `POST /api/worktrees/:id/create-pr`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrRequest {
    /// Title (required, non-empty).
    pub title: String,
    /// Description (Markdown).
    pub body: Option<String>,
    /// Open as a draft (default `false`).
    pub draft: Option<bool>,
}

/// State of a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PullRequestState {
    /// Open.
    Open,
    /// Open as a draft.
    Draft,
    /// Merged.
    Merged,
    /// Closed without merging.
    Closed,
}

impl PullRequestState {
    /// The state named by `open`, `draft`, `merged` or `closed`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "open" => PullRequestState::Open,
            "draft" => PullRequestState::Draft,
            "merged" => PullRequestState::Merged,
            "closed" => PullRequestState::Closed,
            _ => return None,
        })
    }
}

impl From<openkit_core::codehost::PrState> for PullRequestState {
    fn from(s: openkit_core::codehost::PrState) -> Self {
        use openkit_core::codehost::PrState;
        match s {
            PrState::Open => PullRequestState::Open,
            PrState::Draft => PullRequestState::Draft,
            PrState::Merged => PullRequestState::Merged,
            PrState::Closed => PullRequestState::Closed,
        }
    }
}

/// `POST /api/worktrees/:id/create-pr` (201).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePrResponse {
    /// Always `true`.
    pub success: True,
    /// The pull request's web page.
    pub url: String,
    /// Its number.
    pub number: u64,
    /// Its state (`open` or `draft`).
    pub state: PullRequestState,
    /// The branch it merges from.
    pub head_branch: String,
}

impl From<&PullRequest> for CreatePrResponse {
    fn from(pr: &PullRequest) -> Self {
        CreatePrResponse {
            success: True,
            url: pr.url.clone(),
            number: pr.number,
            state: pr.state.into(),
            head_branch: pr.head_branch.clone(),
        }
    }
}

/// How a pull-request refresh went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshOutcomeDto {
    /// GitHub answered 304: nothing changed.
    NotModified,
    /// New data was read.
    Fresh,
    /// Nothing was sent: a rate limit or a back-off is in force.
    Waiting,
    /// `origin` names no GitHub repository; nothing to list.
    NoRepository,
}

/// An auto-cleanup decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CleanupDto {
    /// The worktree.
    pub worktree_id: String,
    /// Its pull request.
    pub number: u64,
    /// `removed` or `skipped`.
    #[schema(examples("removed", "skipped"))]
    pub action: String,
    /// Why it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/github/pull-requests/refresh`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrRefreshResponse {
    /// Always `true`.
    pub success: True,
    /// `owner/name` listed; `null` without a GitHub `origin`.
    #[schema(required = true)]
    pub repo: Option<String>,
    /// What the listing did.
    pub outcome: RefreshOutcomeDto,
    /// Some worktree's pull request state changed.
    pub changed: bool,
    /// Branches with a known pull request.
    pub pull_requests: usize,
    /// Auto-cleanup decisions of this refresh.
    pub cleanups: Vec<CleanupDto>,
}

impl From<&PrRefresh> for PrRefreshResponse {
    fn from(r: &PrRefresh) -> Self {
        let (outcome, changed) = match r.outcome {
            None => (RefreshOutcomeDto::NoRepository, false),
            Some(RefreshOutcome::NotModified) => (RefreshOutcomeDto::NotModified, false),
            Some(RefreshOutcome::Waiting) => (RefreshOutcomeDto::Waiting, false),
            Some(RefreshOutcome::Fresh { changed }) => (RefreshOutcomeDto::Fresh, changed),
        };
        PrRefreshResponse {
            success: True,
            repo: r.repo.as_ref().map(|s| s.full_name()),
            outcome,
            changed,
            pull_requests: r.pull_requests,
            cleanups: r
                .cleanups
                .iter()
                .map(|c| match c {
                    CleanupOutcome::Removed {
                        worktree_id,
                        number,
                    } => CleanupDto {
                        worktree_id: worktree_id.clone(),
                        number: *number,
                        action: "removed".into(),
                        reason: None,
                    },
                    CleanupOutcome::Skipped {
                        worktree_id,
                        number,
                        reason,
                    } => CleanupDto {
                        worktree_id: worktree_id.clone(),
                        number: *number,
                        action: "skipped".into(),
                        reason: Some(reason.clone()),
                    },
                })
                .collect(),
        }
    }
}
