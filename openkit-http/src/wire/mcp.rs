//! The MCP endpoint (`/mcp`): the JSON-RPC message as documented in the OpenAPI document,
//! the arguments of every MCP tool (JSON Schema through `schemars`, as MCP clients see
//! them in `tools/list`) and the results the tools give that the REST API has no type
//! for. Results the REST API already has (worktrees, todos, activity events, a task's
//! worktree) use the REST API's types, so the two surfaces agree.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::activity::ActivityEvent;
use super::notes::Todo;
use super::worktrees::WorktreeInfo;

/// One JSON-RPC 2.0 message of the Model Context Protocol (request, notification,
/// response or error), as the streamable HTTP transport carries it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JsonRpcMessage {
    /// Always `2.0`.
    pub jsonrpc: String,
    /// `method`, `params`, `id`, `result` or `error`, as JSON-RPC defines them.
    #[serde(flatten)]
    pub message: Map<String, Value>,
}

/// Which task a tool means: the one linked to a worktree, or an issue by id.
///
/// A session scoped to a worktree always means its own worktree's task; naming another
/// one is refused.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct TaskArgs {
    /// A worktree id: the task linked to that worktree (default: the session's own
    /// worktree).
    #[serde(default)]
    pub worktree_id: Option<String>,
    /// An issue id (`LOCAL-7`, `PROJ-123`), instead of a worktree.
    #[serde(default)]
    pub issue_id: Option<String>,
}

/// Arguments of `todo_check`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct TodoCheckArgs {
    /// The todo's id (see `todos_list` or `task_context`).
    pub todo_id: String,
    /// `true` (default) marks it done, `false` not done.
    #[serde(default = "yes")]
    pub checked: bool,
    /// Which task (default: the session's own worktree's).
    #[serde(flatten)]
    pub task: TaskArgs,
}

fn yes() -> bool {
    true
}

/// Arguments of `report_phase`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ReportPhaseArgs {
    /// The phase entered: planning, implementing, testing, reviewing, ...
    pub phase: String,
    /// The worktree the agent works in (default: the session's own; unscoped sessions
    /// without one report for the main checkout).
    #[serde(default)]
    pub worktree_id: Option<String>,
}

/// Arguments of `await_input`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct AwaitInputArgs {
    /// What the agent needs from the developer.
    #[serde(default)]
    pub message: Option<String>,
    /// The worktree the agent works in (default: the session's own; unscoped sessions
    /// without one report for the main checkout).
    #[serde(default)]
    pub worktree_id: Option<String>,
}

/// Arguments of `create_worktree_for_issue`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CreateWorktreeForIssueArgs {
    /// The local task's id (`LOCAL-7`).
    pub issue_id: String,
    /// The branch to use instead of the one the branch-name rule gives.
    #[serde(default)]
    pub branch: Option<String>,
}

/// Arguments of `terminal_list`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct TerminalListArgs {
    /// Only this worktree's sessions (scoped sessions: always their own worktree's).
    #[serde(default)]
    pub worktree_id: Option<String>,
}

/// Arguments of `terminal_read_screen`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct TerminalReadArgs {
    /// The terminal session's id (see `terminal_list`).
    pub session_id: String,
}

/// Arguments of `terminal_send_input`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct TerminalInputArgs {
    /// The terminal session's id (see `terminal_list`).
    pub session_id: String,
    /// The text to type, control characters included (`\u0003` is Ctrl-C).
    pub text: String,
    /// Press Enter after the text.
    #[serde(default)]
    pub press_enter: bool,
}

/// The todos of a task (`todos_list`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TodoList {
    /// The issue's source (`local`, `jira`, ...).
    pub source: String,
    /// The issue's id.
    pub issue_id: String,
    /// Its todos, in order.
    pub todos: Vec<Todo>,
}

/// A todo after `todo_check`.
#[derive(Debug, Clone, Serialize)]
pub struct TodoChecked {
    /// The todo as it is now.
    pub todo: Todo,
}

/// A report recorded in the activity feed (`report_phase`, `await_input`).
#[derive(Debug, Clone, Serialize)]
pub struct ReportRecorded {
    /// The activity event.
    pub event: ActivityEvent,
    /// Present (`true`) when the activity settings disable this event: it was neither
    /// stored nor broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<bool>,
}

/// Worktrees with their state (`list_worktrees`).
#[derive(Debug, Clone, Serialize)]
pub struct WorktreeStates {
    /// The worktrees, main checkout first, each as `GET /api/worktrees` lists it.
    pub worktrees: Vec<WorktreeInfo>,
}

/// A terminal session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalSession {
    /// Session id.
    pub id: String,
    /// The worktree it runs in.
    pub worktree_id: String,
    /// `terminal`, `claude`, ... when scoped.
    pub scope: Option<String>,
    /// The command it was started with, if any.
    pub startup_command: Option<String>,
    /// False once its program exited.
    pub alive: bool,
    /// The exit code, once exited.
    pub exit_code: Option<i32>,
}

impl From<&openkit_pty::SessionInfo> for TerminalSession {
    fn from(s: &openkit_pty::SessionInfo) -> Self {
        TerminalSession {
            id: s.id.clone(),
            worktree_id: s.worktree_id.clone(),
            scope: s.scope.clone(),
            startup_command: s.startup_command.clone(),
            alive: s.alive,
            exit_code: s.exit_code,
        }
    }
}

/// Terminal sessions (`terminal_list`).
#[derive(Debug, Clone, Serialize)]
pub struct TerminalSessions {
    /// Oldest first.
    pub sessions: Vec<TerminalSession>,
}

/// What a terminal shows (`terminal_read_screen`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalScreen {
    /// Session id.
    pub session_id: String,
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Cursor row (0-based).
    pub cursor_row: u16,
    /// Cursor column (0-based).
    pub cursor_col: u16,
    /// True while a full-screen program (editor, TUI) runs.
    pub alternate_screen: bool,
    /// The visible text, one line per row.
    pub text: String,
}

impl TerminalScreen {
    /// The screen of session `id`.
    pub fn new(id: &str, screen: openkit_pty::ScreenText) -> Self {
        TerminalScreen {
            session_id: id.to_string(),
            rows: screen.rows,
            cols: screen.cols,
            cursor_row: screen.cursor_row,
            cursor_col: screen.cursor_col,
            alternate_screen: screen.alternate_screen,
            text: screen.text,
        }
    }
}

/// Input written to a terminal (`terminal_send_input`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalInputSent {
    /// Session id.
    pub session_id: String,
    /// Bytes written.
    pub bytes: usize,
}

/// Arguments of `hook_steps` and `hook_results`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HookArgs {
    /// The worktree (default: the session's own; required for unscoped sessions).
    #[serde(default)]
    pub worktree_id: Option<String>,
}

/// Arguments of `hook_run`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HookRunArgs {
    /// The worktree (default: the session's own; required for unscoped sessions).
    #[serde(default)]
    pub worktree_id: Option<String>,
    /// `pre-implementation`, `post-implementation` (default), `custom`, `on-demand`,
    /// `worktree-created` or `worktree-removed`.
    #[serde(default)]
    pub trigger: Option<String>,
    /// Only this command step (its id), instead of every enabled step of the trigger.
    #[serde(default)]
    pub step_id: Option<String>,
    /// Run steps again that already passed on the current tree.
    #[serde(default)]
    pub force: bool,
}

/// Arguments of `report_hook_result`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HookReportArgs {
    /// The worktree (default: the session's own; required for unscoped sessions).
    #[serde(default)]
    pub worktree_id: Option<String>,
    /// The skill whose result this is.
    #[serde(default)]
    pub skill_name: Option<String>,
    /// Or the command step the agent ran itself.
    #[serde(default)]
    pub step_id: Option<String>,
    /// The trigger the skill ran for (default `post-implementation`).
    #[serde(default)]
    pub trigger: Option<String>,
    /// Whether it passed.
    pub success: bool,
    /// One line about the result.
    #[serde(default)]
    pub summary: Option<String>,
    /// Details (Markdown).
    #[serde(default)]
    pub content: Option<String>,
}

/// What `hook_results` answers: the worktree's results and what is still required.
#[derive(Debug, Clone, Serialize)]
pub struct HookResults {
    /// The latest run, the latest result per step and the skill reports.
    pub results: super::hooks::HookStatus,
    /// Which required steps and skills are not done.
    pub flow: super::hooks::HookFlow,
}
