//! Who may drive the server: Host and Origin checks, and CORS for our own origins.
//!
//! - **Host** (DNS rebinding): a request whose `Host` is present must name a loopback
//!   host of ours (`localhost`, `127.0.0.1`, `[::1]`), with our port or none.
//! - **Origin** (CSRF, cross-site WebSockets): a request that carries an `Origin` must
//!   come from one of our loopback origins (or an origin added explicitly). Clients
//!   without `Origin` (CLI, curl) are not affected.
//! - **CORS**: only those origins get `Access-Control-Allow-Origin`; preflights from them
//!   are answered here.

use std::sync::Arc;

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
    let Some(origin) = origin else {
        return next.run(request).await;
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
    let mut response = next.run(request).await;
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
