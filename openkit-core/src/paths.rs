//! Where OpenKit keeps its files, and how a project is found.
//!
//! Core never reads `$HOME` or other environment variables: the frontend builds a
//! [`Paths`] value (project root plus the global `~/.openkit` directory) and passes it in.

use std::path::{Path, PathBuf};

use crate::worktree::WorktreeId;

/// Name of the per-project state directory.
pub const OPENKIT_DIR: &str = ".openkit";

/// Every location OpenKit reads or writes, derived from two roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    project_root: PathBuf,
    global_dir: PathBuf,
}

impl Paths {
    /// Paths for the project at `project_root`, with global state in `global_dir`
    /// (usually `~/.openkit`).
    pub fn new(project_root: impl Into<PathBuf>, global_dir: impl Into<PathBuf>) -> Self {
        Paths {
            project_root: project_root.into(),
            global_dir: global_dir.into(),
        }
    }

    /// The project's root directory (the main checkout).
    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    /// The global state directory (`~/.openkit`).
    pub fn global_dir(&self) -> &Path {
        &self.global_dir
    }

    /// The user's home directory: the parent of the global directory (which is
    /// `<home>/.openkit`). Agents keep their own state there (`~/.claude`, `~/.codex`).
    pub fn home_dir(&self) -> Option<&Path> {
        self.global_dir.parent()
    }

    /// `<project>/.openkit`.
    pub fn openkit_dir(&self) -> PathBuf {
        self.project_root.join(OPENKIT_DIR)
    }

    /// `<project>/.openkit/config.json` (committed).
    pub fn config_file(&self) -> PathBuf {
        self.openkit_dir().join("config.json")
    }

    /// `<project>/.openkit/config.local.json` (gitignored).
    pub fn local_config_file(&self) -> PathBuf {
        self.openkit_dir().join("config.local.json")
    }

    /// `<project>/.openkit/.gitignore`.
    pub fn gitignore_file(&self) -> PathBuf {
        self.openkit_dir().join(".gitignore")
    }

    /// `<project>/.openkit/worktrees`, where worktree checkouts live.
    pub fn worktrees_dir(&self) -> PathBuf {
        self.openkit_dir().join("worktrees")
    }

    /// The checkout directory of the worktree `id`: `<project>/.openkit/worktrees/<id>`.
    /// Only a [`WorktreeId`] (validated on construction to be one normal path component)
    /// can name it, so the result is always directly inside [`Paths::worktrees_dir`].
    pub fn worktree_dir(&self, id: &WorktreeId) -> PathBuf {
        self.worktrees_dir().join(id.as_str())
    }

    /// `<project>/.openkit/server.json`, the running server's address.
    pub fn server_file(&self) -> PathBuf {
        self.openkit_dir().join("server.json")
    }

    /// `<project>/.openkit/worktree-settings.json`.
    pub fn worktree_settings_file(&self) -> PathBuf {
        self.openkit_dir().join("worktree-settings.json")
    }

    /// `<project>/.openkit/issues`, per-issue notes and local tasks.
    pub fn issues_dir(&self) -> PathBuf {
        self.openkit_dir().join("issues")
    }

    /// `<project>/.openkit/runs`, one record per running dev server (see
    /// [`RunRecords`](crate::containment::RunRecords)).
    pub fn runs_dir(&self) -> PathBuf {
        self.openkit_dir().join("runs")
    }

    /// `<project>/.openkit/scripts`, user rule scripts.
    pub fn scripts_dir(&self) -> PathBuf {
        self.openkit_dir().join("scripts")
    }
}

/// Finds the project that contains `start`.
///
/// Walks up from `start` to the first directory holding `.openkit/config.json` that is not
/// itself inside a `.openkit/worktrees/` checkout. Without such a config, the project is the
/// main checkout of the git repository containing `start` (also when `start` is inside a
/// linked worktree). Returns `None` outside any git repository and config.
pub fn discover_project(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    for dir in start.ancestors() {
        if is_inside_worktrees_dir(dir) {
            continue;
        }
        if dir.join(OPENKIT_DIR).join("config.json").is_file() {
            return Some(dir.to_path_buf());
        }
    }
    let repo = git2::Repository::discover(&start).ok()?;
    if repo.is_bare() {
        return None;
    }
    // `commondir` is `<main checkout>/.git` for the main checkout and every linked worktree.
    let common = repo.commondir().canonicalize().ok()?;
    if common.file_name().is_some_and(|n| n == ".git") {
        return common.parent().map(Path::to_path_buf);
    }
    repo.workdir().map(Path::to_path_buf)
}

/// True when `dir` is `.../.openkit/worktrees/<something>` or below it.
fn is_inside_worktrees_dir(dir: &Path) -> bool {
    let mut components = dir.components().peekable();
    let mut prev_openkit = false;
    while let Some(c) = components.next() {
        let name = c.as_os_str();
        if prev_openkit && name == "worktrees" && components.peek().is_some() {
            return true;
        }
        prev_openkit = name == OPENKIT_DIR;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worktree_dirs_are_recognised() {
        assert!(is_inside_worktrees_dir(Path::new(
            "/p/.openkit/worktrees/a"
        )));
        assert!(is_inside_worktrees_dir(Path::new(
            "/p/.openkit/worktrees/a/src"
        )));
        assert!(!is_inside_worktrees_dir(Path::new("/p/.openkit/worktrees")));
        assert!(!is_inside_worktrees_dir(Path::new("/p/.openkit")));
        assert!(!is_inside_worktrees_dir(Path::new("/p/worktrees/a")));
    }

    #[test]
    fn derived_paths() {
        let p = Paths::new("/repo", "/home/u/.openkit");
        assert_eq!(p.config_file(), Path::new("/repo/.openkit/config.json"));
        let id = WorktreeId::parse("a").unwrap();
        assert_eq!(p.worktree_dir(&id), Path::new("/repo/.openkit/worktrees/a"));
        assert_eq!(p.global_dir(), Path::new("/home/u/.openkit"));
    }
}
