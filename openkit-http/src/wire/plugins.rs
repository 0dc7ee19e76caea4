//! `/api/claude/plugins` and `/api/claude/agents`: Claude Code plugins, marketplaces
//! and the agent definitions plugins bring.

use std::collections::BTreeMap;

use openkit_core::registry::plugins::{
    AvailablePlugin as CoreAvailable, Components, Marketplace as CoreMarketplace, Plugin,
    PluginAgent as CoreAgent, RawList,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::registry::Placement;

/// How many components of each kind a plugin has.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentCounts {
    /// Slash commands.
    pub commands: usize,
    /// Agent definitions.
    pub agents: usize,
    /// Skills.
    pub skills: usize,
    /// MCP servers.
    pub mcp_servers: usize,
    /// It has hooks.
    pub hooks: bool,
    /// It has LSP servers.
    pub lsp: bool,
}

impl From<&Components> for ComponentCounts {
    fn from(c: &Components) -> Self {
        ComponentCounts {
            commands: c.commands.len(),
            agents: c.agents.len(),
            skills: c.skills.len(),
            mcp_servers: c.mcp_servers.len(),
            hooks: c.has_hooks,
            lsp: c.has_lsp,
        }
    }
}

/// An installed plugin in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginSummary {
    /// `name@marketplace`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its version.
    pub version: String,
    /// `user`, `project` or `local`.
    pub scope: String,
    /// Enabled.
    pub enabled: bool,
    /// The marketplace.
    pub marketplace: String,
    /// The author.
    pub author: String,
    /// A problem that keeps it from working.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Something it needs.
    #[schema(required = true)]
    pub warning: Option<String>,
    /// Its components.
    pub component_counts: ComponentCounts,
}

impl From<&Plugin> for PluginSummary {
    fn from(p: &Plugin) -> Self {
        PluginSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            version: p.version.clone(),
            scope: p.scope.clone(),
            enabled: p.enabled,
            marketplace: p.marketplace.clone(),
            author: p.author.clone(),
            error: p.error.clone(),
            warning: p.warning.clone(),
            component_counts: (&p.components).into(),
        }
    }
}

/// `GET /api/claude/plugins`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginList {
    /// Installed plugins.
    pub plugins: Vec<PluginSummary>,
    /// The `claude` CLI was found (else the list comes from Claude Code's files).
    pub cli_available: bool,
}

/// `GET /api/claude/plugins/debug`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginDebug {
    /// The command succeeded.
    pub success: bool,
    /// Its stdout.
    pub raw: String,
    /// Its stdout parsed as JSON (`null` when it is not JSON).
    #[schema(required = true)]
    pub parsed: Option<Value>,
    /// Its stderr.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl From<RawList> for PluginDebug {
    fn from(r: RawList) -> Self {
        PluginDebug {
            success: r.success,
            raw: r.raw,
            parsed: r.parsed,
            stderr: r.stderr,
        }
    }
}

/// A plugin a marketplace offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailablePlugin {
    /// `name@marketplace`.
    pub plugin_id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The marketplace.
    pub marketplace_name: String,
    /// Its version.
    pub version: String,
    /// Installed already.
    pub installed: bool,
}

impl From<CoreAvailable> for AvailablePlugin {
    fn from(a: CoreAvailable) -> Self {
        AvailablePlugin {
            plugin_id: a.plugin_id,
            name: a.name,
            description: a.description,
            marketplace_name: a.marketplace_name,
            version: a.version,
            installed: a.installed,
        }
    }
}

/// `GET /api/claude/plugins/available`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AvailablePlugins {
    /// Plugins of every configured marketplace.
    pub available: Vec<AvailablePlugin>,
}

/// The component lists of a plugin.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentLists {
    /// Slash commands.
    pub commands: Vec<String>,
    /// Agent definitions.
    pub agents: Vec<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// MCP servers.
    pub mcp_servers: Vec<String>,
    /// It has hooks.
    pub has_hooks: bool,
    /// It has LSP servers.
    pub has_lsp: bool,
}

/// An installed plugin with its manifest, README and components.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginDetail {
    /// `name@marketplace`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its version.
    pub version: String,
    /// `user`, `project` or `local`.
    pub scope: String,
    /// Enabled.
    pub enabled: bool,
    /// Where it is installed.
    #[schema(required = true)]
    pub install_path: Option<String>,
    /// `.claude-plugin/plugin.json`.
    #[schema(value_type = Object, required = true)]
    pub manifest: Option<Value>,
    /// Its components.
    pub components: ComponentLists,
    /// Its README.
    #[schema(required = true)]
    pub readme: Option<String>,
    /// Manifest `homepage`.
    #[schema(required = true)]
    pub homepage: Option<String>,
    /// Manifest `repository`.
    #[schema(required = true)]
    pub repository: Option<String>,
    /// Manifest `license`.
    #[schema(required = true)]
    pub license: Option<String>,
    /// Manifest `keywords`.
    pub keywords: Vec<String>,
    /// A problem that keeps it from working.
    #[schema(required = true)]
    pub error: Option<String>,
    /// Something it needs.
    #[schema(required = true)]
    pub warning: Option<String>,
}

impl PluginDetail {
    /// The detail of `p` with its README.
    pub fn new(p: &Plugin, readme: Option<String>) -> Self {
        let field = |k: &str| {
            p.manifest.as_ref().and_then(|m| m.get(k)).and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.get("url").and_then(Value::as_str).map(str::to_string))
            })
        };
        PluginDetail {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            version: p.version.clone(),
            scope: p.scope.clone(),
            enabled: p.enabled,
            install_path: p.install_path.as_ref().map(|x| x.display().to_string()),
            manifest: p.manifest.clone(),
            components: ComponentLists {
                commands: p.components.commands.clone(),
                agents: p.components.agents.clone(),
                skills: p.components.skills.clone(),
                mcp_servers: p.components.mcp_servers.clone(),
                has_hooks: p.components.has_hooks,
                has_lsp: p.components.has_lsp,
            },
            readme,
            homepage: field("homepage"),
            repository: field("repository"),
            license: field("license"),
            keywords: p
                .manifest
                .as_ref()
                .and_then(|m| m.get("keywords"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            error: p.error.clone(),
            warning: p.warning.clone(),
        }
    }
}

/// `GET /api/claude/plugins/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginResponse {
    /// The plugin.
    pub plugin: PluginDetail,
}

/// A configured marketplace.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Marketplace {
    /// Its name.
    pub name: String,
    /// Its source kind (`github`, `git`, `url`, `directory`).
    pub source: String,
    /// `owner/repo` (or URL) of its source.
    #[schema(required = true)]
    pub repo: Option<String>,
}

impl From<CoreMarketplace> for Marketplace {
    fn from(m: CoreMarketplace) -> Self {
        Marketplace {
            name: m.name,
            source: m.source,
            repo: m.repo,
        }
    }
}

/// `GET /api/claude/plugins/marketplaces`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MarketplaceList {
    /// Configured marketplaces.
    pub marketplaces: Vec<Marketplace>,
}

/// Body of `POST /api/claude/plugins/marketplaces`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddMarketplaceRequest {
    /// A URL, `owner/repo` or path.
    pub source: Option<String>,
}

/// Body of `POST /api/claude/plugins/install`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InstallPluginRequest {
    /// `name` or `name@marketplace`.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// `user` (default), `project` or `local`.
    pub scope: Option<String>,
}

/// Optional body of the per-plugin actions.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PluginScopeRequest {
    /// `user`, `project` or `local`.
    pub scope: Option<String>,
}

/// A plugin agent in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginAgentSummary {
    /// `<plugin-id>::<agent-name>`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// The plugin.
    pub plugin_id: String,
    /// The plugin's name.
    pub plugin_name: String,
    /// The plugin's scope.
    pub plugin_scope: String,
    /// The plugin is enabled.
    pub plugin_enabled: bool,
    /// The plugin's marketplace.
    pub marketplace: String,
    /// Agent → presence per scope (Claude: the plugin is enabled there).
    pub deployments: BTreeMap<String, Placement>,
}

impl From<&CoreAgent> for PluginAgentSummary {
    fn from(a: &CoreAgent) -> Self {
        PluginAgentSummary {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            plugin_id: a.plugin.id.clone(),
            plugin_name: a.plugin.name.clone(),
            plugin_scope: a.plugin.scope.clone(),
            plugin_enabled: a.plugin.enabled,
            marketplace: a.plugin.marketplace.clone(),
            deployments: a
                .deployments
                .iter()
                .map(|(t, p)| (t.as_str().to_string(), Placement::from(*p)))
                .collect(),
        }
    }
}

/// `GET /api/claude/agents`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginAgentList {
    /// Agent definitions of every installed plugin.
    pub agents: Vec<PluginAgentSummary>,
    /// The `claude` CLI was found.
    pub cli_available: bool,
}

/// A plugin agent with its Markdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginAgentDetail {
    /// Id, name, plugin, deployments.
    #[serde(flatten)]
    pub summary: PluginAgentSummary,
    /// The plugin's install directory.
    pub install_path: String,
    /// `agents/<name>.md` of the plugin.
    pub agent_path: String,
    /// The Markdown.
    pub content: String,
}

/// `GET /api/claude/agents/detail`, `GET /api/claude/agents/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PluginAgentResponse {
    /// The agent.
    pub agent: PluginAgentDetail,
}

/// Query of `GET /api/claude/agents/detail`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PluginAgentParams {
    /// `<plugin-id>::<agent-name>`.
    pub id: Option<String>,
}

/// Body of `POST /api/claude/agents/deploy` and `/undeploy`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PluginAgentDeployRequest {
    /// `<plugin-id>::<agent-name>`.
    pub id: Option<String>,
    /// `claude`, `codex`, `cursor`, `gemini` or `vscode`.
    pub agent: Option<String>,
    /// `global` or `project`.
    pub scope: Option<String>,
}
