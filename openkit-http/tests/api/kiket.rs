//! `/api/kiket/*` through the router against the fake Kiket: setup, status and config,
//! issues (all pages, filters, the failure shape), workflows and guarded transitions
//! (409), the task flow, signed webhooks (accept, reject, replay window), SLA events,
//! scopes and rate limits.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use openkit_integrations::kiket::webhook::sign;
use openkit_integrations::testing_kiket::{
    FAKE_PROJECT, FAKE_TOKEN, FAKE_USER, FakeKiket, Fault, Guard,
};
use serde_json::{Value, json};

use crate::harness::{Api, PORT, assert_error};

async fn configured(secret: Option<&str>) -> (Api, FakeKiket) {
    let api = Api::new();
    let fake = FakeKiket::start().await;
    let mut body = json!({
        "baseUrl": fake.url(),
        "workspaceToken": FAKE_TOKEN,
        "projectSlug": FAKE_PROJECT,
    });
    if let Some(secret) = secret {
        body["webhookSecret"] = json!(secret);
    }
    let (status, answer) = api.post("/api/kiket/setup", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    (api, fake)
}

async fn webhook(
    api: &Api,
    body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/kiket/webhook")
        .header(header::HOST, format!("localhost:{PORT}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(s) = signature {
        builder = builder.header("x-kiket-signature", s);
    }
    if let Some(t) = timestamp {
        builder = builder.header("x-kiket-timestamp", t);
    }
    let (status, _, bytes) = api
        .send(builder.body(Body::from(body.to_vec())).unwrap())
        .await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn kiket_activity(api: &Api) -> Vec<Value> {
    let (_, body) = api.get("/api/activity?limit=1000").await;
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("kiket_")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn kiket_setup_status_config_and_credentials() {
    let api = Api::new();
    let fake = FakeKiket::start().await;
    let (status, body) = api.get("/api/kiket/status").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, @r#"
    {
      "configured": false,
      "baseUrl": null,
      "projectSlug": null,
      "webhookConfigured": false,
      "assignee": null,
      "refreshIntervalMinutes": 5,
      "dataLifecycle": {
        "saveOn": "view",
        "autoCleanup": {
          "enabled": false,
          "statuses": [],
          "afterDays": null,
          "onWorktreeRemoved": false
        }
      },
      "autoStartAgent": null,
      "autoStartClaudeOnNewIssue": false,
      "autoStartClaudeSkipPermissions": false,
      "autoStartClaudeFocusTerminal": false,
      "autoUpdateIssueStatusOnAgentStart": false,
      "autoUpdateIssueStatusName": null
    }
    "#);
    let wrong = api
        .post(
            "/api/kiket/setup",
            json!({"baseUrl": fake.url(), "workspaceToken": "nope", "projectSlug": FAKE_PROJECT}),
        )
        .await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "KIKET_CONNECTION_FAILED");
    assert!(
        wrong.1["error"]
            .as_str()
            .unwrap()
            .starts_with("Connection failed: ")
    );
    let plain_http = api
        .post(
            "/api/kiket/setup",
            json!({"baseUrl": "http://kiket.example.com", "workspaceToken": "t", "projectSlug": "p"}),
        )
        .await;
    assert_error(
        &plain_http,
        StatusCode::BAD_REQUEST,
        "KIKET_CONNECTION_FAILED",
    );
    assert_eq!(api.get("/api/kiket/status").await.1["configured"], false);

    let (status, _) = api
        .post(
            "/api/kiket/setup",
            json!({"baseUrl": fake.url(), "workspaceToken": FAKE_TOKEN, "projectSlug": FAKE_PROJECT}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/kiket/config",
            Some(json!({
                "webhookSecret": "sh_123",
                "refreshIntervalMinutes": 10,
                "autoStartAgent": "codex",
                "autoUpdateIssueStatusOnAgentStart": true,
                "autoUpdateIssueStatusName": "In Progress",
                "dataLifecycle": {"saveOn": "worktree-creation"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api.get("/api/kiket/status").await;
    insta::assert_json_snapshot!(body, { ".baseUrl" => "[fake]" }, @r#"
    {
      "configured": true,
      "baseUrl": "[fake]",
      "projectSlug": "core-platform",
      "webhookConfigured": true,
      "assignee": null,
      "refreshIntervalMinutes": 10,
      "dataLifecycle": {
        "saveOn": "worktree-creation",
        "autoCleanup": {
          "enabled": false,
          "statuses": [],
          "afterDays": null,
          "onWorktreeRemoved": false
        }
      },
      "autoStartAgent": "codex",
      "autoStartClaudeOnNewIssue": false,
      "autoStartClaudeSkipPermissions": false,
      "autoStartClaudeFocusTerminal": false,
      "autoUpdateIssueStatusOnAgentStart": true,
      "autoUpdateIssueStatusName": "In Progress"
    }
    "#);
    assert!(!body.to_string().contains(FAKE_TOKEN));
    let bad = api
        .call(
            Method::PATCH,
            "/api/kiket/config",
            Some(json!({"refreshIntervalMinutes": 0})),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (status, _) = api
        .call(Method::DELETE, "/api/kiket/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/api/kiket/status").await.1["configured"], false);
    let not_configured = api
        .call(
            Method::PATCH,
            "/api/kiket/config",
            Some(json!({"projectSlug": "x"})),
        )
        .await;
    assert_error(
        &not_configured,
        StatusCode::BAD_REQUEST,
        "KIKET_NOT_CONFIGURED",
    );
    // The request traces of setup and config kept neither the token nor the secret.
    let (_, logs) = api.get("/api/logs?limit=1000").await;
    let logs = logs.to_string();
    assert!(logs.contains("/api/kiket/setup"), "the setup was traced");
    assert!(!logs.contains(FAKE_TOKEN) && !logs.contains("sh_123"));
}

#[tokio::test]
async fn kiket_issues_every_page_filters_detail_fields_and_comments() {
    let api = Api::new();
    let unconfigured = api.get("/api/kiket/issues").await;
    assert_error(
        &unconfigured,
        StatusCode::BAD_REQUEST,
        "KIKET_NOT_CONFIGURED",
    );
    assert_eq!(unconfigured.1["issues"], json!([]));
    drop(api);

    let (api, fake) = configured(None).await;
    for n in 1..=150 {
        fake.add_issue(&format!("CORE-{n}"), &format!("Task number {n}"), "todo");
    }
    fake.update_issue("CORE-7", |i| {
        i["labels"] = json!(["urgent"]);
        i["assignee"] = json!(FAKE_USER);
    });
    let (status, body) = api.get("/api/kiket/issues").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issues"].as_array().unwrap().len(), 150);
    let (_, body) = api.get("/api/kiket/issues?label=urgent&assignee=me").await;
    insta::assert_json_snapshot!(body, { ".issues[].url" => "[url]" }, @r#"
    {
      "issues": [
        {
          "key": "CORE-7",
          "id": "7",
          "title": "Task number 7",
          "state": "todo",
          "labels": [
            "urgent"
          ],
          "assignee": "dev@example.com",
          "url": "[url]",
          "updated": "2026-01-01T00:00:00Z"
        }
      ]
    }
    "#);
    let (_, body) = api.get("/api/kiket/issues?query=number%2015").await;
    let keys: Vec<&str> = body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["CORE-15", "CORE-150"]);

    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/kiket/issues/CORE-7",
            Some(json!({"labels": ["urgent", "backend"], "assignee": null,
                "customFields": {"customer": "acme"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issue"]["labels"], json!(["urgent", "backend"]));
    assert_eq!(body["issue"]["assignee"], Value::Null);
    let (status, body) = api
        .post(
            "/api/kiket/issues/CORE-7/comments",
            json!({"comment": "Working on this now."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.get("/api/kiket/issues/CORE-7").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, { ".issue.url" => "[url]" }, @r#"
    {
      "issue": {
        "key": "CORE-7",
        "id": "7",
        "title": "Task number 7",
        "state": "todo",
        "labels": [
          "urgent",
          "backend"
        ],
        "assignee": null,
        "url": "[url]",
        "updated": "2026-01-01T00:00:00Z",
        "description": "About Task number 7",
        "customFields": {
          "customer": "acme"
        },
        "parentId": null,
        "comments": [
          {
            "id": "1",
            "body": "Working on this now.",
            "author": "dev@example.com",
            "created": "2026-01-02T00:00:00Z"
          }
        ]
      }
    }
    "#);
    let missing = api.get("/api/kiket/issues/CORE-999").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
    let empty = api
        .call(Method::PATCH, "/api/kiket/issues/CORE-7", Some(json!({})))
        .await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "INVALID_INPUT");
}

#[tokio::test]
async fn kiket_workflows_options_and_a_guard_refusal_is_409() {
    let (api, fake) = configured(None).await;
    fake.add_issue("CORE-42", "Deploy new release", "review");
    let (status, body) = api.get("/api/kiket/workflows").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["workflows"][0]["states"].as_array().unwrap().len(), 4);
    assert_eq!(body["workflows"][0]["transitions"][2]["guarded"], true);
    let (_, body) = api.get("/api/kiket/issues/CORE-42/status-options").await;
    insta::assert_json_snapshot!(body, @r#"
    {
      "options": [
        {
          "id": "done",
          "name": "Done"
        },
        {
          "id": "todo",
          "name": "To Do"
        }
      ]
    }
    "#);
    fake.set_guard(
        "done",
        Some(Guard::Deny("Release needs QA sign-off".into())),
    );
    let refused = api
        .call(
            Method::PATCH,
            "/api/kiket/issues/CORE-42/status",
            Some(json!({"statusName": "Done"})),
        )
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "KIKET_TRANSITION_REFUSED");
    assert_eq!(refused.1["upstreamCode"], "guard_denied");
    assert!(
        refused.1["error"]
            .as_str()
            .unwrap()
            .contains("Release needs QA sign-off")
    );
    assert_eq!(fake.issue("CORE-42").unwrap()["state"], "review");
    let unknown = api
        .call(
            Method::PATCH,
            "/api/kiket/issues/CORE-42/status",
            Some(json!({"statusName": "In Progress"})),
        )
        .await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "KIKET_UNKNOWN_STATUS");
    fake.set_guard("done", None);
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/kiket/issues/CORE-42/status",
            Some(json!({"statusName": "done"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"success": true, "state": "done"}));
}

#[tokio::test]
async fn kiket_task_creates_then_reuses_the_issues_worktree() {
    let (api, fake) = configured(None).await;
    fake.add_issue("CORE-42", "Deploy new release", "todo");
    let (status, body) = api
        .post("/api/kiket/task", json!({"issueKey": "CORE-42"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["worktreeId"], "CORE-42");
    assert_eq!(body["reusedExisting"], false);
    let (status, body) = api
        .post("/api/kiket/task", json!({"issueKey": "CORE-42"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reusedExisting"], true);
    let (_, notes) = api.get("/api/notes/kiket/CORE-42").await;
    assert_eq!(notes["linkedWorktreeId"], "CORE-42", "{notes}");
    let missing = api
        .post("/api/kiket/task", json!({"issueKey": "CORE-404"}))
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
}

#[tokio::test]
async fn kiket_webhooks_are_verified_and_become_activity() {
    let (api, _fake) = configured(Some("sh_secret")).await;
    let body = serde_json::to_vec(&json!({
        "event": "issue.transitioned",
        "installation": {"project": FAKE_PROJECT, "extension_key": "openkit"},
        "issue": {"key": "CORE-42", "title": "Deploy new release", "state": "in_progress"},
        "transition": {"from": "review", "to": "in_progress", "performed_by": "sasha@example.com"}
    }))
    .unwrap();
    let good = sign(b"sh_secret", &body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Missing, wrong, signed with another secret, a stale timestamp: 401, nothing kept.
    let rejected = [
        webhook(&api, &body, None, None).await,
        webhook(&api, &body, Some("0123abcd"), None).await,
        webhook(&api, &body, Some(&sign(b"other", &body)), None).await,
        webhook(&api, &body, Some(&good), Some(&(now - 301).to_string())).await,
        webhook(&api, &body, Some(&good), Some(&(now + 400).to_string())).await,
    ];
    for answer in &rejected {
        assert_error(answer, StatusCode::UNAUTHORIZED, "KIKET_INVALID_SIGNATURE");
    }
    assert!(kiket_activity(&api).await.is_empty());

    let (status, answer) = webhook(&api, &body, Some(&good), Some(&now.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["event"], "issue.transitioned");
    assert_eq!(answer["duplicate"], false);
    let replay = webhook(&api, &body, Some(&good), Some(&now.to_string())).await;
    assert_eq!(replay.1["duplicate"], true);
    let sla = serde_json::to_vec(&json!({
        "event": "workflow.sla_status", "state": "imminent",
        "issue": {"id": 42, "status": "in_progress", "title": "Customer onboarding playbook"},
        "sla": {"definition_id": 7, "max_duration_minutes": 120, "warning_buffer_minutes": 30},
        "metrics": {"duration_minutes": 105, "overdue_minutes": null}
    }))
    .unwrap();
    let (status, _) = webhook(&api, &sla, Some(&sign(b"sh_secret", &sla)), None).await;
    assert_eq!(status, StatusCode::OK);
    let events = kiket_activity(&api).await;
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("kiket_issue_transitioned".into(), "info".into()),
            ("kiket_sla_imminent".into(), "warning".into())
        ]
    );
    assert_eq!(
        events[0]["title"],
        "Kiket CORE-42 \"Deploy new release\" moved review → in_progress"
    );
    // A delivery as the fake Kiket signs it (signature and timestamp headers).
    let (body, headers) = FakeKiket::webhook(
        "sh_secret",
        &json!({"event": "workflow.sla_status", "state": "recovered",
            "issue": {"id": 42, "title": "Customer onboarding playbook"}}),
    );
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    };
    let (status, answer) = webhook(
        &api,
        &body,
        header("x-kiket-signature"),
        header("x-kiket-timestamp"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let last = kiket_activity(&api).await.pop().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["severity"].as_str()),
        (Some("kiket_sla_recovered"), Some("success"))
    );
    let garbage = b"not json";
    let invalid = webhook(&api, garbage, Some(&sign(b"sh_secret", garbage)), None).await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "KIKET_INVALID_PAYLOAD");
}

#[tokio::test]
async fn kiket_webhook_without_a_secret_is_refused() {
    let (api, _fake) = configured(None).await;
    let body = br#"{"event":"issue.created"}"#;
    let answer = webhook(&api, body, Some(&sign(b"", body)), None).await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, "KIKET_INVALID_SIGNATURE");
}

#[tokio::test]
async fn kiket_sla_events_scopes_and_rate_limits() {
    let (api, fake) = configured(None).await;
    fake.add_issue("CORE-1", "x", "todo");
    fake.add_sla_event(1, "imminent");
    fake.add_sla_event(1, "breached");
    let (status, body) = api.get("/api/kiket/sla-events?state=breached").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, @r#"
    {
      "events": [
        {
          "id": "2",
          "state": "breached",
          "issueId": "1",
          "definitionId": "7",
          "createdAt": "2026-01-01T00:02:00Z",
          "durationMinutes": 105,
          "overdueMinutes": null
        }
      ]
    }
    "#);
    let bad_limit = api.get("/api/kiket/sla-events?limit=zero").await;
    assert_error(&bad_limit, StatusCode::BAD_REQUEST, "INVALID_QUERY");

    fake.set_scopes(&["read:issues", "read:workflows"]);
    let forbidden = api
        .post(
            "/api/kiket/issues/CORE-1/comments",
            json!({"comment": "hi"}),
        )
        .await;
    assert_error(&forbidden, StatusCode::BAD_GATEWAY, "KIKET_MISSING_SCOPE");
    assert_eq!(forbidden.1["scope"], "write:comments");
    assert!(
        forbidden.1["error"]
            .as_str()
            .unwrap()
            .contains("write:comments")
    );

    fake.fail_next(Fault::RateLimited { retry_after: 90 });
    let request = Request::builder()
        .uri("/api/kiket/issues/CORE-1")
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, bytes) = api.send(request).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "90");
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "UPSTREAM_RATE_LIMITED");
    let limited = api.get("/api/kiket/issues").await;
    assert_error(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "UPSTREAM_RATE_LIMITED",
    );
    assert_eq!(limited.1["issues"], json!([]));
}
