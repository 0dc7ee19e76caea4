//! Kizuna through the router against the fake Kizuna: setup (validated), status, config
//! and credentials; issues and the task flow; create-pr through the worktree route with
//! `codeHost: "kizuna"` and the generic PR fields of the worktree list; merge refusing a
//! draft; pipelines, and their cancel when a worktree is deleted; agent tokens that no
//! response, log or neighbouring section ever shows.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use openkit_integrations::testing_kizuna::{
    FAKE_KIZUNA_TOKEN, FAKE_ORG, FAKE_REPO, FakeKizuna, KizunaFault,
};
use serde_json::{Value, json};

use crate::harness::{Api, assert_error};

fn setup_body(fake: &FakeKizuna, token: &str) -> Value {
    json!({ "baseUrl": fake.url(), "token": token, "org": FAKE_ORG, "repo": FAKE_REPO })
}

/// An API over a repository with a bare `origin`, and the fake Kizuna.
async fn kizuna_api() -> (Api, FakeKizuna) {
    let api = Api::with_repo(TestRepo::builder().with_origin().build());
    let fake = FakeKizuna::start().await;
    (api, fake)
}

async fn set_up(api: &Api, fake: &FakeKizuna) {
    let (status, body) = api
        .post("/api/kizuna/setup", setup_body(fake, FAKE_KIZUNA_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn worktree_path(api: &Api, id: &str) -> PathBuf {
    api.repo.root().join(".openkit/worktrees").join(id)
}

fn commit_and_push(repo: &TestRepo, path: &Path, branch: &str) {
    std::fs::write(path.join("work.txt"), format!("{branch}\n")).unwrap();
    repo.git_in(path, ["add", "-A"]);
    repo.git_in(path, ["commit", "-q", "-m", "work"]);
    repo.git_in(path, ["push", "-q", "-u", "origin", branch]);
}

fn listed<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {list}"))
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn setup_status_config_and_credentials() {
    let (api, fake) = kizuna_api().await;
    let (status, body) = api.get("/api/kizuna/status").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("kizuna_status_not_configured", body);

    let refused = api
        .post("/api/kizuna/setup", setup_body(&fake, "kzn_wrong"))
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "KIZUNA_CONNECTION_FAILED",
    );
    let message = refused.1["error"].as_str().unwrap();
    assert!(message.starts_with("Connection failed: "), "{message}");
    assert!(!message.contains("kzn_wrong"));
    assert!(!api.repo.root().join(".openkit/integrations.json").exists());
    let mut plain = setup_body(&fake, FAKE_KIZUNA_TOKEN);
    plain["baseUrl"] = json!("http://kizuna.example.com");
    assert_error(
        &api.post("/api/kizuna/setup", plain).await,
        StatusCode::BAD_REQUEST,
        "INVALID_BASE_URL",
    );
    assert_error(
        &api.get("/api/kizuna/issues").await,
        StatusCode::BAD_REQUEST,
        "KIZUNA_NOT_CONFIGURED",
    );

    set_up(&api, &fake).await;
    let patched = api
        .call(
            Method::PATCH,
            "/api/kizuna/config",
            Some(json!({ "assignee": "alice", "refreshIntervalMinutes": 15, "autoStartAgent": "codex" })),
        )
        .await;
    assert_eq!(patched.0, StatusCode::OK, "{}", patched.1);
    let (_, body) = api.get("/api/kizuna/status").await;
    assert!(!body.to_string().contains(FAKE_KIZUNA_TOKEN));
    insta::assert_json_snapshot!("kizuna_status_configured", body, { ".baseUrl" => "[fake]" });
    assert_error(
        &api.call(
            Method::PATCH,
            "/api/kizuna/config",
            Some(json!({ "refreshIntervalMinutes": 0 })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_INPUT",
    );
    let unknown = api
        .call(
            Method::PATCH,
            "/api/kizuna/config",
            Some(json!({ "token": "x" })),
        )
        .await;
    assert_eq!(unknown.0, StatusCode::BAD_REQUEST, "{}", unknown.1);

    let (status, _) = api
        .call(Method::DELETE, "/api/kizuna/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.get("/api/kizuna/status").await;
    assert_eq!(body["configured"], false);
    assert_error(
        &api.get("/api/kizuna/agents").await,
        StatusCode::BAD_REQUEST,
        "KIZUNA_NOT_CONFIGURED",
    );
}

#[tokio::test]
async fn issues_and_their_worktrees() {
    let (api, fake) = kizuna_api().await;
    set_up(&api, &fake).await;
    fake.set_max_per_page(1);
    fake.add_issue("Login form", &["bug"], &["alice"]);
    fake.add_issue("Dark mode", &["feature"], &[]);
    fake.add_issue("Crash on save", &["bug", "urgent"], &[]);

    let (status, body) = api.get("/api/kizuna/issues?labels=bug").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("kizuna_issues_bug", body, {
        ".issues[].url" => "[url]",
    });
    let (_, all) = api.get("/api/kizuna/issues?query=dark").await;
    assert_eq!(all["issues"].as_array().unwrap().len(), 1);
    let (_, detail) = api.get("/api/kizuna/issues/2").await;
    assert_eq!(detail["issue"]["title"], "Dark mode");
    assert_eq!(detail["issue"]["identifier"], "#2");
    assert_error(
        &api.get("/api/kizuna/issues/99").await,
        StatusCode::NOT_FOUND,
        "UPSTREAM_NOT_FOUND",
    );
    let bad = api.get("/api/kizuna/issues/abc").await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
    let (status, updated) = api
        .call(
            Method::PATCH,
            "/api/kizuna/issues/2",
            Some(json!({ "state": "closed", "labels": ["feature", "done"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["issue"]["state"], "closed");
    assert_eq!(fake.issues()[1].labels, vec!["feature", "done"]);
    assert_error(
        &api.call(Method::PATCH, "/api/kizuna/issues/2", Some(json!({})))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_INPUT",
    );

    let (status, created) = api.post("/api/kizuna/task", json!({ "number": 1 })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["worktreeId"], "kizuna-1");
    assert_eq!(created["reusedExisting"], false);
    let (status, reused) = api.post("/api/kizuna/task", json!({ "number": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{reused}");
    assert_eq!(reused["reusedExisting"], true);
    let saved = api.repo.root().join(".openkit/issues/kizuna/1/issue.json");
    let saved: Value = serde_json::from_slice(&std::fs::read(saved).unwrap()).unwrap();
    assert_eq!(saved["title"], "Login form");
    until("the link in the worktree list", async || {
        let (_, list) = api.get("/api/worktrees").await;
        let w = listed(&list, "kizuna-1");
        w["issueSource"] == "kizuna" && w["issueId"] == "1" && w["issueStatus"] == "open"
    })
    .await;
    assert_error(
        &api.post("/api/kizuna/task", json!({ "number": 42 })).await,
        StatusCode::NOT_FOUND,
        "UPSTREAM_NOT_FOUND",
    );
}

#[tokio::test]
async fn create_pr_goes_to_kizuna_and_a_draft_is_not_merged() {
    let (api, fake) = kizuna_api().await;
    std::fs::write(api.repo.root().join(".openkit/config.json"), "{}\n").unwrap();
    assert_error(
        &api.call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "codeHost": "gitlab" })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_CONFIG",
    );
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/config",
            Some(json!({ "codeHost": "kizuna" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.create("feature/login").await;
    let path = worktree_path(&api, "login");
    commit_and_push(&api.repo, &path, "feature/login");
    assert_error(
        &api.post(
            "/api/worktrees/login/create-pr",
            json!({ "title": "Login form" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "KIZUNA_NOT_CONFIGURED",
    );

    set_up(&api, &fake).await;
    let (status, body) = api
        .post(
            "/api/worktrees/login/create-pr",
            json!({ "title": "Login form", "body": "Adds the form", "draft": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    insta::assert_json_snapshot!("kizuna_create_pr", body, { ".url" => "[url]" });
    let pull = &fake.pulls()[0];
    assert!(pull.draft && pull.head == "feature/login" && pull.base == "main");
    let (_, list) = api.get("/api/worktrees").await;
    let w = listed(&list, "login");
    assert_eq!(w["prState"], "draft");
    assert_eq!(w["codeHost"], "kizuna");
    assert!(
        w["prUrl"]
            .as_str()
            .unwrap()
            .ends_with("/acme/widgets/pulls/1001")
    );
    assert_eq!(
        w["githubPrUrl"],
        Value::Null,
        "GitHub's fields are GitHub's"
    );

    let refused = api.post("/api/kizuna/pulls/1001/merge", json!({})).await;
    assert_error(&refused, StatusCode::CONFLICT, "KIZUNA_PR_DRAFT");
    assert!(refused.1["error"].as_str().unwrap().contains("draft"));
    assert!(fake.pulls()[0].state == "open");

    api.create("feature/ready").await;
    commit_and_push(&api.repo, &worktree_path(&api, "ready"), "feature/ready");
    let (status, body) = api
        .post(
            "/api/worktrees/ready/create-pr",
            json!({ "title": "Ready" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "open");
    let number = body["number"].as_u64().unwrap();
    let (status, merged) = api
        .post(
            &format!("/api/kizuna/pulls/{number}/merge"),
            json!({ "method": "squash" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["state"], "merged");
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(listed(&list, "ready")["prState"], "merged");
    assert_error(
        &api.post(&format!("/api/kizuna/pulls/{number}/merge"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "KIZUNA_PR_NOT_OPEN",
    );
    assert_error(
        &api.post("/api/kizuna/pulls/77/merge", json!({})).await,
        StatusCode::NOT_FOUND,
        "UPSTREAM_NOT_FOUND",
    );

    // Forgetting Kizuna takes its pull requests out of the list.
    let (status, _) = api
        .call(Method::DELETE, "/api/kizuna/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(listed(&list, "login")["prUrl"], Value::Null);
    assert_eq!(listed(&list, "login")["codeHost"], Value::Null);
}

#[tokio::test]
async fn pipelines_and_their_cancel_when_a_worktree_goes() {
    let (api, fake) = kizuna_api().await;
    set_up(&api, &fake).await;
    api.create("feature/ci").await;
    let (status, body) = api
        .post("/api/kizuna/worktrees/ci/pipelines", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["pipeline"]["ref"], "feature/ci");
    assert_eq!(body["pipeline"]["status"], "pending");
    let id = body["pipeline"]["id"].as_u64().unwrap();
    let (_, list) = api.get("/api/kizuna/worktrees/CI/pipelines").await;
    insta::assert_json_snapshot!("kizuna_pipelines", list, { ".pipelines[].url" => "[url]" });
    let (status, canceled) = api
        .post(&format!("/api/kizuna/pipelines/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    assert_eq!(canceled["pipeline"]["status"], "canceled");
    let again = api
        .post(&format!("/api/kizuna/pipelines/{id}/cancel"), json!({}))
        .await;
    assert_error(&again, StatusCode::BAD_REQUEST, "UPSTREAM_REJECTED");
    assert_eq!(again.1["upstreamCode"], "VALIDATION_ERROR");
    assert_error(
        &api.get("/api/kizuna/worktrees/nope/pipelines").await,
        StatusCode::NOT_FOUND,
        "WORKTREE_NOT_FOUND",
    );

    // Deleting the worktree cancels its branch's running pipelines, and only those.
    let (_, body) = api
        .post("/api/kizuna/worktrees/ci/pipelines", json!({}))
        .await;
    let pending = body["pipeline"]["id"].as_u64().unwrap();
    let running = fake.add_pipeline("feature/ci", "running");
    let done = fake.add_pipeline("feature/ci", "success");
    let other = fake.add_pipeline("main", "running");
    let (status, body) = api.call(Method::DELETE, "/api/worktrees/ci", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until("the pipelines to be canceled", async || {
        let p = fake.pipelines();
        let status = |id: u64| p.iter().find(|x| x.id == id).unwrap().status.clone();
        status(pending) == "canceled" && status(running) == "canceled"
    })
    .await;
    let p = fake.pipelines();
    let status = |id: u64| p.iter().find(|x| x.id == id).unwrap().status.clone();
    assert_eq!(status(done), "success");
    assert_eq!(status(other), "running");
    until("the follow-up in the activity feed", async || {
        let (_, feed) = api.get("/api/activity").await;
        feed["events"].as_array().unwrap().iter().any(|e| {
            e["type"] == "removal_follow_up"
                && e["title"].as_str().unwrap().contains("2 running pipelines")
        })
    })
    .await;

    // A failing Kizuna is reported and never blocks the delete.
    api.create("feature/flaky").await;
    fake.add_pipeline("feature/flaky", "running");
    fake.fail_next(KizunaFault::Status {
        status: 403,
        code: "FORBIDDEN".into(),
        message: "Insufficient permissions".into(),
    });
    let (status, body) = api.call(Method::DELETE, "/api/worktrees/flaky", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until("the failure in the activity feed", async || {
        let (_, feed) = api.get("/api/activity").await;
        feed["events"].as_array().unwrap().iter().any(|e| {
            e["type"] == "removal_follow_up_failed"
                && e["severity"] == "warning"
                && e["worktreeId"] == "flaky"
        })
    })
    .await;
}

#[tokio::test]
async fn agent_tokens_are_stored_and_never_shown() {
    let (api, fake) = kizuna_api().await;
    set_up(&api, &fake).await;
    let mut seen: Vec<Value> = Vec::new();
    let (status, body) = api
        .post(
            "/api/kizuna/agents",
            json!({ "name": "openkit-widgets", "description": "OpenKit's agents" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    insta::assert_json_snapshot!("kizuna_agent_registered", body);
    seen.push(body);
    let token = fake.agents()[0].token.clone();
    let stored: Value = serde_json::from_slice(
        &std::fs::read(api.repo.root().join(".openkit/integrations.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["kizuna"]["agents"][0]["token"], token.as_str());

    let duplicate = api
        .post("/api/kizuna/agents", json!({ "name": "openkit-widgets" }))
        .await;
    assert_error(&duplicate, StatusCode::BAD_REQUEST, "UPSTREAM_REJECTED");
    assert_eq!(duplicate.1["upstreamCode"], "VALIDATION_ERROR");
    seen.push(duplicate.1);
    for uri in [
        "/api/kizuna/agents",
        "/api/kizuna/status",
        "/api/config",
        "/api/worktrees",
        "/api/activity",
        "/api/logs",
    ] {
        let (status, body) = api.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        seen.push(body);
    }
    let (_, agents) = api.get("/api/kizuna/agents").await;
    assert_eq!(agents["agents"][0]["secretStored"], true);
    for body in &seen {
        let text = body.to_string();
        assert!(!text.contains(&token), "agent token in {text}");
        assert!(!text.contains(FAKE_KIZUNA_TOKEN), "API token in {text}");
    }
    // Neither log file holds a token either.
    for log in ["ops-log.jsonl", "activity.jsonl"] {
        let text =
            std::fs::read_to_string(api.repo.root().join(".openkit").join(log)).unwrap_or_default();
        assert!(
            !text.contains(&token) && !text.contains(FAKE_KIZUNA_TOKEN),
            "{log}"
        );
    }
}

#[tokio::test]
async fn kizuna_rate_limits_and_failures_keep_their_meaning() {
    let (api, fake) = kizuna_api().await;
    set_up(&api, &fake).await;
    fake.fail_next(KizunaFault::RateLimited { retry_after: 30 });
    let limited = api.get("/api/kizuna/issues").await;
    assert_error(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "UPSTREAM_RATE_LIMITED",
    );
    assert_eq!(limited.1["retryAfter"], "30");
    let sent = fake.requests().len();
    assert_error(
        &api.get("/api/kizuna/issues/1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "UPSTREAM_RATE_LIMITED",
    );
    assert_eq!(fake.requests().len(), sent, "nothing sent while limited");
}

#[tokio::test]
async fn kizuna_unauthorized_is_a_bad_gateway() {
    let (api, fake) = kizuna_api().await;
    set_up(&api, &fake).await;
    fake.fail_next(KizunaFault::Status {
        status: 401,
        code: "UNAUTHORIZED".into(),
        message: "Token revoked".into(),
    });
    let failed = api.get("/api/kizuna/agents").await;
    assert_error(&failed, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAUTHORIZED");
    assert!(
        failed.1["error"]
            .as_str()
            .unwrap()
            .contains("Token revoked")
    );
}
