//! Ops-log queries on logs of 100k and 1M events, cold index builds, and append
//! throughput (store alone, and through the backbone with redaction and broadcast).
//!
//! Target: a filtered query with limit 100 on 1M events under 50 ms.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use openkit_core::Paths;
use openkit_core::backbone::Backbone;
use openkit_core::logs::{
    CommandInfo, Level, OpStatus, OpsLog, OpsLogEvent, OpsQuery, parse_since,
};

/// The i-th synthetic event: mostly debug http traces, some git commands, rare errors.
fn event(i: usize) -> OpsLogEvent {
    let (source, level, status) = match i % 50 {
        0 => ("ui.toast", Level::Error, OpStatus::Failed),
        1..=9 => ("git", Level::Debug, OpStatus::Succeeded),
        10 => ("git", Level::Warning, OpStatus::Failed),
        _ => ("http", Level::Debug, OpStatus::Succeeded),
    };
    let mut e = OpsLogEvent::new(
        source,
        "op",
        &format!("GET /api/worktrees/wt-{}/logs -> 200 (3 ms)", i % 200),
        level,
        status,
    );
    e.id = format!("{i:08x}-7d1c-4b7e-9a52-5f3c2d1e0b9a");
    let secs = i as i64 / 10;
    e.timestamp = chrono_ts(1_767_225_600_000 + secs * 1000 + (i as i64 % 10) * 100);
    if source == "git" {
        e.command = Some(CommandInfo {
            command: "git".into(),
            args: vec!["worktree".into(), "add".into(), format!("wt-{}", i % 200)],
            cwd: Some("/home/dev/project".into()),
            pid: None,
            exit_code: Some(if level == Level::Warning { 128 } else { 0 }),
            signal: None,
            duration_ms: Some(12),
            stdout: None,
            stderr: None,
        });
    }
    e.worktree_id = Some(format!("wt-{}", i % 200));
    e
}

fn chrono_ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a valid instant")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes `n` events straight to a JSONL file (the exact lines the store writes).
fn fixture(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join(format!("ops-{n}.jsonl"));
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    for i in 0..n {
        serde_json::to_writer(&mut out, &event(i)).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    path
}

fn queries(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("ops_log_query");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for n in [100_000usize, 1_000_000] {
        let path = fixture(dir.path(), n);
        let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        println!("ops log fixture: {n} events, {size_mb:.0} MB");
        let log = OpsLog::new(&path);
        let warm = log
            .query(&OpsQuery {
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(warm.len(), 1);
        let near_end = event(n - 150);
        let cursor = format!("{}:{}", near_end.timestamp, near_end.id);
        let cases: [(&str, OpsQuery); 4] = [
            (
                "level_error_limit100",
                OpsQuery {
                    level: Some(Level::Error),
                    limit: 100,
                    ..Default::default()
                },
            ),
            (
                "source_substring_limit100",
                OpsQuery {
                    source: Some("toast".into()),
                    limit: 100,
                    ..Default::default()
                },
            ),
            (
                "unfiltered_limit100",
                OpsQuery {
                    limit: 100,
                    ..Default::default()
                },
            ),
            (
                "since_cursor",
                OpsQuery {
                    since: Some(parse_since(&cursor).unwrap()),
                    limit: 200,
                    ..Default::default()
                },
            ),
        ];
        for (name, query) in cases {
            group.bench_with_input(BenchmarkId::new(name, n), &query, |b, q| {
                b.iter(|| {
                    let events = log.query(q).unwrap();
                    assert!(!events.is_empty());
                    events
                })
            });
        }
        group.bench_with_input(BenchmarkId::new("search_text_limit100", n), &n, |b, _| {
            let q = OpsQuery {
                search: Some("wt-7 ".into()),
                limit: 100,
                ..Default::default()
            };
            b.iter(|| log.query(&q).unwrap())
        });
        if n == 100_000 {
            group.bench_with_input(
                BenchmarkId::new("cold_open_and_query", n),
                &path,
                |b, path| {
                    b.iter(|| {
                        OpsLog::new(path)
                            .query(&OpsQuery {
                                limit: 100,
                                ..Default::default()
                            })
                            .unwrap()
                    })
                },
            );
        }
    }
    group.finish();

    // Cold open of 1M: too slow for many samples; time a few directly.
    let path = dir.path().join("ops-1000000.jsonl");
    let started = std::time::Instant::now();
    let runs = 3;
    for _ in 0..runs {
        OpsLog::new(&path)
            .query(&OpsQuery {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
    }
    println!(
        "ops_log cold open + first query, 1M events: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
}

fn appends(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("ops_log_append");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    let log = OpsLog::new(dir.path().join("append.jsonl"));
    let e = event(3);
    group.bench_function("store_append", |b| b.iter(|| log.append(&e).unwrap()));
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let backbone = Backbone::new(Paths::new(&project, dir.path().join("global")));
    group.bench_function("backbone_record_ops", |b| {
        b.iter(|| backbone.record_ops(e.clone()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, queries, appends);
criterion_main!(benches);
