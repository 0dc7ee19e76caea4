//! Shared test fixture: a hermetic repo, its workbench and the router.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use openkit_core::backbone::Backbone;
use openkit_core::testing::TestRepo;
use openkit_core::{Background, Composition, HostEnv, Workbench};
use openkit_http::{AppState, SecurityPolicy, router};
use serde_json::Value;
use tower::ServiceExt;

pub const PORT: u16 = 4040;

pub struct Api {
    pub repo: TestRepo,
    pub backbone: Arc<Backbone>,
    pub terminals: openkit_pty::TerminalManager,
    pub workbench: Arc<Workbench>,
    /// The integration services of the router's state.
    pub integrations: openkit_integrations::Integrations,
    /// Keeps the live status engine and the worktree publisher running.
    _background: Background,
    _tools: Option<tempfile::TempDir>,
    pub app: Router,
}

/// A directory with links to the basic tools found on the test process's `PATH`.
pub fn tools_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("creating the tools dir");
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in ["git", "sh", "chmod", "cat", "env", "sleep", "mkdir", "rm"] {
        if let Some(found) = std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
        {
            std::os::unix::fs::symlink(found, dir.path().join(tool)).expect("linking a tool");
        }
    }
    dir
}

impl Api {
    pub fn new() -> Self {
        Api::with_repo(TestRepo::new())
    }

    pub fn with_repo(repo: TestRepo) -> Self {
        Api::with_host(repo, |host| host)
    }

    /// An API over `repo` whose host `PATH` is `search_path` plus a directory of the few
    /// tools the server and fake programs need (`git`, `sh`, `chmod`, ...), so what is
    /// detected on `PATH` does not depend on the machine.
    pub fn with_search_path(repo: TestRepo, search_path: Vec<PathBuf>) -> Self {
        let tools = tools_dir();
        let mut api = Api::with_host(repo, |host| {
            let mut dirs = search_path;
            dirs.push(tools.path().to_path_buf());
            let path = std::env::join_paths(dirs).expect("joining PATH");
            host.with_var("PATH", path)
        });
        api._tools = Some(tools);
        api
    }

    /// An API over `repo`, the way `openkit serve` composes it, with the repo's hermetic
    /// host environment changed by `host`.
    pub fn with_host(repo: TestRepo, host: impl FnOnce(HostEnv) -> HostEnv) -> Self {
        Api::with_composition(repo, host, |c| c)
    }

    /// An API over `repo` whose composition is changed by `compose` (ports plugged in)
    /// before the harness's own settings.
    pub fn with_composition(
        repo: TestRepo,
        host: impl FnOnce(HostEnv) -> HostEnv,
        compose: impl FnOnce(Composition) -> Composition,
    ) -> Self {
        let terminals = openkit_pty::TerminalManager::new();
        let workbench = compose(Composition::new(repo.paths(), host(repo.host_env())))
            .terminals(Arc::new(terminals.clone()))
            .dev_server_grace(std::time::Duration::from_secs(2))
            .discover_cap(std::time::Duration::from_secs(3))
            .build()
            .unwrap();
        let background = workbench.start_background();
        let state = AppState::new(
            Arc::clone(&workbench),
            terminals.clone(),
            SecurityPolicy::for_port(PORT),
        );
        Api {
            integrations: state.integrations().clone(),
            app: router(state),
            terminals,
            repo,
            backbone: Arc::clone(workbench.backbone()),
            workbench,
            _background: background,
            _tools: None,
        }
    }

    pub async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        // Every response must match the OpenAPI document.
        crate::openapi::check_response(&method, &path, status, &headers, &body);
        (status, headers, body)
    }

    /// Sends a JSON request as a same-host client (Host header set, no Origin).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, format!("localhost:{PORT}"));
        let body = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        let (status, _, bytes) = self.send(builder.body(body).unwrap()).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("non-JSON body ({e}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, value)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, None).await
    }

    /// A JSON POST made on behalf of `actor` (the `X-OpenKit-Actor` header; none: a
    /// human's request).
    pub async fn post_as(
        &self,
        actor: Option<&str>,
        uri: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::HOST, format!("localhost:{PORT}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(actor) = actor {
            builder = builder.header("x-openkit-actor", actor);
        }
        let (status, _, bytes) = self
            .send(builder.body(Body::from(body.to_string())).unwrap())
            .await;
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(body)).await
    }

    /// Waits until `GET /api/worktrees` lists exactly `ids` (changes made behind
    /// OpenKit's back reach the live snapshot shortly after they happen).
    pub async fn until_listed(&self, ids: &[&str]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, body) = self.get("/api/worktrees").await;
            let listed: Vec<&str> = body["worktrees"]
                .as_array()
                .map(|l| l.iter().filter_map(|w| w["id"].as_str()).collect())
                .unwrap_or_default();
            if listed == ids {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {ids:?}, listed {listed:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn create(&self, branch: &str) -> Value {
        let (status, body) = self
            .post("/api/worktrees", serde_json::json!({ "branch": branch }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

/// Asserts the error envelope: status, `success: false`, the code, and returns the body.
pub fn assert_error(actual: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (s, body) = actual;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["success"], Value::Bool(false), "{body}");
    assert_eq!(body["code"], Value::String(code.into()), "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}
