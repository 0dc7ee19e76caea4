//! Commit and push: mutations, so they run the `git` CLI ([`GitCli`]) exactly as the
//! user's own git would (hooks, credential helpers, git's safety checks), with the
//! repository's state read in process first to refuse clearly what git would refuse
//! obscurely (a detached HEAD, no commits, no remote).

use std::path::Path;
use std::time::Duration;

use git2::Repository;

use crate::git::op_error::GitOpError;
use crate::git::{GitCli, GitError};

/// The longest a push may take before it (and everything it started) is killed.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// A commit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The new commit's id.
    pub commit: String,
    /// The message it was made with (after the commit-message rule).
    pub message: String,
    /// The branch it is on.
    pub branch: String,
}

/// A push done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The branch pushed.
    pub branch: String,
    /// The remote pushed to.
    pub remote: String,
    /// The upstream branch now tracked (`origin/feature-x`).
    pub upstream: String,
    /// True when this push set the upstream (the branch had none).
    pub set_upstream: bool,
}

/// The branch HEAD is on; refuses a detached HEAD and, when `need_commit`, an unborn one.
fn current_branch(repo: &Repository, id: &str, need_commit: bool) -> Result<String, GitOpError> {
    if repo.head_detached().unwrap_or(false) {
        return Err(GitOpError::DetachedHead { id: id.to_string() });
    }
    match repo.head() {
        Ok(head) => head
            .shorthand()
            .map(str::to_string)
            .map_err(|_| GitOpError::DetachedHead { id: id.to_string() }),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            if need_commit {
                return Err(GitOpError::NoCommits { id: id.to_string() });
            }
            // The branch HEAD names, which the first commit will create.
            let head = std::fs::read_to_string(repo.path().join("HEAD")).unwrap_or_default();
            Ok(head
                .trim()
                .strip_prefix("ref: refs/heads/")
                .unwrap_or("HEAD")
                .to_string())
        }
        Err(e) => Err(GitOpError::Git(e.into())),
    }
}

fn failure_detail(err: &GitError) -> String {
    match err {
        GitError::Failed { stderr, .. } => stderr.clone(),
        other => other.to_string(),
    }
}

/// Stages every change of the checkout (untracked files included, `git add -A`) and
/// commits it with `message` (already trimmed and rule-applied, non-empty). Hooks run.
pub async fn commit_all(
    git: &GitCli,
    checkout: &Path,
    id: &str,
    message: &str,
) -> Result<CommitOutcome, GitOpError> {
    let branch = {
        let repo = crate::git::diff::open(checkout, id)?;
        current_branch(&repo, id, false)?
    };
    git.run(checkout, ["add", "-A"])
        .await
        .map_err(|e| match e {
            GitError::Failed { .. } => GitOpError::CommitFailed {
                detail: failure_detail(&e),
            },
            other => other.into(),
        })?;
    // Exit 0: the index equals HEAD, nothing staged. Exit 1: there is something.
    match git
        .run(checkout, ["diff", "--cached", "--quiet", "--exit-code"])
        .await
    {
        Ok(_) => return Err(GitOpError::NothingToCommit { id: id.to_string() }),
        Err(GitError::Failed { code: Some(1), .. }) => {}
        Err(e) => return Err(e.into()),
    }
    git.run(checkout, ["commit", "-q", "-m", message])
        .await
        .map_err(|e| match e {
            GitError::Failed { .. } => GitOpError::CommitFailed {
                detail: failure_detail(&e),
            },
            other => other.into(),
        })?;
    let commit = git.run(checkout, ["rev-parse", "HEAD"]).await?;
    let message = git
        .run(checkout, ["log", "-1", "--format=%B"])
        .await?
        .trim_end()
        .to_string();
    Ok(CommitOutcome {
        commit: commit.trim().to_string(),
        message,
        branch,
    })
}

/// Where a branch goes: its configured upstream, or (first push) `origin` (or the only
/// remote when there is no `origin`).
struct Destination {
    remote: String,
    /// The upstream's branch name on the remote, when one is configured.
    merge: Option<String>,
}

fn destination(repo: &Repository, branch: &str) -> Result<Destination, GitOpError> {
    let refname = format!("refs/heads/{branch}");
    let configured = repo
        .branch_upstream_remote(&refname)
        .ok()
        .and_then(|r| r.as_str().ok().map(str::to_string))
        .filter(|r| r != ".");
    let merge = repo
        .branch_upstream_merge(&refname)
        .ok()
        .and_then(|m| m.as_str().ok().map(str::to_string))
        .map(|m| m.strip_prefix("refs/heads/").unwrap_or(&m).to_string());
    let remotes = repo.remotes().map_err(|e| GitOpError::Git(e.into()))?;
    let names: Vec<&str> = remotes.iter().flatten().flatten().collect();
    if let Some(remote) = configured.filter(|r| names.contains(&r.as_str()))
        && merge.is_some()
    {
        return Ok(Destination { remote, merge });
    }
    let remote = if names.contains(&"origin") {
        "origin"
    } else if let [only] = names.as_slice() {
        only
    } else {
        return Err(GitOpError::NoRemote);
    };
    Ok(Destination {
        remote: remote.to_string(),
        merge: None,
    })
}

/// What a failed push means, from git's own words.
fn classify_push_failure(branch: &str, err: GitError) -> GitOpError {
    let GitError::Failed { .. } = err else {
        return err.into();
    };
    let detail = failure_detail(&err);
    let text = detail.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&[
        "[rejected]",
        "[remote rejected]",
        "non-fast-forward",
        "fetch first",
        "updates were rejected",
    ]) {
        GitOpError::PushRejected {
            branch: branch.to_string(),
            detail,
        }
    } else if has(&[
        "authentication failed",
        "could not read username",
        "could not read password",
        "terminal prompts disabled",
        "permission denied",
        "invalid username or password",
        "the requested url returned error: 403",
        "the requested url returned error: 401",
    ]) {
        GitOpError::AuthFailed { detail }
    } else if has(&[
        "could not resolve host",
        "unable to access",
        "connection refused",
        "connection timed out",
        "does not appear to be a git repository",
        "could not read from remote repository",
        "network is unreachable",
    ]) {
        GitOpError::RemoteUnreachable { detail }
    } else {
        GitOpError::PushFailed { detail }
    }
}

/// Pushes the checkout's branch: to its upstream when it has one, else to `origin` with
/// `-u` so the upstream is set (`git push -u origin <branch>`). Killed after
/// [`PUSH_TIMEOUT`]; prompts are off, so missing credentials fail instead of waiting.
pub async fn push_branch(
    git: &GitCli,
    checkout: &Path,
    id: &str,
) -> Result<PushOutcome, GitOpError> {
    let (branch, dest) = {
        let repo = crate::git::diff::open(checkout, id)?;
        let branch = current_branch(&repo, id, true)?;
        let dest = destination(&repo, &branch)?;
        (branch, dest)
    };
    let git = git.clone().with_timeout(PUSH_TIMEOUT);
    let (args, upstream, set_upstream) = match &dest.merge {
        Some(merge) => (
            vec![
                "push".to_string(),
                dest.remote.clone(),
                format!("refs/heads/{branch}:refs/heads/{merge}"),
            ],
            format!("{}/{merge}", dest.remote),
            false,
        ),
        None => (
            vec![
                "push".to_string(),
                "-u".to_string(),
                dest.remote.clone(),
                branch.clone(),
            ],
            format!("{}/{branch}", dest.remote),
            true,
        ),
    };
    git.run(checkout, &args)
        .await
        .map_err(|e| classify_push_failure(&branch, e))?;
    Ok(PushOutcome {
        branch,
        remote: dest.remote,
        upstream,
        set_upstream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainError;

    fn failed(stderr: &str) -> GitError {
        GitError::Failed {
            args: "push".into(),
            code: Some(1),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn push_failures_get_clear_codes() {
        for (stderr, code) in [
            (
                " ! [rejected]        main -> main (fetch first)\nerror: failed to push",
                "PUSH_REJECTED",
            ),
            (
                " ! [remote rejected] main -> main (pre-receive hook declined)",
                "PUSH_REJECTED",
            ),
            (
                "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
                "GIT_AUTH_FAILED",
            ),
            (
                "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.",
                "GIT_AUTH_FAILED",
            ),
            (
                "fatal: unable to access 'https://x.invalid/': Could not resolve host: x.invalid",
                "REMOTE_UNREACHABLE",
            ),
            (
                "fatal: '/nope' does not appear to be a git repository",
                "REMOTE_UNREACHABLE",
            ),
            ("error: something else", "PUSH_FAILED"),
        ] {
            assert_eq!(
                classify_push_failure("main", failed(stderr)).code(),
                code,
                "{stderr}"
            );
        }
    }
}
