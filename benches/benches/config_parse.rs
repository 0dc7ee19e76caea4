//! Parsing the project configuration.
//!
//! - `config_parse/from_object/{realistic,minimal}`: `WorktreeConfig::from_object` on an
//!   already-parsed JSON object (typed fields, defaults, unknown keys kept, validation).
//! - `config_parse/from_text/realistic`: `serde_json::from_str` plus `from_object`.
//! - `config_parse/store_load/realistic`: `ConfigStore::load`, i.e. read
//!   `.openkit/config.json` from disk, parse and validate (done several times per
//!   request on the worktree paths).
//!
//! Run: `cargo bench -p openkit-benches --bench config_parse`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use openkit_benches::REALISTIC_CONFIG;
use openkit_core::{ConfigStore, Paths, WorktreeConfig};
use serde_json::{Map, Value};

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text).expect("valid JSON") {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("config_parse");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));

    let realistic = object(REALISTIC_CONFIG);
    let minimal = object(r#"{"startCommand": "npm run dev"}"#);
    for (name, map) in [("realistic", &realistic), ("minimal", &minimal)] {
        group.bench_function(format!("from_object/{name}"), |b| {
            b.iter_batched(
                || map.clone(),
                |map| black_box(WorktreeConfig::from_object(map).expect("valid config")),
                BatchSize::SmallInput,
            );
        });
    }

    group.bench_function("from_text/realistic", |b| {
        b.iter(|| {
            let map = object(black_box(REALISTIC_CONFIG));
            black_box(WorktreeConfig::from_object(map).expect("valid config"))
        });
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let paths = Paths::new(dir.path(), dir.path().join("global"));
    std::fs::create_dir_all(paths.openkit_dir()).expect("creating .openkit");
    std::fs::write(paths.config_file(), REALISTIC_CONFIG).expect("writing config");
    let store = ConfigStore::new(paths);
    group.bench_function("store_load/realistic", |b| {
        b.iter(|| black_box(store.load().expect("loading").expect("config exists")));
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
