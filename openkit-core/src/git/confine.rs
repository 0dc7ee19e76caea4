//! Paths inside a worktree, as a request names them.
//!
//! A [`TreePath`] is what git itself would accept as the path of a tracked file: one or
//! more normal components joined by `/`, never absolute, never `.` or `..`, never a
//! component named `.git` (in any case), no NUL. [`TreePath::in_checkout`] adds git's own
//! rule for the working tree: a path never goes *through* a symbolic link ("beyond a
//! symbolic link"), so a symlinked directory cannot lead a request outside the checkout.
//! A symlink as the last component is fine: git stores its target text, and so does the
//! diff viewer, without following it.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::git::op_error::GitOpError;

/// A validated path of a file inside a worktree (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TreePath(String);

impl TreePath {
    /// Validates a path from a request (see the module docs).
    pub fn parse(raw: &str) -> Result<TreePath, GitOpError> {
        let invalid = |reason: &str| GitOpError::InvalidPath {
            path: raw.to_string(),
            reason: reason.to_string(),
        };
        if raw.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if raw.contains('\0') {
            return Err(invalid("the path contains a NUL byte"));
        }
        // `Path::components` drops interior `.` segments; a request path has none.
        if raw.split('/').any(|segment| segment == ".") {
            return Err(invalid("`.` is not allowed"));
        }
        let path = Path::new(raw);
        if path.is_absolute() || raw.starts_with('/') {
            return Err(invalid("the path must be relative to the worktree"));
        }
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => {
                    let part = part
                        .to_str()
                        .ok_or_else(|| invalid("the path is not UTF-8"))?;
                    if part.eq_ignore_ascii_case(".git") {
                        return Err(invalid("git's own files are not part of the diff"));
                    }
                    parts.push(part);
                }
                Component::ParentDir => {
                    return Err(invalid("`..` is not allowed"));
                }
                Component::CurDir => return Err(invalid("`.` is not allowed")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(invalid("the path must be relative to the worktree"));
                }
            }
        }
        if parts.is_empty() {
            return Err(invalid("the path names no file"));
        }
        Ok(TreePath(parts.join("/")))
    }

    /// The path as git spells it (`a/b/c.txt`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file's location in the checkout at `root`, refusing a path that goes through a
    /// symbolic link (a symlink as the last component is allowed; it is never followed).
    pub fn in_checkout(&self, root: &Path) -> Result<PathBuf, GitOpError> {
        let mut at = root.to_path_buf();
        let parts: Vec<&str> = self.0.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let last = i + 1 == parts.len();
            if !last && std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(GitOpError::InvalidPath {
                    path: self.0.clone(),
                    reason: format!("`{}` is a symbolic link", parts[..=i].join("/")),
                });
            }
        }
        Ok(at)
    }
}

impl fmt::Display for TreePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainError;
    use proptest::prelude::*;

    #[test]
    fn accepts_plain_paths_and_normalises_slashes() {
        assert_eq!(
            TreePath::parse("src/app.ts").unwrap().as_str(),
            "src/app.ts"
        );
        assert_eq!(TreePath::parse("a//b/").unwrap().as_str(), "a/b");
        assert_eq!(
            TreePath::parse(".gitignore").unwrap().as_str(),
            ".gitignore"
        );
        assert_eq!(
            TreePath::parse("dir/.github/x").unwrap().as_str(),
            "dir/.github/x"
        );
    }

    #[test]
    fn refuses_traversal_absolute_and_git_internals() {
        for raw in [
            "",
            "..",
            "../etc/passwd",
            "a/../../b",
            "a/..",
            "/etc/passwd",
            "./a",
            "a/./b",
            ".git/config",
            ".GIT/HEAD",
            "sub/.git/config",
            ".git",
            "a\0b",
        ] {
            let err = TreePath::parse(raw).unwrap_err();
            assert_eq!(err.code(), "INVALID_FILE_PATH", "{raw:?}");
        }
    }

    #[test]
    fn refuses_paths_through_symlinks_but_not_a_symlink_leaf() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leaf")).unwrap();
        let through = TreePath::parse("escape/secret").unwrap();
        assert_eq!(
            through.in_checkout(dir.path()).unwrap_err().code(),
            "INVALID_FILE_PATH"
        );
        let leaf = TreePath::parse("leaf").unwrap();
        assert_eq!(
            leaf.in_checkout(dir.path()).unwrap(),
            dir.path().join("leaf")
        );
    }

    proptest! {
        /// Whatever a request sends, an accepted path stays lexically inside the root and
        /// names nothing of `.git`.
        #[test]
        fn accepted_paths_stay_inside(raw in "[a-zA-Z0-9./\\\\ _-]{0,40}") {
            if let Ok(path) = TreePath::parse(&raw) {
                let root = Path::new("/wt");
                let joined = root.join(path.as_str());
                prop_assert!(joined.starts_with(root));
                for c in Path::new(path.as_str()).components() {
                    prop_assert!(matches!(c, Component::Normal(_)), "{:?}", c);
                    prop_assert!(!c.as_os_str().eq_ignore_ascii_case(".git"));
                }
                prop_assert!(!path.as_str().is_empty());
            }
        }
    }
}
