//! Test support (feature `testing`): [`FakeKiket`], a fake Kiket extension API on
//! 127.0.0.1 written from Kiket's public documentation (`/api/v1/ext`).
//!
//! It checks the workspace token (`Authorization: Bearer`, 401 otherwise) and the scope
//! each endpoint requires (403 naming it), pages issues with `page`/`per_page` (at most
//! 100, 400 beyond), filters them by `state`, `label`, `assignee` (`me` is the token's
//! owner) and `custom_fields[<name>]`, serves workflows, transitions issues along them
//! (422 for a transition the workflow lacks or a guard denies, 409 while a guard's
//! approval is pending, each with Kiket's `{"error": {"code", "message"}}`), adds
//! comments, changes fields, lists SLA events, counts requests against a per-minute
//! budget (`X-RateLimit-Remaining` on every answer; 429 with `Retry-After` past it) and
//! can be told to fail (any status, a 429, slow answers, down). Every request is
//! recorded.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The workspace token the fake accepts.
pub const FAKE_TOKEN: &str = "wk_fake_kiket_token";
/// The token owner's e-mail (what `assignee=me` means).
pub const FAKE_USER: &str = "dev@example.com";
/// The project slug the fake knows.
pub const FAKE_PROJECT: &str = "core-platform";
/// Every scope of the extension API.
pub const ALL_SCOPES: [&str; 4] = [
    "read:issues",
    "write:issues",
    "write:comments",
    "read:workflows",
];

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The status answered.
    pub status: u16,
}

/// How the fake fails a coming request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Any status with Kiket's error body.
    Status {
        /// The status.
        status: u16,
        /// The message.
        message: String,
    },
    /// A 429 with this `Retry-After`.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// Answer normally after this long.
    Slow(Duration),
}

/// What a workflow guard answers for transitions into a state.
#[derive(Debug, Clone)]
pub enum Guard {
    /// Refuses with this message.
    Deny(String),
    /// Approval pending, with this message.
    Pending(String),
}

#[derive(Debug)]
struct FakeState {
    token: String,
    scopes: BTreeSet<String>,
    issues: Vec<Value>,
    workflow: Value,
    guards: BTreeMap<String, Guard>,
    sla_events: Vec<Value>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    down: bool,
    budget: usize,
    window: (Instant, usize),
    next_comment: u64,
    base: String,
}

/// The fake server; stops when dropped.
pub struct FakeKiket {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKiket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeKiket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKiket")
            .field("base", &self.base)
            .finish()
    }
}

/// The default workflow: To Do → In Progress → Review → Done, back to To Do from
/// anywhere.
pub fn default_workflow() -> Value {
    json!({
        "key": "default",
        "name": "Default workflow",
        "states": [
            {"key": "todo", "name": "To Do", "category": "todo"},
            {"key": "in_progress", "name": "In Progress", "category": "in_progress"},
            {"key": "review", "name": "Review", "category": "in_progress"},
            {"key": "done", "name": "Done", "category": "done"}
        ],
        "transitions": [
            {"name": "Start", "from": "todo", "to": "in_progress"},
            {"name": "Request review", "from": "in_progress", "to": "review"},
            {"name": "Approve", "from": "review", "to": "done", "guarded": true},
            {"name": "Reopen", "from": "*", "to": "todo"}
        ]
    })
}

impl FakeKiket {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake Kiket");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            token: FAKE_TOKEN.into(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            issues: Vec::new(),
            workflow: default_workflow(),
            guards: BTreeMap::new(),
            sla_events: Vec::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            down: false,
            budget: 600,
            window: (Instant::now(), 0),
            next_comment: 1,
            base: base.clone(),
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKiket { base, state, task }
    }

    /// The service root (`http://127.0.0.1:<port>`), what setup takes as `baseUrl`.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an issue (`state` is a workflow state key); returns its key.
    pub fn add_issue(&self, key: &str, title: &str, state: &str) -> String {
        let mut s = self.lock();
        let id = s.issues.len() as u64 + 1;
        let url = format!("{}/projects/{FAKE_PROJECT}/issues/{key}", s.base);
        s.issues.push(json!({
            "id": id, "key": key, "title": title, "description": format!("About {title}"),
            "state": state, "labels": [], "assignee": null, "custom_fields": {},
            "parent_id": null, "url": url, "updated_at": "2026-01-01T00:00:00Z",
            "comments": []
        }));
        key.to_string()
    }

    /// Changes an issue's JSON.
    pub fn update_issue(&self, key: &str, change: impl FnOnce(&mut Value)) {
        let mut s = self.lock();
        if let Some(issue) = s.issues.iter_mut().find(|i| i["key"] == key) {
            change(issue);
        }
    }

    /// An issue's JSON as the fake holds it.
    pub fn issue(&self, key: &str) -> Option<Value> {
        self.lock().issues.iter().find(|i| i["key"] == key).cloned()
    }

    /// Sets the guard of transitions into `state` (`None` removes it).
    pub fn set_guard(&self, state: &str, guard: Option<Guard>) {
        let mut s = self.lock();
        match guard {
            Some(g) => s.guards.insert(state.to_string(), g),
            None => s.guards.remove(state),
        };
    }

    /// The scopes the token carries.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.lock().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// The requests a minute before 429s.
    pub fn set_budget(&self, per_minute: usize) {
        let mut s = self.lock();
        s.budget = per_minute;
        s.window = (Instant::now(), 0);
    }

    /// Adds an SLA alert.
    pub fn add_sla_event(&self, issue_id: u64, state: &str) {
        let mut s = self.lock();
        let id = s.sla_events.len() as u64 + 1;
        s.sla_events.push(json!({
            "id": id, "issue_id": issue_id, "definition_id": 7, "state": state,
            "duration_minutes": 105, "overdue_minutes": null,
            "created_at": format!("2026-01-01T00:{id:02}:00Z")
        }));
    }

    /// Fails the next request with `fault`.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Answers every request with 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// A webhook delivery as Kiket sends it: the JSON body and its headers
    /// (`X-Kiket-Signature`: hex HMAC-SHA256 of the body with `secret`,
    /// `X-Kiket-Timestamp`: now in Unix seconds, `X-Kiket-Event-Version`).
    pub fn webhook(secret: &str, payload: &Value) -> (Vec<u8>, Vec<(&'static str, String)>) {
        let body = serde_json::to_vec(payload).expect("a JSON payload");
        let signature = crate::kiket::webhook::sign(secret.as_bytes(), &body);
        let now = chrono::Utc::now().timestamp().to_string();
        (
            body,
            vec![
                ("x-kiket-signature", signature),
                ("x-kiket-timestamp", now),
                ("x-kiket-event-version", "v1".to_string()),
            ],
        )
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": {"code": code, "message": message}}))
}

fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-decoding of a query or path component (`+` is a space).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(State(shared): State<Arc<Mutex<FakeState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let fault = shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .faults
        .pop_front();
    if let Some(Fault::Slow(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string());
    let mut retry_after = None;
    let (status, value) = if state.down {
        error(503, "unavailable", "Kiket is down for maintenance")
    } else {
        match fault {
            Some(Fault::Status { status, message }) => error(status, "fault", &message),
            Some(Fault::RateLimited { retry_after: secs }) => {
                retry_after = Some(secs);
                error(429, "rate_limited", "Rate limit exceeded")
            }
            _ => {
                let (started, _) = state.window;
                if started.elapsed() >= Duration::from_secs(60) {
                    state.window = (Instant::now(), 0);
                }
                if state.window.1 >= state.budget {
                    let wait = 60u64
                        .saturating_sub(state.window.0.elapsed().as_secs())
                        .max(1);
                    retry_after = Some(wait);
                    error(
                        429,
                        "rate_limited",
                        "Rate limit exceeded: 600 requests per minute",
                    )
                } else {
                    state.window.1 += 1;
                    answer(&mut state, &parts.method, &parts.uri, &parts.headers, &body)
                }
            }
        }
    };
    state.requests.push(Recorded {
        method: parts.method.to_string(),
        uri,
        status,
    });
    let remaining = state.budget.saturating_sub(state.window.1);
    drop(state);
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(value),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-ratelimit-remaining",
        remaining.to_string().parse().expect("a header value"),
    );
    if let Some(secs) = retry_after {
        headers.insert(
            "retry-after",
            secs.to_string().parse().expect("a header value"),
        );
    }
    response
}

fn scope_for(method: &Method, segments: &[&str]) -> &'static str {
    match (method.as_str(), segments) {
        ("GET", ["projects", _, "workflows"]) => "read:workflows",
        ("POST", ["issues", _, "comments"]) => "write:comments",
        ("GET", _) => "read:issues",
        _ => "write:issues",
    }
}

fn answer(
    state: &mut FakeState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (u16, Value) {
    let Some(path) = uri.path().strip_prefix("/api/v1/ext/") else {
        return error(404, "not_found", "No such endpoint");
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == state.token);
    if !authorized {
        return error(401, "unauthorized", "Invalid or missing workspace token");
    }
    let segments: Vec<String> = path.split('/').map(decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let scope = scope_for(method, &segments);
    if !state.scopes.contains(scope) {
        return (
            403,
            json!({"error": {"code": "insufficient_scope",
                "message": format!("Missing required scope: {scope}"),
                "required_scope": scope}}),
        );
    }
    let query = query_pairs(uri);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let json_body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["issues"]) => {
            let per_page: usize = param("per_page").and_then(|v| v.parse().ok()).unwrap_or(25);
            if per_page == 0 || per_page > 100 {
                return error(
                    400,
                    "invalid_parameter",
                    "per_page must be between 1 and 100",
                );
            }
            let page: usize = param("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let assignee =
                param("assignee").map(|a| if a == "me" { FAKE_USER.to_string() } else { a });
            let matching: Vec<&Value> = state
                .issues
                .iter()
                .filter(|i| param("state").is_none_or(|s| i["state"] == s.as_str()))
                .filter(|i| {
                    param("label").is_none_or(|l| {
                        i["labels"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|x| x == l.as_str()))
                    })
                })
                .filter(|i| {
                    assignee
                        .as_ref()
                        .is_none_or(|a| i["assignee"] == a.as_str())
                })
                .filter(|i| {
                    query.iter().all(|(k, v)| {
                        match k
                            .strip_prefix("custom_fields[")
                            .and_then(|r| r.strip_suffix(']'))
                        {
                            Some(field) => i["custom_fields"][field] == v.as_str(),
                            None => true,
                        }
                    })
                })
                .collect();
            let total = matching.len();
            let data: Vec<Value> = matching
                .into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|i| {
                    let mut i = i.clone();
                    if let Some(o) = i.as_object_mut() {
                        o.remove("comments");
                    }
                    i
                })
                .collect();
            (
                200,
                json!({"data": data, "meta": {"page": page, "per_page": per_page, "total": total}}),
            )
        }
        ("GET", ["issues", key]) => match state.issues.iter().find(|i| i["key"] == *key) {
            Some(issue) => (200, json!({"data": issue})),
            None => error(404, "not_found", "Issue not found"),
        },
        ("PATCH", ["issues", key]) => {
            let Some(issue) = state.issues.iter_mut().find(|i| i["key"] == *key) else {
                return error(404, "not_found", "Issue not found");
            };
            let Some(fields) = json_body.as_object() else {
                return error(400, "invalid_json", "Expected a JSON object");
            };
            for (field, value) in fields {
                match field.as_str() {
                    "labels" if value.is_array() => issue["labels"] = value.clone(),
                    "assignee" | "parent_id" => issue[field.as_str()] = value.clone(),
                    "custom_fields" if value.is_object() => {
                        for (k, v) in value.as_object().into_iter().flatten() {
                            issue["custom_fields"][k.as_str()] = v.clone();
                        }
                    }
                    other => {
                        return error(
                            422,
                            "invalid_field",
                            &format!("Field {other} cannot be updated"),
                        );
                    }
                }
            }
            (200, json!({"data": issue}))
        }
        ("POST", ["issues", key, "comments"]) => {
            let text = json_body["body"].as_str().unwrap_or_default().to_string();
            if text.trim().is_empty() {
                return error(422, "invalid_comment", "Comment body can't be blank");
            }
            let id = state.next_comment;
            let Some(issue) = state.issues.iter_mut().find(|i| i["key"] == *key) else {
                return error(404, "not_found", "Issue not found");
            };
            let comment = json!({"id": id, "body": text, "author": FAKE_USER,
                "created_at": "2026-01-02T00:00:00Z"});
            if let Some(list) = issue["comments"].as_array_mut() {
                list.push(comment.clone());
            }
            state.next_comment += 1;
            (201, json!({"data": comment}))
        }
        ("POST", ["issues", key, "transitions"]) => {
            let Some(to) = json_body["to"].as_str().map(str::to_string) else {
                return error(400, "invalid_json", "to is required");
            };
            let Some(index) = state.issues.iter().position(|i| i["key"] == *key) else {
                return error(404, "not_found", "Issue not found");
            };
            let from = state.issues[index]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let allowed = state.workflow["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| {
                    let leaves = match &t["from"] {
                        Value::String(f) => f == "*" || *f == from,
                        Value::Array(fs) => fs.iter().any(|f| f == from.as_str()),
                        _ => true,
                    };
                    leaves && t["to"] == to.as_str()
                });
            if !allowed {
                return error(
                    422,
                    "invalid_transition",
                    &format!("No transition from {from} to {to}"),
                );
            }
            match state.guards.get(&to) {
                Some(Guard::Deny(message)) => return error(422, "guard_denied", message),
                Some(Guard::Pending(message)) => return error(409, "approval_pending", message),
                None => {}
            }
            state.issues[index]["state"] = Value::String(to);
            (200, json!({"data": state.issues[index]}))
        }
        ("GET", ["projects", slug, "workflows"]) => {
            if *slug != FAKE_PROJECT {
                return error(404, "not_found", "Project not found");
            }
            (200, json!({"data": [state.workflow]}))
        }
        ("GET", ["sla", "events"]) => {
            let limit: usize = param("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
            let data: Vec<Value> = state
                .sla_events
                .iter()
                .filter(|e| param("state").is_none_or(|s| e["state"] == s.as_str()))
                .filter(|e| param("issue_id").is_none_or(|id| e["issue_id"] == id))
                .take(limit)
                .cloned()
                .collect();
            (200, json!({"data": data}))
        }
        _ => error(404, "not_found", "No such endpoint"),
    }
}
