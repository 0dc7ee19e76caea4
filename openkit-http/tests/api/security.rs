use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

use crate::harness::{Api, PORT};

fn request(method: Method, uri: &str, host: Option<&str>, origin: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
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
        .body(Body::from("{not json"))
        .unwrap();
    let (status, _, body) = api.send(req).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "INVALID_JSON")
    );
}
