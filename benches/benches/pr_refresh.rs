//! Pull-request state for many worktrees (issue 10), against the fake GitHub server on
//! 127.0.0.1 (so the figures are OpenKit's cost plus a loopback round trip, not GitHub's
//! latency).
//!
//! - `pr_refresh/listing_200/50`: the adapter's full listing of 50 pull requests (one
//!   `GET .../pulls?state=all&per_page=100`, answered 200 and parsed), as the first
//!   refresh after start does.
//! - `pr_refresh/refresh_304/50`: `Workbench::refresh_pull_requests()` in steady state:
//!   one conditional request answered 304 for all 50 worktrees, plus the auto-cleanup
//!   pass (nothing to clean).
//! - `pr_refresh/list_with_pr_state/50`: `Workbench::list_worktrees()` from the live
//!   status snapshot with the 50 pull requests merged in (one hash lookup per worktree);
//!   compare `worktree_list_live/core/50` of the `status_engine` bench.
//!
//! Each refresh is checked to send exactly one request, however many worktrees.
//!
//! Run: `cargo bench -p openkit-benches --bench pr_refresh` (`-- --quick` for a fast pass).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use openkit_benches::{project_with_worktrees, runtime, worktree_name};
use openkit_core::codehost::{CodeHost, ListPulls, PullRequestList, RepoSlug};
use openkit_integrations::github::{GitHub, StaticToken};
use openkit_integrations::testing::{FAKE_TOKEN, FakeGitHub};

const N: usize = 50;

fn pr_refresh(c: &mut Criterion) {
    let rt = runtime();
    let fake = rt.block_on(FakeGitHub::start());
    let repo = project_with_worktrees(N);
    repo.git([
        "remote",
        "add",
        "origin",
        "https://github.com/acme/widgets.git",
    ]);
    for i in 0..N {
        fake.add_pull("acme/widgets", &worktree_name(i).1);
    }
    let github = Arc::new(GitHub::new(fake.url(), Arc::new(StaticToken::new(FAKE_TOKEN))).unwrap());
    let wb = repo
        .composition()
        .code_host(Arc::clone(&github) as Arc<dyn CodeHost>)
        .pr_refresh_interval(Duration::from_secs(3600))
        .build()
        .expect("the fixture workbench");
    let _guard = rt.enter();
    // As `openkit serve` runs it: the live status engine and the background refresh,
    // whose first run reads all 50 with one request.
    let _background = wb.start_background();
    let engine = wb
        .status_engine()
        .expect("the git engine has a status engine");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !engine.is_live() || fake.request_count() < 1 {
        assert!(std::time::Instant::now() < deadline, "the engine went live");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fake.request_count(), 1, "one request for {N} worktrees");
    let list = rt.block_on(wb.list_worktrees()).unwrap();
    assert_eq!(
        list.iter().filter(|w| w.github_pr_state.is_some()).count(),
        N
    );

    let slug = RepoSlug {
        host: "github.com".into(),
        owner: "acme".into(),
        name: "widgets".into(),
    };
    let mut group = c.benchmark_group("pr_refresh");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_with_input(BenchmarkId::new("listing_200", N), &N, |b, _| {
        b.iter(|| {
            let sent = fake.request_count();
            let listed = rt
                .block_on(github.list_pull_requests(&slug, ListPulls::default()))
                .expect("listing");
            assert!(matches!(&listed, PullRequestList::Fresh { pulls, .. } if pulls.len() == N));
            assert_eq!(fake.request_count(), sent + 1);
            black_box(listed)
        });
    });
    group.bench_with_input(BenchmarkId::new("refresh_304", N), &N, |b, _| {
        b.iter(|| {
            let sent = fake.request_count();
            let refresh = rt.block_on(wb.refresh_pull_requests()).expect("refresh");
            assert_eq!(fake.request_count(), sent + 1);
            assert_eq!(fake.requests().last().map(|r| r.status), Some(304));
            black_box(refresh)
        });
    });
    group.bench_with_input(BenchmarkId::new("list_with_pr_state", N), &N, |b, _| {
        b.iter(|| black_box(rt.block_on(wb.list_worktrees()).expect("listing")));
    });
    group.finish();
}

criterion_group!(benches, pr_refresh);
criterion_main!(benches);
