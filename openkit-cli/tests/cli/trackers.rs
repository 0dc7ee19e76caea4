//! Jira end to end through the real binary: `openkit serve` set up against the fake
//! Jira, `POST /api/jira/task` creates the issue's worktree, and `openkit task context`
//! run inside it shows the issue (from the `issue.json` saved at creation).

use openkit_core::testing::TestRepo;
use openkit_integrations::testing_jira::{EMAIL, FakeIssue, FakeJira, TOKEN};
use serde_json::json;

use crate::{Served, http, openkit, run_ok};

#[test]
fn a_jira_task_worktree_shows_its_issue_in_task_context() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeJira::start());
    fake.add(FakeIssue {
        key: "PROJ-7".into(),
        summary: "Fix the login page".into(),
        status: "To Do".into(),
        assigned_to_me: true,
        priority: "High".into(),
        issue_type: "Bug".into(),
        labels: vec![],
        description: json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Submitting twice "},
                {"type": "text", "text": "logs you out", "marks": [{"type": "strong"}]}
            ]}
        ]}),
        comments: vec![],
        attachments: vec![],
        updated: 0,
    });
    let repo = TestRepo::new();
    let mut server = Served::start(&repo);
    let port = server.port;
    let (status, body) = http(
        port,
        "POST",
        "/api/jira/setup",
        Some(json!({"baseUrl": fake.url(), "email": EMAIL, "token": TOKEN})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        port,
        "POST",
        "/api/jira/task",
        Some(json!({"issueKey": "PROJ-7"})),
    );
    assert_eq!(status, 201, "{body}");
    let worktree = std::path::PathBuf::from(body["worktreePath"].as_str().unwrap());

    let markdown = run_ok(openkit(&repo, &worktree).args(["task", "context"]));
    assert!(
        markdown.starts_with("# PROJ-7 — Fix the login page\n"),
        "{markdown}"
    );
    assert!(markdown.contains("**Source:** jira"), "{markdown}");
    assert!(markdown.contains("**Status:** To Do"), "{markdown}");
    assert!(
        markdown.contains("Submitting twice **logs you out**"),
        "{markdown}"
    );
    let data: serde_json::Value = serde_json::from_str(&run_ok(
        openkit(&repo, &worktree).args(["task", "context", "--json"]),
    ))
    .unwrap();
    assert_eq!(data["source"], "jira");
    server.stop();
}

/// The same for Linear, its GraphQL endpoint handed to the server as
/// `OPENKIT_LINEAR_API_URL`.
#[test]
fn a_linear_task_worktree_shows_its_issue_in_task_context() {
    use openkit_integrations::testing_linear::{API_KEY, FakeLinear};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeLinear::start());
    fake.add_issue("ENG-12", "Speed up the list");
    fake.update("ENG-12", |i| i.description = "It takes *seconds*.".into());
    let repo = TestRepo::new();
    let api_url = fake.api_url();
    let mut server = Served::start_with(
        &repo,
        &[("OPENKIT_LINEAR_API_URL", std::ffi::OsStr::new(&api_url))],
    );
    let port = server.port;
    let (status, body) = http(
        port,
        "POST",
        "/api/linear/setup",
        Some(json!({"apiKey": API_KEY})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        port,
        "POST",
        "/api/linear/task",
        Some(json!({"identifier": "ENG-12"})),
    );
    assert_eq!(status, 201, "{body}");
    let worktree = std::path::PathBuf::from(body["worktreePath"].as_str().unwrap());
    let markdown = run_ok(openkit(&repo, &worktree).args(["task", "context"]));
    assert!(
        markdown.starts_with("# ENG-12 — Speed up the list\n"),
        "{markdown}"
    );
    assert!(markdown.contains("**Source:** linear"), "{markdown}");
    assert!(markdown.contains("**Status:** Todo"), "{markdown}");
    assert!(markdown.contains("It takes *seconds*."), "{markdown}");
    server.stop();
}
