//! The MCP server for agents: the tools of [`tools`] served over MCP's streamable HTTP
//! transport at `/mcp` (rmcp's `StreamableHttpService`, a tower service), behind the same
//! Host/Origin middleware as every other route ([`crate::security`] runs before routing).
//!
//! - **Sessions** are the transport's (`Mcp-Session-Id` from `initialize` on, for the
//!   protocol revisions that have sessions; later revisions are stateless per request).
//! - **Scope**: a request carrying `X-OpenKit-Scope: <worktree id>` (what `openkit mcp`
//!   sends from inside a worktree) may touch only that worktree; a request without it
//!   (a developer's client) may touch every worktree. A refused call is a tool error
//!   (`OUTSIDE_SCOPE`).
//! - **DNS rebinding**: rmcp checks Host and Origin itself too; its allowed hosts and
//!   origins are set explicitly from the server's [`SecurityPolicy`] (our loopback names
//!   on our port, our origins), never left to its defaults.
//!
//! The tools call the same core services the REST routes use, never the HTTP API.

mod tools;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use http_body::Body as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

pub use tools::OpenKitTools;

use crate::security::SecurityPolicy;
use crate::state::AppState;
use crate::wire::ErrorBody;
use crate::wire::mcp::JsonRpcMessage;

/// How long an MCP session lives without a request.
pub const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The request header naming the one worktree a session may touch.
pub const SCOPE_HEADER: &str = "x-openkit-scope";

/// The streamable HTTP endpoint: rmcp's service over [`OpenKitTools`].
#[derive(Clone)]
pub struct McpEndpoint {
    service: StreamableHttpService<OpenKitTools, LocalSessionManager>,
}

impl std::fmt::Debug for McpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpEndpoint").finish_non_exhaustive()
    }
}

impl McpEndpoint {
    /// The endpoint serving `tools` to each new session, accepting the hosts and origins
    /// `policy` accepts.
    pub fn new(tools: OpenKitTools, policy: &SecurityPolicy) -> Self {
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(policy.allowed_hosts())
            .with_allowed_origins(policy.allowed_origins())
            .enforce_origin_validation()
            .with_max_request_body_bytes(crate::MAX_JSON_BODY);
        // An agent may work for a long while between two calls: an idle session lives an
        // hour, not rmcp's five minutes (a client whose session ended initializes again).
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(SESSION_IDLE);
        let service =
            StreamableHttpService::new(move || Ok(tools.clone()), Arc::new(sessions), config);
        McpEndpoint { service }
    }

    /// Ends every session and open stream (server shutdown).
    pub fn shutdown(&self) {
        self.service.config.cancellation_token.cancel();
    }

    /// Serves one request. rmcp's plain-text refusals (406, 404, ...) get the
    /// `text/plain` type they lack.
    async fn serve(&self, request: Request) -> Response {
        let response = self.service.handle(request).await;
        let (mut parts, body) = response.into_parts();
        if !parts.headers.contains_key(header::CONTENT_TYPE) && body.size_hint().exact() != Some(0)
        {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        Response::from_parts(parts, Body::new(body))
    }
}

/// `POST /mcp`
#[utoipa::path(
    post,
    path = "/mcp",
    tag = "mcp",
    summary = "Send an MCP message (streamable HTTP transport)",
    description = "One JSON-RPC message of the Model Context Protocol. `initialize` opens a \
        session (its id comes back in `Mcp-Session-Id`; send it on every later request). \
        A request is answered as JSON or as an event stream of JSON-RPC messages; a \
        notification or response is accepted with 202. `X-OpenKit-Scope: <worktree id>` \
        restricts the session's tools to that worktree. Tools: `task_context`, \
        `todos_list`, `todo_check`, `report_phase`, `await_input`, `list_worktrees`, \
        `create_worktree_for_issue`, `terminal_list`, `terminal_read_screen`, \
        `terminal_send_input` (see `tools/list` for their schemas).",
    request_body(content = JsonRpcMessage, content_type = "application/json"),
    params(
        ("Mcp-Session-Id" = Option<String>, Header, description = "The session (after `initialize`)"),
        ("MCP-Protocol-Version" = Option<String>, Header, description = "The negotiated protocol revision"),
        ("X-OpenKit-Scope" = Option<String>, Header, description = "The only worktree this session may touch"),
    ),
    responses(
        (status = 200, description = "The answer, as one JSON-RPC message or an event stream of them",
            content((JsonRpcMessage = "application/json"), (JsonRpcMessage = "text/event-stream"))),
        (status = 202, description = "A notification or response was accepted"),
        (status = 400, description = "Not a valid MCP message, or a missing or mismatched session or protocol header",
            content((JsonRpcMessage = "application/json"), (String = "text/plain"))),
        (status = 403, description = "Host, Origin or a request from another site not allowed (`FORBIDDEN_HOST`, \
            `FORBIDDEN_ORIGIN`, `FORBIDDEN_CROSS_SITE`, `FORBIDDEN_REFERER`); the transport's own Host check also \
            refuses a `Host` without our port (plain text)",
            content((ErrorBody = "application/json"), (String = "text/plain"))),
        (status = 404, description = "Unknown or expired session: initialize again", body = String, content_type = "text/plain"),
        (status = 406, description = "The client must accept `application/json` and `text/event-stream`", body = String, content_type = "text/plain"),
        (status = 413, description = "Message too large", body = String, content_type = "text/plain"),
        (status = 415, description = "The message is not declared `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
            content((ErrorBody = "application/json"), (String = "text/plain"))),
        (status = 422, description = "A message rmcp cannot route", body = String, content_type = "text/plain"),
    )
)]
pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    state.mcp().serve(request).await
}

/// `GET /mcp`
#[utoipa::path(
    get,
    path = "/mcp",
    tag = "mcp",
    summary = "The session's stream of server messages (SSE)",
    params(
        ("Mcp-Session-Id" = Option<String>, Header, description = "The session"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event"),
    ),
    responses(
        (status = 200, description = "Server-initiated JSON-RPC messages", content_type = "text/event-stream", body = JsonRpcMessage),
        (status = 400, description = "No or malformed session id", body = String, content_type = "text/plain"),
        (status = 404, description = "Unknown or expired session", body = String, content_type = "text/plain"),
        (status = 405, description = "No stream without a session", body = String, content_type = "text/plain"),
        (status = 406, description = "The client must accept `text/event-stream`", body = String, content_type = "text/plain"),
        (status = 409, description = "The session has a stream already", body = String, content_type = "text/plain"),
    )
)]
pub async fn get(State(state): State<AppState>, request: Request) -> Response {
    state.mcp().serve(request).await
}

/// `DELETE /mcp`
#[utoipa::path(
    delete,
    path = "/mcp",
    tag = "mcp",
    summary = "End an MCP session",
    params(
        ("Mcp-Session-Id" = String, Header, description = "The session to end"),
    ),
    responses(
        (status = 202, description = "Ended"),
        (status = 204, description = "Ended"),
        (status = 200, description = "Ended"),
        (status = 400, description = "No or malformed session id", body = String, content_type = "text/plain"),
        (status = 404, description = "Unknown or expired session", body = String, content_type = "text/plain"),
    )
)]
pub async fn delete(State(state): State<AppState>, request: Request) -> Response {
    state.mcp().serve(request).await
}
