//! Test support (feature `testing`): [`FakeLinear`], Linear's GraphQL API on 127.0.0.1
//! for the operations OpenKit sends (`viewer`, `issues` with `filter`/`first`/`after`
//! and `pageInfo`, `issue(id:)` by identifier or id, `workflowStates` filtered by team,
//! `issuePriorityValues`, `issueUpdate`, `commentCreate`, `commentUpdate`,
//! `commentDelete`), plus an upload host at `/uploads/...`. The API key must be the
//! whole `Authorization` header (401 with Linear's `AUTHENTICATION_ERROR` otherwise);
//! unknown entities answer `issue: null` with an `Entity not found` error as Linear
//! does; faults (429 with `Retry-After`, any status, slow answers) can be queued. Every
//! request is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The API key the fake accepts.
pub const API_KEY: &str = "lin_api_FakeKeyForOpenKitTests";

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// The GraphQL root field asked for (`issues`, `issueUpdate`, ...), if any.
    pub operation: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// How the fake should fail a coming request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After`.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// Any status with a GraphQL error body.
    Status {
        /// The status.
        status: u16,
        /// The message.
        message: String,
    },
    /// Answer normally after this long.
    Slow(Duration),
}

/// The teams' workflow states: `(name, type, color)`.
pub const STATES: [(&str, &str, &str); 5] = [
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
];

/// An issue in the fake.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    /// UUID-like id.
    pub id: String,
    /// `ENG-1`.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Markdown.
    pub description: String,
    /// State name (one of [`STATES`]).
    pub state: String,
    /// 0..=4.
    pub priority: u8,
    /// Assigned to the user.
    pub assigned_to_me: bool,
    /// Labels.
    pub labels: Vec<String>,
    /// Comments: `(id, body)`.
    pub comments: Vec<(String, String)>,
    /// Attachments: `(id, title, url)`.
    pub attachments: Vec<(String, String, String)>,
    /// Update sequence.
    pub updated: u64,
}

#[derive(Debug)]
struct FakeState {
    base: String,
    issues: Vec<FakeIssue>,
    uploads: Vec<(String, String, Vec<u8>)>,
    redirect_uploads: Option<String>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    seq: u64,
}

/// The fake server; stops when dropped.
pub struct FakeLinear {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLinear {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeLinear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLinear")
            .field("base", &self.base)
            .finish()
    }
}

impl FakeLinear {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake Linear");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            base: base.clone(),
            issues: Vec::new(),
            uploads: Vec::new(),
            redirect_uploads: None,
            requests: Vec::new(),
            faults: VecDeque::new(),
            seq: 0,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLinear { base, state, task }
    }

    /// The GraphQL endpoint (`http://127.0.0.1:<port>/graphql`), for
    /// `OPENKIT_LINEAR_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/graphql", self.base)
    }

    /// The server's origin.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an issue `identifier` (team = its prefix) in `Todo`, assigned to the user.
    pub fn add_issue(&self, identifier: &str, title: &str) {
        self.add(FakeIssue {
            id: String::new(),
            identifier: identifier.into(),
            title: title.into(),
            description: String::new(),
            state: "Todo".into(),
            priority: 2,
            assigned_to_me: true,
            labels: Vec::new(),
            comments: Vec::new(),
            attachments: Vec::new(),
            updated: 0,
        });
    }

    /// Adds (or replaces) an issue; an empty id gets one.
    pub fn add(&self, mut issue: FakeIssue) {
        let mut state = self.lock();
        state.seq += 1;
        issue.updated = state.seq;
        if issue.id.is_empty() {
            issue.id = format!("00000000-0000-4000-8000-{:012}", state.seq);
        }
        state.issues.retain(|i| i.identifier != issue.identifier);
        state.issues.push(issue);
    }

    /// Changes an issue.
    pub fn update(&self, identifier: &str, change: impl FnOnce(&mut FakeIssue)) {
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        let issue = state
            .issues
            .iter_mut()
            .find(|i| i.identifier == identifier)
            .expect("the issue exists");
        change(issue);
        issue.updated = seq;
    }

    /// An issue as it is now.
    pub fn issue(&self, identifier: &str) -> Option<FakeIssue> {
        self.lock()
            .issues
            .iter()
            .find(|i| i.identifier == identifier)
            .cloned()
    }

    /// Uploads a file and attaches it to `identifier`; returns its URL.
    pub fn upload(&self, identifier: &str, title: &str, mime: &str, bytes: &[u8]) -> String {
        let mut state = self.lock();
        state.seq += 1;
        let path = format!("/uploads/{}/{title}", state.seq);
        let url = format!("{}{path}", state.base);
        let id = format!("att-{}", state.seq);
        state.uploads.push((path, mime.into(), bytes.to_vec()));
        let issue = state
            .issues
            .iter_mut()
            .find(|i| i.identifier == identifier)
            .expect("the issue exists");
        issue.attachments.push((id, title.into(), url.clone()));
        url
    }

    /// Makes the upload host redirect every file to `to`.
    pub fn redirect_uploads(&self, to: &str) {
        self.lock().redirect_uploads = Some(to.into());
    }

    /// Fails the next request with `fault`.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }
}

fn gql_error(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"message": message, "extensions": {"code": code, "userPresentableMessage": message}}]})),
    )
        .into_response()
}

/// The root field a query asks for.
fn operation(query: &str) -> Option<&'static str> {
    const FIELDS: [&str; 9] = [
        "issueUpdate",
        "commentCreate",
        "commentUpdate",
        "commentDelete",
        "issuePriorityValues",
        "workflowStates",
        "issues(",
        "issue(",
        "viewer",
    ];
    FIELDS
        .iter()
        .find(|f| query.contains(*f))
        .map(|f| f.trim_end_matches('('))
}

fn team(identifier: &str) -> &str {
    identifier.split('-').next().unwrap_or("")
}

fn state_type(name: &str) -> &'static str {
    STATES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, t, _)| *t)
        .unwrap_or("unstarted")
}

fn state_id(team: &str, name: &str) -> String {
    format!(
        "state-{team}-{}",
        name.to_ascii_lowercase().replace(' ', "-")
    )
}

const LABELS: [&str; 5] = ["No priority", "Urgent", "High", "Medium", "Low"];

fn issue_json(base: &str, i: &FakeIssue, detail: bool) -> Value {
    let team = team(&i.identifier);
    let mut v = json!({
        "id": i.id, "identifier": i.identifier, "title": i.title,
        "priority": i.priority, "priorityLabel": LABELS[usize::from(i.priority.min(4))],
        "url": format!("{base}/issue/{}", i.identifier),
        "updatedAt": format!("2025-01-01T00:00:{:02}.000Z", i.updated % 60),
        "state": {"id": state_id(team, &i.state), "name": i.state, "type": state_type(&i.state), "color": "#f2c94c"},
        "assignee": if i.assigned_to_me { json!({"name": "Lin Ear", "displayName": "lin"}) } else { Value::Null },
        "labels": {"nodes": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()},
        "team": {"id": format!("team-{team}"), "key": team, "name": team},
    });
    if detail {
        v["description"] = json!(i.description);
        v["createdAt"] = json!("2024-12-31T00:00:00.000Z");
        v["comments"] = json!({"nodes": i.comments.iter().map(|(id, body)| json!({
            "id": id, "body": body, "createdAt": "2025-01-01T10:00:00.000Z",
            "user": {"name": "Lin Ear", "displayName": "lin"},
        })).collect::<Vec<_>>()});
        v["attachments"] = json!({"nodes": i.attachments.iter().map(|(id, title, url)| json!({
            "id": id, "title": title, "url": url,
        })).collect::<Vec<_>>()});
    }
    v
}

fn matches(filter: &Value, i: &FakeIssue) -> bool {
    if filter["assignee"]["isMe"]["eq"] == true && !i.assigned_to_me {
        return false;
    }
    if let Some(excluded) = filter["state"]["type"]["nin"].as_array()
        && excluded.iter().any(|t| t == state_type(&i.state))
    {
        return false;
    }
    if let Some(any) = filter["or"].as_array() {
        let hit = any.iter().any(|clause| {
            let contains = |field: &str, text: &str| {
                clause[field]["containsIgnoreCase"]
                    .as_str()
                    .is_some_and(|q| text.to_lowercase().contains(&q.to_lowercase()))
            };
            contains("title", &i.title) || contains("description", &i.description)
        });
        if !hit {
            return false;
        }
    }
    true
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let auth = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or_default().to_string();
    let op = operation(&query);
    let fault = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .faults
        .pop_front();
    let response = match fault {
        Some(Fault::RateLimited { retry_after }) => {
            let mut r = gql_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                "RATELIMITED",
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after.to_string().parse().unwrap(),
            );
            r
        }
        Some(Fault::Status { status, message }) => gql_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &message,
            "INTERNAL_ERROR",
        ),
        Some(Fault::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            route(&state, &method, &path, auth.as_deref(), op, &body)
        }
        None => route(&state, &method, &path, auth.as_deref(), op, &body),
    };
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .requests
        .push(Recorded {
            method: method.to_string(),
            path,
            operation: op.map(str::to_string),
            status: response.status().as_u16(),
        });
    response
}

fn route(
    state: &Arc<Mutex<FakeState>>,
    method: &Method,
    path: &str,
    auth: Option<&str>,
    op: Option<&str>,
    body: &Value,
) -> Response {
    if auth != Some(API_KEY) {
        return gql_error(
            StatusCode::UNAUTHORIZED,
            "Authentication required, not authenticated",
            "AUTHENTICATION_ERROR",
        );
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if path.starts_with("/uploads/") && method == Method::GET {
        if let Some(to) = &s.redirect_uploads {
            return (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response();
        }
        return match s.uploads.iter().find(|(p, _, _)| p == path) {
            Some((_, mime, bytes)) => {
                ([(header::CONTENT_TYPE, mime.clone())], bytes.clone()).into_response()
            }
            None => (StatusCode::NOT_FOUND, "Not found").into_response(),
        };
    }
    if path != "/graphql" || method != Method::POST {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let vars = &body["variables"];
    let base = s.base.clone();
    let not_found = |what: &str| {
        axum::Json(json!({
            "data": null,
            "errors": [{"message": format!("Entity not found: {what}"),
                "extensions": {"code": "INVALID_INPUT", "userPresentableMessage": format!("Could not find referenced {what}.")}}],
        }))
        .into_response()
    };
    let data = match op {
        Some("viewer") => {
            json!({"viewer": {"id": "user-me", "name": "Lin Ear", "displayName": "lin", "email": "lin@example.com"}})
        }
        Some("issues") => {
            let first = vars["first"].as_u64().unwrap_or(50).clamp(1, 250) as usize;
            let start = vars["after"]
                .as_str()
                .and_then(|c| c.strip_prefix('c'))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let mut found: Vec<&FakeIssue> = s
                .issues
                .iter()
                .filter(|i| matches(&vars["filter"], i))
                .collect();
            found.sort_by_key(|i| std::cmp::Reverse(i.updated));
            let page: Vec<Value> = found
                .iter()
                .skip(start)
                .take(first)
                .map(|i| issue_json(&base, i, false))
                .collect();
            let end = start + page.len();
            json!({"issues": {"nodes": page, "pageInfo": {"hasNextPage": end < found.len(), "endCursor": format!("c{end}")}}})
        }
        Some("issue") => {
            let id = vars["id"].as_str().unwrap_or_default();
            match s.issues.iter().find(|i| i.identifier == id || i.id == id) {
                Some(i) => json!({"issue": issue_json(&base, i, true)}),
                None => return not_found("Issue"),
            }
        }
        Some("workflowStates") => {
            let teams: Vec<String> = match vars["filter"]["team"]["key"]["eq"].as_str() {
                Some(t) => vec![t.to_string()],
                None => {
                    let mut all: Vec<String> = s
                        .issues
                        .iter()
                        .map(|i| team(&i.identifier).to_string())
                        .collect();
                    all.sort();
                    all.dedup();
                    all
                }
            };
            let nodes: Vec<Value> = teams
                .iter()
                .flat_map(|t| {
                    STATES.iter().enumerate().map(move |(pos, (n, ty, c))| {
                        json!({"id": state_id(t, n), "name": n, "type": ty, "color": c, "position": pos})
                    })
                })
                .collect();
            json!({"workflowStates": {"nodes": nodes}})
        }
        Some("issuePriorityValues") => json!({"issuePriorityValues":
            LABELS.iter().enumerate().map(|(p, l)| json!({"priority": p, "label": l})).collect::<Vec<_>>()}),
        Some("issueUpdate") => {
            let id = vars["id"].as_str().unwrap_or_default().to_string();
            s.seq += 1;
            let seq = s.seq;
            let Some(i) = s
                .issues
                .iter_mut()
                .find(|i| i.identifier == id || i.id == id)
            else {
                return not_found("Issue");
            };
            let input = &vars["input"];
            if let Some(state_id_wanted) = input["stateId"].as_str() {
                let t = team(&i.identifier).to_string();
                match STATES
                    .iter()
                    .find(|(n, _, _)| state_id(&t, n) == state_id_wanted)
                {
                    Some((n, _, _)) => i.state = (*n).into(),
                    None => return not_found("WorkflowState"),
                }
            }
            if let Some(title) = input["title"].as_str() {
                i.title = title.into();
            }
            if let Some(d) = input["description"].as_str() {
                i.description = d.into();
            }
            i.updated = seq;
            json!({"issueUpdate": {"success": true}})
        }
        Some("commentCreate") => {
            let input = &vars["input"];
            let id = input["issueId"].as_str().unwrap_or_default().to_string();
            s.seq += 1;
            let comment_id = format!("comment-{}", s.seq);
            let Some(i) = s
                .issues
                .iter_mut()
                .find(|i| i.identifier == id || i.id == id)
            else {
                return not_found("Issue");
            };
            i.comments.push((
                comment_id.clone(),
                input["body"].as_str().unwrap_or_default().into(),
            ));
            json!({"commentCreate": {"success": true, "comment": {"id": comment_id}}})
        }
        Some(op @ ("commentUpdate" | "commentDelete")) => {
            let id = vars["id"].as_str().unwrap_or_default();
            let Some((i, at)) = s.issues.iter_mut().find_map(|i| {
                let at = i.comments.iter().position(|(c, _)| c == id)?;
                Some((i, at))
            }) else {
                return not_found("Comment");
            };
            if op == "commentDelete" {
                i.comments.remove(at);
            } else {
                i.comments[at].1 = vars["input"]["body"].as_str().unwrap_or_default().into();
            }
            json!({op: {"success": true}})
        }
        _ => {
            return gql_error(
                StatusCode::BAD_REQUEST,
                "Cannot query this field",
                "GRAPHQL_VALIDATION_FAILED",
            );
        }
    };
    axum::Json(json!({"data": data})).into_response()
}
