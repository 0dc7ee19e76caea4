//! File-system watches of the status engine: what is watched, on whose behalf, and how
//! a raw notification becomes pending work.
//!
//! Watches are non-recursive and per directory, so ignored directories (`node_modules`,
//! `target`, ...) cost nothing: a working tree is walked once, skipping `.git`, `.openkit`
//! (OpenKit's own runtime files change on every request; its tracked files get one watch
//! each), symbolic links and whatever git ignores. A directory created later is walked
//! when its creation is seen.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::pending::Pending;

/// Why a path is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A directory of a working tree.
    Tree,
    /// A tracked file inside a checkout's `.openkit/` directory.
    TrackedFile,
    /// A linked worktree's administrative directory (its `HEAD` and `index`).
    GitDir,
    /// The common git directory (the main checkout's `HEAD` and `index`, `packed-refs`).
    Common,
    /// `<common>/refs`, recursively (branches moved: ahead counts may change).
    Refs,
    /// `<common>/worktrees` and `.openkit/worktrees` (worktrees added or removed).
    Registry,
}

impl Role {
    /// True for the watches of one checkout (not the repository-wide ones).
    fn is_own(self) -> bool {
        matches!(self, Role::Tree | Role::TrackedFile | Role::GitDir)
    }
}

/// A watched path: its role and the checkout it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) role: Role,
    pub(crate) checkout: PathBuf,
}

/// Which paths are watched for whom. Kept apart from the watcher itself: the watcher's
/// thread reads it for every notification, so it is never locked while a watch is added.
#[derive(Debug, Default)]
pub(crate) struct WatchIndex {
    owners: HashMap<PathBuf, Owner>,
}

impl WatchIndex {
    pub(crate) fn insert(&mut self, path: PathBuf, owner: Owner) {
        self.owners.insert(path, owner);
    }

    /// Forgets the paths watched for `checkout` itself (not the repository-wide ones);
    /// returns them.
    pub(crate) fn remove_checkout(&mut self, checkout: &Path) -> Vec<PathBuf> {
        let gone: Vec<PathBuf> = self
            .owners
            .iter()
            .filter(|(_, o)| o.checkout == checkout && o.role.is_own())
            .map(|(p, _)| p.clone())
            .collect();
        for p in &gone {
            self.owners.remove(p);
        }
        gone
    }

    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.owners.contains_key(path)
    }

    pub(crate) fn remove(&mut self, path: &Path) {
        self.owners.remove(path);
    }

    /// Number of watched paths.
    pub(crate) fn len(&self) -> usize {
        self.owners.len()
    }

    /// Number of watched paths of one checkout's own (its tree, tracked `.openkit` files
    /// and git directory; not the repository-wide ones).
    pub(crate) fn count(&self, checkout: &Path) -> usize {
        self.owners
            .values()
            .filter(|o| o.checkout == checkout && o.role.is_own())
            .count()
    }

    /// Records what one notification means into `pending`.
    pub(crate) fn classify(&self, kind: &EventKind, path: &Path, pending: &mut Pending) {
        let own = self.owners.get(path);
        let parent = path.parent().and_then(|p| self.owners.get(p));
        // A watched directory that itself changed (deleted, moved) counts for its parent's
        // role when the parent is watched too, else for its own. Below a recursive watch
        // (refs), the nearest watched ancestor decides.
        let Some(owner) = parent.or(own).or_else(|| {
            path.ancestors()
                .skip(2)
                .filter_map(|a| self.owners.get(a))
                .find(|o| o.role == Role::Refs)
        }) else {
            return;
        };
        let name = path.file_name().unwrap_or_default();
        match owner.role {
            Role::Tree => {
                if path == owner.checkout {
                    // The checkout itself was removed or moved away.
                    pending.registrations = true;
                }
                pending.tree_changed(&owner.checkout, path);
                if matches!(kind, EventKind::Create(_)) {
                    pending.new_dir(&owner.checkout, path);
                }
                if own.is_some() && matches!(kind, EventKind::Remove(_)) {
                    pending.dir_gone(path);
                }
            }
            Role::TrackedFile => pending.tree_changed(&owner.checkout, path),
            Role::GitDir | Role::Common => {
                if name == OsStr::new("HEAD") {
                    pending.registrations = true;
                    pending.keys_of(&owner.checkout);
                } else if name == OsStr::new("index") {
                    pending.keys_of(&owner.checkout);
                } else if owner.role == Role::Common && name == OsStr::new("packed-refs") {
                    pending.all_keys = true;
                } else if owner.role == Role::Common && name == OsStr::new("worktrees") {
                    // The registration directory appeared (first linked worktree) or went.
                    pending.registrations = true;
                } else if own.is_some() {
                    // The administrative directory itself went away.
                    pending.registrations = true;
                }
            }
            Role::Refs => pending.all_keys = true,
            Role::Registry => pending.registrations = true,
        }
    }
}

/// Why a checkout could not be watched (it is polled instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unwatchable {
    /// More directories than the per-checkout budget.
    TooLarge,
    /// The system's watch limit is reached (`fs.inotify.max_user_watches`).
    Limit,
    /// Another error from the watcher.
    Failed(String),
}

impl std::fmt::Display for Unwatchable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unwatchable::TooLarge => f.write_str("too many directories"),
            Unwatchable::Limit => f.write_str("the system's file-watch limit is reached"),
            Unwatchable::Failed(e) => write!(f, "{e}"),
        }
    }
}

fn watch_error(e: notify::Error) -> Unwatchable {
    match e.kind {
        notify::ErrorKind::MaxFilesWatch => Unwatchable::Limit,
        notify::ErrorKind::Io(ref io) if io.raw_os_error() == Some(28) => Unwatchable::Limit,
        _ => Unwatchable::Failed(e.to_string()),
    }
}

/// Adds one watch.
pub(crate) fn watch(
    watcher: &mut RecommendedWatcher,
    path: &Path,
    mode: RecursiveMode,
) -> Result<(), Unwatchable> {
    watcher.watch(path, mode).map_err(watch_error)
}

/// The directories of `checkout`'s working tree worth watching (not ignored, not `.git`,
/// `.openkit` or a symbolic link), breadth first from `start`; `Err(TooLarge)` past
/// `budget` directories. `ignored` tells whether git ignores a path.
pub(crate) fn tree_dirs(
    checkout: &Path,
    start: &Path,
    budget: usize,
    ignored: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, Unwatchable> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([start.to_path_buf()]);
    while let Some(dir) = queue.pop_front() {
        if out.len() >= budget {
            return Err(Unwatchable::TooLarge);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // gone or unreadable: nothing to watch there
        };
        out.push(dir.clone());
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if !kind.is_dir() {
                continue; // files are covered by their directory; symlinks are not followed
            }
            let path = entry.path();
            if skipped_dir(checkout, &path) || ignored(&path) {
                continue;
            }
            queue.push_back(path);
        }
    }
    Ok(out)
}

/// `.git` anywhere and the checkout's own `.openkit` are never walked.
pub(crate) fn skipped_dir(checkout: &Path, dir: &Path) -> bool {
    let name = dir.file_name().unwrap_or_default();
    name == OsStr::new(".git") || (name == OsStr::new(".openkit") && dir.parent() == Some(checkout))
}

/// Tracked files under the checkout's `.openkit/` (e.g. `config.json`, `hooks.json`),
/// read from its index.
pub(crate) fn tracked_openkit_files(checkout: &Path) -> Vec<PathBuf> {
    let Ok(repo) = git2::Repository::open(checkout) else {
        return Vec::new();
    };
    let Ok(index) = repo.index() else {
        return Vec::new();
    };
    index
        .iter()
        .filter_map(|entry| {
            let rel = std::str::from_utf8(&entry.path).ok()?;
            rel.starts_with(".openkit/").then(|| checkout.join(rel))
        })
        .filter(|p| p.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    fn index_with(entries: &[(&str, Role, &str)]) -> WatchIndex {
        let mut index = WatchIndex::default();
        for (path, role, checkout) in entries {
            index.insert(
                PathBuf::from(path),
                Owner {
                    role: *role,
                    checkout: PathBuf::from(checkout),
                },
            );
        }
        index
    }

    #[test]
    fn a_file_event_marks_its_checkout_and_a_new_dir_is_walked() {
        let index = index_with(&[("/wt/a/src", Role::Tree, "/wt/a")]);
        let mut pending = Pending::default();
        index.classify(
            &EventKind::Modify(ModifyKind::Any),
            Path::new("/wt/a/src/x.rs"),
            &mut pending,
        );
        index.classify(
            &EventKind::Create(CreateKind::Folder),
            Path::new("/wt/a/src/new"),
            &mut pending,
        );
        index.classify(
            &EventKind::Modify(ModifyKind::Any),
            Path::new("/elsewhere/y"),
            &mut pending,
        );
        assert_eq!(
            pending.trees[Path::new("/wt/a")],
            Some(vec![
                PathBuf::from("/wt/a/src/x.rs"),
                PathBuf::from("/wt/a/src/new")
            ])
        );
        assert_eq!(
            pending.new_dirs,
            vec![(PathBuf::from("/wt/a"), PathBuf::from("/wt/a/src/new"))]
        );
        assert!(!pending.registrations && !pending.all_keys);

        // The checkout directory itself going away changes the set of worktrees.
        let index = index_with(&[("/wt/a", Role::Tree, "/wt/a")]);
        let mut pending = Pending::default();
        index.classify(
            &EventKind::Remove(notify::event::RemoveKind::Folder),
            Path::new("/wt/a"),
            &mut pending,
        );
        assert!(pending.registrations);
        assert_eq!(pending.gone_dirs, vec![PathBuf::from("/wt/a")]);
    }

    #[test]
    fn git_files_mark_keys_registrations_or_everything() {
        let index = index_with(&[
            ("/r/.git", Role::Common, "/r"),
            ("/r/.git/worktrees/a", Role::GitDir, "/wt/a"),
            ("/r/.git/refs", Role::Refs, "/r"),
            ("/r/.git/worktrees", Role::Registry, "/r"),
        ]);
        let any = EventKind::Modify(ModifyKind::Any);
        let mut p = Pending::default();
        index.classify(&any, Path::new("/r/.git/worktrees/a/index"), &mut p);
        assert!(p.keys.contains(Path::new("/wt/a")) && !p.registrations);
        index.classify(&any, Path::new("/r/.git/worktrees/a/index.lock"), &mut p);
        assert_eq!(p.keys.len(), 1, "lock files are not changes");
        index.classify(&any, Path::new("/r/.git/HEAD"), &mut p);
        assert!(p.registrations && p.keys.contains(Path::new("/r")));
        let mut p = Pending::default();
        index.classify(&any, Path::new("/r/.git/refs/heads"), &mut p);
        assert!(p.all_keys);
        let mut p = Pending::default();
        index.classify(&any, Path::new("/r/.git/refs/heads/feature/x.lock"), &mut p);
        assert!(p.all_keys, "deep below the recursive refs watch");
        let mut p = Pending::default();
        index.classify(&any, Path::new("/r/.git/worktrees"), &mut p);
        assert!(p.registrations, "the registration directory itself");
        let mut p = Pending::default();
        index.classify(&any, Path::new("/r/.git/worktrees/b"), &mut p);
        assert!(p.registrations);
    }

    #[test]
    fn walking_skips_git_openkit_ignored_and_symlinks_and_respects_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            ".git/objects",
            ".openkit/worktrees/x",
            "src/a",
            "node_modules/p",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::os::unix::fs::symlink(root, root.join("src/loop")).unwrap();
        let ignored = |p: &Path| p.ends_with("node_modules");
        let dirs = tree_dirs(root, root, 100, &ignored).unwrap();
        let rel: Vec<_> = dirs
            .iter()
            .map(|d| d.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            rel,
            vec![PathBuf::new(), PathBuf::from("src"), PathBuf::from("src/a")]
        );
        assert_eq!(
            tree_dirs(root, root, 2, &ignored),
            Err(Unwatchable::TooLarge)
        );
    }
}
