//! Bytes → the first picks a state-changing JSON route, the rest is its body, sent through
//! the real router over a fixture project: never a 5xx, every rejection the envelope, and
//! anything but exactly one JSON value (trailing data included) a 400 `INVALID_JSON`.
//!
//! The properties live in `benches/tests/props/request_body.rs`, shared with the proptest
//! twin in `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/request_body.rs"]
mod props;

use std::sync::OnceLock;

static TARGET: OnceLock<props::Target> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::route_and_body(TARGET.get_or_init(props::Target::new), data);
});
