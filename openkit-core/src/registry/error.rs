//! Errors of the registries (MCP servers, skills, custom agents) and their deployment.

use std::path::PathBuf;

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::persist::PersistError;

/// A failure of a registry operation.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No MCP server with this id in the registry.
    #[error("Server not found")]
    ServerNotFound {
        /// The id asked for.
        id: String,
    },
    /// An MCP server with this id is registered already.
    #[error("Server \"{id}\" already exists")]
    ServerExists {
        /// The taken id.
        id: String,
    },
    /// No skill with this name in the registry.
    #[error("Skill not found")]
    SkillNotFound {
        /// The name asked for.
        name: String,
    },
    /// A skill with this name is registered already.
    #[error("Skill \"{name}\" already exists")]
    SkillExists {
        /// The taken name.
        name: String,
    },
    /// No custom agent with this id in the registry.
    #[error("Custom agent not found")]
    CustomAgentNotFound {
        /// The id asked for.
        id: String,
    },
    /// A custom agent with this name is registered already.
    #[error("Custom agent \"{name}\" already exists")]
    CustomAgentExists {
        /// The taken name.
        name: String,
    },
    /// A custom agent id is not `custom::<name>`.
    #[error("Invalid custom agent id")]
    InvalidCustomAgentId,
    /// A field of a request is missing or malformed.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field (camelCase, as clients name it).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The tool (agent) is not one OpenKit deploys to.
    #[error("Unknown tool \"{0}\": expected claude, codex, cursor, gemini or vscode")]
    UnknownTool(String),
    /// The scope is neither `global` nor `project`.
    #[error("Unknown scope \"{0}\": expected global or project")]
    UnknownScope(String),
    /// A global deployment needs the user's home directory, and none is known.
    #[error("The home directory is not known (HOME is not set)")]
    NoHome,
    /// An agent's configuration file exists but does not parse; it is left untouched.
    #[error("{} does not parse ({reason}); fix it by hand, OpenKit will not overwrite it", path.display())]
    UnparseableConfig {
        /// The agent's file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// Something that is not OpenKit's occupies the place a deployment would take.
    #[error("{} exists and was not deployed by OpenKit; remove it by hand first", path.display())]
    ForeignDeployment {
        /// What is in the way.
        path: PathBuf,
    },
    /// `npx` is not on the search path, so `npx skills add` cannot run.
    #[error("npx was not found on PATH; install Node.js (npm) to install skills")]
    NpxMissing,
    /// `npx skills add` failed.
    #[error("Installing the skill failed: {output}")]
    InstallFailed {
        /// The end of its output.
        output: String,
    },
    /// The command could not be run.
    #[error(transparent)]
    Command(#[from] crate::command::CommandError),
    /// No installed Claude plugin with this id.
    #[error("Plugin not found")]
    PluginNotFound {
        /// The id asked for.
        id: String,
    },
    /// The plugin has no agent definition of this name.
    #[error("Agent definition not found")]
    AgentDefinitionNotFound {
        /// The id asked for.
        id: String,
    },
    /// A plugin agent id is not `<plugin-id>::<agent-name>`.
    #[error("Invalid agent id")]
    InvalidAgentId,
    /// The `claude` CLI is not installed, and the operation needs it.
    #[error("Claude CLI not available")]
    ClaudeCliUnavailable,
    /// A `claude plugin ...` command failed.
    #[error("claude {command} failed: {output}")]
    PluginCommandFailed {
        /// The subcommand (`plugin install`, ...).
        command: String,
        /// The end of its output.
        output: String,
    },
    /// A registry file of OpenKit's does not parse.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The file system failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for RegistryError {
    fn kind(&self) -> ErrorKind {
        use RegistryError::*;
        match self {
            ServerNotFound { .. }
            | SkillNotFound { .. }
            | CustomAgentNotFound { .. }
            | PluginNotFound { .. }
            | AgentDefinitionNotFound { .. } => ErrorKind::NotFound,
            InvalidAgentId | PluginCommandFailed { .. } => ErrorKind::InvalidInput,
            ClaudeCliUnavailable => ErrorKind::Unavailable,
            ServerExists { .. } | SkillExists { .. } | CustomAgentExists { .. } => {
                ErrorKind::Conflict
            }
            Invalid { .. } | UnknownTool(_) | UnknownScope(_) | InvalidCustomAgentId => {
                ErrorKind::InvalidInput
            }
            NoHome | NpxMissing => ErrorKind::Unavailable,
            InstallFailed { .. } => ErrorKind::InvalidInput,
            Command(e) => e.kind(),
            UnparseableConfig { .. } | ForeignDeployment { .. } => ErrorKind::Conflict,
            Persist(e) => e.kind(),
            Io(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        use RegistryError::*;
        match self {
            ServerNotFound { .. } => "MCP_SERVER_NOT_FOUND",
            ServerExists { .. } => "MCP_SERVER_EXISTS",
            SkillNotFound { .. } => "SKILL_NOT_FOUND",
            SkillExists { .. } => "SKILL_EXISTS",
            CustomAgentNotFound { .. } => "CUSTOM_AGENT_NOT_FOUND",
            CustomAgentExists { .. } => "CUSTOM_AGENT_EXISTS",
            InvalidCustomAgentId => "INVALID_CUSTOM_AGENT_ID",
            Invalid { .. } => "INVALID_REGISTRY_ENTRY",
            UnknownTool(_) => "UNKNOWN_TOOL",
            UnknownScope(_) => "UNKNOWN_SCOPE",
            NoHome => "HOME_NOT_SET",
            PluginNotFound { .. } => "PLUGIN_NOT_FOUND",
            AgentDefinitionNotFound { .. } => "AGENT_DEFINITION_NOT_FOUND",
            InvalidAgentId => "INVALID_AGENT_ID",
            ClaudeCliUnavailable => "CLAUDE_CLI_UNAVAILABLE",
            PluginCommandFailed { .. } => "PLUGIN_COMMAND_FAILED",
            NpxMissing => "NPX_NOT_AVAILABLE",
            InstallFailed { .. } => "SKILL_INSTALL_FAILED",
            Command(e) => e.code(),
            UnparseableConfig { .. } => "AGENT_CONFIG_UNPARSEABLE",
            ForeignDeployment { .. } => "FOREIGN_DEPLOYMENT",
            Persist(e) => e.code(),
            Io(_) => "IO_ERROR",
        }
    }
}

impl RegistryError {
    /// An invalid field.
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
