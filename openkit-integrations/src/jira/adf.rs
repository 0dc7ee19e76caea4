//! Atlassian Document Format (ADF) to Markdown, and plain text back to ADF.
//!
//! Jira Cloud's REST API v3 gives descriptions and comments as ADF: a JSON tree of
//! nodes (`doc`, `paragraph`, `text` with `marks`, lists, tables, code blocks, ...).
//! [`to_markdown`] renders any JSON value without failing: unknown nodes render their
//! children, nodes without the expected attributes render what they have, and whatever
//! is nested deeper than [`MAX_DEPTH`] is dropped (with a `…`), so a hostile document
//! can neither exhaust the stack nor make the output grow beyond a linear function of
//! its input. [`from_text`] builds the ADF document Jira accepts for a text written in
//! OpenKit (paragraphs split at blank lines, line breaks kept).

use serde_json::{Value, json};

/// Nodes nested deeper than this are not rendered.
pub const MAX_DEPTH: usize = 48;

/// Renders an ADF document (or any JSON value) as Markdown. `null` renders as `""`.
pub fn to_markdown(doc: &Value) -> String {
    let mut out = Renderer::default();
    out.block(doc, 0, "");
    let text = out.buf.trim_end().to_string();
    text.trim_start_matches('\n').to_string()
}

#[derive(Default)]
struct Renderer {
    buf: String,
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn attr<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|a| a.get(name))
}

fn attr_str<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    attr(node, name).and_then(Value::as_str)
}

impl Renderer {
    /// Ends the current block with a blank line (unless the buffer is empty or already
    /// ends with one).
    fn end_block(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        while !self.buf.ends_with("\n\n") {
            self.buf.push('\n');
        }
    }

    /// Renders a block-level node; `indent` prefixes every line it writes after the
    /// first (list items, quotes).
    fn block(&mut self, node: &Value, depth: usize, indent: &str) {
        if depth > MAX_DEPTH {
            self.buf.push('…');
            return;
        }
        match node {
            Value::Array(nodes) => {
                for n in nodes {
                    self.block(n, depth + 1, indent);
                }
                return;
            }
            Value::Object(_) => {}
            Value::String(s) => {
                self.buf.push_str(s);
                return;
            }
            _ => return,
        }
        match kind(node) {
            "paragraph" => {
                let text = self.inline_of(node, depth, indent);
                self.buf.push_str(&text);
                self.end_block();
            }
            "heading" => {
                let level = attr(node, "level")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, 6) as usize;
                let text = self.inline_of(node, depth, indent);
                self.buf.push_str(&"#".repeat(level));
                self.buf.push(' ');
                self.buf.push_str(&text);
                self.end_block();
            }
            "bulletList" | "orderedList" | "taskList" => {
                let ordered = kind(node) == "orderedList";
                let mut number = attr(node, "order").and_then(Value::as_u64).unwrap_or(1);
                for (i, item) in children(node).iter().enumerate() {
                    if i > 0 {
                        // Items follow each other without a blank line.
                        self.buf.truncate(self.buf.trim_end_matches('\n').len());
                        self.buf.push('\n');
                    }
                    let marker = if ordered {
                        let m = format!("{number}. ");
                        number = number.saturating_add(1);
                        m
                    } else if kind(item) == "taskItem" {
                        if attr_str(item, "state") == Some("DONE") {
                            "- [x] ".to_string()
                        } else {
                            "- [ ] ".to_string()
                        }
                    } else {
                        "- ".to_string()
                    };
                    self.list_item(item, depth + 1, indent, &marker);
                }
                self.end_block();
            }
            "codeBlock" => {
                let language = attr_str(node, "language").unwrap_or("");
                let mut code = String::new();
                collect_text(node, depth, &mut code);
                let fence = if code.contains("```") { "````" } else { "```" };
                self.buf.push_str(fence);
                self.buf.push_str(language.lines().next().unwrap_or(""));
                self.buf.push('\n');
                for line in code.lines() {
                    self.buf.push_str(indent);
                    self.buf.push_str(line);
                    self.buf.push('\n');
                }
                self.buf.push_str(indent);
                self.buf.push_str(fence);
                self.end_block();
            }
            "blockquote" | "panel" => {
                let mut inner = Renderer::default();
                for child in children(node) {
                    inner.block(child, depth + 1, "");
                }
                let text = inner.buf.trim_end();
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        self.buf.push('\n');
                        self.buf.push_str(indent);
                    }
                    self.buf.push_str("> ");
                    self.buf.push_str(line);
                }
                self.end_block();
            }
            "rule" => {
                self.buf.push_str("---");
                self.end_block();
            }
            "table" => {
                self.table(node, depth + 1, indent);
                self.end_block();
            }
            "mediaSingle" | "mediaGroup" | "media" | "mediaInline" => {
                self.media(node, depth);
                self.end_block();
            }
            // Inline nodes met at block level, and the document itself and unknown
            // containers: their content.
            "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" | "status" | "date" => {
                let text = self.inline(node, depth, indent);
                self.buf.push_str(&text);
            }
            _ => {
                for child in children(node) {
                    self.block(child, depth + 1, indent);
                }
            }
        }
    }

    fn list_item(&mut self, item: &Value, depth: usize, indent: &str, marker: &str) {
        self.buf.push_str(indent);
        self.buf.push_str(marker);
        let inner_indent = format!("{indent}{}", " ".repeat(marker.len()));
        let mut inner = Renderer::default();
        if depth > MAX_DEPTH {
            inner.buf.push('…');
        } else if kind(item) == "taskItem" {
            inner
                .buf
                .push_str(&self.inline_of(item, depth, &inner_indent));
        } else {
            for child in children(item) {
                inner.block(child, depth + 1, &inner_indent);
            }
        }
        let text = inner.buf.trim_end();
        // Blank lines between an item's blocks would end the list.
        let mut first = true;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if !first {
                self.buf.push('\n');
                if !line.starts_with(&inner_indent) {
                    self.buf.push_str(&inner_indent);
                }
            }
            self.buf.push_str(line);
            first = false;
        }
        self.buf.push('\n');
    }

    fn table(&mut self, node: &Value, depth: usize, indent: &str) {
        if depth > MAX_DEPTH {
            self.buf.push('…');
            return;
        }
        let rows: Vec<Vec<String>> = children(node)
            .iter()
            .map(|row| {
                children(row)
                    .iter()
                    .map(|cell| {
                        let mut text = String::new();
                        collect_inline_text(self, cell, depth + 1, &mut text);
                        text.replace('|', "\\|")
                            .replace('\n', " ")
                            .trim()
                            .to_string()
                    })
                    .collect()
            })
            .collect();
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        if width == 0 {
            return;
        }
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                self.buf.push('\n');
                self.buf.push_str(indent);
            }
            self.buf.push('|');
            for c in 0..width {
                self.buf.push(' ');
                self.buf
                    .push_str(row.get(c).map(String::as_str).unwrap_or(""));
                self.buf.push_str(" |");
            }
            if i == 0 {
                self.buf.push('\n');
                self.buf.push_str(indent);
                self.buf.push('|');
                for _ in 0..width {
                    self.buf.push_str(" --- |");
                }
            }
        }
    }

    fn media(&mut self, node: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if matches!(kind(node), "media" | "mediaInline") {
            let name = attr_str(node, "alt")
                .or_else(|| attr_str(node, "filename"))
                .or_else(|| attr_str(node, "id"))
                .unwrap_or("attachment");
            self.buf
                .push_str(&format!("[attachment: {}]", one_line(name)));
            return;
        }
        for child in children(node) {
            self.media(child, depth + 1);
        }
    }

    /// The inline content of a block node (its children, concatenated).
    fn inline_of(&self, node: &Value, depth: usize, indent: &str) -> String {
        let mut text = String::new();
        for child in children(node) {
            text.push_str(&self.inline(child, depth + 1, indent));
        }
        text
    }

    fn inline(&self, node: &Value, depth: usize, indent: &str) -> String {
        if depth > MAX_DEPTH {
            return "…".into();
        }
        match kind(node) {
            "text" => {
                let text = node.get("text").and_then(Value::as_str).unwrap_or("");
                apply_marks(text, node.get("marks"))
            }
            "hardBreak" => format!("\n{indent}"),
            "mention" => {
                let name = attr_str(node, "text").unwrap_or("someone");
                if name.starts_with('@') {
                    name.to_string()
                } else {
                    format!("@{name}")
                }
            }
            "emoji" => attr_str(node, "text")
                .or_else(|| attr_str(node, "shortName"))
                .unwrap_or("")
                .to_string(),
            "inlineCard" | "blockCard" | "embedCard" => {
                let url = attr_str(node, "url").unwrap_or("");
                format!("<{}>", one_line(url))
            }
            "status" => format!("[{}]", attr_str(node, "text").unwrap_or("")),
            "date" => attr(node, "timestamp")
                .map(|t| match t {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
            "media" | "mediaInline" => {
                let name = attr_str(node, "alt").unwrap_or("attachment");
                format!("[attachment: {}]", one_line(name))
            }
            _ => self.inline_of(node, depth, indent),
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// All text below `node`, for code blocks (marks ignored).
fn collect_text(node: &Value, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        return;
    }
    match kind(node) {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        _ => {
            for child in children(node) {
                collect_text(child, depth + 1, out);
            }
        }
    }
}

/// A table cell's content on one line.
fn collect_inline_text(r: &Renderer, node: &Value, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        return;
    }
    for child in children(node) {
        match kind(child) {
            "paragraph" | "heading" => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&r.inline_of(child, depth + 1, ""));
            }
            "text" | "mention" | "emoji" | "inlineCard" | "status" | "date" => {
                out.push_str(&r.inline(child, depth + 1, ""))
            }
            _ => collect_inline_text(r, child, depth + 1, out),
        }
    }
}

fn apply_marks(text: &str, marks: Option<&Value>) -> String {
    let Some(marks) = marks.and_then(Value::as_array) else {
        return text.to_string();
    };
    if text.is_empty() {
        return String::new();
    }
    let mut out = text.to_string();
    let mut link = None;
    for mark in marks {
        match kind(mark) {
            "code" => out = format!("`{out}`"),
            "strong" => out = format!("**{out}**"),
            "em" => out = format!("*{out}*"),
            "strike" => out = format!("~~{out}~~"),
            "link" => link = attr_str(mark, "href").map(one_line),
            _ => {}
        }
    }
    match link {
        Some(href) if !href.is_empty() => format!("[{out}]({href})"),
        _ => out,
    }
}

/// The ADF document of a text written in OpenKit: one paragraph per block of lines
/// separated by blank lines, line breaks as `hardBreak`s. An empty text is an empty
/// document.
pub fn from_text(text: &str) -> Value {
    let text = text.replace("\r\n", "\n");
    let mut paragraphs = Vec::new();
    for block in text.split("\n\n") {
        let block = block.trim_matches('\n');
        if block.trim().is_empty() {
            continue;
        }
        let mut content = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i > 0 {
                content.push(json!({"type": "hardBreak"}));
            }
            if !line.is_empty() {
                content.push(json!({"type": "text", "text": line}));
            }
        }
        paragraphs.push(json!({"type": "paragraph", "content": content}));
    }
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Value {
        json!({"type": "text", "text": t})
    }

    #[test]
    fn renders_the_common_nodes() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text("Steps")]},
            {"type": "paragraph", "content": [
                text("Run "),
                {"type": "text", "text": "make", "marks": [{"type": "code"}]},
                text(" then "),
                {"type": "text", "text": "look", "marks": [{"type": "strong"}, {"type": "link", "attrs": {"href": "https://x.invalid"}}]},
                {"type": "hardBreak"},
                {"type": "mention", "attrs": {"text": "@Ann"}},
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("one")]},
                    {"type": "orderedList", "content": [
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [text("nested")]}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("two")]}]},
            ]},
            {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [text("fn main() {}\nlet x = 1;")]},
            {"type": "blockquote", "content": [{"type": "paragraph", "content": [text("quoted")]}]},
            {"type": "rule"},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("a")]}]},
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("b|c")]}]}]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [{"type": "paragraph", "content": [text("1")]}]}]}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "abc", "alt": "shot.png"}}]},
        ]});
        insta::assert_snapshot!(to_markdown(&doc), @r"
        ## Steps

        Run `make` then [**look**](https://x.invalid)
        @Ann

        - one
          1. nested
        - two

        ```rust
        fn main() {}
        let x = 1;
        ```

        > quoted

        ---

        | a | b\|c |
        | --- | --- |
        | 1 |  |

        [attachment: shot.png]
        ");
    }

    #[test]
    fn malformed_documents_render_what_they_have() {
        assert_eq!(to_markdown(&Value::Null), "");
        assert_eq!(to_markdown(&json!("plain")), "plain");
        assert_eq!(to_markdown(&json!({"type": "doc", "content": "nope"})), "");
        assert_eq!(
            to_markdown(
                &json!({"content": [{"type": "paragraph", "content": [{"type": "text"}, 7, null, text("ok")]}]})
            ),
            "ok"
        );
        assert_eq!(
            to_markdown(
                &json!({"type": "heading", "attrs": {"level": 99}, "content": [text("h")]})
            ),
            "###### h"
        );
    }

    #[test]
    fn deep_nesting_is_cut_not_a_stack_overflow() {
        let mut node = text("deep");
        // serde_json refuses documents nested deeper than 128 when parsing, so 120 is
        // the deepest a document from Jira can be.
        for _ in 0..120 {
            node = json!({"type": "blockquote", "content": [node]});
        }
        let rendered = to_markdown(&node);
        assert!(rendered.contains('…'));
        assert!(!rendered.contains("deep"));
    }

    #[test]
    fn text_round_trips_through_adf() {
        let doc = from_text("first line\nsecond\n\nnext paragraph\n\n\n");
        assert_eq!(doc["content"].as_array().unwrap().len(), 2);
        assert_eq!(to_markdown(&doc), "first line\nsecond\n\nnext paragraph");
        assert_eq!(from_text("")["content"], json!([]));
    }
}
