//! The committed project configuration, `.openkit/config.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The project configuration (`WorktreeConfig` in the API reference).
///
/// Fields the original OpenKit knows are typed, with its defaults; any other field is kept
/// in `extra` and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
    /// The project's code host for pull requests (`github`, the default, or `kizuna`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_host: Option<crate::codehost::CodeHostKind>,
    /// Activity feed settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<Value>,
    /// Operational log settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops_log: Option<Value>,
    /// Fields this version does not know, preserved on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for WorktreeConfig {
    fn default() -> Self {
        WorktreeConfig {
            project_dir: ".".into(),
            start_command: String::new(),
            install_command: String::new(),
            base_branch: "main".into(),
            ports: PortsConfig::default(),
            env_mapping: BTreeMap::new(),
            auto_install: true,
            local_issue_prefix: "LOCAL".into(),
            local_auto_start_agent: "claude".into(),
            local_auto_start_claude_on_new_issue: false,
            local_auto_start_claude_skip_permissions: true,
            local_auto_start_claude_focus_terminal: true,
            open_project_target: None,
            framework: None,
            show_diff_stats: None,
            code_host: None,
            activity: None,
            ops_log: None,
            extra: Map::new(),
        }
    }
}

/// `ports` in the project configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PortsConfig {
    /// Ports the dev server listens on, found by discovery.
    pub discovered: Vec<u16>,
    /// Distance between the port sets of two worktrees.
    pub offset_step: u16,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for PortsConfig {
    fn default() -> Self {
        PortsConfig {
            discovered: Vec::new(),
            offset_step: 1,
            extra: Map::new(),
        }
    }
}

/// Agents OpenKit can start.
pub const AGENTS: [&str; 4] = ["claude", "codex", "gemini", "opencode"];

/// Frameworks the configuration may name.
pub const FRAMEWORKS: [&str; 3] = ["generic", "react-native", "expo"];

impl WorktreeConfig {
    /// Parses a configuration object, filling defaults.
    pub fn from_object(map: Map<String, Value>) -> Result<Self, String> {
        let config: WorktreeConfig =
            serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules serde's types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.ports.offset_step == 0 {
            return Err("ports.offsetStep must be at least 1".into());
        }
        if !AGENTS.contains(&self.local_auto_start_agent.as_str()) {
            return Err(format!(
                "localAutoStartAgent must be one of {}",
                AGENTS.join(", ")
            ));
        }
        if let Some(f) = &self.framework
            && !FRAMEWORKS.contains(&f.as_str())
        {
            return Err(format!(
                "framework must be one of {}",
                FRAMEWORKS.join(", ")
            ));
        }
        if self.base_branch.trim().is_empty() {
            return Err("baseBranch must not be empty".into());
        }
        if self.local_issue_prefix.is_empty()
            || !self
                .local_issue_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err("localIssuePrefix must be letters and digits".into());
        }
        let project_dir = std::path::Path::new(&self.project_dir);
        if project_dir.is_absolute()
            || project_dir
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err("projectDir must be a relative path inside the worktree".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_code_host_is_github_or_kizuna() {
        let Value::Object(map) = json!({"codeHost": "kizuna"}) else {
            unreachable!()
        };
        let cfg = WorktreeConfig::from_object(map).unwrap();
        assert_eq!(cfg.code_host, Some(crate::codehost::CodeHostKind::Kizuna));
        assert_eq!(serde_json::to_value(&cfg).unwrap()["codeHost"], "kizuna");
        let plain = serde_json::to_value(WorktreeConfig::default()).unwrap();
        assert!(plain.get("codeHost").is_none());
    }

    #[test]
    fn defaults_fill_and_unknown_fields_survive() {
        let map = json!({"startCommand": "pnpm dev", "custom": {"a": 1}, "ports": {"offsetStep": 10, "x": true}});
        let Value::Object(map) = map else {
            unreachable!()
        };
        let cfg = WorktreeConfig::from_object(map).unwrap();
        assert_eq!(cfg.start_command, "pnpm dev");
        assert_eq!(cfg.base_branch, "main");
        assert!(cfg.auto_install);
        assert_eq!(cfg.ports.offset_step, 10);
        let back = serde_json::to_value(&cfg).unwrap();
        assert_eq!(back["custom"], json!({"a": 1}));
        assert_eq!(back["ports"]["x"], json!(true));
        assert_eq!(back["localIssuePrefix"], json!("LOCAL"));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            json!({"ports": {"offsetStep": 0}}),
            json!({"localAutoStartAgent": "vim"}),
            json!({"autoInstall": "yes"}),
            json!({"projectDir": "../elsewhere"}),
            json!({"framework": "rails"}),
            json!({"codeHost": "gitlab"}),
        ] {
            let Value::Object(map) = bad else {
                unreachable!()
            };
            assert!(WorktreeConfig::from_object(map).is_err());
        }
    }
}
