//! Properties of the Jira ADF renderer, shared by the `adf_render` fuzz target
//! (`fuzz/fuzz_targets/adf_render.rs` includes this file) and its proptest twin
//! (`benches/tests/fuzz_twins.rs`). Violations panic.
//!
//! Depends only on `openkit_integrations` and `serde_json`.

use openkit_integrations::jira::adf::{from_text, to_markdown};
use serde_json::Value;

/// Bytes → JSON (serde_json refuses nesting deeper than 128) → [`adf_value`].
pub fn adf_bytes(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        adf_value(&value);
    }
}

/// Renders any JSON value: never panics, and the Markdown stays within a linear bound
/// of the document's size (no node can make the output explode).
pub fn adf_value(value: &Value) -> String {
    let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0);
    let markdown = to_markdown(value);
    assert!(
        markdown.len() <= 16 * size + 64,
        "{} bytes of Markdown from {size} bytes of ADF: {value}",
        markdown.len()
    );
    markdown
}

/// A text written in OpenKit survives the trip through ADF: its non-blank paragraphs,
/// line by line (trailing whitespace aside).
pub fn text_round_trip(text: &str) {
    let normal = |s: &str| {
        s.split('\n')
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_string()
    };
    let canonical = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(|block| block.trim_matches('\n'))
        .filter(|block| !block.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let rendered = adf_value(&from_text(text));
    assert_eq!(
        normal(&rendered),
        normal(&canonical),
        "text {text:?} rendered as {rendered:?}"
    );
}
