use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, assert_error};

fn events(body: &Value) -> &Vec<Value> {
    body["events"].as_array().expect("events array")
}

#[tokio::test]
async fn activity_round_trip_filters_and_cursors() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/activity",
            json!({
                "category": "agent", "type": "auto_task_claimed", "severity": "info",
                "title": "Codex started working on PROJ-123", "worktreeId": "PROJ-123",
                "groupKey": "auto-task-claimed:PROJ-123", "metadata": { "agent": "codex" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    insta::assert_json_snapshot!("activity_created", body, {
        ".event.id" => "[id]", ".event.timestamp" => "[ts]", ".event.projectName" => "[name]"
    });
    let first_id = body["event"]["id"].as_str().unwrap().to_string();
    let first_ts = body["event"]["timestamp"].as_str().unwrap().to_string();
    api.post(
        "/api/activity",
        json!({ "category": "system", "type": "note", "title": "second" }),
    )
    .await;

    let (_, all) = api.get("/api/activity").await;
    let titles: Vec<&str> = events(&all)
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Codex started working on PROJ-123", "second"]);
    let (_, agent) = api.get("/api/activity?category=agent").await;
    assert_eq!(events(&agent).len(), 1);
    let (_, limited) = api.get("/api/activity?limit=1").await;
    assert_eq!(events(&limited)[0]["title"], "second");
    let (_, after) = api
        .get(&format!("/api/activity?since={first_ts}:{first_id}"))
        .await;
    assert_eq!(events(&after).len(), 1);
    assert_eq!(events(&after)[0]["title"], "second");
}

#[tokio::test]
async fn activity_bad_input() {
    let api = Api::new();
    for (uri, code) in [
        ("/api/activity?category=nope", "INVALID_CATEGORY"),
        ("/api/activity?limit=-1", "INVALID_LIMIT"),
        ("/api/activity?limit=0", "INVALID_LIMIT"),
        ("/api/activity?limit=1000000", "INVALID_LIMIT"),
        ("/api/activity?limit=ten", "INVALID_LIMIT"),
        ("/api/activity?since=yesterday", "INVALID_SINCE"),
    ] {
        assert_error(&api.get(uri).await, StatusCode::BAD_REQUEST, code);
    }
    for (body, code) in [
        (
            json!({ "category": "x", "type": "t", "title": "t" }),
            "INVALID_CATEGORY",
        ),
        (
            json!({ "category": "agent", "type": "t", "title": "t", "severity": "fatal" }),
            "INVALID_SEVERITY",
        ),
        (json!({ "category": "agent", "type": "t" }), "INVALID_JSON"),
        (
            json!({ "category": "agent", "type": " ", "title": "t" }),
            "INVALID_INPUT",
        ),
    ] {
        assert_error(
            &api.post("/api/activity", body).await,
            StatusCode::BAD_REQUEST,
            code,
        );
    }
}

#[tokio::test]
async fn disabled_activity_is_neither_stored_nor_broadcast() {
    let api = Api::new();
    api.post("/api/config/init", json!({})).await;
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "activity": { "disabledEvents": ["noisy"], "categories": { "system": false } } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, noisy) = api
        .post(
            "/api/activity",
            json!({ "category": "agent", "type": "noisy", "title": "x" }),
        )
        .await;
    assert_eq!(noisy["suppressed"], true);
    let (_, system) = api
        .post(
            "/api/activity",
            json!({ "category": "system", "type": "t", "title": "y" }),
        )
        .await;
    assert_eq!(system["suppressed"], true);
    api.post(
        "/api/activity",
        json!({ "category": "agent", "type": "kept", "title": "z" }),
    )
    .await;
    let (_, all) = api.get("/api/activity").await;
    let types: Vec<&str> = events(&all)
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["kept"]);
}

#[tokio::test]
async fn activity_text_is_returned_and_stored_redacted() {
    let api = Api::new();
    let url = "https://alice:pass@github.com/acme/app.git";
    let token = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let body = json!({
        "category": "agent",
        "type": "agent_note",
        "title": format!("pushed to {url}"),
        "detail": format!("with {token}"),
    });
    let (status, created) = api.post("/api/activity", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let check = |e: &Value| {
        assert_eq!(
            e["title"], "pushed to https://[REDACTED]@github.com/acme/app.git",
            "{e}"
        );
        assert_eq!(e["detail"], "with [REDACTED]", "{e}");
    };
    check(&created["event"]);
    let (_, all) = api.get("/api/activity").await;
    assert_eq!(events(&all).len(), 1);
    check(&events(&all)[0]);
    let file = std::fs::read_to_string(api.repo.root().join(".openkit/activity.jsonl")).unwrap();
    assert!(
        !file.contains("alice:pass") && !file.contains(token),
        "{file}"
    );

    // The echo of an event the settings suppress is scrubbed too.
    api.post("/api/config/init", json!({})).await;
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "activity": { "disabledEvents": ["agent_note"] } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, suppressed) = api.post("/api/activity", body).await;
    assert_eq!(suppressed["suppressed"], true);
    check(&suppressed["event"]);
}

#[tokio::test]
async fn ops_log_append_filter_and_redact() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/logs",
            json!({
                "source": "ui.toast", "action": "toast.error", "message": "Failed: Bearer abcdefghijklmnop",
                "level": "error", "status": "failed", "metadata": { "scope": "jira-status:fetch", "apiToken": "s3cr3t" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["event"]["message"], "Failed: Bearer [REDACTED]");
    assert_eq!(body["event"]["metadata"]["apiToken"], "[REDACTED]");
    api.post(
        "/api/logs",
        json!({ "source": "ui.other", "action": "note", "message": "fine" }),
    )
    .await;

    let (_, errors) = api.get("/api/logs?level=error&source=ui.").await;
    assert_eq!(events(&errors).len(), 1);
    assert_eq!(events(&errors)[0]["status"], "failed");
    let (_, info) = api.get("/api/logs?status=info&source=ui").await;
    assert_eq!(events(&info)[0]["message"], "fine");
    let (_, searched) = api.get("/api/logs?search=TOAST.ERROR").await;
    assert_eq!(events(&searched).len(), 1);
    let raw = std::fs::read_to_string(api.repo.root().join(".openkit/ops-log.jsonl")).unwrap();
    assert!(
        !raw.contains("s3cr3t") && !raw.contains("abcdefghijklmnop"),
        "secrets never reach the disk"
    );

    for (uri, code) in [
        ("/api/logs?level=loud", "INVALID_LEVEL"),
        ("/api/logs?status=done", "INVALID_STATUS"),
        ("/api/logs?limit=-5", "INVALID_LIMIT"),
        ("/api/logs?since=2026-99", "INVALID_SINCE"),
    ] {
        assert_error(&api.get(uri).await, StatusCode::BAD_REQUEST, code);
    }
    let bad = api
        .post(
            "/api/logs",
            json!({ "source": "x", "action": "y", "message": "z", "level": "loud" }),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_LEVEL");
}

#[tokio::test]
async fn requests_and_git_commands_are_traced_without_secrets() {
    let api = Api::new();
    api.post("/api/worktrees", json!({ "branch": "feature/traced" }))
        .await;
    api.post(
        "/api/activity",
        json!({ "category": "agent", "type": "t", "title": "t", "metadata": { "token": "hunter2hunter2" } }),
    )
    .await;
    let (_, http) = api
        .get("/api/logs?source=http&search=POST%20/api/worktrees")
        .await;
    let request = &events(&http)[0];
    assert_eq!(request["metadata"]["method"], "POST");
    assert_eq!(request["metadata"]["statusCode"], 201);
    assert_eq!(request["status"], "succeeded");
    assert!(
        request["metadata"]["requestPayload"]
            .as_str()
            .unwrap()
            .contains("feature/traced")
    );
    assert!(request["metadata"]["durationMs"].is_u64());

    let (_, git) = api.get("/api/logs?source=git&search=worktree").await;
    let add = events(&git)
        .iter()
        .find(|e| {
            e["command"]["args"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "add")
        })
        .expect("git worktree add is traced");
    assert_eq!(add["command"]["exitCode"], 0);
    assert!(add["command"]["durationMs"].is_u64());

    let raw = std::fs::read_to_string(api.repo.root().join(".openkit/ops-log.jsonl")).unwrap();
    assert!(!raw.contains("hunter2hunter2"));
    let failed = api.get("/api/worktrees/none/logs").await;
    assert_eq!(failed.0, StatusCode::NOT_FOUND);
    let (_, warnings) = api.get("/api/logs?source=http&level=warning").await;
    assert!(
        events(&warnings)
            .iter()
            .any(|e| e["metadata"]["statusCode"] == 404)
    );
}

#[tokio::test]
async fn retention_impact_previews_without_writing() {
    let api = Api::new();
    let log = api.repo.root().join(".openkit/activity.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let old = json!({"id":"old","timestamp":"2020-01-01T00:00:00.000Z","category":"agent","type":"t","severity":"info","title":"old"});
    let mut text = format!("{old}\n");
    for i in 0..3 {
        let now = chrono_like_now();
        text.push_str(&format!(
            "{}\n",
            json!({"id": format!("n{i}"), "timestamp": now, "category":"agent","type":"t","severity":"info","title":"new"})
        ));
    }
    std::fs::write(&log, &text).unwrap();
    let (status, body) = api
        .post(
            "/api/config/retention-impact",
            json!({ "logType": "activity", "retentionDays": 7 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entriesToRemove"], 1);
    assert_eq!(body["currentEntries"], 4);
    assert_eq!(body["currentBytes"], text.len());
    assert_eq!(body["bytesToRemove"], old.to_string().len() + 1);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
    let (_, by_target) = api
        .post(
            "/api/config/retention-impact",
            json!({ "target": "activity", "maxSizeMB": 1 }),
        )
        .await;
    assert_eq!(by_target["entriesToRemove"], 0);
    let (_, ops) = api
        .post(
            "/api/config/retention-impact",
            json!({ "logType": "opsLog" }),
        )
        .await;
    assert!(ops["currentEntries"].is_u64());

    let bad = api
        .post(
            "/api/config/retention-impact",
            json!({ "logType": "syslog" }),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_LOG_TYPE");
    assert_eq!(bad.1["error"], "Invalid logType");
    let bad = api
        .post(
            "/api/config/retention-impact",
            json!({ "logType": "activity", "retentionDays": -3 }),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_RETENTION");
}

fn chrono_like_now() -> String {
    openkit_core::logs::now_iso()
}

#[tokio::test]
async fn a_web_uis_own_log_lines_land_in_the_ops_log_redacted() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/client-logs",
            json!({
                "level": "error",
                "message": "Fetch failed for https://alice:hunter2@example.com/x",
                "source": "worktree-list",
                "context": { "token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["event"]["source"], "client");
    assert_eq!(body["event"]["action"], "worktree-list");
    assert_eq!(body["event"]["level"], "error");
    let text = body.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("ghp_abc"),
        "{text}"
    );
    let (_, logs) = api.get("/api/logs?source=client").await;
    assert!(logs.to_string().contains("Fetch failed"), "{logs}");
    assert_error(
        &api.post("/api/client-logs", json!({ "message": "  " }))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_INPUT",
    );
    assert_error(
        &api.post(
            "/api/client-logs",
            json!({ "message": "x", "level": "loud" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_LEVEL",
    );
}
