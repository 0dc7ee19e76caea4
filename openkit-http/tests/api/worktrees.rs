use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use serde_json::json;

use crate::harness::{Api, assert_error};

#[tokio::test]
async fn list_shows_the_main_checkout_first() {
    let api = Api::new();
    let (status, body) = api.get("/api/worktrees").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!(body, { ".worktrees[].path" => "[path]" });
}

#[tokio::test]
async fn create_returns_the_worktree_and_lists_it() {
    let api = Api::new();
    let (status, body) = api
        .post("/api/worktrees", json!({ "branch": "feature/login-page" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    insta::assert_json_snapshot!("create_response", body, { ".worktree.path" => "[path]" });
    let path = body["worktree"]["path"].as_str().unwrap();
    assert_eq!(
        std::path::Path::new(path),
        api.repo.root().join(".openkit/worktrees/login-page")
    );
    assert!(std::path::Path::new(path).join("README.md").is_file());
    let (_, list) = api.get("/api/worktrees").await;
    let ids: Vec<&str> = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["root", "login-page"]);
}

#[tokio::test]
async fn duplicates_answer_worktree_exists_with_the_canonical_id() {
    let api = Api::new();
    api.post("/api/worktrees", json!({ "branch": "one", "id": "Task-1" }))
        .await;
    let dup = api
        .post("/api/worktrees", json!({ "branch": "two", "id": "task-1" }))
        .await;
    assert_error(&dup, StatusCode::BAD_REQUEST, "WORKTREE_EXISTS");
    assert_eq!(dup.1["worktreeId"], "Task-1");
    let same_branch = api
        .post("/api/worktrees", json!({ "branch": "one", "id": "other" }))
        .await;
    assert_error(&same_branch, StatusCode::BAD_REQUEST, "WORKTREE_EXISTS");
    assert_eq!(same_branch.1["worktreeId"], "Task-1");
}

#[tokio::test]
async fn bad_input_gets_the_envelope() {
    let api = Api::new();
    for (body, code) in [
        (json!({ "branch": "ok", "id": ".." }), "INVALID_WORKTREE_ID"),
        (
            json!({ "branch": "ok", "id": "a/b" }),
            "INVALID_WORKTREE_ID",
        ),
        (
            json!({ "branch": "ok", "id": "root" }),
            "INVALID_WORKTREE_ID",
        ),
        (
            json!({ "branch": "ok", "id": "a\u{0}b" }),
            "INVALID_WORKTREE_ID",
        ),
        (json!({ "branch": "a..b" }), "INVALID_BRANCH_NAME"),
        (json!({ "branch": "-rf" }), "INVALID_BRANCH_NAME"),
        (json!({ "branch": 42 }), "INVALID_JSON"),
        (json!({}), "INVALID_JSON"),
        (json!({ "branch": "x", "surprise": true }), "INVALID_JSON"),
    ] {
        let res = api.post("/api/worktrees", body.clone()).await;
        assert_error(&res, StatusCode::BAD_REQUEST, code);
    }
    let worktrees_dir = api.repo.root().join(".openkit/worktrees");
    let entries = std::fs::read_dir(&worktrees_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(entries, 0, "nothing may be written for rejected input");
}

#[tokio::test]
async fn a_repo_without_commits_is_refused() {
    let api = Api::with_repo(TestRepo::builder().no_commits().build());
    let res = api.post("/api/worktrees", json!({ "branch": "x" })).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "REPOSITORY_HAS_NO_COMMITS");
}

#[tokio::test]
async fn ids_resolve_case_insensitively_and_report_ambiguity() {
    let api = Api::new();
    api.post("/api/worktrees", json!({ "branch": "b1", "id": "avo-241" }))
        .await;
    let (status, body) = api.get("/api/worktrees/AVO-241/logs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "logs": [] }));

    // A second checkout differing only in case, made behind OpenKit's back.
    api.repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/AVO-241",
        "-b",
        "b2",
    ]);
    api.until_listed(&["root", "AVO-241", "avo-241"]).await;
    let res = api.get("/api/worktrees/Avo-241/logs").await;
    assert_error(&res, StatusCode::CONFLICT, "WORKTREE_ID_AMBIGUOUS");
    assert_eq!(
        res.1["error"],
        "Worktree \"Avo-241\" is ambiguous. Matches: AVO-241, avo-241"
    );
    let exact = api.get("/api/worktrees/AVO-241/logs").await;
    assert_eq!(exact.0, StatusCode::OK);

    let missing = api.get("/api/worktrees/nope/logs").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
    assert_eq!(missing.1["error"], "Worktree \"nope\" not found");
}

#[tokio::test]
async fn rename_moves_directory_and_branch() {
    let api = Api::new();
    api.create("feature/a").await;
    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/worktrees/a",
            Some(json!({ "name": "b", "branch": "feature/b" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["worktree"]["id"], "b");
    assert_eq!(body["worktree"]["branch"], "feature/b");
    assert!(!api.repo.root().join(".openkit/worktrees/a").exists());
    assert!(
        api.repo
            .root()
            .join(".openkit/worktrees/b/README.md")
            .is_file()
    );

    api.create("feature/c").await;
    let clash = api
        .call(
            Method::PATCH,
            "/api/worktrees/c",
            Some(json!({ "name": "B" })),
        )
        .await;
    assert_error(&clash, StatusCode::BAD_REQUEST, "WORKTREE_EXISTS");
    let empty = api
        .call(Method::PATCH, "/api/worktrees/c", Some(json!({})))
        .await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let root = api
        .call(
            Method::PATCH,
            "/api/worktrees/root",
            Some(json!({ "name": "x" })),
        )
        .await;
    assert_error(&root, StatusCode::BAD_REQUEST, "ROOT_WORKTREE_IMMUTABLE");
}

#[tokio::test]
async fn delete_reports_the_teardown() {
    let api = Api::new();
    api.create("feature/gone").await;
    std::fs::create_dir_all(api.repo.root().join(".openkit/issues/local/LOCAL-1")).unwrap();
    std::fs::write(
        api.repo
            .root()
            .join(".openkit/issues/local/LOCAL-1/notes.json"),
        r#"{"linkedWorktreeId":"gone","todos":[]}"#,
    )
    .unwrap();
    let (status, body) = api.call(Method::DELETE, "/api/worktrees/GONE", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!(body, { ".deleteOpId" => "[op-id]" });
    assert!(body["deleteOpId"].as_str().is_some_and(|s| s.len() >= 16));
    assert!(!api.repo.root().join(".openkit/worktrees/gone").exists());
    // The branch is kept.
    assert!(
        api.repo
            .git(["branch", "--list", "feature/gone"])
            .contains("feature/gone")
    );

    let again = api.call(Method::DELETE, "/api/worktrees/gone", None).await;
    assert_error(&again, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
    let root = api.call(Method::DELETE, "/api/worktrees/root", None).await;
    assert_error(&root, StatusCode::BAD_REQUEST, "ROOT_WORKTREE_IMMUTABLE");
    let traversal = api
        .call(Method::DELETE, "/api/worktrees/..%2F..%2Fetc", None)
        .await;
    assert_error(&traversal, StatusCode::BAD_REQUEST, "INVALID_WORKTREE_ID");
    assert!(traversal.1["deleteOpId"].is_string());
}

#[tokio::test]
async fn a_directory_deleted_behind_our_back_disappears_and_can_be_recovered() {
    let api = Api::new();
    api.create("feature/fragile").await;
    let dir = api.repo.root().join(".openkit/worktrees/fragile");
    std::fs::write(dir.join("work.txt"), "x").unwrap();
    api.repo.git_in(&dir, ["add", "work.txt"]);
    api.repo.git_in(&dir, ["commit", "-q", "-m", "work"]);
    std::fs::remove_dir_all(&dir).unwrap();
    api.until_listed(&["root"]).await;

    let bad = api
        .post("/api/worktrees/fragile/recover", json!({ "action": "fix" }))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_RECOVER_ACTION");
    let (status, body) = api
        .post(
            "/api/worktrees/fragile/recover",
            json!({ "action": "reuse" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["worktree"]["branch"], "feature/fragile");
    assert_eq!(std::fs::read_to_string(dir.join("work.txt")).unwrap(), "x");
    let missing = api
        .post("/api/worktrees/never/recover", json!({ "action": "reuse" }))
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
}

#[tokio::test]
async fn concurrent_creates_of_one_id_have_exactly_one_winner() {
    let api = std::sync::Arc::new(Api::new());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = std::sync::Arc::clone(&api);
        tasks.push(tokio::spawn(async move {
            api.post(
                "/api/worktrees",
                json!({ "branch": format!("race-{i}"), "id": "race" }),
            )
            .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            _ => assert_eq!(body["code"], "WORKTREE_EXISTS", "{body}"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn open_targets_are_detected_and_the_choice_persisted() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let marker = bin.path().join("opened");
    let script = format!("#!/bin/sh\necho \"$1\" > {}\n", marker.display());
    for name in ["code", "zed"] {
        std::fs::write(bin.path().join(name), &script).unwrap();
        std::fs::set_permissions(
            bin.path().join(name),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let api = Api::with_search_path(TestRepo::new(), vec![bin.path().to_path_buf()]);
    api.post("/api/config/init", json!({})).await;
    api.create("feature/ide").await;
    let (status, body) = api.get("/api/worktrees/ide/open-targets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "success": true,
            "targets": [{ "target": "vscode", "label": "VSCode" }, { "target": "zed", "label": "Zed" }],
            "selectedTarget": "vscode",
        })
    );
    let (status, body) = api
        .post("/api/worktrees/ide/open", json!({ "target": "zed" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The redirect creates the file before echo writes the line: wait for all of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let written = || std::fs::read_to_string(&marker).is_ok_and(|t| t.ends_with('\n'));
    while !written() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let opened = std::fs::read_to_string(&marker).unwrap();
    assert!(
        opened.trim().ends_with(".openkit/worktrees/ide"),
        "{opened}"
    );
    let (_, body) = api.get("/api/worktrees/ide/open-targets").await;
    assert_eq!(body["selectedTarget"], "zed");

    let invalid = api
        .post("/api/worktrees/ide/open", json!({ "target": "emacs" }))
        .await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "INVALID_OPEN_TARGET");
    let unavailable = api
        .post("/api/worktrees/ide/open", json!({ "target": "cursor" }))
        .await;
    assert_error(
        &unavailable,
        StatusCode::BAD_REQUEST,
        "OPEN_TARGET_UNAVAILABLE",
    );
    let missing = api.get("/api/worktrees/none/open-targets").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
}

#[tokio::test]
async fn a_worktree_named_outside_the_id_alphabet_can_still_be_deleted() {
    let api = Api::new();
    api.repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/my.feature",
        "-b",
        "my.feature",
    ]);
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(list["worktrees"][1]["id"], "my.feature");
    let (status, body) = api
        .call(Method::DELETE, "/api/worktrees/my.feature", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !api.repo
            .root()
            .join(".openkit/worktrees/my.feature")
            .exists()
    );
}

#[tokio::test]
async fn branch_names_git_would_find_ambiguous_are_refused_and_never_break_creation() {
    let api = Api::with_repo(TestRepo::builder().with_origin().build());
    api.repo.git(["fetch", "-q", "origin"]);
    api.repo.git(["tag", "v1"]);
    for (branch, id) in [
        ("refs/heads/main", None),
        ("heads/main", None),
        ("remotes/origin/main", None),
        ("tags/v1", None),
        ("FETCH_HEAD", None),
        ("origin/main", Some("o")),
        ("v1", Some("t")),
    ] {
        let mut body = json!({ "branch": branch });
        if let Some(id) = id {
            body["id"] = json!(id);
        }
        let res = api.post("/api/worktrees", body).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "INVALID_BRANCH_NAME");
        assert!(
            res.1["error"].as_str().unwrap().contains(branch),
            "{branch}: {}",
            res.1
        );
    }
    let head_id = api
        .post(
            "/api/worktrees",
            json!({ "branch": "feature/h", "id": "HEAD" }),
        )
        .await;
    assert_error(&head_id, StatusCode::BAD_REQUEST, "INVALID_WORKTREE_ID");

    // Branches made by hand that shadow refs do not break the next creations.
    api.repo.git(["branch", "refs/heads/main"]);
    api.repo.git(["branch", "origin/main"]);
    for branch in ["feature/after", "feature/again"] {
        let (status, body) = api
            .post("/api/worktrees", json!({ "branch": branch }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{branch}: {body}");
    }
}
