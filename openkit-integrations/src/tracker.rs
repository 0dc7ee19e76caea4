//! What the tracker services (Jira, Linear) share beyond HTTP: changes to their
//! [`TrackerSettings`] from a `PATCH .../config`, checked before anything is written.

use openkit_core::integrations::{DataLifecycle, TrackerSettings};

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
}
