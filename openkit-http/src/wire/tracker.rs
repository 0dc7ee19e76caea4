//! What the tracker areas (Jira, Linear) share on the wire: their settings in status
//! payloads and `PATCH .../config` bodies, option lists, the `task` answers and bodies
//! of single-text updates.

use std::path::PathBuf;

use openkit_core::integrations::{AutoCleanup, DataLifecycle, SaveOn, TrackerSettings};
use openkit_integrations::tracker::SettingsPatch;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::wire::{False, True};

/// `Some(value)` for a field that is present (also `null`), so a patch can clear it.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// When issue data is saved.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SaveOnDto {
    /// When the issue's detail is viewed.
    View,
    /// When a worktree is created for it.
    WorktreeCreation,
    /// Never.
    Never,
}

/// Removal of saved issue data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoCleanupDto {
    /// Whether cleanup runs.
    pub enabled: bool,
    /// Statuses (case-insensitive) whose saved data is removed.
    pub statuses: Vec<String>,
    /// Remove data not refreshed for this many days.
    pub after_days: Option<u32>,
    /// Remove an issue's data when its worktree is deleted.
    pub on_worktree_removed: bool,
}

/// `dataLifecycle`: when issue data is saved under `.openkit/issues/<source>/<id>/` and
/// when it is removed (an issue linked to a worktree never is).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataLifecycleDto {
    /// When `issue.json` and attachments are saved (default `view`).
    #[serde(default = "default_save_on")]
    pub save_on: SaveOnDto,
    /// Cleanup.
    #[serde(default)]
    pub auto_cleanup: AutoCleanupDto,
}

fn default_save_on() -> SaveOnDto {
    SaveOnDto::View
}

impl From<&DataLifecycle> for DataLifecycleDto {
    fn from(d: &DataLifecycle) -> Self {
        DataLifecycleDto {
            save_on: match d.save_on {
                SaveOn::View => SaveOnDto::View,
                SaveOn::WorktreeCreation => SaveOnDto::WorktreeCreation,
                SaveOn::Never => SaveOnDto::Never,
            },
            auto_cleanup: AutoCleanupDto {
                enabled: d.auto_cleanup.enabled,
                statuses: d.auto_cleanup.statuses.clone(),
                after_days: d.auto_cleanup.after_days,
                on_worktree_removed: d.auto_cleanup.on_worktree_removed,
            },
        }
    }
}

impl From<DataLifecycleDto> for DataLifecycle {
    fn from(d: DataLifecycleDto) -> Self {
        DataLifecycle {
            save_on: match d.save_on {
                SaveOnDto::View => SaveOn::View,
                SaveOnDto::WorktreeCreation => SaveOn::WorktreeCreation,
                SaveOnDto::Never => SaveOn::Never,
            },
            auto_cleanup: AutoCleanup {
                enabled: d.auto_cleanup.enabled,
                statuses: d.auto_cleanup.statuses,
                after_days: d.auto_cleanup.after_days,
                on_worktree_removed: d.auto_cleanup.on_worktree_removed,
            },
        }
    }
}

/// A tracker's settings as status payloads show them (flattened beside the tracker's
/// own fields).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackerSettingsDto {
    /// Minutes between background refreshes.
    pub refresh_interval_minutes: u32,
    /// Saving and cleanup of issue data.
    pub data_lifecycle: DataLifecycleDto,
    /// The agent started for a newly assigned issue, or `null`.
    pub auto_start_agent: Option<String>,
    /// Start Claude for a new issue (the original's switch).
    pub auto_start_claude_on_new_issue: bool,
    /// Skip the agent's permission prompts.
    pub auto_start_claude_skip_permissions: bool,
    /// Focus the started terminal.
    pub auto_start_claude_focus_terminal: bool,
    /// Move the issue when its agent starts.
    pub auto_update_issue_status_on_agent_start: bool,
    /// The status it moves to.
    pub auto_update_issue_status_name: Option<String>,
}

impl From<&TrackerSettings> for TrackerSettingsDto {
    fn from(s: &TrackerSettings) -> Self {
        TrackerSettingsDto {
            refresh_interval_minutes: s.refresh_interval_minutes,
            data_lifecycle: (&s.data_lifecycle).into(),
            auto_start_agent: s.auto_start_agent.clone(),
            auto_start_claude_on_new_issue: s.auto_start_claude_on_new_issue,
            auto_start_claude_skip_permissions: s.auto_start_claude_skip_permissions,
            auto_start_claude_focus_terminal: s.auto_start_claude_focus_terminal,
            auto_update_issue_status_on_agent_start: s.auto_update_issue_status_on_agent_start,
            auto_update_issue_status_name: s.auto_update_issue_status_name.clone(),
        }
    }
}

/// The settings fields of a `PATCH .../config` body; absent fields are kept, `null`
/// clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackerSettingsPatch {
    /// 1 to 1440.
    #[serde(default)]
    pub refresh_interval_minutes: Option<u32>,
    /// Replaced whole.
    #[serde(default)]
    pub data_lifecycle: Option<DataLifecycleDto>,
    /// `claude`, `codex`, `gemini`, `opencode`, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub auto_start_agent: Option<Option<String>>,
    /// See the status payload.
    #[serde(default)]
    pub auto_start_claude_on_new_issue: Option<bool>,
    /// See the status payload.
    #[serde(default)]
    pub auto_start_claude_skip_permissions: Option<bool>,
    /// See the status payload.
    #[serde(default)]
    pub auto_start_claude_focus_terminal: Option<bool>,
    /// See the status payload.
    #[serde(default)]
    pub auto_update_issue_status_on_agent_start: Option<bool>,
    /// A status name, or `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub auto_update_issue_status_name: Option<Option<String>>,
}

impl From<TrackerSettingsPatch> for SettingsPatch {
    fn from(p: TrackerSettingsPatch) -> Self {
        SettingsPatch {
            refresh_interval_minutes: p.refresh_interval_minutes,
            data_lifecycle: p.data_lifecycle.map(Into::into),
            auto_start_agent: p.auto_start_agent,
            auto_start_claude_on_new_issue: p.auto_start_claude_on_new_issue,
            auto_start_claude_skip_permissions: p.auto_start_claude_skip_permissions,
            auto_start_claude_focus_terminal: p.auto_start_claude_focus_terminal,
            auto_update_issue_status_on_agent_start: p.auto_update_issue_status_on_agent_start,
            auto_update_issue_status_name: p.auto_update_issue_status_name,
        }
    }
}

/// An option with an id and a name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdNameOption {
    /// The tracker's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// `{ options: [{ id, name }] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdNameOptions {
    /// The options.
    pub options: Vec<IdNameOption>,
}

impl From<Vec<(String, String)>> for IdNameOptions {
    fn from(list: Vec<(String, String)>) -> Self {
        IdNameOptions {
            options: list
                .into_iter()
                .map(|(id, name)| IdNameOption { id, name })
                .collect(),
        }
    }
}

/// A worktree created for a tracker issue (201).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueWorktreeCreated {
    /// Always `true`.
    pub success: True,
    /// The new worktree's id (the issue's key).
    pub worktree_id: String,
    /// Its checkout.
    #[schema(value_type = String)]
    pub worktree_path: PathBuf,
    /// Always `false`.
    pub reused_existing: False,
}

/// An existing worktree reused for a tracker issue (200).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueWorktreeReused {
    /// Always `true`.
    pub success: True,
    /// Its canonical id.
    pub worktree_id: String,
    /// Its checkout.
    #[schema(value_type = String)]
    pub worktree_path: PathBuf,
    /// Always `true`.
    pub reused_existing: True,
}

/// `{ "comment": "..." }`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CommentBody {
    /// The comment's text (Markdown).
    pub comment: String,
}

/// `?url=` of an attachment proxy.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentQuery {
    /// The tracker's attachment URL.
    pub url: String,
}

/// `?query=` of an issue list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssueQuery {
    /// Text the issues must match.
    #[serde(default)]
    pub query: Option<String>,
}
