//! Bytes → JSON → `WorktreeConfig::from_object`; an accepted config must serialise and
//! parse back to an equal config (as a value and through JSON text).
//!
//! The properties live in `benches/tests/props/config.rs`, shared with the proptest twin
//! in `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/config.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::config_bytes(data);
});
