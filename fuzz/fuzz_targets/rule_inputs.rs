//! Naming-rule inputs: arbitrary `issueId` / `name` / `type` (newline-separated) through
//! the built-in rule, the sanitiser and a pass-through user script; every result must be a
//! valid branch name. Properties shared with `benches/tests/rules_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/rules.rs"]
mod props;

use std::sync::OnceLock;

static STORE: OnceLock<(tempfile::TempDir, openkit_core::rules::RuleStore)> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, store) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = props::pass_through_store(dir.path());
        (dir, store)
    });
    props::lines(store, &String::from_utf8_lossy(data));
});
