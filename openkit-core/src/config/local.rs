//! The machine-local configuration, `.openkit/config.local.json` (gitignored).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Keys that `PATCH /api/config` routes into the local configuration.
pub const LOCAL_ONLY_KEYS: [&str; 6] = [
    "allowAgentCommits",
    "allowAgentPushes",
    "allowAgentPRs",
    "useNativePortHook",
    "autoCleanupOnPrMerge",
    "autoCleanupOnPrClose",
];

/// Local settings: agent git policy defaults, the native port hook switch, shortcuts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalConfig {
    /// Agents may commit (default false).
    pub allow_agent_commits: bool,
    /// Agents may push (default false).
    pub allow_agent_pushes: bool,
    /// Agents may open pull requests (default false).
    #[serde(rename = "allowAgentPRs")]
    pub allow_agent_prs: bool,
    /// Use the native `LD_PRELOAD` port hook for dev servers (default false).
    pub use_native_port_hook: bool,
    /// Arrow-key navigation in the UI (default true).
    pub arrow_nav_enabled: bool,
    /// Remove a worktree when its pull request is merged.
    pub auto_cleanup_on_pr_merge: bool,
    /// Remove a worktree when its pull request is closed.
    pub auto_cleanup_on_pr_close: bool,
    /// Keyboard shortcuts by action id; defaults are filled in on read.
    pub shortcuts: BTreeMap<String, String>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The default keyboard shortcuts.
pub const DEFAULT_SHORTCUTS: [(&str, &str); 7] = [
    ("project-tab", "meta"),
    ("nav-worktrees", "meta+w"),
    ("nav-issues", "meta+i"),
    ("nav-agents", "meta+a"),
    ("nav-activity", "meta+l"),
    ("nav-integrations", "meta+e"),
    ("nav-settings", "meta+s"),
];

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            allow_agent_commits: false,
            allow_agent_pushes: false,
            allow_agent_prs: false,
            use_native_port_hook: false,
            arrow_nav_enabled: true,
            auto_cleanup_on_pr_merge: false,
            auto_cleanup_on_pr_close: false,
            shortcuts: BTreeMap::new(),
            extra: Map::new(),
        }
    }
}

impl LocalConfig {
    /// Parses a local configuration object and fills in default shortcuts.
    pub fn from_object(map: Map<String, Value>) -> Result<Self, String> {
        let mut config: LocalConfig =
            serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
        for (id, keys) in DEFAULT_SHORTCUTS {
            config
                .shortcuts
                .entry(id.to_string())
                .or_insert_with(|| keys.to_string());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_shortcuts() {
        let cfg = LocalConfig::from_object(Map::new()).unwrap();
        assert!(cfg.arrow_nav_enabled);
        assert!(!cfg.allow_agent_prs);
        assert_eq!(cfg.shortcuts["nav-worktrees"], "meta+w");
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(json["allowAgentPRs"], Value::Bool(false));
    }
}
