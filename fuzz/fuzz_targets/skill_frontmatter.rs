//! Text → SKILL.md frontmatter read and merge: never panics, a merged key reads back as
//! set, other keys and the body are kept.
//!
//! The properties live in `benches/tests/props/frontmatter.rs`, shared with the proptest
//! twin in `benches/tests/fuzz_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/frontmatter.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::frontmatter_bytes(data);
});
