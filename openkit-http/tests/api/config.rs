use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use serde_json::json;

use crate::harness::{Api, assert_error};

#[tokio::test]
async fn config_lifecycle() {
    let api = Api::with_repo(
        TestRepo::builder()
            .file("package.json", r#"{"scripts":{"dev":"vite"}}"#)
            .file("pnpm-lock.yaml", "")
            .build(),
    );
    let (status, body) = api.get("/api/config").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "config": null, "projectName": null, "hasBranchNameRule": false })
    );

    let (status, body) = api.get("/api/config/detect").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("detect", body);

    let (status, body) = api
        .post("/api/config/init", json!({ "baseBranch": "main" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["startCommand"], "pnpm dev");
    assert_eq!(
        std::fs::read_to_string(api.repo.root().join(".openkit/.gitignore")).unwrap(),
        "*\n!.gitignore\n!config.json\n"
    );
    let again = api.post("/api/config/init", json!({})).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "CONFIG_EXISTS");
    assert_eq!(again.1["error"], "Config already exists");
    let (status, _) = api
        .post(
            "/api/config/init",
            json!({ "force": true, "startCommand": "make run" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "ports": { "offsetStep": 10 }, "allowAgentCommits": true, "custom": { "kept": 1 } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api.get("/api/config").await;
    insta::assert_json_snapshot!("config_after_patch", body, { ".projectName" => "[name]" });
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(api.repo.root().join(".openkit/config.json")).unwrap(),
    )
    .unwrap();
    assert!(
        file.get("allowAgentCommits").is_none(),
        "local-only keys stay out of config.json"
    );
    let (_, local) = api.get("/api/local-config").await;
    assert_eq!(local["config"]["allowAgentCommits"], true);

    let before = std::fs::read(api.repo.root().join(".openkit/config.json")).unwrap();
    let bad = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "ports": { "offsetStep": "ten" } })),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    let bad = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "localAutoStartAgent": "vim" })),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    let bad = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!(["not", "an", "object"])),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_JSON");
    assert_eq!(
        std::fs::read(api.repo.root().join(".openkit/config.json")).unwrap(),
        before
    );
}

#[tokio::test]
async fn a_corrupt_config_is_reported_and_left_alone() {
    let api = Api::new();
    std::fs::create_dir_all(api.repo.root().join(".openkit")).unwrap();
    std::fs::write(
        api.repo.root().join(".openkit/config.json"),
        "{ \"startCommand\": ",
    )
    .unwrap();
    let res = api.get("/api/config").await;
    assert_error(&res, StatusCode::CONFLICT, "CORRUPT_FILE");
    let res = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "startCommand": "x" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "CORRUPT_FILE");
    let res = api.post("/api/worktrees", json!({ "branch": "x" })).await;
    assert_error(&res, StatusCode::CONFLICT, "CORRUPT_FILE");
    assert_eq!(
        std::fs::read_to_string(api.repo.root().join(".openkit/config.json")).unwrap(),
        "{ \"startCommand\": "
    );
}

#[tokio::test]
async fn patch_without_config_is_404() {
    let api = Api::new();
    let res = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "startCommand": "x" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "CONFIG_NOT_FOUND");
}

#[tokio::test]
async fn setup_commit_and_push() {
    let api = Api::with_repo(TestRepo::builder().with_origin().build());
    api.post("/api/config/init", json!({})).await;
    let (_, status) = api.get("/api/config/setup-status").await;
    assert_eq!(
        status,
        json!({ "needsPush": true, "files": [".openkit/config.json", ".openkit/.gitignore"] })
    );
    let (code, body) = api
        .post(
            "/api/config/commit-setup",
            json!({ "message": "chore: openkit" }),
        )
        .await;
    assert_eq!((code, body), (StatusCode::OK, json!({ "success": true })));
    let (_, status) = api.get("/api/config/setup-status").await;
    assert_eq!(status, json!({ "needsPush": false, "files": [] }));
    let (_, body) = api.post("/api/config/commit-setup", json!({})).await;
    assert_eq!(body, json!({ "success": true, "alreadyCommitted": true }));
    let log = api.repo.git(["log", "-1", "--format=%s", "origin/main"]);
    assert_eq!(log.trim(), "chore: openkit");
}

#[tokio::test]
async fn setup_without_a_remote_reports_push_failed() {
    let api = Api::new();
    api.post("/api/config/init", json!({})).await;
    let (_, body) = api.post("/api/config/commit-setup", json!({})).await;
    assert_eq!(body, json!({ "success": true, "pushFailed": true }));
    let files = api.repo.git(["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), ".openkit/.gitignore\n.openkit/config.json");
}

#[tokio::test]
async fn local_config_defaults_and_deep_merge() {
    let api = Api::new();
    let (status, body) = api.get("/api/local-config").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("local_config_defaults", body);
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/local-config",
            Some(json!({ "shortcuts": { "nav-worktrees": "meta+shift+w" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    assert_eq!(body["config"]["shortcuts"]["nav-worktrees"], "meta+shift+w");
    assert_eq!(body["config"]["shortcuts"]["nav-issues"], "meta+i");
    let bad = api
        .call(
            Method::PATCH,
            "/api/local-config",
            Some(json!({ "arrowNavEnabled": "yes" })),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
}

#[tokio::test]
async fn credentials_are_refused_in_the_committed_config() {
    let api = Api::new();
    api.post("/api/config/init", json!({})).await;
    let file = api.repo.root().join(".openkit/config.json");
    let before = std::fs::read(&file).unwrap();
    for (patch, key) in [
        (
            json!({ "apiToken": "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" }),
            "apiToken",
        ),
        (
            json!({ "startCommand": "x", "jira": { "password": "hunter2" } }),
            "jira.password",
        ),
        (
            json!({ "integrations": [{ "secret": "s" }] }),
            "integrations[0].secret",
        ),
    ] {
        let res = api.call(Method::PATCH, "/api/config", Some(patch)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "SECRET_IN_CONFIG");
        let message = res.1["error"].as_str().unwrap();
        assert!(message.contains(&format!("\"{key}\"")), "{message}");
        assert!(message.contains(".openkit/integrations.json"), "{message}");
        assert!(
            !message.contains("ghp_") && !message.contains("hunter2"),
            "{message}"
        );
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "config.json unchanged"
        );
    }
    let (_, body) = api.get("/api/config").await;
    assert!(body["config"].get("apiToken").is_none(), "{body}");
    assert_eq!(body["config"]["startCommand"], before_start(&before));
}

fn before_start(raw: &[u8]) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(raw).unwrap()["startCommand"].clone()
}
