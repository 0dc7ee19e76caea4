//! Claude Code plugins and marketplaces, managed through the `claude` CLI
//! (`claude plugin list --json`, `install`, `uninstall`, `enable`, `disable`, `update`,
//! `claude plugin marketplace list|add|remove|update`), every run through the
//! [`CommandRunner`]. Without the CLI the installed plugins and marketplaces are read
//! from Claude Code's own files (`~/.claude/plugins/installed_plugins.json`,
//! `~/.claude/plugins/known_marketplaces.json`, `enabledPlugins` of the settings files)
//! and every change answers `CLAUDE_CLI_UNAVAILABLE`.
//!
//! A plugin's components are read from its install directory: `commands/*.md`,
//! `agents/*.md`, `skills/*/SKILL.md`, MCP servers (`.mcp.json` or the manifest's
//! `mcpServers`), `hooks/hooks.json`, `.lsp.json`. Health is checked locally: an MCP
//! server whose command is not on the search path is an error, a `${VAR}` its config
//! needs that the host environment lacks is a warning. Plugin agents (`agents/*.md`) can
//! be copied to the other agents' directories; for Claude itself "deploying" one enables
//! its plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::RegistryError;
use super::frontmatter;
use super::skills::AgentPlacement;
use super::targets::{Roots, Scope, TARGETS, Tool};
use crate::command::{CommandRunner, CommandSpec};
use crate::host::HostEnv;
use crate::persist;

/// What a plugin brings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Components {
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

/// An installed Claude plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// `name@marketplace`.
    pub id: String,
    /// Its name (from the manifest, else the id).
    pub name: String,
    /// Manifest `description`.
    pub description: String,
    /// Its version.
    pub version: String,
    /// `user`, `project` or `local`.
    pub scope: String,
    /// Enabled in its scope.
    pub enabled: bool,
    /// The marketplace part of the id.
    pub marketplace: String,
    /// Manifest `author.name` (or `author`).
    pub author: String,
    /// Where it is installed.
    pub install_path: Option<PathBuf>,
    /// `.claude-plugin/plugin.json`.
    pub manifest: Option<Value>,
    /// What it brings.
    pub components: Components,
    /// A problem that keeps it from working.
    pub error: Option<String>,
    /// Something it needs.
    pub warning: Option<String>,
}

/// A plugin offered by a configured marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// It is installed.
    pub installed: bool,
}

/// A configured marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marketplace {
    /// Its name.
    pub name: String,
    /// Its source kind or URL (`github`, `git`, `url`, a path).
    pub source: String,
    /// `owner/repo` of a GitHub marketplace.
    pub repo: Option<String>,
}

/// An agent definition of a plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginAgent {
    /// `<plugin-id>::<agent-name>`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// The plugin.
    pub plugin: Plugin,
    /// `agents/<name>.md` of the plugin.
    pub agent_path: PathBuf,
    /// Where it is deployed (Claude: its plugin is enabled in that scope).
    pub deployments: BTreeMap<Tool, AgentPlacement>,
}

/// The raw output of `claude plugin list --json`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawList {
    /// The command succeeded.
    pub success: bool,
    /// Its stdout.
    pub raw: String,
    /// Its stdout parsed as JSON, when it is JSON.
    pub parsed: Option<Value>,
    /// Its stderr, when not empty.
    pub stderr: Option<String>,
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn md_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .into_string()
                        .ok()?
                        .strip_suffix(".md")
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The manifest and components of the plugin installed at `dir`.
fn read_plugin_dir(dir: &Path) -> (Option<Value>, Components, Map<String, Value>) {
    let manifest: Option<Value> = persist::read_json(&dir.join(".claude-plugin/plugin.json"))
        .ok()
        .flatten();
    let mut skills: Vec<String> = std::fs::read_dir(dir.join("skills"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("SKILL.md").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    skills.sort();
    let mcp = manifest
        .as_ref()
        .and_then(|m| m.get("mcpServers"))
        .and_then(Value::as_object)
        .cloned()
        .or_else(|| {
            persist::read_json::<Value>(&dir.join(".mcp.json"))
                .ok()
                .flatten()
                .and_then(|v| v.get("mcpServers").and_then(Value::as_object).cloned())
        })
        .unwrap_or_default();
    let components = Components {
        commands: md_names(&dir.join("commands")),
        agents: md_names(&dir.join("agents")),
        skills,
        mcp_servers: mcp.keys().cloned().collect(),
        has_hooks: dir.join("hooks/hooks.json").is_file()
            || manifest.as_ref().is_some_and(|m| m.get("hooks").is_some()),
        has_lsp: dir.join(".lsp.json").is_file()
            || manifest
                .as_ref()
                .is_some_and(|m| m.get("lspServers").is_some()),
    };
    (manifest, components, mcp)
}

/// `${VAR}` references in `text`.
fn env_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].split(":-").next().unwrap_or_default();
        if !name.is_empty()
            && !name.starts_with("CLAUDE_PLUGIN_ROOT")
            && !out.contains(&name.to_string())
        {
            out.push(name.to_string());
        }
        rest = &after[end..];
    }
    out
}

/// The Claude plugins of one user, seen from one project.
#[derive(Debug, Clone)]
pub struct ClaudePlugins {
    runner: CommandRunner,
    claude: Option<PathBuf>,
    roots: Roots,
    host: HostEnv,
}

impl ClaudePlugins {
    /// Plugins managed with the `claude` executable at `claude` (none: read-only from
    /// files), running it through `runner` in the project of `roots`.
    pub fn new(runner: CommandRunner, claude: Option<PathBuf>, roots: Roots) -> Self {
        let host = runner.host().clone();
        ClaudePlugins {
            runner,
            claude,
            roots,
            host,
        }
    }

    /// Plugins of the user of `runner`'s host environment (`$HOME`), with `claude`
    /// looked up on its `PATH` and the usual per-user install directories.
    pub fn discover(runner: CommandRunner, project: PathBuf) -> Self {
        let home = runner.host().home();
        let dirs = crate::agents::agent_search_path(&runner.host().search_path(), home.as_deref());
        let claude = crate::agents::find(crate::agents::Agent::Claude, &dirs);
        ClaudePlugins::new(runner, claude, Roots { home, project })
    }

    /// Whether the CLI is there.
    pub fn cli_available(&self) -> bool {
        self.claude.is_some()
    }

    async fn run(&self, args: &[&str]) -> Result<(bool, String, String), RegistryError> {
        let claude = self
            .claude
            .as_ref()
            .ok_or(RegistryError::ClaudeCliUnavailable)?;
        let output = self
            .runner
            .run(CommandSpec::new(claude.as_os_str(), &self.roots.project).args(args))
            .await?;
        Ok((output.success(), output.stdout_text(), output.stderr_text()))
    }

    /// Runs a changing `claude plugin ...` command; fails with its output.
    async fn change(&self, args: &[&str]) -> Result<(), RegistryError> {
        let (ok, stdout, stderr) = self.run(args).await?;
        if ok {
            return Ok(());
        }
        let text = format!("{stdout}{stderr}");
        let lines: Vec<&str> = text.lines().collect();
        Err(RegistryError::PluginCommandFailed {
            command: args.iter().take(3).copied().collect::<Vec<_>>().join(" "),
            output: lines[lines.len().saturating_sub(20)..].join("\n"),
        })
    }

    /// The raw `claude plugin list --json`.
    pub async fn raw_list(&self) -> Result<RawList, RegistryError> {
        let (success, raw, stderr) = self.run(&["plugin", "list", "--json"]).await?;
        Ok(RawList {
            success,
            parsed: serde_json::from_str(&raw).ok(),
            raw,
            stderr: Some(stderr).filter(|s| !s.trim().is_empty()),
        })
    }

    /// `(id, scope, enabled, installPath, version)` of every installed plugin: from the
    /// CLI when there is one, else from Claude Code's files.
    async fn installed(
        &self,
    ) -> Result<Vec<(String, String, bool, Option<PathBuf>, String)>, RegistryError> {
        if self.cli_available() {
            let list = self.raw_list().await?;
            if !list.success {
                return Err(RegistryError::PluginCommandFailed {
                    command: "plugin list".into(),
                    output: list.stderr.unwrap_or(list.raw),
                });
            }
            let entries = match list.parsed {
                Some(Value::Array(a)) => a,
                Some(Value::Object(o)) => o
                    .get("installed")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            return Ok(entries
                .iter()
                .filter_map(|e| {
                    Some((
                        str_field(e, "id")?,
                        str_field(e, "scope").unwrap_or_else(|| "user".into()),
                        e.get("enabled").and_then(Value::as_bool).unwrap_or(true),
                        str_field(e, "installPath").map(PathBuf::from),
                        str_field(e, "version").unwrap_or_default(),
                    ))
                })
                .collect());
        }
        Ok(self.installed_from_files())
    }

    fn enabled_map(&self) -> BTreeMap<String, bool> {
        let mut enabled = BTreeMap::new();
        let mut files = Vec::new();
        if let Some(home) = &self.roots.home {
            files.push(home.join(".claude/settings.json"));
        }
        files.push(self.roots.project.join(".claude/settings.json"));
        files.push(self.roots.project.join(".claude/settings.local.json"));
        for file in files {
            if let Ok(Some(v)) = persist::read_json::<Value>(&file)
                && let Some(map) = v.get("enabledPlugins").and_then(Value::as_object)
            {
                for (id, on) in map {
                    enabled.insert(id.clone(), on.as_bool().unwrap_or(false));
                }
            }
        }
        enabled
    }

    fn installed_from_files(&self) -> Vec<(String, String, bool, Option<PathBuf>, String)> {
        let Some(home) = &self.roots.home else {
            return Vec::new();
        };
        let enabled = self.enabled_map();
        let file: Option<Value> =
            persist::read_json(&home.join(".claude/plugins/installed_plugins.json"))
                .ok()
                .flatten();
        let Some(plugins) = file
            .as_ref()
            .and_then(|f| f.get("plugins"))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (id, entries) in plugins {
            // Version 2 lists installs per scope; version 1 has one object.
            let entries = match entries {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for e in entries {
                out.push((
                    id.clone(),
                    str_field(&e, "scope").unwrap_or_else(|| "user".into()),
                    enabled.get(id).copied().unwrap_or(false),
                    str_field(&e, "installPath").map(PathBuf::from),
                    str_field(&e, "version").unwrap_or_default(),
                ));
            }
        }
        out
    }

    fn build(
        &self,
        id: String,
        scope: String,
        enabled: bool,
        path: Option<PathBuf>,
        version: String,
    ) -> Plugin {
        let (manifest, components, mcp) = path.as_deref().map(read_plugin_dir).unwrap_or_default();
        let (base, marketplace) = id
            .split_once('@')
            .map(|(n, m)| (n.to_string(), m.to_string()))
            .unwrap_or((id.clone(), String::new()));
        let field = |k: &str| manifest.as_ref().and_then(|m| str_field(m, k));
        let author = manifest
            .as_ref()
            .and_then(|m| m.get("author"))
            .and_then(|a| {
                a.as_str()
                    .map(str::to_string)
                    .or_else(|| str_field(a, "name"))
            })
            .unwrap_or_default();
        // Health: commands of stdio servers on the search path, ${VAR}s in the host env.
        let search = self.host.search_path();
        let mut error = None;
        let mut missing_env = Vec::new();
        for (name, server) in &mcp {
            if let Some(cmd) = str_field(server, "command")
                && !cmd.contains("${")
            {
                let found = if cmd.contains('/') {
                    Path::new(&cmd).is_file()
                } else {
                    crate::open_targets::find_executable(&cmd, &search).is_some()
                };
                if !found && error.is_none() {
                    error = Some(format!("MCP server \"{name}\": command not found: {cmd}"));
                }
            }
            for var in env_refs(&server.to_string()) {
                if self.host.var_str(&var).is_none() && !missing_env.contains(&var) {
                    missing_env.push(var);
                }
            }
        }
        let warning = (!missing_env.is_empty())
            .then(|| format!("Needs environment variable(s): {}", missing_env.join(", ")));
        if path.as_ref().is_some_and(|p| !p.is_dir()) {
            error = Some("The install directory is missing".into());
        }
        Plugin {
            name: field("name").unwrap_or(base),
            description: field("description").unwrap_or_default(),
            version: if version.is_empty() {
                field("version").unwrap_or_default()
            } else {
                version
            },
            id,
            scope,
            enabled,
            marketplace,
            author,
            install_path: path,
            manifest,
            components,
            error,
            warning,
        }
    }

    /// Every installed plugin, with components and health.
    pub async fn list(&self) -> Result<Vec<Plugin>, RegistryError> {
        Ok(self
            .installed()
            .await?
            .into_iter()
            .map(|(id, scope, enabled, path, version)| {
                self.build(id, scope, enabled, path, version)
            })
            .collect())
    }

    /// One installed plugin (needs the CLI).
    pub async fn get(&self, id: &str) -> Result<Plugin, RegistryError> {
        if !self.cli_available() {
            return Err(RegistryError::ClaudeCliUnavailable);
        }
        self.list()
            .await?
            .into_iter()
            .find(|p| p.id == id || p.name == id)
            .ok_or_else(|| RegistryError::PluginNotFound { id: id.to_string() })
    }

    /// The README of an installed plugin.
    pub fn readme(plugin: &Plugin) -> Option<String> {
        let dir = plugin.install_path.as_ref()?;
        ["README.md", "readme.md", "README"]
            .iter()
            .find_map(|n| std::fs::read_to_string(dir.join(n)).ok())
    }

    /// The configured marketplaces: from the CLI, else from
    /// `~/.claude/plugins/known_marketplaces.json`.
    pub async fn marketplaces(&self) -> Result<Vec<Marketplace>, RegistryError> {
        if self.cli_available() {
            let (ok, raw, stderr) = self
                .run(&["plugin", "marketplace", "list", "--json"])
                .await?;
            if !ok {
                return Err(RegistryError::PluginCommandFailed {
                    command: "plugin marketplace list".into(),
                    output: stderr,
                });
            }
            let entries = serde_json::from_str::<Value>(&raw).ok();
            let entries = match entries {
                Some(Value::Array(a)) => a,
                Some(Value::Object(o)) => o
                    .into_iter()
                    .map(|(k, mut v)| {
                        if let Some(obj) = v.as_object_mut() {
                            obj.entry("name").or_insert(Value::String(k));
                        }
                        v
                    })
                    .collect(),
                _ => Vec::new(),
            };
            return Ok(entries.iter().filter_map(marketplace_of).collect());
        }
        Ok(self
            .known_marketplaces()
            .iter()
            .filter_map(marketplace_of)
            .collect())
    }

    fn known_marketplaces(&self) -> Vec<Value> {
        let Some(home) = &self.roots.home else {
            return Vec::new();
        };
        let file: Option<Value> =
            persist::read_json(&home.join(".claude/plugins/known_marketplaces.json"))
                .ok()
                .flatten();
        file.and_then(|f| f.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, mut v)| {
                if let Some(obj) = v.as_object_mut() {
                    obj.entry("name").or_insert(Value::String(name));
                }
                v
            })
            .collect()
    }

    /// Plugins the configured marketplaces offer (read from each marketplace's
    /// `.claude-plugin/marketplace.json` in its install location).
    pub async fn available(&self) -> Result<Vec<AvailablePlugin>, RegistryError> {
        let installed: Vec<String> = self
            .installed()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.0)
            .collect();
        let mut out = Vec::new();
        for market in self.known_marketplaces() {
            let Some(name) = str_field(&market, "name") else {
                continue;
            };
            let Some(location) = str_field(&market, "installLocation") else {
                continue;
            };
            let index: Option<Value> =
                persist::read_json(&Path::new(&location).join(".claude-plugin/marketplace.json"))
                    .ok()
                    .flatten();
            for p in index
                .as_ref()
                .and_then(|i| i.get("plugins"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(pname) = str_field(p, "name") else {
                    continue;
                };
                let plugin_id = format!("{pname}@{name}");
                out.push(AvailablePlugin {
                    installed: installed.contains(&plugin_id),
                    plugin_id,
                    name: pname,
                    description: str_field(p, "description").unwrap_or_default(),
                    marketplace_name: name.clone(),
                    version: str_field(p, "version").unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// `claude plugin install <ref> --scope <scope>`.
    pub async fn install(&self, reference: &str, scope: &str) -> Result<(), RegistryError> {
        let reference = plain(reference, "ref")?;
        let scope = plugin_scope(scope)?;
        self.change(&["plugin", "install", reference, "--scope", scope])
            .await
    }

    /// `claude plugin <action> <id> [--scope <scope>]` for `uninstall`, `enable`,
    /// `disable` and `update`.
    pub async fn act(
        &self,
        action: PluginAction,
        id: &str,
        scope: Option<&str>,
    ) -> Result<(), RegistryError> {
        let id = plain(id, "id")?;
        let mut args = vec!["plugin", action.as_str(), id];
        if let Some(scope) = scope {
            args.extend(["--scope", plugin_scope(scope)?]);
        }
        self.change(&args).await
    }

    /// `claude plugin marketplace <add|remove|update> <arg>`.
    pub async fn marketplace(
        &self,
        action: MarketplaceAction,
        arg: &str,
    ) -> Result<(), RegistryError> {
        let arg = plain(arg, "source")?;
        self.change(&["plugin", "marketplace", action.as_str(), arg])
            .await
    }

    /// Every agent definition of every installed plugin.
    pub async fn agents(&self) -> Result<Vec<PluginAgent>, RegistryError> {
        let plugins = self.list().await?;
        let mut out = Vec::new();
        for plugin in plugins {
            let Some(dir) = plugin.install_path.clone() else {
                continue;
            };
            for name in &plugin.components.agents {
                out.push(self.agent_of(&plugin, &dir, name));
            }
        }
        Ok(out)
    }

    fn agent_of(&self, plugin: &Plugin, dir: &Path, name: &str) -> PluginAgent {
        let agent_path = dir.join("agents").join(format!("{name}.md"));
        let content = std::fs::read_to_string(&agent_path).unwrap_or_default();
        let description = frontmatter::read(&content)
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut deployments = BTreeMap::new();
        for target in &TARGETS {
            let placement = if target.tool == Tool::Claude {
                let global = plugin.scope == "user";
                AgentPlacement {
                    global: plugin.enabled && global,
                    project: plugin.enabled && !global,
                }
            } else {
                let at = |scope| {
                    self.roots
                        .agents_dir(target, scope)
                        .is_ok_and(|d| d.join(format!("{name}{}", target.agent_suffix)).is_file())
                };
                AgentPlacement {
                    global: at(Scope::Global),
                    project: at(Scope::Project),
                }
            };
            deployments.insert(target.tool, placement);
        }
        PluginAgent {
            id: format!("{}::{name}", plugin.id),
            name: name.to_string(),
            description,
            plugin: plugin.clone(),
            agent_path,
            deployments,
        }
    }

    /// One plugin agent by id `<plugin-id>::<agent-name>` (needs the CLI), with its
    /// Markdown.
    pub async fn agent(&self, id: &str) -> Result<(PluginAgent, String), RegistryError> {
        let (plugin_id, name) = split_agent_id(id)?;
        let plugin = self.get(plugin_id).await?;
        let dir = plugin
            .install_path
            .clone()
            .ok_or_else(|| RegistryError::AgentDefinitionNotFound { id: id.into() })?;
        let agent = self.agent_of(&plugin, &dir, name);
        let content = std::fs::read_to_string(&agent.agent_path)
            .map_err(|_| RegistryError::AgentDefinitionNotFound { id: id.into() })?;
        Ok((agent, content))
    }

    /// Where a plugin agent's copy for `tool` in `scope` lives.
    fn agent_copy(
        &self,
        agent: &PluginAgent,
        tool: Tool,
        scope: Scope,
    ) -> Result<std::path::PathBuf, RegistryError> {
        let target = tool.target();
        Ok(self
            .roots
            .agents_dir(target, scope)?
            .join(format!("{}{}", agent.name, target.agent_suffix)))
    }

    /// Deploys a plugin agent: copied into `tool`'s agents directory, or for Claude its
    /// plugin is enabled (scope `user` for global, `project` for project).
    pub async fn deploy_agent(
        &self,
        id: &str,
        tool: Tool,
        scope: Scope,
    ) -> Result<(), RegistryError> {
        let (agent, content) = self.agent(id).await?;
        if tool == Tool::Claude {
            let scope = Some(claude_scope(scope));
            return self
                .act(PluginAction::Enable, &agent.plugin.id, scope)
                .await;
        }
        let path = self.agent_copy(&agent, tool, scope)?;
        persist::write_atomic(&path, content.as_bytes())?;
        Ok(())
    }

    /// Undeploys a plugin agent: its copy removed, or for Claude its plugin disabled.
    pub async fn undeploy_agent(
        &self,
        id: &str,
        tool: Tool,
        scope: Scope,
    ) -> Result<(), RegistryError> {
        let (agent, _) = self.agent(id).await?;
        if tool == Tool::Claude {
            let scope = Some(claude_scope(scope));
            return self
                .act(PluginAction::Disable, &agent.plugin.id, scope)
                .await;
        }
        let path = self.agent_copy(&agent, tool, scope)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                Err(crate::error::IoFailure::new(format!("removing {}", path.display()), e).into())
            }
        }
    }
}

/// The `claude plugin` scope a deployment scope enables a plugin in.
fn claude_scope(scope: Scope) -> &'static str {
    match scope {
        Scope::Global => "user",
        Scope::Project => "project",
    }
}

fn marketplace_of(v: &Value) -> Option<Marketplace> {
    let name = str_field(v, "name")?;
    let source = v.get("source");
    let (kind, repo) = match source {
        Some(Value::Object(s)) => (
            s.get("source")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            s.get("repo")
                .or_else(|| s.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        Some(Value::String(s)) => (s.clone(), str_field(v, "repo")),
        _ => (String::new(), str_field(v, "repo")),
    };
    Some(Marketplace {
        name,
        source: kind,
        repo,
    })
}

/// `<plugin-id>::<agent-name>`, both parts non-empty.
fn split_agent_id(id: &str) -> Result<(&str, &str), RegistryError> {
    let (plugin, name) = id.rsplit_once("::").ok_or(RegistryError::InvalidAgentId)?;
    if plugin.is_empty()
        || name.is_empty()
        || name.contains(['/', '\\', '\0'])
        || name.starts_with('.')
    {
        return Err(RegistryError::InvalidAgentId);
    }
    Ok((plugin, name))
}

/// `value` when it is safe as one argument of `claude plugin ...`.
fn plain<'a>(value: &'a str, field: &'static str) -> Result<&'a str, RegistryError> {
    let ok = !value.is_empty()
        && value.len() <= 1024
        && !value.starts_with('-')
        && !value.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(value)
    } else {
        Err(RegistryError::invalid(
            field,
            "is not a plugin, marketplace or source name",
        ))
    }
}

fn plugin_scope(scope: &str) -> Result<&'static str, RegistryError> {
    match scope {
        "user" | "global" => Ok("user"),
        "project" => Ok("project"),
        "local" => Ok("local"),
        other => Err(RegistryError::UnknownScope(other.to_string())),
    }
}

/// A change to one installed plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginAction {
    /// Remove it.
    Uninstall,
    /// Enable it.
    Enable,
    /// Disable it.
    Disable,
    /// Update it.
    Update,
}

impl PluginAction {
    fn as_str(self) -> &'static str {
        match self {
            PluginAction::Uninstall => "uninstall",
            PluginAction::Enable => "enable",
            PluginAction::Disable => "disable",
            PluginAction::Update => "update",
        }
    }
}

/// A change to the marketplaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketplaceAction {
    /// Add a source.
    Add,
    /// Remove one by name.
    Remove,
    /// Refresh one's index.
    Update,
}

impl MarketplaceAction {
    fn as_str(self) -> &'static str {
        match self {
            MarketplaceAction::Add => "add",
            MarketplaceAction::Remove => "remove",
            MarketplaceAction::Update => "update",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids_and_arguments_are_checked() {
        assert_eq!(
            split_agent_id("a@m::reviewer").unwrap(),
            ("a@m", "reviewer")
        );
        for bad in ["reviewer", "::x", "a@m::", "a@m::../x", "a@m::.hidden"] {
            assert!(
                matches!(split_agent_id(bad), Err(RegistryError::InvalidAgentId)),
                "{bad}"
            );
        }
        assert!(plain("--help", "ref").is_err());
        assert!(plain("a b", "ref").is_err());
        assert_eq!(plain("fmt@market", "ref").unwrap(), "fmt@market");
        assert_eq!(plugin_scope("global").unwrap(), "user");
        assert!(plugin_scope("team").is_err());
    }

    #[test]
    fn env_references_are_found() {
        assert_eq!(
            env_refs(
                r#"{"env": {"A": "${API_KEY}", "B": "${CLAUDE_PLUGIN_ROOT}/x", "C": "${X:-d}"}}"#
            ),
            vec!["API_KEY", "X"]
        );
    }

    #[test]
    fn a_plugin_directory_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        for (rel, text) in [
            (
                ".claude-plugin/plugin.json",
                r#"{"name": "fmt", "description": "Formats", "version": "1.2.0", "author": {"name": "Ann"}}"#,
            ),
            ("commands/format.md", "# format"),
            ("agents/reviewer.md", "---\ndescription: Reviews\n---\n"),
            ("skills/style/SKILL.md", "---\nname: style\n---\n"),
            (
                ".mcp.json",
                r#"{"mcpServers": {"fmt": {"command": "definitely-not-here", "env": {"K": "${FMT_TOKEN}"}}}}"#,
            ),
            ("hooks/hooks.json", "{}"),
        ] {
            let path = p.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let roots = Roots {
            home: None,
            project: p.to_path_buf(),
        };
        let plugins = ClaudePlugins::new(CommandRunner::new(HostEnv::empty()), None, roots);
        let plugin = plugins.build(
            "fmt@market".into(),
            "user".into(),
            true,
            Some(p.to_path_buf()),
            String::new(),
        );
        assert_eq!(plugin.name, "fmt");
        assert_eq!(plugin.version, "1.2.0");
        assert_eq!(plugin.author, "Ann");
        assert_eq!(plugin.marketplace, "market");
        assert_eq!(
            plugin.components,
            Components {
                commands: vec!["format".into()],
                agents: vec!["reviewer".into()],
                skills: vec!["style".into()],
                mcp_servers: vec!["fmt".into()],
                has_hooks: true,
                has_lsp: false,
            }
        );
        assert!(plugin.error.unwrap().contains("definitely-not-here"));
        assert!(plugin.warning.unwrap().contains("FMT_TOKEN"));
    }
}
