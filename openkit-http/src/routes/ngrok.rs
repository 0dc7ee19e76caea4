//! `/api/ngrok/*`: the tunnel in front of the gateway listener, pairing, and the
//! gateway's sessions. These routes are on the API port only (loopback, Host/Origin
//! checked); the tunnel reaches the gateway listener ([`crate::gateway`]), never them.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use openkit_core::gateway::SessionKind;
use openkit_core::tunnel::{TunnelError, TunnelStatus};

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::ngrok::{
    GatewaySession, GatewaySessions, NgrokStatus, PairingExchangeRequest, PairingExchanged,
    PairingStartRequest, PairingStarted, TunnelEnableRequest,
};
use crate::wire::{ErrorBody, Success, True};

/// The key pairing attempts made on the API port are counted under: every client of the
/// loopback API port is local.
const LOCAL_CLIENT: &str = "local";

fn status_body(state: &AppState, tunnel: &TunnelStatus) -> Json<NgrokStatus> {
    Json(NgrokStatus::new(state.gateway().project(), tunnel))
}

/// Starts (or keeps) the tunnel towards the gateway listener.
async fn ensure_tunnel(state: &AppState, regenerate: bool) -> Result<TunnelStatus, TunnelError> {
    let port = state.gateway_port().ok_or(TunnelError::NoGateway)?;
    state.tunnel().enable(port, regenerate).await
}

/// `GET /api/ngrok/status`
#[utoipa::path(
    get,
    path = "/api/ngrok/status",
    tag = "ngrok",
    summary = "The project and the state of its ngrok tunnel",
    responses((status = 200, description = "Project and tunnel", body = NgrokStatus))
)]
pub async fn status(State(state): State<AppState>) -> Json<NgrokStatus> {
    status_body(&state, &state.tunnel().status())
}

/// `GET /api/ngrok/tunnel/status`
#[utoipa::path(
    get,
    path = "/api/ngrok/tunnel/status",
    tag = "ngrok",
    summary = "Alias of GET /api/ngrok/status",
    responses((status = 200, description = "Project and tunnel", body = NgrokStatus))
)]
pub async fn tunnel_status(State(state): State<AppState>) -> Json<NgrokStatus> {
    status_body(&state, &state.tunnel().status())
}

/// `POST /api/ngrok/tunnel/enable`
#[utoipa::path(
    post,
    path = "/api/ngrok/tunnel/enable",
    tag = "ngrok",
    summary = "Start (or re-use) ngrok towards the gateway listener",
    request_body = TunnelEnableRequest,
    responses(
        (status = 200, description = "The tunnel runs", body = NgrokStatus),
        (status = 500, description = "ngrok missing, failing or silent (`ngrok_start_failed`)", body = ErrorBody),
    )
)]
pub async fn enable(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TunnelEnableRequest>,
) -> ApiResult<Json<NgrokStatus>> {
    let tunnel = ensure_tunnel(&state, body.regenerate_url).await?;
    Ok(status_body(&state, &tunnel))
}

/// `POST /api/ngrok/tunnel/disable`
#[utoipa::path(
    post,
    path = "/api/ngrok/tunnel/disable",
    tag = "ngrok",
    summary = "Stop the ngrok process and everything it started",
    responses((status = 200, description = "Stopped", body = NgrokStatus))
)]
pub async fn disable(State(state): State<AppState>) -> Json<NgrokStatus> {
    let tunnel = state.tunnel().disable().await;
    status_body(&state, &tunnel)
}

/// `POST /api/ngrok/pairing/start`
#[utoipa::path(
    post,
    path = "/api/ngrok/pairing/start",
    tag = "ngrok",
    summary = "Create a one-time pairing URL (ensures the tunnel runs first)",
    request_body = PairingStartRequest,
    responses(
        (status = 200, description = "A pairing link valid for 90 s, usable once", body = PairingStarted),
        (status = 500, description = "The tunnel could not start (`ngrok_start_failed`)", body = ErrorBody),
    )
)]
pub async fn pairing_start(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PairingStartRequest>,
) -> ApiResult<Json<PairingStarted>> {
    let tunnel = ensure_tunnel(&state, body.regenerate_url).await?;
    let public = tunnel
        .public_url
        .ok_or_else(|| TunnelError::Exited("the tunnel has no public URL".into()))?;
    let gateway = state.gateway();
    let (pairing, _next) = gateway.start_pairing(body.scope.into(), body.next.as_deref());
    let project = gateway.project();
    Ok(Json(PairingStarted {
        success: True,
        project: project.into(),
        pair_url: format!("{public}/_ok/pair?token={}", pairing.token),
        gateway_api_base: format!("{public}/_ok/p/{}", project.id),
        expires_at: pairing
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        expires_in: pairing.expires_in,
        scope: body.scope,
    }))
}

/// `POST /api/ngrok/pairing/exchange`
#[utoipa::path(
    post,
    path = "/api/ngrok/pairing/exchange",
    tag = "ngrok",
    summary = "Exchange a pairing token for a 15-minute bearer session",
    request_body = PairingExchangeRequest,
    responses(
        (status = 200, description = "The bearer session", body = PairingExchanged,
            headers(("X-RateLimit-Limit" = u32, description = "Attempts per window"),
                    ("X-RateLimit-Remaining" = u32, description = "Attempts left"),
                    ("X-RateLimit-Reset" = u64, description = "Seconds until the window resets"))),
        (status = 400, description = "Unknown, expired or used token (`pair_invalid`)", body = ErrorBody),
        (status = 429, description = "Too many attempts (`pair_rate_limited`); see `Retry-After`", body = ErrorBody),
    )
)]
pub async fn pairing_exchange(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PairingExchangeRequest>,
) -> Response {
    crate::gateway::exchange(&state, &body.token, LOCAL_CLIENT)
}

/// The answer to a successful exchange (shared with the gateway's `/_ok/exchange`).
pub(crate) fn exchanged(
    state: &AppState,
    issued: &openkit_core::gateway::IssuedSession,
) -> Response {
    debug_assert_eq!(issued.record.kind, SessionKind::Bearer);
    Json(PairingExchanged {
        success: True,
        session_jwt: issued.token.clone(),
        expires_in: state.gateway().settings().bearer_ttl.as_secs(),
        project: state.gateway().project().into(),
        scope: issued.record.scope.into(),
    })
    .into_response()
}

/// `GET /api/ngrok/sessions`
#[utoipa::path(
    get,
    path = "/api/ngrok/sessions",
    tag = "ngrok",
    summary = "The live gateway sessions",
    responses((status = 200, description = "Sessions, oldest first", body = GatewaySessions))
)]
pub async fn sessions(State(state): State<AppState>) -> ApiResult<Json<GatewaySessions>> {
    let sessions = state.gateway().list_sessions()?;
    Ok(Json(GatewaySessions {
        success: True,
        sessions: sessions.iter().map(GatewaySession::from).collect(),
    }))
}

/// `DELETE /api/ngrok/sessions/{id}`
#[utoipa::path(
    delete,
    path = "/api/ngrok/sessions/{id}",
    tag = "ngrok",
    summary = "Revoke a gateway session (it stops working at once)",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Revoked", body = Success),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    state.gateway().revoke(&id)?;
    Ok(Json(Success::new()))
}

/// `POST /api/ngrok/sessions/rotate-key`
#[utoipa::path(
    post,
    path = "/api/ngrok/sessions/rotate-key",
    tag = "ngrok",
    summary = "Replace the gateway's signing key: every session ends",
    responses((status = 200, description = "Rotated; nobody is signed in", body = Success))
)]
pub async fn rotate_key(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.gateway().rotate_key()?;
    Ok(Json(Success::new()))
}
