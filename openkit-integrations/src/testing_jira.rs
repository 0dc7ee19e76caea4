//! Test support (feature `testing`): [`FakeJira`], a Jira Cloud on 127.0.0.1 speaking
//! the parts of REST API v3 OpenKit uses, and Atlassian's OAuth 2.0 (3LO) servers.
//!
//! One server plays the site (`/rest/api/3/...`, basic auth with the e-mail and API
//! token), the OAuth gateway (`/ex/jira/<cloudId>/rest/api/3/...`, bearer tokens), the
//! authorization server (`/oauth/token` for `authorization_code` and rotating
//! `refresh_token` grants) and `/oauth/token/accessible-resources`. Searches run JQL's
//! `assignee = currentUser()`, `statusCategory != Done` and `text ~ "..."` and page with
//! `nextPageToken`; transitions move issues between the project's statuses; comments
//! are added, edited and deleted; attachments answer `redirect=false` with their bytes
//! and otherwise redirect (303) to a media host, as Jira does. Errors use Jira's
//! `{errorMessages, errors}` bodies; faults (429 with `Retry-After`, 401, 5xx, slow
//! answers) can be queued. Every request is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The e-mail the fake accepts.
pub const EMAIL: &str = "dev@example.com";
/// The API token the fake accepts.
pub const TOKEN: &str = "jira-api-token-for-tests";
/// The OAuth app's client id and secret the fake accepts.
pub const CLIENT_ID: &str = "fake-client-id";
/// See [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "fake-client-secret";
/// The authorization code the fake's authorization server accepts.
pub const AUTH_CODE: &str = "fake-auth-code";
/// The site's cloud id.
pub const CLOUD_ID: &str = "cloud-1234";
/// The user's account id.
pub const ACCOUNT_ID: &str = "acc-me";

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The status answered.
    pub status: u16,
    /// The `Authorization` scheme sent (`Basic`, `Bearer`), if any.
    pub auth: Option<String>,
}

/// How the fake should fail a coming request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After`.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// Any status with Jira's error body.
    Status {
        /// The status.
        status: u16,
        /// The message.
        message: String,
    },
    /// Answer normally, after this long.
    Slow(Duration),
}

/// Where an attachment's content goes when asked without `redirect=false`, or always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentRedirect {
    /// As Jira: `redirect=false` gets the bytes, otherwise a 303 to the media host.
    AsJira,
    /// Always a redirect to this absolute URL (a hostile or misconfigured site).
    Always(String),
}

/// A comment in the fake.
#[derive(Debug, Clone)]
pub struct FakeComment {
    /// Id.
    pub id: u64,
    /// Author's display name.
    pub author: String,
    /// ADF body.
    pub body: Value,
}

/// An attachment in the fake.
#[derive(Debug, Clone)]
pub struct FakeAttachment {
    /// Id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// An issue in the fake.
#[derive(Debug, Clone)]
pub struct FakeIssue {
    /// `PROJ-1`.
    pub key: String,
    /// Title.
    pub summary: String,
    /// Status name (one of the project's statuses).
    pub status: String,
    /// Assigned to the user.
    pub assigned_to_me: bool,
    /// Priority name.
    pub priority: String,
    /// Issue type name.
    pub issue_type: String,
    /// Labels.
    pub labels: Vec<String>,
    /// ADF description (`null`: none).
    pub description: Value,
    /// Comments.
    pub comments: Vec<FakeComment>,
    /// Attachments.
    pub attachments: Vec<FakeAttachment>,
    /// Update sequence (higher is newer).
    pub updated: u64,
}

/// The statuses of every project: `(name, statusCategory key)`.
pub const STATUSES: [(&str, &str); 4] = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("In Review", "indeterminate"),
    ("Done", "done"),
];
/// The priorities.
pub const PRIORITIES: [(&str, &str); 3] = [("1", "High"), ("2", "Medium"), ("3", "Low")];
/// The issue types.
pub const TYPES: [(&str, &str); 3] = [("10001", "Task"), ("10002", "Bug"), ("10003", "Story")];

#[derive(Debug)]
struct FakeState {
    base: String,
    issues: Vec<FakeIssue>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    seq: u64,
    access_token: String,
    refresh_token: String,
    token_lifetime: u64,
    refreshes: usize,
    redirect: AttachmentRedirect,
}

/// The fake server; stops when dropped.
pub struct FakeJira {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeJira {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeJira {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeJira")
            .field("base", &self.base)
            .finish()
    }
}

impl FakeJira {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake Jira");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            base: base.clone(),
            issues: Vec::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            seq: 0,
            access_token: "access-0".into(),
            refresh_token: "refresh-0".into(),
            token_lifetime: 3600,
            refreshes: 0,
            redirect: AttachmentRedirect::AsJira,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeJira { base, state, task }
    }

    /// The site URL (`http://127.0.0.1:<port>`), also the OAuth servers' URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an issue `key` with `summary`, in `To Do`, assigned to the user.
    pub fn add_issue(&self, key: &str, summary: &str) {
        self.add(FakeIssue {
            key: key.into(),
            summary: summary.into(),
            status: "To Do".into(),
            assigned_to_me: true,
            priority: "Medium".into(),
            issue_type: "Task".into(),
            labels: Vec::new(),
            description: Value::Null,
            comments: Vec::new(),
            attachments: Vec::new(),
            updated: 0,
        });
    }

    /// Adds (or replaces) an issue.
    pub fn add(&self, mut issue: FakeIssue) {
        let mut state = self.lock();
        state.seq += 1;
        issue.updated = state.seq;
        state.issues.retain(|i| i.key != issue.key);
        state.issues.push(issue);
    }

    /// Changes issue `key`.
    pub fn update(&self, key: &str, change: impl FnOnce(&mut FakeIssue)) {
        let mut state = self.lock();
        state.seq += 1;
        let seq = state.seq;
        let issue = state
            .issues
            .iter_mut()
            .find(|i| i.key == key)
            .expect("the issue exists");
        change(issue);
        issue.updated = seq;
    }

    /// Issue `key` as it is now.
    pub fn issue(&self, key: &str) -> Option<FakeIssue> {
        self.lock().issues.iter().find(|i| i.key == key).cloned()
    }

    /// Attaches a file to `key`; returns the attachment's id.
    pub fn attach(&self, key: &str, filename: &str, mime_type: &str, bytes: &[u8]) -> u64 {
        let mut state = self.lock();
        state.seq += 1;
        let id = 20_000 + state.seq;
        let issue = state
            .issues
            .iter_mut()
            .find(|i| i.key == key)
            .expect("the issue exists");
        issue.attachments.push(FakeAttachment {
            id,
            filename: filename.into(),
            mime_type: mime_type.into(),
            bytes: bytes.to_vec(),
        });
        id
    }

    /// How attachment content requests are answered.
    pub fn set_attachment_redirect(&self, redirect: AttachmentRedirect) {
        self.lock().redirect = redirect;
    }

    /// OAuth access tokens live this long (seconds; 0 makes every token expired).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.lock().token_lifetime = seconds;
    }

    /// How many `refresh_token` grants were answered.
    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    /// The access token the gateway accepts now.
    pub fn access_token(&self) -> String {
        self.lock().access_token.clone()
    }

    /// Fails the next request with `fault` (one fault per request, in order).
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Every request received.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorMessages": [message], "errors": {}})),
    )
        .into_response()
}

fn category(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(n, _)| *n == status)
        .map(|(_, c)| *c)
        .unwrap_or("new")
}

fn issue_json(base: &str, issue: &FakeIssue, detail: bool) -> Value {
    let mut fields = json!({
        "summary": issue.summary,
        "status": {"name": issue.status, "statusCategory": {"key": category(&issue.status)}},
        "priority": {"name": issue.priority},
        "issuetype": {"name": issue.issue_type},
        "assignee": if issue.assigned_to_me { json!({"accountId": ACCOUNT_ID, "displayName": "Dev Eloper"}) } else { Value::Null },
        "updated": format!("2025-01-01T00:00:{:02}.000+0000", issue.updated % 60),
        "labels": issue.labels,
    });
    if detail {
        fields["description"] = issue.description.clone();
        fields["reporter"] = json!({"displayName": "Rep Orter"});
        fields["created"] = json!("2024-12-31T00:00:00.000+0000");
        fields["comment"] = json!({
            "comments": issue.comments.iter().map(|c| json!({
                "id": c.id.to_string(),
                "author": {"displayName": c.author},
                "body": c.body,
                "created": "2025-01-01T10:00:00.000+0000",
                "updated": "2025-01-01T10:00:00.000+0000",
            })).collect::<Vec<_>>(),
            "total": issue.comments.len(),
        });
        fields["attachment"] = json!(
            issue
                .attachments
                .iter()
                .map(|a| json!({
                    "id": a.id.to_string(),
                    "filename": a.filename,
                    "mimeType": a.mime_type,
                    "size": a.bytes.len(),
                    "content": format!("{base}/rest/api/3/attachment/content/{}", a.id),
                }))
                .collect::<Vec<_>>()
        );
    }
    json!({"id": issue.updated.to_string(), "key": issue.key, "fields": fields})
}

/// Whether `jql` selects `issue` (the clauses OpenKit sends).
fn matches(jql: &str, issue: &FakeIssue) -> bool {
    if jql.contains("assignee = currentUser()") && !issue.assigned_to_me {
        return false;
    }
    if jql.contains("statusCategory != Done") && category(&issue.status) == "done" {
        return false;
    }
    if let Some(rest) = jql.split("text ~ \"").nth(1) {
        let mut needle = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => needle.extend(chars.next()),
                '"' => break,
                c => needle.push(c),
            }
        }
        let needle = needle.to_lowercase();
        let description = crate::jira::adf::to_markdown(&issue.description).to_lowercase();
        if !issue.summary.to_lowercase().contains(&needle) && !description.contains(&needle) {
            return false;
        }
    }
    true
}

async fn handle(State(state): State<Arc<Mutex<FakeState>>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().to_string();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let fault = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .faults
        .pop_front();
    let response = match fault {
        Some(Fault::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            route(&state, &method, &uri, &headers, &body)
        }
        Some(Fault::RateLimited { retry_after }) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
            r.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after.to_string().parse().unwrap(),
            );
            r
        }
        Some(Fault::Status { status, message }) => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &message,
        ),
        None => route(&state, &method, &uri, &headers, &body),
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(' ').next())
        .map(str::to_string);
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .requests
        .push(Recorded {
            method: method.to_string(),
            uri,
            status: response.status().as_u16(),
            auth,
        });
    response
}

fn basic_ok(headers: &HeaderMap) -> bool {
    use base64_lite::encode;
    let expected = format!("Basic {}", encode(format!("{EMAIL}:{TOKEN}").as_bytes()));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

fn route(
    state: &Arc<Mutex<FakeState>>,
    method: &Method,
    uri: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);

    // The authorization server.
    if path == "/oauth/token" && method == Method::POST {
        if body["client_id"] != CLIENT_ID || body["client_secret"] != CLIENT_SECRET {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "access_denied", "error_description": "Unauthorized"})),
            )
                .into_response();
        }
        let grant_ok = match body["grant_type"].as_str() {
            Some("authorization_code") => body["code"] == AUTH_CODE,
            Some("refresh_token") => body["refresh_token"] == s.refresh_token.as_str(),
            _ => false,
        };
        if !grant_ok {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})),
            )
                .into_response();
        }
        if body["grant_type"] == "refresh_token" {
            s.refreshes += 1;
        }
        s.seq += 1;
        s.access_token = format!("access-{}", s.seq);
        s.refresh_token = format!("refresh-{}", s.seq);
        return axum::Json(json!({
            "access_token": s.access_token,
            "refresh_token": s.refresh_token,
            "expires_in": s.token_lifetime,
            "token_type": "Bearer",
            "scope": crate::jira::oauth::SCOPES,
        }))
        .into_response();
    }
    if path == "/oauth/token/accessible-resources" {
        if bearer(headers).as_deref() != Some(s.access_token.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        return axum::Json(json!([{
            "id": CLOUD_ID, "url": s.base, "name": "fake", "scopes": ["read:jira-work"]
        }]))
        .into_response();
    }

    // The REST API, on the site (basic) or through the gateway (bearer).
    let gateway = format!("/ex/jira/{CLOUD_ID}");
    let path = if let Some(rest) = path.strip_prefix(&gateway) {
        if bearer(headers).as_deref() != Some(s.access_token.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized; scope does not match",
            );
        }
        rest.to_string()
    } else {
        if !basic_ok(headers) {
            return error(
                StatusCode::UNAUTHORIZED,
                "Client must be authenticated to access this resource.",
            );
        }
        path.to_string()
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let base = s.base.clone();
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    };
    match (method.clone(), parts.as_slice()) {
        (Method::GET, ["rest", "api", "3", "myself"]) => axum::Json(json!({
            "accountId": ACCOUNT_ID, "displayName": "Dev Eloper", "emailAddress": EMAIL,
        }))
        .into_response(),
        (Method::POST, ["rest", "api", "3", "search", "jql"]) => {
            let jql = body["jql"].as_str().unwrap_or("");
            let max = body["maxResults"].as_u64().unwrap_or(50).clamp(1, 100) as usize;
            let start = body["nextPageToken"]
                .as_str()
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let mut found: Vec<&FakeIssue> = s.issues.iter().filter(|i| matches(jql, i)).collect();
            found.sort_by_key(|i| std::cmp::Reverse(i.updated));
            let page: Vec<Value> = found
                .iter()
                .skip(start)
                .take(max)
                .map(|i| issue_json(&base, i, false))
                .collect();
            let end = start + page.len();
            let mut answer = json!({"issues": page, "isLast": end >= found.len()});
            if end < found.len() {
                answer["nextPageToken"] = json!(format!("page-{end}"));
            }
            axum::Json(answer).into_response()
        }
        (Method::GET, ["rest", "api", "3", "priority", "search"]) => axum::Json(json!({
            "values": PRIORITIES.iter().map(|(id, n)| json!({"id": id, "name": n})).collect::<Vec<_>>(),
            "isLast": true, "startAt": 0, "maxResults": 100, "total": PRIORITIES.len(),
        }))
        .into_response(),
        (Method::GET, ["rest", "api", "3", "project", project, "statuses"]) => {
            if !s.issues.iter().any(|i| i.key.starts_with(&format!("{project}-"))) {
                return error(StatusCode::NOT_FOUND, "No project could be found with key.");
            }
            axum::Json(json!(TYPES.iter().map(|(id, n)| json!({
                "id": id, "name": n,
                "statuses": STATUSES.iter().map(|(s, _)| json!({"name": s})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()))
            .into_response()
        }
        (Method::GET, ["rest", "api", "3", "attachment", "content", id]) => {
            let found = s
                .issues
                .iter()
                .flat_map(|i| &i.attachments)
                .find(|a| a.id.to_string() == *id)
                .cloned();
            let Some(attachment) = found else {
                return error(StatusCode::NOT_FOUND, "The attachment does not exist.");
            };
            match &s.redirect {
                AttachmentRedirect::Always(to) => {
                    (StatusCode::SEE_OTHER, [(header::LOCATION, to.clone())]).into_response()
                }
                AttachmentRedirect::AsJira if !query.contains("redirect=false") => (
                    StatusCode::SEE_OTHER,
                    [(
                        header::LOCATION,
                        format!("https://api.media.atlassian.invalid/file/{id}/binary"),
                    )],
                )
                    .into_response(),
                AttachmentRedirect::AsJira => (
                    [
                        (header::CONTENT_TYPE, attachment.mime_type.clone()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{}\"", attachment.filename),
                        ),
                    ],
                    attachment.bytes,
                )
                    .into_response(),
            }
        }
        (_, ["rest", "api", "3", "issue", key, rest @ ..]) => {
            let key = key.to_string();
            let Some(at) = s.issues.iter().position(|i| i.key == key) else {
                return not_found();
            };
            s.seq += 1;
            let seq = s.seq;
            let issue = &mut s.issues[at];
            match (method.clone(), rest) {
                (Method::GET, []) => axum::Json(issue_json(&base, issue, true)).into_response(),
                (Method::PUT, []) => {
                    let fields = &body["fields"];
                    if let Some(summary) = fields["summary"].as_str() {
                        issue.summary = summary.into();
                    }
                    if !fields["description"].is_null() {
                        issue.description = fields["description"].clone();
                    }
                    if let Some(p) = fields["priority"]["name"].as_str() {
                        if !PRIORITIES.iter().any(|(_, n)| *n == p) {
                            return (
                                StatusCode::BAD_REQUEST,
                                axum::Json(json!({"errorMessages": [], "errors": {"priority": "Specify a valid priority."}})),
                            )
                                .into_response();
                        }
                        issue.priority = p.into();
                    }
                    if let Some(t) = fields["issuetype"]["id"].as_str() {
                        let Some((_, name)) = TYPES.iter().find(|(id, _)| *id == t) else {
                            return (
                                StatusCode::BAD_REQUEST,
                                axum::Json(json!({"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type."}})),
                            )
                                .into_response();
                        };
                        issue.issue_type = (*name).into();
                    }
                    issue.updated = seq;
                    StatusCode::NO_CONTENT.into_response()
                }
                (Method::GET, ["transitions"]) => axum::Json(json!({
                    "transitions": STATUSES.iter().enumerate()
                        .filter(|(_, (n, _))| *n != issue.status)
                        .map(|(i, (n, _))| json!({"id": (11 + i * 10).to_string(), "name": format!("Move to {n}"), "to": {"name": n}}))
                        .collect::<Vec<_>>(),
                }))
                .into_response(),
                (Method::POST, ["transitions"]) => {
                    let id = body["transition"]["id"].as_str().unwrap_or("");
                    let target = STATUSES
                        .iter()
                        .enumerate()
                        .find(|(i, _)| (11 + i * 10).to_string() == id)
                        .map(|(_, (n, _))| *n);
                    match target {
                        Some(n) if n != issue.status => {
                            issue.status = n.into();
                            issue.updated = seq;
                            StatusCode::NO_CONTENT.into_response()
                        }
                        _ => (
                            StatusCode::BAD_REQUEST,
                            axum::Json(json!({"errorMessages": ["Transition id is not valid for this issue."], "errors": {}})),
                        )
                            .into_response(),
                    }
                }
                (Method::GET, ["editmeta"]) => axum::Json(json!({"fields": {"issuetype": {
                    "allowedValues": TYPES.iter().map(|(id, n)| json!({"id": id, "name": n})).collect::<Vec<_>>(),
                }}}))
                .into_response(),
                (Method::POST, ["comment"]) => {
                    let id = 10_000 + seq;
                    let comment = FakeComment {
                        id,
                        author: "Dev Eloper".into(),
                        body: body["body"].clone(),
                    };
                    issue.comments.push(comment.clone());
                    (
                        StatusCode::CREATED,
                        axum::Json(json!({
                            "id": id.to_string(), "author": {"displayName": comment.author},
                            "body": comment.body, "created": "2025-01-02T00:00:00.000+0000",
                        })),
                    )
                        .into_response()
                }
                (Method::PUT | Method::DELETE, ["comment", id]) => {
                    let Some(at) = issue.comments.iter().position(|c| c.id.to_string() == *id)
                    else {
                        return error(StatusCode::NOT_FOUND, "Can not find a comment for the id.");
                    };
                    if *method == Method::DELETE {
                        issue.comments.remove(at);
                        StatusCode::NO_CONTENT.into_response()
                    } else {
                        issue.comments[at].body = body["body"].clone();
                        axum::Json(json!({"id": id})).into_response()
                    }
                }
                _ => error(StatusCode::NOT_FOUND, "No such resource."),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "No such resource."),
    }
}

/// Base64 for the expected basic-auth header (no extra dependency for a test fake).
mod base64_lite {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(input: &[u8]) -> String {
        let mut out = String::new();
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[cfg(test)]
    #[test]
    fn encodes() {
        assert_eq!(encode(b"Man"), "TWFu");
        assert_eq!(encode(b"Ma"), "TWE=");
        assert_eq!(encode(b"M"), "TQ==");
    }
}
