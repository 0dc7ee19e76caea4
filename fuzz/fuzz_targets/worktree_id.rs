//! Worktree ids and branch names: `WorktreeId::parse`, `validate_branch`,
//! `default_id_for_branch` and `resolve` on arbitrary text (one string per line; the first
//! line is resolved against the others). A valid id must be a single normal path
//! component; a valid branch must be a ref name git accepts; nothing may panic.
//!
//! The properties live in `benches/tests/props/ids.rs`, shared with the proptest twin in
//! `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/ids.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::lines(&String::from_utf8_lossy(data));
});
