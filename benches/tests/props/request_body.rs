//! Properties of JSON request bodies through the real router, shared by the
//! `request_body` fuzz target (`fuzz/fuzz_targets/request_body.rs` includes this file) and
//! its proptest twin (`benches/tests/fuzz_twins.rs`). Violations panic.
//!
//! For any bytes sent as an `application/json` body to a state-changing route:
//! - the answer is never a 5xx;
//! - it is JSON, and a rejection is the envelope (`success: false`, an `error` sentence
//!   and an `UPPER_SNAKE` `code`);
//! - a body that is not exactly one JSON value (malformed, or with trailing data after
//!   the value) is a 400 `INVALID_JSON`, whatever the value before the trailing data is.
//!
//! Depends on `openkit_benches` (the fixture project and router), `axum`, `tower`,
//! `tokio`, `http-body-util` and `serde_json`.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The routes exercised: every JSON-body route whose handling stays inside the project
/// (no git checkout, no process start), with an existing task `LOCAL-1` to address.
pub const ROUTES: [(&str, &str); 10] = [
    ("POST", "/api/tasks"),
    ("PATCH", "/api/tasks/LOCAL-1"),
    ("PATCH", "/api/config"),
    ("PATCH", "/api/local-config"),
    ("POST", "/api/activity"),
    ("POST", "/api/logs"),
    ("POST", "/api/config/retention-impact"),
    ("PUT", "/api/notes/local/LOCAL-1"),
    ("POST", "/api/notes/local/LOCAL-1/todos"),
    ("PATCH", "/api/notes/local/LOCAL-1/git-policy"),
];

/// A fixture project with its router and the runtime to drive it.
pub struct Target {
    runtime: tokio::runtime::Runtime,
    router: Router,
    _repo: openkit_core::testing::TestRepo,
}

impl Target {
    /// A fresh project (with task `LOCAL-1`) and the complete API over it.
    pub fn new() -> Self {
        let repo = openkit_benches::project();
        let router = openkit_benches::router(openkit_benches::workbench(&repo));
        let runtime = openkit_benches::runtime();
        let target = Target {
            runtime,
            router,
            _repo: repo,
        };
        let (status, body) = target.send(0, br#"{"title":"fuzz target"}"#);
        assert!(status < 300, "creating LOCAL-1: {status} {body}");
        target
    }

    /// Sends `body` as JSON to route `route` (modulo [`ROUTES`]); the status and the
    /// parsed answer.
    pub fn send(&self, route: usize, body: &[u8]) -> (u16, Value) {
        let (method, path) = ROUTES[route % ROUTES.len()];
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method"))
            .uri(path)
            .header("host", openkit_benches::HOST)
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .expect("a request");
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router answers");
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("a readable answer")
                .to_bytes();
            let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {path} answered {status} with non-JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            (status, value)
        })
    }
}

impl Default for Target {
    fn default() -> Self {
        Target::new()
    }
}

/// Whether `bytes` is exactly one JSON value (surrounding whitespace allowed) or only
/// whitespace (an empty body reads as `{}`).
pub fn is_one_json_value(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace) || serde_json::from_slice::<Value>(bytes).is_ok()
}

/// Sends `body` to route `route` and checks the properties in the module docs.
pub fn check_body(target: &Target, route: usize, body: &[u8]) {
    let (method, path) = ROUTES[route % ROUTES.len()];
    let (status, answer) = target.send(route, body);
    let shown = String::from_utf8_lossy(body);
    assert!(
        status < 500,
        "{method} {path} with {shown:?}: {status} {answer}"
    );
    if status >= 400 {
        assert_eq!(
            answer["success"], false,
            "{method} {path} with {shown:?}: {answer}"
        );
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
        let code = answer["code"].as_str().unwrap_or_default();
        assert!(
            !code.is_empty()
                && code.starts_with(|c: char| c.is_ascii_uppercase())
                && code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{method} {path}: code {code:?}"
        );
    }
    if !is_one_json_value(body) {
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_JSON")),
            "{method} {path} accepted a body that is not one JSON value: {shown:?} → {answer}"
        );
    }
}

/// The fuzz entry: the first byte picks the route, the rest is the body.
pub fn route_and_body(target: &Target, data: &[u8]) {
    if let Some((first, body)) = data.split_first() {
        check_body(target, usize::from(*first), body);
    }
}
