//! Ops-log queries on logs of 100k and 1M events, cold index builds, append throughput,
//! and what request tracing costs a read.
//!
//! The fixtures are written once, straight to JSONL ([`write_ops_fixture`]: the exact lines
//! `OpsLog::append` writes; a realistic mix of `http`, `git`, `worktree`, `devserver` and
//! `ui.*` events, ~350 bytes each, ~1.1 % errors, 5 % `ui.*`), under a temporary directory,
//! and reused by every iteration.
//!
//! - `ops_log_query/*/N`: queries on a warm store (its index built by one query first):
//!   `level_error_limit100` (`level=error&limit=100`), `source_ui_limit100`
//!   (`source=ui&limit=100`, substring), `unfiltered_limit100` (`limit=100`),
//!   `since_cursor_limit200` (`since=<iso>:<id>` of the 101st newest event, so 100 events
//!   come back) and, as the worst case, `source_no_match_limit100` (a source filter that
//!   matches nothing, so the whole log is scanned).
//! - `ops_log_cold/open_and_query/N`: a new `OpsLog` plus its first `limit=100` query, i.e.
//!   the index build over the whole file (the file itself is in the page cache).
//! - `ops_log_append/*`: events per second for one `OpsLog::append` (`store_append`), and
//!   for `Backbone::record_ops` (redaction, direct append, bus publish) in a project with
//!   a realistic config: well below the size cap (`backbone_record_ops`), and on a log at
//!   the default 50 MB cap (`backbone_record_ops_at_50MB_cap`; size retention runs on the
//!   backbone's maintenance thread, not in the append). Printed afterwards: one size
//!   retention pass, and the next query (the pass carries the index over).
//! - `http_trace/*`: one `GET` answered with a ~48 KiB JSON document, without the trace
//!   middleware (`get_48KiB_untraced`), with it (`get_48KiB_traced`), and with it on an ops
//!   log at its 50 MB cap (`get_48KiB_traced_at_50MB_cap`). Printed afterwards: the ops-log
//!   growth per traced read, and the latency distribution (p50/p99/p99.9/max) of 40,000
//!   such reads from 8 concurrent clients, untraced and traced at the cap.
//!
//! Target: a filtered query with limit 100 on 1M events under 50 ms.
//!
//! Run: `cargo bench -p openkit-benches --bench logs` (about 2 minutes; add
//! `-- --quick` for a fast pass, or `-- 'http_trace|ops_log_append'` for the append and
//! tracing figures only).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use openkit_benches::{REALISTIC_CONFIG, ops_event, ops_timestamp, write_ops_fixture};
use openkit_core::Paths;
use openkit_core::backbone::Backbone;
use openkit_core::logs::{Level, OpsLog, OpsQuery, Retention, parse_since};
use openkit_core::testing::TestRepo;
use openkit_http::{AppState, SecurityPolicy};
use tower::ServiceExt;

const SIZES: [usize; 2] = [100_000, 1_000_000];

/// `limit=100`, nothing else.
fn limit(limit: usize) -> OpsQuery {
    OpsQuery {
        limit,
        ..Default::default()
    }
}

/// The query cases on a log of `n` events: name, query, and how many events it returns.
fn cases(n: usize) -> Vec<(&'static str, OpsQuery, usize)> {
    let cursor = format!("{}:{}", ops_timestamp(n - 101), ops_event(n - 101).id);
    vec![
        (
            "level_error_limit100",
            OpsQuery {
                level: Some(Level::Error),
                ..limit(100)
            },
            100,
        ),
        (
            "source_ui_limit100",
            OpsQuery {
                source: Some("ui".into()),
                ..limit(100)
            },
            100,
        ),
        ("unfiltered_limit100", limit(100), 100),
        (
            "since_cursor_limit200",
            OpsQuery {
                since: Some(parse_since(&cursor).expect("a valid cursor")),
                ..limit(200)
            },
            100,
        ),
        (
            "source_no_match_limit100",
            OpsQuery {
                source: Some("kubernetes".into()),
                ..limit(100)
            },
            0,
        ),
    ]
}

fn fixture(dir: &Path, n: usize) -> std::path::PathBuf {
    let path = dir.join(format!("ops-{n}.jsonl"));
    let started = Instant::now();
    let bytes = write_ops_fixture(&path, n).expect("writing the fixture");
    println!(
        "fixture: {n} events, {:.1} MB ({} B/event), written in {:.2} s",
        bytes as f64 / 1e6,
        bytes / n as u64,
        started.elapsed().as_secs_f64()
    );
    path
}

fn logs(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let paths: Vec<_> = SIZES.iter().map(|&n| (n, fixture(dir.path(), n))).collect();

    let mut group = c.benchmark_group("ops_log_query");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (n, path) in &paths {
        let n = *n;
        let log = OpsLog::new(path);
        let started = Instant::now();
        assert_eq!(log.store().len().expect("indexing"), n);
        println!(
            "index build (first query) of {n} events: {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        for (name, query, expected) in cases(n) {
            let got = log.query(&query).expect("querying");
            assert_eq!(got.len(), expected, "{name} on {n}");
            if name == "source_no_match_limit100" {
                group.sample_size(10);
            }
            group.bench_with_input(BenchmarkId::new(name, n), &query, |b, q| {
                b.iter(|| black_box(log.query(q).expect("querying")))
            });
            group.sample_size(20);
        }
    }
    group.finish();

    let mut group = c.benchmark_group("ops_log_cold");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (n, path) in &paths {
        group.bench_with_input(BenchmarkId::new("open_and_query", n), path, |b, path| {
            b.iter(|| {
                let events = OpsLog::new(path).query(&limit(100)).expect("querying");
                assert_eq!(events.len(), 100);
                events
            })
        });
    }
    group.finish();
}

/// A project directory under `dir` whose config is [`REALISTIC_CONFIG`] with the ops-log
/// size cap set to `cap_mb`.
fn project(dir: &Path, name: &str, cap_mb: u32) -> Paths {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join(".openkit")).expect("creating the project");
    let config = REALISTIC_CONFIG.replace(
        r#""opsLog": { "retentionDays": 3, "maxSizeMB": 50 }"#,
        &ops_retention(cap_mb),
    );
    assert!(config.contains(&format!("\"maxSizeMB\": {cap_mb} }}")));
    std::fs::write(root.join(".openkit/config.json"), config).expect("writing the config");
    Paths::new(root, dir.join("global"))
}

/// The `opsLog` setting of the benchmark projects: a size cap of `cap_mb` and an age limit
/// no fixture event reaches (the fixtures are dated 2026-01-01, and time-based retention
/// must not empty them behind the benchmark's back).
fn ops_retention(cap_mb: u32) -> String {
    format!(r#""opsLog": {{ "retentionDays": 36500, "maxSizeMB": {cap_mb} }}"#)
}

/// Events of [`ops_event`] that fill `bytes` bytes.
fn events_for(bytes: u64) -> usize {
    let per_event = serde_json::to_string(&ops_event(1))
        .expect("encoding")
        .len() as u64
        + 1;
    (bytes / per_event) as usize
}

fn appends(c: &mut Criterion) {
    const MIB: u64 = 1024 * 1024;
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut group = c.benchmark_group("ops_log_append");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));

    let log = OpsLog::new(dir.path().join("append.jsonl"));
    let event = ops_event(61); // a `git status` trace
    group.bench_function("store_append", |b| {
        b.iter(|| log.append(&event).expect("appending"))
    });

    // Below the size cap: no retention pass can run during the measurement.
    let below = Backbone::new(project(dir.path(), "below-cap", 1000));
    group.bench_function("backbone_record_ops", |b| {
        b.iter(|| below.record_ops(event.clone()).expect("recording"))
    });

    // At the (default, 50 MB) cap: the log starts just under it, so size retention trims
    // it to 40 MB every few tens of thousands of appends; the figure is amortised.
    let at_cap = Backbone::new(project(dir.path(), "at-cap", 50));
    let ops_path = at_cap.ops().store().path().to_path_buf();
    write_ops_fixture(&ops_path, events_for(50 * MIB - MIB / 4)).expect("filling the log");
    group.bench_function("backbone_record_ops_at_50MB_cap", |b| {
        b.iter(|| at_cap.record_ops(event.clone()).expect("recording"))
    });
    group.finish();

    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    println!(
        "append files after the run: store {:.1} MB, below-cap ops log {:.1} MB, at-cap ops log {:.1} MB",
        size(log.store().path()) as f64 / 1e6,
        size(below.ops().store().path()) as f64 / 1e6,
        size(&ops_path) as f64 / 1e6,
    );

    // One size-retention pass as the maintenance thread runs it (50 MB + 10 % -> 40 MB),
    // and the next query (the pass carries the index over to the new file).
    let path = dir.path().join("retention.jsonl");
    let n = events_for(55 * MIB);
    write_ops_fixture(&path, n).expect("writing the fixture");
    let store = OpsLog::new(&path);
    let policy = Retention {
        retention_days: None,
        max_size_mb: Some(40.0),
    };
    let started = Instant::now();
    let impact = store
        .store()
        .apply_retention(policy, chrono::Utc::now().timestamp_millis())
        .expect("applying retention");
    let pass = started.elapsed();
    let started = Instant::now();
    assert_eq!(store.query(&limit(100)).expect("querying").len(), 100);
    println!(
        "size-retention pass on a cold {:.1} MB log ({n} events, {} removed): {:.0} ms; \
         the next query: {:.0} ms",
        impact.current_bytes as f64 / 1e6,
        impact.entries_to_remove,
        pass.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
}

/// `GET /api/big`: a ~48 KiB JSON document (150 ops-log events, under the tracer's 64 KiB
/// capture limit), served with the ops-log trace middleware or without it.
fn big_router(state: Option<AppState>, body: Bytes) -> Router {
    let app = Router::new().route(
        "/api/big",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    match state {
        Some(state) => app.layer(axum::middleware::from_fn_with_state(
            state,
            openkit_http::trace::record,
        )),
        None => app,
    }
}

/// The large read the tracing benchmarks serve.
fn big_body() -> Bytes {
    let events: Vec<_> = (0..150).map(ops_event).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "events": events })).expect("encoding");
    assert!(
        (40 * 1024..64 * 1024).contains(&body.len()),
        "{}",
        body.len()
    );
    Bytes::from(body)
}

/// A fixture project whose ops log is capped at `cap_mb`, and the server state over it.
fn traced_project(cap_mb: u32) -> (TestRepo, AppState) {
    let repo = openkit_benches::project();
    let config = REALISTIC_CONFIG.replace(
        r#""opsLog": { "retentionDays": 3, "maxSizeMB": 50 }"#,
        &ops_retention(cap_mb),
    );
    repo.write(".openkit/config.json", &config);
    let workbench = openkit_benches::workbench(&repo);
    let state = AppState::new(
        workbench,
        openkit_pty::TerminalManager::new(),
        SecurityPolicy::for_port(openkit_benches::PORT),
    );
    (repo, state)
}

async fn get_big(app: &Router) -> Duration {
    let request = Request::get("/api/big")
        .header(header::HOST, openkit_benches::HOST)
        .body(Body::empty())
        .expect("a valid request");
    let started = Instant::now();
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.expect("a body");
    black_box(body.to_bytes());
    started.elapsed()
}

/// Latencies of `total` requests sent by `clients` concurrent clients, sorted.
fn load(rt: &tokio::runtime::Runtime, app: &Router, clients: usize, total: usize) -> Vec<Duration> {
    let mut all = rt.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(total / clients);
                    for _ in 0..total / clients {
                        out.push(get_big(&app).await);
                    }
                    out
                })
            })
            .collect();
        let mut all = Vec::with_capacity(total);
        for task in tasks {
            all.extend(task.await.expect("a client task"));
        }
        all
    });
    all.sort();
    all
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// The per-request cost of tracing a read with a large response: the same `GET` served
/// without the trace middleware, with it, and with it on an ops log at its 50 MB size cap;
/// then the latency distribution under load (8 concurrent clients) at the cap, where a
/// size-retention pass inside a request holds every other request up.
fn tracing(c: &mut Criterion) {
    const MIB: u64 = 1024 * 1024;
    let rt = openkit_benches::runtime();
    let body = big_body();
    let (_below_repo, below) = traced_project(1000);
    let (_cap_repo, at_cap) = traced_project(50);
    let ops_path = at_cap.backbone().ops().store().path().to_path_buf();
    write_ops_fixture(&ops_path, events_for(50 * MIB - MIB / 4)).expect("filling the log");

    let untraced = big_router(None, body.clone());
    let traced = big_router(Some(below.clone()), body.clone());
    let traced_at_cap = big_router(Some(at_cap.clone()), body.clone());

    let mut group = c.benchmark_group("http_trace");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for (name, app) in [
        ("get_48KiB_untraced", &untraced),
        ("get_48KiB_traced", &traced),
        ("get_48KiB_traced_at_50MB_cap", &traced_at_cap),
    ] {
        group.bench_function(name, |b| b.iter(|| rt.block_on(get_big(app))));
    }
    group.finish();

    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let before = size(below.backbone().ops().store().path());
    let n = 2000;
    rt.block_on(async {
        for _ in 0..n {
            get_big(&traced).await;
        }
    });
    // Reading the log waits for any queued trace records to reach the file.
    below
        .backbone()
        .ops()
        .query(&limit(1))
        .expect("querying the log");
    println!(
        "ops log growth per traced 48 KiB GET: {} bytes",
        (size(below.backbone().ops().store().path()) - before) / n
    );

    for (name, app, traced) in [
        ("untraced", &untraced, false),
        ("traced, ops log over its 50 MB cap", &traced_at_cap, true),
    ] {
        let clients = 8;
        let total = 200_000;
        // With tracing, the log starts just over its cap and a maintenance pass (the size
        // retention the backbone runs in the background) rewrites it during the load.
        let pruner = traced.then(|| {
            at_cap.backbone().flush();
            write_ops_fixture(&ops_path, events_for(51 * MIB)).expect("filling the log");
            let backbone = std::sync::Arc::clone(at_cap.backbone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                let started = Instant::now();
                let prunes = backbone.run_maintenance(false, chrono::Utc::now().timestamp_millis());
                (started.elapsed(), prunes)
            })
        });
        let started = Instant::now();
        let lat = load(&rt, app, clients, total);
        let wall = started.elapsed();
        println!(
            "GET 48 KiB under load ({clients} clients, {total} requests, {name}): \
             {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.1} ms",
            total as f64 / wall.as_secs_f64(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            percentile(&lat, 0.999),
            percentile(&lat, 1.0),
        );
        if let Some(pruner) = pruner {
            let (took, prunes) = pruner.join().expect("the maintenance pass");
            let removed: u64 = prunes.iter().map(|(_, r)| r.impact.entries_to_remove).sum();
            // Records the writer could not keep up with: reported in the log by a
            // maintenance pass, or still counted.
            let backbone = at_cap.backbone();
            backbone.flush();
            let reported: u64 = backbone
                .ops()
                .query(&OpsQuery {
                    source: Some("logs".into()),
                    limit: usize::MAX,
                    ..Default::default()
                })
                .expect("querying the log")
                .iter()
                .filter(|e| e.action == "log.records_lost")
                .filter_map(|e| e.metadata.as_ref()?["dropped"].as_u64())
                .sum();
            let dropped = reported + backbone.ops().store().take_losses().dropped;
            println!(
                "  meanwhile a size-retention pass removed {removed} lines in {:.0} ms \
                 (the load took {:.0} ms); trace records dropped: {dropped}",
                took.as_secs_f64() * 1e3,
                wall.as_secs_f64() * 1e3
            );
        }
    }
}

criterion_group!(benches, logs, appends, tracing);
criterion_main!(benches);
