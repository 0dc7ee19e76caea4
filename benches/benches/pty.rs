//! Terminals: PTY-to-WebSocket throughput for 100 MB of output (target >= 100 MB/s),
//! keystroke echo latency over loopback (target p50 < 1 ms), memory per idle session.
//! Runs a real server on a free port and a real WebSocket client.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use openkit_core::testing::TestRepo;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let rt = openkit_benches::runtime();
    rt.block_on(async {
        let repo = TestRepo::new();
        let bound = openkit_http::Server::open(repo.paths(), repo.host_env())
            .unwrap()
            .port(0)
            .write_server_file(false)
            .bind()
            .await
            .unwrap();
        let port = bound.local_addr().port();
        tokio::spawn(bound.serve(std::future::pending()));
        openkit_benches::post_json(port, "/api/worktrees", r#"{"branch":"bench/pty"}"#).await;

        // Throughput: 100 MiB of output through PTY, fan-out and WebSocket.
        const TOTAL: usize = 100 * 1024 * 1024;
        let mut best = f64::MAX;
        for _ in 0..3 {
            let session = openkit_benches::post_json(port, "/api/worktrees/bench-pty/terminals", r#"{"startupCommand":"sleep 0.3; head -c 104857600 /dev/zero"}"#).await;
            let id = session["sessionId"].as_str().unwrap().to_string();
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/terminals/{id}/ws")).await.unwrap();
            let mut received = 0usize;
            let mut started = None;
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Binary(b) = msg {
                    started.get_or_insert_with(Instant::now);
                    received += b.len();
                }
                if received >= TOTAL {
                    break;
                }
            }
            let secs = started.map_or(f64::MAX, |s| s.elapsed().as_secs_f64());
            best = best.min(secs);
            assert!(received >= TOTAL, "received {received}");
        }
        println!("pty->websocket throughput: {:.0} MB/s (100 MiB, best of 3: {:.2} s)", TOTAL as f64 / 1e6 / best, best);

        // Echo latency: a keystroke in, its echo out, through `cat` on the PTY.
        let session = openkit_benches::post_json(port, "/api/worktrees/bench-pty/terminals", r#"{"startupCommand":"exec cat"}"#).await;
        let id = session["sessionId"].as_str().unwrap().to_string();
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/terminals/{id}/ws")).await.unwrap();
        let _restore = ws.next().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut samples = Vec::with_capacity(500);
        for i in 0..500 {
            let key = [b'a' + (i % 26) as u8];
            let started = Instant::now();
            ws.send(Message::binary(key.to_vec())).await.unwrap();
            loop {
                match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                    Ok(Some(Ok(Message::Binary(b)))) if b.contains(&key[0]) => break,
                    Ok(Some(Ok(_))) => {}
                    other => panic!("no echo: {other:?}"),
                }
            }
            samples.push(started.elapsed());
        }
        samples.sort();
        let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
        println!("keystroke echo latency: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms", pct(0.5), pct(0.9), pct(0.99));

        // Memory per idle session: the server's own RSS and the shells'.
        let before = openkit_benches::rss_kb(std::process::id());
        let mut shells = Vec::new();
        for _ in 0..50 {
            let s = openkit_benches::post_json(port, "/api/worktrees/bench-pty/terminals", "{}").await;
            shells.push(s["sessionId"].as_str().unwrap().to_string());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = openkit_benches::rss_kb(std::process::id());
        let children: u64 = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| s.rsplit(')').next()?.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(std::process::id())
            })
            .map(openkit_benches::rss_kb)
            .sum();
        println!(
            "idle session memory: {:.0} KB in the server per session (RSS {before} -> {after} KB for 50), shells {:.0} KB each",
            after.saturating_sub(before) as f64 / 50.0,
            children as f64 / 50.0
        );
    });
}
