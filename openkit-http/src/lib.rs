//! # openkit-http
//!
//! OpenKit's local server: the REST API of the reference (`/api/...`) on axum (hyper).
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
#![forbid(unsafe_code)]

pub mod error;
pub mod routes;
pub mod security;
mod server;
mod state;
pub mod trace;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use security::SecurityPolicy;
pub use server::{BoundServer, Server, ServerError};
pub use state::AppState;

/// Largest JSON body accepted (1 MiB).
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// The complete API as an axum router.
pub fn router(state: AppState) -> Router {
    use axum::routing::patch;
    use openkit_core::rules::RuleKind;
    use routes::*;
    let api = Router::new()
        .route(
            "/api/worktrees",
            get(worktrees::list).post(worktrees::create),
        )
        .route(
            "/api/worktrees/{id}",
            patch(worktrees::rename).delete(worktrees::delete),
        )
        .route("/api/worktrees/{id}/logs", get(worktrees::logs))
        .route("/api/worktrees/{id}/recover", post(worktrees::recover))
        .route("/api/worktrees/{id}/open-targets", get(open::targets))
        .route("/api/worktrees/{id}/open", post(open::open))
        .route(
            "/api/agent-rules/{file_id}",
            get(agent_rules::get)
                .put(agent_rules::put)
                .delete(agent_rules::delete),
        )
        .route("/api/config", get(config::get).patch(config::patch))
        .route("/api/config/detect", get(config::detect))
        .route("/api/config/init", post(config::init))
        .route("/api/config/setup-status", get(config::setup_status))
        .route("/api/config/commit-setup", post(config::commit_setup))
        .route(
            "/api/config/retention-impact",
            post(config::retention_impact),
        )
        .route(
            "/api/config/branch-name-rule",
            rules::rule(RuleKind::BranchName),
        )
        .route(
            "/api/config/branch-name-rule/status",
            rules::status(RuleKind::BranchName),
        )
        .route(
            "/api/config/commit-message-rule",
            rules::rule(RuleKind::CommitMessage),
        )
        .route(
            "/api/config/commit-message-rule/status",
            rules::status(RuleKind::CommitMessage),
        )
        .route(
            "/api/local-config",
            get(local_config::get).patch(local_config::patch),
        )
        .route("/api/activity", get(activity::list).post(activity::create))
        .route("/api/logs", get(logs::list).post(logs::create))
        .route("/api/events", get(events::stream))
        .route("/api/worktrees/{id}/start", post(devservers::start))
        .route("/api/worktrees/{id}/stop", post(devservers::stop))
        .route("/api/ports", get(devservers::ports))
        .route("/api/discover", post(devservers::discover_ports))
        .route("/api/detect-env", post(devservers::detect_env))
        .route("/api/worktrees/{id}/terminals", post(terminals::create))
        .route(
            "/api/worktrees/{id}/terminals/active",
            get(terminals::active),
        )
        .route(
            "/api/terminals/{id}",
            axum::routing::delete(terminals::delete),
        )
        .route("/api/terminals/{id}/ws", get(terminals::socket))
        .route("/api/perf", get(perf::snapshots))
        .route("/api/perf/current", get(perf::current))
        .route("/api/perf/stream", get(perf::stream))
        .route("/api/agents/{agent}/cli/status", get(agents::status))
        .route("/api/agents/{agent}/cli/install", post(agents::install))
        .route(
            "/api/worktrees/{id}/agents/{agent}/restore",
            get(agents::restore),
        )
        .route(
            "/api/notes/{source}/{id}",
            get(notes::get).put(notes::put_section),
        )
        .route("/api/notes/{source}/{id}/todos", post(notes::add_todo))
        .route(
            "/api/notes/{source}/{id}/todos/{todo_id}",
            patch(notes::update_todo).delete(notes::delete_todo),
        )
        .route(
            "/api/notes/{source}/{id}/git-policy",
            patch(notes::git_policy),
        )
        .route("/api/tasks", get(tasks::list).post(tasks::create))
        .route("/api/tasks/recover-local", post(tasks::recover_local))
        .route(
            "/api/tasks/{id}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
        .route(
            "/api/tasks/{id}/create-worktree",
            post(tasks::create_worktree),
        )
        .route(
            "/api/tasks/{id}/attachments",
            post(tasks::upload).layer(DefaultBodyLimit::max(tasks::MAX_UPLOAD_BODY)),
        )
        .route(
            "/api/tasks/{id}/attachments/{filename}",
            get(tasks::download).delete(tasks::delete_attachment),
        )
        .fallback(error::not_found)
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
