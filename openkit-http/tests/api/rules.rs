use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, assert_error};

#[tokio::test]
async fn branch_name_rules_round_trip() {
    let api = Api::new();
    let (status, body) = api.get("/api/config/branch-name-rule").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hasOverride"], false);
    assert!(body["content"].as_str().unwrap().contains("issueId"));

    let (status, body) = api
        .call(
            Method::PUT,
            "/api/config/branch-name-rule",
            Some(json!({ "content": "return `feature/${issueId}-${name}`", "source": "jira" })),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
    let (_, jira) = api.get("/api/config/branch-name-rule?source=jira").await;
    assert_eq!(
        jira,
        json!({ "content": "return `feature/${issueId}-${name}`", "hasOverride": true })
    );
    let (_, status) = api.get("/api/config/branch-name-rule/status").await;
    assert_eq!(
        status,
        json!({ "overrides": { "jira": true, "linear": false, "local": false } })
    );
    let (_, config) = api.get("/api/config").await;
    assert_eq!(
        config["hasBranchNameRule"], false,
        "only a generic rule counts"
    );

    api.call(
        Method::PUT,
        "/api/config/branch-name-rule",
        Some(json!({ "content": null, "source": "jira" })),
    )
    .await;
    let (_, status) = api.get("/api/config/branch-name-rule/status").await;
    assert_eq!(status["overrides"]["jira"], false);

    let bad = api.get("/api/config/branch-name-rule?source=svn").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_SOURCE");
    let bad = api
        .call(
            Method::PUT,
            "/api/config/commit-message-rule",
            Some(json!({ "content": 5 })),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_JSON");
    let (status, _) = api
        .call(
            Method::PUT,
            "/api/config/commit-message-rule",
            Some(json!({ "content": "({ message }) => message.toUpperCase()" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, commit) = api.get("/api/config/commit-message-rule").await;
    assert_eq!(commit["hasOverride"], true);
}

#[tokio::test]
async fn task_worktrees_use_the_rule_and_link_the_task() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "Ünïcödé Tëst" }))
        .await;
    let (status, body) = api
        .post("/api/tasks/LOCAL-1/create-worktree", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["reusedExisting"], false);
    assert_eq!(body["worktree"]["id"], "LOCAL-1");
    assert_eq!(body["worktree"]["branch"], "LOCAL-1/n_c_d_t_st");
    let (_, task) = api.get("/api/tasks/LOCAL-1").await;
    assert_eq!(task["task"]["linkedWorktreeId"], "LOCAL-1");
    let (_, again) = api
        .post("/api/tasks/LOCAL-1/create-worktree", json!({}))
        .await;
    assert_eq!(again["reusedExisting"], true);
    assert_eq!(again["worktreeId"], "LOCAL-1");

    // A hostile rule falls back to the built-in and the server keeps answering.
    api.call(
        Method::PUT,
        "/api/config/branch-name-rule",
        Some(json!({ "content": "while (true) {}", "source": "local" })),
    )
    .await;
    api.post("/api/tasks", json!({ "title": "Second task" }))
        .await;
    let (status, body) = api
        .post("/api/tasks/LOCAL-2/create-worktree", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["worktree"]["branch"], "LOCAL-2/second_task");
    let (_, custom) = api.post("/api/tasks", json!({ "title": "Third" })).await;
    assert_eq!(custom["task"]["id"], "LOCAL-3");
    let (_, body) = api
        .post(
            "/api/tasks/LOCAL-3/create-worktree",
            json!({ "branch": "my/own-branch" }),
        )
        .await;
    assert_eq!(body["worktree"]["branch"], "my/own-branch");
    let missing = api
        .post("/api/tasks/LOCAL-9/create-worktree", json!({}))
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "TASK_NOT_FOUND");
}
