//! The worktree engine: the git side of worktrees, behind a trait so embedders and tests
//! can swap it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::IoFailure;
use crate::git::repo;
use crate::git::{GitCli, GitError};
use crate::paths::Paths;
use crate::status::{Layout, StatusEngine, StatusSettings};
use crate::worktree::{WorktreeError, WorktreeId, WorktreeRecord};

/// How to recover an inconsistent worktree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverAction {
    /// Re-attach an existing directory, or re-add the checkout for the existing branch.
    Reuse,
    /// Rebuild the checkout from the branch (uncommitted changes in it are discarded;
    /// the branch and its commits are kept).
    Recreate,
}

/// What `add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOutcome {
    /// The checkout directory.
    pub path: PathBuf,
    /// True when the branch was created by this call (from the base ref or a remote branch).
    pub created_branch: bool,
}

/// The git side of worktrees: registrations, checkouts and branches.
#[async_trait]
pub trait WorktreeEngine: Send + Sync {
    /// The main checkout (id `root`) first, then every linked worktree under
    /// `.openkit/worktrees/` whose directory exists, sorted by id; git status is compared
    /// with `base_branch`.
    async fn list(&self, base_branch: &str) -> Result<Arc<Vec<WorktreeRecord>>, WorktreeError>;

    /// Checks out `branch` into `.openkit/worktrees/<id>`: an existing local branch, a
    /// remote-only branch as a tracking branch, or a new branch from the base ref.
    async fn add(
        &self,
        id: &WorktreeId,
        branch: &str,
        base_branch: &str,
    ) -> Result<AddOutcome, WorktreeError>;

    /// Removes the checkout (force), falling back to deleting the directory, then prunes.
    /// The branch is kept.
    async fn remove(&self, id: &WorktreeId) -> Result<(), WorktreeError>;

    /// Deletes `branch` if it points at the same commit as when it was created from the
    /// base, i.e. it holds no work. Used to clean up a failed creation.
    async fn discard_branch_if_empty(
        &self,
        branch: &str,
        base_branch: &str,
    ) -> Result<bool, WorktreeError>;

    /// Renames the branch checked out in `id` and/or moves the checkout to `new_id`.
    async fn rename(
        &self,
        id: &WorktreeId,
        new_id: Option<&WorktreeId>,
        new_branch: Option<&str>,
    ) -> Result<(), WorktreeError>;

    /// Repairs the worktree `id`; `branch` overrides the branch git remembers.
    async fn recover(
        &self,
        id: &WorktreeId,
        action: RecoverAction,
        branch: Option<&str>,
        base_branch: &str,
    ) -> Result<(), WorktreeError>;

    /// Every id that names a worktree in some state: registered with git (even when its
    /// directory is gone) or present as a directory under `.openkit/worktrees/`. These are
    /// names to resolve a request against; the canonical one becomes a [`WorktreeId`].
    async fn known_ids(&self) -> Vec<String>;

    /// The live status engine behind [`WorktreeEngine::list`], if this engine has one to
    /// start.
    fn status_engine(&self) -> Option<&StatusEngine> {
        None
    }
}

/// The default engine: git CLI for mutations, libgit2 and file reads for queries.
pub struct GitWorktrees {
    paths: Paths,
    git: GitCli,
    common_dir: PathBuf,
    status: StatusEngine,
    /// Serialises this engine's worktree and branch mutations: concurrent `git worktree`
    /// commands in one repository race on `.git/worktrees/` (one reads the half-written
    /// registration of another and fails).
    mutations: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GitWorktrees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitWorktrees")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl GitWorktrees {
    /// An engine for the repository at `paths.project_root()`.
    pub fn open(paths: Paths, git: GitCli) -> Result<Self, WorktreeError> {
        GitWorktrees::with_status_settings(paths, git, StatusSettings::default())
    }

    /// Like [`GitWorktrees::open`], with the status engine tuned by `settings`.
    pub fn with_status_settings(
        paths: Paths,
        git: GitCli,
        settings: StatusSettings,
    ) -> Result<Self, WorktreeError> {
        let common_dir = repo::common_dir(paths.project_root()).map_err(GitError::from)?;
        let common_dir = common_dir.canonicalize().unwrap_or(common_dir);
        Ok(GitWorktrees {
            status: StatusEngine::new(Layout::new(&paths, common_dir.clone()), settings),
            paths,
            git,
            common_dir,
            mutations: tokio::sync::Mutex::new(()),
        })
    }

    fn root(&self) -> &Path {
        self.paths.project_root()
    }

    /// Registrations whose checkout lives directly in `.openkit/worktrees/`, with their ids.
    fn managed_registrations(&self) -> Vec<(String, repo::Registration)> {
        self.status.layout().managed_registrations()
    }

    fn registration(&self, id: &WorktreeId) -> Option<repo::Registration> {
        self.managed_registrations()
            .into_iter()
            .find(|(rid, _)| id == rid.as_str())
            .map(|(_, r)| r)
    }

    /// The commit new branches start from: the base branch (local, then `origin/`), else
    /// develop, main, master, else HEAD.
    ///
    /// Named by its commit id: a branch someone made by hand whose name shadows a ref
    /// (`refs/heads/main`, `origin/main`) cannot make it ambiguous.
    fn base_ref(&self, base_branch: &str) -> Option<String> {
        let repo = git2::Repository::open(self.root()).ok()?;
        let mut candidates = vec![base_branch.to_string()];
        candidates.extend(["develop", "main", "master"].map(String::from));
        for name in candidates {
            for full in [
                format!("refs/heads/{name}"),
                format!("refs/remotes/origin/{name}"),
            ] {
                let commit = repo
                    .find_reference(&full)
                    .and_then(|r| r.peel_to_commit())
                    .map(|c| c.id());
                if let Ok(commit) = commit {
                    return Some(commit.to_string());
                }
            }
        }
        repo.head()
            .ok()
            .and_then(|h| h.target())
            .map(|oid| oid.to_string())
    }

    /// Refuses a new branch name that is also a remote-tracking branch or a tag
    /// (`origin/main`): git would find the short name ambiguous from then on.
    fn check_unambiguous(&self, branch: &str) -> Result<(), WorktreeError> {
        let Ok(repo) = git2::Repository::open(self.root()) else {
            return Ok(());
        };
        if repo.find_reference(&format!("refs/heads/{branch}")).is_ok() {
            return Ok(()); // an existing branch is checked out as it is
        }
        for taken in [
            format!("refs/remotes/{branch}"),
            format!("refs/tags/{branch}"),
        ] {
            if repo.find_reference(&taken).is_ok() {
                return Err(WorktreeError::InvalidBranch {
                    reason: format!(
                        "Invalid branch name \"{branch}\": {taken} exists, so git would find the name ambiguous"
                    ),
                });
            }
        }
        Ok(())
    }

    fn remote_branch_exists(&self, branch: &str) -> bool {
        git2::Repository::open(self.root()).ok().is_some_and(|r| {
            r.refname_to_id(&format!("refs/remotes/origin/{branch}"))
                .is_ok()
        })
    }

    /// Runs `git worktree add` for `branch` at `path`, choosing the right form.
    async fn checkout(
        &self,
        path: &Path,
        branch: &str,
        base_branch: &str,
    ) -> Result<bool, GitError> {
        let path_str = path.to_string_lossy().into_owned();
        if repo::local_branch_exists(self.root(), branch) {
            self.git
                .run(self.root(), ["worktree", "add", &path_str, branch])
                .await?;
            Ok(false)
        } else if self.remote_branch_exists(branch) {
            let remote = format!("origin/{branch}");
            self.git
                .run(
                    self.root(),
                    [
                        "worktree", "add", "--track", "-b", branch, &path_str, &remote,
                    ],
                )
                .await?;
            Ok(true)
        } else {
            let base = self.base_ref(base_branch).unwrap_or_else(|| "HEAD".into());
            self.git
                .run(
                    self.root(),
                    [
                        "worktree",
                        "add",
                        "--no-track",
                        "-b",
                        branch,
                        &path_str,
                        &base,
                    ],
                )
                .await?;
            Ok(true)
        }
    }

    async fn prune(&self) {
        // Pruning only drops registrations whose directory is gone; a failure is harmless.
        let _ = self.git.run(self.root(), ["worktree", "prune"]).await;
    }

    /// Removes a checkout directory that must lie inside `.openkit/worktrees/`.
    fn remove_dir_inside(&self, path: &Path) -> Result<(), IoFailure> {
        let root = self.paths.worktrees_dir();
        if path.parent() != Some(root.as_path()) {
            return Err(IoFailure::new(
                format!("removing {}", path.display()),
                std::io::Error::other("path is outside .openkit/worktrees"),
            ));
        }
        match fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(IoFailure::new(format!("removing {}", path.display()), e)),
        }
    }

    fn is_healthy_checkout(&self, path: &Path) -> bool {
        git2::Repository::open(path).ok().is_some_and(|r| {
            r.commondir().canonicalize().ok().as_deref() == Some(self.common_dir.as_path())
        })
    }
}

#[async_trait]
impl WorktreeEngine for GitWorktrees {
    async fn list(&self, base_branch: &str) -> Result<Arc<Vec<WorktreeRecord>>, WorktreeError> {
        Ok(self.status.list(base_branch).await?)
    }

    async fn add(
        &self,
        id: &WorktreeId,
        branch: &str,
        base_branch: &str,
    ) -> Result<AddOutcome, WorktreeError> {
        let path = self.paths.worktree_dir(id);
        if path.exists() {
            return Err(WorktreeError::Exists { id: id.to_string() });
        }
        self.check_unambiguous(branch)?;
        if !repo::has_commits(self.root()) {
            return Err(WorktreeError::NoCommits);
        }
        let _mutating = self.mutations.lock().await;
        fs::create_dir_all(self.paths.worktrees_dir())
            .map_err(|e| IoFailure::new("creating .openkit/worktrees", e))?;
        // A checkout deleted behind OpenKit's back stays registered with git (it is no
        // longer listed), and git refuses to add a worktree at a registered path: drop
        // that stale registration first. Its branch is kept.
        if self.registration(id).is_some() {
            let path_str = path.to_string_lossy().into_owned();
            self.git
                .run(
                    self.root(),
                    ["worktree", "remove", "--force", "--force", &path_str],
                )
                .await
                .map_err(|err| WorktreeError::CreateFailed {
                    id: id.to_string(),
                    reason: format!("removing the stale registration of {path_str}: {err}"),
                })?;
        }
        // Whatever was cached for this path described an earlier checkout.
        let _changing = self.status.changing(&path);
        match self.checkout(&path, branch, base_branch).await {
            Ok(created_branch) => Ok(AddOutcome {
                path,
                created_branch,
            }),
            Err(err) => {
                // git may leave a half-made directory or registration behind.
                if path.exists() && !self.is_healthy_checkout(&path) {
                    let _ = self.remove_dir_inside(&path);
                }
                self.prune().await;
                let reason = match &err {
                    GitError::Failed { stderr, .. } => stderr.clone(),
                    other => other.to_string(),
                };
                Err(WorktreeError::CreateFailed {
                    id: id.to_string(),
                    reason,
                })
            }
        }
    }

    async fn remove(&self, id: &WorktreeId) -> Result<(), WorktreeError> {
        let _mutating = self.mutations.lock().await;
        let path = self.paths.worktree_dir(id);
        let _changing = self.status.changing(&path);
        let path_str = path.to_string_lossy().into_owned();
        let git_result = self
            .git
            .run(
                self.root(),
                ["worktree", "remove", "--force", "--force", &path_str],
            )
            .await;
        if let Err(git_err) = git_result
            && path.exists()
        {
            self.remove_dir_inside(&path)
                .map_err(|io| WorktreeError::RemoveFailed {
                    id: id.to_string(),
                    reason: format!("{git_err}; then {io}"),
                })?;
        }
        self.prune().await;
        Ok(())
    }

    async fn discard_branch_if_empty(
        &self,
        branch: &str,
        base_branch: &str,
    ) -> Result<bool, WorktreeError> {
        let Some(base) = self.base_ref(base_branch) else {
            return Ok(false);
        };
        let _mutating = self.mutations.lock().await;
        let same = git2::Repository::open(self.root())
            .ok()
            .and_then(|r| {
                let b = r.refname_to_id(&format!("refs/heads/{branch}")).ok()?;
                let base = r.revparse_single(&base).ok()?.peel_to_commit().ok()?.id();
                Some(b == base)
            })
            .unwrap_or(false);
        if same {
            self.git.run(self.root(), ["branch", "-D", branch]).await?;
        }
        Ok(same)
    }

    async fn rename(
        &self,
        id: &WorktreeId,
        new_id: Option<&WorktreeId>,
        new_branch: Option<&str>,
    ) -> Result<(), WorktreeError> {
        let _mutating = self.mutations.lock().await;
        let path = self.paths.worktree_dir(id);
        let _changing = self.status.changing(&path);
        let failed = |reason: String| WorktreeError::RenameFailed {
            id: id.to_string(),
            reason,
        };
        let mut renamed_branch: Option<(String, String)> = None;
        if let Some(new_branch) = new_branch {
            let worktree_repo = git2::Repository::open(&path).map_err(GitError::from)?;
            let current = repo::read_head_branch(worktree_repo.path()).ok_or_else(|| {
                failed("the worktree has a detached HEAD; check out a branch first".into())
            })?;
            if current != new_branch {
                if repo::local_branch_exists(self.root(), new_branch) {
                    return Err(failed(format!("branch \"{new_branch}\" already exists")));
                }
                self.git
                    .run(&path, ["branch", "-m", &current, new_branch])
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                renamed_branch = Some((current, new_branch.to_string()));
            }
        }
        if let Some(new_id) = new_id.filter(|n| *n != id) {
            let target = self.paths.worktree_dir(new_id);
            let from = path.to_string_lossy().into_owned();
            let to = target.to_string_lossy().into_owned();
            let moved = if target.exists() && !from.eq_ignore_ascii_case(&to) {
                Err(failed(format!("{} already exists", target.display())))
            } else {
                self.git
                    .run(self.root(), ["worktree", "move", &from, &to])
                    .await
                    .map_err(|e| failed(e.to_string()))
            };
            if let Err(err) = moved {
                if let Some((old, new)) = renamed_branch {
                    let _ = self.git.run(&path, ["branch", "-m", &new, &old]).await;
                }
                return Err(err);
            }
        }
        Ok(())
    }

    async fn recover(
        &self,
        id: &WorktreeId,
        action: RecoverAction,
        branch: Option<&str>,
        base_branch: &str,
    ) -> Result<(), WorktreeError> {
        let _mutating = self.mutations.lock().await;
        let path = self.paths.worktree_dir(id);
        let path_str = path.to_string_lossy().into_owned();
        let failed = |reason: String| WorktreeError::RecoverFailed {
            id: id.to_string(),
            reason,
        };
        let branch = match branch {
            Some(b) => b.to_string(),
            None => self
                .registration(id)
                .and_then(|r| r.branch)
                .or_else(|| {
                    git2::Repository::open(&path)
                        .ok()
                        .and_then(|r| repo::read_head_branch(r.path()))
                })
                .ok_or_else(|| {
                    failed("the worktree's branch is unknown; pass \"branch\"".into())
                })?,
        };
        let _changing = self.status.changing(&path);
        match action {
            RecoverAction::Reuse => {
                if path.exists() {
                    if self.is_healthy_checkout(&path) {
                        return Ok(());
                    }
                    let _ = self
                        .git
                        .run(self.root(), ["worktree", "repair", &path_str])
                        .await;
                    if self.is_healthy_checkout(&path) {
                        return Ok(());
                    }
                    return Err(failed(
                        "the directory exists but is not a working checkout; use \"recreate\""
                            .into(),
                    ));
                }
                self.prune().await;
                if !repo::local_branch_exists(self.root(), &branch)
                    && !self.remote_branch_exists(&branch)
                {
                    return Err(failed(format!(
                        "branch \"{branch}\" no longer exists; use \"recreate\" to start it from the base branch"
                    )));
                }
                self.checkout(&path, &branch, base_branch)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                Ok(())
            }
            RecoverAction::Recreate => {
                if path.exists() {
                    let _ = self
                        .git
                        .run(
                            self.root(),
                            ["worktree", "remove", "--force", "--force", &path_str],
                        )
                        .await;
                    self.remove_dir_inside(&path)?;
                }
                self.prune().await;
                // The branch is never deleted: commits on it survive a recreate.
                self.checkout(&path, &branch, base_branch)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                Ok(())
            }
        }
    }

    async fn known_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .managed_registrations()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if let Ok(entries) = fs::read_dir(self.paths.worktrees_dir()) {
            ids.extend(
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string)),
            );
        }
        ids.sort();
        ids.dedup();
        ids
    }

    fn status_engine(&self) -> Option<&StatusEngine> {
        Some(&self.status)
    }
}
