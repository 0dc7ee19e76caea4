//! Terminal sessions: create (with scope reuse rules), destroy, look up the active scoped
//! session, and the WebSocket bridge between a client and a PTY.
//!
//! WebSocket protocol: the server first sends `{"type":"restore","payload":"..."}`, then
//! the PTY output as binary frames, and `{"type":"exit","exitCode":N}` before closing when
//! the process exits. Client text frames are input, except a JSON
//! `{"type":"resize","cols":C,"rows":R}`; binary frames are input. An unknown session
//! closes with 1008; a newer socket for a session replaces the older one.

use axum::Json;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use openkit_core::attention::{self, HookEvent};
use openkit_pty::SpawnOptions;

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::terminals::{
    ActiveSession, AttentionReport, AttentionReported, NewTerminalRequest, ScopeQuery,
    TerminalCreated, TerminalResize, TerminalServerMessage,
};
use crate::wire::{ErrorBody, Success, True};

/// Scopes a session can be bound to.
pub const SCOPES: [&str; 5] = ["terminal", "claude", "codex", "gemini", "opencode"];

fn scope_error() -> ApiError {
    ApiError::bad_request(
        "INVALID_SCOPE",
        "scope is required (\"terminal\", \"claude\", \"codex\", \"gemini\", or \"opencode\")",
    )
}

/// The variable that tells the `openkit` CLI (and so the server) that commands come from
/// an agent: `agent:<worktree-id>`.
pub const ACTOR_ENV: &str = openkit_core::git::policy::ACTOR_ENV;

/// The actor marker of a session: agent scopes (`claude`, `codex`, `gemini`,
/// `opencode`) export `OPENKIT_ACTOR=agent:<worktree-id>`; a human shell exports none
/// (and never inherits one from the server's own environment).
fn actor_env(scope: Option<&str>, worktree_id: &str) -> Vec<(String, String)> {
    match scope.and_then(openkit_core::agents::Agent::parse) {
        Some(_) => openkit_core::Workbench::agent_session_env(worktree_id),
        None => Vec::new(),
    }
}

fn dimension(value: Option<u32>, default: u16) -> u16 {
    value.map_or(default, |v| {
        openkit_pty::clamp_size(v.min(u32::from(u16::MAX)) as u16)
    })
}

/// `POST /api/worktrees/:id/terminals`
///
/// With a scope: a live session of that scope is reused when no startup command is
/// given, and an agent session (one started with a command) is reused even when one is;
/// a shell-only session is replaced when a startup command is given.
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/terminals",
    tag = "terminals",
    summary = "Create (or reuse a scoped) terminal session",
    params(("id" = String, Path, description = "Worktree id")),
    request_body = NewTerminalRequest,
    responses(
        (status = 200, description = "The session to attach to", body = TerminalCreated),
        (status = 400, description = "Invalid scope (`INVALID_SCOPE`) or worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous worktree id", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<NewTerminalRequest>,
) -> ApiResult<Json<TerminalCreated>> {
    let worktree = state.workbench().worktree(&id).await?;
    let scope = match body.scope.as_deref().filter(|s| !s.is_empty()) {
        Some(s) if SCOPES.contains(&s) => Some(s.to_string()),
        Some(_) => return Err(scope_error()),
        None => None,
    };
    let startup = body.startup_command.filter(|c| !c.trim().is_empty());
    // An agent launched by OpenKit reports its own state through its hooks.
    let startup = match (&scope, startup, state.workbench().openkit_program()) {
        (Some(agent), Some(command), Some(program)) => {
            Some(attention::launch::with_hooks(agent, &command, program))
        }
        (_, startup, _) => startup,
    };
    let terminals = state.terminals();
    let mut replaced = false;
    if let Some(scope) = &scope
        && let Some(existing) = terminals.find_scoped(&worktree.id, scope)
    {
        let agent_session = existing.startup_command.is_some();
        if startup.is_none() || agent_session {
            return Ok(Json(TerminalCreated {
                success: True,
                session_id: existing.id,
                reused_scoped_session: true,
                replaced_scoped_shell_session: false,
            }));
        }
        terminals.kill(&existing.id);
        replaced = true;
    }
    let env = actor_env(scope.as_deref(), &worktree.id);
    let info = terminals.spawn(
        &worktree.id,
        scope,
        SpawnOptions {
            cwd: worktree.path.clone(),
            cols: dimension(body.cols, 80),
            rows: dimension(body.rows, 24),
            env,
            startup_command: startup,
            shell: state.inner.shell.clone(),
            base_env: Some(state.workbench().session_base_env()),
            supervisor: state.workbench().supervisor().cloned(),
        },
    )?;
    // A new agent session shows in the list (and the stream) at once.
    state.workbench().terminals_changed();
    Ok(Json(TerminalCreated {
        success: True,
        session_id: info.id,
        reused_scoped_session: false,
        replaced_scoped_shell_session: replaced,
    }))
}

/// `DELETE /api/terminals/:sessionId`
#[utoipa::path(
    delete,
    path = "/api/terminals/{id}",
    tag = "terminals",
    summary = "End a terminal session",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Ended", body = Success),
        (status = 404, description = "No such session (`SESSION_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    if state.terminals().kill(&id) {
        state.workbench().terminals_changed();
        Ok(Json(Success::new()))
    } else {
        Err(openkit_pty::PtyError::SessionNotFound { id }.into())
    }
}

/// `POST /api/terminals/:sessionId/attention`
///
/// An agent's hook reports what it is doing (`openkit __agent-hook <event>` sends this
/// with the session id it finds in `OPENKIT_TERMINAL_ID`). The state is applied at once;
/// a change reaches the worktree list, the event stream and, for a question or a finished
/// turn, the activity feed.
#[utoipa::path(
    post,
    path = "/api/terminals/{id}/attention",
    tag = "terminals",
    summary = "Report an agent session's state (from the agent's hook)",
    params(("id" = String, Path, description = "Session id")),
    request_body = AttentionReport,
    responses(
        (status = 200, description = "The agent session now", body = AttentionReported),
        (status = 400, description = "Unknown event (`INVALID_EVENT`) or not an agent session (`NOT_AN_AGENT_SESSION`)", body = ErrorBody),
        (status = 404, description = "No such session (`SESSION_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn attention(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<AttentionReport>,
) -> ApiResult<Json<AttentionReported>> {
    let event = HookEvent::parse(&body.event).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_EVENT",
            "event must be \"working\", \"waiting-for-input\", \"idle\" or \"finished\"",
        )
    })?;
    let session = state.terminals().report_hook(&id, event, body.message)?;
    Ok(Json(AttentionReported {
        success: True,
        session: (&session).into(),
    }))
}

/// `GET /api/worktrees/:id/terminals/active?scope=...`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/terminals/active",
    tag = "terminals",
    summary = "The live session of a scope",
    params(("id" = String, Path, description = "Worktree id"), ScopeQuery),
    responses(
        (status = 200, description = "The session id, or null", body = ActiveSession),
        (status = 400, description = "Missing or invalid scope (`INVALID_SCOPE`), or invalid worktree id", body = ErrorBody),
        (status = 404, description = "No such worktree", body = ErrorBody),
        (status = 409, description = "Ambiguous worktree id", body = ErrorBody),
    )
)]
pub async fn active(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ScopeQuery>,
) -> ApiResult<Json<ActiveSession>> {
    let scope = query
        .scope
        .filter(|s| SCOPES.contains(&s.as_str()))
        .ok_or_else(scope_error)?;
    let worktree = state.workbench().resolve(&id).await?;
    let session = state
        .terminals()
        .find_scoped(&worktree, &scope)
        .map(|s| s.id);
    Ok(Json(ActiveSession {
        success: True,
        session_id: session,
    }))
}

/// `GET /api/terminals/:sessionId/ws`
#[utoipa::path(
    get,
    path = "/api/terminals/{id}/ws",
    tag = "terminals",
    summary = "Attach to a terminal session (WebSocket)",
    description = "Upgrades to a WebSocket. The server sends a `restore` text frame, then PTY \
        output as binary frames, and an `exit` text frame before closing when the process \
        exits (text frames are `TerminalServerMessage`). Client text frames are input, \
        except a JSON `TerminalResize`; binary frames are input. An unknown session closes \
        with 1008; a newer socket for the session replaces this one.",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol (text frames from the server are `TerminalServerMessage`, resize frames from the client `TerminalResize`)"),
        (status = 400, description = "Not a valid WebSocket upgrade request (`WEBSOCKET_UPGRADE_REQUIRED`)", body = ErrorBody),
        (status = 426, description = "The connection cannot be upgraded (`WEBSOCKET_UPGRADE_REQUIRED`)", body = ErrorBody),
    )
)]
pub async fn socket(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade.on_upgrade(move |socket| bridge(socket, state, id)),
        Err(rejection) => ApiError::new(
            rejection.status(),
            "WEBSOCKET_UPGRADE_REQUIRED",
            rejection.body_text(),
        )
        .into_response(),
    }
}

fn text_frame(message: &TerminalServerMessage) -> Message {
    Message::Text(
        serde_json::to_string(message)
            .expect("terminal messages serialize")
            .into(),
    )
}

async fn bridge(socket: WebSocket, state: AppState, id: String) {
    let (mut sink, mut incoming) = socket.split();
    let terminals = state.terminals().clone();
    let mut attachment = match terminals.attach(&id, true) {
        Ok(a) => a,
        Err(_) => {
            let _ = sink
                .send(Message::Close(Some(CloseFrame {
                    code: 1008,
                    reason: "session-not-found".into(),
                })))
                .await;
            return;
        }
    };
    let restore = TerminalServerMessage::Restore {
        payload: String::from_utf8_lossy(&attachment.restore).into_owned(),
    };
    if sink.send(text_frame(&restore)).await.is_err() {
        return;
    }
    let mut shutdown = state.shutdown();
    loop {
        tokio::select! {
            chunk = attachment.output.recv() => match chunk {
                Some(bytes) => {
                    if sink.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                None => {
                    // Exited, replaced by a newer socket, or dropped for falling behind.
                    let code = *attachment.exit.borrow();
                    if let Some(code) = code {
                        let _ = sink.send(text_frame(&TerminalServerMessage::Exit { exit_code: code })).await;
                    }
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<TerminalResize>(&text) {
                        Ok(r) if r.kind == "resize" => {
                            let clamp = |v: u32| openkit_pty::clamp_size(v.min(u32::from(u16::MAX)) as u16);
                            let _ = terminals.resize(&id, clamp(r.cols), clamp(r.rows));
                        }
                        _ => {
                            let _ = terminals.write(&id, text.as_bytes());
                        }
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let _ = terminals.write(&id, &bytes);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = crate::routes::events::server_stopping(&mut shutdown) => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
