use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Api, PORT, assert_error};

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "openkit-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(api: &Api, task: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(name, bytes);
    let req = Request::post(format!("/api/tasks/{task}/attachments"))
        .header(header::HOST, format!("localhost:{PORT}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, bytes) = api.send(req).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn task_lifecycle() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/tasks",
            json!({ "title": "My task", "description": "Details", "labels": ["ui"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("task_created", body, { ".task.createdAt" => "[ts]", ".task.updatedAt" => "[ts]" });
    api.post(
        "/api/tasks",
        json!({ "title": "Second", "priority": "high" }),
    )
    .await;

    let (_, list) = api.get("/api/tasks").await;
    let ids: Vec<&str> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["LOCAL-1", "LOCAL-2"]);
    assert_eq!(list["tasks"][0]["attachmentCount"], 0);

    let (status, body) = api
        .call(
            Method::PATCH,
            "/api/tasks/LOCAL-1",
            Some(json!({ "status": "in-progress" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["task"]["status"], "in-progress");
    for bad in [
        json!({ "status": "later" }),
        json!({ "priority": "urgent" }),
        json!({ "title": " " }),
    ] {
        let res = api
            .call(Method::PATCH, "/api/tasks/LOCAL-1", Some(bad))
            .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    }
    let missing = api.get("/api/tasks/LOCAL-99").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "TASK_NOT_FOUND");
    assert_eq!(missing.1["error"], "Task not found");
    let traversal = api.get("/api/tasks/..%2F..%2Fconfig").await;
    assert_error(&traversal, StatusCode::NOT_FOUND, "TASK_NOT_FOUND");

    let (status, _) = api.call(Method::DELETE, "/api/tasks/LOCAL-2", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.post("/api/tasks", json!({ "title": "Third" })).await;
    assert_eq!(body["task"]["id"], "LOCAL-3", "ids are never reused");
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids() {
    let api = std::sync::Arc::new(Api::new());
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let api = std::sync::Arc::clone(&api);
            tokio::spawn(async move {
                api.post("/api/tasks", json!({ "title": format!("t{i}") }))
                    .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        ids.insert(body["task"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 16);
}

#[tokio::test]
async fn attachments_upload_serve_and_delete() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "With files" }))
        .await;
    let (status, body) = upload(&api, "LOCAL-1", "../../shot.png", b"\x89PNG...").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["attachment"]["filename"], "shot.png");
    assert_eq!(body["attachment"]["mimeType"], "image/png");
    let (_, again) = upload(&api, "LOCAL-1", "shot.png", b"2").await;
    assert_eq!(again["attachment"]["filename"], "shot_1.png");

    let req = Request::get("/api/tasks/LOCAL-1/attachments/shot.png")
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, bytes) = api.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=3600")
    );
    assert_eq!(bytes, b"\x89PNG...");

    let (_, task) = api.get("/api/tasks/LOCAL-1").await;
    assert_eq!(task["task"]["attachments"].as_array().unwrap().len(), 2);
    let (_, list) = api.get("/api/tasks").await;
    assert_eq!(list["tasks"][0]["attachmentCount"], 2);

    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/tasks/LOCAL-1/attachments/shot.png",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = api
        .call(
            Method::DELETE,
            "/api/tasks/LOCAL-1/attachments/shot.png",
            None,
        )
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "ATTACHMENT_NOT_FOUND");
    assert_eq!(gone.1["error"], "Attachment not found");

    let huge = vec![b'x'; openkit_core::tasks::MAX_ATTACHMENT_BYTES + 1];
    let (status, body) = upload(&api, "LOCAL-1", "big.bin", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["success"], false);
    let (status, _) = upload(&api, "LOCAL-9", "x.txt", b"x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn recover_local_relinks_an_existing_worktree() {
    let api = Api::new();
    api.post(
        "/api/worktrees",
        json!({ "branch": "LOCAL-4/fix", "id": "local-4" }),
    )
    .await;
    let bad = api
        .post("/api/tasks/recover-local", json!({ "taskId": "FOO-4" }))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_TASK_ID");
    let missing = api
        .post("/api/tasks/recover-local", json!({ "taskId": "LOCAL-5" }))
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "WORKTREE_NOT_FOUND");
    let (status, body) = api
        .post(
            "/api/tasks/recover-local",
            json!({ "taskId": "LOCAL-4", "title": "Recovered task LOCAL-4" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["linkedWorktreeId"], "local-4");
    assert_eq!(body["task"]["status"], "todo");
    let again = api
        .post("/api/tasks/recover-local", json!({ "taskId": "LOCAL-4" }))
        .await;
    assert_error(&again, StatusCode::CONFLICT, "TASK_EXISTS");
    let (_, next) = api.post("/api/tasks", json!({ "title": "next" })).await;
    assert_eq!(next["task"]["id"], "LOCAL-5", "the counter was bumped");
}

/// The reference's notes object always has `gitPolicy` with its three fields, each
/// `inherit` when never set, also when the file on disk has none or only some of them.
#[tokio::test]
async fn notes_always_carry_the_whole_git_policy() {
    let api = Api::new();
    let inherit =
        json!({ "agentCommits": "inherit", "agentPushes": "inherit", "agentPRs": "inherit" });
    let (status, body) = api.get("/api/notes/local/LOCAL-9").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["gitPolicy"], inherit, "{body}");

    // A notes file written without a policy (by an older version, or with notes only).
    let dir = api.repo.root().join(".openkit/issues/jira/PROJ-7");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("notes.json"),
        r#"{ "personal": { "content": "mine", "updatedAt": "2024-01-01T00:00:00.000Z" }, "todos": [], "gitPolicy": { "agentPushes": "deny" } }"#,
    )
    .unwrap();
    let (_, body) = api.get("/api/notes/jira/PROJ-7").await;
    assert_eq!(
        body["gitPolicy"],
        json!({ "agentCommits": "inherit", "agentPushes": "deny", "agentPRs": "inherit" })
    );
    assert_eq!(body["personal"]["content"], "mine");
    let (_, body) = api
        .call(
            Method::PUT,
            "/api/notes/local/LOCAL-9",
            Some(json!({ "section": "personal", "content": "x" })),
        )
        .await;
    assert_eq!(body["gitPolicy"], inherit, "every notes response has it");
}

#[tokio::test]
async fn notes_sections_todos_and_policy() {
    let api = Api::new();
    let (status, body) = api.get("/api/notes/jira/PROJ-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "linkedWorktreeId": null,
            "personal": null,
            "aiContext": null,
            "todos": [],
            "gitPolicy": { "agentCommits": "inherit", "agentPushes": "inherit", "agentPRs": "inherit" },
        })
    );
    let (_, body) = api
        .call(
            Method::PUT,
            "/api/notes/jira/PROJ-1",
            Some(json!({ "section": "aiContext", "content": "Use v2" })),
        )
        .await;
    assert_eq!(body["aiContext"]["content"], "Use v2");
    let (_, body) = api
        .post(
            "/api/notes/jira/PROJ-1/todos",
            json!({ "text": "write tests" }),
        )
        .await;
    let todo = body["todos"][0]["id"].as_str().unwrap().to_string();
    let (_, body) = api
        .call(
            Method::PATCH,
            &format!("/api/notes/jira/PROJ-1/todos/{todo}"),
            Some(json!({ "checked": true })),
        )
        .await;
    assert_eq!(body["todos"][0]["checked"], true);
    let (_, body) = api
        .call(
            Method::PATCH,
            "/api/notes/jira/PROJ-1/git-policy",
            Some(json!({ "agentCommits": "allow" })),
        )
        .await;
    assert_eq!(
        body["gitPolicy"],
        json!({ "agentCommits": "allow", "agentPushes": "inherit", "agentPRs": "inherit" })
    );
    let (_, body) = api
        .call(
            Method::DELETE,
            &format!("/api/notes/jira/PROJ-1/todos/{todo}"),
            None,
        )
        .await;
    assert_eq!(body["todos"], json!([]));

    let cases = [
        (
            Method::GET,
            "/api/notes/svn/X-1",
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_SOURCE",
        ),
        (
            Method::GET,
            "/api/notes/local/..",
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_ISSUE_ID",
        ),
        (
            Method::PUT,
            "/api/notes/local/L-1",
            Some(json!({ "section": "secret", "content": "x" })),
            StatusCode::BAD_REQUEST,
            "INVALID_INPUT",
        ),
        (
            Method::PATCH,
            "/api/notes/local/L-1/git-policy",
            Some(json!({ "agentPushes": "maybe" })),
            StatusCode::BAD_REQUEST,
            "INVALID_POLICY",
        ),
        (
            Method::PATCH,
            "/api/notes/local/L-1/todos/nope",
            Some(json!({ "checked": true })),
            StatusCode::NOT_FOUND,
            "TODO_NOT_FOUND",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        assert_error(&api.call(method, uri, body).await, status, code);
    }
}

/// A worktree created from a local task reports the task in the reference's
/// `localIssueId` / `localIssueStatus` (plus the additive generic `issue*` fields), and
/// the status follows the task.
#[tokio::test]
async fn worktrees_of_local_tasks_report_their_task() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "Add a login page" }))
        .await;
    let (status, body) = api
        .post("/api/tasks/LOCAL-1/create-worktree", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["worktree"]["localIssueId"], "LOCAL-1", "{body}");

    let listed = |list: &Value, id: &str| {
        list["worktrees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed: {list}"))
    };
    let (status, list) = api.get("/api/worktrees").await;
    assert_eq!(status, StatusCode::OK);
    let wt = listed(&list, "LOCAL-1");
    assert_eq!(
        (
            &wt["localIssueId"],
            &wt["localIssueStatus"],
            &wt["issueSource"],
            &wt["issueId"],
            &wt["issueStatus"],
        ),
        (
            &json!("LOCAL-1"),
            &json!("todo"),
            &json!("local"),
            &json!("LOCAL-1"),
            &json!("todo"),
        ),
        "{wt}"
    );
    assert_eq!(wt["jiraUrl"], Value::Null);
    assert_eq!(wt["linearStatus"], Value::Null);
    assert!(
        wt.get("issueUrl").is_none(),
        "local tasks have no URL: {wt}"
    );
    let root = listed(&list, "root");
    assert_eq!(root["localIssueId"], Value::Null);
    assert!(root.get("issueSource").is_none(), "{root}");

    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/tasks/LOCAL-1",
            Some(json!({ "status": "in-progress" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(listed(&list, "LOCAL-1")["localIssueStatus"], "in-progress");

    let (_, body) = api
        .call(Method::DELETE, "/api/worktrees/LOCAL-1", None)
        .await;
    assert_eq!(body["clearedLinks"], 1, "{body}");
    let (_, task) = api.get("/api/tasks/LOCAL-1").await;
    assert_eq!(task["task"]["linkedWorktreeId"], Value::Null);
}

async fn download(api: &Api, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(path)
        .header(header::HOST, format!("localhost:{PORT}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, bytes) = api.send(req).await;
    (status, headers, bytes.to_vec())
}

fn header_str<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn active_attachments_download_and_never_run_in_our_origin() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "Files" })).await;
    let page = b"<html><script>fetch('/api/config')</script></html>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (name, bytes, mime) in [
        ("evil.html", &page[..], "text/html"),
        ("evil.svg", &svg[..], "image/svg+xml"),
        ("notes.txt", &b"plain"[..], "text/plain"),
        ("evil.htm", &page[..], "text/html"),
    ] {
        let (status, body) = upload(&api, "LOCAL-1", name, bytes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, headers, served) =
            download(&api, &format!("/api/tasks/LOCAL-1/attachments/{name}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(served, bytes);
        assert_eq!(header_str(&headers, "content-type"), mime);
        assert_eq!(
            header_str(&headers, "content-disposition"),
            format!("attachment; filename=\"{name}\""),
            "{name} is a download"
        );
        assert_eq!(header_str(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header_str(&headers, "content-security-policy"), "sandbox");
    }
}

#[tokio::test]
async fn script_free_images_stay_inline_with_nosniff_and_a_sandbox() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "Images" })).await;
    for name in [
        "shot.png",
        "photo.jpg",
        "photo.JPEG",
        "anim.gif",
        "pic.webp",
        "pic.avif",
        "old.bmp",
        "favicon.ico",
    ] {
        let (status, body) = upload(&api, "LOCAL-1", name, b"\x89PNG...").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, headers, _) =
            download(&api, &format!("/api/tasks/LOCAL-1/attachments/{name}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            header_str(&headers, "content-type").starts_with("image/"),
            "{name}: {headers:?}"
        );
        assert_eq!(
            header_str(&headers, "content-disposition"),
            format!("inline; filename=\"{name}\"")
        );
        assert_eq!(header_str(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header_str(&headers, "content-security-policy"), "sandbox");
    }
}

#[tokio::test]
async fn attachment_names_lose_bidi_controls_and_are_quoted_and_encoded() {
    let api = Api::new();
    api.post("/api/tasks", json!({ "title": "Names" })).await;
    // Shown as "invoiceexe.png" by a bidi-aware renderer, but it is an .exe.
    let (status, body) = upload(&api, "LOCAL-1", "invoice\u{202E}gnp.exe", b"MZ").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["attachment"]["filename"], "invoicegnp.exe");
    let (_, task) = api.get("/api/tasks/LOCAL-1").await;
    let names: Vec<&str> = task["task"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["invoicegnp.exe"]);
    let stored: Vec<String> = std::fs::read_dir(
        api.repo
            .root()
            .join(".openkit/issues/local/LOCAL-1/attachments"),
    )
    .unwrap()
    .map(|e| e.unwrap().file_name().into_string().unwrap())
    .collect();
    assert_eq!(stored, ["invoicegnp.exe"]);
    assert!(!stored[0].contains('\u{202E}'));

    // A non-ASCII name: an ASCII fallback and the exact name per RFC 5987.
    let (status, body) = upload(&api, "LOCAL-1", "résumé final.png", b"img").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let name = body["attachment"]["filename"].as_str().unwrap().to_string();
    assert_eq!(name, "résumé final.png");
    let (status, headers, _) = download(
        &api,
        "/api/tasks/LOCAL-1/attachments/r%C3%A9sum%C3%A9%20final.png",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_str(&headers, "content-disposition"),
        "inline; filename=\"r_sum_ final.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.png"
    );
}

#[tokio::test]
async fn a_server_starting_after_a_crash_clears_leftovers_and_never_reuses_ids() {
    let repo = openkit_core::testing::TestRepo::new();
    let local = repo.root().join(".openkit/issues/local");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let leftover = |path: std::path::PathBuf, modified: Option<std::time::SystemTime>| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{\"id\": \"LOC").unwrap();
        if let Some(t) = modified {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        path
    };
    // LOCAL-7's creation was killed after allocating the id: only its temp file is there.
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join(".counter"), "6").unwrap();
    let stale = [
        leftover(local.join("LOCAL-7/.openkit-tmp-a1b2c3"), Some(old)),
        leftover(repo.root().join(".openkit/.openkit-tmp-d4e5f6"), Some(old)),
    ];
    let fresh = leftover(
        repo.root()
            .join(format!(".openkit/.openkit-tmp-{}-busy", std::process::id())),
        None,
    );

    let api = Api::with_repo(repo);
    for path in &stale {
        assert!(!path.exists(), "{} removed at start", path.display());
    }
    assert!(fresh.exists(), "a write in flight is left alone");
    assert!(!local.join("LOCAL-7").exists());
    let missing = api.get("/api/tasks/LOCAL-7").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "TASK_NOT_FOUND");
    let (_, list) = api.get("/api/tasks").await;
    assert_eq!(list["tasks"], json!([]));
    let (status, body) = api.post("/api/tasks", json!({ "title": "After" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["task"]["id"], "LOCAL-8", "LOCAL-7 stays used");
}
