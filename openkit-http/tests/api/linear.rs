//! `/api/linear/*` through the router against the fake Linear (its GraphQL endpoint
//! handed in as `OPENKIT_LINEAR_API_URL`): not configured, setup, config, issues and
//! detail, statuses and edits, comments, the upload proxy, the task worktree (201, then
//! 200) and upstream errors.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use openkit_core::testing::TestRepo;
use openkit_integrations::testing_linear::{API_KEY, FakeLinear, Fault};
use serde_json::{Value, json};

use crate::harness::{Api, PORT, assert_error};

fn api_for(fake: &FakeLinear) -> Api {
    let url = fake.api_url();
    Api::with_host(TestRepo::new(), |host| {
        host.with_var("OPENKIT_LINEAR_API_URL", &url)
    })
}

async fn configured() -> (Api, FakeLinear) {
    let fake = FakeLinear::start().await;
    let api = api_for(&fake);
    let (status, body) = api
        .call(
            Method::POST,
            "/api/linear/setup",
            Some(json!({"apiKey": API_KEY})),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({"success": true})));
    (api, fake)
}

#[tokio::test]
async fn unconfigured_and_setup() {
    let fake = FakeLinear::start().await;
    let api = api_for(&fake);
    let (_, body) = api.get("/api/linear/status").await;
    assert_eq!(body["configured"], false);
    for (method, uri, body) in [
        (Method::GET, "/api/linear/issues", None),
        (Method::GET, "/api/linear/issues/ENG-1", None),
        (Method::GET, "/api/linear/status-options", None),
        (Method::GET, "/api/linear/priority-options", None),
        (
            Method::PATCH,
            "/api/linear/issues/ENG-1/title",
            Some(json!({"title": "x"})),
        ),
        (
            Method::POST,
            "/api/linear/task",
            Some(json!({"identifier": "ENG-1"})),
        ),
    ] {
        let answer = api.call(method, uri, body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "LINEAR_NOT_CONFIGURED");
    }
    let answer = api
        .call(
            Method::POST,
            "/api/linear/setup",
            Some(json!({"apiKey": "lin_api_nope"})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "LINEAR_CONNECTION_FAILED");
    assert!(
        answer.1["error"]
            .as_str()
            .unwrap()
            .starts_with("Connection failed: ")
    );
    assert!(
        !api.repo
            .paths()
            .openkit_dir()
            .join("integrations.json")
            .exists()
    );

    api.call(
        Method::POST,
        "/api/linear/setup",
        Some(json!({"apiKey": API_KEY})),
    )
    .await;
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/linear/config",
            Some(json!({"defaultTeamKey": "ENG", "autoStartAgent": "gemini", "refreshIntervalMinutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.get("/api/linear/status").await;
    insta::assert_json_snapshot!(body, @r#"
    {
      "configured": true,
      "defaultTeamKey": "ENG",
      "displayName": "Lin Ear",
      "refreshIntervalMinutes": 10,
      "dataLifecycle": {
        "saveOn": "view",
        "autoCleanup": {
          "enabled": false,
          "statuses": [],
          "afterDays": null,
          "onWorktreeRemoved": false
        }
      },
      "autoStartAgent": "gemini",
      "autoStartClaudeOnNewIssue": false,
      "autoStartClaudeSkipPermissions": false,
      "autoStartClaudeFocusTerminal": false,
      "autoUpdateIssueStatusOnAgentStart": false,
      "autoUpdateIssueStatusName": null
    }
    "#);
    assert!(!body.to_string().contains(API_KEY));
    let (status, _) = api
        .call(Method::DELETE, "/api/linear/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.get("/api/linear/status").await;
    assert_eq!(body["configured"], false);
}

#[tokio::test]
async fn issues_statuses_edits_and_comments() {
    let (api, fake) = configured().await;
    fake.add_issue("ENG-1", "Crash on save");
    fake.add_issue("ENG-2", "Slow list");
    let (status, body) = api.get("/api/linear/issues").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issues"].as_array().unwrap().len(), 2);
    let (_, body) = api.get("/api/linear/issues?query=crash").await;
    let item = &body["issues"][0];
    assert_eq!(
        (
            &item["identifier"],
            &item["state"],
            &item["priorityLabel"],
            &item["teamKey"]
        ),
        (
            &json!("ENG-1"),
            &json!({"name": "Todo", "type": "unstarted", "color": "#f2c94c"}),
            &json!("High"),
            &json!("ENG")
        )
    );
    let (status, body) = api.get("/api/linear/issues/ENG-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issue"]["title"], "Crash on save");
    assert!(
        api.repo
            .paths()
            .issues_dir()
            .join("linear/ENG-1/issue.json")
            .exists()
    );
    assert_error(
        &api.get("/api/linear/issues/ENG-404").await,
        StatusCode::NOT_FOUND,
        "UPSTREAM_NOT_FOUND",
    );

    let (_, options) = api.get("/api/linear/issues/ENG-1/status-options").await;
    assert_eq!(
        options["options"][2],
        json!({"name": "In Progress", "type": "started", "color": "#f2c94c"})
    );
    let (_, options) = api.get("/api/linear/status-options").await;
    assert_eq!(options["options"].as_array().unwrap().len(), 5);
    let (_, options) = api.get("/api/linear/priority-options").await;
    assert_eq!(
        options["options"][1],
        json!({"value": 1, "label": "Urgent"})
    );

    for (path, body) in [
        ("status", json!({"statusName": "In Progress"})),
        ("title", json!({"title": "Crash fixed"})),
        ("description", json!({"description": "Now *fine*"})),
    ] {
        let (status, answer) = api
            .call(
                Method::PATCH,
                &format!("/api/linear/issues/ENG-1/{path}"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let now = fake.issue("ENG-1").unwrap();
    assert_eq!(
        (
            now.state.as_str(),
            now.title.as_str(),
            now.description.as_str()
        ),
        ("In Progress", "Crash fixed", "Now *fine*")
    );
    assert_error(
        &api.call(
            Method::PATCH,
            "/api/linear/issues/ENG-1/status",
            Some(json!({"statusName": "Nope"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_INPUT",
    );

    let (status, _) = api
        .call(
            Method::POST,
            "/api/linear/issues/ENG-1/comments",
            Some(json!({"comment": "Taking this"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = fake.issue("ENG-1").unwrap().comments[0].0.clone();
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/linear/issues/ENG-1/comments/{id}"),
            Some(json!({"comment": "Took it"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.issue("ENG-1").unwrap().comments[0].1, "Took it");
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/linear/issues/ENG-1/comments/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(fake.issue("ENG-1").unwrap().comments.is_empty());
}

#[tokio::test]
async fn uploads_task_and_failures() {
    let (api, fake) = configured().await;
    fake.add_issue("ENG-9", "Ship the widget");
    let url = fake.upload("ENG-9", "mock.png", "image/png", b"PNG!");
    let request = Request::builder()
        .uri(format!(
            "/api/linear/attachment?url={}",
            url.replace(':', "%3A").replace('/', "%2F")
        ))
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = api.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"PNG!");
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("mock.png")
    );
    assert_error(
        &api.get("/api/linear/attachment?url=https%3A%2F%2Fevil.invalid%2Fx.png")
            .await,
        StatusCode::BAD_REQUEST,
        "ATTACHMENT_URL_REFUSED",
    );

    let (status, body) = api
        .call(
            Method::POST,
            "/api/linear/task",
            Some(json!({"identifier": "ENG-9"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (&body["worktreeId"], &body["reusedExisting"]),
        (&json!("ENG-9"), &json!(false))
    );
    let path = body["worktreePath"].as_str().unwrap().to_string();
    let branch = api
        .repo
        .git_in(std::path::Path::new(&path), ["branch", "--show-current"]);
    assert_eq!(branch.trim(), "ENG-9/ship_the_widget");
    let (status, body) = api
        .call(
            Method::POST,
            "/api/linear/task",
            Some(json!({"identifier": "ENG-9"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reusedExisting"], true);
    let notes: Value = serde_json::from_str(
        &std::fs::read_to_string(
            api.repo
                .paths()
                .issues_dir()
                .join("linear/ENG-9/notes.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(notes["linkedWorktreeId"], "ENG-9");

    fake.fail_next(Fault::RateLimited { retry_after: 12 });
    let answer = api.get("/api/linear/issues").await;
    assert_error(
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        "UPSTREAM_RATE_LIMITED",
    );
    assert_eq!(answer.1["issues"], json!([]));
    let (api, fake) = configured().await;
    fake.fail_next(Fault::Status {
        status: 401,
        message: "expired".into(),
    });
    assert_error(
        &api.get("/api/linear/issues").await,
        StatusCode::BAD_GATEWAY,
        "UPSTREAM_UNAUTHORIZED",
    );
}
