//! Registries of MCP servers, skills and custom agents, deployed to every agent.
//!
//! One list of each lives under the global `~/.openkit/` ([`crate::Paths::global_dir`]):
//! `mcp-servers.json` ([`mcp`]), `skills/<name>/` ([`skills`]) and `agents/*.md`
//! ([`custom_agents`]). They are deployed to Claude Code, Codex, Cursor, Gemini CLI and
//! VS Code, in the user's home (from the [`HostEnv`], never read here) or in the project,
//! as the one table of [`targets`] says. Deployments edit the agents' own files
//! surgically ([`json_doc`], [`toml_doc`]) and status reads those files as they are.

pub mod custom_agents;
pub mod deploy;
pub mod error;
pub mod frontmatter;
pub mod json_doc;
pub mod mcp;
pub mod plugins;
pub mod skills;
pub mod targets;
pub mod toml_doc;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use error::RegistryError;
pub use targets::{Scope, Tool};

use crate::host::HostEnv;
use crate::paths::Paths;
use deploy::{DiscoveredServer, McpDeployer, ScanMode, ToolDeployment};
use mcp::{McpRegistry, NewMcpServer};
use targets::Roots;

/// The registries of one user, seen from one project.
#[derive(Debug, Clone)]
pub struct Registries {
    mcp: McpRegistry,
    deployer: McpDeployer,
    skills: skills::SkillRegistry,
    agents: custom_agents::CustomAgents,
}

impl Registries {
    /// The registries under `paths.global_dir()`, deploying to the project of `paths`
    /// and to the home directory of `host` (`$HOME`).
    pub fn new(paths: &Paths, host: &HostEnv) -> Self {
        let roots = Roots {
            home: host.home(),
            project: paths.project_root().to_path_buf(),
        };
        Registries {
            mcp: McpRegistry::new(paths),
            deployer: McpDeployer::new(roots.clone(), paths.global_dir()),
            skills: skills::SkillRegistry::new(paths.global_dir(), roots.clone()),
            agents: custom_agents::CustomAgents::new(paths.global_dir(), roots),
        }
    }

    /// The MCP servers registry.
    pub fn mcp(&self) -> &McpRegistry {
        &self.mcp
    }

    /// The skills registry.
    pub fn skills(&self) -> &skills::SkillRegistry {
        &self.skills
    }

    /// The custom agents registry.
    pub fn custom_agents(&self) -> &custom_agents::CustomAgents {
        &self.agents
    }

    /// Deploys registry server `id` to `tool` in `scope`, with this project's env
    /// overrides merged over the registry env. Returns the file written.
    pub fn deploy_server(
        &self,
        id: &str,
        tool: Tool,
        scope: Scope,
    ) -> Result<PathBuf, RegistryError> {
        let server = self.mcp.get(id)?;
        let env = self.mcp.effective_env(&server)?;
        self.deployer.deploy(&server, &env, tool, scope)
    }

    /// Removes registry server `id` from `tool`'s file in `scope` (a no-op when it is
    /// not there).
    pub fn undeploy_server(&self, id: &str, tool: Tool, scope: Scope) -> Result<(), RegistryError> {
        self.mcp.get(id)?;
        self.deployer.undeploy(id, tool, scope)?;
        Ok(())
    }

    /// Where every registry server stands in every agent's files.
    pub fn server_status(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<Tool, ToolDeployment>>, RegistryError> {
        let servers = self
            .mcp
            .list(None, None)?
            .into_iter()
            .map(|s| {
                let env = self.mcp.effective_env(&s)?;
                Ok((s, env))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        Ok(self.deployer.status(&servers))
    }

    /// Servers found in the agents' files (see [`McpDeployer::scan`]).
    pub fn scan_servers(&self, mode: &ScanMode) -> Result<Vec<DiscoveredServer>, RegistryError> {
        let known: Vec<String> = self
            .mcp
            .list(None, None)?
            .into_iter()
            .map(|s| s.id)
            .collect();
        Ok(self.deployer.scan(mode, |id| known.iter().any(|k| k == id)))
    }

    /// Registers discovered servers whose ids are free; returns the ids registered.
    pub fn import_servers(&self, servers: Vec<NewMcpServer>) -> Result<Vec<String>, RegistryError> {
        self.mcp.import(servers)
    }
}
