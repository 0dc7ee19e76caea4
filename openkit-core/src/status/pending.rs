//! Work the status engine owes: what changed since its last refresh.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Changed paths remembered per checkout before the engine just rechecks it whole.
const MAX_PATHS: usize = 64;

/// What changed since the last refresh, accumulated from notifications, polls and
/// OpenKit's own mutations.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Re-read git's worktree registrations (added, removed, branch switched).
    pub(crate) registrations: bool,
    /// Re-read the HEAD, index, upstream and base oids of every checkout.
    pub(crate) all_keys: bool,
    /// Checkouts whose HEAD or index may have changed.
    pub(crate) keys: HashSet<PathBuf>,
    /// Checkouts whose working tree changed, with the changed paths (`None`: too many to
    /// keep, recheck regardless of ignore rules).
    pub(crate) trees: HashMap<PathBuf, Option<Vec<PathBuf>>>,
    /// Paths created inside watched directories: `(checkout, path)`; directories among
    /// them get watches.
    pub(crate) new_dirs: Vec<(PathBuf, PathBuf)>,
    /// Watched directories that went away.
    pub(crate) gone_dirs: Vec<PathBuf>,
    /// Recheck everything (notifications were lost).
    pub(crate) everything: bool,
    /// OpenKit itself changed worktrees: the next list must refresh before answering.
    pub(crate) sync: bool,
}

impl Pending {
    /// True when nothing is owed.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Pending::default()
    }

    /// `path` changed in `checkout`'s working tree.
    pub(crate) fn tree_changed(&mut self, checkout: &Path, path: &Path) {
        let entry = self
            .trees
            .entry(checkout.to_path_buf())
            .or_insert_with(|| Some(Vec::new()));
        if let Some(paths) = entry {
            if paths.len() >= MAX_PATHS {
                *entry = None;
            } else {
                paths.push(path.to_path_buf());
            }
        }
    }

    /// The whole working tree of `checkout` must be rechecked.
    pub(crate) fn tree_unknown(&mut self, checkout: &Path) {
        self.trees.insert(checkout.to_path_buf(), None);
    }

    /// `checkout`'s HEAD or index may have changed.
    pub(crate) fn keys_of(&mut self, checkout: &Path) {
        self.keys.insert(checkout.to_path_buf());
    }

    /// `path` was created in `checkout` (a directory among them needs watches).
    pub(crate) fn new_dir(&mut self, checkout: &Path, path: &Path) {
        self.new_dirs
            .push((checkout.to_path_buf(), path.to_path_buf()));
    }

    /// The watched directory `path` is gone.
    pub(crate) fn dir_gone(&mut self, path: &Path) {
        self.gone_dirs.push(path.to_path_buf());
    }

    /// Adds what `other` owes.
    pub(crate) fn merge(&mut self, other: Pending) {
        self.registrations |= other.registrations;
        self.all_keys |= other.all_keys;
        self.everything |= other.everything;
        self.sync |= other.sync;
        self.keys.extend(other.keys);
        for (checkout, paths) in other.trees {
            match paths {
                None => self.tree_unknown(&checkout),
                Some(paths) => {
                    for p in paths {
                        self.tree_changed(&checkout, &p);
                    }
                }
            }
        }
        self.new_dirs.extend(other.new_dirs);
        self.gone_dirs.extend(other.gone_dirs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_paths_turn_into_a_whole_recheck() {
        let mut p = Pending::default();
        for i in 0..MAX_PATHS + 5 {
            p.tree_changed(Path::new("/a"), &PathBuf::from(format!("/a/{i}")));
        }
        assert_eq!(p.trees[Path::new("/a")], None);
        let mut q = Pending::default();
        q.tree_changed(Path::new("/a"), Path::new("/a/x"));
        q.merge(p);
        assert_eq!(q.trees[Path::new("/a")], None);
        assert!(!q.is_empty());
        assert!(Pending::default().is_empty());
    }
}
