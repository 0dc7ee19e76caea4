//! Terminal sessions live in the project's holder process (issue 17): they survive a
//! graceful stop and a `kill -9` of the server, the next server finds them with their
//! screens and exit codes, and `--stop-sessions` ends them.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use openkit_core::testing::TestRepo;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Served, http, http_get};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn attach(port: u16, id: &str) -> (Socket, String) {
    let url = format!("ws://127.0.0.1:{port}/api/terminals/{id}/ws");
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a restore frame")
        .unwrap()
        .unwrap();
    let restore: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(restore["type"], "restore");
    (ws, restore["payload"].as_str().unwrap().to_string())
}

/// Reads output (and text frames) until `needle` appears (10 s at most).
async fn read_until(ws: &mut Socket, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(Message::Text(t)))) => seen.push_str(&t),
            Ok(Some(Ok(_))) => {}
            _ => panic!("{needle:?} never came; got {seen:?}"),
        }
    }
    seen
}

fn active(port: u16, worktree: &str) -> Value {
    http_get(
        port,
        &format!("/api/worktrees/{worktree}/terminals/active?scope=terminal"),
    )
    .1["sessionId"]
        .clone()
}

fn holders(repo: &TestRepo) -> Vec<u32> {
    let home = repo
        .env()
        .into_iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| v)
        .unwrap();
    let wanted = std::path::Path::new(&home).join(".openkit/holders");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("__terminal-holder") && c.contains(wanted.to_str().unwrap())
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_outlive_a_killed_and_a_stopped_server() {
    let repo = TestRepo::new();
    let mut server = Served::start(&repo);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/worktrees",
        Some(json!({ "branch": "feature/keep" })),
    );
    assert!(status < 300, "{body}");
    let (status, body) = http(
        server.port,
        "POST",
        "/api/worktrees/keep/terminals",
        Some(json!({ "scope": "terminal" })),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["sessionId"].as_str().unwrap().to_string();
    let (mut ws, _) = attach(server.port, &id).await;
    ws.send(Message::text("echo before-$((40+2))\n"))
        .await
        .unwrap();
    read_until(&mut ws, "before-42").await;
    assert_eq!(holders(&repo).len(), 1);

    // kill -9: the session lives on in the holder; the next server finds it.
    std::process::Command::new("kill")
        .args(["-9", &server.child.id().to_string()])
        .status()
        .unwrap();
    let _ = server.child.wait();
    let started = Instant::now();
    let mut next = Served::start(&repo);
    assert_eq!(active(next.port, "keep"), id.as_str());
    let (mut ws, restore) = attach(next.port, &id).await;
    eprintln!(
        "restart with a live session: reattached in {:?}",
        started.elapsed()
    );
    assert!(
        restore.contains("before-42"),
        "the screen is restored: {restore:?}"
    );
    ws.send(Message::text("echo after-$((40+3))\n"))
        .await
        .unwrap();
    read_until(&mut ws, "after-43").await;
    assert_eq!(holders(&repo).len(), 1, "one holder per project");

    // A graceful stop leaves it too; the exit code still reaches the next client.
    drop(ws);
    next.stop();
    let third = Served::start(&repo);
    let (mut ws, _) = attach(third.port, &id).await;
    ws.send(Message::text("exit 7\n")).await.unwrap();
    let end = read_until(&mut ws, "\"exit\"").await;
    assert!(end.contains("\"exitCode\":7"), "{end}");
    assert_eq!(active(third.port, "keep"), Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sessions_ends_them_with_the_server() {
    let repo = TestRepo::new();
    let mut server = Served::start_args(&repo, &["--stop-sessions"]);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/worktrees",
        Some(json!({ "branch": "feature/gone" })),
    );
    assert!(status < 300, "{body}");
    let (_, body) = http(
        server.port,
        "POST",
        "/api/worktrees/gone/terminals",
        Some(json!({ "scope": "terminal", "startupCommand": "sleep 4321" })),
    );
    assert!(body["sessionId"].is_string(), "{body}");
    let sleeping = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x004321\x00")
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sleeping() {
        assert!(Instant::now() < deadline, "the session's command never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(holders(&repo).len(), 1);
    server.stop();
    while !holders(&repo).is_empty() || sleeping() {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "the holder or its session still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let next = Served::start(&repo);
    assert_eq!(active(next.port, "gone"), Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_is_replaced_and_the_server_carries_on() {
    let repo = TestRepo::new();
    let server = Served::start(&repo);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/worktrees",
        Some(json!({ "branch": "feature/again" })),
    );
    assert!(status < 300, "{body}");
    let create = || {
        http(
            server.port,
            "POST",
            "/api/worktrees/again/terminals",
            Some(json!({ "scope": "terminal" })),
        )
    };
    let (status, body) = create();
    assert_eq!(status, 200, "{body}");
    let first = body["sessionId"].as_str().unwrap().to_string();
    let old = holders(&repo);
    assert_eq!(old.len(), 1);
    std::process::Command::new("kill")
        .args(["-9", &old[0].to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while holders(&repo) == old {
        assert!(Instant::now() < deadline, "the holder did not die");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its sessions are gone with it; the server's next terminal gets a new holder.
    assert_eq!(active(server.port, "again"), Value::Null);
    let (status, body) = create();
    assert_eq!(status, 200, "{body}");
    let second = body["sessionId"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let now = holders(&repo);
    assert_eq!(now.len(), 1);
    assert_ne!(now, old);
    let (mut ws, _) = attach(server.port, &second).await;
    ws.send(Message::text("echo back-$((40+4))\n"))
        .await
        .unwrap();
    read_until(&mut ws, "back-44").await;
}
