use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Api, PORT};

fn request(method: Method, uri: &str, host: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(h) = host {
        b = b.header(header::HOST, h);
    }
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    b.body(Body::from("{\"branch\":\"x\"}")).unwrap()
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn foreign_hosts_are_refused() {
    let api = Api::new();
    for host in [
        "evil.example",
        "evil.example:4040",
        "localhost:9999",
        "127.0.0.1.nip.io:4040",
    ] {
        let (status, _, body) = api
            .send(request(Method::GET, "/api/worktrees", Some(host), None))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
        assert_eq!(code(&body), "FORBIDDEN_HOST");
    }
    for host in [
        format!("localhost:{PORT}"),
        format!("127.0.0.1:{PORT}"),
        format!("[::1]:{PORT}"),
    ] {
        let (status, _, _) = api
            .send(request(Method::GET, "/api/worktrees", Some(&host), None))
            .await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn foreign_origins_cannot_read_or_write() {
    let api = Api::new();
    let host = format!("localhost:{PORT}");
    for method in [Method::GET, Method::POST] {
        let (status, headers, body) = api
            .send(request(
                method.clone(),
                "/api/worktrees",
                Some(&host),
                Some("https://evil.example"),
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}");
        assert_eq!(code(&body), "FORBIDDEN_ORIGIN");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
    assert!(
        !api.repo.root().join(".openkit/worktrees/x").exists(),
        "the refused POST created nothing"
    );
}

#[tokio::test]
async fn our_own_origin_gets_cors_headers() {
    let api = Api::new();
    let host = format!("localhost:{PORT}");
    let origin = format!("http://localhost:{PORT}");
    let (status, headers, _) = api
        .send(request(
            Method::GET,
            "/api/worktrees",
            Some(&host),
            Some(&origin),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        origin.as_str()
    );

    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/worktrees")
        .header(header::HOST, &host)
        .header(header::ORIGIN, &origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = api.send(preflight).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("POST")
    );
}

#[tokio::test]
async fn unknown_routes_methods_and_oversize_bodies_get_the_envelope() {
    let api = Api::new();
    let host = format!("localhost:{PORT}");
    let (status, _, body) = api
        .send(request(
            Method::GET,
            "/api/does-not-exist",
            Some(&host),
            None,
        ))
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    let (status, _, body) = api
        .send(request(Method::PUT, "/api/worktrees", Some(&host), None))
        .await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
    );

    let huge = format!(
        "{{\"branch\":\"{}\"}}",
        "a".repeat(openkit_http::MAX_JSON_BODY + 10)
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/worktrees")
        .header(header::HOST, &host)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(huge))
        .unwrap();
    let (status, _, body) = api.send(req).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );

    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/worktrees")
        .header(header::HOST, &host)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let (status, _, body) = api.send(req).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_JSON")
    );
}

/// A request as a browser or a tool would send it: `headers` besides `Host`.
fn browser(method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, format!("localhost:{PORT}"));
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// Sends and returns the status and the envelope's code (empty when there is none).
async fn status_code(api: &Api, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = api.send(request).await;
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, code)
}

/// The ids of the local tasks.
async fn task_ids(api: &Api) -> Vec<String> {
    let (status, list) = api.get("/api/tasks").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The terminal session of scope `terminal` in worktree `term`, if any.
async fn terminal_session(api: &Api) -> Value {
    let (status, body) = api
        .get("/api/worktrees/term/terminals/active?scope=terminal")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sessionId"].clone()
}

/// The issue's probe: a cross-site form post (no `Origin`) of every content type a page
/// can send without a CORS preflight, to the terminal and task endpoints. None of them
/// may start a terminal or create a task.
#[tokio::test]
async fn simple_cross_site_posts_change_nothing() {
    let api = Api::new();
    api.create("feature/term").await;
    let marker = api.repo.root().join("csrf-marker");
    let command = json!({
        "scope": "terminal",
        "startupCommand": format!("touch {}", marker.display()),
    })
    .to_string();
    let task = json!({ "title": "planted" }).to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        for (uri, body) in [
            ("/api/worktrees/term/terminals", &command),
            ("/api/tasks", &task),
        ] {
            let mut headers = Vec::new();
            if let Some(content_type) = content_type {
                headers.push(("content-type", content_type));
            }
            // With and without the Referer a privacy tool strips: refused either way.
            for referer in [None, Some("https://evil.example/form.html")] {
                let mut headers = headers.clone();
                if let Some(referer) = referer {
                    headers.push(("referer", referer));
                }
                let (status, code) =
                    status_code(&api, browser(Method::POST, uri, &headers, body)).await;
                let expected = if referer.is_some() {
                    (StatusCode::FORBIDDEN, "FORBIDDEN_REFERER")
                } else {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
                };
                assert_eq!(
                    (status, code.as_str()),
                    expected,
                    "{uri} as {content_type:?}, referer {referer:?}"
                );
            }
        }
    }
    assert_eq!(
        terminal_session(&api).await,
        Value::Null,
        "no terminal started"
    );
    assert!(task_ids(&api).await.is_empty(), "no task created");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!marker.exists(), "no startup command ran");
}

#[tokio::test]
async fn browsers_saying_another_site_are_refused() {
    let api = Api::new();
    let ours = format!("http://localhost:{PORT}");
    let json = ("content-type", "application/json");
    let body = r#"{"title":"planted"}"#;
    for headers in [
        vec![json, ("sec-fetch-site", "cross-site")],
        vec![json, ("sec-fetch-site", "same-site")],
        vec![json, ("sec-fetch-site", "Cross-Site")],
    ] {
        let (status, code) =
            status_code(&api, browser(Method::POST, "/api/tasks", &headers, body)).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "FORBIDDEN_CROSS_SITE"),
            "{headers:?}"
        );
    }
    // A same-site page that is not ours (another local dev server).
    let headers = [
        json,
        ("sec-fetch-site", "same-site"),
        ("origin", "http://localhost:3000"),
    ];
    let (status, code) =
        status_code(&api, browser(Method::POST, "/api/tasks", &headers, body)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "FORBIDDEN_ORIGIN")
    );
    // Reads from another site are refused too (a navigation or an <img> of ours is not).
    let (status, code) = status_code(
        &api,
        browser(
            Method::GET,
            "/api/tasks",
            &[("sec-fetch-site", "cross-site")],
            "",
        ),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "FORBIDDEN_CROSS_SITE")
    );
    assert!(task_ids(&api).await.is_empty(), "no task created");

    // Our own pages: same-site with our Origin, same-origin, or a page of ours on another
    // site of ours (no Origin on an <img>, but our Referer).
    for headers in [
        vec![
            json,
            ("sec-fetch-site", "same-site"),
            ("origin", ours.as_str()),
        ],
        vec![
            json,
            ("sec-fetch-site", "same-origin"),
            ("origin", ours.as_str()),
        ],
        vec![json, ("sec-fetch-site", "none")],
    ] {
        let (status, code) =
            status_code(&api, browser(Method::POST, "/api/tasks", &headers, body)).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {code}");
    }
    let page = format!("{ours}/ui/tasks");
    let (status, _) = status_code(
        &api,
        browser(
            Method::GET,
            "/api/tasks",
            &[("sec-fetch-site", "same-site"), ("referer", &page)],
            "",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_foreign_referer_without_origin_is_refused_and_ours_is_not() {
    let api = Api::new();
    let json = ("content-type", "application/json");
    let body = r#"{"title":"planted"}"#;
    for referer in [
        "https://evil.example/",
        "http://localhost:3000/app",
        "http://localhost:4040.evil.example/",
        "http://user@localhost:4040/",
        "not a url",
    ] {
        let headers = [json, ("referer", referer)];
        let (status, code) =
            status_code(&api, browser(Method::POST, "/api/tasks", &headers, body)).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "FORBIDDEN_REFERER"),
            "{referer}"
        );
    }
    assert!(task_ids(&api).await.is_empty(), "no task created");

    for referer in [
        format!("http://localhost:{PORT}/"),
        format!("http://127.0.0.1:{PORT}/tasks?x=1"),
        format!("http://[::1]:{PORT}"),
    ] {
        let headers = [json, ("referer", referer.as_str())];
        let (status, code) =
            status_code(&api, browser(Method::POST, "/api/tasks", &headers, body)).await;
        assert_eq!(status, StatusCode::OK, "{referer}: {code}");
    }
    assert_eq!(task_ids(&api).await.len(), 3);
}

/// curl and the CLI send no Origin, Referer or Sec-Fetch-Site: JSON bodies (with
/// parameters, or a `+json` type) and empty bodies without a type keep working.
#[tokio::test]
async fn curl_like_clients_keep_working() {
    let api = Api::new();
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let headers = [("content-type", content_type)];
        let (status, code) = status_code(
            &api,
            browser(Method::POST, "/api/tasks", &headers, r#"{"title":"t"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {code}");
    }
    let headers = [("content-type", "application/merge-patch+json")];
    let (status, code) = status_code(
        &api,
        browser(
            Method::PATCH,
            "/api/local-config",
            &headers,
            r#"{"shortcuts":{"nav-worktrees":"meta+shift+w"}}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{code}");

    // An empty body needs no type: DELETE, and a POST whose body is optional.
    let ids = task_ids(&api).await;
    let (status, code) = status_code(
        &api,
        browser(Method::DELETE, &format!("/api/tasks/{}", ids[0]), &[], ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{code}");
    assert_eq!(task_ids(&api).await.len(), 2);
    api.create("feature/term").await;
    let (status, code) = status_code(
        &api,
        browser(Method::POST, "/api/worktrees/term/terminals", &[], ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{code}");
    // ... but a body that is only whitespace is a body.
    let (status, code) = status_code(
        &api,
        browser(Method::POST, "/api/worktrees/term/terminals", &[], " "),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
    );
    api.terminals.shutdown_all();
}

/// `{"title":"x"} xyz` is not a body: 400 with the envelope, and no task.
#[tokio::test]
async fn trailing_data_after_the_json_is_refused() {
    let api = Api::new();
    for body in [
        r#"{"title":"x"} xyz"#,
        r#"{"title":"x"}{"title":"y"}"#,
        r#"{"title":"x"}]"#,
        "{\"title\":\"x\"}\n\u{0}",
    ] {
        let (status, code) = status_code(
            &api,
            browser(
                Method::POST,
                "/api/tasks",
                &[("content-type", "application/json")],
                body,
            ),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "INVALID_JSON"),
            "{body:?}"
        );
    }
    assert!(task_ids(&api).await.is_empty(), "no task created");
    // Trailing whitespace is fine.
    let (status, _) = status_code(
        &api,
        browser(
            Method::POST,
            "/api/tasks",
            &[("content-type", "application/json")],
            "{\"title\":\"x\"} \r\n\t",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Every rejection of an upload uses the envelope: no boundary, a JSON type, a broken
/// body; a type a form can send cross-site without multipart is refused before routing.
#[tokio::test]
async fn upload_rejections_use_the_envelope() {
    let api = Api::new();
    let (status, task) = api.post("/api/tasks", json!({ "title": "t" })).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    let uri = format!(
        "/api/tasks/{}/attachments",
        task["task"]["id"].as_str().unwrap()
    );
    let part = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhi\r\n--b--\r\n";
    for (content_type, body, expected) in [
        (
            "multipart/form-data",
            part,
            (StatusCode::BAD_REQUEST, "INVALID_MULTIPART"),
        ),
        (
            "application/json",
            r#"{"file":"x"}"#,
            (StatusCode::BAD_REQUEST, "INVALID_MULTIPART"),
        ),
        (
            "multipart/form-data; boundary=other",
            part,
            (StatusCode::BAD_REQUEST, "INVALID_MULTIPART"),
        ),
        (
            "text/plain",
            part,
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
        ),
    ] {
        let request = browser(Method::POST, &uri, &[("content-type", content_type)], body);
        let (status, headers, bytes) = api.send(request).await;
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/json",
            "{content_type}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let envelope: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(envelope["success"], false, "{envelope}");
        assert_eq!(
            (status, envelope["code"].as_str().unwrap()),
            expected,
            "{content_type}: {envelope}"
        );
    }
    // Multipart is for uploads only: a JSON route refuses it.
    let request = browser(
        Method::POST,
        "/api/tasks",
        &[("content-type", "multipart/form-data; boundary=b")],
        part,
    );
    let (status, code) = status_code(&api, request).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
    );
}
