use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, assert_error};

#[tokio::test]
async fn rule_files_round_trip() {
    let api = Api::new();
    let (status, body) = api.get("/api/agent-rules/claude-md").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "exists": false, "content": "" }))
    );
    let (status, body) = api
        .call(
            Method::PUT,
            "/api/agent-rules/claude-md",
            Some(json!({ "content": "# CLAUDE.md\n\nBe nice.\n" })),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
    assert_eq!(
        std::fs::read_to_string(api.repo.root().join("CLAUDE.md")).unwrap(),
        "# CLAUDE.md\n\nBe nice.\n"
    );
    let (_, body) = api.get("/api/agent-rules/claude-md").await;
    assert_eq!(
        body,
        json!({ "exists": true, "content": "# CLAUDE.md\n\nBe nice.\n" })
    );
    let (status, _) = api
        .call(Method::DELETE, "/api/agent-rules/claude-md", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!api.repo.root().join("CLAUDE.md").exists());
}

#[tokio::test]
async fn unknown_rule_files_are_404() {
    let api = Api::new();
    for method in [Method::GET, Method::DELETE] {
        let res = api
            .call(method, "/api/agent-rules/..%2Fsecrets", None)
            .await;
        assert_error(&res, StatusCode::NOT_FOUND, "UNKNOWN_FILE");
        assert_eq!(res.1["error"], "Unknown file");
    }
    let res = api
        .call(
            Method::PUT,
            "/api/agent-rules/readme",
            Some(json!({ "content": "x" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "UNKNOWN_FILE");
    let res = api
        .call(
            Method::PUT,
            "/api/agent-rules/agents-md",
            Some(json!({ "content": 5 })),
        )
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "INVALID_JSON");
}
