//! The OpenAPI document (`GET /api/openapi.json`): it documents every route of the
//! router, and every response the API gives validates against it.
//!
//! [`check_response`] is the validation helper; the harness calls it for every response
//! the API tests see through `Api::send`, so each test in this binary also checks the
//! document.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{Api, PORT};

/// The document as the server serves it, parsed once.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(
        &openkit_http::openapi::document()
            .to_json()
            .expect("document serializes"),
    )
    .expect("document is JSON")
});

/// Compiled response schemas by (method, path template, status).
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every documented operation as `(METHOD, path template)`, in document order.
fn documented_operations() -> Vec<(String, String)> {
    let paths = DOCUMENT["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// The documented path template that `path` matches for `method`: literal segments must
/// be equal, `{param}` segments match any one segment; the most literal template wins
/// (as in the router).
fn template_for(method: &Method, path: &str) -> Option<String> {
    let method = method.as_str().to_lowercase();
    let segments: Vec<&str> = path.split('/').collect();
    let paths = DOCUMENT["paths"].as_object().expect("paths");
    paths
        .iter()
        .filter(|(_, item)| item.get(&method).is_some())
        .filter_map(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.clone()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// A validator for `schema`, resolving `#/components/...` references in the document.
fn compile(schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": DOCUMENT["components"].clone(),
        "allOf": [schema],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema does not compile ({e}): {schema}"))
}

fn validator(key: String, schema: impl FnOnce() -> Value) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().unwrap();
    Arc::clone(
        cache
            .entry(key)
            .or_insert_with(|| Arc::new(compile(&schema()))),
    )
}

fn assert_valid(validator: &jsonschema::Validator, body: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the body does not match the documented schema:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}

/// Validates `body` against the documented response of `(method, template)` for `status`:
/// the status must be documented, and a JSON body must match its schema.
pub fn validate(method: &Method, template: &str, status: StatusCode, body: &Value) {
    let what = format!("{method} {template} -> {}", status.as_u16());
    let operation = &DOCUMENT["paths"][template][method.as_str().to_lowercase()];
    assert!(operation.is_object(), "{what}: operation not documented");
    let response = &operation["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{what}: status not documented (documented: {:?}); body: {body}",
        operation["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect::<Vec<_>>())
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{what}: no JSON body documented; body: {body}"
    );
    let validator = validator(what.clone(), || schema.clone());
    assert_valid(&validator, body, &what);
}

/// Validates the JSON of one server-sent event of `GET path` against the documented
/// `text/event-stream` schema of its 200 response.
pub fn validate_event(path: &str, data: &Value) {
    let template = template_for(&Method::GET, path)
        .unwrap_or_else(|| panic!("GET {path}: no documented operation"));
    let what = format!("GET {template} event");
    let schema = &DOCUMENT["paths"][&template]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"];
    assert!(schema.is_object(), "{what}: no event schema documented");
    let validator = validator(what.clone(), || schema.clone());
    assert_valid(&validator, data, &what);
}

/// Validates a text frame the server sent on a terminal WebSocket against the
/// documented `TerminalServerMessage` schema.
pub fn validate_terminal_message(message: &Value) {
    let validator = validator(
        "TerminalServerMessage".into(),
        || json!({ "$ref": "#/components/schemas/TerminalServerMessage" }),
    );
    assert_valid(&validator, message, "terminal WebSocket text frame");
}

/// Validates a body against the shared error envelope.
fn validate_error_body(what: &str, body: &Value) {
    let validator = validator(
        "ErrorBody".into(),
        || json!({ "$ref": "#/components/schemas/ErrorBody" }),
    );
    assert_valid(&validator, body, what);
}

/// Checks one response the router gave for `method` and the concrete `path`.
///
/// A request that reached a documented operation must answer a documented status, with
/// a body matching its schema (JSON) or one of its documented media types. Anything else
/// (unknown routes, wrong methods, refused hosts) must be an empty body or the envelope.
pub fn check_response(
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
    let json_body = || -> Value {
        serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: invalid JSON ({e}): {}",
                String::from_utf8_lossy(body)
            )
        })
    };
    let Some(template) = template_for(method, path) else {
        if !body.is_empty() {
            validate_error_body(&format!("{method} {path} (no operation)"), &json_body());
        }
        return;
    };
    match content_type.as_deref() {
        Some("application/json") => validate(method, &template, status, &json_body()),
        other => {
            let operation = &DOCUMENT["paths"][&template][method.as_str().to_lowercase()];
            let response = &operation["responses"][status.as_str()];
            let what = format!("{method} {template} -> {}", status.as_u16());
            assert!(response.is_object(), "{what}: status not documented");
            if body.is_empty() && other.is_none() {
                return;
            }
            let media = other.unwrap_or("application/octet-stream");
            let content = response["content"].as_object();
            let documented = content.is_some_and(|c| {
                c.contains_key(media)
                    || (media != "text/event-stream" && c.contains_key("application/octet-stream"))
            });
            assert!(documented, "{what}: media type {media} not documented");
        }
    }
}

/// The handlers registered in the route table of `lib.rs` (`routes!(...)` arguments).
fn table_handlers(source: &str) -> Vec<String> {
    let mut handlers = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("routes!(") {
        let args = &rest[start + "routes!(".len()..];
        let end = args.find(')').expect("routes!( is closed");
        handlers.extend(
            args[..end]
                .split(',')
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
        );
        rest = &args[end..];
    }
    handlers
}

/// `(METHOD, path)` of every plain axum `.route("path", method(...))` in `source`.
fn plain_routes(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        let args = rest.trim_start();
        let Some(args) = args.strip_prefix('"') else {
            found.push(("?".into(), "?".into()));
            continue;
        };
        let end = args.find('"').expect("closed path literal");
        let path = args[..end].to_string();
        let method = args[end + 1..]
            .trim_start_matches(|c: char| c == ',' || c.is_whitespace())
            .split('(')
            .next()
            .unwrap_or_default()
            .to_uppercase();
        found.push((method, path));
    }
    found
}

/// Routes mounted outside the table (like the embedder router `routes::perf::router`)
/// must only re-mount documented operations.
#[test]
fn routes_mounted_elsewhere_are_documented_too() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let operations: BTreeSet<(String, String)> = documented_operations().into_iter().collect();
    let mut files = vec![src.clone()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("lib.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for route in plain_routes(&source) {
            assert!(
                operations.contains(&route),
                "{}: {route:?} is routed but not documented",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "the perf embedder router was found");
}

#[test]
fn every_route_is_registered_through_the_documented_table() {
    let source = include_str!("../../src/lib.rs");
    // Routes may only be added with `routes!` (which documents them): no plain axum
    // registrations that would bypass the document.
    for bypass in [
        ".route(",
        ".route_service(",
        ".nest(",
        ".nest_service(",
        ".merge(",
    ] {
        assert!(
            !source.contains(bypass),
            "lib.rs registers a route with `{bypass}`, bypassing the OpenAPI document; \
             annotate the handler with #[utoipa::path] and add it with routes!"
        );
    }
    let handlers = table_handlers(source);
    let operations = documented_operations();
    assert_eq!(
        handlers.len(),
        operations.len(),
        "each handler in the table is one documented operation:\n{handlers:#?}\n{operations:#?}"
    );
    let unique: BTreeSet<_> = operations.iter().collect();
    assert_eq!(unique.len(), operations.len(), "duplicate operations");
}

/// True when `reference` names the error envelope, or a schema that is the envelope
/// plus fields of its own (`allOf` with the envelope, as the diff routes answer with
/// empty `files`/`baseBranch` or `oldContent`/`newContent` beside it).
fn is_envelope(schemas: &serde_json::Map<String, Value>, reference: &Value) -> bool {
    const ENVELOPE: &str = "#/components/schemas/ErrorBody";
    let Some(name) = reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    else {
        return false;
    };
    reference == ENVELOPE
        || schemas[name]["allOf"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|p| p["$ref"] == ENVELOPE))
}

#[test]
fn the_document_is_openapi_3_1_with_schemas_for_every_body() {
    assert_eq!(DOCUMENT["openapi"], "3.1.0");
    assert_eq!(DOCUMENT["info"]["title"], "OpenKit API");
    let schemas = DOCUMENT["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("ErrorBody"));
    // Every $ref points at a schema that exists.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&DOCUMENT, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    // Every operation documents a success and the shared errors, each error as the
    // envelope.
    for (method, path) in documented_operations() {
        let responses = DOCUMENT["paths"][&path][method.to_lowercase()]["responses"]
            .as_object()
            .unwrap();
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.as_str() == "101"),
            "{method} {path}: no success response"
        );
        for status in ["403", "500"] {
            assert!(
                responses.contains_key(status),
                "{method} {path}: no {status}"
            );
        }
        for (status, response) in responses {
            // The MCP transport answers its own refusals as MCP defines them (a JSON-RPC
            // error or plain text), documented per status; the envelope is the REST API's.
            if path == "/mcp" && !["403", "500"].contains(&status.as_str()) {
                continue;
            }
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert!(
                    is_envelope(schemas, schema),
                    "{method} {path} {status}: {schema}"
                );
            }
        }
    }
}

#[test]
fn documented_paths_snapshot() {
    let lines: Vec<String> = documented_operations()
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[tokio::test]
async fn the_document_is_served_as_json() {
    let api = Api::new();
    let (status, body) = api.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, *DOCUMENT);
}

/// A concrete path for a template: every parameter becomes `probe`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "probe" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every documented operation is served by the router (a request never falls through
/// to the 404/405 fallbacks), and what it answers to a bare request validates.
#[tokio::test]
async fn every_documented_operation_is_routed_and_its_answer_validates() {
    let api = Api::new();
    for (method, template) in documented_operations() {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let path = concrete(&template);
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::HOST, format!("localhost:{PORT}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let response = api.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
        {
            // An endless stream: the status and media type are what can be checked.
            check_response(&method, &path, status, &headers, b"");
            continue;
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        if let Ok(json) = serde_json::from_slice::<Value>(&body) {
            assert!(
                !matches!(
                    json["code"].as_str(),
                    Some("NOT_FOUND" | "METHOD_NOT_ALLOWED")
                ),
                "{method} {template} is documented but not routed: {json}"
            );
        }
        check_response(&method, &path, status, &headers, &body);
    }
}

/// Error answers of many kinds validate against their operations' documented responses
/// (the envelope), and the fallbacks answer with the envelope too.
#[tokio::test]
async fn errors_validate_against_the_document() {
    let api = Api::new();
    let cases: Vec<(Method, &str, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/api/worktrees",
            Some(json!({ "branch": "bad..name" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/worktrees",
            Some(json!({ "branch": 7 })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::DELETE,
            "/api/worktrees/nope",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/activity?limit=0",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/logs?level=loud",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/agent-rules/nope",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PATCH,
            "/api/config",
            Some(json!({ "startCommand": "x" })),
            StatusCode::NOT_FOUND,
        ),
        (Method::POST, "/api/discover", None, StatusCode::NOT_FOUND),
        (
            Method::GET,
            "/api/worktrees/root/terminals/active",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/tasks/LOCAL-404",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/notes/svn/X-1",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/terminals/nope/ws",
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/no-such-route",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/worktrees",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, uri, body, status) in cases {
        // `call` goes through `send`, whose hook validates the response.
        let (actual, body) = api.call(method.clone(), uri, body).await;
        assert_eq!(actual, status, "{method} {uri}: {body}");
        assert_eq!(body["success"], false, "{method} {uri}: {body}");
    }
    // A refused Host answers with the envelope, documented as 403 on every operation.
    let request = Request::builder()
        .uri("/api/worktrees")
        .header(header::HOST, "evil.example")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = api.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    validate(
        &Method::GET,
        "/api/worktrees",
        status,
        &serde_json::from_slice(&body).unwrap(),
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}

/// The validator rejects what the document does not allow (so a passing check means
/// something).
#[test]
#[should_panic(expected = "does not match the documented schema")]
fn the_validator_rejects_a_wrong_body() {
    validate(
        &Method::GET,
        "/api/worktrees",
        StatusCode::OK,
        &json!({ "worktrees": [{ "id": 7 }] }),
    );
}

#[test]
#[should_panic(expected = "status not documented")]
fn the_validator_rejects_an_undocumented_status() {
    validate(
        &Method::GET,
        "/api/worktrees",
        StatusCode::IM_A_TEAPOT,
        &json!({ "success": false, "error": "x", "code": "X" }),
    );
}

#[test]
#[should_panic(expected = "does not match the documented schema")]
fn the_validator_rejects_a_malformed_envelope() {
    validate(
        &Method::DELETE,
        "/api/worktrees/{id}",
        StatusCode::NOT_FOUND,
        &json!({ "success": true, "error": "x", "code": "not snake" }),
    );
}

#[test]
fn task_status_and_priority_are_documented_as_their_words() {
    let doc = serde_json::to_value(openkit_http::openapi::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Status"]["enum"],
        serde_json::json!(["todo", "in-progress", "done"])
    );
    assert_eq!(
        schemas["Priority"]["enum"],
        serde_json::json!(["high", "medium", "low"])
    );
}
