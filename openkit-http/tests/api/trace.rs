//! Request tracing in the ops log: reads without response bodies, errors with theirs,
//! mutations with their (redacted) request bodies.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::Api;

/// The `http` traces in the ops log, oldest first.
async fn traces(api: &Api) -> Vec<Value> {
    let (status, body) = api.get("/api/logs?source=http&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"].as_array().expect("events").clone()
}

/// The trace of the newest request to `url` (path and query) answered with `status`.
async fn trace(api: &Api, method: &str, url: &str, status: u16) -> Value {
    traces(api)
        .await
        .into_iter()
        .rev()
        .find(|e| {
            e["metadata"]["method"] == method
                && e["metadata"]["url"] == url
                && e["metadata"]["statusCode"] == status
        })
        .unwrap_or_else(|| panic!("no trace of {method} {url} -> {status}"))
}

#[tokio::test]
async fn reads_are_traced_without_their_response_bodies() {
    let api = Api::new();
    for i in 0..40 {
        api.post(
            "/api/activity",
            json!({ "category": "agent", "type": "t", "title": format!("event {i} {}", "x".repeat(200)) }),
        )
        .await;
    }
    let (status, body) = api.get("/api/activity?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    let served = serde_json::to_vec(&body).unwrap().len();
    assert!(served > 8000, "a large response: {served}");

    let read = trace(&api, "GET", "/api/activity?limit=100", 200).await;
    let meta = &read["metadata"];
    assert_eq!(meta["method"], "GET");
    assert_eq!(meta["statusCode"], 200);
    assert_eq!(read["level"], "debug");
    assert!(meta.get("responsePayload").is_none(), "{meta}");
    assert!(meta["responseBytes"].as_u64().unwrap() > 8000, "{meta}");
    assert!(
        read.to_string().len() < 1000,
        "a read costs a small line: {read}"
    );

    // A successful mutation keeps its request body, not its response.
    let post = trace(&api, "POST", "/api/activity", 200).await;
    let meta = &post["metadata"];
    assert!(
        meta["requestPayload"]
            .as_str()
            .unwrap()
            .contains("event 39")
    );
    assert!(meta.get("responsePayload").is_none(), "{meta}");
}

#[tokio::test]
async fn error_responses_keep_their_bodies() {
    let api = Api::new();
    let (status, _) = api.get("/api/worktrees/none/logs").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let read = trace(&api, "GET", "/api/worktrees/none/logs", 404).await;
    assert_eq!(read["level"], "warning");
    assert_eq!(read["status"], "failed");
    assert!(
        read["metadata"]["responsePayload"]
            .as_str()
            .unwrap()
            .contains("WORKTREE_NOT_FOUND"),
        "{read}"
    );

    let (status, _) = api
        .post(
            "/api/activity",
            json!({ "category": "nope", "type": "t", "title": "t", "token": "hunter2hunter2" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let post = trace(&api, "POST", "/api/activity", 400).await;
    let meta = &post["metadata"];
    assert!(
        meta["responsePayload"]
            .as_str()
            .unwrap()
            .contains("INVALID_CATEGORY"),
        "{meta}"
    );
    assert!(!post.to_string().contains("hunter2hunter2"), "{post}");
}

#[tokio::test]
async fn traces_are_in_the_log_when_the_next_request_reads_it() {
    let api = Api::new();
    for i in 0..50 {
        api.get(&format!("/api/activity?limit={}", i + 1)).await;
    }
    // The very next request sees every trace: reads wait for queued records.
    let urls: Vec<String> = traces(&api)
        .await
        .iter()
        .map(|e| e["metadata"]["url"].as_str().unwrap().to_string())
        .collect();
    for i in 0..50 {
        let url = format!("/api/activity?limit={}", i + 1);
        assert!(urls.contains(&url), "{url} missing");
    }
}
