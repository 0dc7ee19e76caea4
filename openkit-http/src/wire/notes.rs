//! Per-issue notes: `/api/notes/:source/:id` and its todos and git policy.

use openkit_core::notes::{
    GitPolicy as CorePolicy, Notes as CoreNotes, PolicyValue as CoreValue, Section as CoreSection,
    Todo as CoreTodo,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A notes section with its last change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotesSection {
    /// Text.
    pub content: String,
    /// ISO-8601 UTC.
    pub updated_at: String,
}

impl From<&CoreSection> for NotesSection {
    fn from(s: &CoreSection) -> Self {
        NotesSection {
            content: s.content.clone(),
            updated_at: s.updated_at.clone(),
        }
    }
}

/// A todo item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<&CoreTodo> for Todo {
    fn from(t: &CoreTodo) -> Self {
        Todo {
            id: t.id.clone(),
            text: t.text.clone(),
            checked: t.checked,
            created_at: t.created_at.clone(),
        }
    }
}

/// One field of a git policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyValue {
    /// Use the local-config default (`allowAgentCommits`, ...).
    #[default]
    Inherit,
    /// Allowed for this issue.
    Allow,
    /// Denied for this issue.
    Deny,
}

impl From<CoreValue> for PolicyValue {
    fn from(v: CoreValue) -> Self {
        match v {
            CoreValue::Inherit => PolicyValue::Inherit,
            CoreValue::Allow => PolicyValue::Allow,
            CoreValue::Deny => PolicyValue::Deny,
        }
    }
}

/// What agents may do with git for one issue. Every field is present; `inherit` (also
/// for a field never set) uses the local-config default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitPolicy {
    /// Commits.
    pub agent_commits: PolicyValue,
    /// Pushes.
    pub agent_pushes: PolicyValue,
    /// Pull requests.
    #[serde(rename = "agentPRs")]
    pub agent_prs: PolicyValue,
}

impl From<Option<&CorePolicy>> for GitPolicy {
    fn from(p: Option<&CorePolicy>) -> Self {
        let p = p.copied().unwrap_or_default();
        let value = |v: Option<CoreValue>| v.map(PolicyValue::from).unwrap_or_default();
        GitPolicy {
            agent_commits: value(p.agent_commits),
            agent_pushes: value(p.agent_pushes),
            agent_prs: value(p.agent_prs),
        }
    }
}

/// The notes of one issue (every notes endpoint answers with the whole object).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notes {
    /// The worktree this issue is worked on in.
    #[schema(required = true)]
    pub linked_worktree_id: Option<String>,
    /// The developer's own notes.
    #[schema(required = true)]
    pub personal: Option<NotesSection>,
    /// Extra context for agents (shown by `openkit task context`).
    #[schema(required = true)]
    pub ai_context: Option<NotesSection>,
    /// Todo items.
    pub todos: Vec<Todo>,
    /// The agent git policy.
    pub git_policy: GitPolicy,
    /// Fields this version does not know (e.g. `hookSkills`), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&CoreNotes> for Notes {
    fn from(n: &CoreNotes) -> Self {
        let mut extra = n.extra.clone();
        extra.remove("gitPolicy");
        Notes {
            linked_worktree_id: n.linked_worktree_id.clone(),
            personal: n.personal.as_ref().map(NotesSection::from),
            ai_context: n.ai_context.as_ref().map(NotesSection::from),
            todos: n.todos.iter().map(Todo::from).collect(),
            git_policy: n.git_policy.as_ref().into(),
            extra,
        }
    }
}

/// Body of `PUT /api/notes/:source/:id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotesSectionRequest {
    /// `personal` or `aiContext`.
    #[schema(examples("personal", "aiContext"))]
    pub section: String,
    /// The new text (empty when absent).
    #[serde(default)]
    pub content: Option<String>,
}

/// Body of `POST /api/notes/:source/:id/todos`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTodoRequest {
    /// Text.
    pub text: String,
}

/// Body of `PATCH /api/notes/:source/:id/todos/:todoId`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TodoUpdateRequest {
    /// New text.
    pub text: Option<String>,
    /// Done.
    pub checked: Option<bool>,
}

/// Body of `PATCH /api/notes/:source/:id/git-policy`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitPolicyUpdate {
    /// Commits.
    pub agent_commits: Option<PolicyValue>,
    /// Pushes.
    pub agent_pushes: Option<PolicyValue>,
    /// Pull requests.
    #[serde(rename = "agentPRs")]
    pub agent_prs: Option<PolicyValue>,
}
