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

/// The id of OpenKit's own MCP server (`openkit mcp`) among the servers.
pub const BUILTIN_SERVER_ID: &str = "openkit";

/// The registries of one user, seen from one project.
#[derive(Debug, Clone)]
pub struct Registries {
    mcp: McpRegistry,
    deployer: McpDeployer,
    skills: skills::SkillRegistry,
    agents: custom_agents::CustomAgents,
    /// OpenKit's own MCP server, when the `openkit` program is known.
    builtin: Option<mcp::McpServer>,
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
            builtin: None,
        }
    }

    /// Lists OpenKit's own MCP server (`<program> mcp`, scoped to the worktree the agent
    /// runs in) as the built-in server [`BUILTIN_SERVER_ID`]: in the deployment status,
    /// and deployable to every agent like a registry server. A registry server of that
    /// id takes its place.
    pub fn with_builtin_server(mut self, program: &std::path::Path) -> Self {
        self.builtin = Some(mcp::McpServer {
            id: BUILTIN_SERVER_ID.to_string(),
            name: "OpenKit".to_string(),
            description: "OpenKit's own tools for agents: task context, todos, progress, \
                          worktrees and terminals"
                .to_string(),
            tags: vec!["builtin".to_string()],
            command: Some(program.to_string_lossy().into_owned()),
            args: Some(vec!["mcp".to_string()]),
            transport: None,
            url: None,
            env: BTreeMap::new(),
            source: Some("builtin".to_string()),
            created_at: String::new(),
            updated_at: String::new(),
            extra: Default::default(),
        });
        self
    }

    /// Registry server `id`, or the built-in one when the registry has no such server.
    fn server(&self, id: &str) -> Result<mcp::McpServer, RegistryError> {
        match (self.mcp.get(id), &self.builtin) {
            (Err(RegistryError::ServerNotFound { .. }), Some(builtin)) if builtin.id == id => {
                Ok(builtin.clone())
            }
            (found, _) => found,
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
        let server = self.server(id)?;
        let env = self.mcp.effective_env(&server)?;
        self.deployer.deploy(&server, &env, tool, scope)
    }

    /// Removes registry server `id` from `tool`'s file in `scope` (a no-op when it is
    /// not there).
    pub fn undeploy_server(&self, id: &str, tool: Tool, scope: Scope) -> Result<(), RegistryError> {
        self.server(id)?;
        self.deployer.undeploy(id, tool, scope)?;
        Ok(())
    }

    /// Where every registry server (and the built-in one) stands in every agent's files.
    pub fn server_status(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<Tool, ToolDeployment>>, RegistryError> {
        let mut listed = self.mcp.list(None, None)?;
        if let Some(builtin) = &self.builtin
            && !listed.iter().any(|s| s.id == builtin.id)
        {
            listed.push(builtin.clone());
        }
        let servers = listed
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
