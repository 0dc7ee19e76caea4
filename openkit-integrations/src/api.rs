//! The one way tracker adapters talk to their service: [`ApiClient`].
//!
//! It holds the service's base URL (checked: `https://`, or `http://` only for a loopback
//! host, which is how tests reach their fakes), its credentials ([`Auth`], sent only to
//! that origin), a [`RateGate`] closed by rate-limit answers, an optional client-side
//! pace ([`Pace`], for services that document a request budget), and bounded timeouts.
//! Every failure becomes an [`UpstreamError`] whose kind and code say what happened in
//! the service's terms: its 401 is *our* upstream failure (502), never a 401 of OpenKit;
//! its 429 is a 429 with the wait; its 404 a 404. Error messages quote the service's own
//! message (from `message`, `error`, `errorMessages`, `errors` fields) and never a
//! credential or a URL's query.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openkit_core::error::{DomainError, ErrorKind};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::http::{self, RateGate};
use crate::secret::Secret;

/// Connect timeout of every adapter request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout of every adapter request, unless the adapter sets another.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// A `Retry-After` this short is waited out once before giving up.
pub const RETRY_INLINE: Duration = Duration::from_secs(2);
/// The longest error message kept from a service's answer.
const MAX_MESSAGE: usize = 500;

/// A client for the adapters: rustls, the connect timeout and the request timeout.
pub fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("openkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// How requests prove who they are.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)` (Jira's e-mail and API token).
    Basic {
        /// The user name (an e-mail for Jira).
        user: String,
        /// The password or API token.
        password: Secret,
    },
    /// The credential as the whole value of a header (`Authorization: <key>` for Linear
    /// API keys, `X-Api-Key: ...`).
    Header {
        /// The header.
        name: HeaderName,
        /// Its value.
        value: Secret,
    },
}

/// A failed call to an external service.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The base URL given at setup cannot be used.
    #[error("Invalid {service} URL: {reason}")]
    InvalidBaseUrl {
        /// The service.
        service: &'static str,
        /// Why.
        reason: String,
    },
    /// No answer: connection refused, DNS, TLS or a timeout.
    #[error("{service} is unreachable: {message}")]
    Unreachable {
        /// The service.
        service: &'static str,
        /// What failed.
        message: String,
    },
    /// The service rejected our credentials (its 401).
    #[error("{service} rejected the credentials{}", suffix(.message))]
    Unauthorized {
        /// The service.
        service: &'static str,
        /// The service's message.
        message: Option<String>,
    },
    /// The credentials lack a permission (its 403).
    #[error("{service} refused the request: {message}")]
    Forbidden {
        /// The service.
        service: &'static str,
        /// The service's message (it names a missing scope where the service says).
        message: String,
    },
    /// The resource does not exist (its 404).
    #[error("{what} not found in {service}")]
    NotFound {
        /// The service.
        service: &'static str,
        /// What was asked for.
        what: String,
    },
    /// The service's rate limit is in force.
    #[error("{service} rate limit reached; retry in {}s", .retry_after.as_secs().max(1))]
    RateLimited {
        /// The service.
        service: &'static str,
        /// How long to wait.
        retry_after: Duration,
    },
    /// The service refused the request as invalid (its other 4xx), with its message and
    /// its own error code when it gives one.
    #[error("{service} refused the request: {message}")]
    Rejected {
        /// The service.
        service: &'static str,
        /// The HTTP status it answered.
        status: u16,
        /// Its message.
        message: String,
        /// Its own error code, if any.
        code: Option<String>,
    },
    /// The service failed (its 5xx).
    #[error("{service} failed (HTTP {status}){}", suffix(.message))]
    Failed {
        /// The service.
        service: &'static str,
        /// The HTTP status.
        status: u16,
        /// Its message, if any.
        message: Option<String>,
    },
    /// The answer did not have the documented shape.
    #[error("{service} sent an unexpected answer: {message}")]
    InvalidResponse {
        /// The service.
        service: &'static str,
        /// What was wrong.
        message: String,
    },
}

fn suffix(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

impl UpstreamError {
    /// The wait a rate-limit error asks for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl DomainError for UpstreamError {
    fn kind(&self) -> ErrorKind {
        match self {
            UpstreamError::InvalidBaseUrl { .. } | UpstreamError::Rejected { .. } => {
                ErrorKind::InvalidInput
            }
            UpstreamError::NotFound { .. } => ErrorKind::NotFound,
            UpstreamError::RateLimited { .. } => ErrorKind::RateLimited,
            UpstreamError::Unreachable { .. }
            | UpstreamError::Unauthorized { .. }
            | UpstreamError::Forbidden { .. }
            | UpstreamError::Failed { .. }
            | UpstreamError::InvalidResponse { .. } => ErrorKind::Upstream,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            UpstreamError::InvalidBaseUrl { .. } => "INVALID_BASE_URL",
            UpstreamError::Unreachable { .. } => "UPSTREAM_UNREACHABLE",
            UpstreamError::Unauthorized { .. } => "UPSTREAM_UNAUTHORIZED",
            UpstreamError::Forbidden { .. } => "UPSTREAM_FORBIDDEN",
            UpstreamError::NotFound { .. } => "UPSTREAM_NOT_FOUND",
            UpstreamError::RateLimited { .. } => "UPSTREAM_RATE_LIMITED",
            UpstreamError::Rejected { .. } => "UPSTREAM_REJECTED",
            UpstreamError::Failed { .. } => "UPSTREAM_FAILED",
            UpstreamError::InvalidResponse { .. } => "UPSTREAM_INVALID_RESPONSE",
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            UpstreamError::RateLimited { retry_after, .. } => {
                vec![("retryAfter", retry_after.as_secs().max(1).to_string())]
            }
            UpstreamError::Rejected {
                code: Some(code), ..
            } => vec![("upstreamCode", code.clone())],
            _ => Vec::new(),
        }
    }
}

/// A client-side request budget: at most `limit` requests per `window` (Kiket documents
/// 600 a minute per installation). A request beyond it waits for the oldest to leave the
/// window, up to [`Pace::max_wait`]; past that it is refused as rate limited without
/// being sent.
#[derive(Debug)]
pub struct Pace {
    limit: usize,
    window: Duration,
    max_wait: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Pace {
    /// A budget of `limit` requests per `window`, waiting at most 5 s for room.
    pub fn new(limit: usize, window: Duration) -> Self {
        Pace {
            limit: limit.max(1),
            window,
            max_wait: Duration::from_secs(5),
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// The longest a request waits for room before being refused.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Takes a slot now, or says how long until one frees up.
    fn try_take(&self, now: Instant) -> Result<(), Duration> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            sent.pop_front();
        }
        if sent.len() < self.limit {
            sent.push_back(now);
            return Ok(());
        }
        let oldest = *sent.front().unwrap_or(&now);
        Err(self.window.saturating_sub(now.duration_since(oldest)))
    }

    /// Waits for a slot; `Err(wait)` when it would take longer than allowed.
    async fn take(&self) -> Result<(), Duration> {
        let started = Instant::now();
        loop {
            match self.try_take(Instant::now()) {
                Ok(()) => return Ok(()),
                Err(wait) if started.elapsed() + wait > self.max_wait => return Err(wait),
                Err(wait) => tokio::time::sleep(wait.max(Duration::from_millis(5))).await,
            }
        }
    }
}

/// A service's API at a base URL, with its credentials.
#[derive(Debug)]
pub struct ApiClient {
    client: reqwest::Client,
    service: &'static str,
    base: Url,
    auth: Auth,
    gate: RateGate,
    pace: Option<Pace>,
    timeout: Option<Duration>,
}

impl ApiClient {
    /// A client for `service` (its display name, e.g. `Jira`) at `base_url`: the root
    /// every request path is appended to (`https://kiket.dev/api/v1/ext`). Refused:
    /// anything but `https://`, or `http://` to a loopback host; URLs with credentials,
    /// a query or a fragment.
    pub fn new(
        client: reqwest::Client,
        service: &'static str,
        base_url: &str,
        auth: Auth,
    ) -> Result<Self, UpstreamError> {
        let base = check_base_url(service, base_url)?;
        Ok(ApiClient {
            client,
            service,
            base,
            auth,
            gate: RateGate::default(),
            pace: None,
            timeout: None,
        })
    }

    /// Adds a client-side request budget.
    pub fn with_pace(mut self, pace: Pace) -> Self {
        self.pace = Some(pace);
        self
    }

    /// Overrides the whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The service's display name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `path` (`/issues/PROJ-1`, with or without the leading `/`) below the base URL.
    /// Segments are taken as given: callers percent-encode ids with [`segment`].
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            self.base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        let (path, query) = match joined.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (joined, None),
        };
        url.set_path(&path);
        url.set_query(query.as_deref());
        url
    }

    /// Whether `url` is on the base URL's origin (scheme, host and port), so that
    /// credentials may be sent to it.
    pub fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// A request to `path` below the base URL, with the credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_url(method, self.url(path))
    }

    /// A request to an absolute `url`, with the credentials only when it is on the base
    /// URL's origin (a `next` link to elsewhere gets none).
    pub fn request_url(&self, method: Method, url: Url) -> RequestBuilder {
        let with_auth = self.same_origin(&url);
        let mut request = self
            .client
            .request(method, url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("openkit/", env!("CARGO_PKG_VERSION")));
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if with_auth {
            request = match &self.auth {
                Auth::None => request,
                Auth::Bearer(token) => request.header(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", token.expose())),
                ),
                Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
                Auth::Header { name, value } => {
                    request.header(name.clone(), sensitive(value.expose()))
                }
            };
        }
        request
    }

    /// Sends `request` and returns a successful (2xx or 3xx) answer; every other outcome
    /// is an [`UpstreamError`]. `what` names the resource for a 404 (`Issue PROJ-1`).
    /// While a rate limit is in force nothing is sent. A 429 whose `Retry-After` is at
    /// most [`RETRY_INLINE`] is waited out and retried once; idempotent requests are
    /// retried once after a 502, 503 or 504.
    pub async fn send(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<Response, UpstreamError> {
        let retry = request.try_clone();
        let idempotent = retry
            .as_ref()
            .and_then(|r| r.try_clone()?.build().ok())
            .is_some_and(|r| {
                matches!(
                    *r.method(),
                    Method::GET | Method::HEAD | Method::PUT | Method::DELETE
                )
            });
        match self.send_once(request, what).await {
            Err(UpstreamError::RateLimited { retry_after, .. })
                if retry_after <= RETRY_INLINE && retry.is_some() =>
            {
                tokio::time::sleep(retry_after).await;
                self.send_once(retry.expect("checked"), what).await
            }
            Err(UpstreamError::Failed { status, .. })
                if idempotent && matches!(status, 502..=504) && retry.is_some() =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.send_once(retry.expect("checked"), what).await
            }
            other => other,
        }
    }

    /// Sends `request` and decodes its JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<T, UpstreamError> {
        let response = self.send(request, what).await?;
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| UpstreamError::InvalidResponse {
            service: self.service,
            message: e.to_string(),
        })
    }

    async fn send_once(
        &self,
        request: RequestBuilder,
        what: &str,
    ) -> Result<Response, UpstreamError> {
        if let Some(wait) = self.gate.closed_for() {
            return Err(self.rate_limited(wait));
        }
        if let Some(pace) = &self.pace {
            pace.take().await.map_err(|wait| self.rate_limited(wait))?;
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        // `Retry-After`, or no request left before the reset: nothing more is sent
        // until then.
        if let Some(wait) = http::imposed_wait(response.headers()) {
            self.gate.close_for(wait);
        }
        if status.is_success() || status.is_redirection() {
            return Ok(response);
        }
        let wait = http::retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        let (message, code) = service_message(&body);
        Err(match status {
            StatusCode::UNAUTHORIZED => UpstreamError::Unauthorized {
                service: self.service,
                message,
            },
            StatusCode::FORBIDDEN => UpstreamError::Forbidden {
                service: self.service,
                message: message.unwrap_or_else(|| "permission denied".into()),
            },
            StatusCode::NOT_FOUND => UpstreamError::NotFound {
                service: self.service,
                what: what.to_string(),
            },
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = wait.unwrap_or(http::DEFAULT_WAIT);
                self.gate.close_for(wait);
                self.rate_limited(wait)
            }
            s if s.is_client_error() => UpstreamError::Rejected {
                service: self.service,
                status: s.as_u16(),
                message: message.unwrap_or_else(|| format!("HTTP {}", s.as_u16())),
                code,
            },
            s => UpstreamError::Failed {
                service: self.service,
                status: s.as_u16(),
                message,
            },
        })
    }

    fn rate_limited(&self, retry_after: Duration) -> UpstreamError {
        UpstreamError::RateLimited {
            service: self.service,
            retry_after,
        }
    }

    /// A transport failure, described without the URL (it could carry a pasted query).
    pub fn unreachable(&self, err: &reqwest::Error) -> UpstreamError {
        let origin = self.base.origin().ascii_serialization();
        let message = if err.is_timeout() {
            format!("no answer from {origin} in time")
        } else if err.is_connect() {
            format!("could not connect to {origin}")
        } else {
            err.without_url_ref()
        };
        UpstreamError::Unreachable {
            service: self.service,
            message,
        }
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}

/// A header value the HTTP stack must not log.
fn sensitive(value: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// One path segment, percent-encoded (an issue key, a slug): `/` and `?` in it cannot
/// reach another path or the query.
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    if out == "." || out == ".." {
        return out.replace('.', "%2E");
    }
    out
}

/// Checks a base URL given at setup: `https://`, or `http://` for a loopback host only;
/// no credentials, query or fragment. Returns it without a trailing `/`.
pub fn check_base_url(service: &'static str, base_url: &str) -> Result<Url, UpstreamError> {
    let invalid = |reason: &str| UpstreamError::InvalidBaseUrl {
        service,
        reason: reason.to_string(),
    };
    let url = Url::parse(base_url.trim()).map_err(|e| invalid(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| invalid("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(invalid("plain http:// is accepted only for loopback hosts")),
        _ => return Err(invalid("use an https:// URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// `localhost`, `*.localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The service's own message and code from an error body: `message`, `error` (a string
/// or an object with `message`/`code`), `errorMessages` and `errors` (Jira), GraphQL
/// `errors[].message`, `error_description` (OAuth). Bounded in length.
pub fn service_message(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body).trim().to_string();
        return (
            (!text.is_empty() && !text.starts_with('<')).then(|| bounded(&text)),
            None,
        );
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut messages: Vec<String> = Vec::new();
    let mut code = text(&value["code"]).or_else(|| text(&value["error"]["code"]));
    if let Some(m) = text(&value["message"]) {
        messages.push(m);
    }
    match &value["error"] {
        Value::String(s) => messages.push(s.clone()),
        Value::Object(o) => {
            if let Some(m) = o.get("message").and_then(Value::as_str) {
                messages.push(m.to_string());
            }
        }
        _ => {}
    }
    if let Some(list) = value["errorMessages"].as_array() {
        messages.extend(list.iter().filter_map(text));
    }
    match &value["errors"] {
        Value::Object(fields) => messages.extend(
            fields
                .iter()
                .filter_map(|(field, m)| m.as_str().map(|m| format!("{field}: {m}"))),
        ),
        Value::Array(list) => {
            for e in list {
                if let Some(m) = text(&e["message"]) {
                    messages.push(m);
                }
                if code.is_none() {
                    code = text(&e["extensions"]["code"]);
                }
            }
        }
        _ => {}
    }
    if let Some(m) = text(&value["error_description"]) {
        messages.push(m);
    }
    messages.dedup();
    let message = (!messages.is_empty()).then(|| bounded(&messages.join("; ")));
    (message, code)
}

fn bounded(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_https_or_loopback_http() {
        assert!(check_base_url("Jira", "https://x.atlassian.net/").is_ok());
        assert_eq!(
            check_base_url("Jira", "https://x.atlassian.net/")
                .unwrap()
                .as_str(),
            "https://x.atlassian.net/"
        );
        assert!(check_base_url("Jira", "http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("Jira", "http://localhost:1").is_ok());
        assert!(check_base_url("Jira", "http://[::1]:1").is_ok());
        for bad in [
            "http://example.com",
            "ftp://localhost",
            "file:///etc/passwd",
            "https://user:pw@x.com",
            "https://x.com/?a=b",
            "not a url",
            "http://127.0.0.1.evil.com",
        ] {
            let err = check_base_url("Jira", bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_BASE_URL", "{bad}");
        }
    }

    #[test]
    fn urls_join_below_the_base() {
        let api = ApiClient::new(
            default_client(),
            "Kiket",
            "http://127.0.0.1:9/api/v1/ext/",
            Auth::None,
        )
        .unwrap();
        assert_eq!(
            api.url("/issues?page=2").as_str(),
            "http://127.0.0.1:9/api/v1/ext/issues?page=2"
        );
        assert_eq!(
            api.url(&format!("issues/{}", segment("../x?y"))).as_str(),
            "http://127.0.0.1:9/api/v1/ext/issues/..%2Fx%3Fy"
        );
        assert_eq!(segment(".."), "%2E%2E");
        assert!(api.same_origin(&Url::parse("http://127.0.0.1:9/other").unwrap()));
        assert!(!api.same_origin(&Url::parse("http://127.0.0.1:10/").unwrap()));
        assert!(!api.same_origin(&Url::parse("https://127.0.0.1:9/").unwrap()));
    }

    #[test]
    fn service_messages_from_known_shapes() {
        let m = |s: &str| service_message(s.as_bytes());
        assert_eq!(
            m(r#"{"errorMessages":["Issue does not exist"],"errors":{"summary":"required"}}"#),
            (Some("Issue does not exist; summary: required".into()), None)
        );
        assert_eq!(
            m(r#"{"error":{"code":"workflow_guard_failed","message":"Needs review"}}"#),
            (
                Some("Needs review".into()),
                Some("workflow_guard_failed".into())
            )
        );
        assert_eq!(
            m(r#"{"errors":[{"message":"Entity not found","extensions":{"code":"INPUT_ERROR"}}]}"#),
            (Some("Entity not found".into()), Some("INPUT_ERROR".into()))
        );
        assert_eq!(m("<html>oops</html>"), (None, None));
        assert_eq!(m("plain words"), (Some("plain words".into()), None));
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(2000));
        assert!(m(&long).0.unwrap().chars().count() <= MAX_MESSAGE + 1);
    }

    #[test]
    fn the_pace_refuses_beyond_its_budget() {
        let pace = Pace::new(2, Duration::from_secs(60));
        let now = Instant::now();
        assert!(pace.try_take(now).is_ok());
        assert!(pace.try_take(now).is_ok());
        let wait = pace.try_take(now).unwrap_err();
        assert!(wait > Duration::from_secs(59));
        assert!(pace.try_take(now + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn errors_map_to_kinds_and_codes() {
        let unauthorized = UpstreamError::Unauthorized {
            service: "Jira",
            message: None,
        };
        assert_eq!(unauthorized.kind(), ErrorKind::Upstream);
        assert_eq!(unauthorized.to_string(), "Jira rejected the credentials");
        let limited = UpstreamError::RateLimited {
            service: "Kiket",
            retry_after: Duration::from_secs(30),
        };
        assert_eq!(limited.kind(), ErrorKind::RateLimited);
        assert_eq!(limited.context(), vec![("retryAfter", "30".to_string())]);
    }
}
