//! Routes, one module per area of the API reference. Handlers stay thin: extract, call
//! core, map to the wire shape.

pub mod activity;
pub mod agent_rules;
pub mod agents;
pub mod config;
pub mod custom_agents;
pub mod devservers;
pub mod events;
pub mod git;
pub mod github;
pub mod hooks;
pub mod instance;
pub mod integrations;
pub mod jira;
pub mod kiket;
pub mod kite;
pub mod kizuna;
pub mod linear;
pub mod local_config;
pub mod logs;
pub mod mcp_servers;
pub mod ngrok;
pub mod notes;
pub mod open;
pub mod perf;
pub mod plugins;
pub mod query;
pub mod rules;
pub mod skills;
pub mod tasks;
pub mod terminals;
pub mod tracker;
pub mod worktrees;
