//! # openkit-http
//!
//! OpenKit's local server: the REST API of the reference (`/api/...`) on axum (hyper), and
//! the MCP server for agents at `/mcp` ([`mcp`]).
//! Only this crate knows wire shapes: response envelopes, the error envelope
//! (`{success:false, error, code}`), HTTP statuses.
//!
//! ## Embedding
//!
//! ```no_run
//! use openkit_core::{HostEnv, Paths};
//! use openkit_http::Server;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let paths = Paths::new("/path/to/repo", "/home/me/.openkit");
//! let host = HostEnv::from_vars(std::env::vars_os());
//! let bound = Server::open(paths, host)?.port(4040).bind().await?;
//! println!("listening on {}", bound.url());
//! bound.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! For tests, [`router`] gives the plain `axum::Router` to drive with
//! `tower::ServiceExt::oneshot`, no socket needed.
//!
//! ## The dashboard
//!
//! Every path outside `/api/` serves the web dashboard ([`dashboard`]), built from
//! `dashboard/` by `build.rs` and embedded in the binary.
//!
//! ## The remote gateway
//!
//! [`gateway::gateway_router`] serves the gateway listener (its own loopback port, what
//! an ngrok tunnel points at): only `/_ok/*`, pairing and signed sessions, and an
//! authenticated proxy into an allowlist of this API (`/api/ngrok/*` manages it).
//!
//! ## Wire types and the OpenAPI document
//!
//! Request and response bodies are the types of [`wire`], mapped from core types; the
//! server documents every route in an OpenAPI 3.1 document generated from them
//! ([`openapi::document`], served at `GET /api/openapi.json`).
#![forbid(unsafe_code)]

pub mod dashboard;
pub mod error;
pub mod gateway;
pub mod mcp;
pub mod openapi;
pub mod routes;
pub mod security;
mod server;
mod state;
pub mod trace;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use security::SecurityPolicy;
pub use server::{BoundServer, Server, ServerError};
pub use state::AppState;

/// Largest JSON body accepted (1 MiB).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The route table: every endpoint, registered together with its OpenAPI operation.
///
/// Each handler carries a `#[utoipa::path]` annotation and is registered through
/// `routes!`, which takes the method and path from that annotation; [`router`] serves this
/// table and [`openapi::document`] documents it, so the two cannot drift apart. Register
/// routes only here and only with `routes!` (the API tests check both).
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(worktrees::list, worktrees::create))
        .routes(routes!(worktrees::rename, worktrees::delete))
        .routes(routes!(worktrees::logs))
        .routes(routes!(worktrees::recover))
        .routes(routes!(git::diff))
        .routes(routes!(git::diff_file))
        .routes(routes!(git::commit))
        .routes(routes!(git::push))
        .routes(routes!(open::targets))
        .routes(routes!(open::open))
        .routes(routes!(
            agent_rules::get,
            agent_rules::put,
            agent_rules::delete
        ))
        .routes(routes!(config::get, config::patch))
        .routes(routes!(config::detect))
        .routes(routes!(config::init))
        .routes(routes!(config::setup_status))
        .routes(routes!(config::commit_setup))
        .routes(routes!(config::retention_impact))
        .routes(routes!(
            rules::get_branch_name_rule,
            rules::put_branch_name_rule
        ))
        .routes(routes!(rules::branch_name_rule_status))
        .routes(routes!(
            rules::get_commit_message_rule,
            rules::put_commit_message_rule
        ))
        .routes(routes!(rules::commit_message_rule_status))
        .routes(routes!(local_config::get, local_config::patch))
        .routes(routes!(activity::list, activity::create))
        .routes(routes!(logs::list, logs::create))
        .routes(routes!(logs::client_log))
        .routes(routes!(instance::instance))
        .routes(routes!(events::stream))
        .routes(routes!(devservers::start))
        .routes(routes!(devservers::stop))
        .routes(routes!(devservers::ports))
        .routes(routes!(devservers::discover_ports))
        .routes(routes!(devservers::detect_env))
        .routes(routes!(terminals::create))
        .routes(routes!(terminals::active))
        .routes(routes!(terminals::delete))
        .routes(routes!(terminals::attention))
        .routes(routes!(terminals::socket))
        .routes(routes!(perf::snapshots))
        .routes(routes!(perf::current))
        .routes(routes!(perf::stream))
        .routes(routes!(agents::status))
        .routes(routes!(agents::install))
        .routes(routes!(agents::restore))
        .routes(routes!(notes::get, notes::put_section))
        .routes(routes!(notes::add_todo))
        .routes(routes!(notes::update_todo, notes::delete_todo))
        .routes(routes!(notes::git_policy))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(tasks::recover_local))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(tasks::create_worktree))
        .routes(routes!(tasks::upload).layer(DefaultBodyLimit::max(tasks::MAX_UPLOAD_BODY)))
        .routes(routes!(tasks::download, tasks::delete_attachment))
        .routes(routes!(github::status))
        .routes(routes!(github::install))
        .routes(routes!(github::login))
        .routes(routes!(github::logout))
        .routes(routes!(github::initial_commit))
        .routes(routes!(github::create_repo))
        .routes(routes!(github::refresh_pull_requests))
        .routes(routes!(github::create_pr))
        .routes(routes!(kizuna::status))
        .routes(routes!(kizuna::setup))
        .routes(routes!(kizuna::config))
        .routes(routes!(kizuna::delete_credentials))
        .routes(routes!(kizuna::issues))
        .routes(routes!(kizuna::issue, kizuna::update_issue))
        .routes(routes!(kizuna::task))
        .routes(routes!(kizuna::merge_pull))
        .routes(routes!(kizuna::pipelines, kizuna::trigger_pipeline))
        .routes(routes!(kizuna::cancel_pipeline))
        .routes(routes!(kizuna::agents, kizuna::register_agent))
        .routes(routes!(integrations::verify))
        .routes(routes!(kiket::status))
        .routes(routes!(kiket::setup))
        .routes(routes!(kiket::config))
        .routes(routes!(kiket::delete_credentials))
        .routes(routes!(kiket::issues))
        .routes(routes!(kiket::issue, kiket::update_issue))
        .routes(routes!(kiket::add_comment))
        .routes(routes!(kiket::workflows))
        .routes(routes!(kiket::status_options))
        .routes(routes!(kiket::update_status))
        .routes(routes!(kiket::task))
        .routes(routes!(kiket::webhook))
        .routes(routes!(kiket::sla_events))
        .routes(routes!(kite::status))
        .routes(routes!(kite::setup))
        .routes(routes!(kite::config))
        .routes(routes!(kite::delete_credentials))
        .routes(routes!(kite::send_message))
        .routes(routes!(
            kite::get_webhook_config,
            kite::put_webhook_config,
            kite::delete_webhook_config
        ))
        .routes(routes!(jira::status))
        .routes(routes!(jira::setup))
        .routes(routes!(jira::config))
        .routes(routes!(jira::delete_credentials))
        .routes(routes!(jira::project_status_options))
        .routes(routes!(jira::issue_status_options))
        .routes(routes!(jira::priorities))
        .routes(routes!(jira::type_options))
        .routes(routes!(jira::set_status))
        .routes(routes!(jira::set_priority))
        .routes(routes!(jira::set_type))
        .routes(routes!(jira::set_description))
        .routes(routes!(jira::set_summary))
        .routes(routes!(jira::add_comment))
        .routes(routes!(jira::edit_comment, jira::delete_comment))
        .routes(routes!(jira::issues))
        .routes(routes!(jira::issue))
        .routes(routes!(jira::attachment))
        .routes(routes!(jira::task))
        .routes(routes!(jira::oauth_start))
        .routes(routes!(jira::oauth_callback))
        .routes(routes!(linear::status))
        .routes(routes!(linear::setup))
        .routes(routes!(linear::config))
        .routes(routes!(linear::delete_credentials))
        .routes(routes!(linear::status_options))
        .routes(routes!(linear::issue_status_options))
        .routes(routes!(linear::priority_options))
        .routes(routes!(linear::set_status))
        .routes(routes!(linear::set_description))
        .routes(routes!(linear::set_title))
        .routes(routes!(linear::add_comment))
        .routes(routes!(linear::edit_comment, linear::delete_comment))
        .routes(routes!(linear::issues))
        .routes(routes!(linear::issue))
        .routes(routes!(linear::attachment))
        .routes(routes!(linear::task))
        .routes(routes!(mcp_servers::list, mcp_servers::create))
        .routes(routes!(mcp_servers::deployment_status))
        .routes(routes!(mcp_servers::scan))
        .routes(routes!(mcp_servers::import))
        .routes(routes!(
            mcp_servers::get,
            mcp_servers::update,
            mcp_servers::delete
        ))
        .routes(routes!(mcp_servers::deploy))
        .routes(routes!(mcp_servers::undeploy))
        .routes(routes!(mcp_servers::get_env, mcp_servers::put_env))
        .routes(routes!(skills::list, skills::create))
        .routes(routes!(skills::deployment_status))
        .routes(routes!(skills::npx_available))
        .routes(routes!(skills::scan))
        .routes(routes!(skills::import))
        .routes(routes!(skills::install))
        .routes(routes!(skills::get, skills::update, skills::delete))
        .routes(routes!(skills::deploy))
        .routes(routes!(skills::undeploy))
        .routes(routes!(custom_agents::list, custom_agents::create))
        .routes(routes!(custom_agents::scan))
        .routes(routes!(custom_agents::import))
        .routes(routes!(
            custom_agents::get,
            custom_agents::update,
            custom_agents::delete
        ))
        .routes(routes!(custom_agents::deploy))
        .routes(routes!(custom_agents::undeploy))
        .routes(routes!(plugins::list))
        .routes(routes!(plugins::debug))
        .routes(routes!(plugins::available))
        .routes(routes!(plugins::install))
        .routes(routes!(plugins::marketplaces, plugins::add_marketplace))
        .routes(routes!(plugins::remove_marketplace))
        .routes(routes!(plugins::update_marketplace))
        .routes(routes!(plugins::get))
        .routes(routes!(plugins::uninstall))
        .routes(routes!(plugins::enable))
        .routes(routes!(plugins::disable))
        .routes(routes!(plugins::update))
        .routes(routes!(plugins::agents))
        .routes(routes!(plugins::agent_by_query))
        .routes(routes!(plugins::agent_by_path))
        .routes(routes!(plugins::deploy_agent))
        .routes(routes!(plugins::undeploy_agent))
        .routes(routes!(ngrok::status))
        .routes(routes!(ngrok::tunnel_status))
        .routes(routes!(ngrok::enable))
        .routes(routes!(ngrok::disable))
        .routes(routes!(ngrok::pairing_start))
        .routes(routes!(ngrok::pairing_exchange))
        .routes(routes!(ngrok::sessions))
        .routes(routes!(ngrok::revoke))
        .routes(routes!(ngrok::rotate_key))
        .routes(routes!(hooks::get_config, hooks::put_config))
        .routes(routes!(hooks::add_step))
        .routes(routes!(hooks::update_step, hooks::delete_step))
        .routes(routes!(hooks::import_skill))
        .routes(routes!(hooks::available_skills))
        .routes(routes!(hooks::toggle_skill, hooks::remove_skill))
        .routes(routes!(hooks::run, hooks::cancel))
        .routes(routes!(hooks::run_step))
        .routes(routes!(hooks::status))
        .routes(routes!(hooks::report))
        .routes(routes!(hooks::effective_config))
        .routes(routes!(hooks::override_skill))
        .routes(routes!(hooks::flow))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(mcp::post, mcp::get, mcp::delete))
}

/// The complete API as an axum router.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let api = api
        .fallback(dashboard::fallback)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(state.clone());
    // Outermost first: panics become envelopes, foreign hosts/origins are refused, then
    // every accepted /api request is traced in the ops log.
    api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        trace::record,
    ))
    .layer(axum::middleware::from_fn_with_state(
        Arc::clone(&state.inner.policy),
        security::enforce,
    ))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        error::panic_response,
    ))
}
