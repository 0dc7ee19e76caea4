//! `GET /api/tasks` with 1,000 local tasks through the HTTP router (target < 20 ms), and
//! the worktree ↔ issue link index the worktree list reads for 500 linked issues
//! (`issues/link_index_*`: warm lookup, lookup after one reported write, and the full
//! re-stat that runs in the background once per TTL; a `GET /api/worktrees` pays the warm
//! lookup, or the one-write figure after a task or notes change).

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use openkit_core::issues::{IssueRef, LinkIndex};
use openkit_core::tasks::{LocalTasks, TaskFields};

fn task_list(c: &mut Criterion) {
    let rt = openkit_benches::runtime();
    let repo = openkit_benches::project();
    let tasks = LocalTasks::new(repo.paths());
    for i in 0..1000 {
        tasks
            .create(
                "LOCAL",
                TaskFields {
                    title: Some(format!("Task number {i}")),
                    description: Some("A realistic description of a few words.\n".repeat(5)),
                    labels: Some(vec!["backend".into(), "bug".into()]),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let router = rt.block_on(async { openkit_benches::router(openkit_benches::workbench(&repo)) });
    let mut group = c.benchmark_group("tasks");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("core_list_1000", |b| {
        b.iter(|| assert_eq!(tasks.list().len(), 1000))
    });
    group.bench_function("list_1000_via_http", |b| {
        b.iter(|| {
            let (status, len) = rt.block_on(openkit_benches::get(&router, "/api/tasks"));
            assert!(status.is_success() && len > 100_000);
        })
    });
    group.finish();
}

fn link_index(c: &mut Criterion) {
    const N: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let paths = openkit_core::Paths::new(dir.path(), dir.path().join("g"));
    let issues: Vec<IssueRef> = (1..=N)
        .map(|i| IssueRef::local(&format!("LOCAL-{i}")).unwrap())
        .collect();
    for (i, issue) in issues.iter().enumerate() {
        let dir = issue.dir(&paths);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("notes.json"),
            format!(r#"{{"linkedWorktreeId": "wt-{i}", "todos": []}}"#),
        )
        .unwrap();
        std::fs::write(
            dir.join("issue.json"),
            format!(
                r#"{{"id": "{}", "title": "Task", "status": "todo"}}"#,
                issue.id
            ),
        )
        .unwrap();
    }
    let warm = Arc::new(LinkIndex::with_ttl(&paths, Duration::from_secs(3600)));
    assert_eq!(warm.by_worktree().len(), N);

    let mut group = c.benchmark_group("issues");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("link_index_warm_500", |b| {
        b.iter(|| assert_eq!(warm.by_worktree().len(), N))
    });
    group.bench_function("link_index_one_write_500", |b| {
        b.iter(|| {
            warm.changed(&issues[7]);
            assert_eq!(warm.by_worktree().len(), N)
        })
    });
    group.bench_function("link_index_rescan_500", |b| b.iter(|| warm.rescan()));
    group.finish();
}

criterion_group!(benches, task_list, link_index);
criterion_main!(benches);
