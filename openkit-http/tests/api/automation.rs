//! Tracker automation through the server's own parts: the background refresh of an
//! in-memory tracker starts a real agent terminal (a fake `claude` on the session's
//! `PATH`) in the issue's worktree, and `GET /api/integrations/verify` answers in bounded
//! time whatever a service does.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use openkit_core::issues::IssueId;
use openkit_core::testing::{MemoryIssues, TestRepo};
use openkit_core::trackers::TrackerRefresh;
use openkit_integrations::verify::Check;
use serde_json::{Value, json};

use crate::harness::{Api, tools_dir};

const MINUTE: Duration = Duration::from_secs(60);

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

async fn events(api: &Api, category: &str, event_type: &str) -> Vec<Value> {
    let (status, body) = api
        .get(&format!("/api/activity?category={category}&limit=500"))
        .await;
    assert_eq!(status, StatusCode::OK);
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == event_type)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_new_issue_gets_announced_once_and_a_real_agent_terminal_in_its_worktree() {
    let repo = TestRepo::new();
    // A fake `claude` that records how it was started, then waits like an agent.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("claude-started");
    write_script(
        &bin.path().join("claude"),
        &format!(
            "{{ printf '%s\\n' \"$@\"; echo \"actor=$OPENKIT_ACTOR\"; echo \"cwd=$PWD\"; }} > '{}'\nexec sleep 60\n",
            record.display()
        ),
    );
    // Agent sessions run `$SHELL -lc`: the login profile puts the user's tools on PATH.
    std::fs::write(
        repo.home().join(".profile"),
        format!("export PATH='{}':\"$PATH\"\n", bin.path().display()),
    )
    .unwrap();
    let tools = tools_dir();
    let tracker = Arc::new(MemoryIssues::new("acme"));
    let api = Api::with_composition(
        repo,
        |host| {
            let path = std::env::join_paths([bin.path(), tools.path()]).unwrap();
            host.with_var("PATH", path)
        },
        |c| c.issue_source(Arc::clone(&tracker) as _),
    );
    let store = Arc::clone(&api.integrations.context().store);
    store
        .put_section(
            "acme",
            &json!({
                "refreshIntervalMinutes": 5,
                "autoStartAgent": "claude",
                "autoStartClaudeSkipPermissions": true,
                "autoStartClaudeFocusTerminal": true,
                "autoUpdateIssueStatusOnAgentStart": true,
                "autoUpdateIssueStatusName": "In Progress",
            }),
        )
        .unwrap();
    let refresh = api.integrations.refresh();
    tracker.assign("ACME-1", "Already mine");
    let t0 = Instant::now();
    assert!(refresh.tick(t0).await.announced.is_empty());
    assert!(events(&api, "system", "issue_assigned").await.is_empty());

    tracker.assign("ACME-2", "Fix the login");
    let report = refresh.tick(t0 + 5 * MINUTE).await;
    assert_eq!(report.announced.len(), 1);
    assert_eq!(report.started.len(), 1);
    let session = report.started[0].1.clone();

    // The worktree is there, linked to the issue.
    let (_, list) = api.get("/api/worktrees").await;
    let listed = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "ACME-2")
        .unwrap_or_else(|| panic!("ACME-2 is listed: {list}"))
        .clone();
    assert_eq!(listed["issueSource"], "acme");
    assert_eq!(listed["issueId"], "ACME-2");

    // Its claude session is the one started, and the agent runs with its flags, its
    // prompt, the agent actor, in the worktree.
    let (_, active) = api
        .get("/api/worktrees/ACME-2/terminals/active?scope=claude")
        .await;
    assert_eq!(active["sessionId"], session.as_str());
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = loop {
        if let Ok(text) = std::fs::read_to_string(&record)
            && text.contains("cwd=")
        {
            break text;
        }
        assert!(Instant::now() < deadline, "the fake claude never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lines: Vec<&str> = started.lines().collect();
    assert_eq!(lines[0], "--dangerously-skip-permissions");
    assert!(
        lines[1].starts_with("Work on acme issue ACME-2: Fix the login."),
        "{started}"
    );
    assert_eq!(lines[2], "actor=agent:ACME-2");
    assert!(
        lines[3].ends_with("/.openkit/worktrees/ACME-2"),
        "{started}"
    );

    // The tracker was told, and the feed says so.
    assert_eq!(
        tracker.status_updates(),
        vec![(IssueId::new("ACME-2").unwrap(), "In Progress".to_string())]
    );
    let assigned = events(&api, "system", "issue_assigned").await;
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["metadata"]["issueId"], "ACME-2");
    assert_eq!(
        assigned[0]["metadata"]["issueUrl"],
        "https://acme.invalid/ACME-2"
    );
    let claimed = events(&api, "agent", "auto_task_claimed").await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0]["worktreeId"], "ACME-2");
    assert_eq!(claimed[0]["groupKey"], "auto-task-claimed:ACME-2");
    let meta = &claimed[0]["metadata"];
    assert_eq!(meta["sessionId"], session.as_str());
    assert_eq!(meta["focusTerminal"], true);
    assert_eq!(meta["agent"], "claude");
    assert_eq!(meta["statusUpdatedTo"], "In Progress");

    // A restarted refresh announces nothing again and starts no second agent.
    let restarted = TrackerRefresh::new(Arc::clone(&api.workbench), store);
    let again = restarted.tick(Instant::now()).await;
    assert_eq!(again.polled.len(), 1);
    assert!(again.announced.is_empty() && again.started.is_empty());
    assert_eq!(events(&api, "system", "issue_assigned").await.len(), 1);
    assert_eq!(api.terminals.list_for_worktree("ACME-2").len(), 1);
    api.terminals.shutdown_all();
}

#[tokio::test]
async fn verify_answers_in_bounded_time_when_a_service_hangs() {
    // No code host and no `gh` on PATH: GitHub is not configured.
    let api = Api::with_search_path(TestRepo::new(), Vec::new());
    let verifiers = api.integrations.verifiers();
    verifiers.set_timeout(Duration::from_millis(500));
    verifiers.register("jira", Arc::new(|| Box::pin(async { Some(Check::ok()) })));
    verifiers.register(
        "linear",
        Arc::new(|| {
            Box::pin(async {
                Some(Check::failed(
                    "Linear rejected the credentials",
                    Some("UPSTREAM_UNAUTHORIZED"),
                ))
            })
        }),
    );
    verifiers.register("kite", Arc::new(|| Box::pin(std::future::pending())));
    let started = Instant::now();
    let (status, body) = api.get("/api/integrations/verify").await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    insta::assert_json_snapshot!(body, @r###"
    {
      "github": null,
      "jira": {
        "ok": true
      },
      "linear": {
        "ok": false,
        "error": "Linear rejected the credentials",
        "code": "UPSTREAM_UNAUTHORIZED"
      },
      "kiket": null,
      "kizuna": null,
      "kite": {
        "ok": false,
        "error": "timed out",
        "code": "VERIFY_TIMED_OUT"
      }
    }
    "###);
}
