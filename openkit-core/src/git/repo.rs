//! Read-only repository queries, in-process through libgit2 or plain file reads.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use git2::{Oid, Repository, StatusOptions};

use crate::worktree::GitStatus;

/// A linked worktree as registered in `<common dir>/worktrees/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The registration's name (usually the directory name at `add` time).
    pub name: String,
    /// The worktree's checkout directory, as git recorded it.
    pub path: PathBuf,
    /// The branch checked out there (`None` for a detached HEAD).
    pub branch: Option<String>,
}

/// The common git directory of the repository at `project_root` (`<root>/.git` for a
/// normal clone).
pub fn common_dir(project_root: &Path) -> Result<PathBuf, git2::Error> {
    let repo = Repository::open(project_root)?;
    Ok(repo.commondir().to_path_buf())
}

/// Lists the linked worktrees registered in `common_dir`, by reading git's own files (no
/// process, no repository open).
pub fn registrations(common_dir: &Path) -> Vec<Registration> {
    let Ok(entries) = fs::read_dir(common_dir.join("worktrees")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let admin = entry.path();
        let Ok(gitdir) = fs::read_to_string(admin.join("gitdir")) else {
            continue;
        };
        let gitdir = PathBuf::from(gitdir.trim_end_matches(['\n', '\r']));
        let gitdir = if gitdir.is_relative() {
            normalize(&admin.join(gitdir))
        } else {
            gitdir
        };
        let Some(path) = gitdir.parent() else {
            continue;
        };
        out.push(Registration {
            name: entry.file_name().to_string_lossy().into_owned(),
            path: path.to_path_buf(),
            branch: read_head_branch(&admin),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The branch named by `<git dir>/HEAD`, if it is a symbolic ref to a local branch.
pub fn read_head_branch(git_dir: &Path) -> Option<String> {
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_string)
}

/// Lexically resolves `.` and `..` components.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// True when `branch` exists as a local branch of the repository at `repo_dir`.
pub fn local_branch_exists(repo_dir: &Path, branch: &str) -> bool {
    Repository::open(repo_dir)
        .ok()
        .is_some_and(|r| r.find_reference(&format!("refs/heads/{branch}")).is_ok())
}

/// True when the repository at `repo_dir` has at least one commit reachable from HEAD.
pub fn has_commits(repo_dir: &Path) -> bool {
    Repository::open(repo_dir)
        .ok()
        .is_some_and(|r| r.head().ok().and_then(|h| h.target()).is_some())
}

/// How much of a cached status a refresh may trust.
#[derive(Debug, Clone, Copy)]
pub enum Freshness<'a> {
    /// Recompute the dirty bit of every checkout (nobody watches the working trees).
    Recheck,
    /// Trust each cached dirty bit unless the checkout is in this set: a watcher saw its
    /// working tree change. HEAD, index, upstream and base-branch changes are always
    /// noticed, because they are part of the cache key.
    Trust(&'a std::collections::HashSet<PathBuf>),
}

impl Freshness<'_> {
    fn recheck(&self, path: &Path) -> bool {
        match self {
            Freshness::Recheck => true,
            Freshness::Trust(changed) => changed.contains(path),
        }
    }
}

/// What decides whether a cached status is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusKey {
    head: Option<Oid>,
    branch: Option<String>,
    index: Option<(SystemTime, u64)>,
    upstream: Option<Oid>,
    base: Vec<Oid>,
    base_branch: String,
}

struct CacheEntry {
    repo: Repository,
    /// What `<checkout>/.git` said when `repo` was opened.
    checkout: Option<String>,
    key: StatusKey,
    status: GitStatus,
}

/// Git status of many checkouts, cached by HEAD, index, upstream and base-branch oids so
/// that listing unchanged worktrees costs a few file reads each and no process.
#[derive(Default)]
pub struct StatusCache {
    entries: Mutex<HashMap<PathBuf, Mutex<CacheEntry>>>,
}

impl std::fmt::Debug for StatusCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusCache").finish_non_exhaustive()
    }
}

impl StatusCache {
    /// An empty cache.
    pub fn new() -> Self {
        StatusCache::default()
    }

    /// Makes sure every path has an entry for the checkout that is there now (opening
    /// repositories outside the map lock): a checkout can be replaced behind OpenKit's
    /// back (moved, deleted and re-added) while its path stays the same.
    fn open_stale(&self, paths: &[PathBuf]) {
        let stale: Vec<(&PathBuf, Option<String>)> = {
            let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            paths
                .iter()
                .filter_map(|p| {
                    let checkout = checkout_link(p);
                    let fresh = map.get(p).is_some_and(|e| {
                        e.lock().unwrap_or_else(|e| e.into_inner()).checkout == checkout
                    });
                    (!fresh).then_some((p, checkout))
                })
                .collect()
        };
        for (path, checkout) in stale {
            let entry = Repository::open(path).ok().map(|repo| CacheEntry {
                repo,
                checkout,
                key: StatusKey {
                    head: None,
                    branch: None,
                    index: None,
                    upstream: None,
                    base: Vec::new(),
                    base_branch: String::from("\0unset"),
                },
                status: GitStatus::default(),
            });
            let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entry {
                Some(entry) => map.insert(path.clone(), Mutex::new(entry)),
                None => map.remove(path),
            };
        }
    }

    /// True when git ignores `path` (absolute, inside `checkout`) in that checkout. A
    /// checkout that cannot be opened ignores nothing.
    pub fn is_ignored(&self, checkout: &Path, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(checkout) else {
            return false;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        // Only a checkout never seen is opened here: this runs for every changed path and
        // every directory walked, and whether the entry still matches the checkout on
        // disk is the refresh's business.
        let known = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(checkout);
        if !known {
            self.open_stale(std::slice::from_ref(&checkout.to_path_buf()));
        }
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(checkout).is_some_and(|entry| {
            entry
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .repo
                .is_path_ignored(rel)
                .unwrap_or(false)
        })
    }

    /// Drops the entries of checkouts that are not in `paths`.
    pub fn retain(&self, paths: &[PathBuf]) {
        let current: std::collections::HashSet<&PathBuf> = paths.iter().collect();
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p, _| current.contains(p));
    }

    /// Status of each checkout in `paths` against `base_branch`, computed in parallel for
    /// the entries whose cache is stale (after reopening any checkout replaced on disk);
    /// the entries of other checkouts are kept. A checkout git cannot open gets the
    /// default status.
    pub fn refresh(
        &self,
        paths: &[PathBuf],
        base_branch: &str,
        freshness: Freshness<'_>,
    ) -> Vec<GitStatus> {
        self.open_stale(paths);
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8);
        let refresh = |path: &PathBuf| -> GitStatus {
            match map.get(path) {
                Some(entry) => refresh_entry(
                    &mut entry.lock().unwrap_or_else(|e| e.into_inner()),
                    base_branch,
                    freshness.recheck(path),
                ),
                None => GitStatus::default(),
            }
        };
        if paths.len() <= 4 || workers < 2 {
            return paths.iter().map(refresh).collect();
        }
        let chunk = paths.len().div_ceil(workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = paths
                .chunks(chunk)
                .map(|part| s.spawn(|| part.iter().map(refresh).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }
}

/// The content of `<checkout>/.git` when it is a file (a linked worktree's link to its git
/// directory); `None` for a `.git` directory or when there is none.
fn checkout_link(checkout: &Path) -> Option<String> {
    fs::read_to_string(checkout.join(".git")).ok()
}

fn current_key(repo: &Repository, base_branch: &str) -> StatusKey {
    let head_ref = repo.head().ok();
    let head = head_ref.as_ref().and_then(|h| h.target());
    let branch = head_ref
        .as_ref()
        .filter(|h| h.is_branch())
        .and_then(|h| h.name().ok().map(str::to_string));
    let index = fs::metadata(repo.path().join("index"))
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())));
    let upstream = branch
        .as_deref()
        .and_then(|b| repo.branch_upstream_name(b).ok())
        .and_then(|name| name.as_str().ok().and_then(|n| repo.refname_to_id(n).ok()));
    let base = [
        format!("refs/heads/{base_branch}"),
        format!("refs/remotes/origin/{base_branch}"),
    ]
    .iter()
    .filter_map(|r| repo.refname_to_id(r).ok())
    .collect();
    StatusKey {
        head,
        branch,
        index,
        upstream,
        base,
        base_branch: base_branch.to_string(),
    }
}

fn refresh_entry(entry: &mut CacheEntry, base_branch: &str, recheck_dirty: bool) -> GitStatus {
    let key = current_key(&entry.repo, base_branch);
    if key == entry.key {
        if recheck_dirty {
            entry.status.has_uncommitted = is_dirty(&entry.repo);
        }
        return entry.status;
    }
    let has_uncommitted = is_dirty(&entry.repo);
    let (ahead, has_upstream) = match (key.head, key.upstream) {
        (Some(head), Some(up)) => (
            entry
                .repo
                .graph_ahead_behind(head, up)
                .map(|(a, _)| a as u32)
                .unwrap_or(0),
            true,
        ),
        _ => (0, false),
    };
    let ahead_of_base = match key.head {
        Some(head) if !key.base.is_empty() => count_not_in(&entry.repo, head, &key.base),
        _ => None,
    };
    entry.status = GitStatus {
        has_uncommitted,
        has_unpushed: !has_upstream || ahead > 0,
        commits_ahead: ahead,
        commits_ahead_of_base: ahead_of_base,
    };
    entry.key = key;
    entry.status
}

fn is_dirty(repo: &Repository) -> bool {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(false)
        .exclude_submodules(true)
        .include_ignored(false);
    // OpenKit's own untracked state directory (logs, worktrees) is not the user's change.
    repo.statuses(Some(&mut opts))
        .map(|statuses| {
            statuses.iter().any(|entry| {
                let own_state = entry.status() == git2::Status::WT_NEW
                    && entry.path_bytes().starts_with(b".openkit/");
                !own_state
            })
        })
        .unwrap_or(false)
}

/// Commits reachable from `head` but from none of `hidden`, capped at 100 000.
fn count_not_in(repo: &Repository, head: Oid, hidden: &[Oid]) -> Option<u32> {
    let mut walk = repo.revwalk().ok()?;
    walk.push(head).ok()?;
    for oid in hidden {
        walk.hide(*oid).ok()?;
    }
    Some(walk.take(100_000).count() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_relative_gitdirs() {
        assert_eq!(
            normalize(Path::new("/r/.git/worktrees/a/../../../x/.git")),
            PathBuf::from("/r/x/.git")
        );
    }
}
