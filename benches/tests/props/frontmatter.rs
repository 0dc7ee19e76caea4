//! Properties of SKILL.md / agent frontmatter on arbitrary documents: reading never
//! panics; a merged key reads back as set; every other key keeps its value; the body is
//! never touched. Shared by the `skill_frontmatter` fuzz target and its twin.

use openkit_core::registry::frontmatter::{merge_into, read, split};
use serde_json::{Map, Value};

/// Checks the properties for document `doc` and a patch setting `key` to `value`.
pub fn frontmatter(doc: &str, key: &str, value: &Value) {
    let before = read(doc);
    let valid_key = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_key {
        return;
    }
    let mut patch = Map::new();
    patch.insert(key.to_string(), value.clone());
    let out = merge_into(doc, &patch);
    let after = read(&out);
    assert_eq!(after.get(key), Some(value), "{key} set in {out:?}");
    for (k, v) in &before {
        if k != key {
            assert_eq!(after.get(k), Some(v), "{k} kept in {out:?}");
        }
    }
    let body = split(doc);
    let expected = if body.frontmatter.is_some() {
        body.body
    } else {
        doc.to_string()
    };
    assert_eq!(split(&out).body, expected, "body kept");
}

/// The fuzz input: document, key and value (a string) separated by U+001E.
pub fn frontmatter_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1e}');
    let doc = parts.next().unwrap_or_default();
    let key = parts.next().unwrap_or("description");
    let value = parts.next().unwrap_or_default();
    let _ = read(doc);
    frontmatter(doc, key, &Value::String(value.to_string()));
}
