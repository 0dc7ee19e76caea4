//! HTTP API tests: the router driven with `oneshot`, against real temporary git repos.

mod agent_rules;
mod config;
mod harness;
mod security;
mod worktrees;
