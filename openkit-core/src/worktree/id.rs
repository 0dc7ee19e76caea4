//! Worktree ids and branch names: validation, defaults and canonical resolution.

/// The id of the synthetic entry for the main checkout.
pub const ROOT_ID: &str = "root";

/// Longest accepted worktree id.
pub const MAX_ID_LEN: usize = 128;

/// Checks a worktree id: `^[a-zA-Z0-9][a-zA-Z0-9 -]*$`, at most [`MAX_ID_LEN`] bytes, and
/// not the reserved `root`. Such an id is always a single safe path component.
pub fn validate_id(id: &str) -> Result<(), String> {
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
    Ok(())
}

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
    if branch == "HEAD" {
        return invalid("HEAD is not a branch");
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

    #[test]
    fn ids() {
        for ok in ["a", "LOCAL-3", "my task 2", "0x"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "..", "a/b", "-a", " a", "a\0b", "root", "ROOT", "a.b", "a_b", "ü",
        ] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn branches() {
        for ok in ["main", "feature/x-1", "a.b_c/d"] {
            assert!(validate_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a..b", "a/", "a.lock", "a/.b", "a b", "a~1", "a:b", "-x", "a//b", "HEAD",
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
        #[test]
        fn valid_ids_are_safe_path_components(id in "\\PC{0,40}") {
            if validate_id(&id).is_ok() {
                prop_assert!(!id.contains('/') && !id.contains('\0') && !id.contains(".."));
                prop_assert!(std::path::Path::new(&id).components().count() == 1);
            }
        }

        #[test]
        fn default_ids_of_valid_branches_are_valid_or_empty(branch in "[a-zA-Z0-9][a-zA-Z0-9/_.-]{0,30}") {
            if validate_branch(&branch).is_ok() {
                let id = default_id_for_branch(&branch);
                prop_assert!(id.is_empty() || id.eq_ignore_ascii_case("root") || validate_id(&id).is_ok(), "{}", id);
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
