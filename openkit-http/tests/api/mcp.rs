//! The MCP server at `/mcp`: a conversation with rmcp's own client over its streamable
//! HTTP transport against a real server (initialize, tools/list, every tool, scope
//! refusals), and the Host/Origin/cross-site checks on `/mcp` through the router.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use openkit_core::notes::NotesStore;
use openkit_core::tasks::TaskFields;
use openkit_core::testing::TestRepo;
use openkit_core::{Composition, Workbench};
use openkit_http::Server;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::harness::{Api, PORT};

/// A real server on a free port, serving the project of a test repo.
struct Served {
    repo: TestRepo,
    workbench: Arc<Workbench>,
    terminals: openkit_pty::TerminalManager,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    async fn start() -> Self {
        let repo = TestRepo::new();
        let terminals = openkit_pty::TerminalManager::new();
        let workbench = Composition::new(repo.paths(), repo.host_env())
            .terminals(Arc::new(terminals.clone()))
            .build()
            .unwrap();
        let bound = Server::new(Arc::clone(&workbench), terminals.clone())
            .port(0)
            .write_server_file(false)
            .bind()
            .await
            .unwrap();
        let url = format!("http://127.0.0.1:{}/mcp", bound.local_addr().port());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let done = tokio::spawn(async move {
            bound
                .serve(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Served {
            repo,
            workbench,
            terminals,
            url,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// An MCP client session; `scope` is the worktree `openkit mcp` would name.
    async fn client(&self, scope: Option<&str>) -> RunningService<RoleClient, ClientConfig> {
        let mut headers = std::collections::HashMap::new();
        if let Some(scope) = scope {
            headers.insert(
                axum::http::HeaderName::from_static("x-openkit-scope"),
                axum::http::HeaderValue::from_str(scope).unwrap(),
            );
        }
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
                .custom_headers(headers),
        );
        ClientConfig::default().serve(transport).await.unwrap()
    }

    /// Stops the server and waits until it finished (open MCP streams included).
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done.take().unwrap())
            .await
            .expect("the server stops with MCP sessions open")
            .unwrap();
    }
}

async fn call(
    client: &RunningService<RoleClient, ClientConfig>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// The JSON a successful tool answered.
fn data(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    result
        .structured_content
        .clone()
        .expect("structured content")
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// Asserts a tool error with `code`, returning its message.
fn refused(result: &CallToolResult, code: &str) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let envelope = result.structured_content.clone().expect("the envelope");
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["code"], code, "{envelope}");
    let message = envelope["error"].as_str().unwrap().to_string();
    assert!(text(result).contains(&message));
    message
}

#[tokio::test]
async fn tools_list_is_pinned() {
    let served = Served::start().await;
    let client = served.client(None).await;
    let info = client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().unwrap().name, "openkit");
    let tools = client.list_all_tools().await.unwrap();
    let listed: Vec<Value> = tools
        .iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    insta::assert_json_snapshot!("mcp_tools_list", listed);
    client.cancel().await.unwrap();
    served.stop().await;
}

#[tokio::test]
async fn every_tool_through_an_mcp_client() {
    let served = Served::start().await;
    let wb = &served.workbench;
    let task = wb
        .tasks()
        .create(
            "LOCAL",
            TaskFields {
                title: Some("Add a login page".into()),
                description: Some("Use the v2 API".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let issue = openkit_core::issues::IssueRef::local(&task.id).unwrap();
    let todo = wb.notes().add_todo(&issue, "Write the form").unwrap().todos[0]
        .id
        .clone();

    let all = served.client(None).await;

    // create_worktree_for_issue: the REST flow (created, then reused).
    let created = data(
        &call(
            &all,
            "create_worktree_for_issue",
            json!({ "issue_id": "LOCAL-1" }),
        )
        .await,
    );
    assert_eq!(created["reusedExisting"], false, "{created}");
    assert_eq!(created["worktree"]["id"], "LOCAL-1");
    let reused = data(
        &call(
            &all,
            "create_worktree_for_issue",
            json!({ "issue_id": "LOCAL-1" }),
        )
        .await,
    );
    assert_eq!(reused["reusedExisting"], true, "{reused}");
    assert_eq!(reused["worktreeId"], "LOCAL-1");
    assert_eq!(
        NotesStore::new(served.repo.paths())
            .get(&issue)
            .unwrap()
            .linked_worktree_id
            .as_deref(),
        Some("LOCAL-1")
    );

    // list_worktrees: every worktree with its state, as the REST list shows it.
    let listed = data(&call(&all, "list_worktrees", json!({})).await);
    let ids: Vec<&str> = listed["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["root", "LOCAL-1"]);
    assert_eq!(
        listed["worktrees"][1]["localIssueId"], "LOCAL-1",
        "{listed}"
    );

    // task_context: the Markdown `openkit task context` prints.
    let context = call(&all, "task_context", json!({ "worktree_id": "local-1" })).await;
    assert_ne!(context.is_error, Some(true));
    let markdown = text(&context);
    assert!(
        markdown.starts_with("# LOCAL-1 — Add a login page\n"),
        "{markdown}"
    );
    assert!(markdown.contains("Use the v2 API"));
    assert!(markdown.contains(&todo));

    // todos_list and todo_check, written to the task's notes.
    let todos = data(&call(&all, "todos_list", json!({ "issue_id": "LOCAL-1" })).await);
    assert_eq!(todos["source"], "local");
    assert_eq!(todos["issueId"], "LOCAL-1");
    assert_eq!(todos["todos"][0]["text"], "Write the form");
    assert_eq!(todos["todos"][0]["checked"], false);
    let checked = data(
        &call(
            &all,
            "todo_check",
            json!({ "worktree_id": "LOCAL-1", "todo_id": todo }),
        )
        .await,
    );
    assert_eq!(checked["todo"]["checked"], true);
    assert!(wb.notes().get(&issue).unwrap().todos[0].checked);
    let missing = call(
        &all,
        "todo_check",
        json!({ "worktree_id": "LOCAL-1", "todo_id": "nope" }),
    )
    .await;
    refused(&missing, "TODO_NOT_FOUND");

    // report_phase and await_input: the activity events the CLI reports.
    let phase = data(
        &call(
            &all,
            "report_phase",
            json!({ "phase": "testing", "worktree_id": "LOCAL-1" }),
        )
        .await,
    );
    assert_eq!(phase["event"]["type"], "agent_phase");
    assert_eq!(phase["event"]["title"], "Agent in LOCAL-1: testing");
    assert_eq!(phase["event"]["metadata"]["phase"], "testing");
    let waiting = data(&call(&all, "await_input", json!({ "message": "Which API?" })).await);
    assert_eq!(waiting["event"]["type"], "agent_awaiting_input");
    assert_eq!(waiting["event"]["severity"], "warning");
    assert_eq!(waiting["event"]["detail"], "Which API?");
    assert!(
        waiting["event"].get("worktreeId").is_none(),
        "unscoped, none named: the main checkout"
    );
    let feed = wb
        .backbone()
        .activity()
        .query(&openkit_core::logs::ActivityQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    for kind in ["agent_phase", "agent_awaiting_input"] {
        assert!(feed.iter().any(|e| e.event_type == kind), "{kind} recorded");
    }
    let in_root = data(
        &call(
            &all,
            "report_phase",
            json!({ "phase": "reviewing", "worktree_id": "root" }),
        )
        .await,
    );
    assert_eq!(in_root["event"]["title"], "Agent in root: reviewing");
    assert!(
        in_root["event"].get("worktreeId").is_none(),
        "as the CLI reports from the main checkout"
    );
    let empty = call(&all, "report_phase", json!({ "phase": "  " })).await;
    refused(&empty, "INVALID_INPUT");

    // Terminals: list, type into one, read its screen.
    let worktree_dir = served.repo.paths().worktrees_dir().join("LOCAL-1");
    let session = served
        .terminals
        .spawn(
            "LOCAL-1",
            Some("terminal".into()),
            openkit_pty::SpawnOptions {
                cwd: worktree_dir,
                cols: 80,
                rows: 24,
                shell: Some("/bin/sh".into()),
                env: vec![("PS1".into(), "$ ".into())],
                ..Default::default()
            },
        )
        .unwrap();
    let sessions = data(&call(&all, "terminal_list", json!({ "worktree_id": "LOCAL-1" })).await);
    assert_eq!(
        sessions["sessions"][0]["id"],
        session.id.as_str(),
        "{sessions}"
    );
    assert_eq!(sessions["sessions"][0]["alive"], true);
    let sent = data(
        &call(
            &all,
            "terminal_send_input",
            json!({ "session_id": session.id, "text": "echo mcp-$((6*7))", "press_enter": true }),
        )
        .await,
    );
    assert_eq!(sent["bytes"], 18);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let screen = data(
            &call(
                &all,
                "terminal_read_screen",
                json!({ "session_id": session.id }),
            )
            .await,
        );
        if screen["text"]
            .as_str()
            .unwrap()
            .lines()
            .any(|l| l.ends_with("mcp-42") && !l.contains("echo"))
        {
            assert_eq!(screen["rows"], 24);
            assert_eq!(screen["cols"], 80);
            break;
        }
        assert!(Instant::now() < deadline, "never shown: {screen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unknown = call(
        &all,
        "terminal_read_screen",
        json!({ "session_id": "nope" }),
    )
    .await;
    refused(&unknown, "SESSION_NOT_FOUND");

    // Every tool call is traced in the ops log, like an API request.
    let traced = wb
        .backbone()
        .ops()
        .query(&openkit_core::logs::OpsQuery {
            source: Some("http".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert!(
        traced.iter().any(|e| {
            let meta = e.metadata.as_ref().unwrap();
            meta["path"] == "/mcp"
                && meta["requestPayload"]
                    .as_str()
                    .is_some_and(|p| p.contains("terminal_send_input"))
        }),
        "no trace of the tool call"
    );

    all.cancel().await.unwrap();
    served.terminals.kill(&session.id);
    served.stop().await;
}

#[tokio::test]
async fn a_scoped_session_touches_only_its_own_worktree() {
    let served = Served::start().await;
    let wb = &served.workbench;
    for title in ["Mine", "Theirs"] {
        let task = wb
            .tasks()
            .create(
                "LOCAL",
                TaskFields {
                    title: Some(title.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        wb.create_worktree_for_task(&task.id, None).await.unwrap();
    }
    let theirs = served
        .terminals
        .spawn(
            "LOCAL-2",
            None,
            openkit_pty::SpawnOptions {
                cwd: served.repo.paths().worktrees_dir().join("LOCAL-2"),
                shell: Some("/bin/sh".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let mine = served.client(Some("local-1")).await;

    // Its own worktree: without naming it.
    let listed = data(&call(&mine, "list_worktrees", json!({})).await);
    assert_eq!(listed["worktrees"].as_array().unwrap().len(), 1);
    assert_eq!(listed["worktrees"][0]["id"], "LOCAL-1");
    let context = call(&mine, "task_context", json!({})).await;
    assert!(
        text(&context).starts_with("# LOCAL-1 — Mine"),
        "{context:?}"
    );
    let phase = data(&call(&mine, "report_phase", json!({ "phase": "planning" })).await);
    assert_eq!(phase["event"]["worktreeId"], "LOCAL-1");
    assert_eq!(
        data(&call(&mine, "terminal_list", json!({})).await)["sessions"],
        json!([])
    );

    // Anything of another worktree: refused as a tool error, with a clear message.
    let message = refused(
        &call(&mine, "todos_list", json!({ "worktree_id": "LOCAL-2" })).await,
        "OUTSIDE_SCOPE",
    );
    assert!(
        message.contains("\"LOCAL-1\"") && message.contains("\"LOCAL-2\""),
        "{message}"
    );
    refused(
        &call(&mine, "task_context", json!({ "issue_id": "LOCAL-2" })).await,
        "OUTSIDE_SCOPE",
    );
    refused(
        &call(
            &mine,
            "create_worktree_for_issue",
            json!({ "issue_id": "LOCAL-2" }),
        )
        .await,
        "OUTSIDE_SCOPE",
    );
    refused(
        &call(
            &mine,
            "terminal_read_screen",
            json!({ "session_id": theirs.id }),
        )
        .await,
        "OUTSIDE_SCOPE",
    );
    refused(
        &call(
            &mine,
            "terminal_send_input",
            json!({ "session_id": theirs.id, "text": "x" }),
        )
        .await,
        "OUTSIDE_SCOPE",
    );
    refused(
        &call(&mine, "await_input", json!({ "worktree_id": "root" })).await,
        "OUTSIDE_SCOPE",
    );

    // A scope naming no worktree refuses everything.
    let lost = served.client(Some("gone")).await;
    refused(
        &call(&lost, "list_worktrees", json!({})).await,
        "OUTSIDE_SCOPE",
    );

    mine.cancel().await.unwrap();
    lost.cancel().await.unwrap();
    served.terminals.kill(&theirs.id);
    served.stop().await;
}

/// An MCP `initialize` as a client sends it.
fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "test", "version": "1" },
        },
    })
}

fn mcp_post(body: &Value) -> axum::http::request::Builder {
    let _ = body;
    Request::builder()
        .method("POST")
        .uri("/mcp")
        .header(header::ACCEPT, "application/json, text/event-stream")
}

#[tokio::test]
async fn mcp_passes_the_same_host_and_origin_checks() {
    let api = Api::new();
    let body = initialize();
    let json_body = || Body::from(body.to_string());

    // Our own client (no Origin, our Host): a session starts.
    let (status, headers, _) = api
        .send(
            mcp_post(&body)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("mcp-session-id"), "{headers:?}");

    // DNS rebinding: a foreign Host.
    let refused = |status: StatusCode, bytes: &[u8], code: &str| {
        let body: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], code, "{body}");
    };
    let (status, _, bytes) = api
        .send(
            mcp_post(&body)
                .header(header::HOST, "evil.example")
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
        )
        .await;
    refused(status, &bytes, "FORBIDDEN_HOST");
    let (status, _, bytes) = api
        .send(
            mcp_post(&body)
                .header(header::HOST, format!("localhost:{}", PORT + 1))
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
        )
        .await;
    refused(status, &bytes, "FORBIDDEN_HOST");

    // A page of another origin, even with a JSON body (after a preflight it never gets).
    let (status, headers, bytes) = api
        .send(
            mcp_post(&body)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::ORIGIN, "https://evil.example")
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
        )
        .await;
    refused(status, &bytes, "FORBIDDEN_ORIGIN");
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let (status, headers, _) = api
        .send(
            Request::builder()
                .method("OPTIONS")
                .uri("/mcp")
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::ORIGIN, "https://evil.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no preflight for other origins"
    );
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

    // The cross-site browser POSTs that need no preflight: a "simple" text/plain form
    // or no-cors fetch carrying a tool call, with or without Origin.
    let tool_call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "list_worktrees", "arguments": {} },
    });
    let (status, _, bytes) = api
        .send(
            mcp_post(&tool_call)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::ORIGIN, "https://evil.example")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(tool_call.to_string()))
                .unwrap(),
        )
        .await;
    refused(status, &bytes, "FORBIDDEN_ORIGIN");
    let (status, _, bytes) = api
        .send(
            mcp_post(&tool_call)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header("sec-fetch-site", "cross-site")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(tool_call.to_string()))
                .unwrap(),
        )
        .await;
    refused(status, &bytes, "FORBIDDEN_CROSS_SITE");
    let (status, _, bytes) = api
        .send(
            mcp_post(&tool_call)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(tool_call.to_string()))
                .unwrap(),
        )
        .await;
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "UNSUPPORTED_MEDIA_TYPE");

    // A page of ours may call it (and read the answer).
    let (status, headers, _) = api
        .send(
            mcp_post(&body)
                .header(header::HOST, format!("localhost:{PORT}"))
                .header(header::ORIGIN, format!("http://localhost:{PORT}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        format!("http://localhost:{PORT}").as_str()
    );
}

#[tokio::test]
async fn hook_tools_run_read_and_report_within_the_scope() {
    let served = Served::start().await;
    let wb = &served.workbench;
    for title in ["Mine", "Theirs"] {
        let task = wb
            .tasks()
            .create(
                "LOCAL",
                TaskFields {
                    title: Some(title.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        wb.create_worktree_for_task(&task.id, None).await.unwrap();
    }
    served.repo.write(
        ".openkit/hooks.json",
        &json!({
            "steps": [
                { "id": "check", "name": "Check", "command": "echo \"checked $OPENKIT_WORKTREE_ID\"" },
                { "id": "plan", "name": "Plan", "kind": "prompt", "prompt": "Plan first", "trigger": "pre-implementation" }
            ],
            "skills": [{ "skillName": "review", "enabled": true }]
        })
        .to_string(),
    );
    let mine = served.client(Some("local-1")).await;

    let steps = data(&call(&mine, "hook_steps", json!({})).await);
    assert_eq!(steps["worktreeId"], "LOCAL-1");
    assert_eq!(steps["steps"][1]["kind"], "prompt");
    assert_eq!(steps["skills"][0]["skillName"], "review");

    let run = data(&call(&mine, "hook_run", json!({})).await);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["steps"][0]["output"], "checked LOCAL-1\n");
    let again = data(&call(&mine, "hook_run", json!({ "step_id": "check" })).await);
    assert_eq!(again["cached"], true, "{again}");
    refused(
        &call(&mine, "hook_run", json!({ "trigger": "whenever" })).await,
        "INVALID_HOOK_TRIGGER",
    );
    refused(
        &call(&mine, "hook_run", json!({ "step_id": "plan" })).await,
        "HOOK_STEP_NOT_RUNNABLE",
    );

    let results = data(&call(&mine, "hook_results", json!({})).await);
    assert_eq!(results["results"]["status"]["status"], "completed");
    assert_eq!(results["flow"]["complete"], false);
    assert_eq!(results["flow"]["items"][1]["state"], "missing");
    let reported = data(
        &call(
            &mine,
            "report_hook_result",
            json!({ "skill_name": "review", "success": true, "summary": "Looks fine" }),
        )
        .await,
    );
    assert_eq!(reported, json!({ "success": true }));
    let results = data(&call(&mine, "hook_results", json!({})).await);
    assert_eq!(results["flow"]["complete"], true, "{results}");
    refused(
        &call(&mine, "report_hook_result", json!({ "success": true })).await,
        "INVALID_INPUT",
    );

    // Another worktree's hooks are out of this session's reach.
    for tool in ["hook_steps", "hook_run", "hook_results"] {
        refused(
            &call(&mine, tool, json!({ "worktree_id": "LOCAL-2" })).await,
            "OUTSIDE_SCOPE",
        );
    }
    refused(
        &call(
            &mine,
            "report_hook_result",
            json!({ "worktree_id": "LOCAL-2", "skill_name": "review", "success": true }),
        )
        .await,
        "OUTSIDE_SCOPE",
    );
    assert!(
        wb.hook_status("LOCAL-2").await.unwrap().is_none(),
        "nothing ran there"
    );

    // An unscoped session names the worktree.
    let all = served.client(None).await;
    refused(&call(&all, "hook_run", json!({})).await, "INVALID_INPUT");
    let theirs = data(&call(&all, "hook_run", json!({ "worktree_id": "local-2" })).await);
    assert_eq!(theirs["worktreeId"], "LOCAL-2");
    assert_eq!(theirs["steps"][0]["output"], "checked LOCAL-2\n");

    mine.cancel().await.unwrap();
    all.cancel().await.unwrap();
    served.stop().await;
}
