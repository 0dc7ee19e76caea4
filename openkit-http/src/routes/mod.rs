//! Routes, one module per area of the API reference. Handlers stay thin: extract, call
//! core, map to the wire shape.

pub mod agent_rules;
pub mod config;
pub mod local_config;
pub mod open;
pub mod worktrees;
