//! Ngrok Connect: the tunnel's status, pairing, the gateway's sessions (on the API
//! port) and the gateway listener's own answers (`/_ok/health`, `/_ok/me`).

use chrono::{DateTime, SecondsFormat, Utc};
use openkit_core::gateway::{ProjectRef, Scope, SessionKind, SessionRecord};
use openkit_core::tunnel::TunnelStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The project the gateway serves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NgrokProject {
    /// First 12 hex digits of SHA-1 of the absolute project directory.
    pub id: String,
    /// The project directory's name.
    pub name: String,
}

impl From<&ProjectRef> for NgrokProject {
    fn from(p: &ProjectRef) -> Self {
        NgrokProject {
            id: p.id.clone(),
            name: p.name.clone(),
        }
    }
}

/// The tunnel's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NgrokTunnel {
    /// A tunnel process runs (starting or running).
    pub enabled: bool,
    /// `stopped`, `starting`, `running` or `error`.
    #[schema(pattern = "^(stopped|starting|running|error)$")]
    pub status: String,
    /// The public URL while running.
    pub public_url: Option<String>,
    /// The local port the tunnel forwards to: the gateway listener's, never the API's.
    pub local_port: Option<u16>,
    /// When the public URL came up (ISO-8601).
    pub started_at: Option<String>,
    /// Why the tunnel failed or ended.
    pub error: Option<String>,
}

impl From<&TunnelStatus> for NgrokTunnel {
    fn from(t: &TunnelStatus) -> Self {
        NgrokTunnel {
            enabled: t.enabled,
            status: t.state.as_str().to_string(),
            public_url: t.public_url.clone(),
            local_port: t.local_port,
            started_at: t.started_at.map(iso),
            error: t.error.clone(),
        }
    }
}

/// `GET /api/ngrok/status` and the tunnel operations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NgrokStatus {
    /// Always `true`.
    pub success: True,
    /// The project.
    pub project: NgrokProject,
    /// The tunnel.
    pub tunnel: NgrokTunnel,
}

impl NgrokStatus {
    /// The status of `tunnel` for `project`.
    pub fn new(project: &ProjectRef, tunnel: &TunnelStatus) -> Self {
        NgrokStatus {
            success: True,
            project: project.into(),
            tunnel: tunnel.into(),
        }
    }
}

/// Body of `POST /api/ngrok/tunnel/enable`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TunnelEnableRequest {
    /// Restart the tunnel to mint a new public URL (default `false`).
    #[serde(default)]
    pub regenerate_url: bool,
}

/// A session's scope on the wire.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeWire {
    /// Look only.
    Read,
    /// Work (the default).
    #[default]
    Write,
    /// Also configuration and the gateway itself.
    Admin,
}

impl From<ScopeWire> for Scope {
    fn from(s: ScopeWire) -> Self {
        match s {
            ScopeWire::Read => Scope::Read,
            ScopeWire::Write => Scope::Write,
            ScopeWire::Admin => Scope::Admin,
        }
    }
}

impl From<Scope> for ScopeWire {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Read => ScopeWire::Read,
            Scope::Write => ScopeWire::Write,
            Scope::Admin => ScopeWire::Admin,
        }
    }
}

/// Body of `POST /api/ngrok/pairing/start`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairingStartRequest {
    /// Restart the tunnel first to mint a new public URL (default `false`).
    #[serde(default)]
    pub regenerate_url: bool,
    /// Where the browser goes after pairing: a local path of the project's page,
    /// sanitised (default `/`).
    pub next: Option<String>,
    /// The session's scope (default `write`).
    #[serde(default)]
    pub scope: ScopeWire,
}

/// `POST /api/ngrok/pairing/start`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingStarted {
    /// Always `true`.
    pub success: True,
    /// The project.
    pub project: NgrokProject,
    /// The one-time link (QR target): `<public URL>/_ok/pair?token=...`.
    pub pair_url: String,
    /// Where programmatic clients send API calls: `<public URL>/_ok/p/<project id>`.
    pub gateway_api_base: String,
    /// When the token stops working (ISO-8601).
    pub expires_at: String,
    /// Its lifetime in seconds (90).
    pub expires_in: u64,
    /// The scope the session will have.
    pub scope: ScopeWire,
}

/// Body of `POST /api/ngrok/pairing/exchange` (and `POST /_ok/exchange`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingExchangeRequest {
    /// The one-time pairing token.
    pub token: String,
}

/// `POST /api/ngrok/pairing/exchange`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingExchanged {
    /// Always `true`.
    pub success: True,
    /// The bearer session token (`Authorization: Bearer <sessionJwt>`).
    pub session_jwt: String,
    /// Its lifetime in seconds (900).
    pub expires_in: u64,
    /// The project.
    pub project: NgrokProject,
    /// The session's scope.
    pub scope: ScopeWire,
}

/// One signed-in gateway session.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySession {
    /// Session id (for `DELETE /api/ngrok/sessions/{id}`).
    pub id: String,
    /// The paired user.
    pub user_id: String,
    /// What it may do.
    pub scope: ScopeWire,
    /// `cookie` (a browser) or `bearer` (a programmatic client).
    #[schema(pattern = "^(cookie|bearer)$")]
    pub kind: String,
    /// When it was created (ISO-8601).
    pub created_at: String,
    /// When it ends (ISO-8601).
    pub expires_at: String,
    /// The client address that paired, as the tunnel reported it.
    pub client: String,
}

impl From<&SessionRecord> for GatewaySession {
    fn from(s: &SessionRecord) -> Self {
        GatewaySession {
            id: s.id.clone(),
            user_id: s.user_id.clone(),
            scope: s.scope.into(),
            kind: match s.kind {
                SessionKind::Cookie => "cookie",
                SessionKind::Bearer => "bearer",
            }
            .to_string(),
            created_at: iso(s.created_at),
            expires_at: iso(s.expires_at),
            client: s.client.clone(),
        }
    }
}

/// `GET /api/ngrok/sessions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GatewaySessions {
    /// Always `true`.
    pub success: True,
    /// The live sessions, oldest first.
    pub sessions: Vec<GatewaySession>,
}

/// `GET /_ok/health` on the gateway listener.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayHealth {
    /// Always `true`.
    pub ok: bool,
    /// `openkit-gateway`.
    pub service: &'static str,
}

/// The signed-in user of `GET /_ok/me`.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayUser {
    /// The paired user's id.
    pub id: String,
    /// Always `null`: paired devices have no e-mail address.
    pub email: Option<String>,
}

/// `GET /_ok/me` on the gateway listener.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayMe {
    /// Who.
    pub user: GatewayUser,
    /// The project the session is for.
    pub project_id: String,
    /// The session's scope.
    pub scope: ScopeWire,
    /// When the session ends (ISO-8601).
    pub expires_at: String,
}

impl GatewayMe {
    /// The identity of `session` in `project`.
    pub fn new(session: &SessionRecord, project: &ProjectRef) -> Self {
        GatewayMe {
            user: GatewayUser {
                id: session.user_id.clone(),
                email: None,
            },
            project_id: project.id.clone(),
            scope: session.scope.into(),
            expires_at: iso(session.expires_at),
        }
    }
}
