//! What the tracker services share beyond HTTP: changes to their [`TrackerSettings`]
//! from a `PATCH .../config`, checked before anything is written (Jira, Linear), and
//! [`SeenIssues`], the last summary of each issue a tracker listed (Jira, Linear, Kiket).

use std::collections::HashMap;
use std::sync::Mutex;

use openkit_core::integrations::{DataLifecycle, TrackerSettings};
use openkit_core::issues::{IssueRef, IssueSummary};

/// The last summary of each issue a tracker listed or changed: what
/// `IssueSource::peek` answers without a request, and the answer to a status change.
/// Issue ids compare case-insensitively.
#[derive(Debug, Default)]
pub struct SeenIssues(Mutex<HashMap<String, IssueSummary>>);

impl SeenIssues {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IssueSummary>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `summaries`, replacing what was seen of the same issues.
    pub fn remember(&self, summaries: impl IntoIterator<Item = IssueSummary>) {
        let mut seen = self.lock();
        for summary in summaries {
            seen.insert(summary.issue.id.as_str().to_ascii_lowercase(), summary);
        }
    }

    /// The summary last seen of issue `id`.
    pub fn get(&self, id: &str) -> Option<IssueSummary> {
        self.lock().get(&id.to_ascii_lowercase()).cloned()
    }

    /// Records that issue `id` moved to `status`.
    pub fn set_status(&self, id: &str, status: &str) {
        if let Some(summary) = self.lock().get_mut(&id.to_ascii_lowercase()) {
            summary.status = status.to_string();
        }
    }

    /// The summary of `issue` after it moved to `status`: the one seen, with its new
    /// status; an issue never listed gets its id as title and no URL.
    pub fn after_status(&self, issue: IssueRef, status: &str) -> IssueSummary {
        self.set_status(issue.id.as_str(), status);
        self.get(issue.id.as_str()).unwrap_or(IssueSummary {
            title: issue.id.to_string(),
            issue,
            status: status.to_string(),
            url: None,
        })
    }
}

/// The agents a tracker may start for a newly assigned issue.
pub const AGENTS: [&str; 4] = ["claude", "codex", "gemini", "opencode"];

/// The longest accepted refresh interval (a day).
pub const MAX_REFRESH_MINUTES: u32 = 24 * 60;

/// A partial change of [`TrackerSettings`]: `None` keeps a field; for the optional
/// fields `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// `refreshIntervalMinutes`.
    pub refresh_interval_minutes: Option<u32>,
    /// `dataLifecycle` (replaced whole).
    pub data_lifecycle: Option<DataLifecycle>,
    /// `autoStartAgent`.
    pub auto_start_agent: Option<Option<String>>,
    /// `autoStartClaudeOnNewIssue`.
    pub auto_start_claude_on_new_issue: Option<bool>,
    /// `autoStartClaudeSkipPermissions`.
    pub auto_start_claude_skip_permissions: Option<bool>,
    /// `autoStartClaudeFocusTerminal`.
    pub auto_start_claude_focus_terminal: Option<bool>,
    /// `autoUpdateIssueStatusOnAgentStart`.
    pub auto_update_issue_status_on_agent_start: Option<bool>,
    /// `autoUpdateIssueStatusName`.
    pub auto_update_issue_status_name: Option<Option<String>>,
}

impl SettingsPatch {
    /// Applies the change to `settings`, or says which field is invalid (nothing is
    /// changed then).
    pub fn apply(&self, settings: &mut TrackerSettings) -> Result<(), String> {
        if let Some(minutes) = self.refresh_interval_minutes
            && !(1..=MAX_REFRESH_MINUTES).contains(&minutes)
        {
            return Err(format!(
                "refreshIntervalMinutes must be between 1 and {MAX_REFRESH_MINUTES}"
            ));
        }
        let agent = match &self.auto_start_agent {
            Some(Some(agent)) if agent.trim().is_empty() => Some(None),
            Some(Some(agent)) => {
                let agent = agent.trim().to_ascii_lowercase();
                if !AGENTS.contains(&agent.as_str()) {
                    return Err(format!(
                        "autoStartAgent must be one of {}",
                        AGENTS.join(", ")
                    ));
                }
                Some(Some(agent))
            }
            other => other.clone(),
        };
        let mut next = settings.clone();
        if let Some(minutes) = self.refresh_interval_minutes {
            next.refresh_interval_minutes = minutes;
        }
        if let Some(lifecycle) = &self.data_lifecycle {
            next.data_lifecycle = lifecycle.clone();
        }
        if let Some(agent) = agent {
            next.auto_start_agent = agent;
        }
        let flags = [
            (
                self.auto_start_claude_on_new_issue,
                &mut next.auto_start_claude_on_new_issue,
            ),
            (
                self.auto_start_claude_skip_permissions,
                &mut next.auto_start_claude_skip_permissions,
            ),
            (
                self.auto_start_claude_focus_terminal,
                &mut next.auto_start_claude_focus_terminal,
            ),
            (
                self.auto_update_issue_status_on_agent_start,
                &mut next.auto_update_issue_status_on_agent_start,
            ),
        ];
        for (value, field) in flags {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(name) = &self.auto_update_issue_status_name {
            next.auto_update_issue_status_name = name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
        }
        *settings = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_apply_or_change_nothing() {
        let mut settings = TrackerSettings::default();
        let patch = SettingsPatch {
            refresh_interval_minutes: Some(10),
            auto_start_agent: Some(Some("Codex".into())),
            auto_update_issue_status_on_agent_start: Some(true),
            auto_update_issue_status_name: Some(Some(" In Progress ".into())),
            ..Default::default()
        };
        patch.apply(&mut settings).unwrap();
        assert_eq!(settings.refresh_interval_minutes, 10);
        assert_eq!(settings.agent_to_start(), Some("codex"));
        assert_eq!(settings.status_on_agent_start(), Some("In Progress"));
        let before = settings.clone();
        for bad in [
            SettingsPatch {
                refresh_interval_minutes: Some(0),
                ..Default::default()
            },
            SettingsPatch {
                auto_start_agent: Some(Some("rm -rf".into())),
                auto_start_claude_focus_terminal: Some(true),
                ..Default::default()
            },
        ] {
            assert!(bad.apply(&mut settings).is_err());
            assert_eq!(settings, before);
        }
        SettingsPatch {
            auto_start_agent: Some(None),
            ..Default::default()
        }
        .apply(&mut settings)
        .unwrap();
        assert_eq!(settings.auto_start_agent, None);
    }

    #[test]
    fn seen_issues_follow_status_changes_case_insensitively() {
        let seen = SeenIssues::default();
        let issue = |id: &str| IssueRef::parse("jira", id).unwrap();
        seen.remember([IssueSummary {
            issue: issue("PROJ-1"),
            title: "Login".into(),
            status: "To Do".into(),
            url: Some("https://x/browse/PROJ-1".into()),
        }]);
        assert_eq!(seen.get("proj-1").unwrap().title, "Login");
        let moved = seen.after_status(issue("PROJ-1"), "Done");
        assert_eq!(
            (moved.title.as_str(), moved.status.as_str()),
            ("Login", "Done")
        );
        assert_eq!(seen.get("PROJ-1").unwrap().status, "Done");
        let unseen = seen.after_status(issue("PROJ-2"), "Done");
        assert_eq!((unseen.title.as_str(), unseen.url), ("PROJ-2", None));
        assert!(seen.get("PROJ-2").is_none());
    }
}
