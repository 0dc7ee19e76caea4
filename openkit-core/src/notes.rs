//! Per-issue notes (`.openkit/issues/<source>/<id>/notes.json`): personal notes, AI
//! context, todos, the linked worktree and the agent git policy.
//!
//! A missing or unreadable notes file reads as empty notes; a write refuses to replace a
//! file that does not parse (it is reported, never overwritten silently).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::LocalConfig;
use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::issues::{IssueError, IssueRef, IssueSources, LinkIndex};
use crate::logs::now_iso;
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// A notes section with its last change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// Text.
    pub content: String,
    /// ISO-8601 UTC.
    pub updated_at: String,
}

/// A todo item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    /// UUID.
    pub id: String,
    /// Text.
    pub text: String,
    /// Done.
    pub checked: bool,
    /// ISO-8601 UTC.
    pub created_at: String,
}

/// One field of a git policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyValue {
    /// Use the local-config default.
    #[default]
    Inherit,
    /// Allowed for this issue.
    Allow,
    /// Denied for this issue.
    Deny,
}

impl PolicyValue {
    /// Parses `inherit`, `allow` or `deny`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "inherit" => PolicyValue::Inherit,
            "allow" => PolicyValue::Allow,
            "deny" => PolicyValue::Deny,
            _ => return None,
        })
    }

    fn resolve(self, default: bool) -> bool {
        match self {
            PolicyValue::Inherit => default,
            PolicyValue::Allow => true,
            PolicyValue::Deny => false,
        }
    }
}

/// Per-issue overrides of what agents may do with git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitPolicy {
    /// Commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_commits: Option<PolicyValue>,
    /// Pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_pushes: Option<PolicyValue>,
    /// Pull requests.
    #[serde(default, rename = "agentPRs", skip_serializing_if = "Option::is_none")]
    pub agent_prs: Option<PolicyValue>,
}

/// What agents may do for one issue, after applying its policy over the local defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePolicy {
    /// May commit.
    pub can_commit: bool,
    /// May push.
    pub can_push: bool,
    /// May open pull requests.
    pub can_create_pr: bool,
}

/// The one place the effective git policy of an issue is decided: each field of the
/// issue's `gitPolicy` (`allow`/`deny`) overrides the local-config default
/// (`allowAgentCommits`/`Pushes`/`PRs`); `inherit` or absent keeps the default.
pub fn effective_policy(policy: Option<&GitPolicy>, local: &LocalConfig) -> EffectivePolicy {
    let p = policy.copied().unwrap_or_default();
    EffectivePolicy {
        can_commit: p
            .agent_commits
            .unwrap_or_default()
            .resolve(local.allow_agent_commits),
        can_push: p
            .agent_pushes
            .unwrap_or_default()
            .resolve(local.allow_agent_pushes),
        can_create_pr: p
            .agent_prs
            .unwrap_or_default()
            .resolve(local.allow_agent_prs),
    }
}

/// The notes of one issue (`notes.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notes {
    /// The worktree this issue is worked on in.
    #[serde(default)]
    pub linked_worktree_id: Option<String>,
    /// The developer's own notes.
    #[serde(default)]
    pub personal: Option<Section>,
    /// Extra context for agents (shown by `openkit task context`).
    #[serde(default)]
    pub ai_context: Option<Section>,
    /// Todo items.
    #[serde(default)]
    pub todos: Vec<Todo>,
    /// Agent git policy overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_policy: Option<GitPolicy>,
    /// Unknown fields (e.g. `hookSkills`), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A failed notes operation.
#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    /// The source is not accepted (`INVALID_SOURCE`) or the id cannot name a directory
    /// (`INVALID_ISSUE_ID`).
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such todo.
    #[error("Todo not found")]
    TodoNotFound,
    /// Reading or writing failed.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

impl From<IoFailure> for NotesError {
    fn from(e: IoFailure) -> Self {
        NotesError::Persist(e.into())
    }
}

impl DomainError for NotesError {
    fn kind(&self) -> ErrorKind {
        match self {
            NotesError::Issue(e) => e.kind(),
            NotesError::Invalid(_) => ErrorKind::InvalidInput,
            NotesError::TodoNotFound => ErrorKind::NotFound,
            NotesError::Persist(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            NotesError::Issue(e) => e.code(),
            NotesError::Invalid(_) => "INVALID_INPUT",
            NotesError::TodoNotFound => "TODO_NOT_FOUND",
            NotesError::Persist(e) => e.code(),
        }
    }
}

/// Reads and updates notes files; read-modify-write cycles are serialised.
///
/// Which sources it accepts is the registry's call ([`IssueSources::accepts`]: the
/// built-in names plus every registered source). Every write is reported to the
/// [`LinkIndex`], so the worktree list shows a new link at once.
#[derive(Debug)]
pub struct NotesStore {
    paths: Paths,
    sources: Arc<IssueSources>,
    index: Arc<LinkIndex>,
    lock: Mutex<()>,
}

impl NotesStore {
    /// The store of the project at `paths`, accepting the built-in sources, with its own
    /// link index.
    pub fn new(paths: Paths) -> Self {
        NotesStore {
            index: Arc::new(LinkIndex::new(&paths)),
            sources: Arc::new(IssueSources::new()),
            paths,
            lock: Mutex::new(()),
        }
    }

    /// Accepts the sources of `sources` (built-in plus registered).
    pub fn with_sources(mut self, sources: Arc<IssueSources>) -> Self {
        self.sources = sources;
        self
    }

    /// Reports writes to (and looks links up in) `index`, shared with other stores.
    pub fn with_index(mut self, index: Arc<LinkIndex>) -> Self {
        self.index = index;
        self
    }

    /// The registry deciding which sources are accepted.
    pub fn sources(&self) -> &Arc<IssueSources> {
        &self.sources
    }

    /// The worktree ↔ issue link index.
    pub fn index(&self) -> &Arc<LinkIndex> {
        &self.index
    }

    /// Parses an issue of an accepted source (request input).
    pub fn issue(&self, source: &str, id: &str) -> Result<IssueRef, NotesError> {
        Ok(self.sources.issue(source, id)?)
    }

    /// The notes file of an issue of an accepted source.
    pub fn file(&self, issue: &IssueRef) -> Result<PathBuf, NotesError> {
        self.sources.check(issue)?;
        Ok(issue.dir(&self.paths).join("notes.json"))
    }

    /// The notes of an issue; empty when missing or unreadable.
    pub fn get(&self, issue: &IssueRef) -> Result<Notes, NotesError> {
        let file = self.file(issue)?;
        Ok(persist::read_json::<Notes>(&file)
            .ok()
            .flatten()
            .unwrap_or_default())
    }

    /// Applies `change` to the notes of an issue and writes them; a notes file that
    /// exists but does not parse is reported, not replaced.
    pub fn update(
        &self,
        issue: &IssueRef,
        change: impl FnOnce(&mut Notes) -> Result<(), NotesError>,
    ) -> Result<Notes, NotesError> {
        let file = self.file(issue)?;
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut notes = persist::read_json::<Notes>(&file)?.unwrap_or_default();
        change(&mut notes)?;
        persist::write_json(&file, &notes)?;
        self.index.changed(issue);
        Ok(notes)
    }

    /// Sets the `personal` or `aiContext` section (empty content clears it).
    pub fn set_section(
        &self,
        issue: &IssueRef,
        section: &str,
        content: &str,
    ) -> Result<Notes, NotesError> {
        let value = (!content.is_empty()).then(|| Section {
            content: content.to_string(),
            updated_at: now_iso(),
        });
        self.update(issue, |n| {
            match section {
                "personal" => n.personal = value,
                "aiContext" => n.ai_context = value,
                other => {
                    return Err(NotesError::Invalid(format!(
                        "Invalid section \"{other}\": use personal or aiContext"
                    )));
                }
            }
            Ok(())
        })
    }

    /// Adds a todo.
    pub fn add_todo(&self, issue: &IssueRef, text: &str) -> Result<Notes, NotesError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(NotesError::Invalid("Todo text must not be empty".into()));
        }
        self.update(issue, |n| {
            n.todos.push(Todo {
                id: uuid::Uuid::new_v4().to_string(),
                text: text.to_string(),
                checked: false,
                created_at: now_iso(),
            });
            Ok(())
        })
    }

    /// Changes a todo's text and/or checked state.
    pub fn update_todo(
        &self,
        issue: &IssueRef,
        todo_id: &str,
        text: Option<&str>,
        checked: Option<bool>,
    ) -> Result<Notes, NotesError> {
        if text.is_some_and(|t| t.trim().is_empty()) {
            return Err(NotesError::Invalid("Todo text must not be empty".into()));
        }
        self.update(issue, |n| {
            let todo = n
                .todos
                .iter_mut()
                .find(|t| t.id == todo_id)
                .ok_or(NotesError::TodoNotFound)?;
            if let Some(text) = text {
                todo.text = text.trim().to_string();
            }
            if let Some(checked) = checked {
                todo.checked = checked;
            }
            Ok(())
        })
    }

    /// Deletes a todo.
    pub fn delete_todo(&self, issue: &IssueRef, todo_id: &str) -> Result<Notes, NotesError> {
        self.update(issue, |n| {
            let before = n.todos.len();
            n.todos.retain(|t| t.id != todo_id);
            if n.todos.len() == before {
                return Err(NotesError::TodoNotFound);
            }
            Ok(())
        })
    }

    /// Merges a git policy update (absent fields stay as they are).
    pub fn set_git_policy(&self, issue: &IssueRef, update: GitPolicy) -> Result<Notes, NotesError> {
        self.update(issue, |n| {
            let mut p = n.git_policy.unwrap_or_default();
            p.agent_commits = update.agent_commits.or(p.agent_commits);
            p.agent_pushes = update.agent_pushes.or(p.agent_pushes);
            p.agent_prs = update.agent_prs.or(p.agent_prs);
            n.git_policy = Some(p);
            Ok(())
        })
    }

    /// Links the issue to a worktree (or unlinks it).
    pub fn link(&self, issue: &IssueRef, worktree_id: Option<&str>) -> Result<Notes, NotesError> {
        self.update(issue, |n| {
            n.linked_worktree_id = worktree_id.map(str::to_string);
            Ok(())
        })
    }

    /// The issue of an accepted source linked to `worktree_id` (from the link index).
    pub fn linked_issue(&self, worktree_id: &str) -> Option<IssueRef> {
        self.index
            .linked(worktree_id)
            .map(|l| l.issue)
            .filter(|issue| self.sources.accepts(&issue.source))
    }

    /// Points every issue linked to `from` at `to` (`None` clears the link), serialised
    /// with this store's other writes; returns how many notes files changed.
    pub fn relink_worktree(&self, from: &str, to: Option<&str>) -> Result<usize, IoFailure> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let changed = crate::links::relink_worktree(&self.paths, from, to);
        self.index.rescan();
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, NotesStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = NotesStore::new(Paths::new(dir.path(), dir.path().join("g")));
        (dir, store)
    }

    fn local(id: &str) -> IssueRef {
        IssueRef::local(id).unwrap()
    }

    #[test]
    fn sections_todos_policy_and_links() {
        let (_d, s) = store();
        let issue = local("LOCAL-1");
        assert_eq!(s.get(&issue).unwrap(), Notes::default());
        let n = s
            .set_section(&issue, "aiContext", "use the v2 API")
            .unwrap();
        assert_eq!(n.ai_context.unwrap().content, "use the v2 API");
        let n = s.add_todo(&issue, "write tests").unwrap();
        let todo = n.todos[0].id.clone();
        let n = s.update_todo(&issue, &todo, None, Some(true)).unwrap();
        assert!(n.todos[0].checked);
        assert!(matches!(
            s.update_todo(&issue, "nope", None, Some(true)),
            Err(NotesError::TodoNotFound)
        ));
        let n = s
            .set_git_policy(
                &issue,
                GitPolicy {
                    agent_pushes: Some(PolicyValue::Allow),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(n.git_policy.unwrap().agent_pushes, Some(PolicyValue::Allow));
        assert_eq!(s.linked_issue("LOCAL-1"), None);
        s.link(&issue, Some("LOCAL-1")).unwrap();
        assert_eq!(s.linked_issue("LOCAL-1"), Some(issue.clone()));
        let n = s.delete_todo(&issue, &todo).unwrap();
        assert!(n.todos.is_empty());
        assert!(matches!(
            s.set_section(&issue, "secret", "x"),
            Err(NotesError::Invalid(_))
        ));
        assert_eq!(s.relink_worktree("LOCAL-1", Some("renamed")).unwrap(), 1);
        assert_eq!(s.linked_issue("renamed"), Some(issue.clone()));
        assert_eq!(s.relink_worktree("renamed", None).unwrap(), 1);
        assert_eq!(s.linked_issue("renamed"), None);
    }

    #[test]
    fn traversal_and_unknown_sources_are_refused() {
        let (_d, s) = store();
        for (source, id, code) in [
            ("local", "..", "INVALID_ISSUE_ID"),
            ("local", "../x", "INVALID_ISSUE_ID"),
            ("local", "a/b", "INVALID_ISSUE_ID"),
            ("local", "a\0b", "INVALID_ISSUE_ID"),
            ("local", "", "INVALID_ISSUE_ID"),
            ("svn", "X-1", "INVALID_SOURCE"),
            ("../local", "X-1", "INVALID_SOURCE"),
        ] {
            let err = s.issue(source, id).unwrap_err();
            assert_eq!(err.code(), code, "{source} {id:?}");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
        // A well-formed ref of a source the registry does not accept is refused too.
        let svn = IssueRef::parse("svn", "X-1").unwrap();
        assert_eq!(s.get(&svn).unwrap_err().code(), "INVALID_SOURCE");
        assert_eq!(s.add_todo(&svn, "x").unwrap_err().code(), "INVALID_SOURCE");
    }

    #[test]
    fn built_in_sources_need_no_adapter_and_registered_ones_are_accepted() {
        use crate::issues::Capabilities;
        use crate::testing::MemoryIssues;

        let (dir, s) = store();
        for builtin in crate::issues::BUILTIN_SOURCES {
            let issue = s.issue(builtin, "X-1").unwrap();
            s.add_todo(&issue, "t").unwrap();
            assert!(
                dir.path()
                    .join(format!(".openkit/issues/{builtin}/X-1/notes.json"))
                    .is_file()
            );
        }
        assert!(s.issue("acme", "A-1").is_err());
        let sources = Arc::new(IssueSources::new());
        sources.register(Arc::new(
            MemoryIssues::new("acme").with_capabilities(Capabilities::READ_ONLY),
        ));
        let s = NotesStore::new(Paths::new(dir.path(), dir.path().join("g"))).with_sources(sources);
        let acme = s.issue("acme", "A-1").unwrap();
        s.link(&acme, Some("wt")).unwrap();
        assert!(
            std::fs::read_to_string(dir.path().join(".openkit/issues/acme/A-1/notes.json"))
                .unwrap()
                .contains("\"linkedWorktreeId\": \"wt\"")
        );
        assert_eq!(s.linked_issue("wt"), Some(acme.clone()));
        // Unregistered again: its notes are no longer served, nor its link.
        s.sources().unregister(&acme.source);
        assert_eq!(s.get(&acme).unwrap_err().code(), "INVALID_SOURCE");
        assert_eq!(s.linked_issue("wt"), None);
    }

    #[test]
    fn corrupt_notes_read_empty_but_are_not_overwritten() {
        let (_d, s) = store();
        let issue = IssueRef::parse("jira", "PRJ-1").unwrap();
        let file = s.file(&issue).unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{oops").unwrap();
        assert_eq!(s.get(&issue).unwrap(), Notes::default());
        let err = s.add_todo(&issue, "x").unwrap_err();
        assert_eq!(err.code(), "CORRUPT_FILE");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{oops");
    }

    #[test]
    fn policy_resolution() {
        let local = LocalConfig {
            allow_agent_commits: true,
            ..LocalConfig::default()
        };
        assert_eq!(
            effective_policy(None, &local),
            EffectivePolicy {
                can_commit: true,
                can_push: false,
                can_create_pr: false
            }
        );
        let p = GitPolicy {
            agent_commits: Some(PolicyValue::Deny),
            agent_pushes: Some(PolicyValue::Allow),
            agent_prs: Some(PolicyValue::Inherit),
        };
        assert_eq!(
            effective_policy(Some(&p), &local),
            EffectivePolicy {
                can_commit: false,
                can_push: true,
                can_create_pr: false
            }
        );
    }
}
