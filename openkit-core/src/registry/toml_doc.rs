//! Surgical edits of an agent's TOML configuration file (Codex's `config.toml`).
//!
//! toml_edit keeps the document's comments, key order, whitespace and quoting; an edit
//! replaces or removes one `[<container>.<key>]` table and nothing else. A file that does
//! not parse is refused and never written.

use serde_json::{Map, Number, Value};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

/// A parsed TOML document.
pub struct TomlDoc {
    doc: DocumentMut,
}

/// `value` as a TOML value (for values inside a table: arrays and inline tables).
fn to_value(value: &Value) -> Option<toml_edit::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64()?.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut array = Array::new();
            for item in items.iter().filter_map(to_value) {
                array.push(item);
            }
            toml_edit::Value::Array(array)
        }
        Value::Object(map) => {
            let mut table = InlineTable::new();
            for (k, v) in map {
                if let Some(v) = to_value(v) {
                    table.insert(k, v);
                }
            }
            toml_edit::Value::InlineTable(table)
        }
    })
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::Number((*i.value()).into()),
        toml_edit::Value::Float(f) => Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_string(), value_to_json(v)))
                .collect(),
        ),
    }
}

fn item_to_json(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_json(v)),
        Item::Table(t) => Some(table_to_json(t)),
        Item::ArrayOfTables(a) => Some(Value::Array(a.iter().map(table_to_json).collect())),
    }
}

fn table_to_json(table: &Table) -> Value {
    let mut map = Map::new();
    for (k, item) in table.iter() {
        if let Some(v) = item_to_json(item) {
            map.insert(k.to_string(), v);
        }
    }
    Value::Object(map)
}

impl TomlDoc {
    /// Parses `text` (an empty text is an empty document).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.parse::<DocumentMut>()
            .map(|doc| TomlDoc { doc })
            .map_err(|e| e.to_string().trim().to_string())
    }

    /// The text of the document.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    fn container(&self, container: &str) -> Option<&dyn toml_edit::TableLike> {
        self.doc.get(container)?.as_table_like()
    }

    /// Every entry of the table `container` (e.g. `mcp_servers`), as JSON.
    pub fn entries(&self, container: &str) -> Vec<(String, Value)> {
        let Some(table) = self.container(container) else {
            return Vec::new();
        };
        table
            .iter()
            .filter_map(|(k, item)| Some((k.to_string(), item_to_json(item)?)))
            .collect()
    }

    /// The entry `key` of the table `container`, as JSON.
    pub fn get(&self, container: &str, key: &str) -> Option<Value> {
        item_to_json(self.container(container)?.get(key)?)
    }

    /// Sets `[<container>.<key>]` to the JSON object `entry` (strings, numbers, booleans,
    /// arrays, and objects as inline tables). An existing table keeps its place and the
    /// comments above it; a new one goes at the end of the file.
    ///
    /// Fails (changing nothing) when `container` holds something other than a table.
    pub fn set(
        &mut self,
        container: &str,
        key: &str,
        entry: &Map<String, Value>,
    ) -> Result<(), String> {
        if self
            .doc
            .get(container)
            .is_some_and(|item| item.as_table_like().is_none())
        {
            return Err(format!("\"{container}\" is not a table"));
        }
        // A container written inline (`mcp_servers = { ... }`) stays inline.
        if let Some(inline) = self
            .doc
            .get_mut(container)
            .and_then(Item::as_inline_table_mut)
        {
            if let Some(value) = to_value(&Value::Object(entry.clone())) {
                inline.insert(key, value);
            }
            return Ok(());
        }
        let mut table = Table::new();
        for (k, v) in entry {
            if let Some(v) = to_value(v) {
                table.insert(k, Item::Value(v));
            }
        }
        let root = self.doc.as_table_mut();
        if !root.get(container).is_some_and(Item::is_table) {
            let mut outer = Table::new();
            outer.set_implicit(true);
            root.insert(container, Item::Table(outer));
        }
        let outer = root
            .get_mut(container)
            .and_then(Item::as_table_mut)
            .expect("the container table was just ensured");
        if let Some(old) = outer.get(key).and_then(Item::as_table) {
            if let Some(pos) = old.position() {
                table.set_position(Some(pos));
            }
            *table.decor_mut() = old.decor().clone();
        }
        outer.insert(key, Item::Table(table));
        Ok(())
    }

    /// Removes `[<container>.<key>]`; an implicit container left empty is removed too.
    /// Returns whether the entry was there.
    pub fn remove(&mut self, container: &str, key: &str) -> bool {
        if let Some(inline) = self
            .doc
            .get_mut(container)
            .and_then(Item::as_inline_table_mut)
        {
            return inline.remove(key).is_some();
        }
        let root = self.doc.as_table_mut();
        let Some(outer) = root.get_mut(container).and_then(Item::as_table_mut) else {
            return false;
        };
        let removed = outer.remove(key).is_some();
        if removed && outer.is_empty() && outer.is_implicit() {
            root.remove(container);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CONFIG: &str = r#"# Codex settings
model = "o3"   # the model

[mcp_servers.docs]
# keep me
command = "npx"
args = ["-y", "docs-mcp"]

[profiles.fast]
model = "o4-mini"
"#;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn set_and_remove_keep_every_other_byte() {
        let mut doc = TomlDoc::parse(CONFIG).unwrap();
        let entry = json!({"command": "uvx", "args": ["srv"], "env": {"API_KEY": "k"}});
        doc.set("mcp_servers", "web", &obj(entry.clone())).unwrap();
        let text = doc.text();
        // The new server joins its siblings; everything else is as it was.
        let expected = CONFIG.replace(
            "\n[profiles.fast]",
            "\n[mcp_servers.web]\ncommand = \"uvx\"\nargs = [\"srv\"]\nenv = { API_KEY = \"k\" }\n\n[profiles.fast]",
        );
        assert_eq!(text, expected);
        assert_eq!(
            TomlDoc::parse(&text).unwrap().get("mcp_servers", "web"),
            Some(entry)
        );
        assert!(doc.remove("mcp_servers", "web"));
        assert_eq!(doc.text(), CONFIG);
        assert!(!doc.remove("mcp_servers", "web"));
    }

    #[test]
    fn replacing_keeps_place_and_the_comment_above() {
        let mut doc = TomlDoc::parse(CONFIG).unwrap();
        doc.set("mcp_servers", "docs", &obj(json!({"url": "https://d"})))
            .unwrap();
        let text = doc.text();
        assert!(text.contains("model = \"o3\"   # the model\n\n[mcp_servers.docs]\nurl = \"https://d\"\n\n[profiles.fast]"), "{text}");
        assert_eq!(
            doc.entries("mcp_servers"),
            vec![("docs".to_string(), json!({"url": "https://d"}))]
        );
    }

    #[test]
    fn missing_container_is_created_implicitly_and_removed_again() {
        let text = "model = \"o3\"\n";
        let mut doc = TomlDoc::parse(text).unwrap();
        doc.set("mcp_servers", "x", &obj(json!({"command": "a"})))
            .unwrap();
        assert_eq!(
            doc.text(),
            "model = \"o3\"\n\n[mcp_servers.x]\ncommand = \"a\"\n"
        );
        doc.remove("mcp_servers", "x");
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn an_inline_container_stays_inline() {
        let text = "mcp_servers = { docs = { command = \"d\" } }\nmodel = \"o3\"\n";
        let mut doc = TomlDoc::parse(text).unwrap();
        doc.set("mcp_servers", "x", &obj(json!({"command": "a"})))
            .unwrap();
        let out = doc.text();
        assert!(
            out.starts_with("mcp_servers = { docs = { command = \"d\" }"),
            "{out}"
        );
        assert_eq!(
            TomlDoc::parse(&out).unwrap().get("mcp_servers", "x"),
            Some(json!({"command": "a"}))
        );
        assert_eq!(doc.entries("mcp_servers").len(), 2);
        assert!(doc.remove("mcp_servers", "x"));
        assert_eq!(
            doc.get("mcp_servers", "docs"),
            Some(json!({"command": "d"}))
        );
    }

    #[test]
    fn a_container_that_is_not_a_table_is_not_overwritten() {
        let text = "mcp_servers = 5\n";
        let mut doc = TomlDoc::parse(text).unwrap();
        assert!(
            doc.set("mcp_servers", "x", &obj(json!({"command": "a"})))
                .is_err()
        );
        assert_eq!(doc.text(), text);
    }

    #[test]
    fn unparseable_files_are_refused() {
        assert!(TomlDoc::parse("[mcp_servers\ncommand = ").is_err());
        assert!(TomlDoc::parse("a = 1\na = 2\n").is_err());
        assert!(TomlDoc::parse("").is_ok());
    }

    fn document() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(("[a-z]{1,6}", "[a-zA-Z0-9 ]{0,8}", any::<bool>()), 1..5),
            prop::collection::vec("[a-z]{1,6}", 0..3),
            any::<bool>(),
        )
            .prop_map(|(fields, servers, comment)| {
                let mut out = String::new();
                if comment {
                    out.push_str("# my config\n");
                }
                let mut seen = std::collections::BTreeSet::new();
                for (k, v, c) in fields {
                    if seen.insert(k.clone()) {
                        let note = if c { "  # why" } else { "" };
                        out.push_str(&format!("k{k} = \"{v}\"{note}\n"));
                    }
                }
                let mut names = std::collections::BTreeSet::new();
                for name in servers {
                    if names.insert(name.clone()) {
                        out.push_str(&format!("\n[mcp_servers.s{name}]\ncommand = \"{name}\"\n"));
                    }
                }
                out
            })
    }

    proptest! {
        #[test]
        fn deploy_then_undeploy_restores_the_file(text in document(), cmd in "[a-z]{1,8}") {
            let mut doc = TomlDoc::parse(&text).unwrap();
            let entry = obj(json!({"command": cmd, "args": ["-y"], "env": {"K": "v"}}));
            doc.set("mcp_servers", "x", &entry).unwrap();
            let deployed = doc.text();
            let mut again = TomlDoc::parse(&deployed).unwrap();
            again.set("mcp_servers", "x", &entry).unwrap();
            prop_assert_eq!(again.text(), deployed.clone());
            let mut undo = TomlDoc::parse(&deployed).unwrap();
            prop_assert!(undo.remove("mcp_servers", "x"));
            prop_assert_eq!(undo.text(), text);
        }
    }
}
