//! Commands agents run inside their worktree: `openkit task ...` and
//! `openkit activity await-input|phase|check-flow|todo`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use std::sync::Arc;

use openkit_core::agent_reports::AgentReport;
use openkit_core::context::{issue_for_worktree, source_of, task_context};
use openkit_core::issues::IssueRef;
use openkit_core::notes::NotesStore;
use openkit_core::tasks::LocalTasks;
use openkit_core::worktree::ROOT_ID;
use openkit_core::{ConfigStore, Paths};
use serde_json::{Value, json};

use crate::cli::{ActivityAction, TaskCommand};
use crate::client::ServerClient;
use crate::commands::project_paths;

/// The worktree `cwd` is in: `<project>/.openkit/worktrees/<id>/...`.
pub fn worktree_of(paths: &Paths, cwd: &Path) -> Option<String> {
    let cwd = cwd.canonicalize().ok()?;
    let root = paths.worktrees_dir().canonicalize().ok()?;
    let rest = cwd.strip_prefix(&root).ok()?;
    rest.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
}

/// The project's notes and local tasks, accepting the sources the server would (local
/// tasks registered, built-in tracker names).
fn issue_stores(paths: &Paths) -> (NotesStore, Arc<LocalTasks>) {
    let tasks = Arc::new(LocalTasks::new(paths.clone()));
    let sources = openkit_core::compose::defaults::issue_sources(paths, &tasks);
    (NotesStore::new(paths.clone()).with_sources(sources), tasks)
}

/// The issue an explicit id or the current worktree refers to.
fn resolve_issue(
    paths: &Paths,
    notes: &NotesStore,
    tasks: &LocalTasks,
    cwd: &Path,
    id: Option<&str>,
) -> anyhow::Result<IssueRef> {
    match id {
        Some(id) => source_of(notes, tasks, paths, id)
            .ok_or_else(|| anyhow!("no task or issue {id:?} in this project")),
        None => {
            let worktree = worktree_of(paths, cwd).ok_or_else(|| {
                anyhow!(
                    "not inside a worktree: pass a task id (e.g. `openkit task context LOCAL-1`)"
                )
            })?;
            issue_for_worktree(notes, tasks, &worktree)
                .ok_or_else(|| anyhow!("worktree {worktree:?} is not linked to any task"))
        }
    }
}

/// `openkit task ...`
pub async fn task(cwd: &Path, cmd: TaskCommand) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let (notes, tasks) = issue_stores(&paths);
    match cmd {
        TaskCommand::Context { id, json } => {
            let issue = resolve_issue(&paths, &notes, &tasks, cwd, id.as_deref())?;
            let local = ConfigStore::new(paths.clone()).load_local()?;
            let context = task_context(&notes, &paths, &local, &issue)
                .await?
                .ok_or_else(|| anyhow!("no task or issue {:?}", issue.id.as_str()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&context)?);
            } else {
                print!("{}", context.to_markdown());
            }
        }
        TaskCommand::Resolve { id, json } => {
            let issue = resolve_issue(&paths, &notes, &tasks, cwd, id.as_deref())?;
            let worktree = notes.get(&issue).ok().and_then(|n| n.linked_worktree_id);
            let (source, id) = (issue.source.as_str(), issue.id.as_str());
            if json {
                println!(
                    "{}",
                    json!({ "source": source, "id": id, "worktreeId": worktree })
                );
            } else {
                println!(
                    "{source} {id}{}",
                    worktree
                        .map(|w| format!(" (worktree {w})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `openkit activity <action>`: reported to the running server so it is stored and
/// broadcast.
pub fn report(cwd: &Path, action: ActivityAction) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let worktree = worktree_of(&paths, cwd);
    let client = ServerClient::find(&paths)?;
    // The event is core's, so the feed shows the same one an MCP client's report gives.
    let post_report = |report: AgentReport| {
        let event = report.event(worktree.as_deref());
        client.send(
            "POST",
            "/api/activity",
            Some(&json!({
                "category": "agent", "type": event.event_type, "severity": event.severity,
                "title": event.title, "detail": event.detail, "worktreeId": event.worktree_id,
                "metadata": event.metadata,
            })),
        )
    };
    match action {
        ActivityAction::AwaitInput { message } => {
            post_report(AgentReport::AwaitingInput { message })?;
            println!("Reported: waiting for input");
        }
        ActivityAction::Phase { phase } => {
            post_report(AgentReport::Phase {
                phase: phase.clone(),
            })?;
            println!("Reported phase: {phase}");
        }
        ActivityAction::CheckFlow { json } => {
            post_report(AgentReport::CheckFlow)?;
            let id = worktree.as_deref().unwrap_or(ROOT_ID);
            let flow = client
                .send("GET", &format!("{}/flow", hooks_path(id)), None)
                .context("reading the hook flow")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&flow)?);
            } else {
                print!("{}", render_flow(&flow));
            }
        }
        ActivityAction::HookReport {
            name,
            step,
            failed,
            trigger,
            summary,
        } => {
            let id = worktree.as_deref().unwrap_or(ROOT_ID);
            let mut body = json!({ "success": !failed, "summary": summary, "trigger": trigger });
            body[if step { "stepId" } else { "skillName" }] = json!(name);
            client
                .send("POST", &format!("{}/report", hooks_path(id)), Some(&body))
                .with_context(|| format!("reporting {name}"))?;
            println!(
                "Reported {} {name}: {}",
                if step { "step" } else { "skill" },
                if failed { "failed" } else { "passed" }
            );
        }
        ActivityAction::Todo { id, uncheck } => {
            let (notes, tasks) = issue_stores(&paths);
            let issue = resolve_issue(&paths, &notes, &tasks, cwd, None)?;
            let path = format!("/api/notes/{}/{}/todos/{id}", issue.source, issue.id);
            client
                .send("PATCH", &path, Some(&json!({ "checked": !uncheck })))
                .with_context(|| format!("updating todo {id} of {issue}"))?;
            println!(
                "Todo {id} {}",
                if uncheck { "unchecked" } else { "checked" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `/api/worktrees/<id>/hooks` (a worktree id may hold spaces).
fn hooks_path(worktree_id: &str) -> String {
    format!("/api/worktrees/{}/hooks", worktree_id.replace(' ', "%20"))
}

/// The text `openkit activity check-flow` prints: what is left to do, and how.
pub fn render_flow(flow: &Value) -> String {
    let id = flow["worktreeId"].as_str().unwrap_or("?");
    let items = flow["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return format!("No required hooks for worktree {id}.\n");
    }
    let open = items.iter().filter(|i| i["state"] != "done").count();
    let mut out = if open == 0 {
        format!(
            "All {} required hooks of worktree {id} are done.\n",
            items.len()
        )
    } else {
        format!(
            "{open} of {} required hooks of worktree {id} are not done:\n",
            items.len()
        )
    };
    for item in &items {
        let (name, trigger) = (
            item["name"].as_str().unwrap_or_default(),
            item["trigger"].as_str().unwrap_or_default(),
        );
        let state = item["state"].as_str().unwrap_or_default();
        let what = match (item["kind"].as_str(), state) {
            (_, "done") => "done".to_string(),
            (Some("step"), _) => {
                let command = item["command"].as_str().unwrap_or_default();
                let why = match state {
                    "failed" => "its last run failed",
                    "stale" => "it passed on an older tree",
                    _ => "not run yet",
                };
                format!(
                    "{why}: run `{command}` (or report your own run with `openkit activity hook-report --step {}`)",
                    item["id"].as_str().unwrap_or_default()
                )
            }
            _ => {
                let why = if state == "failed" {
                    "its last report failed"
                } else {
                    "not reported yet"
                };
                format!(
                    "{why}: use the skill, then `openkit activity hook-report {name}` (`--failed` if it did not pass)"
                )
            }
        };
        let mark = if state == "done" { "x" } else { " " };
        out.push_str(&format!("- [{mark}] {name} ({trigger}): {what}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_says_what_is_left_and_how() {
        let flow = json!({ "worktreeId": "LOCAL-1", "complete": false, "items": [
            { "kind": "step", "id": "test", "name": "Tests", "command": "cargo test", "trigger": "post-implementation", "state": "stale" },
            { "kind": "skill", "id": "review", "name": "review", "trigger": "post-implementation", "state": "missing" },
            { "kind": "step", "id": "lint", "name": "Lint", "command": "make lint", "trigger": "pre-implementation", "state": "done" }
        ]});
        assert_eq!(
            render_flow(&flow),
            "2 of 3 required hooks of worktree LOCAL-1 are not done:\n\
             - [ ] Tests (post-implementation): it passed on an older tree: run `cargo test` (or report your own run with `openkit activity hook-report --step test`)\n\
             - [ ] review (post-implementation): not reported yet: use the skill, then `openkit activity hook-report review` (`--failed` if it did not pass)\n\
             - [x] Lint (pre-implementation): done\n"
        );
        assert_eq!(
            render_flow(&json!({ "worktreeId": "a", "items": [] })),
            "No required hooks for worktree a.\n"
        );
        assert_eq!(hooks_path("my task"), "/api/worktrees/my%20task/hooks");
    }
}
