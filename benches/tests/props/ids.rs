//! Properties of worktree ids and branch names, shared by the `worktree_id` fuzz target
//! (`fuzz/fuzz_targets/worktree_id.rs` includes this file) and its proptest twin
//! (`benches/tests/fuzz_twins.rs`). Violations panic.
//!
//! Depends only on `openkit_core` and `git2`.

use std::ffi::OsStr;
use std::path::{Component, Path};

use openkit_core::worktree::{
    MAX_ID_LEN, ROOT_ID, Resolution, WorktreeId, default_id_for_branch, resolve, validate_branch,
};
use openkit_core::{DomainError, Paths};

/// Splits `input` into lines: the first is the wanted id, the others the known ids. Every
/// line goes through [`id`], [`branch`] and [`default_id`], then the first is resolved
/// against the rest ([`resolution`]).
pub fn lines(input: &str) {
    let mut parts = input.split('\n');
    let wanted = parts.next().unwrap_or_default();
    let known: Vec<&str> = parts.collect();
    for line in std::iter::once(wanted).chain(known.iter().copied()) {
        id(line);
        branch(line);
        default_id(line);
    }
    resolution(wanted, &known);
}

/// `WorktreeId::parse` either refuses the string as `INVALID_WORKTREE_ID` or yields an id
/// that is a single normal path component: not empty, at most `MAX_ID_LEN` bytes, no `/`,
/// `\`, NUL or `..`, not `root`, and whose `worktree_dir` is directly in the worktrees
/// directory.
pub fn id(id: &str) {
    let parsed = match WorktreeId::parse(id) {
        Ok(parsed) => parsed,
        Err(err) => {
            assert_eq!(err.code(), "INVALID_WORKTREE_ID", "{id:?}: {err}");
            return;
        }
    };
    assert_eq!(parsed.as_str(), id);
    assert_eq!(parsed.to_string(), id);
    assert!(!id.is_empty() && id.len() <= MAX_ID_LEN, "{id:?}");
    assert!(
        !id.contains(['/', '\\', '\0']) && !id.contains(".."),
        "{id:?}"
    );
    assert!(!id.eq_ignore_ascii_case(ROOT_ID), "{id:?}");
    let components: Vec<Component<'_>> = Path::new(id).components().collect();
    assert_eq!(components, [Component::Normal(OsStr::new(id))], "{id:?}");
    let paths = Paths::new("/project", "/home/.openkit");
    let dir = paths.worktree_dir(&parsed);
    assert_eq!(
        dir.parent(),
        Some(paths.worktrees_dir().as_path()),
        "{id:?}"
    );
    assert_eq!(dir.file_name(), Some(OsStr::new(id)), "{id:?}");
}

/// A valid branch name is one git accepts as `refs/heads/<name>`, and never looks like an
/// option or a path escape.
pub fn branch(name: &str) {
    if validate_branch(name).is_err() {
        return;
    }
    assert!(!name.is_empty() && name.len() <= 255, "{name:?}");
    assert!(!name.starts_with(['-', '/']), "{name:?}");
    assert!(
        !name.contains("..") && !name.contains(['\0', '\\', ' ', ':', '~', '^', '?', '*', '[']),
        "{name:?}"
    );
    assert!(
        git2::Reference::is_valid_name(&format!("refs/heads/{name}")),
        "git rejects refs/heads/{name:?}"
    );
}

/// The default id derived from any string uses only letters, digits and `-`, never starts
/// with `-`, and is a valid id unless it is empty, too long or `root`.
pub fn default_id(branch: &str) {
    let derived = default_id_for_branch(branch);
    assert!(
        derived
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{branch:?} -> {derived:?}"
    );
    assert!(!derived.starts_with('-'), "{branch:?} -> {derived:?}");
    assert!(
        derived.is_empty()
            || derived.len() > MAX_ID_LEN
            || derived.eq_ignore_ascii_case(ROOT_ID)
            || WorktreeId::parse(&derived).is_ok(),
        "{branch:?} -> {derived:?}"
    );
}

/// Resolution never panics, prefers the exact id, and answers a case-insensitive match
/// only when it is unique.
pub fn resolution(wanted: &str, known: &[&str]) {
    let folded: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.eq_ignore_ascii_case(wanted))
        .collect();
    match resolve(wanted, known.iter().copied()) {
        Resolution::Found(found) => {
            assert!(
                known.contains(&found.as_str()),
                "{found:?} not in {known:?}"
            );
            assert!(
                found.eq_ignore_ascii_case(wanted),
                "{wanted:?} -> {found:?}"
            );
            assert!(
                found == wanted || folded.len() == 1,
                "{wanted:?} -> {found:?} among {known:?}"
            );
        }
        Resolution::Ambiguous(matches) => {
            assert!(!known.contains(&wanted), "{wanted:?} is known exactly");
            assert!(matches.len() > 1, "{matches:?}");
            let mut expected = folded.clone();
            expected.sort_unstable();
            assert_eq!(matches, expected, "{wanted:?} among {known:?}");
        }
        Resolution::Missing => assert!(folded.is_empty(), "{wanted:?} among {known:?}"),
    }
}
