//! Code hosts (GitHub, GitHub Enterprise, Kizuna) as a port: pull requests, their state
//! per worktree, repositories.
//!
//! Which host a project's pull requests go to is `codeHost` in `.openkit/config.json`
//! ([`CodeHostKind`]: `github`, the default, or `kizuna`). GitHub is plugged in by the
//! composition; a host configured at run time (Kizuna, set up through its API) is plugged
//! with [`Workbench::plug_code_host`](crate::Workbench::plug_code_host). create-pr, the
//! background refresh and the worktree list's `prUrl`/`prState`/`codeHost` all use the
//! configured host ([`ops`]).
//!
//! - [`CodeHost`] is the port: who we are signed in as, create a repository, create a
//!   pull request, list a repository's pull requests with a conditional-request validator
//!   (an `ETag`), so an unchanged list costs a `304` and nothing against the rate limit.
//!   `openkit-integrations` implements it for GitHub's REST API; the composition plugs it
//!   in ([`Composition::code_host`](crate::compose::Composition::code_host)), and
//!   without one every GitHub operation says it is not configured.
//! - [`remote`] turns the `origin` remote's URL (https or ssh form, GitHub Enterprise
//!   hosts included) into an owner/repository pair.
//! - [`gh`] runs the GitHub CLI (`gh`) through the command runner: is it installed, the
//!   device login, logout, the token it keeps, installing it.
//! - [`PrStates`] keeps the pull request of every branch from one paged list per refresh
//!   (never a request per worktree); the worktree list reads it (`githubPrUrl`,
//!   `githubPrState`) for the price of a hash lookup.
//! - [`ops`] is what the workbench does with all of that: the GitHub status, initial
//!   commit, create-repo, create-pr, the background refresh and the auto-cleanup of
//!   worktrees whose pull request was merged or closed.

mod error;
pub mod gh;
pub mod ops;
mod pr_state;
pub mod remote;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use error::CodeHostError;
pub use ops::{
    CleanupOutcome, GitHubError, GitHubStatus, HostCheck, InitialCommit, PrRefresh, RepoCreated,
};
pub use pr_state::{PrStates, RefreshOutcome};
pub use remote::{RepoSlug, parse_remote_url};

/// Which code host a project's pull requests go to (`codeHost` in `config.json`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CodeHostKind {
    /// GitHub or GitHub Enterprise (the composition's code host; the default).
    #[default]
    #[serde(rename = "github")]
    GitHub,
    /// A Kizuna forge, set up through `POST /api/kizuna/setup`.
    Kizuna,
}

impl CodeHostKind {
    /// `github` or `kizuna`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeHostKind::GitHub => "github",
            CodeHostKind::Kizuna => "kizuna",
        }
    }

    /// `GitHub` or `Kizuna`, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            CodeHostKind::GitHub => "GitHub",
            CodeHostKind::Kizuna => "Kizuna",
        }
    }
}

/// The state of a pull request, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrState {
    /// Open and ready for review.
    Open,
    /// Open as a draft.
    Draft,
    /// Closed by merging.
    Merged,
    /// Closed without merging.
    Closed,
}

impl PrState {
    /// `open`, `draft`, `merged` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "open",
            PrState::Draft => "draft",
            PrState::Merged => "merged",
            PrState::Closed => "closed",
        }
    }

    /// True while the pull request can still change (open or draft).
    pub fn is_open(self) -> bool {
        matches!(self, PrState::Open | PrState::Draft)
    }
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number in the repository.
    pub number: u64,
    /// Its web page.
    pub url: String,
    /// Open, draft, merged or closed.
    pub state: PrState,
    /// The branch it merges from (`head.ref`).
    pub head_branch: String,
    /// `owner/name` of the repository the head branch lives in; `None` when that
    /// repository is gone (a deleted fork).
    pub head_repo: Option<String>,
    /// When it last changed (ISO-8601, as the host reports it), if known.
    pub updated_at: Option<String>,
}

/// What to open a pull request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub body: Option<String>,
    /// Branch to merge from (on the same repository).
    pub head: String,
    /// Branch to merge into.
    pub base: String,
    /// Open it as a draft.
    pub draft: bool,
}

/// What to create a repository with (under the signed-in account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepository {
    /// Repository name.
    pub name: String,
    /// Private (default) or public.
    pub private: bool,
}

/// A repository the code host created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRepository {
    /// `owner/name`.
    pub full_name: String,
    /// Its web page.
    pub url: String,
    /// The https clone URL (set as `origin`).
    pub clone_url: String,
}

/// The account the code host's credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub login: String,
}

/// One page-by-page listing of a repository's pull requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullRequestList {
    /// The validator still matches: nothing changed since the listing it came from.
    NotModified,
    /// The pull requests, most recently updated first, with the validator of this
    /// listing.
    Fresh {
        /// The pull requests read (all of them, or those updated since the `since` given).
        pulls: Vec<PullRequest>,
        /// Send this back to ask "changed since?" next time.
        validator: Option<String>,
    },
}

/// A listing request: the validator of the last listing and how far back to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListPulls<'a> {
    /// The validator of the previous listing (`If-None-Match`).
    pub validator: Option<&'a str>,
    /// Stop reading pages once a pull request updated at or before this moment
    /// (ISO-8601, as the host reported it) was read: the caller knows the rest.
    pub known_until: Option<&'a str>,
}

/// A code host: the port GitHub (and GitHub Enterprise) adapters implement.
///
/// Implementations talk to the network: every call must be bounded in time, honour the
/// host's rate limits (refuse to send while a limit is in force, with
/// [`CodeHostError::RateLimited`]) and never put a credential into an error or a log.
#[async_trait]
pub trait CodeHost: Send + Sync {
    /// The host's name for messages (`GitHub`, or `GitHub (ghe.example.com)`).
    fn name(&self) -> String;

    /// The account the credentials belong to (a cheap authenticated call): the check
    /// behind "authenticated" and the integration verification.
    async fn account(&self) -> Result<Account, CodeHostError>;

    /// Creates a repository under the signed-in account.
    async fn create_repository(
        &self,
        repo: &NewRepository,
    ) -> Result<CreatedRepository, CodeHostError>;

    /// Opens a pull request on `repo`.
    async fn create_pull_request(
        &self,
        repo: &RepoSlug,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, CodeHostError>;

    /// Every pull request of `repo` (open and closed), most recently updated first,
    /// following the host's paging; [`PullRequestList::NotModified`] when `query`'s
    /// validator still matches.
    async fn list_pull_requests(
        &self,
        repo: &RepoSlug,
        query: ListPulls<'_>,
    ) -> Result<PullRequestList, CodeHostError>;

    /// The credentials may have changed (a login or logout): forget any cached token.
    fn credentials_changed(&self) {}

    /// The repository this host is bound to, when it is not the one `origin` names (a
    /// Kizuna host works on the `org`/`repo` given at its setup). `None` (the default):
    /// the `origin` remote's repository.
    fn repository(&self) -> Option<RepoSlug> {
        None
    }
}
