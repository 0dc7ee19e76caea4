//! Terminals kept by the holder process (issue 17): PTY output reaching a WebSocket
//! client through the holder (target >= 100 MB/s; `head -c 100000000 /dev/zero | base64`,
//! the issue's own command, and 100 MiB of zeros), next to the same output from
//! in-process sessions and from the PTY alone (`script`, no OpenKit: the kernel's line
//! discipline translating every newline is the ceiling for base64), and a server restart
//! with 20 live sessions (target: every session reattached with its restore frame in
//! under 1 s).
//!
//! The holder runs in a thread of this process (`holder::serve`), the servers are real
//! servers on free ports, the client a real WebSocket client.
//!
//! Run: `cargo bench -p openkit-benches --bench holder`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use openkit_core::Composition;
use openkit_core::testing::TestRepo;
use openkit_pty::TerminalManager;
use openkit_pty::holder::{self, HolderClient, HolderOptions};
use tokio_tungstenite::tungstenite::Message;

/// A server for `repo` whose terminals live in the holder on `socket`; its port and the
/// task serving it.
async fn server(repo: &TestRepo, socket: &std::path::Path) -> (u16, tokio::task::JoinHandle<()>) {
    let project = repo.paths().project_root().to_string_lossy().into_owned();
    let terminals =
        TerminalManager::with_holder(HolderClient::connect(socket, &project, None).unwrap());
    let bound = openkit_http::Server::compose_with(
        Composition::new(repo.paths(), repo.host_env()),
        terminals,
    )
    .unwrap()
    .port(0)
    .write_server_file(false)
    .bind()
    .await
    .unwrap();
    let port = bound.local_addr().port();
    let task = tokio::spawn(async move {
        let _ = bound.serve(std::future::pending()).await;
    });
    (port, task)
}

/// Base64 of 100 MB of zeros (135 MB of output with its newlines: 135,135,136 bytes).
const BASE64: &str = "head -c 100000000 /dev/zero | base64";
const TOTAL: usize = 135_000_000;
/// 100 MiB of zeros: no newlines, so the PTY's line discipline has nothing to translate.
const ZEROS: &str = "head -c 104857600 /dev/zero";
const ZEROS_TOTAL: usize = 104_857_600;

/// Seconds from the first to the last byte of `command`'s `total` bytes of output at a
/// WebSocket client of the server on `port`, best of 3.
async fn throughput(port: u16, command: &str, total: usize) -> f64 {
    let body = serde_json::json!({ "startupCommand": format!("sleep 0.3; {command}") }).to_string();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let session =
            openkit_benches::post_json(port, "/api/worktrees/bench-holder/terminals", &body).await;
        let id = session["sessionId"].as_str().unwrap().to_string();
        let url = format!("ws://127.0.0.1:{port}/api/terminals/{id}/ws");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut received = 0usize;
        let mut started = None;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Binary(b) = msg {
                started.get_or_insert_with(Instant::now);
                received += b.len();
            }
            if received >= total {
                break;
            }
        }
        assert!(received >= total, "received {received}");
        best = best.min(started.map_or(f64::MAX, |s| s.elapsed().as_secs_f64()));
    }
    best
}

fn main() {
    let rt = openkit_benches::runtime();
    rt.block_on(async {
        let repo = TestRepo::new();
        let dir = tempfile::tempdir().unwrap();
        let project = repo.paths().project_root().to_string_lossy().into_owned();
        let socket = holder::socket_path(dir.path(), repo.paths().project_root());
        let opts = HolderOptions {
            socket: socket.clone(),
            project,
            idle: Duration::from_secs(3600),
        };
        std::thread::spawn(move || holder::serve(opts));
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (port, first) = server(&repo, &socket).await;
        openkit_benches::post_json(port, "/api/worktrees", r#"{"branch":"bench/holder"}"#).await;

        // The same output from a session in the server's own process, for comparison.
        let bound = openkit_http::Server::open(repo.paths(), repo.host_env())
            .unwrap()
            .port(0)
            .write_server_file(false)
            .bind()
            .await
            .unwrap();
        let local = bound.local_addr().port();
        tokio::spawn(bound.serve(std::future::pending()));
        // The PTY's own ceiling for the same output, without OpenKit: `script` copying it
        // from a PTY to /dev/null (util-linux; skipped where it is missing).
        for (what, command, total) in [("base64", BASE64, TOTAL), ("zeros", ZEROS, ZEROS_TOTAL)] {
            let started = Instant::now();
            let ran = std::process::Command::new("script")
                .args(["-q", "-c", command, "/dev/null"])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ran {
                println!(
                    "pty alone (`script`), {what}: {:.0} MB/s",
                    total as f64 / 1e6 / started.elapsed().as_secs_f64()
                );
            }
            let best = throughput(local, command, total).await;
            println!(
                "pty->websocket, in-process sessions, {what}: {:.0} MB/s",
                total as f64 / 1e6 / best
            );
            let best = throughput(port, command, total).await;
            println!(
                "pty->holder->websocket, {what}: {:.0} MB/s",
                total as f64 / 1e6 / best
            );
        }
        // Restart with 20 live sessions, each with a screen to restore.
        let mut ids = Vec::new();
        for i in 0..20 {
            let body = format!(r#"{{"startupCommand":"echo session-{i}; exec cat"}}"#);
            let session =
                openkit_benches::post_json(port, "/api/worktrees/bench-holder/terminals", &body)
                    .await;
            ids.push(session["sessionId"].as_str().unwrap().to_string());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.abort();
        let _ = first.await;
        let started = Instant::now();
        let (port, _next) = server(&repo, &socket).await;
        for (i, id) in ids.iter().enumerate() {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!(
                "ws://127.0.0.1:{port}/api/terminals/{id}/ws"
            ))
            .await
            .unwrap();
            let restore = ws.next().await.unwrap().unwrap();
            assert!(
                restore.to_text().unwrap().contains(&format!("session-{i}")),
                "session {i} restored"
            );
        }
        println!(
            "server restart with 20 live sessions: all reattached with their screens in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    });
}
