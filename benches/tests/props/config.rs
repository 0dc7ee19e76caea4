//! Properties of the configuration parser, shared by the `config_parse` fuzz target
//! (`fuzz/fuzz_targets/config_parse.rs` includes this file) and its proptest twin
//! (`benches/tests/fuzz_twins.rs`). Violations panic.
//!
//! Depends only on `openkit_core` and `serde_json`.

use openkit_core::WorktreeConfig;
use serde_json::{Map, Value};

/// Bytes → JSON → `WorktreeConfig::from_object` (when the JSON is an object); an accepted
/// config must round-trip (see [`config_object`]).
pub fn config_bytes(data: &[u8]) {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        config_object(map);
    }
}

/// Parses `map`; when it is accepted, serialises the config back and parses it again,
/// both as a value and through JSON text: each re-parse must succeed and equal the
/// first. Returns whether `map` was accepted.
pub fn config_object(map: Map<String, Value>) -> bool {
    let input = Value::Object(map.clone());
    let Ok(first) = WorktreeConfig::from_object(map) else {
        return false;
    };
    if let Err(e) = first.validate() {
        panic!("an accepted config fails validation ({e}): {input}");
    }
    let value = serde_json::to_value(&first).expect("an accepted config serialises");
    let Value::Object(again) = value.clone() else {
        panic!("a config serialises to an object, got {value}");
    };
    let second = WorktreeConfig::from_object(again)
        .unwrap_or_else(|e| panic!("re-parsing {value} (from {input}) failed: {e}"));
    assert_eq!(
        first, second,
        "value round-trip changed the config of {input}"
    );

    let text = serde_json::to_string(&first).expect("an accepted config serialises");
    let Ok(Value::Object(parsed)) = serde_json::from_str::<Value>(&text) else {
        panic!("a config's own JSON text is not an object: {text}");
    };
    let third = WorktreeConfig::from_object(parsed)
        .unwrap_or_else(|e| panic!("re-parsing the text {text} failed: {e}"));
    assert_eq!(
        first, third,
        "text round-trip changed the config of {input}"
    );
    true
}

/// True when serde_json parses floats exactly (its `float_roundtrip` feature is on).
/// Without it, serde_json's fast float parser may land a few ULPs off (seen: 1 and 2) for
/// long mantissas (e.g. `-937969169490.6013`), so a float in a config rewritten through
/// text can change in its last digits; the text round-trip then only holds up to that.
pub fn exact_float_parsing() -> bool {
    let sample = "-937969169490.6013";
    serde_json::from_str::<f64>(sample).ok() == sample.parse::<f64>().ok()
}
