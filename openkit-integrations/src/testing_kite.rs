//! Test support (feature `testing`): [`FakeKite`], a fake Kite on 127.0.0.1 written from
//! Kite's REST API reference (`/api/v1`) and its ingest path (`/hooks/<team_id>/<source>/
//! <hook_token>`).
//!
//! Bearer endpoints check the API key (401 `{"error": "unauthorized", "message"}`), its
//! permission (read < write < admin, 403) and `team_id` (required, must be the key's
//! team). It keeps the team's webhook config (the secret is stored, never returned),
//! retains events for `GET /events` (cursor `since` = `<created_at>[:<event_id>]`,
//! exclusive; `limit` clamped to 1..1000, default 100), takes agent messages (64 KiB JSON
//! limit, 413 beyond; 202 with the message id) and ingests CloudEvents through the hook
//! (token checked; a repeated CloudEvents `id` is acknowledged and not stored twice).
//! A per-minute budget answers 429 with `Retry-After`; faults (any status, 429, slow,
//! down = 503 for everything) can be injected. Every request is recorded.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::testing_kiket::decode;

/// The API key the fake accepts.
pub const FAKE_API_KEY: &str = "kite_fake_api_key";
/// The key's team.
pub const FAKE_TEAM: &str = "team-1";
/// The ingest hook token.
pub const FAKE_HOOK_TOKEN: &str = "khk_fake_hook_token";
/// The largest JSON body of an agent message.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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
    /// Any status with Kite's error body.
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

/// The API key's permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// Read endpoints.
    Read,
    /// Read and write endpoints.
    Write,
    /// Everything.
    Admin,
}

#[derive(Debug)]
struct FakeState {
    permission: Permission,
    webhook: Option<(Value, String)>,
    events: Vec<Value>,
    ingested: Vec<Value>,
    ingested_ids: BTreeSet<String>,
    duplicates: usize,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    down: bool,
    budget: usize,
    window: (Instant, usize),
    seq: u64,
    max_payload: usize,
}

/// The fake server; stops when dropped.
pub struct FakeKite {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeKite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKite")
            .field("base", &self.base)
            .finish()
    }
}

impl FakeKite {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake Kite");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            permission: Permission::Admin,
            webhook: None,
            events: Vec::new(),
            ingested: Vec::new(),
            ingested_ids: BTreeSet::new(),
            duplicates: 0,
            requests: Vec::new(),
            faults: VecDeque::new(),
            down: false,
            budget: 600,
            window: (Instant::now(), 0),
            seq: 0,
            max_payload: 256 * 1024,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKite { base, state, task }
    }

    /// The service root (`http://127.0.0.1:<port>`), what setup takes as `baseUrl`.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Another agent sends `body` to `to` (it shows in `GET /events`); returns the
    /// message id.
    pub fn inject_message(&self, from: &str, to: &str, body: &str) -> String {
        let mut s = self.lock();
        retain_message(
            &mut s,
            &json!({"from": from, "to": to, "body": body, "thread_id": "thread-1"}),
        )
        .0
    }

    /// CloudEvents taken through the hook, in order, each once.
    pub fn ingested(&self) -> Vec<Value> {
        self.lock().ingested.clone()
    }

    /// Hook deliveries of an id already taken.
    pub fn duplicates(&self) -> usize {
        self.lock().duplicates
    }

    /// The stored webhook secret (Kite never returns it; tests check it arrived).
    pub fn webhook_secret(&self) -> Option<String> {
        self.lock().webhook.as_ref().map(|(_, s)| s.clone())
    }

    /// The API key's permission.
    pub fn set_permission(&self, permission: Permission) {
        self.lock().permission = permission;
    }

    /// Requests a minute before 429s.
    pub fn set_budget(&self, per_minute: usize) {
        let mut s = self.lock();
        s.budget = per_minute;
        s.window = (Instant::now(), 0);
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
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": code, "message": message}))
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

fn next_id(s: &mut FakeState) -> String {
    s.seq += 1;
    format!("01900000-0000-7000-8000-{:012}", s.seq)
}

/// Retains an event; returns its event id and time.
fn retain(s: &mut FakeState, event: Value) -> (String, String) {
    let event_id = next_id(s);
    let created_at = now();
    s.events
        .push(json!({"event_id": event_id, "created_at": created_at, "event": event}));
    (event_id, created_at)
}

fn retain_message(s: &mut FakeState, message: &Value) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let event = json!({
        "specversion": "1.0", "id": id, "type": "com.kite.agent.message",
        "source": "kite", "time": chrono::Utc::now().to_rfc3339(),
        "data": message,
    });
    let (event_id, created_at) = retain(s, event);
    let _ = event_id;
    (id, created_at)
}

async fn handle(State(shared): State<Arc<Mutex<FakeState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 4 << 20)
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
        error(503, "unavailable", "Kite is unavailable")
    } else {
        match fault {
            Some(Fault::Status { status, message }) => error(status, "fault", &message),
            Some(Fault::RateLimited { retry_after: secs }) => {
                retry_after = Some(secs);
                error(429, "rate_limited", "Rate limit exceeded")
            }
            _ => {
                if state.window.0.elapsed() >= Duration::from_secs(60) {
                    state.window = (Instant::now(), 0);
                }
                if state.window.1 >= state.budget {
                    retry_after = Some(
                        60u64
                            .saturating_sub(state.window.0.elapsed().as_secs())
                            .max(1),
                    );
                    error(429, "rate_limited", "Rate limit exceeded")
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
    drop(state);
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(value),
    )
        .into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(
            "retry-after",
            secs.to_string().parse().expect("a header value"),
        );
    }
    response
}

fn answer(
    state: &mut FakeState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (u16, Value) {
    let segments: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["hooks", team, source, token] = segments.as_slice() {
        if method != Method::POST {
            return error(405, "method_not_allowed", "POST only");
        }
        if *token != FAKE_HOOK_TOKEN {
            return error(401, "unauthorized", "Invalid hook token");
        }
        if *team != FAKE_TEAM || source.is_empty() {
            return error(404, "not_found", "Unknown endpoint");
        }
        if body.len() > state.max_payload {
            return error(
                413,
                "payload_too_large",
                "Event exceeds the plan's payload limit",
            );
        }
        let Ok(event) = serde_json::from_slice::<Value>(body) else {
            return error(400, "invalid_json", "Body is not JSON");
        };
        let id = event["id"].as_str().map(str::to_string);
        if let Some(id) = &id
            && !state.ingested_ids.insert(id.clone())
        {
            state.duplicates += 1;
            return (200, json!({"ok": true, "duplicate": true}));
        }
        state.ingested.push(event.clone());
        let (event_id, _) = retain(state, event);
        return (202, json!({"ok": true, "event_id": event_id}));
    }
    let ["api", "v1", rest @ ..] = segments.as_slice() else {
        return error(404, "not_found", "Not found");
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| k == FAKE_API_KEY);
    if !authorized {
        return error(401, "unauthorized", "Invalid or expired API key");
    }
    let query: Vec<(String, String)> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match param("team_id") {
        None => return error(400, "bad_request", "team_id is required"),
        Some(team) if team != FAKE_TEAM => {
            return error(403, "forbidden", "team_id does not match the API key");
        }
        _ => {}
    }
    let needed = if *method == Method::GET {
        Permission::Read
    } else {
        Permission::Write
    };
    if state.permission < needed {
        return error(403, "forbidden", "Insufficient permissions");
    }
    match (method.as_str(), rest) {
        ("GET", ["webhook-config"]) => match &state.webhook {
            Some((config, _)) => (200, config.clone()),
            None => error(404, "not_found", "No active webhook config found"),
        },
        ("PUT", ["webhook-config"]) => {
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return error(400, "bad_request", "Invalid JSON");
            };
            let (Some(url), Some(secret)) = (request["url"].as_str(), request["secret"].as_str())
            else {
                return error(400, "bad_request", "url and secret are required");
            };
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return error(400, "bad_request", "url must be an http(s) URL");
            }
            let config = json!({
                "id": "wh-1", "team_id": FAKE_TEAM, "url": url, "active": true,
                "event_types": request["event_types"].as_array().cloned().unwrap_or_default(),
                "created_at": "2026-01-01T00:00:00Z", "updated_at": now(),
            });
            state.webhook = Some((config.clone(), secret.to_string()));
            (
                200,
                json!({"id": config["id"], "team_id": FAKE_TEAM, "url": url,
                    "event_types": config["event_types"], "active": true}),
            )
        }
        ("DELETE", ["webhook-config"]) => match state.webhook.take() {
            Some(_) => (200, json!({"ok": true})),
            None => error(404, "not_found", "No active webhook config found"),
        },
        ("GET", ["events"]) => {
            let limit = param("limit")
                .and_then(|l| l.parse::<i64>().ok())
                .unwrap_or(100)
                .clamp(1, 1000) as usize;
            let since = param("since");
            let after = |e: &Value| -> bool {
                let Some(since) = &since else { return true };
                let created = e["created_at"].as_str().unwrap_or_default();
                let id = e["event_id"].as_str().unwrap_or_default();
                // `<timestamp>[:<event_id>]`: the id has dashes and no colon.
                match since.rsplit_once(':') {
                    Some((ts, sid)) if sid.contains('-') => (created, id) > (ts, sid),
                    _ => created > since.as_str(),
                }
            };
            let events: Vec<Value> = state
                .events
                .iter()
                .filter(|e| after(e))
                .take(limit)
                .cloned()
                .collect();
            (200, json!({"events": events}))
        }
        ("POST", ["agents", "messages"]) => {
            if body.len() > MAX_MESSAGE_BYTES {
                return error(413, "payload_too_large", "Message body exceeds 64 KiB");
            }
            let Ok(message) = serde_json::from_slice::<Value>(body) else {
                return error(400, "bad_request", "Invalid JSON");
            };
            let non_empty = |k: &str| message[k].as_str().is_some_and(|v| !v.is_empty());
            if !non_empty("from") || !non_empty("to") || !message["body"].is_string() {
                return error(400, "bad_request", "from, to and body are required");
            }
            let (id, created_at) = retain_message(state, &message);
            (
                202,
                json!({"id": id, "created_at": created_at, "from": message["from"],
                    "to": message["to"],
                    "usage": {"events_used": state.events.len(), "events_limit": 100000,
                        "amount_charged_atomic": 0}}),
            )
        }
        _ => error(404, "not_found", "Not found"),
    }
}
