//! The changed-file list of a worktree with 1,000 changed files.
//!
//! Fixture: a project with 1,100 tracked text files (40 lines each) and a worktree in
//! which 900 are modified (3 lines changed each), 50 deleted, 50 renamed with `git mv`,
//! and 50 untracked files are added: 1,050 entries. Each measurement is a full list with
//! exact line counts and binary detection; nothing is cached between iterations.
//!
//! - `worktree_diff/libgit2_1000/uncommitted`: `openkit_core::git::diff::changed_files`
//!   against HEAD, in process (what the route runs on the blocking pool).
//! - `worktree_diff/libgit2_1000/include_committed`: the same against the merge base
//!   with `origin/main`.
//! - `worktree_diff/http_1000`: `GET /api/worktrees/:id/diff` through the full router
//!   (id resolution, security middleware, JSON for 1,050 files).
//! - `worktree_diff/git_cli_1000`: what the libgit2 choice avoids: `git status
//!   --porcelain -z` plus `git diff HEAD --numstat -M -z` (which still misses the line
//!   counts of untracked files).
//!
//! Target: under 100 ms for the 1,000-file list. Before criterion runs, the process CPU
//! time of one in-process list is printed (`diff cpu: ...`): on a busy machine wall time
//! mostly measures waiting for a core, CPU time what the list costs.
//!
//! Run: `cargo bench -p openkit-benches --bench diff` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use criterion::{Criterion, criterion_group, criterion_main};
use openkit_benches::{get, router, runtime, workbench};
use openkit_core::git::diff::{Against, changed_files, open};
use openkit_core::testing::TestRepo;

const TRACKED: usize = 1_100;

fn body(i: usize, edited: bool) -> String {
    (0..40)
        .map(|line| {
            if edited && line % 13 == 5 {
                format!("// edited line {line} of file {i}\n")
            } else {
                format!("export const value_{i}_{line} = {};\n", i * 40 + line)
            }
        })
        .collect()
}

/// The fixture repository and the worktree's checkout.
fn fixture() -> (TestRepo, std::path::PathBuf) {
    let mut builder = TestRepo::builder().with_origin();
    for i in 0..TRACKED {
        builder = builder.file(&format!("src/mod{}/file{i}.ts", i % 20), &body(i, false));
    }
    let repo = builder.build();
    let checkout = repo.root().join(".openkit/worktrees/big");
    repo.git([
        "worktree",
        "add",
        "-q",
        checkout.to_str().expect("UTF-8 temp path"),
        "-b",
        "feature/big",
    ]);
    std::fs::create_dir_all(checkout.join("moved")).unwrap();
    for i in 0..TRACKED {
        let rel = format!("src/mod{}/file{i}.ts", i % 20);
        match i {
            0..900 => std::fs::write(checkout.join(&rel), body(i, true)).unwrap(),
            900..950 => std::fs::remove_file(checkout.join(&rel)).unwrap(),
            950..1000 => {
                repo.git_in(&checkout, ["mv", &rel, &format!("moved/file{i}.ts")]);
            }
            _ => {}
        }
    }
    for i in 0..50 {
        std::fs::create_dir_all(checkout.join("new")).unwrap();
        std::fs::write(
            checkout.join(format!("new/fresh{i}.ts")),
            body(10_000 + i, false),
        )
        .unwrap();
    }
    (repo, checkout)
}

fn git_cli_list(repo: &TestRepo, checkout: &Path) -> usize {
    let run = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(checkout)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(repo.env())
            .output()
            .expect("running git");
        assert!(out.status.success());
        out.stdout.len()
    };
    run(&["status", "--porcelain", "-z", "--untracked-files=all"])
        + run(&["diff", "HEAD", "--numstat", "-M", "-z"])
}

fn diff(c: &mut Criterion) {
    let (repo, checkout) = fixture();
    let git_repo = open(&checkout, "big").expect("opening the checkout");
    let files = changed_files(&git_repo, Against::Head).expect("listing");
    assert_eq!(files.len(), 1_050, "the fixture's changes");

    report_cpu(&|| {
        changed_files(&git_repo, Against::Head)
            .expect("listing")
            .len()
    });

    let mut group = c.benchmark_group("worktree_diff");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("libgit2_1000/uncommitted", |b| {
        b.iter(|| black_box(changed_files(&git_repo, Against::Head).expect("listing")));
    });
    group.bench_function("libgit2_1000/include_committed", |b| {
        b.iter(|| black_box(changed_files(&git_repo, Against::Base("main")).expect("listing")));
    });

    let rt = runtime();
    let wb = workbench(&repo);
    let app = router(wb);
    let (status, _) = rt.block_on(get(&app, "/api/worktrees/big/diff"));
    assert_eq!(status, StatusCode::OK);
    group.bench_function("http_1000", |b| {
        b.iter(|| {
            let (status, len) = rt.block_on(get(&app, "/api/worktrees/big/diff"));
            assert_eq!(status, StatusCode::OK);
            black_box(len)
        });
    });
    group.bench_function("git_cli_1000", |b| {
        b.iter(|| black_box(git_cli_list(&repo, &checkout)));
    });
    group.finish();
}

/// This process's CPU time (user + system, all threads) in milliseconds.
fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 10 ms.
    (ticks(11) + ticks(12)) * 10.0
}

/// Prints the CPU and wall time per call of `list`, averaged over 20 calls.
fn report_cpu(list: &dyn Fn() -> usize) {
    const RUNS: u32 = 20;
    let (cpu, wall) = (process_cpu_ms(), std::time::Instant::now());
    for _ in 0..RUNS {
        black_box(list());
    }
    eprintln!(
        "diff cpu: {:.1} ms CPU (all threads), {:.1} ms wall per 1,000-file list",
        (process_cpu_ms() - cpu) / f64::from(RUNS),
        wall.elapsed().as_secs_f64() * 1000.0 / f64::from(RUNS)
    );
}

criterion_group!(benches, diff);
criterion_main!(benches);
