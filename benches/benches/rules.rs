//! Naming-rule evaluation latency, engine start-up included (target < 5 ms).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use openkit_core::rules::{BranchInput, RuleKind, RuleStore, evaluate};

fn rules(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = RuleStore::new(openkit_core::Paths::new(dir.path(), dir.path().join("g")));
    store
        .put(
            RuleKind::BranchName,
            None,
            Some("({ issueId, name, type }) => `${type}/${issueId}-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`"),
        )
        .unwrap();
    let input = BranchInput {
        issue_id: "PROJ-1234".into(),
        name: "Add a login page with OAuth".into(),
        r#type: "feature".into(),
    };
    let mut group = c.benchmark_group("rules");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("evaluate_function_expression", |b| {
        b.iter(|| {
            evaluate(
                "({ issueId, name }) => `${issueId}/${name}`",
                &[("issueId", "PROJ-1"), ("name", "x")],
            )
            .unwrap()
        })
    });
    let jira = openkit_core::issues::SourceId::new("jira").unwrap();
    group.bench_function("branch_name_from_file", |b| {
        b.iter(|| store.branch_name(Some(&jira), &input))
    });
    group.bench_function("builtin_no_script", |b| {
        b.iter(|| openkit_core::rules::builtin_branch_name(&input.issue_id, &input.name))
    });
    group.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
