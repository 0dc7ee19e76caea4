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
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use openkit_pty::SpawnOptions;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;

/// Scopes a session can be bound to.
pub const SCOPES: [&str; 5] = ["terminal", "claude", "codex", "gemini", "opencode"];

fn scope_error() -> ApiError {
    ApiError::bad_request(
        "INVALID_SCOPE",
        "scope is required (\"terminal\", \"claude\", \"codex\", \"gemini\", or \"opencode\")",
    )
}

/// Body of `POST /api/worktrees/:id/terminals`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTerminal {
    cols: Option<u32>,
    rows: Option<u32>,
    startup_command: Option<String>,
    scope: Option<String>,
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
pub async fn create(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<NewTerminal>,
) -> ApiResult<Json<Value>> {
    let worktree = state.workbench().worktree(&id).await?;
    let scope = match body.scope.as_deref().filter(|s| !s.is_empty()) {
        Some(s) if SCOPES.contains(&s) => Some(s.to_string()),
        Some(_) => return Err(scope_error()),
        None => None,
    };
    let startup = body.startup_command.filter(|c| !c.trim().is_empty());
    let terminals = state.terminals();
    let mut replaced = false;
    if let Some(scope) = &scope
        && let Some(existing) = terminals.find_scoped(&worktree.id, scope)
    {
        let agent_session = existing.startup_command.is_some();
        if startup.is_none() || agent_session {
            return Ok(Json(json!({
                "success": true,
                "sessionId": existing.id,
                "reusedScopedSession": true,
                "replacedScopedShellSession": false,
            })));
        }
        terminals.kill(&existing.id);
        replaced = true;
    }
    let info = terminals.spawn(
        &worktree.id,
        scope,
        SpawnOptions {
            cwd: worktree.path.clone(),
            cols: dimension(body.cols, 80),
            rows: dimension(body.rows, 24),
            startup_command: startup,
            shell: state.inner.shell.clone(),
            env: Vec::new(),
        },
    )?;
    Ok(Json(json!({
        "success": true,
        "sessionId": info.id,
        "reusedScopedSession": false,
        "replacedScopedShellSession": replaced,
    })))
}

/// `DELETE /api/terminals/:sessionId`
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    if state.terminals().kill(&id) {
        Ok(Json(json!({ "success": true })))
    } else {
        Err(openkit_pty::PtyError::SessionNotFound { id }.into())
    }
}

/// `?scope=...`
#[derive(Debug, Deserialize)]
pub struct ScopeQuery {
    scope: Option<String>,
}

/// `GET /api/worktrees/:id/terminals/active?scope=...`
pub async fn active(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ScopeQuery>,
) -> ApiResult<Json<Value>> {
    let scope = query
        .scope
        .filter(|s| SCOPES.contains(&s.as_str()))
        .ok_or_else(scope_error)?;
    let worktree = state.workbench().resolve(&id).await?;
    let session = state
        .terminals()
        .find_scoped(&worktree, &scope)
        .map(|s| s.id);
    Ok(Json(json!({ "success": true, "sessionId": session })))
}

/// `GET /api/terminals/:sessionId/ws`
pub async fn socket(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| bridge(socket, state, id))
}

/// A resize request from the client.
#[derive(Debug, Deserialize)]
struct Resize {
    #[serde(rename = "type")]
    kind: String,
    cols: u32,
    rows: u32,
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
                    reason: "Session not found".into(),
                })))
                .await;
            return;
        }
    };
    let restore =
        json!({ "type": "restore", "payload": String::from_utf8_lossy(&attachment.restore) });
    if sink
        .send(Message::Text(restore.to_string().into()))
        .await
        .is_err()
    {
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
                        let _ = sink.send(Message::Text(json!({ "type": "exit", "exitCode": code }).to_string().into())).await;
                    }
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<Resize>(&text) {
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
