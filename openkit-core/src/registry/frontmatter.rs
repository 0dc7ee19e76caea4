//! YAML frontmatter of `SKILL.md` and agent Markdown files: read as a map of top-level
//! keys, and merged line by line so an update touches only the keys it sets.
//!
//! A document with frontmatter starts with a `---` line and the frontmatter ends at the
//! next `---` line. Top-level `key: value` lines give scalars (quoted or plain strings,
//! booleans, numbers, flow lists `[a, b]`); a key whose value continues on indented lines
//! (block lists, block scalars, nested maps) reads as the text of those lines. Values
//! written by a merge are always valid YAML (strings double-quoted when plain would
//! change their meaning, lists and maps in JSON flow style).

use serde_json::{Map, Value};

/// A split document: the frontmatter lines (without the `---` fences) and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The frontmatter lines, `None` when the document has none.
    pub frontmatter: Option<Vec<String>>,
    /// Everything after the closing fence (or the whole text).
    pub body: String,
}

/// Splits `text` into frontmatter and body.
pub fn split(text: &str) -> Document {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        return Document {
            frontmatter: None,
            body: text.to_string(),
        };
    }
    let mut front = Vec::new();
    let mut consumed = first.len();
    for line in lines {
        consumed += line.len();
        if line.trim_end() == "---" {
            return Document {
                frontmatter: Some(front),
                body: text[consumed..].to_string(),
            };
        }
        front.push(line.trim_end_matches(['\n', '\r']).to_string());
    }
    // No closing fence: not frontmatter.
    Document {
        frontmatter: None,
        body: text.to_string(),
    }
}

/// The key of a top-level `key: value` line.
fn key_of(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let (key, rest) = line.split_once(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let key = key.trim();
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then_some(key)
}

fn unquote(raw: &str) -> Value {
    let raw = raw.trim();
    if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        if let Ok(Value::String(s)) = serde_json::from_str::<Value>(raw) {
            return Value::String(s);
        }
        return Value::String(raw[1..raw.len() - 1].to_string());
    }
    if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
        return Value::String(raw[1..raw.len() - 1].replace("''", "'"));
    }
    Value::String(raw.to_string())
}

/// Reads one scalar or flow value.
/// Where a trailing comment (` #` outside quotes) starts in `raw`, if it has one.
fn comment_start(raw: &str) -> Option<usize> {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut previous = ' ';
    for (i, c) in raw.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if double => escaped = true,
            '"' if !single => double = !double,
            '\'' if !double => single = !single,
            '#' if !single && !double && previous.is_whitespace() && i > 0 => return Some(i),
            _ => {}
        }
        previous = c;
    }
    None
}

fn scalar(raw: &str) -> Value {
    let raw = raw.trim();
    // A comment after a value (a `#` inside quotes, in a string or a list, is text).
    let raw = match comment_start(raw) {
        Some(i) => raw[..i].trim_end(),
        None => raw,
    };
    match raw {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "null" | "~" | "" => return Value::Null,
        _ => {}
    }
    if let Ok(n) = raw.parse::<i64>() {
        return Value::from(n);
    }
    if raw.starts_with('[') && raw.ends_with(']') {
        if let Ok(v) = serde_json::from_str::<Value>(raw) {
            return v;
        }
        let inner = &raw[1..raw.len() - 1];
        return Value::Array(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(unquote)
                .collect(),
        );
    }
    unquote(raw)
}

/// The top-level keys of frontmatter `lines` with their values, in order.
pub fn parse(lines: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(key) = key_of(&lines[i]) else {
            i += 1;
            continue;
        };
        let rest = lines[i].split_once(':').map(|(_, r)| r).unwrap_or("");
        let end = block_end(lines, i);
        let value = if end > i + 1 && rest.trim().is_empty() || rest.trim().starts_with(['|', '>'])
        {
            let block: Vec<&str> = lines[i + 1..end].iter().map(String::as_str).collect();
            if block
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with("- "))
            {
                Value::Array(
                    block
                        .iter()
                        .filter_map(|l| l.trim_start().strip_prefix("- "))
                        .map(scalar)
                        .collect(),
                )
            } else {
                let indent = block
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.len() - l.trim_start().len())
                    .min()
                    .unwrap_or(0);
                let text: Vec<&str> = block
                    .iter()
                    .map(|l| l.get(indent..).unwrap_or("").trim_end())
                    .collect();
                let joiner = if rest.trim().starts_with('>') {
                    " "
                } else {
                    "\n"
                };
                Value::String(text.join(joiner).trim_end().to_string())
            }
        } else {
            scalar(rest)
        };
        out.insert(key.to_string(), value);
        i = end;
    }
    out
}

/// The index after the lines that belong to the key at `start` (its continuation lines:
/// indented, list items, blank lines before more of them).
fn block_end(lines: &[String], start: usize) -> usize {
    let mut end = start + 1;
    let mut last = start + 1;
    while end < lines.len() {
        let line = &lines[end];
        if line.trim().is_empty() {
            end += 1;
            continue;
        }
        if line.starts_with([' ', '\t']) || line.starts_with("- ") {
            end += 1;
            last = end;
            continue;
        }
        break;
    }
    last
}

/// `value` as a YAML value that reads back as `value`.
pub fn render(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain_ok = !s.is_empty()
                && !s.starts_with(|c: char| " \t-?:,[]{}#&*!|>'\"%@`".contains(c))
                && !s.ends_with([' ', '\t'])
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.contains(['\n', '\r'])
                && scalar(s) == Value::String(s.clone());
            if plain_ok {
                s.clone()
            } else {
                serde_json::to_string(s).expect("a string serialises")
            }
        }
        other => serde_json::to_string(other).expect("a JSON value serialises"),
    }
}

/// Sets (or, for `null`, removes) each key of `patch` in frontmatter `lines`; other
/// lines are kept as they are. A set key keeps the place of its first occurrence (later
/// duplicates are dropped, so it reads back as set); a new one is appended.
pub fn merge(lines: &mut Vec<String>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        let mut first = None;
        let mut i = 0;
        while i < lines.len() {
            if key_of(&lines[i]) != Some(key.as_str()) {
                i += 1;
                continue;
            }
            let end = block_end(lines, i);
            if first.is_none() && !value.is_null() {
                lines.splice(i..end, [format!("{key}: {}", render(value))]);
                first = Some(i);
                i += 1;
            } else {
                lines.drain(i..end);
            }
        }
        if first.is_none() && !value.is_null() {
            lines.push(format!("{key}: {}", render(value)));
        }
    }
}

/// Joins frontmatter `lines` and `body` into a document.
pub fn join(lines: &[String], body: &str) -> String {
    let mut out = String::from("---\n");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("---\n");
    out.push_str(body);
    out
}

/// Merges `patch` into the frontmatter of `text` (created when it has none).
pub fn merge_into(text: &str, patch: &Map<String, Value>) -> String {
    let doc = split(text);
    let mut lines = doc.frontmatter.unwrap_or_default();
    merge(&mut lines, patch);
    join(&lines, &doc.body)
}

/// The frontmatter of `text` as a map (empty when it has none).
pub fn read(text: &str) -> Map<String, Value> {
    split(text)
        .frontmatter
        .map(|l| parse(&l))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const SKILL: &str = "---\nname: my-skill\ndescription: \"Does: things\"\nallowed-tools: [Bash, Read]\n# a comment\nmetadata:\n  owner: me\n  team: x\nuser-invocable: true\n---\n# My Skill\n\nBody.\n";

    #[test]
    fn reads_scalars_lists_and_blocks() {
        let fm = read(SKILL);
        assert_eq!(fm["name"], "my-skill");
        assert_eq!(fm["description"], "Does: things");
        assert_eq!(fm["allowed-tools"], json!(["Bash", "Read"]));
        assert_eq!(fm["metadata"], "owner: me\nteam: x");
        assert_eq!(fm["user-invocable"], true);
        assert_eq!(split(SKILL).body, "# My Skill\n\nBody.\n");
        assert!(read("# no frontmatter\n").is_empty());
        assert!(read("---\nname: x\n").is_empty(), "no closing fence");
    }

    #[test]
    fn comments_start_only_outside_quotes() {
        assert_eq!(scalar("plain # note"), json!("plain"));
        assert_eq!(scalar("[\" #\"]"), json!([" #"]));
        assert_eq!(scalar("\"a # b\" # note"), json!("a # b"));
        assert_eq!(scalar("'it''s # x'"), json!("it's # x"));
        assert_eq!(scalar("a#b"), json!("a#b"));
    }

    #[test]
    fn merge_touches_only_the_keys_it_sets() {
        let patch = json!({"description": "updated", "metadata": null, "model": "sonnet"});
        let out = merge_into(SKILL, patch.as_object().unwrap());
        assert_eq!(
            out,
            "---\nname: my-skill\ndescription: updated\nallowed-tools: [Bash, Read]\n# a comment\nuser-invocable: true\nmodel: sonnet\n---\n# My Skill\n\nBody.\n"
        );
        let added = merge_into("Body only\n", json!({"name": "x"}).as_object().unwrap());
        assert_eq!(added, "---\nname: x\n---\nBody only\n");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in any::<String>()) {
            let _ = read(&text);
        }

        #[test]
        fn merged_values_read_back(
            key in "[a-z][a-z-]{0,10}",
            text in "[ -~]{0,20}",
            flag in any::<bool>(),
            n in any::<i32>(),
            list in prop::collection::vec("[ -~]{0,6}", 0..3),
        ) {
            for value in [json!(text), json!(flag), json!(n), json!(list)] {
                let mut patch = Map::new();
                patch.insert(key.clone(), value.clone());
                let out = merge_into(SKILL, &patch);
                prop_assert_eq!(&read(&out)[key.as_str()], &value);
                prop_assert!(out.ends_with("---\n# My Skill\n\nBody.\n"));
            }
        }
    }
}
