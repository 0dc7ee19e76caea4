use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use futures_util::{SinkExt, StreamExt};
use openkit_core::testing::TestRepo;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Api, assert_error};

#[tokio::test]
async fn sessions_scopes_and_teardown() {
    let api = Api::new();
    api.create("feature/term").await;
    let (status, body) = api
        .post(
            "/api/worktrees/TERM/terminals",
            json!({ "scope": "terminal" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reusedScopedSession"], false);
    let shell = body["sessionId"].as_str().unwrap().to_string();

    // Same scope, no command: reused.
    let (_, again) = api
        .post(
            "/api/worktrees/term/terminals",
            json!({ "scope": "terminal" }),
        )
        .await;
    assert_eq!(
        (
            again["sessionId"].as_str(),
            again["reusedScopedSession"].as_bool()
        ),
        (Some(shell.as_str()), Some(true))
    );
    // A startup command replaces a shell-only scoped session.
    let (_, replaced) = api
        .post(
            "/api/worktrees/term/terminals",
            json!({ "scope": "terminal", "startupCommand": "sleep 60" }),
        )
        .await;
    assert_eq!(replaced["replacedScopedShellSession"], true);
    let agent = replaced["sessionId"].as_str().unwrap().to_string();
    assert_ne!(agent, shell);
    // An agent session is reused even when a command is given.
    let (_, reused) = api
        .post(
            "/api/worktrees/term/terminals",
            json!({ "scope": "terminal", "startupCommand": "sleep 61" }),
        )
        .await;
    assert_eq!(
        (
            reused["sessionId"].as_str(),
            reused["reusedScopedSession"].as_bool()
        ),
        (Some(agent.as_str()), Some(true))
    );

    let (_, active) = api
        .get("/api/worktrees/term/terminals/active?scope=terminal")
        .await;
    assert_eq!(active, json!({ "success": true, "sessionId": agent }));
    let (_, none) = api
        .get("/api/worktrees/term/terminals/active?scope=claude")
        .await;
    assert_eq!(none["sessionId"], Value::Null);
    let missing_scope = api.get("/api/worktrees/term/terminals/active").await;
    assert_error(&missing_scope, StatusCode::BAD_REQUEST, "INVALID_SCOPE");
    assert_eq!(
        missing_scope.1["error"],
        "scope is required (\"terminal\", \"claude\", \"codex\", \"gemini\", or \"opencode\")"
    );
    let bad_scope = api
        .post("/api/worktrees/term/terminals", json!({ "scope": "vim" }))
        .await;
    assert_error(&bad_scope, StatusCode::BAD_REQUEST, "INVALID_SCOPE");
    let no_worktree = api.post("/api/worktrees/nope/terminals", json!({})).await;
    assert_error(&no_worktree, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");

    // Absurd sizes are clamped, not refused.
    let (status, _) = api
        .post(
            "/api/worktrees/term/terminals",
            json!({ "cols": 0, "rows": 100000 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Deleting the worktree ends its sessions.
    let (status, body) = api.call(Method::DELETE, "/api/worktrees/term", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removedTerminalSessions"], 2);
    assert!(api.terminals.is_empty());
    let gone = api
        .call(Method::DELETE, &format!("/api/terminals/{agent}"), None)
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "SESSION_NOT_FOUND");
    assert_eq!(gone.1["error"], "Session not found");
}

/// A real server on a free port, for WebSocket tests.
async fn serve(repo: &TestRepo) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let server = openkit_http::Server::open(repo.paths(), repo.host_env())
        .unwrap()
        .port(0)
        .write_server_file(false);
    let bound = server.bind().await.unwrap();
    let port = bound.local_addr().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    (port, stop)
}

async fn http_post(port: u16, path: &str, body: Value) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let payload = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    serde_json::from_str(raw.split_once("\r\n\r\n").unwrap().1).unwrap()
}

async fn read_until(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    needle: &str,
) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(Message::Text(t)))) => seen.push_str(&t),
            Ok(Some(Ok(_))) => {}
            other => panic!("{needle:?} never arrived ({other:?}); got {seen:?}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_round_trip_restore_resize_and_exit() {
    let repo = TestRepo::new();
    let (port, _stop) = serve(&repo).await;
    let created = http_post(port, "/api/worktrees", json!({ "branch": "feature/ws" })).await;
    let wt_path = created["worktree"]["path"].as_str().unwrap().to_string();
    let session = http_post(
        port,
        "/api/worktrees/ws/terminals",
        json!({ "cols": 80, "rows": 24 }),
    )
    .await;
    let id = session["sessionId"].as_str().unwrap().to_string();
    let url = format!("ws://127.0.0.1:{port}/api/terminals/{id}/ws");

    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let restore: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    crate::openapi::validate_terminal_message(&restore);
    assert_eq!(restore["type"], "restore");
    ws.send(Message::text("echo ws-$((20+22)); pwd\n"))
        .await
        .unwrap();
    // `pwd` prints after the echo: the cwd is the worktree.
    let out = read_until(&mut ws, &format!("{wt_path}\r\n")).await;
    assert!(out.contains("ws-42"), "{out}");
    ws.send(Message::text(
        json!({ "type": "resize", "cols": 100, "rows": 30 }).to_string(),
    ))
    .await
    .unwrap();
    ws.send(Message::binary(b"stty size\n".to_vec()))
        .await
        .unwrap();
    read_until(&mut ws, "30 100").await;

    // A newer socket replaces this one and restores what was printed.
    let (mut second, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let restore = tokio::time::timeout(Duration::from_secs(10), second.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(restore.to_text().unwrap().contains("ws-42"));
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the older socket is closed");

    second.send(Message::text("exit 3\n")).await.unwrap();
    let exit = read_until(&mut second, "\"exit\"").await;
    let frame = exit
        .rsplit_once("{\"")
        .map(|(_, t)| format!("{{\"{t}"))
        .unwrap();
    let frame: Value = serde_json::from_str(&frame).unwrap();
    crate::openapi::validate_terminal_message(&frame);
    assert_eq!(frame, json!({ "type": "exit", "exitCode": 3 }));

    // Unknown sessions close with 1008 and a reason a client can match.
    let (mut unknown, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/terminals/nope/ws"))
            .await
            .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), unknown.next())
        .await
        .unwrap()
    {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1008);
            assert_eq!(frame.reason.as_str(), "session-not-found");
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_obey_the_origin_rule() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let repo = TestRepo::new();
    let (port, _stop) = serve(&repo).await;
    let mut request = format!("ws://127.0.0.1:{port}/api/terminals/any/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

/// The agent sessions of worktree `id` in the list.
async fn agent_sessions(api: &Api, id: &str) -> Value {
    let (_, list) = api.get("/api/worktrees").await;
    list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .map(|w| w["agentSessions"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_hook_reports_reach_the_list_and_the_feed() {
    let api = Api::new();
    api.create("feature/agent").await;
    let (_, created) = api
        .post(
            "/api/worktrees/agent/terminals",
            json!({ "scope": "claude", "startupCommand": "sleep 60" }),
        )
        .await;
    let session = created["sessionId"].as_str().unwrap().to_string();
    let (_, shell) = api
        .post(
            "/api/worktrees/agent/terminals",
            json!({ "scope": "terminal" }),
        )
        .await;
    let shell = shell["sessionId"].as_str().unwrap().to_string();
    assert_eq!(agent_sessions(&api, "agent").await[0]["state"], "starting");

    let uri = format!("/api/terminals/{session}/attention");
    let (status, body) = api
        .post(&uri, json!({ "event": "waiting-for-input", "message": "Claude needs your permission to use Bash" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!(body, { ".session.sessionId" => "[id]", ".session.since" => "[time]" }, @r#"
    {
      "success": true,
      "session": {
        "sessionId": "[id]",
        "agent": "claude",
        "state": "waiting-for-input",
        "source": "hook",
        "since": "[time]",
        "message": "Claude needs your permission to use Bash"
      }
    }
    "#);
    let listed = agent_sessions(&api, "agent").await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the shell is no agent: {listed}"
    );
    assert_eq!(listed[0]["state"], "waiting-for-input");
    assert_eq!(listed[0]["sessionId"], session.as_str());

    let (status, _) = api.post(&uri, json!({ "event": "finished" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(agent_sessions(&api, "agent").await[0]["state"], "idle");

    // The feed says who needs whom, and who is done.
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let (_, feed) = api.get("/api/activity?category=agent").await;
        let events: Vec<(String, String)> = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap().to_string(),
                    e["title"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if events.len() >= 2 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        events.contains(&(
            "agent_awaiting_input".into(),
            "Claude in agent is waiting for input".into()
        )),
        "{events:?}"
    );
    assert!(
        events.contains(&(
            "agent_finished".into(),
            "Claude in agent finished its turn".into()
        )),
        "{events:?}"
    );

    // Bad reports.
    assert_error(
        &api.post(&uri, json!({ "event": "sleeping" })).await,
        StatusCode::BAD_REQUEST,
        "INVALID_EVENT",
    );
    assert_error(
        &api.post(
            &format!("/api/terminals/{shell}/attention"),
            json!({ "event": "idle" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "NOT_AN_AGENT_SESSION",
    );
    assert_error(
        &api.post("/api/terminals/nope/attention", json!({ "event": "idle" }))
            .await,
        StatusCode::NOT_FOUND,
        "SESSION_NOT_FOUND",
    );
}
