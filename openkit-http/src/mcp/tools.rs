//! The MCP tools, defined once: each is a call into the same core services the REST
//! routes use (the [`Workbench`] façade, the PTY [`TerminalManager`]), checked against the
//! caller's [`Scope`] first.

use std::sync::Arc;

use axum::http::request::Parts;
use openkit_core::agent_reports::AgentReport;
use openkit_core::context::{issue_for_worktree, source_of, task_context};
use openkit_core::issues::IssueRef;
use openkit_core::task_worktree::TaskWorktree;
use openkit_core::worktree::ROOT_ID;
use openkit_core::{DomainError, Workbench};
use openkit_pty::TerminalManager;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::Serialize;
use serde_json::json;

use super::SCOPE_HEADER;
use crate::wire::activity::ActivityEvent as WireEvent;
use crate::wire::hooks::{
    EffectiveHooksConfig, HookFlow, HookReported, HookStatus, PipelineRun, StepResult,
};
use crate::wire::mcp::{
    AwaitInputArgs, CreateWorktreeForIssueArgs, HookArgs, HookReportArgs, HookResults, HookRunArgs,
    ReportPhaseArgs, ReportRecorded, TaskArgs, TerminalInputArgs, TerminalInputSent,
    TerminalListArgs, TerminalReadArgs, TerminalScreen, TerminalSession, TerminalSessions,
    TodoCheckArgs, TodoChecked, TodoList, WorktreeStates,
};
use crate::wire::notes::Todo;
use crate::wire::tasks::{TaskWorktreeCreated, TaskWorktreeReused};
use crate::wire::worktrees::WorktreeInfo;
use crate::wire::{False, True};

/// A tool call that failed: shown to the agent as a tool error (`isError: true`) whose
/// text says why, with the envelope `{success: false, error, code}` as structured content.
#[derive(Debug)]
pub(crate) struct ToolError {
    code: &'static str,
    message: String,
}

impl ToolError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        ToolError {
            code,
            message: message.into(),
        }
    }

    /// A call outside the session's scope.
    fn outside_scope(message: impl Into<String>) -> Self {
        ToolError::new("OUTSIDE_SCOPE", message)
    }

    fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::error(vec![ContentBlock::text(format!(
            "{} ({})",
            self.message, self.code
        ))]);
        result.structured_content = Some(json!({
            "success": false, "error": self.message, "code": self.code,
        }));
        result
    }
}

impl<E: DomainError> From<E> for ToolError {
    fn from(e: E) -> Self {
        ToolError::new(e.code(), e.to_string())
    }
}

type ToolResult = Result<CallToolResult, ErrorData>;

/// A tool's answer: JSON data (text and structured content), or its error.
fn answer<T: Serialize>(result: Result<T, ToolError>) -> ToolResult {
    Ok(
        match result.and_then(|value| {
            serde_json::to_value(value).map_err(|e| ToolError::new("INTERNAL_ERROR", e.to_string()))
        }) {
            Ok(value) => CallToolResult::structured(value),
            Err(e) => e.into_result(),
        },
    )
}

/// Who calls: a session scoped to one worktree (an agent's `openkit mcp`, which sends
/// `X-OpenKit-Scope: <worktree id>`) may touch only that worktree: its task, todos,
/// reports and terminals. A session without a scope (a developer's client on `/mcp`) may
/// touch every worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every worktree.
    All,
    /// Only this worktree (its canonical id).
    Worktree(String),
}

impl Scope {
    /// The scope the request carries, resolved to a canonical worktree id. A scope naming
    /// no worktree refuses everything rather than falling back to no scope.
    async fn of(
        workbench: &Workbench,
        context: &RequestContext<RoleServer>,
    ) -> Result<Self, ToolError> {
        let Some(parts) = context.extensions.get::<Parts>() else {
            return Ok(Scope::All);
        };
        let Some(raw) = parts.headers.get(SCOPE_HEADER) else {
            return Ok(Scope::All);
        };
        let raw = raw
            .to_str()
            .map_err(|_| ToolError::outside_scope("The session's scope is not a worktree id"))?
            .trim();
        match workbench.resolve(raw).await {
            Ok(id) => Ok(Scope::Worktree(id)),
            Err(e) => Err(ToolError::outside_scope(format!(
                "The session is scoped to worktree \"{raw}\", which cannot be used: {e}"
            ))),
        }
    }

    /// The worktree a call means: the one it names (resolved), else the session's own;
    /// `None` when neither (unscoped, nothing named). Naming another worktree than its
    /// own is refused to a scoped session.
    async fn worktree(
        &self,
        workbench: &Workbench,
        asked: Option<&str>,
    ) -> Result<Option<String>, ToolError> {
        let asked = match asked.map(str::trim).filter(|a| !a.is_empty()) {
            Some(asked) => Some(workbench.resolve(asked).await?),
            None => None,
        };
        match (self, asked) {
            (Scope::All, asked) => Ok(asked),
            (Scope::Worktree(own), None) => Ok(Some(own.clone())),
            (Scope::Worktree(own), Some(asked)) if &asked == own => Ok(Some(asked)),
            (Scope::Worktree(own), Some(asked)) => Err(ToolError::outside_scope(format!(
                "This session is scoped to worktree \"{own}\" and may not touch worktree \"{asked}\""
            ))),
        }
    }

    /// Refuses a scoped session anything of another worktree than its own.
    fn check(&self, worktree_id: &str, what: &str) -> Result<(), ToolError> {
        match self {
            Scope::Worktree(own) if !own.eq_ignore_ascii_case(worktree_id) => {
                Err(ToolError::outside_scope(format!(
                    "This session is scoped to worktree \"{own}\"; {what} belongs to worktree \"{worktree_id}\""
                )))
            }
            _ => Ok(()),
        }
    }
}

/// The MCP server of one OpenKit project: one per MCP session.
#[derive(Clone)]
pub struct OpenKitTools {
    workbench: Arc<Workbench>,
    terminals: TerminalManager,
    tool_router: ToolRouter<OpenKitTools>,
}

impl std::fmt::Debug for OpenKitTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenKitTools").finish_non_exhaustive()
    }
}

impl OpenKitTools {
    /// The tools over `workbench` and the server's terminal sessions.
    pub fn new(workbench: Arc<Workbench>, terminals: TerminalManager) -> Self {
        OpenKitTools {
            workbench,
            terminals,
            tool_router: Self::tool_router(),
        }
    }

    /// The issue a task-tool call means (see [`TaskArgs`]): an issue id is accepted from a
    /// scoped session only when it is its own worktree's.
    async fn issue(&self, scope: &Scope, args: &TaskArgs) -> Result<IssueRef, ToolError> {
        let wb = &self.workbench;
        let worktree = scope.worktree(wb, args.worktree_id.as_deref()).await?;
        let linked = |worktree: &str| {
            issue_for_worktree(wb.notes(), wb.tasks(), worktree).ok_or_else(|| {
                ToolError::new(
                    "ISSUE_NOT_FOUND",
                    format!("Worktree \"{worktree}\" is not linked to any task"),
                )
            })
        };
        let Some(id) = args
            .issue_id
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
        else {
            return match worktree {
                Some(worktree) => linked(&worktree),
                None => Err(ToolError::new(
                    "INVALID_INPUT",
                    "Name the task: pass issue_id or worktree_id",
                )),
            };
        };
        let named = source_of(wb.notes(), wb.tasks(), wb.paths(), id).ok_or_else(|| {
            ToolError::new(
                "ISSUE_NOT_FOUND",
                format!("No task or issue \"{id}\" in this project"),
            )
        })?;
        if let Scope::Worktree(own) = scope {
            let mine = linked(own)?;
            let same = mine.source == named.source
                && mine.id.as_str().eq_ignore_ascii_case(named.id.as_str());
            if !same {
                return Err(ToolError::outside_scope(format!(
                    "This session is scoped to worktree \"{own}\", whose task is {mine}; it may not touch {named}"
                )));
            }
        }
        Ok(named)
    }

    /// Records an agent's report for the worktree the call means.
    async fn report(
        &self,
        context: &RequestContext<RoleServer>,
        worktree_id: Option<&str>,
        report: AgentReport,
    ) -> Result<ReportRecorded, ToolError> {
        let scope = Scope::of(&self.workbench, context).await?;
        // The main checkout reports as no worktree, as `openkit activity` run there does.
        let worktree = scope
            .worktree(&self.workbench, worktree_id)
            .await?
            .filter(|w| w != ROOT_ID);
        let event = report.event(worktree.as_deref());
        let backbone = Arc::clone(self.workbench.backbone());
        let candidate = event.clone();
        let recorded = tokio::task::spawn_blocking(move || backbone.record_activity(candidate))
            .await
            .map_err(|e| ToolError::new("INTERNAL_ERROR", e.to_string()))??;
        Ok(match recorded {
            Some(event) => ReportRecorded {
                event: WireEvent::from(event.as_ref()),
                suppressed: None,
            },
            None => {
                let mut event = event;
                openkit_core::backbone::redact_activity(&mut event);
                ReportRecorded {
                    event: WireEvent::from(&event),
                    suppressed: Some(true),
                }
            }
        })
    }

    /// The worktree a hooks tool means: named or the session's own; an unscoped session
    /// must name one.
    async fn hook_worktree(
        &self,
        context: &RequestContext<RoleServer>,
        asked: Option<&str>,
    ) -> Result<String, ToolError> {
        let scope = Scope::of(&self.workbench, context).await?;
        scope
            .worktree(&self.workbench, asked)
            .await?
            .ok_or_else(|| {
                ToolError::new(
                    "INVALID_INPUT",
                    "Name the worktree: pass worktree_id (\"root\" for the main checkout)",
                )
            })
    }

    /// A terminal session the caller may touch.
    fn session(&self, scope: &Scope, id: &str) -> Result<openkit_pty::SessionInfo, ToolError> {
        let session = self.terminals.get(id.trim())?;
        scope.check(&session.worktree_id, "this terminal")?;
        Ok(session)
    }
}

#[tool_router]
impl OpenKitTools {
    /// The task of a worktree as Markdown: description, extra context, comments, todos
    /// with their ids, attachments, hook steps, git policy. The same text
    /// `openkit task context` prints.
    #[tool(annotations(title = "Task context", read_only_hint = true))]
    async fn task_context(
        &self,
        Parameters(args): Parameters<TaskArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let result = async {
            let scope = Scope::of(&self.workbench, &context).await?;
            let issue = self.issue(&scope, &args).await?;
            let wb = &self.workbench;
            let local = wb.config().load_local()?;
            task_context(wb.notes(), wb.paths(), &local, &issue)
                .await?
                .ok_or_else(|| {
                    ToolError::new("ISSUE_NOT_FOUND", format!("Nothing is known about {issue}"))
                })
        }
        .await;
        Ok(match result {
            Ok(context) => CallToolResult::success(vec![ContentBlock::text(context.to_markdown())]),
            Err(e) => e.into_result(),
        })
    }

    /// The todos of a task, with their ids and whether they are done.
    #[tool(annotations(title = "List todos", read_only_hint = true))]
    async fn todos_list(
        &self,
        Parameters(args): Parameters<TaskArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let issue = self.issue(&scope, &args).await?;
                let notes = self.workbench.notes().get(&issue)?;
                Ok(TodoList {
                    source: issue.source.to_string(),
                    issue_id: issue.id.to_string(),
                    todos: notes.todos.iter().map(Todo::from).collect(),
                })
            }
            .await,
        )
    }

    /// Checks off a todo of a task (or marks it not done with `checked: false`).
    #[tool(annotations(title = "Check a todo", idempotent_hint = true))]
    async fn todo_check(
        &self,
        Parameters(args): Parameters<TodoCheckArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let issue = self.issue(&scope, &args.task).await?;
                let todo_id = args.todo_id.trim();
                let notes = self.workbench.notes().update_todo(
                    &issue,
                    todo_id,
                    None,
                    Some(args.checked),
                )?;
                let todo = notes
                    .todos
                    .iter()
                    .find(|t| t.id == todo_id)
                    .map(Todo::from)
                    .ok_or_else(|| ToolError::new("TODO_NOT_FOUND", "Todo not found"))?;
                Ok(TodoChecked { todo })
            }
            .await,
        )
    }

    /// Reports the phase the agent entered (planning, implementing, testing, ...) to the
    /// activity feed, like `openkit activity phase`.
    #[tool(annotations(title = "Report phase", destructive_hint = false))]
    async fn report_phase(
        &self,
        Parameters(args): Parameters<ReportPhaseArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let phase = args.phase.trim().to_string();
        if phase.is_empty() {
            return answer::<ReportRecorded>(Err(ToolError::new(
                "INVALID_INPUT",
                "\"phase\" must not be empty",
            )));
        }
        answer(
            self.report(
                &context,
                args.worktree_id.as_deref(),
                AgentReport::Phase { phase },
            )
            .await,
        )
    }

    /// Tells the developer the agent waits for their input (a notification in the
    /// dashboard), like `openkit activity await-input`.
    #[tool(annotations(title = "Await input", destructive_hint = false))]
    async fn await_input(
        &self,
        Parameters(args): Parameters<AwaitInputArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let message = args
            .message
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        answer(
            self.report(
                &context,
                args.worktree_id.as_deref(),
                AgentReport::AwaitingInput { message },
            )
            .await,
        )
    }

    /// The worktrees with their state (status, branch, git status, dev-server ports,
    /// linked issue), as `GET /api/worktrees` lists them. A session scoped to a worktree
    /// sees only its own.
    #[tool(annotations(title = "List worktrees", read_only_hint = true))]
    async fn list_worktrees(&self, context: RequestContext<RoleServer>) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let list = self.workbench.worktrees().await?;
                Ok(WorktreeStates {
                    worktrees: list
                        .iter()
                        .filter(|w| scope.check(&w.id, "it").is_ok())
                        .map(WorktreeInfo::from)
                        .collect(),
                })
            }
            .await,
        )
    }

    /// Creates a worktree for a local task (or reuses the one with the task's id) and
    /// links it to the task, like `POST /api/tasks/:id/create-worktree`. Not for
    /// sessions scoped to a worktree.
    #[tool(annotations(title = "Create a worktree for an issue", destructive_hint = false))]
    async fn create_worktree_for_issue(
        &self,
        Parameters(args): Parameters<CreateWorktreeForIssueArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let result = async {
            if let Scope::Worktree(own) = Scope::of(&self.workbench, &context).await? {
                return Err(ToolError::outside_scope(format!(
                    "This session is scoped to worktree \"{own}\" and may not create worktrees"
                )));
            }
            let made = self
                .workbench
                .create_worktree_for_task(args.issue_id.trim(), args.branch)
                .await?;
            Ok(made)
        }
        .await;
        match result {
            Ok(TaskWorktree::Reused {
                worktree_id,
                worktree_path,
            }) => answer(Ok(TaskWorktreeReused {
                success: True,
                worktree_id,
                worktree_path,
                reused_existing: True,
            })),
            Ok(TaskWorktree::Created { worktree }) => answer(Ok(TaskWorktreeCreated {
                success: True,
                worktree: worktree.as_ref().into(),
                reused_existing: False,
            })),
            Err(e) => answer::<()>(Err(e)),
        }
    }

    /// The terminal sessions of a worktree (of every worktree for an unscoped session
    /// that names none), with their ids for `terminal_read_screen` and
    /// `terminal_send_input`.
    #[tool(annotations(title = "List terminals", read_only_hint = true))]
    async fn terminal_list(
        &self,
        Parameters(args): Parameters<TerminalListArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let worktree = scope
                    .worktree(&self.workbench, args.worktree_id.as_deref())
                    .await?;
                let sessions = self
                    .terminals
                    .list()
                    .iter()
                    .filter(|s| {
                        worktree
                            .as_deref()
                            .is_none_or(|w| s.worktree_id.eq_ignore_ascii_case(w))
                    })
                    .map(TerminalSession::from)
                    .collect();
                Ok(TerminalSessions { sessions })
            }
            .await,
        )
    }

    /// What a terminal shows now, as text (rows, cursor, whether a full-screen program
    /// runs). Reading attaches nothing and changes nothing.
    #[tool(annotations(title = "Read a terminal's screen", read_only_hint = true))]
    async fn terminal_read_screen(
        &self,
        Parameters(args): Parameters<TerminalReadArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let session = self.session(&scope, &args.session_id)?;
                let screen = self.terminals.screen(&session.id)?;
                Ok(TerminalScreen::new(&session.id, screen))
            }
            .await,
        )
    }

    /// The hooks that apply to a worktree: every step (command steps OpenKit runs,
    /// prompt steps that are instructions for you) and every skill, with the task's
    /// overrides applied.
    #[tool(annotations(title = "Hook steps", read_only_hint = true))]
    async fn hook_steps(
        &self,
        Parameters(args): Parameters<HookArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let worktree = self
                    .hook_worktree(&context, args.worktree_id.as_deref())
                    .await?;
                let config = self.workbench.hook_effective_config(&worktree).await?;
                Ok(EffectiveHooksConfig::from(&config))
            }
            .await,
        )
    }

    /// Runs the enabled command steps of a trigger (default post-implementation), or one
    /// step, in the worktree and answers with the finished run. Steps that already passed
    /// on the current tree are not run again unless `force`.
    #[tool(annotations(title = "Run hooks", destructive_hint = false))]
    async fn hook_run(
        &self,
        Parameters(args): Parameters<HookRunArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let result = async {
            let worktree = self
                .hook_worktree(&context, args.worktree_id.as_deref())
                .await?;
            if let Some(step) = args
                .step_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let result = self
                    .workbench
                    .run_hook_step(&worktree, step, args.force)
                    .await?;
                return serde_json::to_value(StepResult::from(&result))
                    .map_err(|e| ToolError::new("INTERNAL_ERROR", e.to_string()));
            }
            let trigger = crate::wire::hooks::trigger(args.trigger.as_deref())?
                .unwrap_or(openkit_core::hooks::Trigger::PostImplementation);
            let (_, handle) = self
                .workbench
                .run_hooks(&worktree, trigger, args.force)
                .await?;
            let run = handle
                .await
                .map_err(|e| ToolError::new("INTERNAL_ERROR", e.to_string()))?;
            serde_json::to_value(PipelineRun::from(&run))
                .map_err(|e| ToolError::new("INTERNAL_ERROR", e.to_string()))
        }
        .await;
        answer(result)
    }

    /// The worktree's hook results (the latest run, the latest result of every step, the
    /// skill reports) and which required steps and skills are not done yet.
    #[tool(annotations(title = "Hook results", read_only_hint = true))]
    async fn hook_results(
        &self,
        Parameters(args): Parameters<HookArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let worktree = self
                    .hook_worktree(&context, args.worktree_id.as_deref())
                    .await?;
                let (_, file) = self.workbench.hook_results(&worktree).await?;
                let flow = self.workbench.hook_flow(&worktree).await?;
                Ok(HookResults {
                    results: HookStatus::from(&file),
                    flow: HookFlow::from(&flow),
                })
            }
            .await,
        )
    }

    /// Reports the result of a hook skill you used (`skill_name`), or of a command step
    /// you ran yourself (`step_id`), like `openkit activity hook-report`.
    #[tool(annotations(title = "Report a hook result", destructive_hint = false))]
    async fn report_hook_result(
        &self,
        Parameters(args): Parameters<HookReportArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let worktree = self
                    .hook_worktree(&context, args.worktree_id.as_deref())
                    .await?;
                let trigger = crate::wire::hooks::trigger(args.trigger.as_deref())?
                    .unwrap_or(openkit_core::hooks::Trigger::PostImplementation);
                let step = args
                    .step_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty());
                let step_result = match (step, args.skill_name.as_deref()) {
                    (Some(step), _) => Some(
                        self.workbench
                            .report_hook_step(&worktree, step, args.success, args.summary)
                            .await?,
                    ),
                    (None, Some(skill)) => {
                        self.workbench
                            .report_hook_skill(
                                &worktree,
                                skill,
                                trigger,
                                args.success,
                                args.summary,
                                args.content,
                            )
                            .await?;
                        None
                    }
                    (None, None) => {
                        return Err(ToolError::new(
                            "INVALID_INPUT",
                            "Name what is reported: skill_name or step_id",
                        ));
                    }
                };
                Ok(HookReported {
                    success: True,
                    step_result: step_result.as_ref().map(StepResult::from),
                })
            }
            .await,
        )
    }

    /// Types text into a terminal, optionally pressing Enter after it.
    #[tool(annotations(title = "Send input to a terminal", destructive_hint = true))]
    async fn terminal_send_input(
        &self,
        Parameters(args): Parameters<TerminalInputArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        answer(
            async {
                let scope = Scope::of(&self.workbench, &context).await?;
                let session = self.session(&scope, &args.session_id)?;
                let mut input = args.text.into_bytes();
                if args.press_enter {
                    input.push(b'\r');
                }
                self.terminals.write(&session.id, &input)?;
                Ok(TerminalInputSent {
                    session_id: session.id,
                    bytes: input.len(),
                })
            }
            .await,
        )
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for OpenKitTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("openkit", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "OpenKit: the workbench this agent runs in. Read your task with task_context, \
                 check off todos with todo_check, report your phase with report_phase and call \
                 await_input when you need the developer. Before your work leaves the worktree, \
                 run its checks with hook_run, see what is still required with hook_results \
                 and report skills you used with report_hook_result. A session started by `openkit mcp` \
                 in a worktree may touch only that worktree.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_admits_only_its_own_worktree() {
        let all = Scope::All;
        assert!(all.check("anything", "it").is_ok());
        let mine = Scope::Worktree("LOCAL-1".into());
        assert!(mine.check("LOCAL-1", "it").is_ok());
        assert!(
            mine.check("local-1", "it").is_ok(),
            "ids compare case-insensitively"
        );
        let refused = mine.check("LOCAL-2", "this terminal").unwrap_err();
        assert_eq!(refused.code, "OUTSIDE_SCOPE");
        assert_eq!(
            refused.message,
            "This session is scoped to worktree \"LOCAL-1\"; this terminal belongs to worktree \"LOCAL-2\""
        );
    }

    #[test]
    fn a_tool_error_is_an_mcp_error_result_with_the_envelope() {
        let result = ToolError::new("TASK_NOT_FOUND", "Task not found").into_result();
        assert_eq!(result.is_error, Some(true));
        assert_eq!(
            result.structured_content,
            Some(json!({ "success": false, "error": "Task not found", "code": "TASK_NOT_FOUND" }))
        );
        assert_eq!(
            result.content[0].as_text().map(|t| t.text.as_str()),
            Some("Task not found (TASK_NOT_FOUND)")
        );
    }
}
