//! `ANY /_ok/p/:projectId/*`: the authenticated proxy.
//!
//! Order of checks: a session (401 `unauthenticated`), for this project (403
//! `project_forbidden`), a same-origin browser request, then the path: every segment
//! non-empty, and neither raw nor percent-decoded a `.`/`..`, a slash, a backslash or a
//! control character (404 `route_forbidden`). `api/<area>/...` must name an area of the
//! allowlist ([`ALLOWLIST`], 404 `route_forbidden` otherwise) and the session's scope
//! must cover the request (403 `scope_forbidden`): `read` sessions only read (`GET`,
//! `HEAD`, no WebSocket). Other paths are the dashboard's static files (`GET`/`HEAD`).
//!
//! An allowed request is rebuilt, never passed on: the API path and query, the method,
//! a short list of content headers (and the WebSocket handshake headers for an
//! upgrade), `Host` = the API's loopback host, and the injected `X-OpenKit-User-Id` and
//! `X-OpenKit-Project-Id` (`X-OpenKit-User-Email` when known: paired devices have
//! none). Nothing else a client sends reaches the API: no `Origin`, `Referer`, cookies,
//! `Authorization` or `X-OpenKit-*` of its own. The rebuilt request goes through the
//! API router in process, behind its own Host/Origin/body-type middleware; bodies are
//! capped at [`crate::MAX_JSON_BODY`]. SSE responses stream through (and end when their
//! session does, see [`SESSION_RECHECK`]) and a WebSocket upgrade is handed to the API's
//! handler with the connection's upgrade.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use openkit_core::gateway::{GatewayError, Scope, SessionRecord};
use tower::ServiceExt as _;

use super::{GatewayApp, authenticate, route_forbidden, same_origin};
use crate::error::ApiError;

/// The API areas (`/api/<area>/...`) reachable through the gateway, with the scope
/// needed to read (`GET`/`HEAD`) and to change anything (other methods, WebSockets).
/// Everything else (opening local apps, registries of MCP servers, skills, agents and
/// plugins, integrations' credentials, the MCP endpoint) is not reachable remotely.
pub const ALLOWLIST: &[(&str, Scope, Scope)] = &[
    ("worktrees", Scope::Read, Scope::Write),
    ("events", Scope::Read, Scope::Write),
    ("activity", Scope::Read, Scope::Write),
    ("logs", Scope::Read, Scope::Write),
    ("client-logs", Scope::Write, Scope::Write),
    ("tasks", Scope::Read, Scope::Write),
    ("notes", Scope::Read, Scope::Write),
    ("terminals", Scope::Read, Scope::Write),
    ("perf", Scope::Read, Scope::Write),
    ("instance", Scope::Read, Scope::Write),
    ("ports", Scope::Read, Scope::Write),
    ("github", Scope::Read, Scope::Write),
    ("agents", Scope::Read, Scope::Admin),
    ("config", Scope::Read, Scope::Admin),
    ("local-config", Scope::Read, Scope::Admin),
    ("agent-rules", Scope::Read, Scope::Admin),
    ("discover", Scope::Admin, Scope::Admin),
    ("detect-env", Scope::Admin, Scope::Admin),
    ("openapi.json", Scope::Read, Scope::Admin),
    ("ngrok", Scope::Admin, Scope::Admin),
];

/// Request headers passed on to the API.
const PASSED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "if-none-match",
    "cache-control",
    "last-event-id",
];

/// Headers of a WebSocket handshake, passed on for an upgrade only.
const WEBSOCKET_HEADERS: &[&str] = &[
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// A path the gateway neither forwards nor serves (404 `route_forbidden`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefused;

/// What a path below `/_ok/p/<id>/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An API route: the path (`/api/...`, still percent-encoded) and the scope needed.
    Api(String, Scope),
    /// A dashboard file: the path (`/...`).
    Page(String),
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A segment, percent-decoded, when it is a plain name: non-empty, not `.`/`..`, no
/// slash, backslash, NUL or control character, raw or encoded, and valid escapes.
fn plain_segment(segment: &str) -> bool {
    let raw = segment.as_bytes();
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let (Some(hi), Some(lo)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) else {
                return false;
            };
            decoded.push(hi * 16 + lo);
            i += 3;
        } else {
            decoded.push(raw[i]);
            i += 1;
        }
    }
    !decoded.is_empty()
        && decoded != b"."
        && decoded != b".."
        && !decoded
            .iter()
            .any(|&b| b == b'/' || b == b'\\' || b.is_ascii_control())
}

/// Classifies `rest` (the encoded path after `/_ok/p/<id>/`) for `method`
/// (`websocket`: an upgrade, which needs the write scope).
pub fn classify(method: &Method, websocket: bool, rest: &str) -> Result<Target, RouteRefused> {
    let page = matches!(*method, Method::GET | Method::HEAD) && !websocket;
    if rest.is_empty() {
        return if page {
            Ok(Target::Page("/".to_string()))
        } else {
            Err(RouteRefused)
        };
    }
    if !rest.split('/').all(plain_segment) {
        return Err(RouteRefused);
    }
    let mut segments = rest.split('/');
    if segments.next() != Some("api") {
        return if page {
            Ok(Target::Page(format!("/{rest}")))
        } else {
            Err(RouteRefused)
        };
    }
    let area = segments.next().ok_or(RouteRefused)?;
    let (_, read, write) = ALLOWLIST
        .iter()
        .find(|(name, _, _)| *name == area)
        .ok_or(RouteRefused)?;
    Ok(Target::Api(
        format!("/{rest}"),
        if page { *read } else { *write },
    ))
}

fn is_websocket(request: &Request) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers `ANY /_ok/p/:projectId/*`.
pub(crate) async fn forward(app: &GatewayApp, request: Request) -> Response {
    let state = &app.state;
    let path = request.uri().path().to_string();
    let rest = path.strip_prefix("/_ok/p/").unwrap_or_default();
    let (project, rest) = match rest.split_once('/') {
        Some((project, rest)) => (project, Some(rest)),
        None => (rest, None),
    };
    let (session, token) = match authenticate(state, request.headers()) {
        Ok(found) => found,
        Err(refused) => return refused.into_response(),
    };
    let ours = &state.gateway().project().id;
    if project != ours {
        return ApiError::from(GatewayError::ProjectForbidden {
            project: project.chars().take(64).collect(),
        })
        .into_response();
    }
    let Some(rest) = rest else {
        return super::redirect(&format!("/_ok/p/{ours}/"));
    };
    if let Err(refused) = same_origin(request.headers()) {
        return refused.into_response();
    }
    let websocket = is_websocket(&request);
    match classify(request.method(), websocket, rest) {
        Err(RouteRefused) => route_forbidden(),
        Ok(Target::Page(page)) => {
            let uri = Uri::try_from(page).unwrap_or_else(|_| Uri::from_static("/"));
            let method = request.method().clone();
            let headers = request.headers().clone();
            crate::dashboard::fallback(State(state.clone()), method, uri, headers).await
        }
        Ok(Target::Api(api_path, needed)) => {
            if !session.scope.allows(needed) {
                return ApiError::from(GatewayError::ScopeForbidden {
                    has: session.scope.as_str(),
                    needs: needed.as_str(),
                })
                .into_response();
            }
            let response = to_api(app, request, &api_path, &session, websocket).await;
            end_with_session(app, response, token)
        }
    }
}

/// How often a proxied event stream re-checks its session.
pub const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// An event stream (`text/event-stream`) ends once its session does (logout, revoke,
/// key rotation, expiry): the session is checked again every [`SESSION_RECHECK`].
/// Other responses are returned as they are.
fn end_with_session(app: &GatewayApp, response: Response, token: String) -> Response {
    use futures_util::StreamExt as _;
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streaming {
        return response;
    }
    let gateway = std::sync::Arc::clone(app.state.gateway());
    let ended = async move {
        loop {
            tokio::time::sleep(SESSION_RECHECK).await;
            if gateway.authenticate(&token).is_err() {
                return;
            }
        }
    };
    let (parts, body) = response.into_parts();
    let stream = body.into_data_stream().take_until(Box::pin(ended));
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn to_api(
    app: &GatewayApp,
    request: Request,
    api_path: &str,
    session: &SessionRecord,
    websocket: bool,
) -> Response {
    let limit = crate::MAX_JSON_BODY;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "Request body is too large",
        )
        .into_response();
    }
    let (mut parts, body) = request.into_parts();
    let target = match parts.uri.query() {
        Some(query) => format!("{api_path}?{query}"),
        None => api_path.to_string(),
    };
    let Ok(uri) = Uri::try_from(target) else {
        return route_forbidden();
    };
    let mut internal = Request::new(Body::new(http_body_util::Limited::new(body, limit)));
    *internal.method_mut() = parts.method.clone();
    *internal.uri_mut() = uri;
    *internal.version_mut() = parts.version;
    let headers = internal.headers_mut();
    let passed = PASSED_HEADERS
        .iter()
        .chain(if websocket { WEBSOCKET_HEADERS } else { &[] });
    for name in passed {
        for value in parts.headers.get_all(*name) {
            headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    let api_host = format!("localhost:{}", app.state.api_port());
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&api_host).expect("a host and port"),
    );
    let inject = [
        ("x-openkit-user-id", session.user_id.as_str()),
        (
            "x-openkit-project-id",
            app.state.gateway().project().id.as_str(),
        ),
    ];
    for (name, value) in inject {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    if websocket && let Some(upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
        internal.extensions_mut().insert(upgrade);
    }
    match app.api.clone().oneshot(internal).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allowlisted_routes_pass_with_their_scope() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(
            classify(&get, false, "api/worktrees"),
            Ok(Target::Api("/api/worktrees".into(), Scope::Read))
        );
        assert_eq!(
            classify(&post, false, "api/worktrees/a%20b/commit"),
            Ok(Target::Api(
                "/api/worktrees/a%20b/commit".into(),
                Scope::Write
            ))
        );
        assert_eq!(
            classify(&get, true, "api/terminals/x/ws"),
            Ok(Target::Api("/api/terminals/x/ws".into(), Scope::Write))
        );
        assert_eq!(
            classify(&Method::PATCH, false, "api/config"),
            Ok(Target::Api("/api/config".into(), Scope::Admin))
        );
        assert_eq!(classify(&get, false, ""), Ok(Target::Page("/".into())));
        assert_eq!(
            classify(&get, false, "assets/index-1.js"),
            Ok(Target::Page("/assets/index-1.js".into()))
        );
    }

    #[test]
    fn everything_else_is_refused() {
        let get = Method::GET;
        for path in [
            "api",
            "api/",
            "api/open",
            "api/mcp-servers",
            "api/skills/x",
            "api/integrations/verify",
            "api/worktrees/../mcp-servers",
            "api/worktrees/%2e%2e/mcp-servers",
            "api/worktrees/%2E%2E/mcp-servers",
            "api/worktrees/.",
            "api/worktrees%2f..%2fmcp-servers",
            "api/worktrees%2Fx",
            "api/worktrees/a%5cb",
            "api/worktrees/a\\b",
            "api//worktrees",
            "api/worktrees/",
            "api/worktrees/%00",
            "api/worktrees/%zz",
            "api/worktrees/%2",
            "http://evil.example/api/worktrees",
            "/api/worktrees",
            "../api/worktrees",
            "assets/../api/worktrees",
        ] {
            assert_eq!(classify(&get, false, path), Err(RouteRefused), "{path}");
        }
        // Other paths are only ever the dashboard's files (never the API, never `/mcp`).
        for path in ["mcp", "https:/evil.example/api"] {
            assert_eq!(
                classify(&get, false, path),
                Ok(Target::Page(format!("/{path}"))),
                "{path}"
            );
        }
        // Pages are read only.
        assert_eq!(
            classify(&Method::POST, false, "index.html"),
            Err(RouteRefused)
        );
        assert_eq!(classify(&get, true, "index.html"), Err(RouteRefused));
    }

    /// What reaches the API is rebuilt: the injected identity, the API's own host, and
    /// none of the client's credentials, origin or `X-OpenKit-*` headers.
    #[tokio::test]
    async fn the_forwarded_request_carries_the_identity_and_nothing_else() {
        use std::sync::Arc;

        use axum::http::HeaderMap;
        use http_body_util::BodyExt as _;
        use openkit_core::gateway::SessionKind;

        let repo = openkit_core::testing::TestRepo::new();
        let terminals = openkit_pty::TerminalManager::new();
        let workbench = openkit_core::Composition::new(repo.paths(), repo.host_env())
            .terminals(Arc::new(terminals.clone()))
            .build()
            .unwrap();
        let state =
            crate::AppState::new(workbench, terminals, crate::SecurityPolicy::for_port(4040));
        let echo = axum::Router::new().fallback(|request: Request| async move {
            let headers: serde_json::Map<String, serde_json::Value> = request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").into()))
                .collect();
            axum::Json(serde_json::json!({ "uri": request.uri().to_string(), "headers": headers }))
        });
        let app = GatewayApp {
            state: state.clone(),
            api: echo,
        };
        let gateway = state.gateway();
        let (pairing, _) = gateway.start_pairing(Scope::Write, None);
        let issued = gateway
            .redeem(&pairing.token, SessionKind::Bearer, "203.0.113.1")
            .unwrap();
        let project = gateway.project().id.clone();
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("/_ok/p/{project}/api/worktrees?x=1"))
            .header("host", "a.ngrok.app")
            .header("authorization", format!("Bearer {}", issued.token))
            .header("cookie", "ok_session=abc; other=1")
            .header("x-openkit-actor", "agent:evil")
            .header("x-openkit-user-id", "forged")
            .header("x-forwarded-for", "1.2.3.4")
            .header("referer", "https://evil.example/")
            .header("last-event-id", "e-1")
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap();
        let response = forward(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(seen["uri"], "/api/worktrees?x=1");
        let headers: HeaderMap = seen["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        assert_eq!(headers["host"], "localhost:4040");
        assert_eq!(headers["x-openkit-user-id"], issued.record.user_id.as_str());
        assert_eq!(headers["x-openkit-project-id"], project.as_str());
        assert_eq!(headers["last-event-id"], "e-1");
        assert_eq!(headers["accept"], "application/json");
        for absent in [
            "authorization",
            "cookie",
            "x-openkit-actor",
            "x-openkit-user-email",
            "x-forwarded-for",
            "referer",
            "origin",
        ] {
            assert!(!headers.contains_key(absent), "{absent} was passed on");
        }
    }

    proptest! {
        /// Whatever the path, an API target is `/api/<allowlisted area>/...` with no
        /// empty, dot or encoded-separator segment.
        #[test]
        fn api_targets_stay_inside_the_allowlist(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "api", "worktrees", "config", "open", "mcp-servers", "..", ".", "%2e%2e",
                    "%2E.", "%2f", "a%2Fb", "%5c", "", "x y", "http:", "evil.com", "%00",
                    "%", "ws", "a\\b",
                ]),
                0..6,
            ),
            ws in any::<bool>(),
            post in any::<bool>(),
        ) {
            let rest = parts.join("/");
            let method = if post { Method::POST } else { Method::GET };
            if let Ok(Target::Api(path, _)) = classify(&method, ws, &rest) {
                let segments: Vec<&str> = path.split('/').collect();
                prop_assert_eq!(segments[0], "");
                prop_assert_eq!(segments[1], "api");
                prop_assert!(ALLOWLIST.iter().any(|(a, _, _)| *a == segments[2]));
                for s in &segments[1..] {
                    prop_assert!(plain_segment(s), "{}", s);
                    let lower = s.to_ascii_lowercase();
                    prop_assert!(!lower.contains("%2f") && !lower.contains("%5c"));
                    prop_assert!(*s != ".." && *s != "." && lower != "%2e%2e");
                }
            }
            if let Ok(Target::Page(path)) = classify(&method, ws, &rest) {
                prop_assert!(!post && !ws);
                prop_assert!(!path.contains("/../") && !path.ends_with("/.."));
                prop_assert!(!path.starts_with("/api/") && path != "/api");
            }
        }
    }
}
