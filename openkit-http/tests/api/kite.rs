//! `/api/kite/*` through the router against the fake Kite: setup, status and config,
//! activity forwarded as CloudEvents (and kept in the outbox across a server restart
//! while Kite is down), agent messages both ways, the webhook-config passthrough.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use openkit_integrations::testing_kite::{FAKE_API_KEY, FAKE_HOOK_TOKEN, FAKE_TEAM, FakeKite};
use serde_json::{Value, json};

use crate::harness::{Api, assert_error};

fn setup_body(fake: &FakeKite) -> Value {
    json!({
        "baseUrl": fake.url(),
        "apiKey": FAKE_API_KEY,
        "teamId": FAKE_TEAM,
        "source": "openkit",
        "hookToken": FAKE_HOOK_TOKEN,
    })
}

async fn configured() -> (Api, FakeKite) {
    let api = Api::new();
    let fake = FakeKite::start().await;
    let (status, body) = api.post("/api/kite/setup", setup_body(&fake)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (api, fake)
}

/// The server stopped, and a new one serves the same project.
fn restart(api: Api) -> Api {
    let repo: TestRepo = {
        let Api { repo, .. } = api;
        repo
    };
    Api::with_repo(repo)
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn record(api: &Api, category: &str, kind: &str) {
    let (status, body) = api
        .post(
            "/api/activity",
            json!({"category": category, "type": kind, "title": format!("{kind} happened"),
                "worktreeId": "PROJ-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn kite_setup_status_config_and_credentials() {
    let api = Api::new();
    let fake = FakeKite::start().await;
    let mut wrong = setup_body(&fake);
    wrong["apiKey"] = json!("kite_wrong");
    let answer = api.post("/api/kite/setup", wrong).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "KITE_CONNECTION_FAILED");
    assert!(
        answer.1["error"]
            .as_str()
            .unwrap()
            .starts_with("Connection failed: ")
    );
    let mut bad_source = setup_body(&fake);
    bad_source["source"] = json!("not/ok");
    let answer = api.post("/api/kite/setup", bad_source).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");

    let (status, _) = api.post("/api/kite/setup", setup_body(&fake)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/kite/config",
            Some(
                json!({"categories": ["agent", "worktree"], "eventTypes": [],
                "agentName": "openkit-demo", "pollIntervalSeconds": 5}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api.get("/api/kite/status").await;
    insta::assert_json_snapshot!(body, { ".baseUrl" => "[fake]" }, @r#"
    {
      "configured": true,
      "baseUrl": "[fake]",
      "teamId": "team-1",
      "source": "openkit",
      "agentName": "openkit-demo",
      "enabled": true,
      "categories": [
        "agent",
        "worktree"
      ],
      "eventTypes": [],
      "pollIntervalSeconds": 5,
      "outbox": {
        "pending": 0,
        "delivered": 0,
        "lastError": null
      },
      "inbox": {
        "since": null,
        "received": 0
      }
    }
    "#);
    let text = body.to_string();
    assert!(!text.contains(FAKE_API_KEY) && !text.contains(FAKE_HOOK_TOKEN));
    let bad = api
        .call(
            Method::PATCH,
            "/api/kite/config",
            Some(json!({"categories": ["weather"]})),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (status, _) = api
        .call(Method::DELETE, "/api/kite/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/api/kite/status").await.1["configured"], false);
    let answer = api
        .post("/api/kite/messages", json!({"to": "a", "body": "b"}))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "KITE_NOT_CONFIGURED");
    let (_, logs) = api.get("/api/logs?limit=1000").await;
    let logs = logs.to_string();
    assert!(logs.contains("/api/kite/setup"), "the setup was traced");
    assert!(!logs.contains(FAKE_API_KEY) && !logs.contains(FAKE_HOOK_TOKEN));
}

#[tokio::test]
async fn kite_forwards_chosen_activity_as_cloud_events() {
    let (api, fake) = configured().await;
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/kite/config",
            Some(json!({"categories": ["agent"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    record(&api, "system", "not_chosen").await;
    record(&api, "agent", "agent_finished").await;
    until("the agent event reaches Kite", async || {
        !fake.ingested().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ingested = fake.ingested();
    assert_eq!(ingested.len(), 1, "{ingested:?}");
    let ce = &ingested[0];
    assert_eq!(ce["type"], "dev.openkit.activity.agent.agent_finished");
    assert_eq!(ce["subject"], "PROJ-1");
    assert_eq!(ce["specversion"], "1.0");
    let (_, activity) = api.get("/api/activity?category=agent").await;
    assert_eq!(
        ce["id"], activity["events"][0]["id"],
        "the activity's id is stable"
    );
}

#[tokio::test]
async fn kite_outbox_survives_a_server_restart_while_kite_is_down() {
    let (api, fake) = configured().await;
    fake.set_down(true);
    for n in 0..3 {
        record(&api, "agent", &format!("step_{n}")).await;
    }
    until("three events wait in the outbox", async || {
        api.get("/api/kite/status").await.1["outbox"]["pending"] == 3
    })
    .await;
    until("a delivery was tried and failed", async || {
        !api.get("/api/kite/status").await.1["outbox"]["lastError"].is_null()
    })
    .await;
    let ids: Vec<Value> = api.get("/api/activity?category=agent").await.1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    let api = restart(api);
    assert_eq!(api.get("/api/kite/status").await.1["outbox"]["pending"], 3);
    fake.set_down(false);
    until("the outbox drains", async || fake.ingested().len() == 3).await;
    let sent: Vec<Value> = fake.ingested().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(sent, ids, "every event once, in order");
    until("the outbox is empty", async || {
        api.get("/api/kite/status").await.1["outbox"]["pending"] == 0
    })
    .await;
    assert_eq!(fake.duplicates(), 0);
}

#[tokio::test]
async fn kite_messages_out_and_in() {
    let (api, fake) = configured().await;
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/kite/config",
            Some(json!({"agentName": "openkit-demo", "pollIntervalSeconds": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .post(
            "/api/kite/messages",
            json!({"to": "agent-alpha", "body": "Here are the results", "threadId": "t-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!(body, { ".id" => "[id]", ".createdAt" => "[time]" }, @r#"
    {
      "success": true,
      "id": "[id]",
      "createdAt": "[time]",
      "from": "openkit-demo",
      "to": "agent-alpha"
    }
    "#);
    let requests = fake.requests().len();
    let too_large = api
        .post(
            "/api/kite/messages",
            json!({"to": "agent-alpha", "body": "x".repeat(65_536)}),
        )
        .await;
    assert_error(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "KITE_MESSAGE_TOO_LARGE",
    );
    assert_eq!(too_large.1["limit"], "65536");
    assert!(
        fake.requests()[requests..]
            .iter()
            .all(|r| !r.uri.contains("/agents/messages")),
        "nothing was sent"
    );

    fake.inject_message("agent-alpha", "openkit-demo", "Can you review PR 12?");
    fake.inject_message("agent-alpha", "someone-else", "not for us");
    let messages = async |api: &Api| -> Vec<Value> {
        api.get("/api/activity?category=agent").await.1["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "kite_message")
            .cloned()
            .collect()
    };
    until("the message arrives", async || {
        messages(&api).await.len() == 1
    })
    .await;
    let message = &messages(&api).await[0];
    assert_eq!(message["title"], "Message from agent-alpha");
    assert_eq!(message["detail"], "Can you review PR 12?");
    // Our own sent message (also in Kite's events) is not received back.
    let api = restart(api);
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.inject_message("agent-beta", "openkit-demo", "Build is green");
    until("the next message arrives", async || {
        messages(&api).await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        messages(&api).await.len(),
        2,
        "each message once across the restart"
    );
}

#[tokio::test]
async fn kite_webhook_config_passes_through_without_the_secret() {
    let (api, fake) = configured().await;
    let (status, body) = api.get("/api/kite/webhook-config").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"config": null}));
    let (status, body) = api
        .call(
            Method::PUT,
            "/api/kite/webhook-config",
            Some(json!({"url": "https://example.com/kite-events",
                "secret": "shared-delivery-secret",
                "eventTypes": ["com.kite.agent.message"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains("shared-delivery-secret"));
    assert_eq!(
        fake.webhook_secret().as_deref(),
        Some("shared-delivery-secret")
    );
    let (_, body) = api.get("/api/kite/webhook-config").await;
    insta::assert_json_snapshot!(body, { ".config.updatedAt" => "[time]" }, @r#"
    {
      "config": {
        "id": "wh-1",
        "teamId": "team-1",
        "url": "https://example.com/kite-events",
        "active": true,
        "eventTypes": [
          "com.kite.agent.message"
        ],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "[time]"
      }
    }
    "#);
    let missing_secret = api
        .call(
            Method::PUT,
            "/api/kite/webhook-config",
            Some(json!({"url": "https://example.com/x", "secret": ""})),
        )
        .await;
    assert_error(&missing_secret, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (status, _) = api
        .call(Method::DELETE, "/api/kite/webhook-config", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = api
        .call(Method::DELETE, "/api/kite/webhook-config", None)
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
}
