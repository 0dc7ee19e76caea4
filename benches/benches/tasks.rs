//! `GET /api/tasks` with 1,000 local tasks through the HTTP router (target < 20 ms).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
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

criterion_group!(benches, task_list);
criterion_main!(benches);
