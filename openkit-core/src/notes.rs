//! Per-issue notes (`.openkit/issues/<source>/<id>/notes.json`): personal notes, AI
//! context, todos, the linked worktree and the agent git policy.
//!
//! A missing or unreadable notes file reads as empty notes; a write refuses to replace a
//! file that does not parse (it is reported, never overwritten silently).

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::LocalConfig;
use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::logs::now_iso;
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// Issue sources OpenKit knows (trackers add theirs here).
pub const SOURCES: [&str; 3] = ["jira", "linear", "local"];

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
    /// The source is not a tracker OpenKit knows.
    #[error("Unknown source \"{0}\": use jira, linear or local")]
    InvalidSource(String),
    /// The issue id cannot name a directory.
    #[error("Invalid issue id \"{0}\"")]
    InvalidId(String),
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
            NotesError::InvalidSource(_) | NotesError::InvalidId(_) | NotesError::Invalid(_) => {
                ErrorKind::InvalidInput
            }
            NotesError::TodoNotFound => ErrorKind::NotFound,
            NotesError::Persist(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            NotesError::InvalidSource(_) => "INVALID_SOURCE",
            NotesError::InvalidId(_) => "INVALID_ISSUE_ID",
            NotesError::Invalid(_) => "INVALID_INPUT",
            NotesError::TodoNotFound => "TODO_NOT_FOUND",
            NotesError::Persist(e) => e.code(),
        }
    }
}

/// Checks an issue id that becomes a directory name: letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit, no `..`, at most 128 characters.
pub fn validate_issue_id(id: &str) -> Result<(), NotesError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !id.contains("..");
    if ok {
        Ok(())
    } else {
        Err(NotesError::InvalidId(id.to_string()))
    }
}

/// Reads and updates notes files; read-modify-write cycles are serialised.
#[derive(Debug)]
pub struct NotesStore {
    paths: Paths,
    lock: Mutex<()>,
}

impl NotesStore {
    /// The store of the project at `paths`.
    pub fn new(paths: Paths) -> Self {
        NotesStore {
            paths,
            lock: Mutex::new(()),
        }
    }

    /// The notes file of an issue, after validating source and id.
    pub fn file(&self, source: &str, id: &str) -> Result<PathBuf, NotesError> {
        if !SOURCES.contains(&source) {
            return Err(NotesError::InvalidSource(source.to_string()));
        }
        validate_issue_id(id)?;
        Ok(self
            .paths
            .issues_dir()
            .join(source)
            .join(id)
            .join("notes.json"))
    }

    /// The notes of an issue; empty when missing or unreadable.
    pub fn get(&self, source: &str, id: &str) -> Result<Notes, NotesError> {
        let file = self.file(source, id)?;
        Ok(persist::read_json::<Notes>(&file)
            .ok()
            .flatten()
            .unwrap_or_default())
    }

    /// Applies `change` to the notes of an issue and writes them; a notes file that
    /// exists but does not parse is reported, not replaced.
    pub fn update(
        &self,
        source: &str,
        id: &str,
        change: impl FnOnce(&mut Notes) -> Result<(), NotesError>,
    ) -> Result<Notes, NotesError> {
        let file = self.file(source, id)?;
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut notes = persist::read_json::<Notes>(&file)?.unwrap_or_default();
        change(&mut notes)?;
        persist::write_json(&file, &notes)?;
        Ok(notes)
    }

    /// Sets the `personal` or `aiContext` section (empty content clears it).
    pub fn set_section(
        &self,
        source: &str,
        id: &str,
        section: &str,
        content: &str,
    ) -> Result<Notes, NotesError> {
        let value = (!content.is_empty()).then(|| Section {
            content: content.to_string(),
            updated_at: now_iso(),
        });
        self.update(source, id, |n| {
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
    pub fn add_todo(&self, source: &str, id: &str, text: &str) -> Result<Notes, NotesError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(NotesError::Invalid("Todo text must not be empty".into()));
        }
        self.update(source, id, |n| {
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
        source: &str,
        id: &str,
        todo_id: &str,
        text: Option<&str>,
        checked: Option<bool>,
    ) -> Result<Notes, NotesError> {
        if text.is_some_and(|t| t.trim().is_empty()) {
            return Err(NotesError::Invalid("Todo text must not be empty".into()));
        }
        self.update(source, id, |n| {
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
    pub fn delete_todo(&self, source: &str, id: &str, todo_id: &str) -> Result<Notes, NotesError> {
        self.update(source, id, |n| {
            let before = n.todos.len();
            n.todos.retain(|t| t.id != todo_id);
            if n.todos.len() == before {
                return Err(NotesError::TodoNotFound);
            }
            Ok(())
        })
    }

    /// Merges a git policy update (absent fields stay as they are).
    pub fn set_git_policy(
        &self,
        source: &str,
        id: &str,
        update: GitPolicy,
    ) -> Result<Notes, NotesError> {
        self.update(source, id, |n| {
            let mut p = n.git_policy.unwrap_or_default();
            p.agent_commits = update.agent_commits.or(p.agent_commits);
            p.agent_pushes = update.agent_pushes.or(p.agent_pushes);
            p.agent_prs = update.agent_prs.or(p.agent_prs);
            n.git_policy = Some(p);
            Ok(())
        })
    }

    /// Links the issue to a worktree (or unlinks it).
    pub fn link(
        &self,
        source: &str,
        id: &str,
        worktree_id: Option<&str>,
    ) -> Result<Notes, NotesError> {
        self.update(source, id, |n| {
            n.linked_worktree_id = worktree_id.map(str::to_string);
            Ok(())
        })
    }

    /// The issue linked to `worktree_id`, as `(source, id, notes)`.
    pub fn find_linked(&self, worktree_id: &str) -> Option<(String, String, Notes)> {
        for source in SOURCES {
            let Ok(entries) = std::fs::read_dir(self.paths.issues_dir().join(source)) else {
                continue;
            };
            for entry in entries.flatten() {
                let id = entry.file_name().to_string_lossy().into_owned();
                if let Ok(notes) = self.get(source, &id)
                    && notes.linked_worktree_id.as_deref() == Some(worktree_id)
                {
                    return Some((source.to_string(), id, notes));
                }
            }
        }
        None
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

    #[test]
    fn sections_todos_policy_and_links() {
        let (_d, s) = store();
        assert_eq!(s.get("local", "LOCAL-1").unwrap(), Notes::default());
        let n = s
            .set_section("local", "LOCAL-1", "aiContext", "use the v2 API")
            .unwrap();
        assert_eq!(n.ai_context.unwrap().content, "use the v2 API");
        let n = s.add_todo("local", "LOCAL-1", "write tests").unwrap();
        let todo = n.todos[0].id.clone();
        let n = s
            .update_todo("local", "LOCAL-1", &todo, None, Some(true))
            .unwrap();
        assert!(n.todos[0].checked);
        assert!(matches!(
            s.update_todo("local", "LOCAL-1", "nope", None, Some(true)),
            Err(NotesError::TodoNotFound)
        ));
        let n = s
            .set_git_policy(
                "local",
                "LOCAL-1",
                GitPolicy {
                    agent_pushes: Some(PolicyValue::Allow),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(n.git_policy.unwrap().agent_pushes, Some(PolicyValue::Allow));
        s.link("local", "LOCAL-1", Some("LOCAL-1")).unwrap();
        assert_eq!(s.find_linked("LOCAL-1").unwrap().1, "LOCAL-1");
        let n = s.delete_todo("local", "LOCAL-1", &todo).unwrap();
        assert!(n.todos.is_empty());
        assert!(matches!(
            s.set_section("local", "LOCAL-1", "secret", "x"),
            Err(NotesError::Invalid(_))
        ));
    }

    #[test]
    fn traversal_and_unknown_sources_are_refused() {
        let (_d, s) = store();
        for (source, id) in [
            ("local", ".."),
            ("local", "../x"),
            ("local", "a/b"),
            ("local", "a\0b"),
            ("svn", "X-1"),
            ("local", ""),
        ] {
            assert!(s.get(source, id).is_err(), "{source} {id:?}");
        }
    }

    #[test]
    fn corrupt_notes_read_empty_but_are_not_overwritten() {
        let (_d, s) = store();
        let file = s.file("jira", "PRJ-1").unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "{oops").unwrap();
        assert_eq!(s.get("jira", "PRJ-1").unwrap(), Notes::default());
        let err = s.add_todo("jira", "PRJ-1", "x").unwrap_err();
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
