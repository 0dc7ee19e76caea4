//! Ops-log queries on logs of 100k and 1M events, cold index builds, and append
//! throughput.
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
//!   for `Backbone::record_ops` (config read, redaction, append, size-retention
//!   bookkeeping, bus publish) in a project with a realistic config: well below the size
//!   cap (`backbone_record_ops`), and on a log at the default 50 MB cap, where size
//!   retention rewrites the file every few tens of thousands of appends
//!   (`backbone_record_ops_at_50MB_cap`, amortised). Printed afterwards: one such
//!   retention pass, and the index rebuild it forces on the next query.
//!
//! Target: a filtered query with limit 100 on 1M events under 50 ms.
//!
//! Run: `cargo bench -p openkit-benches --bench logs` (about 1.5 minutes; add
//! `-- --quick` for a fast pass).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use openkit_benches::{REALISTIC_CONFIG, ops_event, ops_timestamp, write_ops_fixture};
use openkit_core::Paths;
use openkit_core::backbone::Backbone;
use openkit_core::logs::{Level, OpsLog, OpsQuery, Retention, parse_since};

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
        &format!(r#""opsLog": {{ "retentionDays": 3, "maxSizeMB": {cap_mb} }}"#),
    );
    assert!(config.contains(&format!("\"maxSizeMB\": {cap_mb} }}")));
    std::fs::write(root.join(".openkit/config.json"), config).expect("writing the config");
    Paths::new(root, dir.join("global"))
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

    // One size-retention pass as `record_ops` runs it (50 MB + 10 % -> 40 MB), and the
    // index rebuild the next query pays, since the pass resets the index.
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
         the next query re-indexes: {:.0} ms",
        impact.current_bytes as f64 / 1e6,
        impact.entries_to_remove,
        pass.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
}

criterion_group!(benches, logs, appends);
criterion_main!(benches);
