//! Test support (feature `testing`): a fake Kizuna server on 127.0.0.1, written from
//! `../shared/reference/kizuna-rest-api.txt`.
//!
//! It serves `/api/v1` with bearer-token auth (`401 UNAUTHORIZED` otherwise), the
//! documented resources for one repository (issues, pull requests, pipelines) and the
//! agents, pages lists with `page`/`per_page` (default 30, at most 100) and a relative
//! `Link` header (`rel="next"`, `rel="last"`) as the reference shows, filters issues by
//! `state` and `labels`, pull requests by `state`, pipelines by `ref`; answers every
//! failure with Kizuna's envelope `{"error": {"code", "message", "details"}}`
//! (`NOT_FOUND`, `VALIDATION_ERROR` 422 for missing fields, duplicates, merging a draft or
//! a closed pull request, canceling a finished pipeline), sends `X-RateLimit-*` on every
//! answer, and can be told to fail coming requests (429 `RATE_LIMITED` with
//! `Retry-After`, any status, 401, a slow answer). Registering an agent returns its token
//! once; listing never shows it. Every request is recorded with its body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::testing::timestamp;

/// The token the fake accepts.
pub const FAKE_KIZUNA_TOKEN: &str = "kzn_FakeTokenForOpenKitTests0123456789";
/// The organisation the fake serves.
pub const FAKE_ORG: &str = "acme";
/// The repository the fake serves.
pub const FAKE_REPO: &str = "widgets";
/// The documented rate limit of authenticated requests (per hour).
pub const RATE_LIMIT: u64 = 5000;

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KizunaRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The request body (UTF-8, lossy).
    pub body: String,
    /// Whether an `Authorization` header came with it.
    pub authorized: bool,
    /// The status answered.
    pub status: u16,
}

/// How the fake should fail a coming request.
#[derive(Debug, Clone)]
pub enum KizunaFault {
    /// 429 `RATE_LIMITED` with `Retry-After` and `X-RateLimit-Remaining: 0`.
    RateLimited {
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// Any status with Kizuna's envelope.
    Status {
        /// The status.
        status: u16,
        /// The envelope's code.
        code: String,
        /// The envelope's message.
        message: String,
    },
    /// Answer normally, but report the budget spent: `X-RateLimit-Remaining: 0` and a
    /// reset `reset_in` from now.
    Exhausted {
        /// Until the reset.
        reset_in: Duration,
    },
    /// Answer normally after this long.
    Slow(Duration),
}

/// An issue in the fake.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// `open` or `closed`.
    pub state: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignees.
    pub assignees: Vec<String>,
    updated: u64,
}

/// A pull request in the fake.
#[derive(Debug, Clone)]
pub struct FakePullRequest {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// `open`, `closed` or `merged`.
    pub state: String,
    /// Draft.
    pub draft: bool,
    /// Head branch.
    pub head: String,
    /// Base branch.
    pub base: String,
    /// Merge method used, once merged.
    pub merge_method: Option<String>,
    updated: u64,
}

/// A pipeline in the fake.
#[derive(Debug, Clone)]
pub struct FakePipeline {
    /// Id.
    pub id: u64,
    /// Branch.
    pub git_ref: String,
    /// `pending`, `running`, `success`, `failed` or `canceled`.
    pub status: String,
    updated: u64,
}

/// An agent in the fake (with the token it was given).
#[derive(Debug, Clone)]
pub struct FakeAgent {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The token returned at registration.
    pub token: String,
    created: u64,
}

#[derive(Debug)]
struct FakeState {
    base: String,
    issues: Vec<FakeIssue>,
    pulls: Vec<FakePullRequest>,
    pipelines: Vec<FakePipeline>,
    agents: Vec<FakeAgent>,
    requests: Vec<KizunaRequest>,
    faults: VecDeque<KizunaFault>,
    remaining: u64,
    reset_in: Option<Duration>,
    max_per_page: usize,
    clock: u64,
    next_pull: u64,
    next_pipeline: u64,
}

impl FakeState {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// The fake server; stops when dropped.
pub struct FakeKizuna {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKizuna {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeKizuna {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKizuna")
            .field("base", &self.base)
            .finish()
    }
}

impl FakeKizuna {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake Kizuna");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            base: base.clone(),
            issues: Vec::new(),
            pulls: Vec::new(),
            pipelines: Vec::new(),
            agents: Vec::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            remaining: RATE_LIMIT,
            reset_in: None,
            max_per_page: 100,
            clock: 0,
            next_pull: 0,
            next_pipeline: 0,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKizuna { base, state, task }
    }

    /// The service's root (`http://127.0.0.1:<port>`): what setup takes as `baseUrl`.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an open issue; returns its number.
    pub fn add_issue(&self, title: &str, labels: &[&str], assignees: &[&str]) -> u64 {
        let mut s = self.lock();
        let updated = s.tick();
        let number = s.issues.len() as u64 + 1;
        s.issues.push(FakeIssue {
            number,
            title: title.into(),
            body: format!("Body of {title}"),
            state: "open".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            assignees: assignees.iter().map(|a| a.to_string()).collect(),
            updated,
        });
        number
    }

    /// The issues.
    pub fn issues(&self) -> Vec<FakeIssue> {
        self.lock().issues.clone()
    }

    /// Adds a pull request; returns its number.
    pub fn add_pull(&self, head: &str, draft: bool) -> u64 {
        let mut s = self.lock();
        let updated = s.tick();
        s.next_pull += 1;
        let number = 1000 + s.next_pull;
        s.pulls.push(FakePullRequest {
            number,
            title: format!("Pull {head}"),
            body: None,
            state: "open".into(),
            draft,
            head: head.into(),
            base: "main".into(),
            merge_method: None,
            updated,
        });
        number
    }

    /// The pull requests.
    pub fn pulls(&self) -> Vec<FakePullRequest> {
        self.lock().pulls.clone()
    }

    /// Adds a pipeline on `git_ref` with `status`; returns its id.
    pub fn add_pipeline(&self, git_ref: &str, status: &str) -> u64 {
        let mut s = self.lock();
        let updated = s.tick();
        s.next_pipeline += 1;
        let id = s.next_pipeline;
        s.pipelines.push(FakePipeline {
            id,
            git_ref: git_ref.into(),
            status: status.into(),
            updated,
        });
        id
    }

    /// The pipelines.
    pub fn pipelines(&self) -> Vec<FakePipeline> {
        self.lock().pipelines.clone()
    }

    /// The agents (with their tokens).
    pub fn agents(&self) -> Vec<FakeAgent> {
        self.lock().agents.clone()
    }

    /// Lowers the page size the fake allows (100, as documented, by default), so tests
    /// page through a few items.
    pub fn set_max_per_page(&self, max: usize) {
        self.lock().max_per_page = max.max(1);
    }

    /// Fails the next request with `fault` (queued after earlier ones).
    pub fn fail_next(&self, fault: KizunaFault) {
        self.lock().faults.push_back(fault);
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<KizunaRequest> {
        self.lock().requests.clone()
    }
}

fn kizuna_error(code: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "details": details}})
}

type Answer = (StatusCode, HeaderMap, Option<Value>);

fn error(status: StatusCode, code: &str, message: &str) -> Answer {
    (
        status,
        HeaderMap::new(),
        Some(kizuna_error(code, message, json!({}))),
    )
}

fn invalid(message: &str, details: Value) -> Answer {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        HeaderMap::new(),
        Some(kizuna_error("VALIDATION_ERROR", message, details)),
    )
}

fn not_found(what: &str) -> Answer {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("{what} not found"),
    )
}

fn ok(status: StatusCode, body: Value) -> Answer {
    (status, HeaderMap::new(), Some(body))
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
    if let Some(KizunaFault::Slow(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    let mut state = shared.lock().unwrap_or_else(|e| e.into_inner());
    let uri = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string());
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let authorized = authorization.is_some();
    let (status, mut headers, answer_body) =
        if authorization != Some(format!("Bearer {FAKE_KIZUNA_TOKEN}").as_str()) {
            error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid or missing token",
            )
        } else {
            match fault {
                Some(KizunaFault::RateLimited { retry_after }) => {
                    state.remaining = 0;
                    let mut h = HeaderMap::new();
                    h.insert(
                        "retry-after",
                        HeaderValue::from_str(&retry_after.to_string()).expect("header"),
                    );
                    let (s, _, b) = error(
                        StatusCode::TOO_MANY_REQUESTS,
                        "RATE_LIMITED",
                        "Too many requests",
                    );
                    (s, h, b)
                }
                Some(KizunaFault::Status {
                    status,
                    code,
                    message,
                }) => error(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    &code,
                    &message,
                ),
                Some(KizunaFault::Exhausted { reset_in }) => {
                    state.remaining = 0;
                    state.reset_in = Some(reset_in);
                    let json: Option<Value> = serde_json::from_slice(&body).ok();
                    route(&mut state, &parts.method, &parts.uri, json)
                }
                _ => {
                    state.remaining = state.remaining.saturating_sub(1).max(1);
                    state.reset_in = None;
                    let json: Option<Value> = serde_json::from_slice(&body).ok();
                    route(&mut state, &parts.method, &parts.uri, json)
                }
            }
        };
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + state.reset_in.map_or(3600, |d| d.as_secs().max(1));
    for (k, v) in [
        ("x-ratelimit-limit", RATE_LIMIT.to_string()),
        ("x-ratelimit-remaining", state.remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        headers.insert(k, HeaderValue::from_str(&v).expect("header"));
    }
    state.requests.push(KizunaRequest {
        method: parts.method.to_string(),
        uri,
        body: String::from_utf8_lossy(&body).into_owned(),
        authorized,
        status: status.as_u16(),
    });
    drop(state);
    let mut response = match answer_body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    response.headers_mut().extend(headers);
    response
}

fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), percent_decode(v))
        })
        .collect()
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// One page of `items` with the reference's relative `Link` header.
fn page(max_per_page: usize, uri: &axum::http::Uri, items: Vec<Value>) -> Answer {
    let pairs = query_pairs(uri);
    let per_page: usize = param(&pairs, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, max_per_page);
    let page: usize = param(&pairs, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut headers = HeaderMap::new();
    let link_to = |n: usize| {
        let mut query: Vec<String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .map(str::to_string)
            .collect();
        query.push(format!("page={n}"));
        format!("<{}?{}>", uri.path(), query.join("&"))
    };
    if page < last {
        let link = format!(
            "{}; rel=\"next\", {}; rel=\"last\"",
            link_to(page + 1),
            link_to(last)
        );
        headers.insert("link", HeaderValue::from_str(&link).expect("header"));
    }
    (StatusCode::OK, headers, Some(Value::Array(body)))
}

fn issue_json(base: &str, i: &FakeIssue) -> Value {
    json!({
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "labels": i.labels,
        "assignees": i.assignees,
        "author": "octo",
        "url": format!("{base}/{FAKE_ORG}/{FAKE_REPO}/issues/{}", i.number),
        "created_at": timestamp(0),
        "updated_at": timestamp(i.updated),
    })
}

fn pull_json(base: &str, p: &FakePullRequest) -> Value {
    json!({
        "number": p.number,
        "title": p.title,
        "body": p.body,
        "state": p.state,
        "draft": p.draft,
        "head": p.head,
        "base": p.base,
        "url": format!("{base}/{FAKE_ORG}/{FAKE_REPO}/pulls/{}", p.number),
        "updated_at": timestamp(p.updated),
    })
}

fn pipeline_json(base: &str, p: &FakePipeline) -> Value {
    json!({
        "id": p.id,
        "ref": p.git_ref,
        "status": p.status,
        "sha": format!("{:040x}", p.id),
        "url": format!("{base}/{FAKE_ORG}/{FAKE_REPO}/pipelines/{}", p.id),
        "created_at": timestamp(p.updated),
        "updated_at": timestamp(p.updated),
    })
}

fn agent_json(a: &FakeAgent) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "status": "active",
        "created_at": timestamp(a.created),
    })
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn route(s: &mut FakeState, method: &Method, uri: &axum::http::Uri, body: Option<Value>) -> Answer {
    let Some(rest) = uri.path().strip_prefix("/api/v1/") else {
        return not_found("Route");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let body = body.unwrap_or(Value::Null);
    let base = s.base.clone();
    match segments.as_slice() {
        ["agents"] => agents(s, method, uri, &body),
        ["agents", id] => match (method, s.agents.iter_mut().find(|a| a.id == *id)) {
            (_, None) => not_found("Agent"),
            (&Method::GET, Some(a)) => ok(StatusCode::OK, agent_json(a)),
            (&Method::PATCH, Some(a)) => {
                if let Some(name) = body["name"].as_str() {
                    a.name = name.into();
                }
                if let Some(d) = body["description"].as_str() {
                    a.description = Some(d.into());
                }
                ok(StatusCode::OK, agent_json(a))
            }
            _ => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "NOT_FOUND",
                "Method not allowed",
            ),
        },
        ["repos", org, repo, tail @ ..] => {
            if *org != FAKE_ORG || *repo != FAKE_REPO {
                return not_found("Repository");
            }
            match (method, tail) {
                (&Method::GET, []) => ok(
                    StatusCode::OK,
                    json!({"full_name": format!("{FAKE_ORG}/{FAKE_REPO}"), "default_branch": "main"}),
                ),
                (_, ["issues", ..]) => issues(s, &base, method, uri, &tail[1..], &body),
                (_, ["pulls", ..]) => pulls(s, &base, method, uri, &tail[1..], &body),
                (_, ["pipelines", ..]) => pipelines(s, &base, method, uri, &tail[1..], &body),
                _ => not_found("Route"),
            }
        }
        _ => not_found("Route"),
    }
}

fn agents(s: &mut FakeState, method: &Method, uri: &axum::http::Uri, body: &Value) -> Answer {
    match *method {
        Method::GET => {
            let list = s.agents.iter().map(agent_json).collect();
            page(s.max_per_page, uri, list)
        }
        Method::POST => {
            let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
                return invalid(
                    "Invalid request parameters",
                    json!({"name": ["is required"]}),
                );
            };
            if s.agents.iter().any(|a| a.name == name) {
                return invalid(
                    "Invalid request parameters",
                    json!({"name": ["has already been taken"]}),
                );
            }
            let created = s.tick();
            let n = s.agents.len() + 1;
            let agent = FakeAgent {
                id: format!("agt_{n}"),
                name: name.into(),
                description: body["description"].as_str().map(str::to_string),
                token: format!("kza_secret_{n}_{created:08x}"),
                created,
            };
            let mut json = agent_json(&agent);
            json["token"] = Value::String(agent.token.clone());
            s.agents.push(agent);
            ok(StatusCode::CREATED, json)
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "NOT_FOUND",
            "Method not allowed",
        ),
    }
}

fn issues(
    s: &mut FakeState,
    base: &str,
    method: &Method,
    uri: &axum::http::Uri,
    tail: &[&str],
    body: &Value,
) -> Answer {
    match (method, tail) {
        (&Method::GET, []) => {
            let pairs = query_pairs(uri);
            let state = param(&pairs, "state").unwrap_or("open");
            let labels: Vec<&str> = param(&pairs, "labels")
                .map(|l| l.split(',').filter(|x| !x.is_empty()).collect())
                .unwrap_or_default();
            let list = s
                .issues
                .iter()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
                .map(|i| issue_json(base, i))
                .collect();
            page(s.max_per_page, uri, list)
        }
        (&Method::POST, []) => {
            let Some(title) = body["title"].as_str().filter(|t| !t.trim().is_empty()) else {
                return invalid(
                    "Invalid request parameters",
                    json!({"title": ["is required"]}),
                );
            };
            let updated = s.tick();
            let number = s.issues.len() as u64 + 1;
            let issue = FakeIssue {
                number,
                title: title.into(),
                body: body["body"].as_str().unwrap_or_default().into(),
                state: "open".into(),
                labels: string_list(&body["labels"]).unwrap_or_default(),
                assignees: Vec::new(),
                updated,
            };
            let json = issue_json(base, &issue);
            s.issues.push(issue);
            ok(StatusCode::CREATED, json)
        }
        (_, [number]) => {
            let tick = s.tick();
            let Some(issue) = s.issues.iter_mut().find(|i| number.parse() == Ok(i.number)) else {
                return not_found("Issue");
            };
            match *method {
                Method::GET => ok(StatusCode::OK, issue_json(base, issue)),
                Method::PATCH => {
                    if let Some(state) = body.get("state").and_then(Value::as_str) {
                        if state != "open" && state != "closed" {
                            return invalid(
                                "Invalid request parameters",
                                json!({"state": ["must be open or closed"]}),
                            );
                        }
                        issue.state = state.into();
                    }
                    if let Some(title) = body.get("title").and_then(Value::as_str) {
                        issue.title = title.into();
                    }
                    if let Some(text) = body.get("body").and_then(Value::as_str) {
                        issue.body = text.into();
                    }
                    if let Some(labels) = body.get("labels").and_then(string_list) {
                        issue.labels = labels;
                    }
                    if let Some(assignees) = body.get("assignees").and_then(string_list) {
                        issue.assignees = assignees;
                    }
                    issue.updated = tick;
                    ok(StatusCode::OK, issue_json(base, issue))
                }
                _ => error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "NOT_FOUND",
                    "Method not allowed",
                ),
            }
        }
        _ => not_found("Route"),
    }
}

fn pulls(
    s: &mut FakeState,
    base: &str,
    method: &Method,
    uri: &axum::http::Uri,
    tail: &[&str],
    body: &Value,
) -> Answer {
    match (method, tail) {
        (&Method::GET, []) => {
            let pairs = query_pairs(uri);
            let state = param(&pairs, "state").unwrap_or("open");
            let list = s
                .pulls
                .iter()
                .filter(|p| state == "all" || p.state == state)
                .map(|p| pull_json(base, p))
                .collect();
            page(s.max_per_page, uri, list)
        }
        (&Method::POST, []) => {
            let mut missing = serde_json::Map::new();
            for field in ["title", "head", "base"] {
                if body[field].as_str().is_none_or(|v| v.trim().is_empty()) {
                    missing.insert(field.into(), json!(["is required"]));
                }
            }
            if !missing.is_empty() {
                return invalid("Invalid request parameters", Value::Object(missing));
            }
            let head = body["head"].as_str().unwrap_or_default().to_string();
            let target = body["base"].as_str().unwrap_or_default().to_string();
            if head == target {
                return invalid(
                    "Invalid request parameters",
                    json!({"head": ["must differ from base"]}),
                );
            }
            if s.pulls.iter().any(|p| p.head == head && p.state == "open") {
                return invalid(
                    "A pull request for this branch is already open",
                    json!({"head": ["already has an open pull request"]}),
                );
            }
            let updated = s.tick();
            s.next_pull += 1;
            let pull = FakePullRequest {
                number: 1000 + s.next_pull,
                title: body["title"].as_str().unwrap_or_default().into(),
                body: body["body"].as_str().map(str::to_string),
                state: "open".into(),
                draft: body["draft"].as_bool().unwrap_or(false),
                head,
                base: target,
                merge_method: None,
                updated,
            };
            let json = pull_json(base, &pull);
            s.pulls.push(pull);
            ok(StatusCode::CREATED, json)
        }
        (_, [number, rest @ ..]) => {
            let tick = s.tick();
            let Some(pull) = s.pulls.iter_mut().find(|p| number.parse() == Ok(p.number)) else {
                return not_found("Pull request");
            };
            match (method, rest) {
                (&Method::GET, []) => ok(StatusCode::OK, pull_json(base, pull)),
                (&Method::POST, ["merge"]) => {
                    if pull.state != "open" {
                        return invalid(
                            "Pull request is not open",
                            json!({"state": [format!("is {}", pull.state)]}),
                        );
                    }
                    if pull.draft {
                        return invalid(
                            "Draft pull requests cannot be merged",
                            json!({"draft": ["must be false to merge"]}),
                        );
                    }
                    let method = body["method"].as_str().unwrap_or("merge").to_string();
                    pull.state = "merged".into();
                    pull.merge_method = Some(method);
                    pull.updated = tick;
                    ok(
                        StatusCode::OK,
                        json!({"merged": true, "sha": format!("{:040x}", pull.number), "message": "Pull request merged"}),
                    )
                }
                _ => not_found("Route"),
            }
        }
        _ => not_found("Route"),
    }
}

fn pipelines(
    s: &mut FakeState,
    base: &str,
    method: &Method,
    uri: &axum::http::Uri,
    tail: &[&str],
    body: &Value,
) -> Answer {
    match (method, tail) {
        (&Method::GET, []) => {
            let pairs = query_pairs(uri);
            let git_ref = param(&pairs, "ref");
            let status = param(&pairs, "status");
            let list = s
                .pipelines
                .iter()
                .rev()
                .filter(|p| git_ref.is_none_or(|r| p.git_ref == r))
                .filter(|p| status.is_none_or(|st| p.status == st))
                .map(|p| pipeline_json(base, p))
                .collect();
            page(s.max_per_page, uri, list)
        }
        (&Method::POST, []) => {
            let Some(git_ref) = body["ref"].as_str().filter(|r| !r.trim().is_empty()) else {
                return invalid(
                    "Invalid request parameters",
                    json!({"ref": ["is required"]}),
                );
            };
            let updated = s.tick();
            s.next_pipeline += 1;
            let pipeline = FakePipeline {
                id: s.next_pipeline,
                git_ref: git_ref.into(),
                status: "pending".into(),
                updated,
            };
            let json = pipeline_json(base, &pipeline);
            s.pipelines.push(pipeline);
            ok(StatusCode::CREATED, json)
        }
        (_, [id, rest @ ..]) => {
            let tick = s.tick();
            let Some(pipeline) = s.pipelines.iter_mut().find(|p| id.parse() == Ok(p.id)) else {
                return not_found("Pipeline");
            };
            match (method, rest) {
                (&Method::GET, []) => ok(StatusCode::OK, pipeline_json(base, pipeline)),
                (&Method::POST, ["cancel"]) => {
                    if !matches!(pipeline.status.as_str(), "pending" | "running") {
                        return invalid(
                            "Pipeline is not running",
                            json!({"status": [format!("is {}", pipeline.status)]}),
                        );
                    }
                    pipeline.status = "canceled".into();
                    pipeline.updated = tick;
                    ok(StatusCode::OK, pipeline_json(base, pipeline))
                }
                _ => not_found("Route"),
            }
        }
        _ => not_found("Route"),
    }
}
