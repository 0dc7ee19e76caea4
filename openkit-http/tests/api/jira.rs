//! `/api/jira/*` through the router against the fake Jira: not configured, setup,
//! config, issues and detail, transitions and edits, comments, the attachment proxy,
//! the task worktree (201, then 200 when reused), credentials, upstream errors and the
//! OAuth login.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use openkit_core::testing::TestRepo;
use openkit_integrations::testing_jira::{
    AUTH_CODE, CLIENT_ID, CLIENT_SECRET, EMAIL, FakeIssue, FakeJira, Fault, TOKEN,
};
use serde_json::{Value, json};

use crate::harness::{Api, PORT, assert_error};

async fn configured() -> (Api, FakeJira) {
    let fake = FakeJira::start().await;
    let api = Api::new();
    let (status, body) = api
        .call(
            Method::POST,
            "/api/jira/setup",
            Some(json!({"baseUrl": fake.url(), "email": EMAIL, "token": TOKEN})),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({"success": true})));
    (api, fake)
}

fn issue(key: &str, summary: &str) -> FakeIssue {
    FakeIssue {
        key: key.into(),
        summary: summary.into(),
        status: "To Do".into(),
        assigned_to_me: true,
        priority: "High".into(),
        issue_type: "Bug".into(),
        labels: vec!["ui".into()],
        description: json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Open "}, {"type": "text", "text": "/login", "marks": [{"type": "code"}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Submit"}]}]}
            ]}
        ]}),
        comments: Vec::new(),
        attachments: Vec::new(),
        updated: 0,
    }
}

#[tokio::test]
async fn every_endpoint_needs_jira_configured() {
    let api = Api::new();
    let (status, body) = api.get("/api/jira/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["configured"], false);
    assert_eq!(body["refreshIntervalMinutes"], 5);
    for (method, uri, body) in [
        (Method::GET, "/api/jira/issues", None),
        (Method::GET, "/api/jira/issues/PROJ-1", None),
        (Method::GET, "/api/jira/priorities", None),
        (Method::GET, "/api/jira/status-options", None),
        (Method::GET, "/api/jira/issues/PROJ-1/status-options", None),
        (Method::GET, "/api/jira/issues/PROJ-1/type-options", None),
        (
            Method::PATCH,
            "/api/jira/issues/PROJ-1/status",
            Some(json!({"statusName": "Done"})),
        ),
        (
            Method::POST,
            "/api/jira/issues/PROJ-1/comments",
            Some(json!({"comment": "x"})),
        ),
        (
            Method::PATCH,
            "/api/jira/config",
            Some(json!({"refreshIntervalMinutes": 3})),
        ),
        (
            Method::POST,
            "/api/jira/task",
            Some(json!({"issueKey": "PROJ-1"})),
        ),
        (
            Method::GET,
            "/api/jira/attachment?url=https://x.invalid/a",
            None,
        ),
    ] {
        let answer = api.call(method, uri, body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "JIRA_NOT_CONFIGURED");
    }
    let (_, body) = api.get("/api/jira/issues").await;
    assert_eq!(body["issues"], json!([]));
    let (_, body) = api.get("/api/jira/priorities").await;
    assert_eq!(body["options"], json!([]));
    // Disconnecting what is not connected is fine.
    let (status, _) = api
        .call(Method::DELETE, "/api/jira/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn setup_validates_before_saving() {
    let fake = FakeJira::start().await;
    let api = Api::new();
    let answer = api
        .call(
            Method::POST,
            "/api/jira/setup",
            Some(json!({"baseUrl": fake.url(), "email": EMAIL, "token": "nope"})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "JIRA_CONNECTION_FAILED");
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
    let answer = api
        .call(
            Method::POST,
            "/api/jira/setup",
            Some(json!({"baseUrl": "http://jira.example.com", "email": EMAIL, "token": TOKEN})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "JIRA_CONNECTION_FAILED");
    let answer = api
        .call(
            Method::POST,
            "/api/jira/setup",
            Some(json!({"baseUrl": fake.url()})),
        )
        .await;
    assert_eq!(answer.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn status_and_config() {
    let (api, fake) = configured().await;
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/jira/config",
            Some(json!({
                "defaultProjectKey": "PROJ",
                "refreshIntervalMinutes": 10,
                "dataLifecycle": {"saveOn": "worktree-creation", "autoCleanup": {"enabled": true, "statuses": ["Done"]}},
                "autoStartAgent": "codex",
                "autoUpdateIssueStatusOnAgentStart": true,
                "autoUpdateIssueStatusName": "In Progress"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api.get("/api/jira/status").await;
    insta::assert_json_snapshot!(body, @r#"
    {
      "configured": true,
      "authMethod": "api-token",
      "defaultProjectKey": "PROJ",
      "email": "dev@example.com",
      "domain": "127.0.0.1",
      "displayName": "Dev Eloper",
      "refreshIntervalMinutes": 10,
      "dataLifecycle": {
        "saveOn": "worktree-creation",
        "autoCleanup": {
          "enabled": true,
          "statuses": [
            "Done"
          ],
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
    assert!(!body.to_string().contains(TOKEN));
    // Invalid values change nothing; `null` clears.
    let before = std::fs::read(api.repo.paths().openkit_dir().join("integrations.json")).unwrap();
    for bad in [
        json!({"refreshIntervalMinutes": 0, "autoStartAgent": null}),
        json!({"autoStartAgent": "bash"}),
    ] {
        let answer = api.call(Method::PATCH, "/api/jira/config", Some(bad)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    }
    let answer = api
        .call(
            Method::PATCH,
            "/api/jira/config",
            Some(json!({"refreshIntervalMinutes": "x"})),
        )
        .await;
    assert_eq!(answer.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        std::fs::read(api.repo.paths().openkit_dir().join("integrations.json")).unwrap(),
        before
    );
    api.call(
        Method::PATCH,
        "/api/jira/config",
        Some(json!({"autoStartAgent": null})),
    )
    .await;
    let (_, body) = api.get("/api/jira/status").await;
    assert_eq!(body["autoStartAgent"], Value::Null);
    assert_eq!(body["defaultProjectKey"], "PROJ");
    let answer = api.get("/api/jira/status-options").await;
    assert_error(&answer, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
    fake.add_issue("PROJ-1", "A project exists once it has issues");
    let (_, options) = api.get("/api/jira/status-options").await;
    assert_eq!(options["options"][1], json!({"name": "In Progress"}));
    api.call(
        Method::PATCH,
        "/api/jira/config",
        Some(json!({"defaultProjectKey": null})),
    )
    .await;
    let answer = api.get("/api/jira/status-options").await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "JIRA_NO_DEFAULT_PROJECT");
    assert_eq!(answer.1["options"], json!([]));
}

#[tokio::test]
async fn issues_detail_and_edits() {
    let (api, fake) = configured().await;
    fake.add(issue("PROJ-1", "Login breaks"));
    fake.add_issue("PROJ-2", "Other");
    let (status, body) = api.get("/api/jira/issues").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issues"].as_array().unwrap().len(), 2);
    let (_, body) = api.get("/api/jira/issues?query=login").await;
    let item = body["issues"][0].clone();
    assert_eq!(body["issues"].as_array().unwrap().len(), 1);
    assert_eq!(
        item,
        json!({
            "key": "PROJ-1", "summary": "Login breaks", "status": "To Do", "priority": "High",
            "type": "Bug", "assignee": "Dev Eloper", "updated": item["updated"], "labels": ["ui"],
            "url": format!("{}/browse/PROJ-1", fake.url()),
        })
    );

    fake.attach("PROJ-1", "trace.txt", "text/plain", b"trace");
    let (status, body) = api.get("/api/jira/issues/PROJ-1").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_snapshot!(body["issue"]["description"].as_str().unwrap(), @r"
    ### Steps

    1. Open `/login`
    2. Submit
    ");
    assert_eq!(body["issue"]["attachments"][0]["filename"], "trace.txt");
    // Viewed: saved (saveOn defaults to view).
    let saved = api.repo.paths().issues_dir().join("jira/PROJ-1/issue.json");
    assert!(saved.exists());

    let answer = api.get("/api/jira/issues/PROJ-404").await;
    assert_error(&answer, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
    let answer = api.get("/api/jira/issues/..%2Fx").await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_ISSUE_KEY");

    let (_, options) = api.get("/api/jira/issues/PROJ-1/status-options").await;
    assert_eq!(options["options"].as_array().unwrap().len(), 3);
    assert!(options["options"][0]["id"].is_string());
    let (_, options) = api.get("/api/jira/priorities").await;
    assert_eq!(options["options"][0], json!({"id": "1", "name": "High"}));
    let (_, options) = api.get("/api/jira/issues/PROJ-1/type-options").await;
    assert_eq!(options["options"][2]["name"], "Story");

    for (path, body) in [
        ("status", json!({"statusName": "In Progress"})),
        ("priority", json!({"priorityName": "Low"})),
        ("type", json!({"typeName": "Story"})),
        ("description", json!({"description": "New text"})),
        ("summary", json!({"summary": "Login fixed"})),
    ] {
        let (status, answer) = api
            .call(
                Method::PATCH,
                &format!("/api/jira/issues/PROJ-1/{path}"),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, &answer),
            (StatusCode::OK, &json!({"success": true})),
            "{path}"
        );
    }
    let now = fake.issue("PROJ-1").unwrap();
    assert_eq!(
        (
            now.status.as_str(),
            now.priority.as_str(),
            now.issue_type.as_str(),
            now.summary.as_str()
        ),
        ("In Progress", "Low", "Story", "Login fixed")
    );
    let answer = api
        .call(
            Method::PATCH,
            "/api/jira/issues/PROJ-1/status",
            Some(json!({"statusName": "Nowhere"})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let answer = api
        .call(
            Method::PATCH,
            "/api/jira/issues/PROJ-1/priority",
            Some(json!({"priorityName": "Blocker"})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "UPSTREAM_REJECTED");

    // Comments.
    let (status, _) = api
        .call(
            Method::POST,
            "/api/jira/issues/PROJ-1/comments",
            Some(json!({"comment": "On it"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = fake.issue("PROJ-1").unwrap().comments[0].id;
    let (status, _) = api
        .call(
            Method::PATCH,
            &format!("/api/jira/issues/PROJ-1/comments/{id}"),
            Some(json!({"comment": "Done soon"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.get("/api/jira/issues/PROJ-1").await;
    assert_eq!(body["issue"]["comments"][0]["body"], "Done soon");
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/jira/issues/PROJ-1/comments/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = api
        .call(
            Method::DELETE,
            &format!("/api/jira/issues/PROJ-1/comments/{id}"),
            None,
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
    let answer = api
        .call(
            Method::POST,
            "/api/jira/issues/PROJ-1/comments",
            Some(json!({"comment": "  "})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_INPUT");
}

#[tokio::test]
async fn the_attachment_proxy() {
    let (api, fake) = configured().await;
    fake.add_issue("PROJ-1", "One");
    let png = fake.attach("PROJ-1", "shot.png", "image/png", b"\x89PNG");
    let html = fake.attach("PROJ-1", "page.html", "text/html", b"<script>x</script>");
    let get = |url: String| {
        let request = Request::builder()
            .uri(format!(
                "/api/jira/attachment?url={}",
                url.replace(':', "%3A").replace('/', "%2F")
            ))
            .header(header::HOST, format!("localhost:{PORT}"))
            .body(Body::empty())
            .unwrap();
        api.send(request)
    };
    let (status, headers, body) = get(format!(
        "{}/rest/api/3/attachment/content/{png}",
        fake.url()
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"\x89PNG");
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    let (_, headers, _) = get(format!(
        "{}/rest/api/3/attachment/content/{html}",
        fake.url()
    ))
    .await;
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox");
    let (status, _, body) = get("http://169.254.169.254/latest/meta-data".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "ATTACHMENT_URL_REFUSED");
}

#[tokio::test]
async fn task_creates_then_reuses_the_worktree_and_saves_the_issue() {
    let (api, fake) = configured().await;
    fake.add(issue("PROJ-7", "Fix the login page"));
    let (status, body) = api
        .call(
            Method::POST,
            "/api/jira/task",
            Some(json!({"issueKey": "PROJ-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["worktreeId"], "PROJ-7");
    assert_eq!(body["reusedExisting"], false);
    let path = body["worktreePath"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&path).join(".git").exists());
    let branch = api
        .repo
        .git_in(std::path::Path::new(&path), ["branch", "--show-current"]);
    assert_eq!(branch.trim(), "PROJ-7/fix_the_login_page");
    let notes: Value = serde_json::from_str(
        &std::fs::read_to_string(api.repo.paths().issues_dir().join("jira/PROJ-7/notes.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(notes["linkedWorktreeId"], "PROJ-7");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(api.repo.paths().issues_dir().join("jira/PROJ-7/issue.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(saved["summary"], "Fix the login page");

    // Again, with another case: the same worktree, 200.
    let (status, body) = api
        .call(
            Method::POST,
            "/api/jira/task",
            Some(json!({"issueKey": "PROJ-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"success": true, "worktreeId": "PROJ-7", "worktreePath": path, "reusedExisting": true})
    );
    // The worktree list shows the link.
    let (_, list) = api.get("/api/worktrees").await;
    let wt = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "PROJ-7")
        .cloned()
        .unwrap();
    assert_eq!(
        (&wt["issueSource"], &wt["issueId"]),
        (&json!("jira"), &json!("PROJ-7"))
    );

    let answer = api
        .call(
            Method::POST,
            "/api/jira/task",
            Some(json!({"issueKey": "PROJ-404"})),
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "UPSTREAM_NOT_FOUND");
    assert!(!api.repo.paths().worktrees_dir().join("PROJ-404").exists());
}

#[tokio::test]
async fn upstream_failures_and_disconnect() {
    let (api, fake) = configured().await;
    fake.fail_next(Fault::RateLimited { retry_after: 40 });
    let request = Request::builder()
        .uri("/api/jira/issues")
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = api.send(request).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "40");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["issues"], json!([]));

    let (api, fake) = configured().await;
    fake.fail_next(Fault::Status {
        status: 401,
        message: "revoked".into(),
    });
    let answer = api.get("/api/jira/issues").await;
    assert_error(&answer, StatusCode::BAD_GATEWAY, "UPSTREAM_UNAUTHORIZED");
    fake.fail_next(Fault::Status {
        status: 503,
        message: "down".into(),
    });
    fake.fail_next(Fault::Status {
        status: 503,
        message: "down".into(),
    });
    let answer = api.get("/api/jira/priorities").await;
    assert_error(&answer, StatusCode::BAD_GATEWAY, "UPSTREAM_FAILED");

    let (status, _) = api
        .call(Method::DELETE, "/api/jira/credentials", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.get("/api/jira/status").await;
    assert_eq!(body["configured"], false);
    let file =
        std::fs::read_to_string(api.repo.paths().openkit_dir().join("integrations.json")).unwrap();
    assert!(!file.contains(TOKEN));
}

#[tokio::test]
async fn oauth_login_through_the_api() {
    let fake = FakeJira::start().await;
    let url = fake.url().to_string();
    let api = Api::with_host(TestRepo::new(), |host| {
        host.with_var("OPENKIT_ATLASSIAN_AUTH_URL", &url)
            .with_var("OPENKIT_ATLASSIAN_API_URL", &url)
    });
    let (status, body) = api
        .call(
            Method::POST,
            "/api/jira/oauth/start",
            Some(json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "redirectUri": "http://localhost:4040/api/jira/oauth/callback"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let authorize = body["authorizeUrl"].as_str().unwrap();
    assert!(
        authorize.starts_with(&format!("{url}/authorize?")),
        "{authorize}"
    );
    let state = authorize
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap()
        .to_string();
    let answer = api
        .get(&format!(
            "/api/jira/oauth/callback?code={AUTH_CODE}&state=forged"
        ))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "JIRA_OAUTH_FAILED");
    let (status, body) = api
        .get(&format!(
            "/api/jira/oauth/callback?code={AUTH_CODE}&state={state}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, status) = api.get("/api/jira/status").await;
    assert_eq!(status["authMethod"], "oauth");
    fake.add_issue("PROJ-1", "Via the gateway");
    let (_, body) = api.get("/api/jira/issues").await;
    assert_eq!(body["issues"][0]["key"], "PROJ-1");
}
