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

/// Where the new side of a changed file comes from.
enum NewSide {
    /// Nothing (deleted).
    Gone,
    /// A file of the working tree (a symbolic link diffs as its target text).
    Workdir {
        path: std::path::PathBuf,
        link: bool,
    },
}

/// The line counts one changed file still needs.
struct LineWork {
    file: usize,
    delta: usize,
    old: Option<git2::Oid>,
    new: NewSide,
}

/// Every changed file of the checkout, sorted by path.
///
/// The file list comes from one libgit2 diff (cheap: the index's stat data says which
/// files to hash). Line counts need both sides of every file: when no attribute or
/// end-of-line setting can change content on its way into git (no `.gitattributes`
/// tracked or changed, no `info/attributes`, no global or system attributes file, no
/// `core.autocrlf`/`core.attributesFile`), the sides are compared as stored (old blob,
/// working-tree bytes) on several threads; otherwise libgit2 builds each patch with the
/// filters and diff drivers applied. Both give git's own counts.
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
    let mut diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut opts))
        .map_err(git)?;
    let mut find = DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    diff.find_similar(Some(&mut find)).map_err(git)?;

    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let mut files = Vec::with_capacity(diff.deltas().len());
    let mut work = Vec::with_capacity(diff.deltas().len());
    for (i, delta) in diff.deltas().enumerate() {
        let Some(status) = ChangeStatus::of(delta.status()) else {
            continue;
        };
        let path = match status {
            ChangeStatus::Deleted => utf8(delta.old_file().path()),
            _ => utf8(delta.new_file().path()),
        };
        // An untracked directory that is a repository of its own has no lines to count.
        let nested_repo = path.ends_with('/');
        if !nested_repo {
            let old = delta.old_file();
            let new = delta.new_file();
            work.push(LineWork {
                file: files.len(),
                delta: i,
                old: (old.exists() && !old.id().is_zero()).then(|| old.id()),
                new: match (status, new.path()) {
                    (ChangeStatus::Deleted, _) | (_, None) => NewSide::Gone,
                    (_, Some(rel)) => NewSide::Workdir {
                        path: workdir.join(rel),
                        link: new.mode() == git2::FileMode::Link,
                    },
                },
            });
        }
        files.push(ChangedFile {
            old_path: (status == ChangeStatus::Renamed).then(|| utf8(delta.old_file().path())),
            path: path.trim_end_matches('/').to_string(),
            status,
            lines_added: 0,
            lines_removed: 0,
            is_binary: false,
        });
    }
    let counts = if content_filters_may_apply(repo, &diff) {
        count_with_filters(&diff, &work)?
    } else {
        count_as_stored(repo, &work)?
    };
    for (item, (added, removed, binary)) in work.iter().zip(counts) {
        let file = &mut files[item.file];
        file.lines_added = added;
        file.lines_removed = removed;
        file.is_binary = binary;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn git(e: git2::Error) -> GitOpError {
    GitOpError::Git(e.into())
}

/// Line counts (added, removed, binary) through libgit2's patches: filters, `binary` and
/// `diff` attributes applied.
fn count_with_filters(
    diff: &git2::Diff<'_>,
    work: &[LineWork],
) -> Result<Vec<(usize, usize, bool)>, GitOpError> {
    work.iter()
        .map(|item| {
            let binary_flag = || {
                diff.get_delta(item.delta)
                    .is_some_and(|d| d.flags().is_binary())
            };
            Ok(match Patch::from_diff(diff, item.delta).map_err(git)? {
                Some(patch) if !patch.delta().flags().is_binary() => {
                    let (_, added, removed) = patch.line_stats().map_err(git)?;
                    (added, removed, false)
                }
                Some(_) => (0, 0, true),
                None => (0, 0, binary_flag()),
            })
        })
        .collect()
}

/// Line counts comparing the stored sides (blob bytes, working-tree bytes), split over a
/// few threads with a repository handle each.
fn count_as_stored(
    repo: &Repository,
    work: &[LineWork],
) -> Result<Vec<(usize, usize, bool)>, GitOpError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if work.len() < 64 || threads < 2 {
        return work.iter().map(|item| count_one(repo, item)).collect();
    }
    let git_dir = repo.path().to_path_buf();
    let chunk = work.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .chunks(chunk)
            .map(|part| {
                let git_dir = &git_dir;
                scope.spawn(move || {
                    let repo = Repository::open(git_dir).map_err(git)?;
                    part.iter()
                        .map(|item| count_one(&repo, item))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(work.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| GitOpError::Task("a diff worker panicked".into()))??;
            out.extend(part);
        }
        Ok(out)
    })
}

fn count_one(repo: &Repository, item: &LineWork) -> Result<(usize, usize, bool), GitOpError> {
    let blob = item
        .old
        .map(|id| repo.find_blob(id))
        .transpose()
        .map_err(git)?;
    let new = match &item.new {
        NewSide::Gone => Vec::new(),
        NewSide::Workdir { path, link: true } => std::fs::read_link(path)
            .map(|t| t.as_os_str().as_encoded_bytes().to_vec())
            .unwrap_or_default(),
        // A file removed since the diff was taken counts as empty.
        NewSide::Workdir { path, link: false } => std::fs::read(path).unwrap_or_default(),
    };
    let mut opts = DiffOptions::new();
    opts.context_lines(0);
    let old: &[u8] = blob.as_ref().map_or(&[], |b| b.content());
    let patch = Patch::from_buffers(old, None, &new, None, Some(&mut opts)).map_err(git)?;
    if patch.delta().flags().is_binary() {
        return Ok((0, 0, true));
    }
    let (_, added, removed) = patch.line_stats().map_err(git)?;
    Ok((added, removed, false))
}

/// True when something could make the content git compares differ from the stored bytes:
/// attributes (`.gitattributes` tracked or among the changes, `info/attributes`, a
/// global or system attributes file, `core.attributesFile`) or `core.autocrlf`. When
/// unsure, true.
fn content_filters_may_apply(repo: &Repository, diff: &git2::Diff<'_>) -> bool {
    let Ok(config) = repo.config() else {
        return true;
    };
    let autocrlf = config
        .get_string("core.autocrlf")
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(autocrlf.as_str(), "true" | "input" | "yes" | "on" | "1")
        || config.get_string("core.attributesFile").is_ok()
    {
        return true;
    }
    let attributes_file =
        |dir: Option<&Path>, name: &str| dir.is_some_and(|d| d.join(name).exists());
    if attributes_file(Some(repo.commondir()), "info/attributes")
        || attributes_file(Some(repo.path()), "info/attributes")
        || git2::Config::find_xdg().is_ok_and(|p| attributes_file(p.parent(), "attributes"))
        || git2::Config::find_system().is_ok_and(|p| attributes_file(p.parent(), "gitattributes"))
    {
        return true;
    }
    let is_attributes = |path: Option<&Path>| {
        path.is_some_and(|p| p.file_name() == Some(std::ffi::OsStr::new(".gitattributes")))
    };
    if diff
        .deltas()
        .any(|d| is_attributes(d.old_file().path()) || is_attributes(d.new_file().path()))
    {
        return true;
    }
    match repo.index() {
        Ok(index) => index.iter().any(|entry| {
            entry.path == b".gitattributes" || entry.path.ends_with(b"/.gitattributes")
        }),
        Err(_) => true,
    }
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
