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
