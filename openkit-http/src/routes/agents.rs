//! `/api/agents/:agent/cli/*` and `/api/worktrees/:id/agents/:agent/restore`.

use axum::Json;
use axum::extract::State;
use openkit_core::agents::{self, Agent, AgentError};
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::ActivityEvent;
use serde_json::json;

use crate::error::{ApiError, ApiPath, ApiResult};
use crate::state::AppState;
use crate::wire::agents::{AgentCli, AgentCliStatus, AgentRestore, HistoryMatch};
use crate::wire::{ErrorBody, True};

fn agent(name: &str) -> ApiResult<Agent> {
    Agent::parse(name).ok_or_else(|| ApiError::not_found("UNKNOWN_AGENT", "Unknown agent"))
}

fn search_dirs(state: &AppState) -> Vec<std::path::PathBuf> {
    agents::agent_search_path(
        &state.inner.search_path,
        state.workbench().paths().home_dir(),
    )
}

/// `GET /api/agents/:agent/cli/status`
#[utoipa::path(
    get,
    path = "/api/agents/{agent}/cli/status",
    tag = "agents",
    summary = "Whether an agent CLI is installed",
    params(("agent" = String, Path, description = "`claude`, `codex`, `gemini` or `opencode`")),
    responses(
        (status = 200, description = "The CLI and where it was found", body = AgentCliStatus),
        (status = 404, description = "Unknown agent (`UNKNOWN_AGENT`)", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<AgentCliStatus>> {
    let agent = agent(&name)?;
    let path = agents::find(agent, &search_dirs(&state));
    Ok(Json(AgentCliStatus {
        cli: agent.into(),
        installed: path.is_some(),
        path,
    }))
}

fn activity(
    state: &AppState,
    agent: Agent,
    kind: &str,
    severity: Severity,
    title: String,
    detail: Option<String>,
) {
    let mut event = ActivityEvent::new(ActivityCategory::System, kind, severity, &title);
    event.detail = detail;
    event.metadata = Some(json!({ "agent": agent.command() }));
    if let Err(e) = state.backbone().record_activity(event) {
        tracing::warn!("could not record activity: {e}");
    }
}

/// `POST /api/agents/:agent/cli/install`: npm global package when npm is there, else
/// Homebrew; progress goes to the activity feed and the ops log.
#[utoipa::path(
    post,
    path = "/api/agents/{agent}/cli/install",
    tag = "agents",
    summary = "Install an agent CLI (npm, else Homebrew)",
    params(("agent" = String, Path, description = "`claude`, `codex`, `gemini` or `opencode`")),
    responses(
        (status = 200, description = "Installed", body = AgentCli),
        (status = 400, description = "No installer available (`NO_INSTALLER`) or the install failed (`INSTALL_FAILED`)", body = ErrorBody),
        (status = 404, description = "Unknown agent (`UNKNOWN_AGENT`)", body = ErrorBody),
    )
)]
pub async fn install(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<AgentCli>> {
    let agent = agent(&name)?;
    let plan = agents::install_plan(agent, &search_dirs(&state))?;
    let label = agent.label();
    activity(
        &state,
        agent,
        "agent_cli_install_started",
        Severity::Info,
        format!("Installing {label}"),
        None,
    );
    // The core runner scrubs the environment, applies the timeout and records the run.
    let cwd = state.workbench().paths().project_root().to_path_buf();
    let runner = state.workbench().git().runner();
    if let Err(err) = agents::install(runner, agent, &plan, &cwd).await {
        let detail = match &err {
            AgentError::InstallFailed { output, .. } => output.clone(),
            other => other.to_string(),
        };
        activity(
            &state,
            agent,
            "agent_cli_install_failed",
            Severity::Error,
            format!("Installing {label} failed"),
            Some(detail),
        );
        return Err(err.into());
    }
    activity(
        &state,
        agent,
        "agent_cli_installed",
        Severity::Success,
        format!("{label} installed"),
        None,
    );
    Ok(Json(AgentCli::from(agent)))
}

/// `GET /api/worktrees/:id/agents/:agent/restore`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/agents/{agent}/restore",
    tag = "agents",
    summary = "What an agent quick action can restore in a worktree",
    params(
        ("id" = String, Path, description = "Worktree id"),
        ("agent" = String, Path, description = "`claude` or `codex`"),
    ),
    responses(
        (status = 200, description = "The live session and past native sessions", body = AgentRestore),
        (status = 400, description = "Unsupported agent (`UNSUPPORTED_AGENT`) or invalid worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous worktree id", body = ErrorBody),
    )
)]
pub async fn restore(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<AgentRestore>> {
    let worktree = state.workbench().worktree(&id).await?;
    let agent = match Agent::parse(&name) {
        Some(a @ (Agent::Claude | Agent::Codex)) => a,
        _ => {
            return Err(ApiError::bad_request(
                "UNSUPPORTED_AGENT",
                "agent must be \"claude\" or \"codex\"",
            ));
        }
    };
    let home = state
        .workbench()
        .paths()
        .home_dir()
        .map(|p| p.to_path_buf());
    let path = worktree.path.clone();
    let matches = match home {
        Some(home) => tokio::task::spawn_blocking(move || agents::history(agent, &home, &path))
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let active = state
        .workbench()
        .terminals()
        .active_session(&worktree.id, agent.command());
    Ok(Json(AgentRestore {
        success: True,
        active_session_id: active,
        history_matches: matches.iter().map(HistoryMatch::from).collect(),
    }))
}
