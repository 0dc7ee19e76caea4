//! Command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// OpenKit: a local workbench for running many AI coding agents in parallel, each in its
/// own git worktree with its own dev server, terminals and notes.
#[derive(Debug, Parser)]
#[command(name = "openkit", version, about, propagate_version = true)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server for the current project (the default).
    Serve(ServeArgs),
    /// Create .openkit/config.json (asks when run in a terminal, unless --yes).
    Init(InitArgs),
    /// Manage worktrees directly (no running server needed).
    #[command(subcommand, alias = "wt")]
    Worktree(WorktreeCommand),
    /// Show the operational log (commands run, requests served, client errors).
    Logs(LogsArgs),
    /// Show the activity feed, or report agent activity to the running server.
    Activity(ActivityCommand),
    /// What an agent needs to know about its task.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Diff, commit or push the current worktree through the running server (an agent's
    /// commands carry `OPENKIT_ACTOR` and obey the git policy).
    #[command(subcommand)]
    Git(GitCommand),
    /// Serve OpenKit's MCP tools to an agent over stdio (scoped to this worktree; needs a
    /// running server). Add it to Claude Code with `claude mcp add openkit -- openkit mcp`.
    Mcp(McpArgs),
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// How long the terminal holder keeps sessions without a server, by default (an hour).
pub const DEFAULT_SESSION_IDLE_SECS: u64 = 3600;

/// `openkit serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// First port to try (the next ones are tried when it is taken).
    #[arg(long, short, default_value_t = 4040, env = "OPENKIT_PORT")]
    pub port: u16,
    /// Do not open a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Also accept requests from this web origin (e.g. http://localhost:5173).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origins: Vec<String>,
    /// End the terminal sessions when this server stops (by default they live on in
    /// the project's terminal holder, for the next server to find).
    #[arg(long)]
    pub stop_sessions: bool,
    /// With no server running for this long, the terminal holder ends its sessions.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_SESSION_IDLE_SECS)]
    pub session_idle_timeout: u64,
    /// Serve the web UI built in DIR (e.g. the original OpenKit UI) instead of the
    /// built-in dashboard.
    #[arg(long, value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// The remote gateway's port on 127.0.0.1: what an ngrok tunnel points at (never the
    /// API port). 0 lets the OS choose one.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 0,
        env = "OPENKIT_GATEWAY_PORT"
    )]
    pub gateway_port: u16,
    /// No remote gateway listener (no tunnel can be started).
    #[arg(long)]
    pub no_gateway: bool,
}

/// `openkit mcp`
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Do not scope the session to the current worktree: its tools may touch every
    /// worktree (for an agent orchestrating others).
    #[arg(long)]
    pub all_worktrees: bool,
}

impl Default for ServeArgs {
    /// What `openkit serve` with no options means (`openkit` alone serves).
    fn default() -> Self {
        ServeArgs {
            port: 4040,
            no_open: false,
            allow_origins: Vec::new(),
            stop_sessions: false,
            session_idle_timeout: DEFAULT_SESSION_IDLE_SECS,
            ui_dir: None,
            gateway_port: 0,
            no_gateway: false,
        }
    }
}

/// `openkit init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Command that starts the dev server.
    #[arg(long)]
    pub start_command: Option<String>,
    /// Command that installs dependencies.
    #[arg(long)]
    pub install_command: Option<String>,
    /// Branch worktrees start from.
    #[arg(long)]
    pub base_branch: Option<String>,
    /// Overwrite an existing config.
    #[arg(long)]
    pub force: bool,
    /// Do not ask; use flags and detected values.
    #[arg(long, short)]
    pub yes: bool,
}

/// `openkit worktree ...`
#[derive(Debug, Subcommand)]
pub enum WorktreeCommand {
    /// List worktrees with their git status.
    #[command(alias = "ls")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a worktree for a branch (waits for the install to finish).
    Create {
        /// Branch to check out or create.
        branch: String,
        /// Worktree id (default: derived from the branch).
        #[arg(long)]
        id: Option<String>,
    },
    /// Remove a worktree (the branch is kept).
    #[command(alias = "rm")]
    Remove {
        /// Worktree id.
        id: String,
    },
}

/// `openkit logs`
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only events after this ISO-8601 time (or `<time>:<event id>`).
    #[arg(long)]
    pub since: Option<String>,
    /// debug, info, warning or error.
    #[arg(long)]
    pub level: Option<String>,
    /// started, succeeded, failed or info.
    #[arg(long)]
    pub status: Option<String>,
    /// Only sources containing this text.
    #[arg(long)]
    pub source: Option<String>,
    /// Text in message, source, action or command.
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many (the newest).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `openkit activity`
#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// Only events after this ISO-8601 time (or `<time>:<event id>`).
    #[arg(long)]
    pub since: Option<String>,
    /// agent, worktree or system.
    #[arg(long)]
    pub category: Option<String>,
    /// At most this many (the newest).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `openkit activity [ACTION]`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ActivityCommand {
    /// Report something (needs a running server); without an action, list the feed.
    #[command(subcommand)]
    pub action: Option<ActivityAction>,
    /// Listing options.
    #[command(flatten)]
    pub list: ActivityArgs,
}

/// Reports an agent sends from inside its worktree.
#[derive(Debug, Subcommand)]
pub enum ActivityAction {
    /// The agent waits for the developer.
    AwaitInput {
        /// What it needs.
        message: Option<String>,
    },
    /// The agent entered a phase (planning, implementing, testing, ...).
    Phase {
        /// The phase.
        phase: String,
    },
    /// Print which required hook steps and skills this worktree has not yet run, passed
    /// or reported, and record that the agent checks its flow.
    CheckFlow {
        /// Print the server's JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Report the result of a hook skill (or, with `--step`, of a command step the agent
    /// ran itself).
    HookReport {
        /// The skill's name (a step id with `--step`).
        name: String,
        /// `name` is a command step's id.
        #[arg(long)]
        step: bool,
        /// It failed (default: it passed).
        #[arg(long)]
        failed: bool,
        /// The trigger it ran for (default post-implementation).
        #[arg(long)]
        trigger: Option<String>,
        /// One line about the result.
        #[arg(long)]
        summary: Option<String>,
    },
    /// Check off (or uncheck) a todo of the current task.
    Todo {
        /// The todo id (see `openkit task context`).
        id: String,
        /// Mark it not done.
        #[arg(long)]
        uncheck: bool,
    },
}

/// `openkit task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Print the task: description, extra context, todos, attachments, hooks, git policy.
    Context {
        /// Issue id (default: the issue linked to the current worktree).
        id: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print which issue an id or the current worktree refers to.
    Resolve {
        /// Issue id (default: the issue linked to the current worktree).
        id: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `openkit git ...`
#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// List the changed files (uncommitted, untracked included).
    Diff {
        /// Everything since the branch left the base branch, committed or not.
        #[arg(long)]
        committed: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Commit every change (untracked files included); the commit-message rule applies.
    Commit {
        /// The commit message.
        #[arg(short, long)]
        message: String,
    },
    /// Push the branch (the first push sets its upstream).
    Push,
    /// Open a pull request from the pushed branch into the base branch.
    Pr {
        /// Its title.
        #[arg(short, long)]
        title: String,
        /// Its description.
        #[arg(short, long)]
        body: Option<String>,
        /// Open it as a draft.
        #[arg(long)]
        draft: bool,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn bare_openkit_serves_with_the_same_defaults_as_openkit_serve() {
        let Some(Command::Serve(parsed)) = Cli::parse_from(["openkit", "serve"]).command else {
            panic!("serve parses to Serve");
        };
        let default = ServeArgs::default();
        assert_eq!(
            (
                parsed.port,
                parsed.no_open,
                parsed.stop_sessions,
                parsed.session_idle_timeout
            ),
            (
                default.port,
                default.no_open,
                default.stop_sessions,
                default.session_idle_timeout
            )
        );
        assert_eq!(
            (parsed.allow_origins, parsed.ui_dir),
            (default.allow_origins, default.ui_dir)
        );
    }
}
