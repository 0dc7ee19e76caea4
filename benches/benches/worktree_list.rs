//! Listing N worktrees with git status (N = 1, 10, 50, 200).
//!
//! - `worktree_list/core_warm/N`: `Workbench::list_worktrees()` on a workbench that has
//!   listed once already (the status cache is filled; nothing changed since).
//! - `worktree_list/http_warm/N`: `GET /api/worktrees` through the full router (security
//!   middleware, JSON serialisation, body read to the end), same warm state.
//! - `worktree_status_policy/{git_cli_per_worktree,core_cold,core_warm}/N` (N = 10, 50):
//!   the cost the libgit2 policy in `openkit_core::git` avoids: spawning
//!   `git status --porcelain` and `git rev-list --count main..HEAD` for every worktree,
//!   against a cold list (fresh workbench, empty cache) and a warm one.
//!
//! Target: a warm list of 50 unchanged worktrees through HTTP under 5 ms.
//!
//! Run: `cargo bench -p openkit-benches --bench worktree_list`
//! (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use openkit_benches::{
    get, project_with_worktrees, router, runtime, status_via_git_cli, workbench,
};

const SIZES: [usize; 4] = [1, 10, 50, 200];
const CLI_SIZES: [usize; 2] = [10, 50];

fn list(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("worktree_list");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let repo = project_with_worktrees(n);
        let wb = workbench(&repo);
        let first = rt.block_on(wb.list_worktrees()).expect("listing");
        assert_eq!(first.len(), n + 1, "root plus {n} worktrees");

        group.bench_with_input(BenchmarkId::new("core_warm", n), &n, |b, _| {
            b.iter(|| black_box(rt.block_on(wb.list_worktrees()).expect("listing")));
        });

        let app = router(wb.clone());
        let (status, _) = rt.block_on(get(&app, "/api/worktrees"));
        assert_eq!(status, StatusCode::OK);
        group.bench_with_input(BenchmarkId::new("http_warm", n), &n, |b, _| {
            b.iter(|| {
                let (status, len) = rt.block_on(get(&app, "/api/worktrees"));
                assert_eq!(status, StatusCode::OK);
                black_box(len)
            });
        });
    }
    group.finish();
}

fn status_policy(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("worktree_status_policy");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for n in CLI_SIZES {
        let repo = project_with_worktrees(n);
        let wb = workbench(&repo);
        let listed = rt.block_on(wb.list_worktrees()).expect("listing");
        let checkouts: Vec<&Path> = listed.iter().map(|w| w.path.as_path()).collect();

        group.bench_with_input(BenchmarkId::new("git_cli_per_worktree", n), &n, |b, _| {
            b.iter(|| black_box(status_via_git_cli(&repo, &checkouts, "main")));
        });
        group.bench_with_input(BenchmarkId::new("core_cold", n), &n, |b, _| {
            b.iter(|| {
                let fresh = workbench(&repo);
                black_box(rt.block_on(fresh.list_worktrees()).expect("listing"))
            });
        });
        group.bench_with_input(BenchmarkId::new("core_warm", n), &n, |b, _| {
            b.iter(|| black_box(rt.block_on(wb.list_worktrees()).expect("listing")));
        });
    }
    group.finish();
}

criterion_group!(benches, list, status_policy);
criterion_main!(benches);
