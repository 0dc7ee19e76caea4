//! Who asks for a git action, and whether agents may do it.
//!
//! A request is made by an [`Actor`]: a human (the default: the dashboard, a developer's
//! own CLI) or an agent working in a worktree (`agent:<worktree-id>`, which OpenKit
//! exports as `OPENKIT_ACTOR` into the terminal sessions it starts for agents and which
//! the `openkit` CLI forwards). Humans are never refused. An agent's commit, push or pull
//! request is decided by [`decide`]: the worktree's linked issue `gitPolicy` over the
//! local-config defaults (`allowAgentCommits`/`allowAgentPushes`/`allowAgentPRs`, all
//! off by default), through [`effective_policy`](crate::notes::effective_policy).
//!
//! This is a guard-rail for cooperative agents, not a security boundary: any local process
//! can reach the server and claim to be human.

use std::fmt;

use crate::config::LocalConfig;
use crate::git::op_error::GitOpError;
use crate::notes::{GitPolicy, effective_policy};

/// The variable that names the actor in the terminal sessions OpenKit starts for agents
/// (`agent:<worktree-id>`), which the `openkit` CLI forwards.
pub const ACTOR_ENV: &str = "OPENKIT_ACTOR";

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Actor {
    /// A person (the dashboard, a developer's shell). Never refused by the git policy.
    #[default]
    Human,
    /// An agent working in a worktree.
    Agent {
        /// The worktree the agent works in (`agent:<scope>`).
        scope: String,
    },
}

impl Actor {
    /// Parses `human` or `agent:<scope>` (scope non-empty, at most 128 bytes, no control
    /// characters); `None` for anything else.
    pub fn parse(raw: &str) -> Option<Actor> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("human") {
            return Some(Actor::Human);
        }
        let (kind, scope) = raw.split_once(':')?;
        let scope = scope.trim();
        (kind.eq_ignore_ascii_case("agent")
            && !scope.is_empty()
            && scope.len() <= 128
            && !scope.chars().any(char::is_control))
        .then(|| Actor::Agent {
            scope: scope.to_string(),
        })
    }

    /// True for an agent.
    pub fn is_agent(&self) -> bool {
        matches!(self, Actor::Agent { .. })
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Human => f.write_str("human"),
            Actor::Agent { scope } => write!(f, "agent:{scope}"),
        }
    }
}

/// A git action the policy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitAction {
    /// `POST /api/worktrees/:id/commit`.
    Commit,
    /// `POST /api/worktrees/:id/push`.
    Push,
    /// `POST /api/worktrees/:id/create-pr`.
    CreatePr,
}

impl GitAction {
    /// The action as a verb phrase ("commit", "push", "create pull requests").
    pub fn verb(self) -> &'static str {
        match self {
            GitAction::Commit => "commit",
            GitAction::Push => "push",
            GitAction::CreatePr => "create pull requests",
        }
    }

    /// The issue `gitPolicy` field that governs it.
    fn policy_field(self) -> &'static str {
        match self {
            GitAction::Commit => "agentCommits",
            GitAction::Push => "agentPushes",
            GitAction::CreatePr => "agentPRs",
        }
    }

    /// The local-config default that governs it.
    fn local_key(self) -> &'static str {
        match self {
            GitAction::Commit => "allowAgentCommits",
            GitAction::Push => "allowAgentPushes",
            GitAction::CreatePr => "allowAgentPRs",
        }
    }
}

/// The linked issue of a worktree and its git policy, as far as the decision needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssuePolicy<'a> {
    /// The issue (`<source>/<id>`), for the explanation.
    pub issue: Option<&'a str>,
    /// Its `gitPolicy`, if set.
    pub policy: Option<&'a GitPolicy>,
}

/// Decides whether `actor` may do `action` in `worktree` (canonical id). Humans always
/// may; an agent only in its own worktree and only when the effective policy allows.
pub fn decide(
    actor: &Actor,
    action: GitAction,
    worktree: &str,
    issue: IssuePolicy<'_>,
    local: &LocalConfig,
) -> Result<(), GitOpError> {
    let Actor::Agent { scope } = actor else {
        return Ok(());
    };
    if !scope.eq_ignore_ascii_case(worktree) {
        return Err(GitOpError::ScopeMismatch {
            scope: scope.clone(),
            worktree: worktree.to_string(),
        });
    }
    let effective = effective_policy(issue.policy, local);
    let allowed = match action {
        GitAction::Commit => effective.can_commit,
        GitAction::Push => effective.can_push,
        GitAction::CreatePr => effective.can_create_pr,
    };
    if allowed {
        return Ok(());
    }
    let field = action.policy_field();
    let overridden = issue.policy.and_then(|p| match action {
        GitAction::Commit => p.agent_commits,
        GitAction::Push => p.agent_pushes,
        GitAction::CreatePr => p.agent_prs,
    });
    let reason = match (overridden, issue.issue) {
        (Some(crate::notes::PolicyValue::Deny), Some(issue)) => {
            format!("the git policy of issue {issue} sets {field} to deny")
        }
        _ => format!(
            "{} is off in .openkit/config.local.json{}",
            action.local_key(),
            issue
                .issue
                .map(|i| format!(" and issue {i} does not override it ({field})"))
                .unwrap_or_default()
        ),
    };
    Err(GitOpError::PolicyDenied {
        action,
        worktree: worktree.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainError;
    use crate::notes::PolicyValue;

    #[test]
    fn parses_actors() {
        assert_eq!(Actor::parse("human"), Some(Actor::Human));
        assert_eq!(
            Actor::parse("agent:LOCAL-1"),
            Some(Actor::Agent {
                scope: "LOCAL-1".into()
            })
        );
        assert_eq!(Actor::parse(" Agent: wt "), Actor::parse("agent:wt"));
        for bad in ["", "agent:", "robot:x", "agent", "agent:a\nb"] {
            assert_eq!(Actor::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Actor::parse("agent:wt").unwrap().to_string(), "agent:wt");
    }

    #[test]
    fn humans_always_agents_by_policy_and_only_in_their_worktree() {
        let agent = Actor::Agent { scope: "wt".into() };
        let off = LocalConfig::default();
        let on = LocalConfig {
            allow_agent_commits: true,
            allow_agent_pushes: true,
            ..LocalConfig::default()
        };
        let none = IssuePolicy::default();
        assert!(decide(&Actor::Human, GitAction::Push, "wt", none, &off).is_ok());
        let denied = decide(&agent, GitAction::Commit, "wt", none, &off).unwrap_err();
        assert_eq!(denied.code(), "AGENT_GIT_POLICY_DENIED");
        assert!(denied.to_string().contains("allowAgentCommits"), "{denied}");
        assert!(decide(&agent, GitAction::Commit, "WT", none, &on).is_ok());
        assert!(decide(&agent, GitAction::CreatePr, "wt", none, &on).is_err());
        let other = decide(&agent, GitAction::Commit, "other", none, &on).unwrap_err();
        assert_eq!(other.code(), "AGENT_SCOPE_MISMATCH");

        let deny = GitPolicy {
            agent_commits: Some(PolicyValue::Deny),
            agent_pushes: Some(PolicyValue::Allow),
            ..GitPolicy::default()
        };
        let issue = IssuePolicy {
            issue: Some("local/LOCAL-1"),
            policy: Some(&deny),
        };
        let err = decide(&agent, GitAction::Commit, "wt", issue, &on).unwrap_err();
        assert!(err.to_string().contains("local/LOCAL-1"), "{err}");
        assert!(decide(&agent, GitAction::Push, "wt", issue, &off).is_ok());
    }
}
