//! Creating a worktree through OpenKit versus bare `git worktree add`.
//!
//! - `worktree_create/openkit`: `Workbench::create_worktree` (id and branch validation,
//!   duplicate checks against the current list, `git worktree add --no-track -b`,
//!   `.env*` copy, the final listing of the new worktree). The fixture config has no
//!   `installCommand`, so nothing runs after the checkout.
//! - `worktree_create/bare_git`: `git worktree add -b <branch> <path>` in the same kind
//!   of project, nothing else.
//!
//! Each iteration creates a fresh branch and worktree. Projects are rebuilt (untimed)
//! every [`BATCH`] creations, so the number of existing worktrees stays between 0 and
//! `BATCH - 1` for both variants.
//!
//! Checkout time on a loaded 2-core machine drifts by tens of percent between two
//! criterion runs, so after them a *paired* run alternates the two variants creation by
//! creation ([`PAIRED_ROUNDS`] × [`BATCH`] each) and prints medians, means and their
//! ratio: `worktree_create paired: ...`. The target is OpenKit within 1.2x of bare git.
//!
//! Run: `cargo bench -p openkit-benches --bench worktree_create`

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use openkit_benches::{project, run_git, runtime, workbench, worktree_name};
use openkit_core::CreateWorktree;

/// Creations per fixture project.
const BATCH: u64 = 20;

/// Rounds of the paired comparison (each round: a fresh project per variant, then
/// [`BATCH`] alternating creations).
const PAIRED_ROUNDS: usize = 3;

fn create_openkit(
    rt: &tokio::runtime::Runtime,
    wb: &std::sync::Arc<openkit_core::Workbench>,
    i: usize,
) -> Duration {
    let (id, branch) = worktree_name(i);
    let request = CreateWorktree {
        branch,
        id: Some(id.to_string()),
        name: None,
    };
    let start = Instant::now();
    let created = rt
        .block_on(wb.create_worktree(request))
        .expect("creating a worktree");
    let elapsed = start.elapsed();
    assert!(created.settled.is_none(), "no install configured");
    elapsed
}

fn create_bare(repo: &openkit_core::testing::TestRepo, i: usize) -> Duration {
    let (id, branch) = worktree_name(i);
    let path = repo.paths().worktree_dir(&id);
    let path = path.to_str().expect("UTF-8 temp path");
    let start = Instant::now();
    run_git(repo, repo.root(), &["worktree", "add", "-b", &branch, path]);
    start.elapsed()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / u32::try_from(times.len()).unwrap_or(u32::MAX)
}

/// Alternates OpenKit and bare-git creations so both see the same machine load.
fn paired(rt: &tokio::runtime::Runtime) {
    let mut openkit = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..PAIRED_ROUNDS {
        let ok_repo = project();
        let wb = workbench(&ok_repo);
        rt.block_on(wb.list_worktrees()).expect("listing");
        let git_repo = project();
        for i in 0..BATCH as usize {
            openkit.push(create_openkit(rt, &wb, i));
            bare.push(create_bare(&git_repo, i));
        }
    }
    let (om, gm) = (mean(&openkit), mean(&bare));
    let (od, gd) = (median(&mut openkit), median(&mut bare));
    println!(
        "worktree_create paired ({n} creations each): openkit median {:.2} ms / mean {:.2} ms; bare git median {:.2} ms / mean {:.2} ms; ratio median {:.2}x / mean {:.2}x (target <= 1.20x)",
        millis(od),
        millis(om),
        millis(gd),
        millis(gm),
        od.as_secs_f64() / gd.as_secs_f64(),
        om.as_secs_f64() / gm.as_secs_f64(),
        n = openkit.len(),
    );
}

fn create(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("worktree_create");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    group.bench_function("openkit", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let repo = project();
                let wb = workbench(&repo);
                // A running server has listed before: the root's status is cached.
                rt.block_on(wb.list_worktrees()).expect("listing");
                let batch = (iters - done).min(BATCH);
                for i in 0..batch {
                    total += create_openkit(&rt, &wb, i as usize);
                }
                done += batch;
            }
            total
        });
    });

    group.bench_function("bare_git", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let repo = project();
                let batch = (iters - done).min(BATCH);
                for i in 0..batch {
                    total += create_bare(&repo, i as usize);
                }
                done += batch;
            }
            total
        });
    });
    group.finish();

    paired(&rt);
}

criterion_group!(benches, create);
criterion_main!(benches);
