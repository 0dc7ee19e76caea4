//! Branch-name and commit-message rules: user scripts in
//! `.openkit/scripts/{branch-name,commit-message}[.<source>].mjs` (`export default
//! <function expression>`), evaluated in a sandbox, with built-in fallbacks.
//!
//! A source-specific script wins over the generic one. A script that throws, runs past
//! its deadline, exceeds its memory cap, or returns a non-string or empty result falls
//! back to the built-in rule; a branch name is then sanitised into a valid git branch.

mod engine;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

pub use engine::{DEADLINE, EvalError, MEMORY_LIMIT, evaluate};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::issues::{IssueError, IssueSources, SourceId};
use crate::paths::Paths;
use crate::persist;
use crate::worktree::validate_branch;

/// Which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Branch names for new worktrees.
    BranchName,
    /// Commit messages.
    CommitMessage,
}

impl RuleKind {
    fn stem(self) -> &'static str {
        match self {
            RuleKind::BranchName => "branch-name",
            RuleKind::CommitMessage => "commit-message",
        }
    }

    /// The built-in rule as script text (what GET shows when none is set).
    pub fn default_script(self) -> &'static str {
        match self {
            RuleKind::BranchName => {
                "({ issueId, name }) => {\n  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, \"_\").replace(/^_+|_+$/g, \"\");\n  return `${issueId}/${slug}`;\n}"
            }
            RuleKind::CommitMessage => "({ message }) => message",
        }
    }
}

/// A failed rule operation.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A source that is neither built in nor registered (`INVALID_SOURCE`).
    #[error(transparent)]
    Source(#[from] IssueError),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for RuleError {
    fn kind(&self) -> ErrorKind {
        match self {
            RuleError::Source(e) => e.kind(),
            RuleError::Io(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            RuleError::Source(e) => e.code(),
            RuleError::Io(_) => "IO_ERROR",
        }
    }
}

/// What GET shows for a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleContent {
    /// The script (the part after `export default `), or the built-in rule's text.
    pub content: String,
    /// True when a script for exactly this source (or the generic one, without a source)
    /// exists.
    pub has_override: bool,
}

/// Which sources have their own script: every accepted source (built-in and
/// registered) with `true` when `<rule>.<source>.mjs` exists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Overrides(BTreeMap<SourceId, bool>);

impl Overrides {
    /// True when `source` has its own script.
    pub fn has(&self, source: &str) -> bool {
        self.0.iter().any(|(s, has)| *has && s.as_str() == source)
    }

    /// Every accepted source with whether it has its own script, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&SourceId, bool)> + '_ {
        self.0.iter().map(|(s, has)| (s, *has))
    }
}

const EXPORT: &str = "export default ";

/// The built-in branch name: `issueId/slug`, slug = lowercase name with every run of
/// characters outside `[a-z0-9]` turned into `_`, trimmed of `_` (sanitised as a whole).
pub fn builtin_branch_name(issue_id: &str, name: &str) -> String {
    let lower = name.to_lowercase();
    let mut slug = String::with_capacity(lower.len());
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_matches('_');
    let raw = if slug.is_empty() {
        issue_id.to_string()
    } else {
        format!("{issue_id}/{slug}")
    };
    sanitize_branch(&raw).unwrap_or_else(|| "task".into())
}

/// Makes `raw` a valid branch name, or `None` when nothing usable is left.
pub fn sanitize_branch(raw: &str) -> Option<String> {
    let mapped: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<String> = mapped
        .split('/')
        .map(|part| {
            let mut p = part.to_string();
            while p.contains("..") {
                p = p.replace("..", ".");
            }
            let p = p.trim_start_matches(['.', '-']).trim_end_matches('.');
            p.strip_suffix(".lock").unwrap_or(p).to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut name = parts.join("/");
    name.truncate(200);
    let name = name.trim_end_matches(['/', '.']).to_string();
    validate_branch(&name).is_ok().then_some(name)
}

/// Input of a branch-name rule.
#[derive(Debug, Clone, Default)]
pub struct BranchInput {
    /// Issue key.
    pub issue_id: String,
    /// Issue title.
    pub name: String,
    /// Issue type (feature, bug, ...).
    pub r#type: String,
}

/// Input of a commit-message rule (the script also gets the issue's `source`).
#[derive(Debug, Clone, Default)]
pub struct CommitInput {
    /// The message as written.
    pub message: String,
    /// Issue key.
    pub issue_id: String,
}

/// Reads, writes and applies the rule scripts of one project.
#[derive(Debug, Clone)]
pub struct RuleStore {
    paths: Paths,
    sources: Arc<IssueSources>,
}

impl RuleStore {
    /// The store of the project at `paths`, accepting per-source scripts for the built-in
    /// sources.
    pub fn new(paths: Paths) -> Self {
        RuleStore {
            paths,
            sources: Arc::new(IssueSources::new()),
        }
    }

    /// Accepts per-source scripts for the sources of `sources` (built-in plus registered).
    pub fn with_sources(mut self, sources: Arc<IssueSources>) -> Self {
        self.sources = sources;
        self
    }

    /// Parses an optional source name from a request: absent or empty is the generic
    /// rule; otherwise a built-in or registered source (`INVALID_SOURCE` else).
    pub fn source(&self, name: Option<&str>) -> Result<Option<SourceId>, RuleError> {
        match name.filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(name) => Ok(Some(self.sources.source(name)?)),
        }
    }

    /// `.openkit/scripts/<rule>[.<source>].mjs`; a source name is validated
    /// ([`SourceId`]: `[a-z0-9-]`), so it is always a plain file name.
    fn file(&self, kind: RuleKind, source: Option<&SourceId>) -> Result<PathBuf, RuleError> {
        let name = match source {
            None => format!("{}.mjs", kind.stem()),
            Some(s) if self.sources.accepts(s) => format!("{}.{s}.mjs", kind.stem()),
            Some(s) => return Err(IssueError::InvalidSource(s.to_string()).into()),
        };
        Ok(self.paths.scripts_dir().join(name))
    }

    fn read_script(
        &self,
        kind: RuleKind,
        source: Option<&SourceId>,
    ) -> Result<Option<String>, RuleError> {
        let path = self.file(kind, source)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let trimmed = text.trim();
                Ok(Some(
                    trimmed
                        .strip_prefix(EXPORT)
                        .unwrap_or(trimmed)
                        .trim()
                        .to_string(),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoFailure::new(format!("reading {}", path.display()), e).into()),
        }
    }

    /// The script that applies to `source` (its own, else the generic one).
    fn effective_script(&self, kind: RuleKind, source: Option<&SourceId>) -> Option<String> {
        let own = source.and_then(|s| self.read_script(kind, Some(s)).ok().flatten());
        own.or_else(|| self.read_script(kind, None).ok().flatten())
    }

    /// What GET shows.
    pub fn get(&self, kind: RuleKind, source: Option<&SourceId>) -> Result<RuleContent, RuleError> {
        let own = self.read_script(kind, source)?;
        let has_override = own.is_some();
        let content = own
            .or_else(|| source.and_then(|_| self.read_script(kind, None).ok().flatten()))
            .unwrap_or_else(|| kind.default_script().to_string());
        Ok(RuleContent {
            content,
            has_override,
        })
    }

    /// Saves a script (`export default <content>`), or deletes it for empty content.
    pub fn put(
        &self,
        kind: RuleKind,
        source: Option<&SourceId>,
        content: Option<&str>,
    ) -> Result<(), RuleError> {
        let path = self.file(kind, source)?;
        match content.map(str::trim).filter(|c| !c.is_empty()) {
            Some(content) => {
                let body = content.strip_prefix(EXPORT).unwrap_or(content);
                persist::write_atomic(&path, format!("{EXPORT}{body}\n").as_bytes())?;
            }
            None => match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(IoFailure::new(format!("deleting {}", path.display()), e).into());
                }
            },
        }
        Ok(())
    }

    /// Which accepted sources have their own script.
    pub fn overrides(&self, kind: RuleKind) -> Overrides {
        Overrides(
            self.sources
                .known()
                .into_iter()
                .map(|s| {
                    let has = self.file(kind, Some(&s)).is_ok_and(|p| p.is_file());
                    (s, has)
                })
                .collect(),
        )
    }

    /// True when a generic branch-name script exists.
    pub fn has_branch_name_rule(&self) -> bool {
        self.file(RuleKind::BranchName, None)
            .is_ok_and(|p| p.is_file())
    }

    /// The branch name for an issue: the script's result, sanitised; the built-in when
    /// there is no script or it fails.
    pub fn branch_name(&self, source: Option<&SourceId>, input: &BranchInput) -> String {
        let scripted = self
            .effective_script(RuleKind::BranchName, source)
            .and_then(|script| {
                match evaluate(
                    &script,
                    &[
                        ("issueId", &input.issue_id),
                        ("name", &input.name),
                        ("type", &input.r#type),
                    ],
                ) {
                    Ok(out) => sanitize_branch(&out),
                    Err(e) => {
                        tracing::warn!("branch-name rule failed, using the built-in: {e}");
                        None
                    }
                }
            });
        scripted.unwrap_or_else(|| builtin_branch_name(&input.issue_id, &input.name))
    }

    /// The commit message: the script's result; the message unchanged without a script or
    /// when it fails.
    pub fn commit_message(&self, source: Option<&SourceId>, input: &CommitInput) -> String {
        self.effective_script(RuleKind::CommitMessage, source)
            .and_then(|script| {
                evaluate(
                    &script,
                    &[
                        ("message", &input.message),
                        ("issueId", &input.issue_id),
                        ("source", source.map_or("", SourceId::as_str)),
                    ],
                )
                .map_err(|e| tracing::warn!("commit-message rule failed, keeping the message: {e}"))
                .ok()
            })
            .unwrap_or_else(|| input.message.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn store() -> (tempfile::TempDir, RuleStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RuleStore::new(Paths::new(dir.path(), dir.path().join("g")));
        (dir, store)
    }

    fn input(id: &str, name: &str) -> BranchInput {
        BranchInput {
            issue_id: id.into(),
            name: name.into(),
            r#type: "feature".into(),
        }
    }

    #[test]
    fn builtin_matches_the_original() {
        assert_eq!(
            builtin_branch_name("LOCAL-1", "Ünïcödé Tëst"),
            "LOCAL-1/n_c_d_t_st"
        );
        assert_eq!(
            builtin_branch_name("PROJ-12", "Fix: login (again)!"),
            "PROJ-12/fix_login_again"
        );
        assert_eq!(builtin_branch_name("PROJ-12", "!!!"), "PROJ-12");
        // The default script shown to users does the same as the built-in.
        let js = evaluate(
            RuleKind::BranchName.default_script(),
            &[("issueId", "LOCAL-1"), ("name", "Ünïcödé Tëst")],
        )
        .unwrap();
        assert_eq!(js, "LOCAL-1/n_c_d_t_st");
    }

    fn src(name: &str) -> SourceId {
        SourceId::new(name).unwrap()
    }

    #[test]
    fn scripts_win_by_source_and_fall_back() {
        let (_d, s) = store();
        let (jira, linear) = (src("jira"), src("linear"));
        assert_eq!(
            s.branch_name(Some(&jira), &input("PROJ-1", "Add login")),
            "PROJ-1/add_login"
        );
        s.put(
            RuleKind::BranchName,
            None,
            Some("return `feature/${issueId}-${name}`"),
        )
        .unwrap();
        assert_eq!(
            s.branch_name(Some(&jira), &input("PROJ-1", "Add login")),
            "feature/PROJ-1-Add-login"
        );
        s.put(
            RuleKind::BranchName,
            Some(&jira),
            Some("({ issueId }) => `jira/${issueId}`"),
        )
        .unwrap();
        assert_eq!(
            s.branch_name(Some(&jira), &input("PROJ-1", "x")),
            "jira/PROJ-1"
        );
        assert_eq!(
            s.branch_name(Some(&linear), &input("ENG-2", "y")),
            "feature/ENG-2-y"
        );
        s.put(
            RuleKind::BranchName,
            Some(&jira),
            Some("() => { throw new Error('x') }"),
        )
        .unwrap();
        assert_eq!(
            s.branch_name(Some(&jira), &input("PROJ-1", "Add login")),
            "PROJ-1/add_login"
        );
        s.put(RuleKind::BranchName, Some(&jira), Some("while (true) {}"))
            .unwrap();
        assert_eq!(
            s.branch_name(Some(&jira), &input("PROJ-1", "Add login")),
            "PROJ-1/add_login"
        );
        let overrides = s.overrides(RuleKind::BranchName);
        assert!(overrides.has("jira") && !overrides.has("linear") && !overrides.has("local"));
        assert_eq!(
            overrides
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>(),
            crate::issues::BUILTIN_SOURCES
        );
        s.put(RuleKind::BranchName, Some(&jira), Some("")).unwrap();
        assert!(!s.overrides(RuleKind::BranchName).has("jira"));
        let raw = std::fs::read_to_string(s.file(RuleKind::BranchName, None).unwrap()).unwrap();
        assert_eq!(raw, "export default return `feature/${issueId}-${name}`\n");
        assert_eq!(s.source(Some("svn")).unwrap_err().code(), "INVALID_SOURCE");
        assert_eq!(s.source(Some("../x")).unwrap_err().code(), "INVALID_SOURCE");
        assert_eq!(s.source(Some("")).unwrap(), None);
        assert_eq!(s.source(None).unwrap(), None);
        assert_eq!(s.source(Some("kizuna")).unwrap(), Some(src("kizuna")));
        assert!(matches!(
            s.get(RuleKind::BranchName, Some(&src("svn"))),
            Err(RuleError::Source(IssueError::InvalidSource(_)))
        ));
    }

    #[test]
    fn registered_sources_get_their_own_scripts() {
        use crate::issues::Capabilities;
        use crate::testing::MemoryIssues;

        let (dir, s) = store();
        assert!(s.source(Some("acme")).is_err());
        let sources = Arc::new(IssueSources::new());
        sources.register(Arc::new(
            MemoryIssues::new("acme").with_capabilities(Capabilities::READ_ONLY),
        ));
        let s = s.with_sources(sources);
        let acme = s.source(Some("acme")).unwrap().unwrap();
        s.put(
            RuleKind::BranchName,
            Some(&acme),
            Some("({ issueId }) => `acme/${issueId}`"),
        )
        .unwrap();
        assert!(
            dir.path()
                .join(".openkit/scripts/branch-name.acme.mjs")
                .is_file()
        );
        assert_eq!(s.branch_name(Some(&acme), &input("A-1", "x")), "acme/A-1");
        assert_eq!(
            s.branch_name(Some(&src("jira")), &input("A-1", "x")),
            "A-1/x"
        );
        assert!(s.overrides(RuleKind::BranchName).has("acme"));
        assert!(
            s.get(RuleKind::BranchName, Some(&acme))
                .unwrap()
                .has_override
        );
    }

    #[test]
    fn script_results_are_sanitised() {
        let (_d, s) = store();
        s.put(
            RuleKind::BranchName,
            None,
            Some("() => 'feature/Foo Bar..baz/'"),
        )
        .unwrap();
        assert_eq!(
            s.branch_name(None, &input("X-1", "t")),
            "feature/Foo-Bar.baz"
        );
        s.put(RuleKind::BranchName, None, Some("() => '...'"))
            .unwrap();
        assert_eq!(s.branch_name(None, &input("X-1", "t")), "X-1/t");
    }

    #[test]
    fn commit_messages() {
        let (_d, s) = store();
        let jira = src("jira");
        let input = CommitInput {
            message: "fix login".into(),
            issue_id: "PROJ-1".into(),
        };
        assert_eq!(s.commit_message(Some(&jira), &input), "fix login");
        s.put(
            RuleKind::CommitMessage,
            None,
            Some("return `[${source}:${issueId}] ${message}`"),
        )
        .unwrap();
        assert_eq!(
            s.commit_message(Some(&jira), &input),
            "[jira:PROJ-1] fix login"
        );
        assert_eq!(s.commit_message(None, &input), "[:PROJ-1] fix login");
        assert!(
            !s.get(RuleKind::CommitMessage, Some(&SourceId::local()))
                .unwrap()
                .has_override
        );
    }

    proptest! {
        #[test]
        fn branch_names_are_always_valid(id in "\\PC{0,20}", name in "\\PC{0,60}") {
            let b = builtin_branch_name(&id, &name);
            prop_assert!(validate_branch(&b).is_ok(), "{}", b);
            if let Some(s) = sanitize_branch(&format!("{id}/{name}")) {
                prop_assert!(validate_branch(&s).is_ok(), "{}", s);
            }
        }
    }
}
