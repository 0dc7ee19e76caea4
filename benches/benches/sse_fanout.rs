//! SSE fan-out: 1,000 clients on `GET /api/events`; the time from recording one activity
//! event until every client has received it, and the memory each client costs.

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

criterion_group!(benches, fanout);
criterion_main!(benches);
