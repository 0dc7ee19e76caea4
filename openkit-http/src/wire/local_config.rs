//! Machine-local settings: `/api/local-config`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::True;

/// The local configuration (`.openkit/config.local.json`), with default shortcuts filled
/// in. Fields this version does not know are kept and returned as they are.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalConfig {
    /// Agents may commit.
    pub allow_agent_commits: bool,
    /// Agents may push.
    pub allow_agent_pushes: bool,
    /// Agents may open pull requests.
    #[serde(rename = "allowAgentPRs")]
    pub allow_agent_prs: bool,
    /// Use the native `LD_PRELOAD` port hook for dev servers.
    pub use_native_port_hook: bool,
    /// Arrow-key navigation in the UI.
    pub arrow_nav_enabled: bool,
    /// Remove a worktree when its pull request is merged.
    pub auto_cleanup_on_pr_merge: bool,
    /// Remove a worktree when its pull request is closed.
    pub auto_cleanup_on_pr_close: bool,
    /// Keyboard shortcuts by action id.
    pub shortcuts: BTreeMap<String, String>,
    /// Every other field, preserved as it is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl From<&openkit_core::LocalConfig> for LocalConfig {
    fn from(c: &openkit_core::LocalConfig) -> Self {
        LocalConfig {
            allow_agent_commits: c.allow_agent_commits,
            allow_agent_pushes: c.allow_agent_pushes,
            allow_agent_prs: c.allow_agent_prs,
            use_native_port_hook: c.use_native_port_hook,
            arrow_nav_enabled: c.arrow_nav_enabled,
            auto_cleanup_on_pr_merge: c.auto_cleanup_on_pr_merge,
            auto_cleanup_on_pr_close: c.auto_cleanup_on_pr_close,
            shortcuts: c.shortcuts.clone(),
            extra: c.extra.clone(),
        }
    }
}

/// `GET /api/local-config`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalConfigResponse {
    /// The local configuration.
    pub config: LocalConfig,
}

/// A partial local configuration: top-level fields replace, nested objects
/// (`shortcuts`) merge key by key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct LocalConfigPatch(pub Map<String, Value>);

/// The local configuration after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocalConfigUpdated {
    /// Always `true`.
    pub success: True,
    /// The local configuration.
    pub config: LocalConfig,
}
