//! The embedded dashboard through the router: the page at `/`, its assets with their
//! types and caching, the single-page fallback, and `/api/*` left to the API.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::harness::{Api, PORT};

async fn fetch(api: &Api, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = api.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::HOST, format!("localhost:{PORT}"))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .unwrap()
}

/// The `./assets/...` URLs the page loads.
fn page_assets(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|s| s.starts_with("./assets/"))
        .map(|s| s[1..].to_string())
        .collect()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_its_security_headers() {
    let api = Api::new();
    let (status, headers, body) = fetch(&api, get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<div id=\"app\">"), "{html}");
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    let csp = header(&headers, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "connect-src 'self' ws://localhost:4040 wss://localhost:4040;",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("script-src 'self' 'unsafe"), "{csp}");

    // Revalidation: the same ETag answers 304 with no body.
    let etag = header(&headers, "etag").to_string();
    let (status, _, body) = fetch(
        &api,
        get("/")
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));

    // Every script and stylesheet the page names is served, typed and cached for good.
    let assets = page_assets(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "{assets:?}"
    );
    for asset in assets {
        let (status, headers, body) = fetch(&api, get(&asset).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty(), "{asset}");
        let expected = if asset.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(header(&headers, "content-type"), expected, "{asset}");
        assert_eq!(
            header(&headers, "cache-control"),
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn app_paths_fall_back_to_the_page_and_missing_files_do_not() {
    let api = Api::new();
    let (_, _, index) = fetch(&api, get("/").body(Body::empty()).unwrap()).await;
    let index = String::from_utf8(index).unwrap();

    // A top-level app path: the page as it is.
    let (status, headers, body) = fetch(&api, get("/tasks").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(String::from_utf8(body).unwrap(), index);

    // Deeper: the page with a <base> back to the root, so its relative URLs still work.
    let (status, _, body) = fetch(&api, get("/w/x/terminals").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<base href=\"../../\" />"), "{html}");

    // HEAD: the headers without the body.
    let (status, headers, body) = fetch(
        &api,
        Request::builder()
            .method(Method::HEAD)
            .uri("/")
            .header(header::HOST, format!("localhost:{PORT}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");

    // Something that looks like a file, or an unknown asset, is a 404 (not the page, which
    // a browser would then run as a script or stylesheet).
    for path in ["/favicon.ico", "/assets/nope-123.js", "/robots.txt"] {
        let (status, headers, body) = fetch(&api, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            "application/json",
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "NOT_FOUND", "{path}");
    }
}

#[tokio::test]
async fn api_paths_keep_their_json_errors() {
    let api = Api::new();
    for path in ["/api/nope", "/api", "/api/worktrees/x/nothing-here"] {
        let (status, headers, body) = fetch(&api, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            "application/json",
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        insta::allow_duplicates! {
            insta::assert_json_snapshot!(body, { ".error" => "[message]" }, @r#"
            {
              "success": false,
              "error": "[message]",
              "code": "NOT_FOUND"
            }
            "#);
        }
    }
    // Only GET and HEAD read the dashboard; anything else gets the envelope.
    let (status, _, body) = fetch(
        &api,
        Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(header::HOST, format!("localhost:{PORT}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn the_host_and_origin_checks_cover_the_dashboard() {
    let api = Api::new();
    // DNS rebinding: a page served to another host name is refused.
    let (status, _, body) = fetch(
        &api,
        Request::builder()
            .uri("/")
            .header(header::HOST, "evil.example:4040")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "FORBIDDEN_HOST");
    // A foreign page cannot load it either.
    let (status, _, _) = fetch(
        &api,
        get("/assets/x.js")
            .header(header::ORIGIN, "https://evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor a subresource fetch that the browser marks as cross-site.
    let cross_site = |mode: &str, dest: &str, path: &str| {
        get(path)
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", mode)
            .header("sec-fetch-dest", dest)
            .header(header::REFERER, "https://evil.example/")
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = fetch(&api, cross_site("no-cors", "script", "/")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = fetch(&api, cross_site("navigate", "document", "/api/worktrees")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "API reads stay same-site");
    // Following a link to the page from another site opens it (it is static and cannot
    // be framed); what it then fetches is checked as usual.
    let (status, headers, _) = fetch(&api, cross_site("navigate", "document", "/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let (status, _, _) = fetch(
        &api,
        Request::builder()
            .uri("/")
            .header(header::HOST, "evil.example")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the Host check still applies"
    );
}

/// `--ui-dir`: another UI's build is served instead of the dashboard, and nothing outside
/// its directory can be read through it.
#[tokio::test]
async fn a_ui_directory_is_served_instead_and_confined() {
    let api = Api::new();
    let root = tempfile::tempdir().unwrap();
    let ui = root.path().join("ui");
    std::fs::create_dir_all(ui.join("assets")).unwrap();
    std::fs::write(
        ui.join("index.html"),
        "<!doctype html><title>Original UI</title>",
    )
    .unwrap();
    std::fs::write(ui.join("assets/app.js"), "console.log('original')").unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(root.path().join("secret.txt"), ui.join("leak.txt")).unwrap();
    let state = openkit_http::AppState::new(
        std::sync::Arc::clone(&api.workbench),
        api.terminals.clone(),
        openkit_http::SecurityPolicy::for_port(PORT),
    )
    .with_ui_dir(ui.canonicalize().unwrap());
    let app = openkit_http::router(state);
    let fetch = |path: &str| {
        let app = app.clone();
        let request = get(path).body(Body::empty()).unwrap();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, headers, String::from_utf8_lossy(&body).into_owned())
        }
    };
    for path in ["/", "/worktrees/feature-x", "/index.html"] {
        let (status, headers, body) = fetch(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("Original UI"), "{path}: {body}");
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&headers, "cache-control"), "no-cache");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    }
    let (status, headers, body) = fetch("/assets/app.js").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "console.log('original')")
    );
    assert_eq!(
        header(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    // Missing files, escapes through `..` or a symlink: the JSON 404, never the file.
    for path in [
        "/assets/missing.js",
        "/leak.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
    ] {
        let (status, _, body) = fetch(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(!body.contains("outside"), "{path}");
    }
    // The API is still the API.
    let (status, _, body) = fetch("/api/instance").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let instance: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(instance["projectDir"], api.repo.root().to_str().unwrap());
    assert_eq!(instance["port"], PORT);
}
