//! Registries of MCP servers, skills and custom agents, deployed to every agent.
pub mod error;
pub mod json_doc;
pub mod toml_doc;
