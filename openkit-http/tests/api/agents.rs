use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::http::StatusCode;
use openkit_core::testing::TestRepo;
use serde_json::json;

use crate::harness::{Api, assert_error};

fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn cli_status_and_install_with_npm() {
    let bin = tempfile::tempdir().unwrap();
    let api = Api::with_search_path(TestRepo::new(), vec![bin.path().to_path_buf()]);
    let (status, body) = api.get("/api/agents/claude/cli/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["installed"], false);
    assert_eq!(body["label"], "Claude");

    let none = api.post("/api/agents/claude/cli/install", json!({})).await;
    assert_error(&none, StatusCode::BAD_REQUEST, "NO_INSTALLER");

    // A fake npm that "installs" the package by creating the command.
    script(
        bin.path(),
        "npm",
        &format!(
            "[ \"$3\" = \"@anthropic-ai/claude-code\" ] || exit 9\nprintf '#!/bin/sh\\n' > {0}/claude && chmod +x {0}/claude",
            bin.path().display()
        ),
    );
    let (status, body) = api.post("/api/agents/claude/cli/install", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["brewPackage"], "claude");
    let (_, body) = api.get("/api/agents/claude/cli/status").await;
    assert_eq!(body["installed"], true);
    let failed = api.post("/api/agents/codex/cli/install", json!({})).await;
    assert_error(&failed, StatusCode::BAD_REQUEST, "INSTALL_FAILED");

    let (_, feed) = api.get("/api/activity?category=system").await;
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "agent_cli_install_started",
            "agent_cli_installed",
            "agent_cli_install_started",
            "agent_cli_install_failed"
        ]
    );
    let (_, ops) = api.get("/api/logs?search=claude-code").await;
    assert_eq!(ops["events"][0]["command"]["exitCode"], 0);

    let unknown = api.get("/api/agents/vim/cli/status").await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "UNKNOWN_AGENT");
    assert_eq!(unknown.1["error"], "Unknown agent");
}

#[tokio::test]
async fn restore_lists_native_sessions_of_the_worktree() {
    let api = Api::new();
    api.create("feature/resume").await;
    let wt = api.repo.root().join(".openkit/worktrees/resume");
    let dir = api.repo.home().join(".claude/projects/x");
    std::fs::create_dir_all(&dir).unwrap();
    let line = json!({"type":"user","cwd": wt,"sessionId":"s-1","message":{"role":"user","content":"continue task with latest description"}});
    std::fs::write(dir.join("s-1.jsonl"), format!("{line}\n")).unwrap();

    let (status, body) = api.get("/api/worktrees/RESUME/agents/claude/restore").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["activeSessionId"], serde_json::Value::Null);
    assert_eq!(body["historyMatches"][0]["sessionId"], "s-1");
    assert_eq!(
        body["historyMatches"][0]["title"],
        "continue task with latest description"
    );
    let (_, codex) = api.get("/api/worktrees/resume/agents/codex/restore").await;
    assert_eq!(codex["historyMatches"], json!([]));

    let bad = api.get("/api/worktrees/resume/agents/gemini/restore").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "UNSUPPORTED_AGENT");
    assert_eq!(bad.1["error"], "agent must be \"claude\" or \"codex\"");
    let missing = api.get("/api/worktrees/nope/agents/claude/restore").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
}
