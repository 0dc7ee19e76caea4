//! What an agent needs to know about its task: `openkit task context`.
//!
//! Gathers the issue (local task, or a tracker issue cached in
//! `.openkit/issues/<source>/<id>/issue.json`), its notes (AI context, todos), its
//! attachments, the hook steps agents should run, and the effective git policy, and renders
//! them as Markdown or JSON.

use serde::Serialize;
use serde_json::Value;

use crate::config::LocalConfig;
use crate::notes::{EffectivePolicy, NotesStore, SOURCES, Todo, effective_policy};
use crate::paths::Paths;
use crate::persist;
use crate::tasks::LocalTasks;

/// A comment on a tracker issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Who wrote it.
    pub author: String,
    /// When (as the tracker gave it).
    pub created: String,
    /// Text.
    pub body: String,
}

/// A hook step shown to agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStep {
    /// Step name.
    pub name: String,
    /// `command` or `prompt`.
    pub kind: String,
    /// The command to run (command steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The instruction (prompt steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// When it applies (custom steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// Hook steps by when agents run them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookGroups {
    /// Before implementing.
    pub pre_implementation: Vec<HookStep>,
    /// After implementing.
    pub post_implementation: Vec<HookStep>,
    /// Condition-based.
    pub custom: Vec<HookStep>,
}

/// An attachment as listed to agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAttachment {
    /// File name.
    pub filename: String,
    /// Where it is on disk.
    pub local_path: String,
    /// MIME type.
    pub mime_type: String,
}

/// Everything `task context` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskContext {
    /// Issue key (`LOCAL-7`, `PROJ-123`).
    pub identifier: String,
    /// jira, linear or local.
    pub source: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Link to the issue, when it has one.
    pub url: Option<String>,
    /// Description.
    pub description: String,
    /// The notes' AI context.
    pub extra_context: Option<String>,
    /// Tracker comments.
    pub comments: Vec<Comment>,
    /// Todos with their ids.
    pub todos: Vec<Todo>,
    /// Attached files.
    pub attachments: Vec<ContextAttachment>,
    /// Hook steps.
    pub hooks: HookGroups,
    /// What the agent may do with git.
    pub git_policy: EffectivePolicy,
    /// The linked worktree.
    pub worktree_id: Option<String>,
}

fn str_at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str))
}

/// Reads `.openkit/hooks.json` into groups; prompt and command steps alike, enabled ones.
pub fn hook_groups(paths: &Paths) -> HookGroups {
    let mut groups = HookGroups::default();
    let Ok(Some(hooks)) = persist::read_json::<Value>(&paths.openkit_dir().join("hooks.json"))
    else {
        return groups;
    };
    for step in hooks["steps"].as_array().into_iter().flatten() {
        if step["enabled"].as_bool() == Some(false) {
            continue;
        }
        let kind = step["kind"].as_str().unwrap_or("command").to_string();
        let entry = HookStep {
            name: str_at(step, &["name", "id"]).unwrap_or("step").to_string(),
            command: (kind == "command")
                .then(|| step["command"].as_str().unwrap_or_default().to_string()),
            prompt: step["prompt"].as_str().map(str::to_string),
            condition: str_at(step, &["conditionTitle", "condition"]).map(str::to_string),
            kind,
        };
        match step["trigger"].as_str().unwrap_or("post-implementation") {
            "pre-implementation" => groups.pre_implementation.push(entry),
            "post-implementation" => groups.post_implementation.push(entry),
            "custom" => groups.custom.push(entry),
            // Lifecycle triggers (worktree-created, ...) run on their own, not by agents.
            _ => {}
        }
    }
    groups
}

/// Builds the context of the issue `source`/`id`; `None` when neither a task, a cached
/// tracker issue nor notes exist for it.
pub fn task_context(
    paths: &Paths,
    local: &LocalConfig,
    source: &str,
    id: &str,
) -> Option<TaskContext> {
    if !SOURCES.contains(&source) {
        return None;
    }
    let notes_store = NotesStore::new(paths.clone());
    let notes = notes_store.get(source, id).ok()?;
    let tasks = LocalTasks::new(paths.clone());
    let (title, status, url, description, comments, attachments) = if source == "local" {
        let task = tasks.get(id).ok()?;
        let attachments = tasks
            .attachments(id)
            .unwrap_or_default()
            .into_iter()
            .map(|a| ContextAttachment {
                filename: a.filename,
                local_path: a.local_path.to_string_lossy().into_owned(),
                mime_type: a.mime_type,
            })
            .collect();
        (
            task.title,
            task.status,
            None,
            task.description,
            Vec::new(),
            attachments,
        )
    } else {
        let issue = persist::read_json::<Value>(
            &paths.issues_dir().join(source).join(id).join("issue.json"),
        )
        .ok()
        .flatten();
        if issue.is_none() && notes == Default::default() {
            return None;
        }
        let issue = issue.unwrap_or(Value::Null);
        let comments = issue["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Comment {
                author: str_at(c, &["author", "user"])
                    .unwrap_or("unknown")
                    .to_string(),
                created: str_at(c, &["created", "createdAt"])
                    .unwrap_or_default()
                    .to_string(),
                body: str_at(c, &["body", "text"]).unwrap_or_default().to_string(),
            })
            .collect();
        (
            str_at(&issue, &["title", "summary"])
                .unwrap_or(id)
                .to_string(),
            str_at(&issue, &["status"]).unwrap_or("unknown").to_string(),
            str_at(&issue, &["url"]).map(str::to_string),
            str_at(&issue, &["description"])
                .unwrap_or_default()
                .to_string(),
            comments,
            Vec::new(),
        )
    };
    Some(TaskContext {
        identifier: id.to_string(),
        source: source.to_string(),
        title,
        status,
        url,
        description,
        extra_context: notes.ai_context.map(|s| s.content),
        comments,
        todos: notes.todos,
        attachments,
        hooks: hook_groups(paths),
        git_policy: effective_policy(notes.git_policy.as_ref(), local),
        worktree_id: notes.linked_worktree_id,
    })
}

/// Finds the issue for a worktree: the one whose notes link it, else a local task with the
/// worktree's id.
pub fn issue_for_worktree(paths: &Paths, worktree_id: &str) -> Option<(String, String)> {
    if let Some((source, id, _)) = NotesStore::new(paths.clone()).find_linked(worktree_id) {
        return Some((source, id));
    }
    let tasks = LocalTasks::new(paths.clone());
    tasks
        .list()
        .into_iter()
        .find(|t| t.id.eq_ignore_ascii_case(worktree_id))
        .map(|t| ("local".to_string(), t.id))
}

/// Finds the source of an issue id: local when a task has it, else the first tracker
/// folder holding it.
pub fn source_of(paths: &Paths, id: &str) -> Option<String> {
    if LocalTasks::new(paths.clone()).get(id).is_ok() {
        return Some("local".into());
    }
    SOURCES
        .iter()
        .find(|s| {
            crate::notes::validate_issue_id(id).is_ok()
                && paths.issues_dir().join(s).join(id).is_dir()
        })
        .map(|s| s.to_string())
}

fn yes_no(allowed: bool) -> &'static str {
    if allowed { "yes" } else { "no" }
}

impl TaskContext {
    /// The Markdown agents read.
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# {} — {}\n\n", self.identifier, self.title);
        md.push_str(&format!("**Source:** {}\n", self.source));
        md.push_str(&format!("**Status:** {}\n", self.status));
        if let Some(url) = &self.url {
            md.push_str(&format!("**URL:** {url}\n"));
        }
        if let Some(wt) = &self.worktree_id {
            md.push_str(&format!("**Worktree:** {wt}\n"));
        }
        md.push_str("\n## Description\n\n");
        md.push_str(if self.description.trim().is_empty() {
            "_No description._"
        } else {
            self.description.trim()
        });
        md.push('\n');
        if let Some(extra) = self
            .extra_context
            .as_deref()
            .filter(|e| !e.trim().is_empty())
        {
            md.push_str(&format!("\n## Extra Context\n\n{}\n", extra.trim()));
        }
        if !self.comments.is_empty() {
            md.push_str("\n## Comments\n\n");
            for c in &self.comments {
                md.push_str(&format!(
                    "**{}** ({}):\n{}\n\n",
                    c.author,
                    c.created,
                    c.body.trim()
                ));
            }
        }
        md.push_str("\n## Git Policy\n\n");
        md.push_str(&format!(
            "- May commit: {}\n- May push: {}\n- May open pull requests: {}\n",
            yes_no(self.git_policy.can_commit),
            yes_no(self.git_policy.can_push),
            yes_no(self.git_policy.can_create_pr)
        ));
        if !self.todos.is_empty() {
            md.push_str("\n## Todos\n\n");
            for t in &self.todos {
                md.push_str(&format!(
                    "- [{}] {} (id: `{}`)\n",
                    if t.checked { "x" } else { " " },
                    t.text,
                    t.id
                ));
            }
            md.push_str(
                "\nCheck one off with `openkit activity todo <id>` (`--uncheck` to undo).\n",
            );
        }
        if !self.attachments.is_empty() {
            md.push_str("\n## Attachments\n\n");
            for a in &self.attachments {
                md.push_str(&format!(
                    "- {} ({}): `{}`\n",
                    a.filename, a.mime_type, a.local_path
                ));
            }
        }
        let sections = [
            ("Pre-Implementation", &self.hooks.pre_implementation),
            ("Post-Implementation", &self.hooks.post_implementation),
            ("Custom (condition-based)", &self.hooks.custom),
        ];
        if sections.iter().any(|(_, steps)| !steps.is_empty()) {
            md.push_str("\n## Hooks\n");
            for (title, steps) in sections {
                if steps.is_empty() {
                    continue;
                }
                md.push_str(&format!("\n### {title}\n\n"));
                for s in steps {
                    let what = match (&s.command, &s.prompt) {
                        (Some(cmd), _) => format!("run `{cmd}`"),
                        (None, Some(prompt)) => prompt.trim().to_string(),
                        (None, None) => String::new(),
                    };
                    match &s.condition {
                        Some(cond) => {
                            md.push_str(&format!("- **{}** (when {cond}): {what}\n", s.name))
                        }
                        None => md.push_str(&format!("- **{}**: {what}\n", s.name)),
                    }
                }
            }
        }
        md
    }
}
