//! Surgical edits of an agent's JSON (or JSON-with-comments) configuration file.
//!
//! The file is parsed into a concrete syntax tree (jsonc-parser's CST), so an edit
//! touches only the one entry it sets or removes: every other key, every comment, the
//! indentation and the line breaks stay byte-for-byte. Comments and trailing commas are
//! accepted (VS Code's `mcp.json` and Gemini's `settings.json` are JSONC); anything else
//! that is not JSON is refused, and a refused file is never written.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use serde_json::Value;

/// A parsed JSON(C) document whose root is an object.
pub struct JsonDoc {
    root: CstRootNode,
}

fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    }
}

/// `value` as CST input, keeping the order of object keys.
fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
        }
    }
}

impl JsonDoc {
    /// Parses `text`; an empty (or blank) text is an empty object. Fails with the
    /// parser's message when the text is not JSON(C) or its root is not an object.
    pub fn parse(text: &str) -> Result<Self, String> {
        let blank = text.trim().is_empty();
        let source = if blank { "{}\n" } else { text };
        let root = CstRootNode::parse(source, &options()).map_err(|e| e.to_string())?;
        match root.value() {
            Some(v) if v.as_object().is_some() => Ok(JsonDoc { root }),
            Some(_) => Err("the top level is not a JSON object".into()),
            None => Err("no JSON value".into()),
        }
    }

    /// The text of the document.
    pub fn text(&self) -> String {
        self.root.to_string()
    }

    fn top(&self) -> CstObject {
        self.root.object_value_or_set()
    }

    /// The object at `container` (a path of keys from the root), if present.
    fn container(&self, container: &[&str]) -> Option<CstObject> {
        let mut obj = self.top();
        for key in container {
            obj = obj.object_value(key)?;
        }
        Some(obj)
    }

    /// Every entry of the object at `container`, in file order.
    pub fn entries(&self, container: &[&str]) -> Vec<(String, Value)> {
        let Some(obj) = self.container(container) else {
            return Vec::new();
        };
        obj.properties()
            .into_iter()
            .filter_map(|p| Some((p.decoded_name()?, p.to_serde_value()?)))
            .collect()
    }

    /// The entry `key` of the object at `container`.
    pub fn get(&self, container: &[&str], key: &str) -> Option<Value> {
        self.container(container)?.get(key)?.to_serde_value()
    }

    /// Sets `key` in the object at `container` (created when missing) to `value`:
    /// an existing entry is replaced where it is, a new one is appended.
    /// Fails (changing nothing) when a container on the way holds something other than
    /// an object: that is the user's, not a place to write into.
    pub fn set(&mut self, container: &[&str], key: &str, value: &Value) -> Result<(), String> {
        let mut obj = self.top();
        for name in container {
            if let Some(existing) = obj.get(name)
                && existing.value().is_some_and(|v| v.as_object().is_none())
            {
                return Err(format!("\"{name}\" is not an object"));
            }
            obj = obj.object_value_or_set(name);
        }
        match obj.get(key) {
            Some(prop) => prop.set_value(input(value)),
            None => {
                obj.append(key, input(value));
            }
        }
        Ok(())
    }

    /// Removes `key` from the object at `container`; a container left empty by the
    /// removal is removed too (so deploying into a file without the container and
    /// undeploying gives the file back as it was). Returns whether `key` was there.
    pub fn remove(&mut self, container: &[&str], key: &str) -> bool {
        let Some(obj) = self.container(container) else {
            return false;
        };
        let Some(prop) = obj.get(key) else {
            return false;
        };
        prop.remove();
        // Remove emptied containers, innermost first.
        for depth in (1..=container.len()).rev() {
            let Some(inner) = self.container(&container[..depth]) else {
                break;
            };
            if !inner.properties().is_empty() || has_comments(&inner) {
                break;
            }
            let Some(parent) = self.container(&container[..depth - 1]) else {
                break;
            };
            if let Some(prop) = parent.get(container[depth - 1]) {
                prop.remove();
            }
        }
        true
    }
}

/// Whether an object holds comments (an object with only comments is not removed).
fn has_comments(obj: &CstObject) -> bool {
    obj.children().iter().any(|c| c.is_comment())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const VSCODE: &str = r#"// User MCP servers
{
    "inputs": [], // prompts
    /* the servers */
    "servers": {
        "memory": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-memory"],
        },
    },
}
"#;

    #[test]
    fn set_and_remove_keep_every_other_byte() {
        let mut doc = JsonDoc::parse(VSCODE).unwrap();
        doc.set(
            &["servers"],
            "web",
            &json!({"type": "http", "url": "https://x"}),
        )
        .unwrap();
        let text = doc.text();
        assert!(
            text.starts_with(
                "// User MCP servers\n{\n    \"inputs\": [], // prompts\n    /* the servers */\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"],\n        },"
            ),
            "{text}"
        );
        let reparsed = JsonDoc::parse(&text).unwrap();
        assert_eq!(
            reparsed.get(&["servers"], "web"),
            Some(json!({"type": "http", "url": "https://x"}))
        );
        assert!(doc.remove(&["servers"], "web"));
        assert_eq!(doc.text(), VSCODE);
        assert!(!doc.remove(&["servers"], "web"));
    }

    #[test]
    fn replacing_an_entry_keeps_its_place() {
        let text = "{\n  \"a\": 1,\n  \"mcpServers\": {\n    \"x\": {\"command\": \"old\"},\n    \"y\": {}\n  },\n  \"z\": true\n}\n";
        let mut doc = JsonDoc::parse(text).unwrap();
        doc.set(&["mcpServers"], "x", &json!({"command": "new"}))
            .unwrap();
        let out = doc.text();
        assert!(
            out.starts_with("{\n  \"a\": 1,\n  \"mcpServers\": {\n    \"x\": "),
            "{out}"
        );
        assert!(
            out.ends_with("    \"y\": {}\n  },\n  \"z\": true\n}\n"),
            "{out}"
        );
        assert_eq!(
            JsonDoc::parse(&out).unwrap().get(&["mcpServers"], "x"),
            Some(json!({"command": "new"}))
        );
    }

    #[test]
    fn missing_container_is_created_and_removed_again() {
        let text = "{\n  \"theme\": \"dark\"\n}\n";
        let mut doc = JsonDoc::parse(text).unwrap();
        doc.set(
            &["mcpServers"],
            "x",
            &json!({"command": "a", "args": ["b"]}),
        )
        .unwrap();
        assert_eq!(doc.entries(&["mcpServers"]).len(), 1);
        doc.remove(&["mcpServers"], "x");
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn a_container_that_is_not_an_object_is_not_overwritten() {
        let text = "{\"mcpServers\": [1]}\n";
        let mut doc = JsonDoc::parse(text).unwrap();
        assert!(doc.set(&["mcpServers"], "x", &json!({})).is_err());
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn unparseable_or_non_object_files_are_refused() {
        assert!(JsonDoc::parse("{ \"a\": ").is_err());
        assert!(JsonDoc::parse("[1, 2]").is_err());
        assert!(JsonDoc::parse("{ 'a': 1 }").is_err());
        assert!(JsonDoc::parse("").is_ok());
        assert!(JsonDoc::parse("  \n").is_ok());
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z]{1,6}"
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[ -~]{0,8}".prop_map(Value::String),
        ]
    }

    /// A JSON(C) text with arbitrary other content: keys, nested objects, comments and
    /// an optional `mcpServers` object with other servers, in a random indentation.
    fn document() -> impl Strategy<Value = String> {
        (
            // At least one other key: an object holding nothing but whitespace comes
            // back as `{}` (the one normalisation an undeploy makes).
            prop::collection::vec((key(), scalar(), any::<bool>()), 1..5),
            prop::option::of(prop::collection::vec((key(), key()), 1..3)),
            prop_oneof![Just("  "), Just("    "), Just("\t")],
            any::<bool>(),
        )
            .prop_map(|(fields, servers, indent, header)| {
                let mut lines = Vec::new();
                for (k, v, comment) in fields {
                    let c = if comment { " // note" } else { "" };
                    lines.push(format!("{indent}\"k{k}\": {v},{c}"));
                }
                if let Some(servers) = servers {
                    let mut inner = Vec::new();
                    // Names never collide with the deployed "x", so the container holds
                    // other servers: one left empty would be removed by the undeploy
                    // (the other normalisation).
                    for (name, cmd) in servers {
                        inner.push(format!(
                            "{indent}{indent}\"s{name}\": {{ \"command\": \"{cmd}\" }}"
                        ));
                    }
                    lines.push(format!(
                        "{indent}\"mcpServers\": {{\n{}\n{indent}}},",
                        inner.join(",\n")
                    ));
                }
                // Strict JSON: no trailing comma after the last entry.
                if let Some(last) = lines.last_mut()
                    && let Some(pos) = last.rfind(',')
                    && (last[pos..].starts_with(", //") || last.ends_with(','))
                {
                    last.remove(pos);
                }
                let head = if header { "// settings\n" } else { "" };
                format!("{head}{{\n{}\n}}\n", lines.join("\n"))
            })
    }

    proptest! {
        #[test]
        fn deploy_then_undeploy_restores_the_file(text in document(), cmd in key()) {
            let Ok(mut doc) = JsonDoc::parse(&text) else {
                // Generated duplicates or other oddities the parser refuses: nothing to do.
                return Ok(());
            };
            let entry = json!({"command": cmd, "args": ["-y"], "env": {"K": "v"}});
            doc.set(&["mcpServers"], "x", &entry).unwrap();
            let deployed = doc.text();
            // Idempotent: deploying again changes nothing.
            let mut again = JsonDoc::parse(&deployed).unwrap();
            again.set(&["mcpServers"], "x", &entry).unwrap();
            prop_assert_eq!(again.text(), deployed.clone());
            prop_assert_eq!(again.get(&["mcpServers"], "x"), Some(entry));
            let mut undo = JsonDoc::parse(&deployed).unwrap();
            prop_assert!(undo.remove(&["mcpServers"], "x"));
            prop_assert_eq!(undo.text(), text);
        }
    }
}
