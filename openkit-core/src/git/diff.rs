//! What changed in a worktree, in process through libgit2 (the read-only side of the git
//! policy): the changed-file list with exact line counts, and both sides of one file.
//!
//! The list compares a base tree with the working tree *through the index* (what
//! `git add -A && git diff --cached <base> -M` would show, without touching the index):
//! staged and unstaged changes and untracked files (not ignored ones). The base is HEAD
//! ([`Against::Head`]), or with [`Against::Base`] the point where the worktree's branch
//! left the base branch: the merge base of HEAD and `origin/<base>` (the local `<base>`
//! when there is no such remote branch), so the list shows everything the branch would
//! bring, committed or not, and nothing the base gained since. Renames are detected
//! (also into untracked files: a plain `mv` is a rename). Submodules are left out.
//!
//! Binary detection is libgit2's (a NUL byte, or mostly non-text, in the first 8000
//! bytes, or a `binary` attribute); binary files have no line counts. File contents are
//! capped at [`MAX_FILE_BYTES`] per side, and a path from a request is a
//! [`TreePath`] (confined to the worktree) before it is looked up.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, ObjectType, Patch, Repository, Tree};

use crate::error::IoFailure;
use crate::git::confine::TreePath;
use crate::git::op_error::GitOpError;

/// Largest file side [`file_contents`] returns (2 MiB).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// How many leading bytes decide whether a file is binary (git's own window).
const BINARY_SNIFF: usize = 8000;

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeStatus {
    /// Changed in place (also a type change or a conflict).
    Modified,
    /// New and known to git (staged), or new since the base.
    Added,
    /// Gone.
    Deleted,
    /// Moved (`old_path` says from where), possibly changed too.
    Renamed,
    /// New and not known to git.
    Untracked,
}

impl ChangeStatus {
    /// The reference's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Modified => "modified",
            ChangeStatus::Added => "added",
            ChangeStatus::Deleted => "deleted",
            ChangeStatus::Renamed => "renamed",
            ChangeStatus::Untracked => "untracked",
        }
    }

    /// Parses the reference's word.
    pub fn parse(raw: &str) -> Result<ChangeStatus, GitOpError> {
        Ok(match raw {
            "modified" => ChangeStatus::Modified,
            "added" => ChangeStatus::Added,
            "deleted" => ChangeStatus::Deleted,
            "renamed" => ChangeStatus::Renamed,
            "untracked" => ChangeStatus::Untracked,
            other => {
                return Err(GitOpError::InvalidStatus {
                    status: other.to_string(),
                });
            }
        })
    }

    fn of(delta: Delta) -> Option<ChangeStatus> {
        Some(match delta {
            Delta::Modified | Delta::Typechange | Delta::Conflicted => ChangeStatus::Modified,
            Delta::Added | Delta::Copied => ChangeStatus::Added,
            Delta::Deleted => ChangeStatus::Deleted,
            Delta::Renamed => ChangeStatus::Renamed,
            Delta::Untracked | Delta::Unreadable => ChangeStatus::Untracked,
            Delta::Unmodified | Delta::Ignored => return None,
        })
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    /// Path relative to the worktree (`/`-separated).
    pub path: String,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
    /// How it changed.
    pub status: ChangeStatus,
    /// Lines added (0 for binary files).
    pub lines_added: usize,
    /// Lines removed (0 for binary files).
    pub lines_removed: usize,
    /// True when git treats either side as binary.
    pub is_binary: bool,
}

/// What the working tree is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against<'a> {
    /// HEAD: the uncommitted changes (everything is new when there is no commit yet).
    Head,
    /// Where the branch left this base branch (see the module docs).
    Base(&'a str),
}

/// Opens the checkout of worktree `id` at `checkout`.
pub fn open(checkout: &Path, id: &str) -> Result<Repository, GitOpError> {
    Repository::open(checkout).map_err(|e| GitOpError::CheckoutUnavailable {
        id: id.to_string(),
        detail: e.message().to_string(),
    })
}

/// The tree the working tree is compared with; `None` when there is nothing yet (no
/// commit, comparing with HEAD).
fn base_tree<'r>(
    repo: &'r Repository,
    against: Against<'_>,
) -> Result<Option<Tree<'r>>, GitOpError> {
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    match against {
        Against::Head => Ok(head
            .map(|c| c.tree())
            .transpose()
            .map_err(crate::git::GitError::from)?),
        Against::Base(branch) => {
            let base = [
                format!("refs/remotes/origin/{branch}"),
                format!("refs/heads/{branch}"),
            ]
            .iter()
            .find_map(|r| repo.refname_to_id(r).ok())
            .ok_or_else(|| GitOpError::BaseNotFound {
                branch: branch.to_string(),
            })?;
            let point = match head {
                Some(head) => repo.merge_base(head.id(), base).unwrap_or(base),
                None => base,
            };
            let tree = repo
                .find_commit(point)
                .and_then(|c| c.tree())
                .map_err(crate::git::GitError::from)?;
            Ok(Some(tree))
        }
    }
}

fn utf8(path: Option<&Path>) -> String {
    path.map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every changed file of the checkout, sorted by path.
pub fn changed_files(
    repo: &Repository,
    against: Against<'_>,
) -> Result<Vec<ChangedFile>, GitOpError> {
    let tree = base_tree(repo, against)?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .include_typechange(true)
        .ignore_submodules(true);
    let git = |e: git2::Error| GitOpError::Git(e.into());
    let mut diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))
        .map_err(git)?;
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    diff.find_similar(Some(&mut find)).map_err(git)?;

    let mut files = Vec::with_capacity(diff.deltas().len());
    for (i, delta) in diff.deltas().enumerate() {
        let Some(status) = ChangeStatus::of(delta.status()) else {
            continue;
        };
        let path = match status {
            ChangeStatus::Deleted => utf8(delta.old_file().path()),
            _ => utf8(delta.new_file().path()),
        };
        // An untracked directory that is a repository of its own has no lines to count.
        if path.ends_with('/') {
            files.push(ChangedFile {
                path: path.trim_end_matches('/').to_string(),
                old_path: None,
                status,
                lines_added: 0,
                lines_removed: 0,
                is_binary: false,
            });
            continue;
        }
        let patch = Patch::from_diff(&diff, i).map_err(git)?;
        let (lines_added, lines_removed, is_binary) = match &patch {
            Some(patch) if !patch.delta().flags().is_binary() => {
                let (_, added, removed) = patch.line_stats().map_err(git)?;
                (added, removed, false)
            }
            Some(_) => (0, 0, true),
            None => (0, 0, delta.flags().is_binary()),
        };
        files.push(ChangedFile {
            old_path: (status == ChangeStatus::Renamed).then(|| utf8(delta.old_file().path())),
            path,
            status,
            lines_added,
            lines_removed,
            is_binary,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Which file [`file_contents`] shows.
#[derive(Debug, Clone)]
pub struct FileRequest {
    /// The file now.
    pub path: TreePath,
    /// Where a renamed file came from (defaults to `path`).
    pub old_path: Option<TreePath>,
    /// Its status in the list (decides which sides exist).
    pub status: ChangeStatus,
}

/// Both sides of a changed file, as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileContents {
    /// In the base (empty for added or untracked files).
    pub old_content: String,
    /// In the working tree (empty for deleted files).
    pub new_content: String,
}

fn text_of(path: &TreePath, bytes: &[u8]) -> Result<String, GitOpError> {
    if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(GitOpError::BinaryFile {
            path: path.to_string(),
        });
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

fn check_size(path: &TreePath, size: u64) -> Result<(), GitOpError> {
    if size > MAX_FILE_BYTES {
        return Err(GitOpError::FileTooLarge {
            path: path.to_string(),
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(())
}

/// The base side of `path`: `None` when the base has no such file.
fn old_side(
    repo: &Repository,
    against: Against<'_>,
    path: &TreePath,
) -> Result<Option<String>, GitOpError> {
    let Some(tree) = base_tree(repo, against)? else {
        return Ok(None);
    };
    let Ok(entry) = tree.get_path(Path::new(path.as_str())) else {
        return Ok(None);
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo
        .find_blob(entry.id())
        .map_err(|e| GitOpError::Git(e.into()))?;
    check_size(path, blob.size() as u64)?;
    if blob.is_binary() {
        return Err(GitOpError::BinaryFile {
            path: path.to_string(),
        });
    }
    text_of(path, blob.content()).map(Some)
}

/// The working-tree side of `path`: `None` when there is no file there. A symbolic link
/// shows its target (as git stores it), never what it points to.
fn new_side(checkout: &Path, path: &TreePath) -> Result<Option<String>, GitOpError> {
    let at = path.in_checkout(checkout)?;
    let Ok(meta) = std::fs::symlink_metadata(&at) else {
        return Ok(None);
    };
    let io = |e: std::io::Error| GitOpError::from(IoFailure::new(format!("reading {path}"), e));
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&at).map_err(io)?;
        return Ok(Some(target.to_string_lossy().into_owned()));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    check_size(path, meta.len())?;
    let bytes = std::fs::read(&at).map_err(io)?;
    check_size(path, bytes.len() as u64)?;
    text_of(path, &bytes).map(Some)
}

/// Both sides of one changed file of the checkout at `checkout`.
pub fn file_contents(
    repo: &Repository,
    checkout: &Path,
    against: Against<'_>,
    request: &FileRequest,
) -> Result<FileContents, GitOpError> {
    let old = match request.status {
        ChangeStatus::Added | ChangeStatus::Untracked => None,
        _ => old_side(
            repo,
            against,
            request.old_path.as_ref().unwrap_or(&request.path),
        )?,
    };
    let new = match request.status {
        ChangeStatus::Deleted => None,
        _ => new_side(checkout, &request.path)?,
    };
    if old.is_none() && new.is_none() {
        return Err(GitOpError::FileNotFound {
            path: request.path.to_string(),
        });
    }
    Ok(FileContents {
        old_content: old.unwrap_or_default(),
        new_content: new.unwrap_or_default(),
    })
}
