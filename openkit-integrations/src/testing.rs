//! Test support (feature `testing`): a fake GitHub REST server on 127.0.0.1 that speaks
//! the parts of the real API OpenKit uses, for this crate's, openkit-http's and the
//! benches' tests.
//!
//! It checks the bearer token (401 `Bad credentials` otherwise), pages pull requests
//! (`per_page`, `page`, `Link` with `rel="next"`/`rel="last"`, sorted by `updated_at`
//! when asked), answers `If-None-Match` with `304`, sends the rate-limit headers, creates
//! repositories and pull requests (422 with GitHub's error bodies for duplicates and
//! unknown branches, 404 for unknown repositories), and can be told to fail the next
//! requests the way GitHub does (primary and secondary rate limits, 403, 5xx, a slow
//! answer). Every request is recorded.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The token the fake accepts.
pub const FAKE_TOKEN: &str = "ghp_FakeTokenForOpenKitTests0123456789ab";

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// How the fake should fail a coming request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Primary rate limit: 403, `x-ratelimit-remaining: 0`, reset in `reset_in`.
    PrimaryLimit {
        /// Until the reset.
        reset_in: Duration,
    },
    /// Secondary rate limit: 429 with `Retry-After`.
    SecondaryLimit {
        /// The `Retry-After` seconds.
        retry_after: u64,
    },
    /// Any status with GitHub's error body carrying `message`.
    Status {
        /// The status.
        status: u16,
        /// GitHub's `message`.
        message: String,
    },
    /// Answer normally, but only after this long.
    Slow(Duration),
}

/// A pull request in the fake.
#[derive(Debug, Clone)]
pub struct FakePull {
    /// Number.
    pub number: u64,
    /// Head branch.
    pub head: String,
    /// `owner/name` of the head repository (`None`: a deleted fork).
    pub head_repo: Option<String>,
    /// Base branch.
    pub base: String,
    /// `open` or `closed`.
    pub state: &'static str,
    /// Draft.
    pub draft: bool,
    /// Merged (closed by merging).
    pub merged: bool,
    /// A sequence standing for `updated_at` (higher is newer).
    pub updated: u64,
    /// Title.
    pub title: String,
}

#[derive(Debug, Default)]
struct Repo {
    pulls: Vec<FakePull>,
    /// Branches that exist on the fake remote (`None`: any branch is accepted).
    branches: Option<BTreeSet<String>>,
}

#[derive(Debug)]
struct FakeState {
    base: String,
    login: String,
    repos: BTreeMap<String, Repo>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    remaining: u64,
    clock: u64,
    clone_base: Option<String>,
}

/// The fake server; stops when dropped.
pub struct FakeGitHub {
    base: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub")
            .field("base", &self.base)
            .finish()
    }
}

pub(crate) fn timestamp(seq: u64) -> String {
    // 2024-01-01T00:00:00Z plus `seq` seconds, in GitHub's format.
    let secs = 1_704_067_200 + seq;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

impl FakeGitHub {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the fake GitHub");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(FakeState {
            base: base.clone(),
            login: "octocat".into(),
            repos: BTreeMap::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            remaining: 5000,
            clock: 0,
            clone_base: None,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGitHub { base, state, task }
    }

    /// The API base URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an empty repository (`owner/name`).
    pub fn add_repo(&self, full_name: &str) {
        self.lock().repos.entry(full_name.into()).or_default();
    }

    /// Only these branches exist on the remote of `repo` (a pull request from another
    /// head is refused with 422, as GitHub does).
    pub fn set_branches(&self, repo: &str, branches: &[&str]) {
        self.lock().repos.entry(repo.into()).or_default().branches =
            Some(branches.iter().map(|b| b.to_string()).collect());
    }

    /// Where created repositories' `clone_url`s point (`<base>/<owner>/<name>.git`);
    /// by default `https://github.com`.
    pub fn set_clone_base(&self, base: &str) {
        self.lock().clone_base = Some(base.trim_end_matches('/').to_string());
    }

    /// Adds an open pull request from `head` (in `repo` itself) and returns its number.
    pub fn add_pull(&self, repo: &str, head: &str) -> u64 {
        let mut state = self.lock();
        state.clock += 1;
        let updated = state.clock;
        let pulls = &mut state.repos.entry(repo.into()).or_default().pulls;
        let number = pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
        pulls.push(FakePull {
            number,
            head: head.into(),
            head_repo: Some(repo.into()),
            base: "main".into(),
            state: "open",
            draft: false,
            merged: false,
            updated,
            title: format!("Pull request from {head}"),
        });
        number
    }

    /// Changes pull request `number` of `repo` with `change` (and bumps its update time).
    pub fn update_pull(&self, repo: &str, number: u64, change: impl FnOnce(&mut FakePull)) {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let pull = state
            .repos
            .get_mut(repo)
            .and_then(|r| r.pulls.iter_mut().find(|p| p.number == number))
            .expect("the pull request exists");
        change(pull);
        pull.updated = now;
    }

    /// Marks pull request `number` merged.
    pub fn merge(&self, repo: &str, number: u64) {
        self.update_pull(repo, number, |p| {
            p.state = "closed";
            p.merged = true;
        });
    }

    /// Marks pull request `number` closed without merging.
    pub fn close(&self, repo: &str, number: u64) {
        self.update_pull(repo, number, |p| p.state = "closed");
    }

    /// Fails the next request with `fault` (queued: one fault per request).
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    /// The pull requests of `repo`.
    pub fn pulls(&self, repo: &str) -> Vec<FakePull> {
        self.lock()
            .repos
            .get(repo)
            .map(|r| r.pulls.clone())
            .unwrap_or_default()
    }

    /// Whether `repo` exists.
    pub fn has_repo(&self, repo: &str) -> bool {
        self.lock().repos.contains_key(repo)
    }
}

fn github_error(status: StatusCode, message: &str, errors: Option<Value>) -> Value {
    let mut body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    if let Some(errors) = errors {
        body["errors"] = errors;
    }
    body
}

fn pull_json(state: &FakeState, repo: &str, p: &FakePull) -> Value {
    let at = timestamp(p.updated);
    json!({
        "url": format!("{}/repos/{repo}/pulls/{}", state.base, p.number),
        "html_url": format!("https://github.com/{repo}/pull/{}", p.number),
        "number": p.number,
        "state": p.state,
        "title": p.title,
        "draft": p.draft,
        "created_at": timestamp(0),
        "updated_at": at,
        "closed_at": (p.state == "closed").then(|| at.clone()),
        "merged_at": p.merged.then(|| at.clone()),
        "head": {
            "label": format!("{}:{}", repo.split('/').next().unwrap_or_default(), p.head),
            "ref": p.head,
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "repo": p.head_repo.as_ref().map(|r| json!({"full_name": r})),
        },
        "base": {"ref": p.base, "repo": {"full_name": repo}},
    })
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// A weak ETag over the page's content.
fn etag_of(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("W/\"{:016x}\"", h.finish())
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
    let if_none_match = parts
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (status, mut headers, body) = answer(
        &mut state,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        fault,
    );
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        + 3600;
    for (k, v) in [
        ("x-ratelimit-limit", "5000".to_string()),
        ("x-ratelimit-used", (5000 - state.remaining).to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ] {
        headers.insert(k, HeaderValue::from_str(&v).expect("header"));
    }
    headers
        .entry("x-ratelimit-remaining")
        .or_insert_with(|| HeaderValue::from_str(&state.remaining.to_string()).expect("header"));
    headers
        .entry("x-ratelimit-reset")
        .or_insert_with(|| HeaderValue::from_str(&reset.to_string()).expect("header"));
    state.requests.push(Recorded {
        method: parts.method.to_string(),
        uri,
        if_none_match,
        status: status.as_u16(),
    });
    drop(state);
    let mut response = match body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    response.headers_mut().extend(headers);
    response
}

type Answer = (StatusCode, HeaderMap, Option<Value>);

fn answer(
    state: &mut FakeState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
    fault: Option<Fault>,
) -> Answer {
    let mut out = HeaderMap::new();
    let expected = format!("Bearer {FAKE_TOKEN}");
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) && auth != Some(&format!("token {FAKE_TOKEN}")) {
        return (
            StatusCode::UNAUTHORIZED,
            out,
            Some(github_error(
                StatusCode::UNAUTHORIZED,
                "Bad credentials",
                None,
            )),
        );
    }
    match fault {
        Some(Fault::PrimaryLimit { reset_in }) => {
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                + reset_in.as_secs().max(1);
            out.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            out.insert(
                "x-ratelimit-reset",
                HeaderValue::from_str(&reset.to_string()).expect("header"),
            );
            let message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.";
            return (
                StatusCode::FORBIDDEN,
                out,
                Some(github_error(StatusCode::FORBIDDEN, message, None)),
            );
        }
        Some(Fault::SecondaryLimit { retry_after }) => {
            out.insert(
                "retry-after",
                HeaderValue::from_str(&retry_after.to_string()).expect("header"),
            );
            let message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
            return (
                StatusCode::TOO_MANY_REQUESTS,
                out,
                Some(github_error(StatusCode::TOO_MANY_REQUESTS, message, None)),
            );
        }
        Some(Fault::Status { status, message }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, out, Some(github_error(status, &message, None)));
        }
        Some(Fault::Slow(_)) | None => {}
    }
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            HeaderMap::new(),
            Some(github_error(StatusCode::NOT_FOUND, "Not Found", None)),
        )
    };
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["user"]) => {
            state.remaining = state.remaining.saturating_sub(1);
            (
                StatusCode::OK,
                out,
                Some(json!({"login": state.login, "id": 1})),
            )
        }
        ("POST", ["user", "repos"]) => {
            state.remaining = state.remaining.saturating_sub(1);
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(name) = request["name"].as_str().filter(|n| !n.is_empty()) else {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    out,
                    Some(github_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Repository creation failed.",
                        Some(
                            json!([{"resource": "Repository", "code": "missing_field", "field": "name"}]),
                        ),
                    )),
                );
            };
            let full = format!("{}/{name}", state.login);
            if state.repos.contains_key(&full) {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    out,
                    Some(github_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Repository creation failed.",
                        Some(
                            json!([{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}]),
                        ),
                    )),
                );
            }
            state.repos.insert(full.clone(), Repo::default());
            let clone = state
                .clone_base
                .clone()
                .unwrap_or_else(|| "https://github.com".into());
            (
                StatusCode::CREATED,
                out,
                Some(json!({
                    "full_name": full,
                    "name": name,
                    "private": request["private"].as_bool().unwrap_or(false),
                    "html_url": format!("https://github.com/{full}"),
                    "clone_url": format!("{clone}/{full}.git"),
                    "ssh_url": format!("git@github.com:{full}.git"),
                })),
            )
        }
        ("GET", ["repos", owner, name, "pulls"]) => {
            let repo_name = format!("{owner}/{name}");
            let Some(repo) = state.repos.get(&repo_name) else {
                return not_found();
            };
            let query = uri.query().unwrap_or_default();
            let per_page: usize = query_param(query, "per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30)
                .clamp(1, 100);
            let page: usize = query_param(query, "page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let wanted = query_param(query, "state").unwrap_or("open");
            let mut pulls: Vec<&FakePull> = repo
                .pulls
                .iter()
                .filter(|p| wanted == "all" || p.state == wanted)
                .collect();
            if query_param(query, "sort") == Some("updated") {
                pulls.sort_by_key(|p| std::cmp::Reverse(p.updated));
            } else {
                pulls.sort_by_key(|p| std::cmp::Reverse(p.number));
            }
            let last = pulls.len().div_ceil(per_page).max(1);
            let items: Vec<Value> = pulls
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|p| pull_json(state, &repo_name, p))
                .collect();
            let body = Value::Array(items);
            let etag = etag_of(body.to_string().as_bytes());
            out.insert("etag", HeaderValue::from_str(&etag).expect("header"));
            let link_to = |p: usize| {
                let rest: Vec<&str> = query
                    .split('&')
                    .filter(|kv| !kv.starts_with("page="))
                    .collect();
                format!(
                    "{}/repos/{repo_name}/pulls?{}&page={p}",
                    state.base,
                    rest.join("&")
                )
            };
            let mut links = Vec::new();
            if page < last {
                links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
                links.push(format!("<{}>; rel=\"last\"", link_to(last)));
            }
            if page > 1 {
                links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
                links.push(format!("<{}>; rel=\"first\"", link_to(1)));
            }
            if !links.is_empty() {
                out.insert(
                    "link",
                    HeaderValue::from_str(&links.join(", ")).expect("header"),
                );
            }
            let matches = headers
                .get("if-none-match")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == etag);
            if matches {
                // Conditional requests that match do not count against the limit.
                return (StatusCode::NOT_MODIFIED, out, None);
            }
            state.remaining = state.remaining.saturating_sub(1);
            (StatusCode::OK, out, Some(body))
        }
        ("POST", ["repos", owner, name, "pulls"]) => {
            state.remaining = state.remaining.saturating_sub(1);
            let repo_name = format!("{owner}/{name}");
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            state.clock += 1;
            let clock = state.clock;
            let Some(repo) = state.repos.get_mut(&repo_name) else {
                return not_found();
            };
            let head = request["head"].as_str().unwrap_or_default().to_string();
            let title = request["title"].as_str().unwrap_or_default().to_string();
            let invalid = |field: &str| {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    HeaderMap::new(),
                    Some(github_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Validation Failed",
                        Some(
                            json!([{"resource": "PullRequest", "field": field, "code": "invalid"}]),
                        ),
                    )),
                )
            };
            if title.is_empty() {
                return invalid("title");
            }
            if head.is_empty() || repo.branches.as_ref().is_some_and(|b| !b.contains(&head)) {
                return invalid("head");
            }
            if repo
                .pulls
                .iter()
                .any(|p| p.head == head && p.state == "open")
            {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    out,
                    Some(github_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Validation Failed",
                        Some(
                            json!([{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {owner}:{head}.")}]),
                        ),
                    )),
                );
            }
            let number = repo.pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
            let pull = FakePull {
                number,
                head,
                head_repo: Some(repo_name.clone()),
                base: request["base"].as_str().unwrap_or("main").to_string(),
                state: "open",
                draft: request["draft"].as_bool().unwrap_or(false),
                merged: false,
                updated: clock,
                title,
            };
            repo.pulls.push(pull.clone());
            (
                StatusCode::CREATED,
                out,
                Some(pull_json(state, &repo_name, &pull)),
            )
        }
        _ => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_github_shaped() {
        assert_eq!(timestamp(0), "2024-01-01T00:00:00Z");
        assert_eq!(timestamp(86_400 * 59 + 61), "2024-02-29T00:01:01Z");
    }
}
