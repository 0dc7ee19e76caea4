//! Worktree ids and branch names: validation, defaults and canonical resolution.
//!
//! A [`WorktreeId`] names a linked worktree and is the only way to its checkout path
//! ([`Paths::worktree_dir`](crate::Paths::worktree_dir)): it is built by
//! [`WorktreeId::parse`] from what a user asked for, or from a name OpenKit read back
//! from git's registrations or `.openkit/worktrees/`, and either way it is one normal path
//! component. The main checkout is never a `WorktreeId`: it is the synthetic entry
//! [`ROOT_ID`] in the list and is refused by every operation that needs a path.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Component, Path};

use serde::Serialize;

use super::WorktreeError;

/// The id of the synthetic entry for the main checkout.
pub const ROOT_ID: &str = "root";

/// Longest accepted worktree id.
pub const MAX_ID_LEN: usize = 128;

/// The id of a linked worktree: the name of its directory in `.openkit/worktrees/`.
///
/// Built only by [`WorktreeId::parse`] (ids a user chose: `^[a-zA-Z0-9][a-zA-Z0-9 -]*$`,
/// at most [`MAX_ID_LEN`] bytes, not `root` in any case) or, inside the crate, from a name
/// read back from the listing (which may lie outside that alphabet but is still checked to
/// be one normal path component). So `Paths::worktree_dir(&id)` is always a directory
/// directly inside `.openkit/worktrees/`. Serialises as the plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WorktreeId(String);

impl WorktreeId {
    /// Validates an id a user chose: `^[a-zA-Z0-9][a-zA-Z0-9 -]*$`, at most
    /// [`MAX_ID_LEN`] bytes, and not the reserved `root` (in any case). Fails with
    /// [`WorktreeError::InvalidId`] (`INVALID_WORKTREE_ID`).
    pub fn parse(id: &str) -> Result<WorktreeId, WorktreeError> {
        check_id(id).map_err(|reason| WorktreeError::InvalidId { reason })?;
        Ok(WorktreeId(id.to_string()))
    }

    /// An id read back from git's registrations or a directory name under
    /// `.openkit/worktrees/`. A checkout added with plain `git worktree add` may be named
    /// outside the id alphabet (`my.feature`) and must stay manageable, so only what makes
    /// the name a path is checked: it is exactly one normal path component (not empty, no
    /// separator, not `.` or `..`) without NUL.
    pub(crate) fn listed(name: &str) -> Result<WorktreeId, WorktreeError> {
        let one_component = Path::new(name)
            .components()
            .eq([Component::Normal(OsStr::new(name))]);
        if !one_component || name.contains('\0') {
            return Err(WorktreeError::InvalidId {
                reason: format!(
                    "Worktree directory name \"{}\" is not a single path component",
                    name.escape_debug()
                ),
            });
        }
        Ok(WorktreeId(name.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `other` names this worktree up to ASCII case (ids are unique
    /// case-insensitively, and locks are keyed by the case-folded id).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for WorktreeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for WorktreeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for WorktreeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Checks a user-chosen worktree id (see [`WorktreeId::parse`]); the error is the reason.
fn check_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return Err("Worktree id must not be empty".into());
    };
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "Worktree id must be at most {MAX_ID_LEN} characters"
        ));
    }
    if !first.is_ascii_alphanumeric()
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        return Err(format!(
            "Invalid worktree id \"{}\": use letters, digits, spaces and dashes, starting with a letter or digit",
            id.escape_debug()
        ));
    }
    if id.eq_ignore_ascii_case(ROOT_ID) {
        return Err("\"root\" is reserved for the main checkout".into());
    }
    if is_git_special(id) {
        return Err(format!(
            "\"{id}\" is a name git reserves (HEAD, FETCH_HEAD, ...); choose another id"
        ));
    }
    Ok(())
}

/// Names git gives a meaning of its own at the top of a repository (`HEAD`, `FETCH_HEAD`,
/// `ORIG_HEAD`, ...), in any case.
fn is_git_special(name: &str) -> bool {
    const SPECIAL: [&str; 7] = [
        "HEAD",
        "FETCH_HEAD",
        "ORIG_HEAD",
        "MERGE_HEAD",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "BISECT_HEAD",
    ];
    SPECIAL.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Prefixes under which git's short-name lookup would find a branch as well as what the
/// name says (`heads/main` is also `refs/heads/main`).
const AMBIGUOUS_PREFIXES: [&str; 4] = ["refs/", "heads/", "tags/", "remotes/"];

/// Checks a branch name: `^[a-zA-Z0-9][a-zA-Z0-9/_.-]*$`, no `..`, and the rules of
/// `git check-ref-format` that the pattern leaves open.
pub fn validate_branch(branch: &str) -> Result<(), String> {
    let invalid = |why: &str| {
        Err(format!(
            "Invalid branch name \"{}\": {why}",
            branch.escape_debug()
        ))
    };
    let mut chars = branch.chars();
    match chars.next() {
        None => return Err("Branch name must not be empty".into()),
        Some(c) if !c.is_ascii_alphanumeric() => {
            return invalid("it must start with a letter or digit");
        }
        _ => {}
    }
    if branch.len() > 255 {
        return invalid("it is longer than 255 characters");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-')) {
        return invalid("use letters, digits and / _ . -");
    }
    if branch.contains("..") || branch.contains("//") {
        return invalid("it must not contain \"..\" or \"//\"");
    }
    if branch.ends_with('/') || branch.ends_with('.') || branch.ends_with(".lock") {
        return invalid("it must not end with \"/\", \".\" or \".lock\"");
    }
    if branch
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return invalid("no path component may start with \".\" or end with \".lock\"");
    }
    if is_git_special(branch) {
        return invalid("git reserves that name");
    }
    if let Some(prefix) = AMBIGUOUS_PREFIXES.iter().find(|p| branch.starts_with(*p)) {
        return invalid(&format!(
            "a name starting with \"{prefix}\" would be ambiguous with git's own refs"
        ));
    }
    Ok(())
}

/// The default worktree id for a branch: a leading `feature/`, `fix/` or `chore/` is
/// stripped, every other character outside the id alphabet becomes `-`, and the result
/// is cut to [`MAX_ID_LEN`].
pub fn default_id_for_branch(branch: &str) -> String {
    let stripped = ["feature/", "fix/", "chore/"]
        .iter()
        .find_map(|p| branch.strip_prefix(p))
        .unwrap_or(branch);
    let mapped: String = stripped
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Every character is ASCII here, so cutting at MAX_ID_LEN bytes is a char boundary.
    let id = mapped.trim_start_matches('-');
    id[..id.len().min(MAX_ID_LEN)].to_string()
}

/// How an id resolved against the known ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one canonical id.
    Found(String),
    /// Several ids match case-insensitively.
    Ambiguous(Vec<String>),
    /// Nothing matches.
    Missing,
}

/// Resolves `wanted` against `known`: an exact match first, then a unique
/// case-insensitive match.
pub fn resolve<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> Resolution {
    if known.clone().into_iter().any(|k| k == wanted) {
        return Resolution::Found(wanted.to_string());
    }
    let mut matches: Vec<String> = known
        .into_iter()
        .filter(|k| k.eq_ignore_ascii_case(wanted))
        .map(str::to_string)
        .collect();
    match matches.len() {
        0 => Resolution::Missing,
        1 => Resolution::Found(matches.remove(0)),
        _ => {
            matches.sort();
            Resolution::Ambiguous(matches)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The checkout directory of `id` in a fixed project, and the worktrees directory.
    fn dir_of(id: &WorktreeId) -> (std::path::PathBuf, std::path::PathBuf) {
        let paths = crate::Paths::new("/project", "/home/u/.openkit");
        (paths.worktree_dir(id), paths.worktrees_dir())
    }

    /// `dir` is `<worktrees>/<name>`: one normal component directly inside.
    fn is_one_component_inside(dir: &Path, worktrees: &Path, name: &str) -> bool {
        dir.parent() == Some(worktrees)
            && dir.file_name() == Some(OsStr::new(name))
            && dir
                .strip_prefix(worktrees)
                .is_ok_and(|rest| rest.components().eq([Component::Normal(OsStr::new(name))]))
    }

    #[test]
    fn ids() {
        for ok in ["a", "LOCAL-3", "my task 2", "0x", "Rooted", "roo"] {
            let id = WorktreeId::parse(ok).unwrap();
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
            assert_eq!(id, ok);
        }
        assert!(WorktreeId::parse(&"a".repeat(MAX_ID_LEN)).is_ok());
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "-a",
            " a",
            "a\0b",
            "root",
            "ROOT",
            "Root",
            "a.b",
            "a_b",
            "ü",
            "HEAD",
            "head",
            "FETCH_HEAD",
            "a\\b",
            "/a",
            "a/",
        ] {
            let err = WorktreeId::parse(bad).unwrap_err();
            assert!(matches!(err, WorktreeError::InvalidId { .. }), "{bad:?}");
            assert_eq!(crate::error::DomainError::code(&err), "INVALID_WORKTREE_ID");
        }
        assert!(WorktreeId::parse(&"a".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn ids_serialise_as_the_plain_string_and_compare_case_folded() {
        let id = WorktreeId::parse("My Task-2").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"My Task-2\"");
        assert!(id.eq_ignore_case("my task-2"));
        assert!(!id.eq_ignore_case("my task-3"));
        assert_ne!(id, WorktreeId::parse("my task-2").unwrap());
    }

    #[test]
    fn listed_names_need_only_be_one_path_component() {
        for ok in ["my.feature", "a_b", "ü", "x".repeat(200).as_str(), "a b"] {
            let id = WorktreeId::listed(ok).unwrap();
            let (dir, worktrees) = dir_of(&id);
            assert!(is_one_component_inside(&dir, &worktrees, ok), "{ok:?}");
        }
        for bad in [
            "", ".", "..", "a/b", "/a", "a/", "./a", "a/.", "a\0b", "../x",
        ] {
            let err = WorktreeId::listed(bad).unwrap_err();
            assert!(matches!(err, WorktreeError::InvalidId { .. }), "{bad:?}");
        }
    }

    #[test]
    fn worktree_dirs_are_built_from_ids() {
        let (dir, _) = dir_of(&WorktreeId::parse("a").unwrap());
        assert_eq!(dir, Path::new("/project/.openkit/worktrees/a"));
    }

    #[test]
    fn branches() {
        for ok in ["main", "feature/x-1", "a.b_c/d"] {
            assert!(validate_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a..b",
            "a/",
            "a.lock",
            "a/.b",
            "a b",
            "a~1",
            "a:b",
            "-x",
            "a//b",
            "HEAD",
            "FETCH_HEAD",
            "orig_head",
            "refs/heads/main",
            "heads/main",
            "tags/v1",
            "remotes/origin/main",
        ] {
            assert!(validate_branch(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn default_ids() {
        assert_eq!(default_id_for_branch("feature/login-page"), "login-page");
        assert_eq!(default_id_for_branch("fix/a.b_c"), "a-b-c");
        assert_eq!(default_id_for_branch("team/x"), "team-x");
        assert_eq!(default_id_for_branch(&"a".repeat(300)).len(), MAX_ID_LEN);
    }

    #[test]
    fn resolution() {
        let known = ["avo-241", "Other", "other"];
        assert_eq!(
            resolve("avo-241", known),
            Resolution::Found("avo-241".into())
        );
        assert_eq!(
            resolve("AVO-241", known),
            Resolution::Found("avo-241".into())
        );
        assert_eq!(resolve("other", known), Resolution::Found("other".into()));
        assert_eq!(
            resolve("OTHER", known),
            Resolution::Ambiguous(vec!["Other".into(), "other".into()])
        );
        assert_eq!(resolve("nope", known), Resolution::Missing);
    }

    proptest! {
        /// Any string either fails `parse` or is an id whose checkout directory is
        /// exactly one component directly inside `.openkit/worktrees/`.
        #[test]
        fn parsed_ids_are_one_component_inside_the_worktrees_dir(
            id in prop_oneof![
                "\\PC{0,40}",
                ".{0,40}",
                "[a-zA-Z0-9./\\\\ _-]{0,12}",
                "[rR][oO][oO][tT]",
                "[a-zA-Z0-9][a-zA-Z0-9 -]{0,140}",
            ],
        ) {
            if let Ok(parsed) = WorktreeId::parse(&id) {
                prop_assert_eq!(parsed.as_str(), id.as_str());
                prop_assert!(!id.is_empty() && id.len() <= MAX_ID_LEN);
                prop_assert!(!id.contains(['/', '\\', '\0']) && !id.contains(".."));
                prop_assert!(!id.eq_ignore_ascii_case(ROOT_ID));
                let (dir, worktrees) = dir_of(&parsed);
                prop_assert!(is_one_component_inside(&dir, &worktrees, &id), "{:?}", dir);
            }
        }

        /// A name read back from the listing is accepted only when its directory is one
        /// component directly inside `.openkit/worktrees/`.
        #[test]
        fn listed_names_are_one_component_inside_the_worktrees_dir(
            name in prop_oneof!["\\PC{0,40}", ".{0,40}", "[a./\\\\]{0,6}"],
        ) {
            if let Ok(listed) = WorktreeId::listed(&name) {
                prop_assert!(!name.is_empty() && name != "." && name != "..");
                prop_assert!(!name.contains(['/', '\0']));
                let (dir, worktrees) = dir_of(&listed);
                prop_assert!(is_one_component_inside(&dir, &worktrees, &name), "{:?}", dir);
            }
            if WorktreeId::parse(&name).is_ok() {
                prop_assert!(WorktreeId::listed(&name).is_ok());
            }
        }

        #[test]
        fn default_ids_of_valid_branches_are_valid_or_empty(branch in "[a-zA-Z0-9][a-zA-Z0-9/_.-]{0,30}") {
            if validate_branch(&branch).is_ok() {
                let id = default_id_for_branch(&branch);
                prop_assert!(id.is_empty() || id.eq_ignore_ascii_case("root") || WorktreeId::parse(&id).is_ok(), "{}", id);
            }
        }

        #[test]
        fn resolution_is_exact_first_and_case_insensitive_when_unique(
            ids in proptest::collection::btree_set("[a-cA-C]{1,3}", 0..8),
            wanted in "[a-cA-C]{1,3}",
        ) {
            let known: Vec<&str> = ids.iter().map(String::as_str).collect();
            let folded: Vec<&str> = known.iter().copied().filter(|k| k.eq_ignore_ascii_case(&wanted)).collect();
            match resolve(&wanted, known.iter().copied()) {
                Resolution::Found(id) => {
                    prop_assert!(known.contains(&id.as_str()));
                    prop_assert!(id == wanted || folded.len() == 1);
                }
                Resolution::Ambiguous(m) => {
                    prop_assert!(!known.contains(&wanted.as_str()));
                    prop_assert_eq!(m.len(), folded.len());
                    prop_assert!(m.len() > 1);
                }
                Resolution::Missing => prop_assert!(folded.is_empty()),
            }
        }
    }
}
