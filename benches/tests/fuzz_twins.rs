//! Proptest twins of the cargo-fuzz targets in `fuzz/`: the same property functions
//! (`tests/props/*.rs`, which the fuzz targets include verbatim) driven by generated
//! inputs, so the properties are checked in every `cargo test` run.
//!
//! - `config_parse`: JSON objects mixing the known `config.json` keys (plausible and
//!   wrong-typed values) with unknown keys; every accepted config must round-trip, and
//!   objects made only of plausible values must be accepted.
//! - `worktree_id`: ids, branch names and resolution over arbitrary and near-valid
//!   strings.
//! - `jsonl_log`: ops logs assembled from valid records, torn records, garbage and blank
//!   lines, with or without a final newline.
//! - `request_body`: JSON values (plausible task, note and config fields among them) with
//!   and without trailing data, and raw bytes, sent to every state-changing JSON route
//!   of the real router.
//! - `adf_render`: ADF-shaped documents (known and unknown node types, marks, attrs of
//!   wrong types, deep nesting) and raw bytes rendered to Markdown; texts round-trip
//!   through ADF.
//! - `skill_frontmatter`: SKILL.md documents assembled from frontmatter lines (scalars,
//!   quoted values, lists, blocks, comments, duplicates), fences and bodies, merged with
//!   arbitrary keys and values.

#[path = "props/adf.rs"]
mod adf_props;
#[path = "props/config.rs"]
mod config_props;
#[path = "props/frontmatter.rs"]
mod frontmatter_props;
#[path = "props/ids.rs"]
mod id_props;
#[path = "props/jsonl.rs"]
mod jsonl_props;
#[path = "props/request_body.rs"]
mod request_body_props;

use openkit_core::config::{AGENTS, FRAMEWORKS};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// The keys `WorktreeConfig` knows.
const KNOWN_KEYS: [&str; 18] = [
    "projectDir",
    "startCommand",
    "installCommand",
    "baseBranch",
    "ports",
    "envMapping",
    "autoInstall",
    "localIssuePrefix",
    "localAutoStartAgent",
    "localAutoStartClaudeOnNewIssue",
    "localAutoStartClaudeSkipPermissions",
    "localAutoStartClaudeFocusTerminal",
    "openProjectTarget",
    "framework",
    "showDiffStats",
    "activity",
    "opsLog",
    // Not a field: `extra` is flattened, so a key named "extra" is just unknown.
    "extra",
];

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn string(re: &'static str) -> BoxedStrategy<Value> {
    re.prop_map(Value::from).boxed()
}

/// A value the parser should accept for `key`.
fn plausible(key: &'static str) -> BoxedStrategy<Value> {
    match key {
        "projectDir" => prop_oneof![
            Just(json!(".")),
            "[a-z][a-z0-9_-]{0,7}(/[a-z][a-z0-9_-]{0,7}){0,2}".prop_map(Value::from)
        ]
        .boxed(),
        "startCommand" | "installCommand" => string("[ -~]{0,30}"),
        "baseBranch" => string("[a-z][a-z0-9/_-]{0,15}"),
        "ports" => (
            proptest::collection::vec(1u16.., 0..4),
            1u16..=1000,
            proptest::option::of(any_json()),
        )
            .prop_map(|(discovered, step, extra)| {
                let mut ports = json!({ "discovered": discovered, "offsetStep": step });
                if let Some(extra) = extra {
                    ports["futurePortSetting"] = extra;
                }
                ports
            })
            .boxed(),
        "envMapping" => proptest::collection::btree_map("[A-Z_]{1,10}", "[ -~]{0,20}", 0..4)
            .prop_map(|m| json!(m))
            .boxed(),
        "autoInstall"
        | "localAutoStartClaudeOnNewIssue"
        | "localAutoStartClaudeSkipPermissions"
        | "localAutoStartClaudeFocusTerminal" => any::<bool>().prop_map(Value::from).boxed(),
        "showDiffStats" => proptest::option::of(any::<bool>())
            .prop_map(|b| json!(b))
            .boxed(),
        "localIssuePrefix" => string("[A-Z][A-Z0-9]{0,5}"),
        "localAutoStartAgent" => proptest::sample::select(AGENTS.to_vec())
            .prop_map(Value::from)
            .boxed(),
        "framework" => proptest::option::of(proptest::sample::select(FRAMEWORKS.to_vec()))
            .prop_map(|f| json!(f))
            .boxed(),
        "openProjectTarget" => proptest::option::of("[a-z]{1,10}")
            .prop_map(|t| json!(t))
            .boxed(),
        _ => any_json().boxed(),
    }
}

/// Unknown top-level keys (never one of [`KNOWN_KEYS`]) with any value.
fn unknown_keys() -> impl Strategy<Value = Vec<(String, Value)>> {
    proptest::collection::vec(
        (
            "[a-zA-Z_][a-zA-Z0-9_]{0,12}"
                .prop_filter("unknown", |k| !KNOWN_KEYS.contains(&k.as_str())),
            any_json(),
        ),
        0..4,
    )
}

/// A config object: each known key absent, plausible or of any type (often the wrong
/// one), plus unknown keys. With `wrong_types` false, known keys are absent or plausible.
fn config_object(wrong_types: bool) -> impl Strategy<Value = Map<String, Value>> {
    let fields: Vec<BoxedStrategy<Option<Value>>> = KNOWN_KEYS
        .iter()
        .map(|&key| {
            let absent = Just(None::<Value>).boxed();
            let ok = plausible(key).prop_map(Some).boxed();
            if wrong_types {
                prop_oneof![3 => absent, 6 => ok, 1 => any_json().prop_map(Some)].boxed()
            } else {
                prop_oneof![1 => absent, 2 => ok].boxed()
            }
        })
        .collect();
    (fields, unknown_keys()).prop_map(|(values, unknown)| {
        let mut map = Map::new();
        for (key, value) in KNOWN_KEYS.iter().zip(values) {
            if let Some(value) = value {
                map.insert((*key).to_string(), value);
            }
        }
        map.extend(unknown);
        map
    })
}

/// Strings near the id and branch alphabets, with the characters that matter for paths.
fn near_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9][a-zA-Z0-9 -]{0,20}",
        "[a-zA-Z0-9./_ \\\\-]{0,20}",
        "(feature/|fix/|chore/)?[a-zA-Z0-9][a-zA-Z0-9/_.-]{0,30}",
        "[rR][oO][oO][tT]",
        "[a-z0-9]{120,140}",
        "[a-z]{1,3}(\\.\\.|//|\\.lock|/\\.|@\\{|\\x00)[a-z]{0,3}",
        "\\PC{0,16}",
        ".{0,16}",
    ]
}

/// One piece of an ops log: a valid record line, a record cut short (or cut just
/// before its newline), garbage, or a bare newline.
fn log_piece() -> impl Strategy<Value = Vec<u8>> {
    let record = (
        "[a-z0-9-]{1,12}",
        0i64..4_000_000_000_000,
        prop::sample::select(vec!["debug", "info", "warning", "error"]),
        prop::sample::select(vec!["started", "succeeded", "failed", "info"]),
        "\\PC{0,20}",
    )
        .prop_map(|(id, ms, level, status, message)| {
            let timestamp = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            serde_json::to_vec(&json!({
                "id": id, "timestamp": timestamp, "source": "git", "action": "run",
                "message": message, "level": level, "status": status,
            }))
            .unwrap()
        });
    prop_oneof![
        4 => record.clone().prop_map(|mut line| { line.push(b'\n'); line }),
        1 => (record.clone(), any::<prop::sample::Index>()).prop_map(|(line, cut)| {
            line[..cut.index(line.len())].to_vec()
        }),
        // Complete JSON, but torn just before its newline.
        1 => record,
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => Just(b"\n".to_vec()),
    ]
}

/// One router over one fixture project for every `request_body` case.
fn request_target() -> &'static request_body_props::Target {
    static TARGET: std::sync::OnceLock<request_body_props::Target> = std::sync::OnceLock::new();
    TARGET.get_or_init(request_body_props::Target::new)
}

/// A request body: a JSON value (often an object of fields the routes know), optionally
/// followed by something that makes it not one JSON value; or raw bytes.
fn request_body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("title"),
        Just("description"),
        Just("status"),
        Just("content"),
        Just("text"),
        Just("category"),
        Just("type"),
        Just("severity"),
        Just("message"),
        Just("retentionDays"),
        Just("maxSizeMB"),
        Just("allowCommit"),
        Just("startCommand"),
        Just("ports"),
        Just("x"),
    ];
    let object = proptest::collection::btree_map(field, any_json(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    let value = prop_oneof![3 => object, 1 => any_json()];
    let trailing = prop_oneof![
        Just(String::new()),
        Just(" xyz".to_string()),
        Just("{}".to_string()),
        Just(" 1".to_string()),
        Just("]".to_string()),
        Just("\u{0}".to_string()),
        "\\PC{1,4}",
    ];
    prop_oneof![
        4 => (value, trailing).prop_map(|(v, t)| [v.to_string().into_bytes(), t.into_bytes()].concat()),
        1 => proptest::collection::vec(any::<u8>(), 0..48),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Twin of fuzz target `request_body`.
    #[test]
    fn request_bodies_are_one_json_value_or_an_enveloped_400(
        route in 0..request_body_props::ROUTES.len(),
        body in request_body(),
    ) {
        request_body_props::check_body(request_target(), route, &body);
    }

    /// The fuzz target's own entry on raw bytes (the first byte picks the route).
    #[test]
    fn raw_request_bytes_never_fail_the_server(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        request_body_props::route_and_body(request_target(), &data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Twin of fuzz target `jsonl_log`.
    #[test]
    fn jsonl_log_reads_exactly_the_complete_records(
        pieces in proptest::collection::vec(log_piece(), 0..12),
    ) {
        jsonl_props::log_bytes(&pieces.concat());
    }

    /// Twin of fuzz target `config_parse` (object level).
    #[test]
    fn config_parse_round_trips(map in config_object(true)) {
        config_props::config_object(map);
    }

    /// Twin of fuzz target `config_parse` (bytes level): the same objects as JSON text.
    #[test]
    fn config_parse_round_trips_from_text(map in config_object(true), pretty in any::<bool>()) {
        let value = Value::Object(map);
        let text = if pretty {
            serde_json::to_vec_pretty(&value)
        } else {
            serde_json::to_vec(&value)
        }
        .unwrap();
        config_props::config_bytes(&text);
    }

    /// Twin of fuzz target `config_parse` on raw bytes (mostly not JSON: must not panic).
    #[test]
    fn config_parse_survives_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        config_props::config_bytes(&bytes);
    }

    /// Plausible values of every known key, plus unknown keys, are accepted.
    #[test]
    fn plausible_configs_are_accepted(map in config_object(false)) {
        let shown = Value::Object(map.clone()).to_string();
        prop_assert!(config_props::config_object(map), "rejected: {}", shown);
    }

    /// Twin of fuzz target `worktree_id`: one string per line.
    #[test]
    fn worktree_id_lines(lines in proptest::collection::vec(near_id(), 1..6)) {
        id_props::lines(&lines.join("\n"));
    }

    /// Resolution over case variants of a few ids (where ambiguity happens).
    #[test]
    fn worktree_id_resolution(
        known in proptest::collection::vec("[a-bA-B]{1,2}", 0..8),
        wanted in "[a-bA-B]{1,2}",
    ) {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        id_props::resolution(&wanted, &known);
    }
}

/// The seeds in `fuzz/seeds/` (the fuzzers' starting corpus) pass the properties too.
#[test]
fn fuzz_seeds_pass() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut checked = 0;
    for (target, check) in [
        (
            "config_parse",
            (|b: &[u8]| config_props::config_bytes(b)) as fn(&[u8]),
        ),
        ("worktree_id", |b: &[u8]| {
            id_props::lines(&String::from_utf8_lossy(b));
        }),
        ("jsonl_log", jsonl_props::log_bytes),
    ] {
        let Ok(entries) = std::fs::read_dir(seeds.join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            check(&std::fs::read(entry.path()).unwrap());
            checked += 1;
        }
    }
    assert!(checked > 0, "no seeds found under {}", seeds.display());
}

/// The realistic benchmark config is accepted and round-trips.
#[test]
fn realistic_config_round_trips() {
    config_props::config_bytes(openkit_benches::REALISTIC_CONFIG.as_bytes());
    let Value::Object(map) = serde_json::from_str(openkit_benches::REALISTIC_CONFIG).unwrap()
    else {
        unreachable!()
    };
    assert!(config_props::config_object(map));
}

/// A config whose unknown field holds a float survives a rewrite unchanged: the workspace
/// enables serde_json's `float_roundtrip`, so floats parse exactly.
#[test]
fn unknown_float_fields_survive_a_text_round_trip_exactly() {
    assert!(
        config_props::exact_float_parsing(),
        "serde_json parses -937969169490.6013 as {}",
        serde_json::from_str::<f64>("-937969169490.6013").unwrap()
    );
}

/// One line of generated frontmatter.
fn frontmatter_line() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z][a-z-]{0,6}", "[ -~]{0,12}").prop_map(|(k, v)| format!("{k}: {v}")),
        ("[a-z]{1,4}", "\\PC{0,8}")
            .prop_map(|(k, v)| format!("{k}: {}", serde_json::to_string(&v).unwrap())),
        "[a-z]{1,4}".prop_map(|k| format!("{k}:\n  - a\n  - b")),
        "[a-z]{1,4}".prop_map(|k| format!("{k}: |\n  line one\n  line two")),
        "[a-z]{1,4}".prop_map(|k| format!("{k}: [x, \"y z\"]")),
        Just("# a comment".to_string()),
        Just(String::new()),
        "\\PC{0,10}",
    ]
}

fn frontmatter_doc() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(frontmatter_line(), 0..6),
        any::<bool>(),
        "\\PC{0,20}",
    )
        .prop_map(|(lines, fenced, body)| {
            if fenced {
                format!("---\n{}\n---\n{body}", lines.join("\n"))
            } else {
                format!("{}\n{body}", lines.join("\n"))
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn skill_frontmatter_twin(
        doc in frontmatter_doc(),
        key in prop_oneof![Just("description".to_string()), "[a-z][a-z0-9-]{0,8}", "\\PC{0,6}"],
        value in prop_oneof![
            "\\PC{0,16}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            prop::collection::vec("[ -~]{0,6}", 0..3).prop_map(|v| json!(v)),
        ],
    ) {
        frontmatter_props::frontmatter(&doc, &key, &value);
    }

    #[test]
    fn skill_frontmatter_bytes_twin(data in prop::collection::vec(any::<u8>(), 0..200)) {
        frontmatter_props::frontmatter_bytes(&data);
    }
}

/// An ADF-shaped node: known and unknown types, marks and attrs (some of the wrong
/// type), nested a few levels, mixed with arbitrary JSON.
fn adf_node() -> impl Strategy<Value = Value> {
    const TYPES: [&str; 22] = [
        "doc",
        "paragraph",
        "text",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "blockquote",
        "panel",
        "rule",
        "table",
        "tableRow",
        "tableCell",
        "tableHeader",
        "mediaSingle",
        "media",
        "mention",
        "emoji",
        "hardBreak",
        "taskList",
        "mystery",
    ];
    let leaf = prop_oneof![
        ("[a-z |*`#>\\n-]{0,12}").prop_map(|t| json!({"type": "text", "text": t})),
        (0..TYPES.len()).prop_map(|i| json!({"type": TYPES[i]})),
        any_json(),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        (
            0..TYPES.len(),
            proptest::collection::vec(inner, 0..6),
            prop_oneof![
                Just(Value::Null),
                Just(json!({"level": 9, "order": "x", "language": 3})),
                Just(json!({"text": "@ann", "url": "https://x.invalid", "state": "DONE"})),
            ],
            prop_oneof![
                Just(Value::Null),
                Just(json!([{"type": "strong"}, {"type": "link", "attrs": {"href": "h"}}])),
                Just(json!([{"type": "code"}, 7])),
            ],
        )
            .prop_map(|(t, content, attrs, marks)| {
                json!({"type": TYPES[t], "content": content, "attrs": attrs, "marks": marks, "text": "t"})
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Twin of fuzz target `adf_render`.
    #[test]
    fn adf_renders_within_bounds(doc in adf_node()) {
        adf_props::adf_value(&doc);
    }

    /// The fuzz target's entry on raw bytes.
    #[test]
    fn adf_raw_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        adf_props::adf_bytes(&data);
    }

    /// Nesting far beyond the renderer's depth bound is cut, not followed.
    #[test]
    fn adf_deep_nesting_is_bounded(depth in 0usize..120, kind in 0usize..3) {
        let wrapper = ["blockquote", "bulletList", "listItem"][kind];
        let mut node = json!({"type": "text", "text": "x"});
        for _ in 0..depth {
            node = json!({"type": wrapper, "content": [node]});
        }
        adf_props::adf_value(&node);
    }

    /// Texts written in OpenKit survive the trip through ADF.
    #[test]
    fn adf_text_round_trips(lines in proptest::collection::vec(("[a-z ]{0,8}", 0..3usize), 0..8)) {
        let text: String = lines
            .iter()
            .map(|(l, sep)| format!("{l}{}", ["", "\n", "\n\n"][*sep]))
            .collect();
        adf_props::text_round_trip(&text);
    }
}
