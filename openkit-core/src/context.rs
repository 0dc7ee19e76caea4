//! What an agent needs to know about its task: `openkit task context`.
//!
//! Gathers the issue (from its source's adapter when one is registered, else a tracker
//! issue cached in `.openkit/issues/<source>/<id>/issue.json`), its notes (AI context,
//! todos), its attachments, the hook steps agents should run, and the effective git
//! policy, and renders them as Markdown or JSON. Works for every source the registry
//! accepts.

use serde::Serialize;
use serde_json::Value;

use crate::config::LocalConfig;
use crate::hooks::service::{Overrides, effective};
use crate::hooks::{HooksStore, StepKind, Trigger};
use crate::issues::{Issue, IssueError, IssueRef, IssueSummary, SourceId};
use crate::notes::{EffectivePolicy, Notes, NotesError, NotesStore, Todo, effective_policy};
use crate::paths::Paths;
use crate::persist;
use crate::tasks::LocalTasks;

pub use crate::issues::Comment;

/// A hook step (or skill, kind `skill`) shown to agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStep {
    /// Step name.
    pub name: String,
    /// `command`, `prompt` or `skill`.
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
    /// Where it is on disk (empty when it is only at `url`).
    pub local_path: String,
    /// MIME type.
    pub mime_type: String,
    /// Where the tracker serves it, for attachments not on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Everything `task context` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskContext {
    /// Issue key (`LOCAL-7`, `PROJ-123`).
    pub identifier: String,
    /// The issue's source (`local`, `jira`, ...).
    pub source: SourceId,
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

/// Reads `.openkit/hooks.json` into groups: enabled prompt and command steps, and
/// enabled skills (as `skill` entries), of the triggers agents act on.
pub fn hook_groups(paths: &Paths) -> HookGroups {
    hook_groups_with(paths, &Overrides::new())
}

/// [`hook_groups`] with an issue's `hookSkills` overrides applied to the skills.
pub fn hook_groups_with(paths: &Paths, overrides: &Overrides) -> HookGroups {
    let mut groups = HookGroups::default();
    let config = match HooksStore::new(paths).load() {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!("hooks are not shown: {e}");
            return groups;
        }
    };
    let mut place = |trigger: Trigger, entry: HookStep| match trigger {
        Trigger::PreImplementation => groups.pre_implementation.push(entry),
        Trigger::PostImplementation => groups.post_implementation.push(entry),
        Trigger::Custom => groups.custom.push(entry),
        // Lifecycle and on-demand steps run on their own, not by agents.
        Trigger::OnDemand | Trigger::WorktreeCreated | Trigger::WorktreeRemoved => {}
    };
    for step in config.steps.iter().filter(|s| s.enabled) {
        let kind = step.kind();
        place(
            step.trigger(),
            HookStep {
                name: step.name.clone(),
                kind: kind.as_str().to_string(),
                command: (kind == StepKind::Command).then(|| step.command.clone()),
                prompt: step.prompt.clone(),
                condition: step
                    .condition_title
                    .clone()
                    .or_else(|| step.condition.clone()),
            },
        );
    }
    let worktree = "";
    for skill in effective(worktree, config, overrides)
        .skills
        .into_iter()
        .filter(|s| s.enabled)
    {
        let name = skill.skill.skill_name.clone();
        place(
            skill.skill.trigger(),
            HookStep {
                prompt: Some(format!(
                    "Use the `{name}` skill, then report its result with `openkit activity hook-report {name}` (`--failed` if it did not pass) or the MCP tool `report_hook_result`."
                )),
                name,
                kind: "skill".into(),
                command: None,
                condition: skill.skill.condition_title.or(skill.skill.condition),
            },
        );
    }
    groups
}

/// The issue as cached in `.openkit/issues/<source>/<id>/issue.json` (trackers save their
/// issues there; local tasks are their own `issue.json`).
fn cached_issue(paths: &Paths, issue: &IssueRef) -> Option<Issue> {
    let value = persist::read_json::<Value>(&issue.dir(paths).join("issue.json"))
        .ok()
        .flatten()?;
    let status = match &value["status"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
        _ => "unknown".to_string(),
    };
    let comments = value["comments"]
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
    Some(Issue {
        summary: IssueSummary {
            issue: issue.clone(),
            title: str_at(&value, &["title", "summary"])
                .unwrap_or(issue.id.as_str())
                .to_string(),
            status,
            url: str_at(&value, &["url"]).map(str::to_string),
        },
        description: str_at(&value, &["description"])
            .unwrap_or_default()
            .to_string(),
        comments,
        attachments: Vec::new(),
    })
}

/// An issue nothing is known about but its notes.
fn notes_only(issue: &IssueRef) -> Issue {
    Issue {
        summary: IssueSummary {
            issue: issue.clone(),
            title: issue.id.to_string(),
            status: "unknown".into(),
            url: None,
        },
        description: String::new(),
        comments: Vec::new(),
        attachments: Vec::new(),
    }
}

/// Builds the context of `issue`, for any source `notes` accepts. The issue comes from
/// its source's adapter when one is registered (its "not found" means no context), else
/// from the cached `issue.json`; an adapter failure falls back to the cache. An issue
/// known only by its notes gets its id as title. `Ok(None)` when nothing is known.
pub async fn task_context(
    notes: &NotesStore,
    paths: &Paths,
    local: &LocalConfig,
    issue: &IssueRef,
) -> Result<Option<TaskContext>, IssueError> {
    let issue_notes = match notes.get(issue) {
        Ok(n) => n,
        Err(NotesError::Issue(e)) => return Err(e),
        Err(e) => return Err(IssueError::adapter(e)),
    };
    let has_notes = issue_notes != Notes::default();
    let found = match notes.sources().find(&issue.source) {
        Some(adapter) => match adapter.get(&issue.id).await {
            Ok(found) => found,
            Err(IssueError::NotFound(_)) => return Ok(None),
            Err(e) => match cached_issue(paths, issue) {
                Some(cached) => {
                    tracing::warn!("{issue}: {e}; using the cached issue");
                    cached
                }
                None if has_notes => notes_only(issue),
                None => return Err(e),
            },
        },
        None => match cached_issue(paths, issue) {
            Some(cached) => cached,
            None if has_notes => notes_only(issue),
            None => return Ok(None),
        },
    };
    let hooks = hook_groups_with(paths, &crate::hooks::overrides_of(&issue_notes));
    Ok(Some(TaskContext {
        identifier: issue.id.to_string(),
        source: issue.source.clone(),
        title: found.summary.title,
        status: found.summary.status,
        url: found.summary.url,
        description: found.description,
        extra_context: issue_notes.ai_context.map(|s| s.content),
        comments: found.comments,
        todos: issue_notes.todos,
        attachments: found
            .attachments
            .into_iter()
            .map(|a| ContextAttachment {
                filename: a.filename,
                local_path: a
                    .local_path
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                mime_type: a.mime_type,
                url: a.url,
            })
            .collect(),
        hooks,
        git_policy: effective_policy(issue_notes.git_policy.as_ref(), local),
        worktree_id: issue_notes.linked_worktree_id,
    }))
}

/// Finds the issue for a worktree: the one whose notes link it (any accepted source),
/// else a local task with the worktree's id.
pub fn issue_for_worktree(
    notes: &NotesStore,
    tasks: &LocalTasks,
    worktree_id: &str,
) -> Option<IssueRef> {
    if let Some(issue) = notes.linked_issue(worktree_id) {
        return Some(issue);
    }
    tasks
        .list()
        .into_iter()
        .find(|t| t.id.eq_ignore_ascii_case(worktree_id))
        .and_then(|t| IssueRef::local(&t.id).ok())
}

/// Finds the source of an issue id: local when a task has it, else the first accepted
/// source (by name) with a folder for it, else the first registered source whose adapter
/// knows it without asking its tracker ([`IssueSource::peek`](crate::issues::IssueSource::peek)).
pub fn source_of(
    notes: &NotesStore,
    tasks: &LocalTasks,
    paths: &Paths,
    id: &str,
) -> Option<IssueRef> {
    if tasks.get(id).is_ok() {
        return IssueRef::local(id).ok();
    }
    let sources = notes.sources();
    let known = sources.known();
    known
        .iter()
        .filter_map(|s| IssueRef::parse(s.as_str(), id).ok())
        .find(|issue| issue.dir(paths).is_dir())
        .or_else(|| {
            sources.names().into_iter().find_map(|s| {
                let issue = IssueRef::parse(s.as_str(), id).ok()?;
                sources.find(&s)?.peek(&issue.id).map(|_| issue)
            })
        })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::config::ConfigStore;
    use crate::error::{DomainError, IoFailure};
    use crate::issues::{Capabilities, IssueId, IssueSource, IssueSources, LocalIssues};
    use crate::tasks::TaskFields;

    struct Project {
        _dir: tempfile::TempDir,
        paths: Paths,
        tasks: Arc<LocalTasks>,
        notes: NotesStore,
    }

    fn project() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        let tasks = Arc::new(LocalTasks::new(paths.clone()));
        let sources = Arc::new(IssueSources::new());
        sources.register(Arc::new(LocalIssues::new(
            Arc::clone(&tasks),
            ConfigStore::new(paths.clone()),
        )));
        let notes = NotesStore::new(paths.clone()).with_sources(sources);
        Project {
            _dir: dir,
            paths,
            tasks,
            notes,
        }
    }

    async fn context(p: &Project, issue: &IssueRef) -> Result<Option<TaskContext>, IssueError> {
        task_context(&p.notes, &p.paths, &LocalConfig::default(), issue).await
    }

    #[tokio::test]
    async fn hooks_are_grouped_by_trigger_with_the_issues_skill_overrides() {
        let p = project();
        let task = p
            .tasks
            .create(
                "LOCAL",
                TaskFields {
                    title: Some("Hooked".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        crate::persist::write_json(
            &p.paths.openkit_dir().join("hooks.json"),
            &json!({
                "steps": [
                    { "id": "t", "name": "Tests", "command": "cargo test" },
                    { "id": "p", "name": "Plan", "kind": "prompt", "prompt": "Plan it", "trigger": "pre-implementation" },
                    { "id": "c", "name": "Created", "command": "true", "trigger": "worktree-created" }
                ],
                "skills": [
                    { "skillName": "review", "enabled": false },
                    { "skillName": "audit", "enabled": true, "trigger": "custom", "condition": "auth code changed" }
                ]
            }),
        )
        .unwrap();
        let issue = IssueRef::local(&task.id).unwrap();
        let shown = |c: &TaskContext| -> Vec<Vec<String>> {
            [
                &c.hooks.pre_implementation,
                &c.hooks.post_implementation,
                &c.hooks.custom,
            ]
            .iter()
            .map(|g| g.iter().map(|s| format!("{}:{}", s.kind, s.name)).collect())
            .collect()
        };
        let plain = context(&p, &issue).await.unwrap().unwrap();
        assert_eq!(
            shown(&plain),
            [
                vec!["prompt:Plan"],
                vec!["command:Tests"],
                vec!["skill:audit"]
            ],
            "lifecycle steps and disabled skills are not shown"
        );
        p.notes
            .update(&issue, |n| {
                n.extra.insert(
                    "hookSkills".into(),
                    json!({ "post-implementation:review": "enable", "custom:audit": "disable" }),
                );
                Ok(())
            })
            .unwrap();
        let overridden = context(&p, &issue).await.unwrap().unwrap();
        assert_eq!(
            shown(&overridden),
            [
                vec!["prompt:Plan"],
                vec!["command:Tests", "skill:review"],
                Vec::<&str>::new()
            ]
        );
        assert!(
            overridden
                .to_markdown()
                .contains("- **review**: Use the `review` skill, then report its result with `openkit activity hook-report review`"),
            "{}",
            overridden.to_markdown()
        );
    }

    #[tokio::test]
    async fn local_tasks_come_from_their_adapter() {
        let p = project();
        let task = p
            .tasks
            .create(
                "LOCAL",
                TaskFields {
                    title: Some("Add login".into()),
                    description: Some("Email and password".into()),
                    ..TaskFields::default()
                },
            )
            .unwrap();
        p.tasks.add_attachment(&task.id, "shot.png", b"x").unwrap();
        let issue = IssueRef::local(&task.id).unwrap();
        p.notes
            .set_section(&issue, "aiContext", "Reuse the form")
            .unwrap();
        p.notes.link(&issue, Some("LOCAL-1")).unwrap();
        let ctx = context(&p, &issue).await.unwrap().unwrap();
        assert_eq!(
            (ctx.source.as_str(), ctx.title.as_str(), ctx.status.as_str()),
            ("local", "Add login", "todo")
        );
        assert_eq!(ctx.extra_context.as_deref(), Some("Reuse the form"));
        assert_eq!(ctx.attachments[0].filename, "shot.png");
        assert!(
            ctx.attachments[0]
                .local_path
                .ends_with("attachments/shot.png")
        );
        assert_eq!(ctx.worktree_id.as_deref(), Some("LOCAL-1"));
        assert!(
            context(&p, &IssueRef::local("LOCAL-9").unwrap())
                .await
                .unwrap()
                .is_none()
        );

        assert_eq!(
            issue_for_worktree(&p.notes, &p.tasks, "LOCAL-1"),
            Some(issue.clone())
        );
        p.notes.link(&issue, None).unwrap();
        // Not linked, but a task has the worktree's id.
        assert_eq!(
            issue_for_worktree(&p.notes, &p.tasks, "local-1"),
            Some(issue.clone())
        );
        assert_eq!(issue_for_worktree(&p.notes, &p.tasks, "other"), None);
        assert_eq!(
            source_of(&p.notes, &p.tasks, &p.paths, "LOCAL-1"),
            Some(issue)
        );
    }

    #[tokio::test]
    async fn tracker_issues_without_an_adapter_come_from_the_cache() {
        let p = project();
        let jira = IssueRef::parse("jira", "PROJ-1").unwrap();
        assert!(context(&p, &jira).await.unwrap().is_none());
        crate::persist::write_json(
            &jira.dir(&p.paths).join("issue.json"),
            &json!({
                "summary": "Fix the login", "status": {"name": "In Progress"},
                "url": "https://jira.invalid/PROJ-1", "description": "It breaks",
                "comments": [{"author": "ann", "created": "2025-01-01", "body": "Seen it"}]
            }),
        )
        .unwrap();
        let ctx = context(&p, &jira).await.unwrap().unwrap();
        assert_eq!(
            (ctx.title.as_str(), ctx.status.as_str(), ctx.url.as_deref()),
            (
                "Fix the login",
                "In Progress",
                Some("https://jira.invalid/PROJ-1")
            )
        );
        assert_eq!(ctx.comments[0].author, "ann");
        let md = ctx.to_markdown();
        assert!(md.starts_with("# PROJ-1 — Fix the login\n"), "{md}");
        assert!(
            md.contains("**Source:** jira") && md.contains("## Comments"),
            "{md}"
        );
        assert_eq!(
            source_of(&p.notes, &p.tasks, &p.paths, "PROJ-1"),
            Some(jira)
        );

        // Known by its notes only.
        let linear = IssueRef::parse("linear", "ENG-2").unwrap();
        p.notes.add_todo(&linear, "ask design").unwrap();
        let ctx = context(&p, &linear).await.unwrap().unwrap();
        assert_eq!(
            (ctx.title.as_str(), ctx.status.as_str()),
            ("ENG-2", "unknown")
        );
        assert_eq!(ctx.todos[0].text, "ask design");

        let err = context(&p, &IssueRef::parse("svn", "X-1").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_SOURCE");
    }

    /// A tracker that is down.
    struct Down(SourceId);

    #[async_trait]
    impl IssueSource for Down {
        fn source(&self) -> &SourceId {
            &self.0
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::READ_ONLY
        }
        async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
            Ok(Vec::new())
        }
        async fn get(&self, _id: &IssueId) -> Result<Issue, IssueError> {
            Err(IssueError::adapter(IoFailure::new(
                "asking the tracker",
                std::io::Error::other("connection refused"),
            )))
        }
    }

    #[tokio::test]
    async fn a_failing_adapter_falls_back_to_the_cache() {
        let p = project();
        p.notes
            .sources()
            .register(Arc::new(Down(SourceId::new("acme").unwrap())));
        let cached = IssueRef::parse("acme", "A-1").unwrap();
        crate::persist::write_json(
            &cached.dir(&p.paths).join("issue.json"),
            &json!({"title": "Cached title", "status": "open"}),
        )
        .unwrap();
        let ctx = context(&p, &cached).await.unwrap().unwrap();
        assert_eq!(
            (ctx.title.as_str(), ctx.source.as_str()),
            ("Cached title", "acme")
        );
        let uncached = IssueRef::parse("acme", "A-2").unwrap();
        let err = context(&p, &uncached).await.unwrap_err();
        assert_eq!(err.code(), "IO_ERROR");
    }
}
