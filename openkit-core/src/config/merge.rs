//! JSON merge patch (RFC 7386), the update rule of every configuration `PATCH`.
//!
//! Objects merge recursively, `null` removes a key, any other value replaces.

use serde_json::{Map, Value};

/// Applies `patch` to `target` in place.
pub fn merge_patch(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => merge_patch(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    merge_patch(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn nested_objects_merge_and_null_removes() {
        let mut target = obj(json!({"a": 1, "s": {"x": "1", "y": "2"}, "gone": true}));
        merge_patch(
            &mut target,
            obj(json!({"s": {"y": "3", "z": "4"}, "gone": null, "b": [1]})),
        );
        assert_eq!(
            Value::Object(target),
            json!({"a": 1, "s": {"x": "1", "y": "3", "z": "4"}, "b": [1]})
        );
    }
}
