//! Arbitrary bytes as an ops log (`.openkit/ops-log.jsonl`): the reader returns exactly
//! the complete lines that parse, and an append by another store neither rewrites nor
//! glues onto what is there.
//!
//! The properties live in `benches/tests/props/jsonl.rs`, shared with the proptest twin
//! in `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/jsonl.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::log_bytes(data);
});
