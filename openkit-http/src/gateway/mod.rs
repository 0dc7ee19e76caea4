//! The gateway listener: what the ngrok tunnel points at (its own loopback port, never
//! the API's). It serves only `/_ok/*`:
//!
//! - `GET /_ok/health`: liveness.
//! - `GET /_ok/pair?token=&next=`: consumes a pairing token (rate limited per client
//!   address and globally), sets the `ok_session` cookie (HttpOnly, SameSite=Lax, Secure
//!   over https, 8 h) and redirects to `next` below the project's page.
//! - `POST /_ok/exchange` `{token}`: the pairing exchange for programmatic clients (the
//!   tunnel does not reach `/api/ngrok/pairing/exchange`): a 15-minute bearer session.
//! - `GET /_ok/me`, `POST /_ok/logout`.
//! - `ANY /_ok/p/:projectId/*`: the authenticated proxy ([`proxy`]): `api/...` goes to
//!   an allowlist of API routes, anything else is the dashboard's static files, so the
//!   dashboard works from `/_ok/p/<id>/` with its relative URLs.
//!
//! `GET /` redirects to the project's page; everything else is 404 `route_forbidden`.
//! Requests are dispatched by one handler matching the paths above, so nothing else can
//! be routed here by accident. The `Host` must be a loopback name or the tunnel's
//! current public host. The client address of a request is the last `X-Forwarded-For`
//! hop (the one the tunnel appends; whatever a client sends itself comes before it).

pub mod proxy;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openkit_core::gateway::{GatewayError, RateDecision, SessionKind, SessionRecord};

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::Success;
use crate::wire::ngrok::{GatewayHealth, GatewayMe, PairingExchangeRequest};

/// The session cookie.
pub const COOKIE: &str = "ok_session";

/// The largest `/_ok/exchange` body.
const MAX_EXCHANGE_BODY: usize = 16 * 1024;

/// What the gateway's handler holds: the server state and the API router it forwards
/// to in process.
pub(crate) struct GatewayApp {
    pub(crate) state: AppState,
    pub(crate) api: Router,
}

/// The gateway listener's router over `state` (the same state the API serves).
pub fn gateway_router(state: AppState) -> Router {
    let app = Arc::new(GatewayApp {
        api: crate::router(state.clone()),
        state,
    });
    Router::new().fallback(handle).with_state(app).layer(
        tower_http::catch_panic::CatchPanicLayer::custom(crate::error::panic_response),
    )
}

async fn handle(State(app): State<Arc<GatewayApp>>, request: Request) -> Response {
    let mut response = dispatch(&app, request).await;
    let h = response.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

async fn dispatch(app: &GatewayApp, request: Request) -> Response {
    if !host_allowed(&app.state, request.headers()) {
        return ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN_HOST", "Host not allowed")
            .into_response();
    }
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    match (method, path.as_str()) {
        (Method::GET | Method::HEAD, "/_ok/health") => Json(GatewayHealth {
            ok: true,
            service: "openkit-gateway",
        })
        .into_response(),
        (Method::GET, "/_ok/pair") => pair(&app.state, &request),
        (Method::POST, "/_ok/exchange") => exchange_request(&app.state, request).await,
        (Method::GET, "/_ok/me") => me(&app.state, request.headers()),
        (Method::POST, "/_ok/logout") => logout(&app.state, request.headers()),
        (Method::GET | Method::HEAD, "/") => {
            redirect(&format!("/_ok/p/{}/", app.state.gateway().project().id))
        }
        (_, p) if p.starts_with("/_ok/p/") => proxy::forward(app, request).await,
        _ => route_forbidden(),
    }
}

/// 404 `route_forbidden`: the gateway serves nothing else.
pub(crate) fn route_forbidden() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_forbidden",
        "The gateway does not serve this route",
    )
    .into_response()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => route_forbidden(),
    }
}

/// The authority (host and port) of a URL such as `https://a.ngrok.app`.
fn authority(url: &str) -> Option<&str> {
    url.split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
}

fn host_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    if ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        return true;
    }
    state
        .tunnel()
        .status()
        .public_url
        .as_deref()
        .and_then(authority)
        .is_some_and(|public| public.eq_ignore_ascii_case(host))
}

/// The client address of a request: the last `X-Forwarded-For` hop, which the tunnel
/// appends (anything a client sends itself comes before it), or `local` for a request
/// that did not come through a tunnel.
pub fn client_address(headers: &HeaderMap) -> String {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|hop| !hop.is_empty());
    match last.map(|hop| hop.parse::<IpAddr>()) {
        Some(Ok(ip)) => ip.to_string(),
        Some(Err(_)) => "unparsable".to_string(),
        None => "local".to_string(),
    }
}

/// Adds `X-RateLimit-*` (and `Retry-After` when refused) to `response`.
fn with_rate_headers(mut response: Response, decision: &RateDecision) -> Response {
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    h.insert(
        "x-ratelimit-reset",
        HeaderValue::from(decision.reset_after_secs),
    );
    if !decision.allowed {
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from(decision.reset_after_secs),
        );
    }
    response
}

/// Counts a pairing attempt of `client`; `Err` is the 429 to answer.
fn attempt(state: &AppState, client: &str) -> Result<RateDecision, Box<Response>> {
    let decision = state.gateway().attempt(client);
    if decision.allowed {
        Ok(decision)
    } else {
        let refused = ApiError::from(GatewayError::RateLimited {
            retry_after_secs: decision.reset_after_secs,
        });
        Err(Box::new(with_rate_headers(
            refused.into_response(),
            &decision,
        )))
    }
}

/// The exchange of a pairing token for a bearer session by `client` (the API route and
/// `/_ok/exchange`), rate limited.
pub(crate) fn exchange(state: &AppState, token: &str, client: &str) -> Response {
    let decision = match attempt(state, client) {
        Ok(decision) => decision,
        Err(refused) => return *refused,
    };
    let response = match state.gateway().redeem(token, SessionKind::Bearer, client) {
        Ok(issued) => crate::routes::ngrok::exchanged(state, &issued),
        Err(e) => ApiError::from(e).into_response(),
    };
    with_rate_headers(response, &decision)
}

async fn exchange_request(state: &AppState, request: Request) -> Response {
    let client = client_address(request.headers());
    let bytes = match axum::body::to_bytes(request.into_body(), MAX_EXCHANGE_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "Request body is too large",
            )
            .into_response();
        }
    };
    match serde_json::from_slice::<PairingExchangeRequest>(&bytes) {
        Ok(body) => exchange(state, &body.token, &client),
        Err(e) => ApiError::bad_request("INVALID_JSON", format!("Invalid request body: {e}"))
            .into_response(),
    }
}

/// True when the request reached us over https (the tunnel says so, or its public URL
/// is https and the request names its host).
fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let public = state.tunnel().status().public_url;
    forwarded
        || public.as_deref().is_some_and(|url| {
            url.starts_with("https://") && host.is_some_and(|h| authority(url) == Some(h))
        })
}

fn session_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("a token is base64url")
}

fn pair(state: &AppState, request: &Request) -> Response {
    let headers = request.headers();
    let client = client_address(headers);
    let decision = match attempt(state, &client) {
        Ok(decision) => decision,
        Err(refused) => return *refused,
    };
    #[derive(serde::Deserialize)]
    struct PairQuery {
        token: Option<String>,
        next: Option<String>,
    }
    let query = axum::extract::Query::<PairQuery>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or(PairQuery {
            token: None,
            next: None,
        });
    let token = query.token.unwrap_or_default();
    let response = match state.gateway().redeem(&token, SessionKind::Cookie, &client) {
        Ok(issued) => {
            let next = match query.next.as_deref() {
                Some(next) => openkit_core::gateway::sanitize_next(Some(next)),
                None => issued.next.clone(),
            };
            let project = &state.gateway().project().id;
            let mut response = redirect(&format!("/_ok/p/{project}{next}"));
            let max_age = state.gateway().settings().cookie_ttl.as_secs();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&issued.token, max_age, is_https(state, headers)),
            );
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    };
    with_rate_headers(response, &decision)
}

/// The session token a request carries: `Authorization: Bearer` first, else the
/// `ok_session` cookie.
fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let auth = auth.to_str().ok()?;
        let (scheme, token) = auth.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
}

/// The session of a request and the token it came with, or the 401/403 to answer.
pub(crate) fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(SessionRecord, String), ApiError> {
    let token = session_token(headers)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::from(GatewayError::Unauthenticated))?;
    let session = state.gateway().authenticate(&token)?;
    Ok((session, token))
}

/// A browser request from another site is refused (403): its `Origin` must be this
/// host's, and `Sec-Fetch-Site` must not say another site. Cookies are `SameSite=Lax`
/// already; this also covers WebSockets and same-site neighbours.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = origin
            .to_str()
            .ok()
            .zip(host)
            .is_some_and(|(origin, host)| {
                origin == format!("https://{host}") || origin == format!("http://{host}")
            });
        if !ours {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ORIGIN",
                "Origin not allowed",
            ));
        }
        return Ok(());
    }
    let other_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| {
            let s = s.trim();
            s.eq_ignore_ascii_case("cross-site") || s.eq_ignore_ascii_case("same-site")
        });
    let navigation = headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m.eq_ignore_ascii_case("navigate"));
    if other_site && !navigation {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_CROSS_SITE",
            "Cross-site requests are not allowed (Sec-Fetch-Site)",
        ));
    }
    Ok(())
}

fn me(state: &AppState, headers: &HeaderMap) -> Response {
    match authenticate(state, headers) {
        Ok((session, _)) => {
            Json(GatewayMe::new(&session, state.gateway().project())).into_response()
        }
        Err(refused) => refused.into_response(),
    }
}

fn logout(state: &AppState, headers: &HeaderMap) -> Response {
    if let Err(refused) = same_origin(headers) {
        return refused.into_response();
    }
    if let Some(token) = session_token(headers)
        && let Err(e) = state.gateway().logout(&token)
    {
        return ApiError::from(e).into_response();
    }
    let mut response = Json(Success::new()).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", 0, is_https(state, headers)),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_client_address_is_the_last_hop() {
        assert_eq!(client_address(&headers(&[])), "local");
        assert_eq!(
            client_address(&headers(&[("x-forwarded-for", "203.0.113.7")])),
            "203.0.113.7"
        );
        // What the client sent itself comes first; the tunnel's hop is last.
        assert_eq!(
            client_address(&headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7")])),
            "203.0.113.7"
        );
        assert_eq!(
            client_address(&headers(&[
                ("x-forwarded-for", "1.1.1.1"),
                ("x-forwarded-for", "2001:db8::1")
            ])),
            "2001:db8::1"
        );
        assert_eq!(
            client_address(&headers(&[("x-forwarded-for", "1.1.1.1, garbage")])),
            "unparsable"
        );
    }

    #[test]
    fn tokens_come_from_bearer_or_the_cookie() {
        assert_eq!(
            session_token(&headers(&[("authorization", "Bearer abc")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            session_token(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(
            session_token(&headers(&[("cookie", "a=1; ok_session=tok; b=2")])).as_deref(),
            Some("tok")
        );
        assert_eq!(
            session_token(&headers(&[("cookie", "xok_session=tok")])),
            None
        );
    }

    #[test]
    fn same_origin_refuses_other_sites() {
        assert!(same_origin(&headers(&[("host", "a.ngrok.app")])).is_ok());
        assert!(
            same_origin(&headers(&[
                ("host", "a.ngrok.app"),
                ("origin", "https://a.ngrok.app")
            ]))
            .is_ok()
        );
        assert!(
            same_origin(&headers(&[
                ("host", "a.ngrok.app"),
                ("origin", "https://evil.example")
            ]))
            .is_err()
        );
        assert!(
            same_origin(&headers(&[
                ("host", "a.ngrok.app"),
                ("sec-fetch-site", "cross-site")
            ]))
            .is_err()
        );
    }
}
