//! Shared test fixture: a hermetic repo, its workbench and the router.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use openkit_core::Workbench;
use openkit_core::backbone::{Backbone, publish_worktree_changes};
use openkit_core::testing::TestRepo;
use openkit_http::{AppState, SecurityPolicy, router};
use serde_json::Value;
use tower::ServiceExt;

pub const PORT: u16 = 4040;

pub struct Api {
    pub repo: TestRepo,
    pub backbone: Arc<Backbone>,
    pub terminals: openkit_pty::TerminalManager,
    /// Keeps the workbench alive for the worktree publisher task.
    _workbench: Arc<Workbench>,
    pub app: Router,
}

impl Api {
    pub fn new() -> Self {
        Api::with_repo(TestRepo::new())
    }

    pub fn with_repo(repo: TestRepo) -> Self {
        Api::with_search_path(repo, Vec::new())
    }

    pub fn with_search_path(repo: TestRepo, search_path: Vec<PathBuf>) -> Self {
        let backbone = Backbone::new(repo.paths());
        let terminals = openkit_pty::TerminalManager::new();
        let hooks = openkit_core::devserver::PortHooks {
            node: openkit_core::devserver::install_node_hook(&repo.home().join(".openkit/cache"))
                .ok(),
            native: openkit_core::devserver::install_native_hook(
                &repo.home().join(".openkit/cache"),
            ),
        };
        let dev_servers = openkit_core::devserver::DevServerManager::with_grace(
            Arc::clone(&backbone) as _,
            hooks,
            std::time::Duration::from_secs(2),
        );
        let workbench = Arc::new(
            backbone
                .attach(Workbench::builder(repo.paths()), repo.git_cli())
                .terminals(Arc::new(terminals.clone()))
                .dev_servers(dev_servers)
                .build()
                .unwrap(),
        );
        tokio::spawn(publish_worktree_changes(
            Arc::clone(&backbone),
            Arc::downgrade(&workbench),
        ));
        let state = AppState::new(
            Arc::clone(&workbench),
            Arc::clone(&backbone),
            SecurityPolicy::for_port(PORT),
        )
        .with_search_path(search_path)
        .with_terminals(terminals.clone())
        .with_shell(Some("/bin/sh".into()))
        .with_discover_cap(std::time::Duration::from_secs(3));
        Api {
            app: router(state),
            terminals,
            repo,
            backbone,
            _workbench: workbench,
        }
    }

    pub async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
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

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, Some(body)).await
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
