//! Bytes → JSON → Jira's ADF renderer: never panics, never overflows the stack, and
//! the Markdown stays within a linear bound of the document's size.
//!
//! The properties live in `benches/tests/props/adf.rs`, shared with the proptest twin
//! in `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/adf.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::adf_bytes(data);
});
