//! `task context` Markdown rendering on arbitrary content (fields separated by U+001E).
//! Properties shared with `benches/tests/rules_twins.rs`.
#![no_main]

#[path = "../../benches/tests/props/context.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::lines(&String::from_utf8_lossy(data));
});
