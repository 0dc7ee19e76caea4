//! `/api/claude/custom-agents`: custom agents of the OpenKit registry
//! (`~/.openkit/agents/*.md`).

use std::collections::BTreeMap;

use openkit_core::registry::custom_agents::{
    CustomAgent as CoreAgent, DiscoveredAgent as CoreDiscovered, NewCustomAgent,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;
use super::registry::Placement;

fn deployments(agent: &CoreAgent) -> BTreeMap<String, Placement> {
    agent
        .deployments
        .iter()
        .map(|(tool, p)| (tool.as_str().to_string(), Placement::from(*p)))
        .collect()
}

/// A custom agent in a list (shaped like a plugin agent: plugin `custom`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomAgentSummary {
    /// `custom::<name>`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Always `custom`.
    pub plugin_id: String,
    /// Always `Custom`.
    pub plugin_name: String,
    /// Always `local`.
    pub plugin_scope: String,
    /// Always `true`.
    pub plugin_enabled: bool,
    /// Always `local`.
    pub marketplace: String,
    /// Always `true`.
    pub is_custom: bool,
    /// Agent → presence per scope.
    pub deployments: BTreeMap<String, Placement>,
}

impl From<&CoreAgent> for CustomAgentSummary {
    fn from(a: &CoreAgent) -> Self {
        CustomAgentSummary {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            plugin_id: "custom".into(),
            plugin_name: "Custom".into(),
            plugin_scope: "local".into(),
            plugin_enabled: true,
            marketplace: "local".into(),
            is_custom: true,
            deployments: deployments(a),
        }
    }
}

/// `GET /api/claude/custom-agents`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomAgentList {
    /// By name.
    pub agents: Vec<CustomAgentSummary>,
}

/// A custom agent with its Markdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomAgentDetail {
    /// `custom::<name>`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Always `true`.
    pub is_custom: bool,
    /// Its file in the registry.
    pub agent_path: String,
    /// The registry directory.
    pub install_path: String,
    /// Agent → presence per scope.
    pub deployments: BTreeMap<String, Placement>,
    /// The whole file.
    pub content: String,
}

impl From<&CoreAgent> for CustomAgentDetail {
    fn from(a: &CoreAgent) -> Self {
        CustomAgentDetail {
            id: a.id.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            is_custom: true,
            agent_path: a.path.display().to_string(),
            install_path: a
                .path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            deployments: deployments(a),
            content: a.content.clone(),
        }
    }
}

/// `GET /api/claude/custom-agents/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomAgentResponse {
    /// The agent.
    pub agent: CustomAgentDetail,
}

/// `POST /api/claude/custom-agents`, `PATCH /api/claude/custom-agents/:id`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomAgentSaved {
    /// Always `true`.
    pub success: True,
    /// The agent as stored.
    pub agent: CustomAgentDetail,
}

/// Body of `POST /api/claude/custom-agents`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomAgentRequest {
    /// Name (slugged into the file name).
    pub name: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its tools (`Read, Grep, Glob`).
    pub tools: Option<String>,
    /// A model hint.
    pub model: Option<String>,
    /// The Markdown body.
    pub instructions: Option<String>,
    /// Where `deployAgents` are deployed: `global` or `project` (default).
    pub scope: Option<String>,
    /// Agents to deploy to right away.
    pub deploy_agents: Option<Vec<String>>,
}

impl CreateCustomAgentRequest {
    /// The agent to create (the deploy targets are read separately).
    pub fn agent(&self) -> NewCustomAgent {
        NewCustomAgent {
            name: self.name.clone().unwrap_or_default(),
            description: self.description.clone(),
            tools: self.tools.clone(),
            model: self.model.clone(),
            instructions: self.instructions.clone(),
        }
    }
}

/// Body of `PATCH /api/claude/custom-agents/:id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateCustomAgentRequest {
    /// The whole new Markdown file.
    pub content: Option<String>,
}

/// An agent file found by a scan.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredAgent {
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// The file.
    pub agent_path: String,
    /// The registry has an agent of this name.
    pub already_in_registry: bool,
}

impl From<CoreDiscovered> for DiscoveredAgent {
    fn from(d: CoreDiscovered) -> Self {
        DiscoveredAgent {
            name: d.name,
            description: d.description,
            agent_path: d.agent_path.display().to_string(),
            already_in_registry: d.already_in_registry,
        }
    }
}

/// `POST /api/claude/custom-agents/scan`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentScanResult {
    /// Agent files found.
    pub discovered: Vec<DiscoveredAgent>,
}

/// One agent of `POST /api/claude/custom-agents/import`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportAgent {
    /// The name it gets in the registry.
    pub name: String,
    /// The Markdown file to copy.
    pub agent_path: String,
}

/// Body of `POST /api/claude/custom-agents/import`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportAgentsRequest {
    /// Where `deployAgents` are deployed: `global` or `project` (default).
    pub scope: Option<String>,
    /// Agents to deploy the imported ones to.
    pub deploy_agents: Option<Vec<String>>,
    /// The files to copy in.
    #[serde(default)]
    pub agents: Vec<ImportAgent>,
}
