//! What the workbench does with a code host: the GitHub status, login and logout through
//! `gh`, the initial commit, create-repo, create-pr, the background pull-request refresh
//! and the auto-cleanup of worktrees whose pull request was merged or closed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::command::CommandError;
use crate::config::ConfigError;
use crate::error::{DomainError, ErrorKind};
use crate::events::{ActivityNotice, Severity, WorkbenchEvent};
use crate::git::GitError;
use crate::persist;
use crate::workbench::Workbench;
use crate::worktree::{WorktreeError, WorktreeInfo, WorktreeStatus};

use super::gh::GhCli;
use super::{
    Account, CodeHost, CodeHostError, CodeHostKind, NewPullRequest, NewRepository, PrState,
    PrStates, PullRequest, RefreshOutcome, RepoSlug, parse_remote_url,
};

/// The default interval of the background pull-request refresh.
pub const DEFAULT_PR_REFRESH: Duration = Duration::from_secs(60);
/// How long a checked account (the "authenticated" of the status) is reused.
const ACCOUNT_TTL: Duration = Duration::from_secs(30);

/// A GitHub operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The code host failed or is not configured.
    #[error(transparent)]
    CodeHost(#[from] CodeHostError),
    /// `gh` is not on the search path.
    #[error(
        "The GitHub CLI (gh) is not installed; POST /api/github/install installs it or says what to install"
    )]
    GhNotInstalled,
    /// `gh` cannot be installed automatically here; the message says what to do.
    #[error("{message}")]
    InstallUnsupported {
        /// What to install instead.
        message: String,
    },
    /// A `gh` command failed.
    #[error("{action} failed: {message}")]
    GhFailed {
        /// What was run.
        action: &'static str,
        /// The end of its output (redacted).
        message: String,
    },
    /// A command could not run to completion.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The project has no `origin` remote.
    #[error(
        "The project has no \"origin\" remote: create a repository (POST /api/github/create-repo) or add one with `git remote add origin <url>`"
    )]
    NoRemote,
    /// `origin` does not name a repository on a code host.
    #[error("The \"origin\" remote ({url}) is not a GitHub repository URL (https or ssh form)")]
    RemoteUnsupported {
        /// The remote's URL (user-info redacted).
        url: String,
    },
    /// create-repo on a project that already has `origin`.
    #[error("The project already has an \"origin\" remote ({url})")]
    RemoteExists {
        /// The remote's URL (user-info redacted).
        url: String,
    },
    /// An operation that needs a commit on a repository without one.
    #[error(
        "The repository has no commits yet: make an initial commit first (POST /api/github/initial-commit)"
    )]
    NoCommits,
    /// The initial commit on a repository that has commits.
    #[error("The repository already has commits")]
    HasCommits,
    /// A worktree on a detached HEAD has no branch to open a pull request from.
    #[error("Worktree \"{id}\" is on a detached HEAD: check out a branch first")]
    DetachedHead {
        /// The worktree.
        id: String,
    },
    /// The branch is not (fully) on the remote.
    #[error(
        "Branch \"{branch}\" of worktree \"{id}\" {reason}: push it first (POST /api/worktrees/{id}/push)"
    )]
    NotPushed {
        /// The worktree.
        id: String,
        /// Its branch.
        branch: String,
        /// What is missing.
        reason: String,
    },
    /// An empty pull request title.
    #[error("A pull request needs a non-empty \"title\"")]
    InvalidTitle,
    /// The worktree could not be found or read.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl DomainError for GitHubError {
    fn kind(&self) -> ErrorKind {
        match self {
            GitHubError::CodeHost(e) => e.kind(),
            GitHubError::Command(e) => e.kind(),
            GitHubError::Worktree(e) => e.kind(),
            GitHubError::Git(e) => e.kind(),
            GitHubError::Config(e) => e.kind(),
            GitHubError::RemoteExists { .. } => ErrorKind::Conflict,
            _ => ErrorKind::InvalidInput,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GitHubError::CodeHost(e) => e.code(),
            GitHubError::Command(e) => e.code(),
            GitHubError::Worktree(e) => e.code(),
            GitHubError::Git(e) => e.code(),
            GitHubError::Config(e) => e.code(),
            GitHubError::GhNotInstalled => "GH_NOT_INSTALLED",
            GitHubError::InstallUnsupported { .. } => "GH_INSTALL_UNSUPPORTED",
            GitHubError::GhFailed { .. } => "GH_FAILED",
            GitHubError::NoRemote => "GITHUB_NO_REMOTE",
            GitHubError::RemoteUnsupported { .. } => "GITHUB_REMOTE_UNSUPPORTED",
            GitHubError::RemoteExists { .. } => "GITHUB_REMOTE_EXISTS",
            GitHubError::NoCommits => "NO_COMMITS",
            GitHubError::HasCommits => "REPO_HAS_COMMITS",
            GitHubError::DetachedHead { .. } => "DETACHED_HEAD",
            GitHubError::NotPushed { .. } => "BRANCH_NOT_PUSHED",
            GitHubError::InvalidTitle => "INVALID_PR_TITLE",
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            GitHubError::CodeHost(e) => e.context(),
            GitHubError::Command(e) => e.context(),
            GitHubError::Worktree(e) => e.context(),
            GitHubError::Git(e) => e.context(),
            GitHubError::Config(e) => e.context(),
            GitHubError::DetachedHead { id } | GitHubError::NotPushed { id, .. } => {
                vec![("worktreeId", id.clone())]
            }
            _ => Vec::new(),
        }
    }
}

/// `GET /api/github/status`.
#[derive(Debug, Clone)]
pub struct GitHubStatus {
    /// `gh` is on the search path.
    pub installed: bool,
    /// The code host accepted the credentials (or, without a code host, `gh auth status`
    /// succeeded).
    pub authenticated: bool,
    /// `owner/name` from the `origin` remote, when it names a repository.
    pub repo: Option<String>,
    /// An `origin` remote exists.
    pub has_remote: bool,
    /// The repository has at least one commit.
    pub has_commits: bool,
    /// A code host is plugged in.
    pub configured: bool,
    /// The signed-in account.
    pub user: Option<String>,
    /// Why `authenticated` is false (not configured, no token, rejected, unreachable).
    pub error: Option<CodeHostError>,
}

/// One integration check (`GET /api/integrations/verify`).
#[derive(Debug, Clone)]
pub struct HostCheck {
    /// The credentials work.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// The stable code of the failure.
    pub code: Option<&'static str>,
}

/// What `POST /api/github/initial-commit` made.
#[derive(Debug, Clone)]
pub struct InitialCommit {
    /// The commit id.
    pub commit: String,
    /// The branch it is on.
    pub branch: String,
}

/// What `POST /api/github/create-repo` did.
#[derive(Debug, Clone)]
pub struct RepoCreated {
    /// `owner/name`.
    pub repo: String,
    /// The repository's web page.
    pub url: String,
    /// The URL set as `origin`.
    pub remote_url: String,
    /// The current branch was pushed (with upstream) to the new repository.
    pub pushed: bool,
    /// Why the push failed, when it did (the repository and `origin` exist anyway).
    pub push_error: Option<String>,
}

/// What happened to one worktree whose pull request was merged or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanupOutcome {
    /// Removed through the normal delete path.
    Removed {
        /// The worktree.
        worktree_id: String,
        /// Its pull request.
        number: u64,
    },
    /// Kept, and why.
    Skipped {
        /// The worktree.
        worktree_id: String,
        /// Its pull request.
        number: u64,
        /// Why it was kept.
        reason: String,
    },
}

/// What one pull-request refresh did.
#[derive(Debug, Clone)]
pub struct PrRefresh {
    /// The repository listed; `None` when `origin` names none (states were cleared).
    pub repo: Option<RepoSlug>,
    /// The listing's outcome (`None` without a repository).
    pub outcome: Option<RefreshOutcome>,
    /// Branches with a known pull request.
    pub pull_requests: usize,
    /// Auto-cleanup decisions taken in this refresh.
    pub cleanups: Vec<CleanupOutcome>,
}

/// The code-host parts of a workbench.
pub(crate) struct CodeHostParts {
    host: Option<Arc<dyn CodeHost>>,
    gh: GhCli,
    prs: PrStates,
    interval: Duration,
    trigger: Arc<tokio::sync::Notify>,
    account: Mutex<Option<(Instant, Result<Account, CodeHostError>)>>,
    /// The last skip reported per worktree (`<pr>:<reason>`), so a kept worktree is
    /// reported once, not on every refresh.
    reported: Mutex<HashMap<String, String>>,
    /// Hosts plugged in at run time (Kizuna once set up), by kind.
    plugged: RwLock<HashMap<CodeHostKind, Arc<dyn CodeHost>>>,
    /// The host whose pull requests `prs` holds.
    states_kind: Mutex<CodeHostKind>,
}

impl CodeHostParts {
    pub(crate) fn new(host: Option<Arc<dyn CodeHost>>, gh: GhCli, interval: Duration) -> Self {
        CodeHostParts {
            host,
            gh,
            prs: PrStates::new(),
            interval,
            trigger: Arc::new(tokio::sync::Notify::new()),
            account: Mutex::new(None),
            reported: Mutex::new(HashMap::new()),
            plugged: RwLock::new(HashMap::new()),
            states_kind: Mutex::new(CodeHostKind::GitHub),
        }
    }

    /// The host plugged in for `kind` at run time, if any.
    fn plugged(&self, kind: CodeHostKind) -> Option<Arc<dyn CodeHost>> {
        self.plugged
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind)
            .cloned()
    }

    /// The pull-request states are about to hold `kind`'s pull requests: another host's
    /// are forgotten. True when something was forgotten.
    fn switch_states_to(&self, kind: CodeHostKind) -> bool {
        let mut current = self.states_kind.lock().unwrap_or_else(|e| e.into_inner());
        if *current == kind {
            return false;
        }
        *current = kind;
        self.prs.clear()
    }

    /// Merges the pull request of each worktree's branch into `list` (a hash lookup per
    /// worktree, nothing when no pull request is known).
    pub(crate) fn merge_into(&self, list: &mut [WorktreeInfo]) {
        let prs = self.prs.by_branch();
        if prs.is_empty() {
            return;
        }
        let kind = *self.states_kind.lock().unwrap_or_else(|e| e.into_inner());
        for info in list {
            if let Some(pr) = prs.get(&info.branch) {
                // The generic fields for every host; the reference's GitHub fields for
                // GitHub only.
                info.pr_url = Some(pr.url.clone());
                info.pr_state = Some(pr.state.as_str().to_string());
                info.code_host = Some(kind.as_str().to_string());
                if kind == CodeHostKind::GitHub {
                    info.github_pr_url = Some(pr.url.clone());
                    info.github_pr_state = Some(pr.state.as_str().to_string());
                }
            }
        }
    }

    fn forget_account(&self) {
        *self.account.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(host) = &self.host {
            host.credentials_changed();
        }
    }
}

/// The `origin` remote of the repository at `root`, read in process.
fn origin_url(root: &Path) -> Option<String> {
    let repo = git2::Repository::open(root).ok()?;
    let config = repo.config().ok()?;
    config
        .get_string("remote.origin.url")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn has_commits(root: &Path) -> bool {
    git2::Repository::open(root).ok().is_some_and(|r| {
        r.head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .is_some()
    })
}

/// The remote branch `branch` of the checkout at `path` tracks (`branch.<b>.merge`
/// without `refs/heads/`), when it has an upstream that resolves.
fn upstream_branch(path: &Path, branch: &str) -> Option<String> {
    let repo = git2::Repository::open(path).ok()?;
    let local = repo.find_branch(branch, git2::BranchType::Local).ok()?;
    local.upstream().ok()?;
    let merge = repo
        .config()
        .ok()?
        .get_string(&format!("branch.{branch}.merge"))
        .ok()?;
    Some(
        merge
            .strip_prefix("refs/heads/")
            .unwrap_or(&merge)
            .to_string(),
    )
}

/// A repository name for the project directory: `[A-Za-z0-9._-]`, others become `-`.
fn repository_name(root: &Path) -> String {
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() || name == "." || name == ".." {
        "project".into()
    } else {
        name
    }
}

/// A per-worktree auto-cleanup setting from `.openkit/worktree-settings.json`.
fn worktree_setting(
    settings: &serde_json::Map<String, Value>,
    id: &str,
    key: &str,
) -> Option<bool> {
    settings.get(id)?.get(key)?.as_bool()
}

impl Workbench {
    fn code_host(&self) -> Result<&Arc<dyn CodeHost>, GitHubError> {
        self.codehost()
            .host
            .as_ref()
            .ok_or(GitHubError::CodeHost(CodeHostError::NotConfigured))
    }

    /// The project's code host: `codeHost` of `config.json`, GitHub when unset.
    pub fn code_host_kind(&self) -> CodeHostKind {
        self.config()
            .load()
            .ok()
            .flatten()
            .and_then(|c| c.code_host)
            .unwrap_or_default()
    }

    /// Plugs in (`Some`) or removes (`None`) the code host of `kind` at run time: a
    /// forge set up through the API (Kizuna). A host plugged for GitHub stands in for the
    /// composition's. When `kind` is the project's code host, pull requests are
    /// refreshed at once; a removed host's pull requests leave the worktree list.
    pub fn plug_code_host(&self, kind: CodeHostKind, host: Option<Arc<dyn CodeHost>>) {
        {
            let mut plugged = self
                .codehost()
                .plugged
                .write()
                .unwrap_or_else(|e| e.into_inner());
            match host {
                Some(host) => plugged.insert(kind, host),
                None => plugged.remove(&kind),
            };
        }
        // An unplugged host's pull requests are no longer shown.
        let parts = self.codehost();
        if *parts.states_kind.lock().unwrap_or_else(|e| e.into_inner()) == kind
            && parts.plugged(kind).is_none()
            && (kind != CodeHostKind::GitHub || parts.host.is_none())
            && parts.prs.clear()
        {
            self.publish(WorkbenchEvent::WorktreesChanged);
        }
        if self.code_host_kind() == kind {
            self.request_pr_refresh();
        }
    }

    /// The project's code host and its kind: the one `codeHost` names, plugged at run
    /// time or (GitHub) by the composition.
    pub fn active_code_host(&self) -> Result<(CodeHostKind, Arc<dyn CodeHost>), CodeHostError> {
        let kind = self.code_host_kind();
        if let Some(host) = self.codehost().plugged(kind) {
            return Ok((kind, host));
        }
        match kind {
            CodeHostKind::GitHub => self
                .codehost()
                .host
                .clone()
                .map(|host| (kind, host))
                .ok_or(CodeHostError::NotConfigured),
            other => Err(CodeHostError::HostNotSetUp { kind: other }),
        }
    }

    /// The repository `host` works on: its own binding, else `origin`'s.
    fn repository_of(&self, host: &dyn CodeHost) -> Result<RepoSlug, GitHubError> {
        match host.repository() {
            Some(repo) => Ok(repo),
            None => self.origin_repository(),
        }
    }

    /// Records a pull request that changed outside the refresh (a merge through OpenKit)
    /// so the worktree list shows it at once; `repo` must be the one its host works on.
    pub fn record_pull_request(&self, kind: CodeHostKind, repo: &RepoSlug, pr: PullRequest) {
        let forgot = self.codehost().switch_states_to(kind);
        if self.codehost().prs.insert(repo, pr) || forgot {
            self.publish(WorkbenchEvent::WorktreesChanged);
        }
    }

    /// The pull-request states by branch (for embedders and tests).
    pub fn pull_requests(&self) -> &PrStates {
        &self.codehost().prs
    }

    /// The GitHub CLI.
    pub fn gh(&self) -> &GhCli {
        &self.codehost().gh
    }

    /// The repository `origin` names, or why there is none.
    pub fn origin_repository(&self) -> Result<RepoSlug, GitHubError> {
        let url = origin_url(self.paths().project_root()).ok_or(GitHubError::NoRemote)?;
        parse_remote_url(&url).ok_or_else(|| GitHubError::RemoteUnsupported {
            url: crate::redact::redact_text(&url),
        })
    }

    /// The signed-in account, checked at most every 30 s.
    async fn account(&self) -> Result<Account, CodeHostError> {
        let host = self
            .codehost()
            .host
            .as_ref()
            .ok_or(CodeHostError::NotConfigured)?;
        if let Some((at, cached)) = self
            .codehost()
            .account
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            && at.elapsed() < ACCOUNT_TTL
        {
            return cached.clone();
        }
        let result = host.account().await;
        *self
            .codehost()
            .account
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), result.clone()));
        result
    }

    /// `GET /api/github/status`: gh installed, authenticated, the repository, remote and
    /// commits. Never fails: what cannot be checked is reported as not there, with the
    /// reason in `error`.
    pub async fn github_status(&self) -> GitHubStatus {
        let root = self.paths().project_root();
        let origin = origin_url(root);
        let installed = self.gh().executable().is_some();
        let (authenticated, user, error) = match self.account().await {
            Ok(account) => (true, Some(account.login), None),
            Err(CodeHostError::NotConfigured) if installed => {
                let ok = self.gh().authenticated(root).await.unwrap_or(false);
                (ok, None, Some(CodeHostError::NotConfigured))
            }
            Err(e) => (false, None, Some(e)),
        };
        GitHubStatus {
            installed,
            authenticated,
            repo: origin
                .as_deref()
                .and_then(parse_remote_url)
                .map(|s| s.full_name()),
            has_remote: origin.is_some(),
            has_commits: has_commits(root),
            configured: self.codehost().host.is_some(),
            user,
            error,
        }
    }

    /// The GitHub part of `GET /api/integrations/verify`: `None` when neither a code host
    /// nor `gh` is there to check.
    pub async fn verify_github(&self) -> Option<HostCheck> {
        if self.codehost().host.is_none() {
            self.gh().executable()?;
            let ok = self
                .gh()
                .authenticated(self.paths().project_root())
                .await
                .unwrap_or(false);
            return Some(HostCheck {
                ok,
                error: (!ok).then(|| "gh auth status failed: not logged in".to_string()),
                code: (!ok).then_some("GITHUB_NOT_AUTHENTICATED"),
            });
        }
        *self
            .codehost()
            .account
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        Some(match self.account().await {
            Ok(_) => HostCheck {
                ok: true,
                error: None,
                code: None,
            },
            Err(e) => HostCheck {
                ok: false,
                code: Some(e.code()),
                error: Some(e.to_string()),
            },
        })
    }

    /// Starts the device login through `gh` and returns the one-time code; when the user
    /// completes it, cached credentials are dropped and pull requests refreshed.
    pub async fn github_login(self: &Arc<Self>) -> Result<String, GitHubError> {
        let host = self.github_host_name();
        let me: Weak<Workbench> = Arc::downgrade(self);
        let code = self
            .gh()
            .login(
                self.paths().project_root(),
                &host,
                Box::new(move |ok| {
                    if let Some(wb) = me.upgrade() {
                        wb.codehost().forget_account();
                        if ok {
                            wb.request_pr_refresh();
                        }
                    }
                }),
            )
            .await?;
        self.publish_activity(ActivityNotice {
            category: crate::events::ActivityCategory::System,
            event_type: "github_login_started".into(),
            severity: Severity::Info,
            title: "GitHub device login started: enter the code in the browser".into(),
            detail: None,
            worktree_id: None,
        });
        Ok(code)
    }

    /// `gh auth logout`; cached credentials are dropped.
    pub async fn github_logout(&self) -> Result<(), GitHubError> {
        let result = self
            .gh()
            .logout(self.paths().project_root(), &self.github_host_name())
            .await;
        self.codehost().forget_account();
        result
    }

    /// Installs `gh` (Homebrew) unless present, then starts the device login; the code
    /// is `None` when the login could not start.
    pub async fn github_install(self: &Arc<Self>) -> Result<Option<String>, GitHubError> {
        if self.gh().executable().is_none() {
            let plan = self.gh().install_plan()?;
            self.gh()
                .install(self.paths().project_root(), &plan)
                .await?;
        }
        Ok(self.github_login().await.ok())
    }

    /// The host `gh` logs in to: the `origin` remote's host, else `github.com`.
    fn github_host_name(&self) -> String {
        self.origin_repository()
            .map(|s| s.host)
            .unwrap_or_else(|_| "github.com".into())
    }

    /// Commits everything in a repository without commits (`Initial commit`).
    pub async fn initial_commit(&self) -> Result<InitialCommit, GitHubError> {
        let root = self.paths().project_root();
        if has_commits(root) {
            return Err(GitHubError::HasCommits);
        }
        let git = self.git();
        git.run(root, ["add", "-A"]).await?;
        git.run(
            root,
            ["commit", "-q", "--allow-empty", "-m", "Initial commit"],
        )
        .await?;
        let commit = git
            .run(root, ["rev-parse", "HEAD"])
            .await?
            .trim()
            .to_string();
        let branch = git
            .run(root, ["symbolic-ref", "--short", "HEAD"])
            .await?
            .trim()
            .to_string();
        if let Some(status) = self.status_engine() {
            status.invalidate(Some(root));
        }
        self.publish(WorkbenchEvent::WorktreesChanged);
        Ok(InitialCommit { commit, branch })
    }

    /// Creates a repository named after the project directory, sets it as `origin` and
    /// pushes the current branch when there are commits (a failed push is reported, not
    /// an error: the repository exists).
    pub async fn create_repository(&self, private: bool) -> Result<RepoCreated, GitHubError> {
        let host = self.code_host()?;
        let root = self.paths().project_root();
        if let Some(url) = origin_url(root) {
            return Err(GitHubError::RemoteExists {
                url: crate::redact::redact_text(&url),
            });
        }
        let created = host
            .create_repository(&NewRepository {
                name: repository_name(root),
                private,
            })
            .await?;
        let git = self.git();
        git.run(root, ["remote", "add", "origin", &created.clone_url])
            .await?;
        let (pushed, push_error) = if has_commits(root) {
            match git.run(root, ["push", "-u", "origin", "HEAD"]).await {
                Ok(_) => (true, None),
                Err(e) => (false, Some(e.to_string())),
            }
        } else {
            (false, None)
        };
        if let Some(status) = self.status_engine() {
            status.invalidate(Some(root));
        }
        self.request_pr_refresh();
        Ok(RepoCreated {
            repo: created.full_name,
            url: created.url,
            remote_url: created.clone_url,
            pushed,
            push_error,
        })
    }

    /// Opens a pull request from worktree `id`'s branch into the configured base branch.
    /// The branch must be pushed: without an upstream, or with commits the upstream does
    /// not have, the answer says to push first.
    pub async fn create_pull_request(
        &self,
        id: &str,
        title: &str,
        body: Option<&str>,
        draft: bool,
    ) -> Result<PullRequest, GitHubError> {
        let title = title.trim();
        if title.is_empty() {
            return Err(GitHubError::InvalidTitle);
        }
        let (kind, host) = self.active_code_host()?;
        let listed = self.worktree(id).await?;
        // Decide on what git says now, not on the live snapshot.
        if let Some(status) = self.status_engine() {
            status.invalidate(Some(&listed.path));
        }
        let info = self.worktree(&listed.id).await?;
        if info.branch.is_empty() {
            return Err(GitHubError::DetachedHead { id: info.id });
        }
        let not_pushed = |reason: String| GitHubError::NotPushed {
            id: info.id.clone(),
            branch: info.branch.clone(),
            reason,
        };
        let Some(head) = upstream_branch(&info.path, &info.branch) else {
            return Err(not_pushed("has no upstream branch on the remote".into()));
        };
        if info.commits_ahead > 0 {
            return Err(not_pushed(format!(
                "has {} commit{} not pushed",
                info.commits_ahead,
                if info.commits_ahead == 1 { "" } else { "s" }
            )));
        }
        let repo = self.repository_of(host.as_ref())?;
        let base = self.config().load()?.unwrap_or_default().base_branch;
        let pr = host
            .create_pull_request(
                &repo,
                &NewPullRequest {
                    title: title.to_string(),
                    body: body.map(str::to_string).filter(|b| !b.trim().is_empty()),
                    head,
                    base,
                    draft,
                },
            )
            .await?;
        self.publish_activity(
            ActivityNotice::worktree(
                "pr_created",
                Severity::Success,
                &info.id,
                format!("Pull request #{} opened for {}", pr.number, info.id),
            )
            .with_detail(pr.url.clone()),
        );
        self.record_pull_request(kind, &repo, pr.clone());
        Ok(pr)
    }

    /// Asks the background refresh to run now.
    pub fn request_pr_refresh(&self) {
        self.codehost().trigger.notify_one();
    }

    /// One refresh: the pull requests of the `origin` repository with one paged listing
    /// (a `304` when nothing changed), a worktrees event when a state changed, then the
    /// auto-cleanup.
    pub async fn refresh_pull_requests(&self) -> Result<PrRefresh, GitHubError> {
        let (kind, host) = self.active_code_host()?;
        let prs = &self.codehost().prs;
        if self.codehost().switch_states_to(kind) {
            self.publish(WorkbenchEvent::WorktreesChanged);
        }
        let repo = match self.repository_of(host.as_ref()) {
            Ok(repo) => repo,
            Err(GitHubError::NoRemote | GitHubError::RemoteUnsupported { .. }) => {
                if prs.clear() {
                    self.publish(WorkbenchEvent::WorktreesChanged);
                }
                return Ok(PrRefresh {
                    repo: None,
                    outcome: None,
                    pull_requests: 0,
                    cleanups: Vec::new(),
                });
            }
            Err(e) => return Err(e),
        };
        let outcome = prs.refresh(host.as_ref(), &repo).await?;
        if outcome == (RefreshOutcome::Fresh { changed: true }) {
            self.publish(WorkbenchEvent::WorktreesChanged);
        }
        let cleanups = self.auto_cleanup().await;
        Ok(PrRefresh {
            repo: Some(repo),
            outcome: Some(outcome),
            pull_requests: prs.by_branch().len(),
            cleanups,
        })
    }

    /// Removes each worktree whose pull request was merged (closed) when
    /// `autoCleanupOnMerge` (`autoCleanupOnClose`) of `.openkit/worktree-settings.json`,
    /// else `autoCleanupOnPrMerge` (`autoCleanupOnPrClose`) of the local or project
    /// config, says so; never one with uncommitted changes, unpushed commits (or no
    /// upstream) or open terminal sessions. Each decision is an activity event (a kept
    /// worktree once per pull request and reason).
    async fn auto_cleanup(&self) -> Vec<CleanupOutcome> {
        let prs = self.codehost().prs.by_branch();
        if !prs
            .values()
            .any(|pr| matches!(pr.state, PrState::Merged | PrState::Closed))
        {
            return Vec::new();
        }
        let local = self.config().load_local().unwrap_or_default();
        let project = self.config().load().ok().flatten();
        let project_flag = |key: &str| {
            project
                .as_ref()
                .and_then(|c| c.extra.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let on_merge = local.auto_cleanup_on_pr_merge || project_flag("autoCleanupOnPrMerge");
        let on_close = local.auto_cleanup_on_pr_close || project_flag("autoCleanupOnPrClose");
        let settings = persist::read_json_object(&self.paths().worktree_settings_file())
            .ok()
            .flatten()
            .unwrap_or_default();
        let Ok(list) = self.list_worktrees().await else {
            return Vec::new();
        };
        let mut outcomes = Vec::new();
        for info in list
            .iter()
            .filter(|w| !w.is_root && w.status != WorktreeStatus::Creating)
        {
            let Some(pr) = prs.get(&info.branch) else {
                continue;
            };
            let (wanted, verb) = match pr.state {
                PrState::Merged => (
                    worktree_setting(&settings, &info.id, "autoCleanupOnMerge").unwrap_or(on_merge),
                    "merged",
                ),
                PrState::Closed => (
                    worktree_setting(&settings, &info.id, "autoCleanupOnClose").unwrap_or(on_close),
                    "closed",
                ),
                PrState::Open | PrState::Draft => continue,
            };
            if !wanted {
                continue;
            }
            if let Some(outcome) = self.clean_up_one(info, pr, verb).await {
                outcomes.push(outcome);
            }
        }
        outcomes
    }

    async fn clean_up_one(
        &self,
        listed: &WorktreeInfo,
        pr: &PullRequest,
        verb: &str,
    ) -> Option<CleanupOutcome> {
        // Decide on what git says now, not on the live snapshot.
        if let Some(status) = self.status_engine() {
            status.invalidate(Some(&listed.path));
        }
        let info = self.worktree(&listed.id).await.ok()?;
        let reason = if info.has_uncommitted {
            Some("it has uncommitted changes".to_string())
        } else if info.has_unpushed {
            Some(if info.commits_ahead > 0 {
                format!("it has {} unpushed commit(s)", info.commits_ahead)
            } else {
                "its branch has no upstream, so its commits may exist only here".to_string()
            })
        } else if !self.terminals().session_pids(&info.id).is_empty() {
            Some("terminal sessions are open in it".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            let key = format!("{}:{reason}", pr.number);
            let mut reported = self
                .codehost()
                .reported
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if reported.get(&info.id) != Some(&key) {
                reported.insert(info.id.clone(), key);
                drop(reported);
                self.publish_activity(
                    ActivityNotice::worktree(
                        "auto_cleanup_skipped",
                        Severity::Warning,
                        &info.id,
                        format!(
                            "Worktree {} kept although pull request #{} was {verb}",
                            info.id, pr.number
                        ),
                    )
                    .with_detail(format!("Not removed: {reason}.")),
                );
            }
            return Some(CleanupOutcome::Skipped {
                worktree_id: info.id,
                number: pr.number,
                reason,
            });
        }
        match self.delete_worktree(&info.id).await {
            Ok(report) => {
                self.codehost()
                    .reported
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&info.id);
                self.publish_activity(
                    ActivityNotice::worktree(
                        "auto_cleanup",
                        Severity::Success,
                        &report.worktree_id,
                        format!(
                            "Worktree {} removed: pull request #{} was {verb}",
                            report.worktree_id, pr.number
                        ),
                    )
                    .with_detail(pr.url.clone()),
                );
                Some(CleanupOutcome::Removed {
                    worktree_id: report.worktree_id,
                    number: pr.number,
                })
            }
            Err(failure) => {
                self.publish_activity(
                    ActivityNotice::worktree(
                        "auto_cleanup_failed",
                        Severity::Error,
                        &info.id,
                        format!(
                            "Worktree {} could not be removed after pull request #{} was {verb}",
                            info.id, pr.number
                        ),
                    )
                    .with_detail(failure.to_string()),
                );
                Some(CleanupOutcome::Skipped {
                    worktree_id: info.id,
                    number: pr.number,
                    reason: failure.to_string(),
                })
            }
        }
    }

    fn publish_activity(&self, notice: ActivityNotice) {
        self.publish(WorkbenchEvent::Activity(notice));
    }
}

/// The background pull-request refresh: now, then every interval or when asked; ends
/// when the workbench is gone. Failures are logged when they change (a rate limit or an
/// unreachable host backs off inside [`PrStates`]).
pub(crate) async fn refresh_loop(workbench: Weak<Workbench>) {
    let mut last_error: Option<&'static str> = None;
    loop {
        let Some(wb) = workbench.upgrade() else {
            return;
        };
        match wb.refresh_pull_requests().await {
            Ok(_) => last_error = None,
            // No host to ask (none plugged in, or the configured one not set up yet):
            // nothing to refresh, nothing to report.
            Err(GitHubError::CodeHost(
                CodeHostError::NotConfigured | CodeHostError::HostNotSetUp { .. },
            )) => last_error = None,
            Err(e) if last_error != Some(e.code()) => {
                last_error = Some(e.code());
                tracing::warn!("pull request refresh failed: {e}");
            }
            Err(_) => {}
        }
        let interval = wb.codehost().interval;
        let trigger = Arc::clone(&wb.codehost().trigger);
        // Only the weak reference is held while waiting, so the workbench can go.
        drop(wb);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = trigger.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_from_directories() {
        assert_eq!(repository_name(Path::new("/x/my app!")), "my-app");
        assert_eq!(repository_name(Path::new("/x/widgets.js")), "widgets.js");
        assert_eq!(repository_name(Path::new("/")), "project");
    }
}
