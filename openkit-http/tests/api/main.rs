//! HTTP API tests: the router driven with `oneshot`, against real temporary git repos.

mod agent_rules;
mod agents;
mod config;
mod dashboard;
mod devservers;
mod events;
mod git;
mod github;
mod harness;
mod jira;
mod linear;
mod live_status;
mod logs;
mod mcp;
mod openapi;
mod perf;
mod registry;
mod rules;
mod security;
mod tasks;
mod terminals;
mod trace;
mod worktrees;
