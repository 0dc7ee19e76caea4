//! Who may drive the server: Host, Origin, fetch-site, Referer and body-type checks, and
//! CORS for our own origins. Every request passes them before routing, in this order:
//!
//! - **Host** (DNS rebinding): a request whose `Host` is present must name a loopback
//!   host of ours (`localhost`, `127.0.0.1`, `[::1]`), with our port or none
//!   (`FORBIDDEN_HOST`).
//! - **Origin** (CSRF, cross-site WebSockets): a request that carries an `Origin` must
//!   come from one of our loopback origins (or an origin added explicitly)
//!   (`FORBIDDEN_ORIGIN`). Clients without `Origin` (CLI, curl) are not affected.
//! - **Sec-Fetch-Site** (browsers that omit `Origin`): a request the browser marks
//!   `cross-site` or `same-site` must name one of our origins, by its `Origin` or, when
//!   that is absent, by its `Referer` (`FORBIDDEN_CROSS_SITE`). A page of ours on another
//!   site (`http://127.0.0.1:5173` calling `http://localhost:4040`) still works; a form
//!   post or a no-cors fetch from anywhere else does not.
//! - **Referer** (old browsers, privacy tools): a request without `Origin` whose `Referer`
//!   is a page of another origin is refused (`FORBIDDEN_REFERER`).
//! - **Body type** (CSRF through "simple" requests, which need no CORS preflight): a
//!   state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) must declare a JSON body
//!   (`application/json` or `application/<x>+json`, parameters such as `charset`
//!   allowed), or `multipart/form-data` on the upload routes; a body with any other type,
//!   or with none, is refused with 415 (`UNSUPPORTED_MEDIA_TYPE`). A request whose body
//!   is known to be empty (no body, or `Content-Length: 0`) may omit `Content-Type`
//!   (`curl -X DELETE`, a POST whose body is optional): an empty body carries no
//!   payload. A chunked body of unknown length without a type counts as a body. A browser cannot send JSON cross-site without a
//!   preflight, which only our origins pass.
//! - **Page navigations**: a browser opening the dashboard page from a link on another
//!   site (`GET`/`HEAD` outside `/api`, `Sec-Fetch-Mode: navigate`,
//!   `Sec-Fetch-Dest: document`) skips the fetch-site and Referer checks: the page is
//!   static and cannot be framed. The `Host` check applies to it as to everything. The
//!   same holds for the OAuth callbacks (`/api/jira/oauth/callback`), where a provider
//!   sends the user back: their single-use `state` is their CSRF check.
//! - **CORS**: only our origins get `Access-Control-Allow-Origin`; preflights from them
//!   are answered here.

use std::sync::Arc;

use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The hosts and origins the server accepts.
#[derive(Debug, Clone)]
pub struct SecurityPolicy {
    ports: Vec<u16>,
    extra_origins: Vec<String>,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl SecurityPolicy {
    /// The port the server listens on (the first accepted).
    pub fn port(&self) -> u16 {
        self.ports.first().copied().unwrap_or_default()
    }

    /// Accepts our loopback names on `port`.
    pub fn for_port(port: u16) -> Self {
        SecurityPolicy {
            ports: vec![port],
            extra_origins: Vec::new(),
        }
    }

    /// Also accepts requests from `origin` (e.g. `http://localhost:5173` for a UI dev
    /// server). Exact match, scheme and port included.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.extra_origins
            .push(origin.into().trim_end_matches('/').to_string());
        self
    }

    fn port_ok(&self, port: Option<&str>) -> bool {
        match port {
            None => true,
            Some(p) => p.parse::<u16>().is_ok_and(|p| self.ports.contains(&p)),
        }
    }

    /// True when `host` (a `Host` header value) is one of ours.
    pub fn host_allowed(&self, host: &str) -> bool {
        let (name, port) = split_host_port(host);
        LOOPBACK_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(name)) && self.port_ok(port)
    }

    /// The `host:port` authorities a request may name in `Host` (for services that check
    /// it themselves, such as the MCP transport: the same list, stated explicitly).
    pub fn allowed_hosts(&self) -> Vec<String> {
        self.ports
            .iter()
            .flat_map(|port| LOOPBACK_HOSTS.iter().map(move |h| format!("{h}:{port}")))
            .collect()
    }

    /// The origins a request may come from (`http` and `https` on our loopback names and
    /// ports, plus the origins added explicitly), for services that check `Origin`
    /// themselves.
    pub fn allowed_origins(&self) -> Vec<String> {
        let ours = self.allowed_hosts().into_iter().flat_map(|authority| {
            ["http", "https"].map(|scheme| format!("{scheme}://{authority}"))
        });
        ours.chain(self.extra_origins.iter().cloned()).collect()
    }

    /// True when `referer` (a `Referer` header value, a full URL) is a page of one of our
    /// origins.
    pub fn referer_allowed(&self, referer: &str) -> bool {
        referer_origin(referer).is_some_and(|origin| self.origin_allowed(origin))
    }

    /// True when `origin` (an `Origin` header value) is one of ours.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        if self.extra_origins.iter().any(|o| o == origin) {
            return true;
        }
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        !rest.contains('/') && self.host_allowed(rest)
    }
}

/// The origin (`scheme://host[:port]`) of a URL, or `None` when it has none or carries
/// user info.
fn referer_origin(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(&url[..scheme_end + 3 + authority_len])
}

/// The methods that change state: they must declare what their body is.
fn is_mutation(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// True for the routes that take a file upload (`multipart/form-data`): in the reference,
/// `POST /api/tasks/:id/attachments`.
fn is_upload(method: &Method, path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    *method == Method::POST
        && matches!(segments.as_slice(), ["", "api", "tasks", id, "attachments"] if !id.is_empty())
}

/// The media type of a `Content-Type` value, without parameters.
fn media_type(content_type: &str) -> &str {
    content_type
        .split(';')
        .next()
        .unwrap_or(content_type)
        .trim()
}

/// True for `application/json` and `application/<x>+json` (e.g. `merge-patch+json`).
fn is_json(media: &str) -> bool {
    let media = media.to_ascii_lowercase();
    media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.len() > "+json".len() && sub.ends_with("+json"))
}

/// The 415 a state-changing request gets when its body is not one we take.
fn unsupported_media_type(declared: Option<&str>, upload: bool) -> ApiError {
    let wanted = if upload {
        "multipart/form-data (or application/json)"
    } else {
        "application/json"
    };
    let message = match declared {
        Some(declared) => {
            format!("Content-Type {declared:?} is not accepted here: send the body as {wanted}")
        }
        None => format!("A request body needs a Content-Type: send it as {wanted}"),
    };
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        message,
    )
}

/// Checks that a state-changing request declares a body we accept (see the module docs).
fn check_body_type(request: &Request) -> Result<(), ApiError> {
    if !is_mutation(request.method()) {
        return Ok(());
    }
    let upload = is_upload(request.method(), request.uri().path());
    let declared = match header_str(request.headers(), header::CONTENT_TYPE) {
        Ok(declared) => declared,
        Err(()) => return Err(unsupported_media_type(None, upload)),
    };
    let Some(declared) = declared else {
        let body = request.body();
        let empty = body.is_end_stream() || body.size_hint().exact() == Some(0);
        return if empty {
            Ok(())
        } else {
            Err(unsupported_media_type(None, upload))
        };
    };
    let media = media_type(declared);
    if is_json(media) || (upload && media.eq_ignore_ascii_case("multipart/form-data")) {
        Ok(())
    } else {
        Err(unsupported_media_type(Some(declared), upload))
    }
}

/// Checks what a browser says about where the request comes from when it sends no
/// `Origin` of ours (see the module docs). `origin` is the already accepted `Origin`.
fn check_site(
    headers: &HeaderMap,
    origin: Option<&str>,
    policy: &SecurityPolicy,
) -> Result<(), ApiError> {
    if origin.is_some() {
        return Ok(());
    }
    let referer = header_str(headers, header::REFERER).map_err(|()| forbidden_referer())?;
    let referer_ours = match referer {
        None => false,
        Some(referer) if policy.referer_allowed(referer) => true,
        Some(_) => return Err(forbidden_referer()),
    };
    let fetch_site = header_str(headers, SEC_FETCH_SITE).map_err(|()| forbidden_cross_site())?;
    let other_site = fetch_site.is_some_and(|site| {
        let site = site.trim();
        site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site")
    });
    if other_site && !referer_ours {
        return Err(forbidden_cross_site());
    }
    Ok(())
}

/// True for a browser opening the dashboard page itself (a link followed from another
/// site, a bookmark): a top-level `GET`/`HEAD` navigation to a path outside `/api`. The
/// page is static and framing it is forbidden, so where the link was does not matter; the
/// `Host` check still applies, and everything the page then fetches is checked as usual.
fn is_page_navigation(request: &Request) -> bool {
    let headers = request.headers();
    let is = |name: &str, value: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && ((path != "/api" && !path.starts_with("/api/")) || NAVIGATION_TARGETS.contains(&path))
        && is("sec-fetch-mode", "navigate")
        && is("sec-fetch-dest", "document")
}

/// API paths a browser reaches by a top-level navigation from another site: OAuth
/// callbacks, where the provider sends the user back. Their only effect is guarded by
/// the single-use `state` that a same-site request obtained, which is the callback's
/// CSRF check.
const NAVIGATION_TARGETS: [&str; 1] = ["/api/jira/oauth/callback"];

/// `Sec-Fetch-Site`: the browser's word on where a request comes from.
const SEC_FETCH_SITE: header::HeaderName = header::HeaderName::from_static("sec-fetch-site");

fn forbidden_referer() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN_REFERER",
        "Requests from pages of other origins are not allowed (Referer)",
    )
}

fn forbidden_cross_site() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN_CROSS_SITE",
        "Cross-site requests are not allowed (Sec-Fetch-Site)",
    )
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host.
fn split_host_port(value: &str) -> (&str, Option<&str>) {
    if value.starts_with('[') {
        return match value.find(']') {
            Some(end) => {
                let (host, rest) = value.split_at(end + 1);
                (host, rest.strip_prefix(':'))
            }
            None => (value, None),
        };
    }
    match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, ()> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ()),
    }
}

/// The middleware enforcing the policy.
pub async fn enforce(
    State(policy): State<Arc<SecurityPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    match header_str(headers, header::HOST) {
        Ok(None) => {}
        Ok(Some(host)) if policy.host_allowed(host) => {}
        _ => {
            return ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN_HOST", "Host not allowed")
                .into_response();
        }
    }
    let origin = match header_str(headers, header::ORIGIN) {
        Ok(None) => None,
        Ok(Some(origin)) if policy.origin_allowed(origin) => Some(origin.to_string()),
        _ => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ORIGIN",
                "Origin not allowed",
            )
            .into_response();
        }
    };
    let refused = if is_page_navigation(&request) {
        None
    } else {
        check_site(headers, origin.as_deref(), &policy)
            .and_then(|()| check_body_type(&request))
            .err()
    };
    let Some(origin) = origin else {
        return match refused {
            Some(refused) => refused.into_response(),
            None => next.run(request).await,
        };
    };
    let allow_origin = HeaderValue::from_str(&origin).expect("origin came from a header value");
    if request.method() == Method::OPTIONS
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, last-event-id, authorization"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    // A page of ours may read why its request was refused.
    let mut response = match refused {
        Some(refused) => refused.into_response(),
        None => next.run(request).await,
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let p = SecurityPolicy::for_port(4040);
        for ok in [
            "localhost:4040",
            "127.0.0.1:4040",
            "[::1]:4040",
            "localhost",
            "LOCALHOST:4040",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:4040",
            "localhost:4041",
            "127.0.0.2:4040",
            "localhost.evil.com:4040",
            "[::1]:80",
            "",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn referers_media_types_and_upload_routes() {
        let p = SecurityPolicy::for_port(4040);
        for ok in [
            "http://localhost:4040/",
            "http://127.0.0.1:4040/tasks?x=1#y",
            "http://[::1]:4040",
            "http://localhost:4040?q",
        ] {
            assert!(p.referer_allowed(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "http://localhost:3000/",
            "http://user@localhost:4040/",
            "http://localhost:4040.evil.example/",
            "localhost:4040",
            "about:client",
            "",
        ] {
            assert!(!p.referer_allowed(bad), "{bad}");
        }
        for json in [
            "application/json",
            "APPLICATION/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(json), "{json}");
        }
        for other in [
            "text/plain",
            "application/+json",
            "text/json",
            "application/jsonx",
        ] {
            assert!(!is_json(other), "{other}");
        }
        assert_eq!(
            media_type("application/json; charset=utf-8"),
            "application/json"
        );
        assert!(is_upload(&Method::POST, "/api/tasks/LOCAL-1/attachments"));
        assert!(!is_upload(&Method::PUT, "/api/tasks/LOCAL-1/attachments"));
        assert!(!is_upload(&Method::POST, "/api/tasks//attachments"));
        assert!(!is_upload(&Method::POST, "/api/tasks"));
        assert!(!is_upload(&Method::POST, "/api/tasks/a/attachments/b"));
    }

    #[test]
    fn the_explicit_lists_say_what_the_checks_accept() {
        let p = SecurityPolicy::for_port(4040).allow_origin("http://localhost:5173");
        let hosts = p.allowed_hosts();
        assert_eq!(hosts, ["localhost:4040", "127.0.0.1:4040", "[::1]:4040"]);
        assert!(hosts.iter().all(|h| p.host_allowed(h)));
        let origins = p.allowed_origins();
        assert_eq!(origins.len(), 7);
        assert!(origins.iter().all(|o| p.origin_allowed(o)), "{origins:?}");
        assert!(origins.contains(&"http://localhost:5173".to_string()));
    }

    #[test]
    fn origins() {
        let p = SecurityPolicy::for_port(4040).allow_origin("http://localhost:5173/");
        for ok in [
            "http://localhost:4040",
            "http://127.0.0.1:4040",
            "http://[::1]:4040",
            "http://localhost:5173",
        ] {
            assert!(p.origin_allowed(ok), "{ok}");
        }
        for bad in [
            "null",
            "http://evil.com",
            "http://localhost:4041",
            "file://",
            "http://localhost:4040/x",
            "http://localhost.evil.com:4040",
        ] {
            assert!(!p.origin_allowed(bad), "{bad}");
        }
    }
}
