//! Where each agent reads MCP servers, skills and custom agents: one table, as data.
//!
//! Every agent OpenKit deploys to is a row of [`TARGETS`]; deploy, undeploy, status and
//! scan read the row and never name an agent themselves. Paths are relative to the
//! user's home (global scope) or the project root (project scope).
//!
//! | tool | MCP global | MCP project | container | skills (global / project) | agents (global / project) |
//! |---|---|---|---|---|---|
//! | `claude` | `~/.claude.json` | `.mcp.json` | `mcpServers` | `~/.claude/skills` / `.claude/skills` | `~/.claude/agents` / `.claude/agents` |
//! | `codex` | `~/.codex/config.toml` | `.codex/config.toml` | `[mcp_servers.<id>]` | `~/.codex/skills` / `.codex/skills` | `~/.codex/agents` / `.codex/agents` |
//! | `cursor` | `~/.cursor/mcp.json` | `.cursor/mcp.json` | `mcpServers` | `~/.cursor/skills` / `.cursor/skills` | `~/.cursor/agents` / `.cursor/agents` |
//! | `gemini` | `~/.gemini/settings.json` | `.gemini/settings.json` | `mcpServers` | `~/.gemini/skills` / `.gemini/skills` | `~/.gemini/agents` / `.gemini/agents` |
//! | `vscode` | `~/.config/Code/User/mcp.json` | `.vscode/mcp.json` | `servers` | `~/.copilot/skills` / `.github/skills` | `~/.config/Code/User/prompts` / `.github/agents` (`<name>.agent.md`) |
//!
//! Sources (checked 2026-11):
//! - Claude Code (code.claude.com/docs/en/mcp): `claude mcp add --scope user` writes the
//!   top-level `mcpServers` of `~/.claude.json`; `--scope project` writes `.mcp.json` at the
//!   project root. Remote servers are `{"type": "http"|"sse", "url"}`. Skills are
//!   `SKILL.md` folders in `~/.claude/skills` and `.claude/skills`; subagents are Markdown
//!   files in `~/.claude/agents` and `.claude/agents`.
//! - Gemini CLI (geminicli.com/docs/cli/configuration, docs/tools/mcp-server): user
//!   `~/.gemini/settings.json`, project `.gemini/settings.json`, key `mcpServers`; a
//!   server has `command`/`args`/`env`, or `httpUrl` (streamable HTTP) or `url` (SSE).
//!   Skills in `.gemini/skills` (geminicli.com/docs/cli/creating-skills), subagents in
//!   `~/.gemini/agents` and `.gemini/agents`.
//! - Codex (developers.openai.com/codex/mcp, docs/config.md): `[mcp_servers.<name>]` in
//!   `~/.codex/config.toml`, or `.codex/config.toml` of a trusted project, with `command`,
//!   `args`, `env` (a table) or `url` (streamable HTTP; Codex has no SSE transport, so an
//!   SSE server is written with its `url` too). Skills: developers.openai.com/codex/skills.
//! - Cursor (cursor.com/docs/mcp): `~/.cursor/mcp.json` and `.cursor/mcp.json`, key
//!   `mcpServers`, `command`/`args`/`env` or `url`. Skills in `~/.cursor/skills` and
//!   `.cursor/skills`; subagents in `.cursor/agents`.
//! - VS Code (code.visualstudio.com/docs/copilot/customization/mcp-servers): workspace
//!   `.vscode/mcp.json` and the user profile's `mcp.json` (Linux:
//!   `~/.config/Code/User/mcp.json`; MCP servers moved there from `settings.json`), key
//!   `servers`, entries with `type` (`stdio`, `http`, `sse`). Both files are JSONC. Copilot
//!   skills in `.github/skills` and `~/.copilot/skills`; custom agents are
//!   `.github/agents/<name>.agent.md` and the profile's `prompts` folder.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::RegistryError;

/// An agent OpenKit deploys registry entries to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// Claude Code.
    Claude,
    /// OpenAI Codex CLI.
    Codex,
    /// Cursor.
    Cursor,
    /// Gemini CLI.
    Gemini,
    /// VS Code (GitHub Copilot).
    Vscode,
}

/// Global (the user's home) or project (the project root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// For every project of the user.
    Global,
    /// For this project only.
    Project,
}

/// The file format of an MCP configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON, comments and trailing commas tolerated.
    Json,
    /// TOML.
    Toml,
}

/// How an agent spells an MCP server entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `{command, args, env}` or `{type, url}` (Claude Code).
    TypedUrl,
    /// `{command, args, env}` or `{url}` (Cursor).
    PlainUrl,
    /// `{command, args, env}`, `{httpUrl}` for streamable HTTP, `{url}` for SSE (Gemini).
    HttpUrl,
    /// Always a `type` (`stdio`, `http`, `sse`) (VS Code).
    AlwaysTyped,
    /// `command`, `args`, `env` table, or `url` (Codex TOML).
    Codex,
}

/// One agent's places.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The agent.
    pub tool: Tool,
    /// Its MCP file under the home directory.
    pub mcp_global: &'static str,
    /// Its MCP file under the project root.
    pub mcp_project: &'static str,
    /// The key path of the servers object (JSON) or the table name (TOML).
    pub mcp_container: &'static [&'static str],
    /// The file format.
    pub format: Format,
    /// How an entry is spelled.
    pub dialect: Dialect,
    /// Its skills directory under the home directory.
    pub skills_global: &'static str,
    /// Its skills directory under the project root.
    pub skills_project: &'static str,
    /// Its custom-agents directory under the home directory.
    pub agents_global: &'static str,
    /// Its custom-agents directory under the project root.
    pub agents_project: &'static str,
    /// The file-name suffix of a custom agent (`.md`, `.agent.md`).
    pub agent_suffix: &'static str,
    /// Its name for the `skills` CLI (`npx skills add -a <name>`).
    pub skills_cli_agent: &'static str,
}

/// Every agent, in the order lists show them.
pub const TARGETS: [Target; 5] = [
    Target {
        tool: Tool::Claude,
        mcp_global: ".claude.json",
        mcp_project: ".mcp.json",
        mcp_container: &["mcpServers"],
        format: Format::Json,
        dialect: Dialect::TypedUrl,
        skills_global: ".claude/skills",
        skills_project: ".claude/skills",
        agents_global: ".claude/agents",
        agents_project: ".claude/agents",
        agent_suffix: ".md",
        skills_cli_agent: "claude-code",
    },
    Target {
        tool: Tool::Codex,
        mcp_global: ".codex/config.toml",
        mcp_project: ".codex/config.toml",
        mcp_container: &["mcp_servers"],
        format: Format::Toml,
        dialect: Dialect::Codex,
        skills_global: ".codex/skills",
        skills_project: ".codex/skills",
        agents_global: ".codex/agents",
        agents_project: ".codex/agents",
        agent_suffix: ".md",
        skills_cli_agent: "codex",
    },
    Target {
        tool: Tool::Cursor,
        mcp_global: ".cursor/mcp.json",
        mcp_project: ".cursor/mcp.json",
        mcp_container: &["mcpServers"],
        format: Format::Json,
        dialect: Dialect::PlainUrl,
        skills_global: ".cursor/skills",
        skills_project: ".cursor/skills",
        agents_global: ".cursor/agents",
        agents_project: ".cursor/agents",
        agent_suffix: ".md",
        skills_cli_agent: "cursor",
    },
    Target {
        tool: Tool::Gemini,
        mcp_global: ".gemini/settings.json",
        mcp_project: ".gemini/settings.json",
        mcp_container: &["mcpServers"],
        format: Format::Json,
        dialect: Dialect::HttpUrl,
        skills_global: ".gemini/skills",
        skills_project: ".gemini/skills",
        agents_global: ".gemini/agents",
        agents_project: ".gemini/agents",
        agent_suffix: ".md",
        skills_cli_agent: "gemini-cli",
    },
    Target {
        tool: Tool::Vscode,
        mcp_global: ".config/Code/User/mcp.json",
        mcp_project: ".vscode/mcp.json",
        mcp_container: &["servers"],
        format: Format::Json,
        dialect: Dialect::AlwaysTyped,
        skills_global: ".copilot/skills",
        skills_project: ".github/skills",
        agents_global: ".config/Code/User/prompts",
        agents_project: ".github/agents",
        agent_suffix: ".agent.md",
        skills_cli_agent: "github-copilot",
    },
];

impl Tool {
    /// Every tool.
    pub const ALL: [Tool; 5] = [
        Tool::Claude,
        Tool::Codex,
        Tool::Cursor,
        Tool::Gemini,
        Tool::Vscode,
    ];

    /// Parses a tool name (`claude`, `codex`, `cursor`, `gemini`, `vscode`).
    pub fn parse(name: &str) -> Result<Tool, RegistryError> {
        Tool::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| RegistryError::UnknownTool(name.to_string()))
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Claude => "claude",
            Tool::Codex => "codex",
            Tool::Cursor => "cursor",
            Tool::Gemini => "gemini",
            Tool::Vscode => "vscode",
        }
    }

    /// Its row of [`TARGETS`].
    pub fn target(self) -> &'static Target {
        TARGETS
            .iter()
            .find(|t| t.tool == self)
            .expect("every tool has a row")
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Scope {
    /// Both scopes.
    pub const ALL: [Scope; 2] = [Scope::Global, Scope::Project];

    /// Parses `global` or `project` (`user` is accepted for `global`).
    pub fn parse(name: &str) -> Result<Scope, RegistryError> {
        match name {
            "global" | "user" => Ok(Scope::Global),
            "project" => Ok(Scope::Project),
            other => Err(RegistryError::UnknownScope(other.to_string())),
        }
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Project => "project",
        }
    }
}

/// The two roots scoped paths hang from.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The user's home (from the host environment), if known.
    pub home: Option<PathBuf>,
    /// The project root.
    pub project: PathBuf,
}

impl Roots {
    /// The root of `scope`.
    pub fn root(&self, scope: Scope) -> Result<&Path, RegistryError> {
        match scope {
            Scope::Global => self.home.as_deref().ok_or(RegistryError::NoHome),
            Scope::Project => Ok(&self.project),
        }
    }

    /// `target`'s MCP file in `scope`.
    pub fn mcp_file(&self, target: &Target, scope: Scope) -> Result<PathBuf, RegistryError> {
        let rel = match scope {
            Scope::Global => target.mcp_global,
            Scope::Project => target.mcp_project,
        };
        Ok(self.root(scope)?.join(rel))
    }

    /// `target`'s skills directory in `scope`.
    pub fn skills_dir(&self, target: &Target, scope: Scope) -> Result<PathBuf, RegistryError> {
        let rel = match scope {
            Scope::Global => target.skills_global,
            Scope::Project => target.skills_project,
        };
        Ok(self.root(scope)?.join(rel))
    }

    /// `target`'s custom-agents directory in `scope`.
    pub fn agents_dir(&self, target: &Target, scope: Scope) -> Result<PathBuf, RegistryError> {
        let rel = match scope {
            Scope::Global => target.agents_global,
            Scope::Project => target.agents_project,
        };
        Ok(self.root(scope)?.join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.as_str()).unwrap(), tool);
            assert_eq!(tool.target().tool, tool);
        }
        assert!(Tool::parse("vim").unwrap_err().to_string().contains("vim"));
        assert_eq!(Scope::parse("user").unwrap(), Scope::Global);
        assert!(matches!(
            Scope::parse("team"),
            Err(RegistryError::UnknownScope(_))
        ));
    }

    #[test]
    fn scoped_paths() {
        let roots = Roots {
            home: Some("/h".into()),
            project: "/p".into(),
        };
        let vscode = Tool::Vscode.target();
        assert_eq!(
            roots.mcp_file(vscode, Scope::Global).unwrap(),
            Path::new("/h/.config/Code/User/mcp.json")
        );
        assert_eq!(
            roots.mcp_file(vscode, Scope::Project).unwrap(),
            Path::new("/p/.vscode/mcp.json")
        );
        let none = Roots {
            home: None,
            project: "/p".into(),
        };
        assert!(matches!(
            none.mcp_file(vscode, Scope::Global),
            Err(RegistryError::NoHome)
        ));
    }
}
