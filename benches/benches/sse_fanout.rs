//! SSE fan-out: 1,000 clients on `GET /api/events`.
//!
//! - `sse_fanout/one_event_to_1000_clients`: the time from recording one activity event
//!   until every client has received it.
//! - `sse_connect` (printed), at N = 0 and 500 worktrees (live status engine): the time to
//!   connect 1,000 clients one after the other (each until its snapshot arrived, then
//!   reading on as a browser does); the heap held per connected client (connected minus
//!   after all left: server side plus the client's own reader in this same process, an
//!   upper bound) and what the round's 1,000 requests left behind (their ops-log lines,
//!   the bus replay ring, caches), twice. Heap bytes come from a counting allocator
//!   (`stats_alloc`), so they are exact, unlike RSS.
//!
//! Targets (issue 9): connect cost independent of N; <= 16 KiB of server memory per idle
//! client, returned when it leaves.
//!
//! Run: `cargo bench -p openkit-benches --bench sse_fanout`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::ActivityEvent;
use tokio::sync::Notify;
use tower::ServiceExt;

const CLIENTS: usize = 1000;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed, process-wide.
fn heap_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

/// Opens `/api/events` and reads until the three snapshot frames arrived; then keeps
/// reading in a task of its own, as a browser does. Dropping the handle disconnects.
async fn connect(app: &axum::Router) -> tokio::task::JoinHandle<()> {
    let req = Request::get("/api/events")
        .header(header::HOST, openkit_benches::HOST)
        .body(Body::empty())
        .unwrap();
    let mut body = app.clone().oneshot(req).await.unwrap().into_body();
    let mut frames = 0;
    while frames < 3 {
        let frame = body.frame().await.expect("stream open").expect("a frame");
        // The server sends one SSE frame per body chunk; keep-alive comments start
        // with ':'. Counting chunks keeps the client's own cost out of the figure.
        if let Ok(data) = frame.into_data()
            && !data.starts_with(b":")
        {
            frames += 1;
        }
    }
    tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} })
}

fn connect_cost(_: &mut Criterion) {
    let rt = openkit_benches::runtime();
    for n in [0, 500] {
        let repo = openkit_benches::project_with_worktrees(n);
        let (workbench, _background) = openkit_benches::live_workbench(&rt, &repo);
        let app = openkit_benches::router(workbench);
        rt.block_on(async {
            // One connect first, so lazily built state is not counted per client.
            connect(&app).await.abort();
            tokio::time::sleep(Duration::from_millis(100)).await;
            // Two rounds: what a round leaves behind (its requests' ops-log lines, the bus
            // replay ring, caches) is not what a connection holds.
            for round in 1..=2 {
                let heap0 = heap_bytes();
                let started = Instant::now();
                let mut clients = Vec::with_capacity(CLIENTS);
                for _ in 0..CLIENTS {
                    clients.push(connect(&app).await);
                }
                let took = started.elapsed();
                tokio::time::sleep(Duration::from_millis(200)).await;
                let connected = heap_bytes();
                for client in clients {
                    client.abort();
                }
                // Each server-side pump notices its client left and ends.
                tokio::time::sleep(Duration::from_millis(500)).await;
                let left = heap_bytes();
                println!(
                    "sse_connect N={n} round {round}: {CLIENTS} clients in {:.0} ms ({:.0} µs each); heap held per connected client {:.1} KiB (returned when it leaves); heap the round's requests left behind {:.1} KiB",
                    took.as_secs_f64() * 1e3,
                    took.as_secs_f64() * 1e6 / CLIENTS as f64,
                    (connected - left) as f64 / 1024.0 / CLIENTS as f64,
                    (left - heap0) as f64 / 1024.0,
                );
            }
        });
    }
}

fn fanout(c: &mut Criterion) {
    let rt = openkit_benches::runtime();
    let repo = openkit_benches::project();
    let workbench = openkit_benches::workbench(&repo);
    let backbone = Arc::clone(workbench.backbone());
    let app = openkit_benches::router(Arc::clone(&workbench));
    // Each client counts the live activity events it has seen.
    let received = Arc::new(AtomicUsize::new(0));
    let arrived = Arc::new(Notify::new());
    let before = openkit_benches::rss_kb(std::process::id());
    rt.block_on(async {
        let ready = Arc::new(AtomicUsize::new(0));
        for _ in 0..CLIENTS {
            let req = Request::get("/api/events")
                .header(header::HOST, openkit_benches::HOST)
                .body(Body::empty())
                .unwrap();
            let mut body = app.clone().oneshot(req).await.unwrap().into_body();
            let (received, arrived, ready) = (
                Arc::clone(&received),
                Arc::clone(&arrived),
                Arc::clone(&ready),
            );
            tokio::spawn(async move {
                let mut snapshot_frames = 0;
                while let Some(Ok(frame)) = body.frame().await {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&data);
                    if snapshot_frames < 3 {
                        snapshot_frames += text.matches("data:").count();
                        if snapshot_frames >= 3 {
                            ready.fetch_add(1, Ordering::SeqCst);
                        }
                        continue;
                    }
                    if text.contains("\"type\":\"activity\"") {
                        received.fetch_add(1, Ordering::SeqCst);
                        arrived.notify_one();
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while ready.load(Ordering::SeqCst) < CLIENTS {
            assert!(Instant::now() < deadline, "clients did not all connect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let after = openkit_benches::rss_kb(std::process::id());
    println!(
        "sse fan-out: {CLIENTS} clients connected; memory per client ≈ {:.1} KB (RSS {before} KB -> {after} KB)",
        (after.saturating_sub(before)) as f64 / CLIENTS as f64
    );

    let mut group = c.benchmark_group("sse_fanout");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("one_event_to_1000_clients", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let target = received.load(Ordering::SeqCst) + CLIENTS;
                    let started = Instant::now();
                    let event = ActivityEvent::new(
                        ActivityCategory::Agent,
                        "bench",
                        Severity::Info,
                        "fan-out",
                    );
                    backbone.record_activity(event).unwrap();
                    while received.load(Ordering::SeqCst) < target {
                        let _ = tokio::time::timeout(Duration::from_millis(50), arrived.notified())
                            .await;
                    }
                    total += started.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group!(benches, connect_cost, fanout);
criterion_main!(benches);
