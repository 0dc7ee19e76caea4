//! `/api/worktrees/:id/diff`, `.../diff/file`, `.../commit`, `.../push`, the
//! `X-OpenKit-Actor` policy and the actor marker of agent terminal sessions.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use serde_json::json;

use crate::harness::{Api, assert_error};

fn project() -> TestRepo {
    TestRepo::builder()
        .with_origin()
        .file("keep.txt", "one\ntwo\nthree\n")
        .file("gone.txt", "bye\n")
        .build()
}

fn write(dir: &std::path::Path, rel: &str, content: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[tokio::test]
async fn diff_lists_changes_and_answers_failures_in_its_own_shape() {
    let api = Api::with_repo(project());
    let wt = api.create("feature/diff-api").await;
    let dir = std::path::PathBuf::from(wt["worktree"]["path"].as_str().unwrap());
    write(&dir, "keep.txt", b"one\nTWO\nthree\nfour\n");
    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    write(&dir, "new/file.rs", b"fn main() {}\n");
    write(&dir, "pixel.png", b"\x89PNG\0\0\0");

    let (status, body) = api.get("/api/worktrees/DIFF-API/diff").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, @r#"
    {
      "success": true,
      "files": [
        {
          "path": "gone.txt",
          "status": "deleted",
          "linesAdded": 0,
          "linesRemoved": 1,
          "isBinary": false
        },
        {
          "path": "keep.txt",
          "status": "modified",
          "linesAdded": 2,
          "linesRemoved": 1,
          "isBinary": false
        },
        {
          "path": "new/file.rs",
          "status": "untracked",
          "linesAdded": 1,
          "linesRemoved": 0,
          "isBinary": false
        },
        {
          "path": "pixel.png",
          "status": "untracked",
          "linesAdded": 0,
          "linesRemoved": 0,
          "isBinary": true
        }
      ],
      "baseBranch": "main"
    }
    "#);

    // Committed work shows with includeCommitted only.
    api.repo.git_in(&dir, ["add", "-A"]);
    api.repo.git_in(&dir, ["commit", "-q", "-m", "work"]);
    let (_, clean) = api.get("/api/worktrees/diff-api/diff").await;
    assert_eq!(clean["files"], json!([]));
    let (_, all) = api
        .get("/api/worktrees/diff-api/diff?includeCommitted=true")
        .await;
    assert_eq!(all["files"].as_array().unwrap().len(), 4);
    let (_, renamed) = {
        api.repo.git_in(&dir, ["mv", "keep.txt", "kept.txt"]);
        api.get("/api/worktrees/diff-api/diff").await
    };
    assert_eq!(
        renamed["files"][0],
        json!({ "path": "kept.txt", "oldPath": "keep.txt", "status": "renamed",
                "linesAdded": 0, "linesRemoved": 0, "isBinary": false })
    );

    let (status, missing) = api.get("/api/worktrees/nope/diff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    insta::assert_json_snapshot!(missing, @r#"
    {
      "files": [],
      "baseBranch": "",
      "success": false,
      "error": "Worktree \"nope\" not found",
      "code": "WORKTREE_NOT_FOUND"
    }
    "#);
    let bad = api
        .get("/api/worktrees/diff-api/diff?includeCommitted=maybe")
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_QUERY");
    assert_eq!(bad.1["files"], json!([]));
}

#[tokio::test]
async fn diff_file_gives_contents_and_confines_paths() {
    let api = Api::with_repo(project());
    let wt = api.create("feature/file-api").await;
    let dir = std::path::PathBuf::from(wt["worktree"]["path"].as_str().unwrap());
    write(&dir, "keep.txt", b"one\ntwo\n");
    let (status, body) = api
        .get("/api/worktrees/file-api/diff/file?path=keep.txt&status=modified")
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, @r#"
    {
      "success": true,
      "oldContent": "one\ntwo\nthree\n",
      "newContent": "one\ntwo\n"
    }
    "#);

    for path in [
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        ".git%2Fconfig",
        "a%2F..%2F..%2Fx",
    ] {
        let answer = api
            .get(&format!("/api/worktrees/file-api/diff/file?path={path}"))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_FILE_PATH");
    }
    let (status, traversal) = api
        .get("/api/worktrees/file-api/diff/file?path=keep.txt&status=renamed&oldPath=..%2Fsecret")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!(traversal, @r#"
    {
      "oldContent": "",
      "newContent": "",
      "success": false,
      "error": "Invalid file path \"../secret\": `..` is not allowed",
      "code": "INVALID_FILE_PATH"
    }
    "#);
    write(&dir, "huge.txt", &vec![b'x'; 3 * 1024 * 1024]);
    let big = api
        .get("/api/worktrees/file-api/diff/file?path=huge.txt&status=untracked")
        .await;
    assert_error(&big, StatusCode::BAD_REQUEST, "FILE_TOO_LARGE");
    let none = api.get("/api/worktrees/file-api/diff/file").await;
    assert_error(&none, StatusCode::BAD_REQUEST, "PATH_REQUIRED");
    let gone = api
        .get("/api/worktrees/file-api/diff/file?path=nowhere.txt")
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "FILE_NOT_FOUND");
}

#[tokio::test]
async fn commit_and_push_through_the_api() {
    let api = Api::with_repo(project());
    let wt = api.create("feature/ship").await;
    let dir = std::path::PathBuf::from(wt["worktree"]["path"].as_str().unwrap());

    let empty = api
        .post("/api/worktrees/ship/commit", json!({ "message": " " }))
        .await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "COMMIT_MESSAGE_REQUIRED");
    let nothing = api
        .post("/api/worktrees/ship/commit", json!({ "message": "x" }))
        .await;
    assert_error(&nothing, StatusCode::BAD_REQUEST, "NOTHING_TO_COMMIT");

    write(&dir, "shipped.txt", b"yes\n");
    let (status, body) = api
        .post(
            "/api/worktrees/SHIP/commit",
            json!({ "message": "ship it" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let head = api.repo.git_in(&dir, ["rev-parse", "HEAD"]);
    assert_eq!(body["commit"], head.trim());
    insta::assert_json_snapshot!(body, { ".commit" => "[sha]" }, @r#"
    {
      "success": true,
      "commit": "[sha]",
      "message": "ship it",
      "branch": "feature/ship"
    }
    "#);

    let (status, pushed) = api.post("/api/worktrees/ship/push", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    insta::assert_json_snapshot!(pushed, @r#"
    {
      "success": true,
      "branch": "feature/ship",
      "remote": "origin",
      "upstream": "origin/feature/ship",
      "setUpstream": true
    }
    "#);
    assert_eq!(
        api.repo
            .git_in(&dir, ["rev-parse", "--abbrev-ref", "@{u}"])
            .trim(),
        "origin/feature/ship"
    );

    // A diverging commit lands on the remote branch first: the next push is rejected.
    let other = api.repo.root().join(".openkit/elsewhere");
    api.repo.git([
        "worktree",
        "add",
        "-q",
        "-b",
        "theirs",
        other.to_str().unwrap(),
    ]);
    api.repo
        .git_in(&other, ["commit", "-q", "--allow-empty", "-m", "theirs"]);
    api.repo.git_in(
        &other,
        ["push", "-q", "--force", "origin", "theirs:feature/ship"],
    );
    write(&dir, "more.txt", b"more\n");
    let (status, _) = api
        .post("/api/worktrees/ship/commit", json!({ "message": "more" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let rejected = api.post("/api/worktrees/ship/push", json!({})).await;
    assert_error(&rejected, StatusCode::CONFLICT, "PUSH_REJECTED");
}

#[tokio::test]
async fn push_without_a_remote_is_a_400() {
    let api = Api::new();
    let wt = api.create("feature/local-only").await;
    let dir = std::path::PathBuf::from(wt["worktree"]["path"].as_str().unwrap());
    write(&dir, "a.txt", b"a\n");
    let (status, _) = api
        .post(
            "/api/worktrees/local-only/commit",
            json!({ "message": "a" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = api.post("/api/worktrees/local-only/push", json!({})).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "NO_REMOTE");
}

#[tokio::test]
async fn agents_are_held_to_the_git_policy_humans_are_not() {
    let api = Api::with_repo(project());
    let wt = api.create("feature/agent").await;
    let dir = std::path::PathBuf::from(wt["worktree"]["path"].as_str().unwrap());
    write(&dir, "agent.txt", b"a\n");
    let uri = "/api/worktrees/agent/commit";

    let denied = api
        .post_as(Some("agent:agent"), uri, json!({ "message": "m" }))
        .await;
    assert_eq!(denied.0, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!(denied.1, @r#"
    {
      "success": false,
      "error": "Agents may not commit in worktree \"agent\": allowAgentCommits is off in .openkit/config.local.json",
      "code": "AGENT_GIT_POLICY_DENIED",
      "worktreeId": "agent"
    }
    "#);
    let invalid = api
        .post_as(Some("robot"), uri, json!({ "message": "m" }))
        .await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "INVALID_ACTOR");

    // The issue's policy allows commits (the local default stays off).
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/notes/local/LOCAL-9/git-policy",
            Some(json!({ "agentCommits": "allow" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.workbench
        .notes()
        .link(
            &openkit_core::issues::IssueRef::local("LOCAL-9").unwrap(),
            Some("agent"),
        )
        .unwrap();
    let elsewhere = api
        .post_as(Some("agent:other"), uri, json!({ "message": "m" }))
        .await;
    assert_error(&elsewhere, StatusCode::FORBIDDEN, "AGENT_SCOPE_MISMATCH");
    let (status, body) = api
        .post_as(Some("agent:agent"), uri, json!({ "message": "m" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Pushes stay off for agents, a human pushes.
    let push = api
        .post_as(Some("agent:agent"), "/api/worktrees/agent/push", json!({}))
        .await;
    assert_error(&push, StatusCode::FORBIDDEN, "AGENT_GIT_POLICY_DENIED");
    let (status, _) = api
        .post_as(Some("human"), "/api/worktrees/agent/push", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Waits for a file a terminal session writes.
async fn read_eventually(path: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn agent_sessions_export_the_actor_and_human_shells_do_not() {
    // The server itself runs with a marker (started from an agent's terminal): it must
    // not leak into a human shell.
    let api = Api::with_host(TestRepo::new(), |host| {
        host.with_var("OPENKIT_ACTOR", "agent:leaked")
    });
    api.create("feature/term").await;
    let out = tempfile::tempdir().unwrap();
    for (scope, file) in [("claude", "agent"), ("terminal", "human")] {
        let target = out.path().join(file);
        let (status, body) = api
            .post(
                "/api/worktrees/term/terminals",
                json!({
                    "scope": scope,
                    "startupCommand": format!("echo \"actor=${{OPENKIT_ACTOR:-none}}\" > '{}'", target.display()),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        read_eventually(&out.path().join("agent")).await,
        "actor=agent:term\n"
    );
    assert_eq!(
        read_eventually(&out.path().join("human")).await,
        "actor=none\n"
    );
}
