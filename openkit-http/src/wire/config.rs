//! Project configuration: `/api/config`, detection, init, setup, retention preview, ports.

use std::collections::BTreeMap;

use openkit_core::config::{
    DetectedConfig as CoreDetected, PortsConfig as CorePorts, SetupStatus as CoreSetupStatus,
};
use openkit_core::logs::RetentionImpact as CoreRetentionImpact;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::True;

/// `ports` of the project configuration.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortsConfig {
    /// Ports the dev server listens on, found by discovery.
    pub discovered: Vec<u16>,
    /// Distance between the port sets of two worktrees.
    pub offset_step: u16,
    /// Fields this version does not know, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&CorePorts> for PortsConfig {
    fn from(p: &CorePorts) -> Self {
        PortsConfig {
            discovered: p.discovered.clone(),
            offset_step: p.offset_step,
            extra: p.extra.clone(),
        }
    }
}

/// The project configuration (`.openkit/config.json`). Fields this version does not know
/// are kept and returned as they are; `GET /api/config` also includes the local-only
/// keys (`allowAgentCommits`, `allowAgentPushes`, `allowAgentPRs`, `useNativePortHook`,
/// `autoCleanupOnPrMerge`, `autoCleanupOnPrClose`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeConfig {
    /// Sub-directory of each worktree the dev server runs in.
    pub project_dir: String,
    /// Command that starts the dev server.
    pub start_command: String,
    /// Command that installs dependencies in a new worktree.
    pub install_command: String,
    /// Branch new worktrees start from and status is compared with.
    pub base_branch: String,
    /// Known ports and the offset step between worktrees.
    pub ports: PortsConfig,
    /// Environment variables whose values are templates over known ports (`${3000}`).
    pub env_mapping: BTreeMap<String, String>,
    /// Run `installCommand` after creating a worktree.
    pub auto_install: bool,
    /// Prefix of local task ids (`LOCAL-7`).
    pub local_issue_prefix: String,
    /// Agent started for new local tasks: claude, codex, gemini or opencode.
    pub local_auto_start_agent: String,
    /// Start an agent when a local task is created.
    pub local_auto_start_claude_on_new_issue: bool,
    /// Start that agent without permission prompts.
    pub local_auto_start_claude_skip_permissions: bool,
    /// Focus the agent's terminal when it starts.
    pub local_auto_start_claude_focus_terminal: bool,
    /// The app worktrees are opened in (`cursor`, `vscode`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_project_target: Option<String>,
    /// generic, react-native or expo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// Show diff statistics in the UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_diff_stats: Option<bool>,
    /// The project's code host for pull requests: `github` (the default) or `kizuna`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_host: Option<String>,
    /// Activity feed settings (free-form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<Value>,
    /// Operational log settings (free-form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_log: Option<Value>,
    /// Every other field, preserved as it is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&openkit_core::WorktreeConfig> for WorktreeConfig {
    fn from(c: &openkit_core::WorktreeConfig) -> Self {
        WorktreeConfig {
            project_dir: c.project_dir.clone(),
            start_command: c.start_command.clone(),
            install_command: c.install_command.clone(),
            base_branch: c.base_branch.clone(),
            ports: (&c.ports).into(),
            env_mapping: c.env_mapping.clone(),
            auto_install: c.auto_install,
            local_issue_prefix: c.local_issue_prefix.clone(),
            local_auto_start_agent: c.local_auto_start_agent.clone(),
            local_auto_start_claude_on_new_issue: c.local_auto_start_claude_on_new_issue,
            local_auto_start_claude_skip_permissions: c.local_auto_start_claude_skip_permissions,
            local_auto_start_claude_focus_terminal: c.local_auto_start_claude_focus_terminal,
            open_project_target: c.open_project_target.clone(),
            framework: c.framework.clone(),
            show_diff_stats: c.show_diff_stats,
            code_host: c.code_host.map(|k| k.as_str().to_string()),
            activity: c.activity.clone(),
            ops_log: c.ops_log.clone(),
            extra: c.extra.clone(),
        }
    }
}

/// `GET /api/config`: all `null` but `hasBranchNameRule` when the project has no config.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    /// The configuration with the local-only keys merged in.
    #[schema(required = true)]
    pub config: Option<WorktreeConfig>,
    /// The project's name.
    #[schema(required = true)]
    pub project_name: Option<String>,
    /// A branch-name rule script exists.
    pub has_branch_name_rule: bool,
}

/// A partial configuration object: the fields to change (JSON merge patch; `null`
/// removes a field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct ConfigPatch(pub Map<String, Value>);

/// The configuration after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigUpdated {
    /// Always `true`.
    pub success: True,
    /// The project configuration as stored (without the local-only keys).
    pub config: WorktreeConfig,
}

impl From<&openkit_core::WorktreeConfig> for ConfigUpdated {
    fn from(c: &openkit_core::WorktreeConfig) -> Self {
        ConfigUpdated {
            success: True,
            config: c.into(),
        }
    }
}

/// Values detected from the project directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetectedConfig {
    /// e.g. `pnpm dev`; empty when nothing was found.
    pub start_command: String,
    /// e.g. `pnpm install`; empty when nothing was found.
    pub install_command: String,
    /// The repository's default branch.
    pub base_branch: String,
    /// The package manager whose lockfile was found.
    #[schema(required = true)]
    pub package_manager: Option<String>,
}

impl From<&CoreDetected> for DetectedConfig {
    fn from(d: &CoreDetected) -> Self {
        DetectedConfig {
            start_command: d.start_command.clone(),
            install_command: d.install_command.clone(),
            base_branch: d.base_branch.clone(),
            package_manager: d.package_manager.clone(),
        }
    }
}

/// `GET /api/config/detect`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DetectResponse {
    /// Always `true`.
    pub success: True,
    /// What was detected.
    pub config: DetectedConfig,
}

/// Body of `POST /api/config/init`; anything absent is detected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitRequest {
    /// Dev-server command.
    pub start_command: Option<String>,
    /// Install command.
    pub install_command: Option<String>,
    /// Base branch.
    pub base_branch: Option<String>,
    /// Overwrite an existing config.
    #[serde(default)]
    pub force: bool,
}

/// `GET /api/config/setup-status`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// True when something is uncommitted or unpushed.
    pub needs_push: bool,
    /// Setup files with uncommitted changes (or untracked).
    pub files: Vec<String>,
}

impl From<&CoreSetupStatus> for SetupStatus {
    fn from(s: &CoreSetupStatus) -> Self {
        SetupStatus {
            needs_push: s.needs_push,
            files: s.files.clone(),
        }
    }
}

/// Body of `POST /api/config/commit-setup`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommitSetupRequest {
    /// Commit message (a default is used when absent or blank).
    pub message: Option<String>,
}

/// What `POST /api/config/commit-setup` did: committed and pushed (no flag), nothing to
/// do (`alreadyCommitted`), or committed but not pushed (`pushFailed`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSetupResponse {
    /// Always `true`.
    pub success: True,
    /// Nothing needed committing or pushing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_committed: Option<bool>,
    /// Committed, but the push failed (or there is no remote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_failed: Option<bool>,
}

/// Body of `POST /api/config/retention-impact`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionImpactRequest {
    /// `activity` or `opsLog`.
    #[schema(examples("activity", "opsLog"))]
    pub log_type: Option<String>,
    /// The original OpenKit's name for `logType`.
    pub target: Option<String>,
    /// Days threshold for time-based pruning.
    pub retention_days: Option<f64>,
    /// Size threshold in MB for size-based pruning.
    #[serde(rename = "maxSizeMB")]
    pub max_size_mb: Option<f64>,
}

/// What a retention setting would remove.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionImpact {
    /// Records that would be removed.
    pub entries_to_remove: u64,
    /// Bytes that would be removed.
    pub bytes_to_remove: u64,
    /// Records now.
    pub current_entries: u64,
    /// Bytes now.
    pub current_bytes: u64,
}

impl From<&CoreRetentionImpact> for RetentionImpact {
    fn from(r: &CoreRetentionImpact) -> Self {
        RetentionImpact {
            entries_to_remove: r.entries_to_remove,
            bytes_to_remove: r.bytes_to_remove,
            current_entries: r.current_entries,
            current_bytes: r.current_bytes,
        }
    }
}
