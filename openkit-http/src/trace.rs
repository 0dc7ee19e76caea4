//! Ops-log tracing of every `/api/*` and `/mcp` request: method, path, status, duration
//! and (truncated, redacted) payloads, recorded as `source: "http"` events (an MCP tool
//! call is its JSON-RPC request body).
//!
//! Tracing costs the request path almost nothing:
//! - Success response bodies are never captured (only their size when known): reads
//!   (`GET`/`HEAD`/`OPTIONS`, which includes event streams and WebSocket upgrades) are
//!   recorded without any payload, and the result of a mutation is what its request body
//!   (captured) and status say. Error responses (4xx/5xx) keep their body, since that is
//!   what a user debugs.
//! - Request bodies of mutations are captured as before: up to 64 KiB read, redacted,
//!   2000 characters kept.
//! - The record is queued for the ops log's background writer
//!   ([`Backbone::enqueue_ops`](openkit_core::backbone::Backbone::enqueue_ops)): no disk
//!   I/O, no blocking-pool hop and no retention pass on the request path.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use openkit_core::logs::{Level, OpStatus, OpsLogEvent};
use openkit_core::redact::{redact_json, redact_text};
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// Bodies larger than this are not captured at all.
const CAPTURE_LIMIT: u64 = 64 * 1024;
/// Captured payloads are cut to this many characters.
const PAYLOAD_CHARS: usize = 2000;

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn capturable(headers: &HeaderMap, size: Option<u64>) -> bool {
    let textual = content_type(headers).is_none_or(|ct| {
        ct.starts_with("application/json")
            || ct.starts_with("text/plain")
            || ct.starts_with("application/x-www-form-urlencoded")
    });
    textual && size.is_some_and(|n| n <= CAPTURE_LIMIT)
}

/// Describes a payload for the trace: redacted, truncated.
fn describe(bytes: &[u8], prefix: &str, out: &mut Map<String, Value>) {
    if bytes.is_empty() {
        return;
    }
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            redact_json(&mut v);
            v.to_string()
        }
        Err(_) => redact_text(&String::from_utf8_lossy(bytes)),
    };
    let truncated = text.chars().count() > PAYLOAD_CHARS;
    let text: String = text.chars().take(PAYLOAD_CHARS).collect();
    out.insert(format!("{prefix}Payload"), Value::String(text));
    out.insert(format!("{prefix}PayloadTruncated"), Value::Bool(truncated));
}

/// True for methods that only read (their successful responses are never captured).
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if !path.starts_with("/api/") && path != "/mcp" {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let url = redact_text(&request.uri().to_string());
    let mut meta = Map::new();
    meta.insert("method".into(), json!(method.as_str()));
    meta.insert("path".into(), json!(path));
    meta.insert("url".into(), json!(url));
    meta.insert("direction".into(), json!("inbound"));
    if let Some(ct) = content_type(request.headers()) {
        meta.insert("requestContentType".into(), json!(ct));
    }
    let request_size = http_body::Body::size_hint(request.body())
        .exact()
        .or_else(|| {
            request
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        });
    let request =
        if request_size.is_some_and(|n| n > 0) && capturable(request.headers(), request_size) {
            let (parts, body) = request.into_parts();
            match body.collect().await {
                Ok(collected) => {
                    let bytes: Bytes = collected.to_bytes();
                    describe(&bytes, "request", &mut meta);
                    Request::from_parts(parts, Body::from(bytes))
                }
                Err(_) => Request::from_parts(parts, Body::empty()),
            }
        } else {
            if request_size.is_some_and(|n| n > 0) {
                meta.insert("requestPayloadOmitted".into(), json!(true));
            }
            request
        };

    let response = next.run(request).await;

    let status = response.status();
    let response_size = http_body::Body::size_hint(response.body()).exact();
    if let Some(ct) = content_type(response.headers()) {
        meta.insert("responseContentType".into(), json!(ct));
    }
    if let Some(n) = response_size {
        meta.insert("responseBytes".into(), json!(n));
    }
    let is_error = status.is_client_error() || status.is_server_error();
    let response = if !is_error || response_size == Some(0) {
        // Reads and successful mutations: no response body in the trace.
        response
    } else if capturable(response.headers(), response_size) {
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                describe(&bytes, "response", &mut meta);
                Response::from_parts(parts, Body::from(bytes))
            }
            Err(_) => Response::from_parts(parts, Body::empty()),
        }
    } else {
        meta.insert("responsePayloadOmitted".into(), json!(true));
        response
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    meta.insert("statusCode".into(), json!(status.as_u16()));
    meta.insert("durationMs".into(), json!(duration_ms));

    let level = if status.is_server_error() {
        Level::Error
    } else if status.is_client_error() {
        Level::Warning
    } else if is_read(&method) {
        Level::Debug
    } else {
        Level::Info
    };
    let op_status = if status.is_success() || status.is_redirection() {
        OpStatus::Succeeded
    } else {
        OpStatus::Failed
    };
    let message = format!("{method} {path} -> {} ({duration_ms} ms)", status.as_u16());
    let mut event = OpsLogEvent::new("http", "http.request", &message, level, op_status);
    event.metadata = Some(Value::Object(meta));
    state.backbone().enqueue_ops(event);
    response
}
