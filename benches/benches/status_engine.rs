//! The live status engine, as `openkit serve` runs it (background tasks started).
//!
//! - `worktree_list_live/{core,http}/N` (N = 50, 500): `Workbench::list_worktrees()`, and
//!   `GET /api/worktrees` through the full router, warm, nothing changed: answered from
//!   the in-memory snapshot.
//! - `status_engine/freshness` (printed): at N = 50, the time from another process
//!   writing a file into a worktree until `GET /api/worktrees` shows it dirty (and back
//!   clean after the file is removed); p50 / p99 / max over the rounds.
//! - `status_engine/idle` (printed): at N = 50, the server idles for
//!   `OPENKIT_BENCH_IDLE_SECS` seconds (default 60): CPU time this process used, and the
//!   processes forked on the whole machine meanwhile (`/proc/stat`, an upper bound for
//!   ours).
//! - `status_engine/watches` (printed): at N = 50 and 500, the inotify watches held, the
//!   kernel memory they may use (1,080 bytes each at most on 64-bit Linux, per
//!   inotify(7)), and this process's RSS growth from starting the engine.
//!
//! Targets (issue 9): list p50 <= 0.15 ms at N = 50 and <= 1 ms at N = 500; a write
//! shows within 1 s (p99); no process spawned and under 0.5% CPU while idle.
//!
//! Run: `cargo bench -p openkit-benches --bench status_engine`
//! (`-- --quick` for a fast pass; `OPENKIT_BENCH_IDLE_SECS=10` for a shorter idle run;
//! `OPENKIT_BENCH_PRINTED=idle,watches` runs only those printed measurements, `none` none).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use openkit_benches::{
    get, live_workbench, project_with_worktrees, router, rss_kb, runtime, worktree_name,
};
use openkit_core::logs::OpsQuery;

fn list(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("worktree_list_live");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [50, 500] {
        let repo = project_with_worktrees(n);
        let (wb, _background) = live_workbench(&rt, &repo);
        group.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
            b.iter(|| black_box(rt.block_on(wb.list_worktrees()).expect("listing")));
        });
        let app = router(wb);
        let (status, _) = rt.block_on(get(&app, "/api/worktrees"));
        assert_eq!(status, StatusCode::OK);
        group.bench_with_input(BenchmarkId::new("http", n), &n, |b, _| {
            b.iter(|| {
                let (status, len) = rt.block_on(get(&app, "/api/worktrees"));
                assert_eq!(status, StatusCode::OK);
                black_box(len)
            });
        });
    }
    group.finish();
}

/// Whether the printed measurement `name` was asked for (`OPENKIT_BENCH_PRINTED`, a comma
/// list; all by default).
fn wanted(name: &str) -> bool {
    std::env::var("OPENKIT_BENCH_PRINTED")
        .map(|list| list.split(',').any(|n| n.trim() == name))
        .unwrap_or(true)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn freshness(_: &mut Criterion) {
    if !wanted("freshness") {
        return;
    }
    const ROUNDS: usize = 100;
    let rt = runtime();
    let repo = project_with_worktrees(50);
    let (wb, _background) = live_workbench(&rt, &repo);
    let target = repo.paths().worktree_dir(&worktree_name(25).0);
    let mut samples = Vec::with_capacity(ROUNDS);
    rt.block_on(async {
        for round in 0..ROUNDS {
            let dirty = round % 2 == 0;
            let file = target.join("bench-edit.txt");
            let written = Instant::now();
            if dirty {
                std::fs::write(&file, format!("{round}\n")).expect("writing");
            } else {
                std::fs::remove_file(&file).expect("removing");
            }
            loop {
                let list = wb.list_worktrees().await.expect("listing");
                let wt = list.iter().find(|w| w.id == "wt-0025").expect("listed");
                if wt.has_uncommitted == dirty {
                    break;
                }
                assert!(written.elapsed() < Duration::from_secs(30), "never seen");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            samples.push(written.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    samples.sort();
    println!(
        "status_engine/freshness N=50 rounds={ROUNDS}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().expect("samples").as_secs_f64() * 1e3,
    );
}

/// CPU time (user + system) of this process, from `/proc/self/stat`, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("reading /proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) (utime, stime), counted after the name as 12 and 13.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Processes forked on this machine since boot.
fn forks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .expect("reading /proc/stat")
        .lines()
        .find_map(|l| l.strip_prefix("processes "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a processes line")
}

fn idle(_: &mut Criterion) {
    if !wanted("idle") {
        return;
    }
    let secs: u64 = std::env::var("OPENKIT_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rt = runtime();
    let repo = project_with_worktrees(50);
    let (wb, _background) = live_workbench(&rt, &repo);
    let app = router(Arc::clone(&wb));
    // Serve once, as a dashboard would on opening, then idle.
    rt.block_on(get(&app, "/api/worktrees"));
    let ticks = ticks_per_second();
    let commands = || {
        wb.backbone().flush();
        let events = wb
            .backbone()
            .ops()
            .query(&OpsQuery {
                limit: usize::MAX,
                ..OpsQuery::default()
            })
            .expect("reading the ops log");
        events.iter().filter(|e| e.command.is_some()).count()
    };
    let (cpu0, forks0, commands0, t0) = (cpu_ticks(), forks(), commands(), Instant::now());
    rt.block_on(async { tokio::time::sleep(Duration::from_secs(secs)).await });
    let (cpu1, forks1, commands1, wall) = (cpu_ticks(), forks(), commands(), t0.elapsed());
    let cpu = (cpu1 - cpu0) as f64 / ticks;
    println!(
        "status_engine/idle N=50 for {:.0} s: CPU {:.3} s ({:.3}% of one core); commands OpenKit ran (every child goes through the runner and its ops-log record): {}; processes forked on the whole machine meanwhile (an upper bound, other programs included): {}",
        wall.as_secs_f64(),
        cpu,
        100.0 * cpu / wall.as_secs_f64(),
        commands1 - commands0,
        forks1 - forks0,
    );
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn watches(_: &mut Criterion) {
    if !wanted("watches") {
        return;
    }
    let rt = runtime();
    for n in [50, 500] {
        let repo = project_with_worktrees(n);
        let before = rss_kb(std::process::id());
        let (wb, _background) = live_workbench(&rt, &repo);
        let after = rss_kb(std::process::id());
        let stats = wb.status_engine().expect("a status engine").stats();
        let polled = stats
            .checkouts
            .iter()
            .filter(|(_, f)| matches!(f, openkit_core::status::Freshener::Polled { .. }))
            .count();
        println!(
            "status_engine/watches N={n}: {} watches for {} checkouts ({polled} polled), kernel memory <= {:.1} MiB, RSS +{} KiB after the first snapshot",
            stats.watches,
            stats.checkouts.len(),
            stats.watches as f64 * 1080.0 / (1024.0 * 1024.0),
            after.saturating_sub(before),
        );
    }
}

criterion_group!(benches, list, freshness, watches, idle);
criterion_main!(benches);
