//! Starting an agent on a newly assigned issue: its worktree (the issue-to-worktree flow),
//! a scoped agent terminal in it with the agent's launch flags and the issue as the
//! initial prompt, and, when configured, the issue moved to another status.
//!
//! Launch flags (COMPAT.md): `claude [--dangerously-skip-permissions] <prompt>`,
//! `codex [--dangerously-bypass-approvals-and-sandbox] <prompt>`,
//! `gemini [--yolo] -i <prompt>`, `opencode --prompt <prompt>` (OpenCode has no flag that
//! skips permission prompts).

use std::sync::Arc;

use crate::agents::Agent;
use crate::attention::launch::{shell_quote, with_hooks};
use crate::error::{DomainError, ErrorKind};
use crate::git::policy::ACTOR_ENV;
use crate::integrations::TrackerSettings;
use crate::issues::{IssueError, IssueSource, IssueSummary};
use crate::ports::{AgentLaunch, AgentSessionStarted, TerminalsError};
use crate::task_worktree::{TaskWorktree, TaskWorktreeError};
use crate::workbench::Workbench;
use crate::worktree::WorktreeError;

/// Longest issue title put into an initial prompt (characters).
pub const MAX_PROMPT_TITLE: usize = 200;

/// The flag that starts `agent` with its permission prompts skipped, if it has one.
pub fn skip_permissions_flag(agent: Agent) -> Option<&'static str> {
    match agent {
        Agent::Claude => Some("--dangerously-skip-permissions"),
        Agent::Codex => Some("--dangerously-bypass-approvals-and-sandbox"),
        Agent::Gemini => Some("--yolo"),
        Agent::Opencode => None,
    }
}

/// The command line that starts `agent` (as `$SHELL -lc` runs it): its permission flag
/// when `skip_permissions`, then `prompt` (shell-quoted) as its initial prompt the way the
/// agent takes one.
pub fn agent_command(agent: Agent, skip_permissions: bool, prompt: Option<&str>) -> String {
    let mut words = vec![agent.command().to_string()];
    if skip_permissions && let Some(flag) = skip_permissions_flag(agent) {
        words.push(flag.to_string());
    }
    if let Some(prompt) = prompt.map(str::trim).filter(|p| !p.is_empty()) {
        match agent {
            Agent::Claude | Agent::Codex => {}
            Agent::Gemini => words.push("-i".into()),
            Agent::Opencode => words.push("--prompt".into()),
        }
        words.push(shell_quote(prompt));
    }
    words.join(" ")
}

/// The initial prompt for an issue: what to work on and where its details are.
pub fn issue_prompt(issue: &IssueSummary) -> String {
    let title: String = issue
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_PROMPT_TITLE)
        .collect();
    format!(
        "Work on {} issue {}: {}. Run `openkit task context` in this worktree for its \
         description, comments, todos and hooks.",
        issue.issue.source,
        issue.issue.id,
        title.trim()
    )
}

/// Why an agent could not be started on an issue.
#[derive(Debug, thiserror::Error)]
pub enum AutoStartError {
    /// `autoStartAgent` names no agent OpenKit knows.
    #[error("Unknown agent \"{0}\" (use claude, codex, gemini or opencode)")]
    UnknownAgent(String),
    /// The issue's worktree could not be had.
    #[error(transparent)]
    Worktree(#[from] TaskWorktreeError),
    /// The worktree could not be found again.
    #[error(transparent)]
    Lookup(#[from] WorktreeError),
    /// The terminal could not be started.
    #[error(transparent)]
    Terminal(#[from] TerminalsError),
}

impl DomainError for AutoStartError {
    fn kind(&self) -> ErrorKind {
        match self {
            AutoStartError::UnknownAgent(_) => ErrorKind::InvalidInput,
            AutoStartError::Worktree(e) => e.kind(),
            AutoStartError::Lookup(e) => e.kind(),
            AutoStartError::Terminal(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AutoStartError::UnknownAgent(_) => "UNKNOWN_AGENT",
            AutoStartError::Worktree(e) => e.code(),
            AutoStartError::Lookup(e) => e.code(),
            AutoStartError::Terminal(e) => e.code(),
        }
    }
}

/// What [`Workbench::auto_start_agent`] did.
#[derive(Debug, Clone)]
pub struct AutoStarted {
    /// The agent.
    pub agent: Agent,
    /// The issue's worktree (canonical id).
    pub worktree_id: String,
    /// The worktree existed already.
    pub reused_worktree: bool,
    /// The agent's session.
    pub session: AgentSessionStarted,
    /// The status the issue was moved to: `None` when not asked, `Some(Err)` when the
    /// tracker refused.
    pub status_update: Option<(String, Result<(), String>)>,
}

impl Workbench {
    /// The environment a terminal session starts from: the host environment without
    /// `OPENKIT_ACTOR` (only agent sessions get one, naming their worktree).
    pub fn session_base_env(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        self.host()
            .vars()
            .filter(|(k, _)| *k != std::ffi::OsStr::new(ACTOR_ENV))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The variables an agent session in `worktree_id` adds: `OPENKIT_ACTOR=agent:<id>`.
    pub fn agent_session_env(worktree_id: &str) -> Vec<(String, String)> {
        vec![(ACTOR_ENV.to_string(), format!("agent:{worktree_id}"))]
    }

    /// Starts (or reuses) `agent`'s scoped terminal session in worktree `worktree_id`,
    /// running `command` with OpenKit's hooks added (when the composition knows the
    /// `openkit` program) and `OPENKIT_ACTOR=agent:<worktree-id>` exported, in the host
    /// environment.
    pub async fn start_agent_session(
        &self,
        worktree_id: &str,
        agent: Agent,
        command: &str,
    ) -> Result<AgentSessionStarted, AutoStartError> {
        let worktree = self.worktree(worktree_id).await?;
        let command = match self.openkit_program() {
            Some(program) => with_hooks(agent.command(), command, program),
            None => command.to_string(),
        };
        let launch = AgentLaunch {
            env: Workbench::agent_session_env(&worktree.id),
            worktree_id: worktree.id,
            cwd: worktree.path,
            agent,
            command,
            base_env: self.session_base_env(),
            shell: self.host().shell(),
            supervisor: self.supervisor().cloned(),
        };
        let started = self.terminals().start_agent_session(launch).await?;
        if !started.reused {
            // A new agent session shows in the list (and the stream) at once.
            self.terminals_changed();
        }
        Ok(started)
    }

    /// Starts the agent `settings` name on `issue` of `source`: the issue's worktree
    /// ([`Workbench::create_worktree_for_issue`]: reused or created, linked), the agent's
    /// session in it ([`Workbench::start_agent_session`], permission flag from
    /// `autoStartClaudeSkipPermissions`, the issue as initial prompt), then the issue
    /// moved to `autoUpdateIssueStatusName` when enabled (a refusal is reported in the
    /// result, not an error: the agent runs). `None` when `settings` start no agent.
    pub async fn auto_start_agent(
        self: &Arc<Self>,
        source: &dyn IssueSource,
        issue: &IssueSummary,
        settings: &TrackerSettings,
    ) -> Option<Result<AutoStarted, AutoStartError>> {
        let name = settings.agent_to_start()?;
        Some(self.auto_start(source, issue, settings, name).await)
    }

    async fn auto_start(
        self: &Arc<Self>,
        source: &dyn IssueSource,
        issue: &IssueSummary,
        settings: &TrackerSettings,
        name: &str,
    ) -> Result<AutoStarted, AutoStartError> {
        let agent = Agent::parse(name).ok_or_else(|| AutoStartError::UnknownAgent(name.into()))?;
        let (worktree_id, reused_worktree) = match self
            .create_worktree_for_issue(&issue.issue, &issue.title, None)
            .await?
        {
            TaskWorktree::Reused { worktree_id, .. } => (worktree_id, true),
            TaskWorktree::Created { worktree } => (worktree.id, false),
        };
        let command = agent_command(
            agent,
            settings.auto_start_claude_skip_permissions,
            Some(&issue_prompt(issue)),
        );
        let session = self
            .start_agent_session(&worktree_id, agent, &command)
            .await?;
        let status_update = match settings.status_on_agent_start() {
            Some(status) => {
                let moved = source
                    .update_status(&issue.issue.id, status)
                    .await
                    .map(drop)
                    .map_err(|e: IssueError| e.to_string());
                Some((status.to_string(), moved))
            }
            None => None,
        };
        Ok(AutoStarted {
            agent,
            worktree_id,
            reused_worktree,
            session,
            status_update,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issues::IssueRef;

    #[test]
    fn launch_flags_follow_each_agent() {
        assert_eq!(agent_command(Agent::Claude, false, None), "claude");
        assert_eq!(
            agent_command(Agent::Claude, true, Some("do it")),
            "claude --dangerously-skip-permissions 'do it'"
        );
        assert_eq!(
            agent_command(Agent::Codex, true, Some("x")),
            "codex --dangerously-bypass-approvals-and-sandbox x"
        );
        assert_eq!(
            agent_command(Agent::Gemini, true, Some("fix it")),
            "gemini --yolo -i 'fix it'"
        );
        assert_eq!(agent_command(Agent::Gemini, false, None), "gemini");
        assert_eq!(
            agent_command(Agent::Opencode, true, Some("go")),
            "opencode --prompt go"
        );
        assert_eq!(agent_command(Agent::Codex, false, Some("  ")), "codex");
    }

    #[test]
    fn the_prompt_names_the_issue_and_survives_the_shell() {
        let issue = IssueSummary {
            issue: IssueRef::parse("jira", "PROJ-7").unwrap(),
            title: "Don't `rm -rf` $HOME;\nplease".into(),
            status: "To Do".into(),
            url: None,
        };
        let prompt = issue_prompt(&issue);
        assert!(prompt.starts_with("Work on jira issue PROJ-7: Don't `rm -rf` $HOME; please."));
        let line = agent_command(Agent::Claude, false, Some(&prompt));
        // The shell gives the agent the prompt as one word, unexpanded.
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("set -- {line}; shift; printf '%s' \"$1\"; echo \"|$#\""),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{prompt}|1\n")
        );
        let long = IssueSummary {
            title: "x".repeat(1000),
            ..issue
        };
        assert!(issue_prompt(&long).len() < MAX_PROMPT_TITLE + 200);
    }
}
