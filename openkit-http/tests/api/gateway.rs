//! The remote gateway end to end: a real server with its gateway listener, a fake
//! `ngrok` on a temporary `PATH` printing ngrok's JSON log lines, and requests made the
//! way the tunnel delivers them (the public `Host`, `X-Forwarded-For`,
//! `X-Forwarded-Proto: https`).

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use futures_util::{SinkExt, StreamExt};
use openkit_core::testing::TestRepo;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A fake `ngrok`: records its arguments and pid, prints a JSON log with a URL numbered
/// by run (`https://fake-<n>.ngrok.app`) and waits.
const FAKE_NGROK: &str = r#"#!/bin/sh
echo "$@" > "$FAKE_DIR/args"
echo $$ > "$FAKE_DIR/pid"
n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FAKE_DIR/count"
echo '{"lvl":"info","msg":"open config file","path":"/nonexistent"}'
echo "{\"lvl\":\"info\",\"msg\":\"started tunnel\",\"obj\":\"tunnels\",\"addr\":\"http://localhost:$2\",\"url\":\"https://fake-$n.ngrok.app\"}"
exec sleep 600
"#;

struct Gw {
    repo: TestRepo,
    fake: tempfile::TempDir,
    _tools: tempfile::TempDir,
    api_port: u16,
    gateway_port: u16,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Gw {
    async fn start() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let repo = TestRepo::new();
        let fake = tempfile::tempdir().unwrap();
        let bin = fake.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("ngrok"), FAKE_NGROK).unwrap();
        std::fs::set_permissions(bin.join("ngrok"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let tools = crate::harness::tools_dir();
        let path = std::env::join_paths([bin, tools.path().to_path_buf()]).unwrap();
        let host = repo
            .host_env()
            .with_var("PATH", path)
            .with_var("FAKE_DIR", fake.path());
        let bound = openkit_http::Server::open(repo.paths(), host)
            .unwrap()
            .port(0)
            .gateway_port(Some(0))
            .write_server_file(false)
            .bind()
            .await
            .unwrap();
        let api_port = bound.local_addr().port();
        let gateway_port = bound.gateway_addr().unwrap().port();
        assert_ne!(api_port, gateway_port);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        Gw {
            repo,
            fake,
            _tools: tools,
            api_port,
            gateway_port,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _stop: stop,
        }
    }

    fn fake_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.fake.path().join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// A call to the API port (a local client), its answer validated against the
    /// OpenAPI document.
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.api_port);
        let mut request = self
            .client
            .request(method.clone(), url)
            .header("host", format!("localhost:{}", self.api_port));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        crate::openapi::check_response(&method, path, status, &headers, &bytes);
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A request to the gateway the way the tunnel delivers it: the public host, https,
    /// and the client's address appended to `X-Forwarded-For`.
    fn via_tunnel(
        &self,
        method: Method,
        path: &str,
        host: &str,
        client: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("http://127.0.0.1:{}{path}", self.gateway_port),
            )
            .header("host", host)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", client)
    }

    async fn pairing(&self, body: Value) -> Value {
        let (status, started) = self
            .api(Method::POST, "/api/ngrok/pairing/start", Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started
    }

    /// Pairs a browser: the cookie value of its new session.
    async fn pair_cookie(&self, scope: &str) -> String {
        let started = self.pairing(json!({ "scope": scope })).await;
        let (host, token) = split_pair_url(&started);
        let response = self
            .via_tunnel(
                Method::GET,
                &format!("/_ok/pair?token={token}"),
                &host,
                "203.0.113.5",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        cookie_of(response.headers())
    }
}

fn split_pair_url(started: &Value) -> (String, String) {
    let url = started["pairUrl"].as_str().unwrap();
    let rest = url.strip_prefix("https://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let token = path.strip_prefix("_ok/pair?token=").unwrap();
    (host.to_string(), token.to_string())
}

fn cookie_of(headers: &HeaderMap) -> String {
    let set = headers["set-cookie"].to_str().unwrap();
    let value = set.strip_prefix("ok_session=").unwrap();
    value.split(';').next().unwrap().to_string()
}

async fn json_of(response: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An oversized body is answered 413 `PAYLOAD_TOO_LARGE`, or, when the gateway answers
/// and closes while the client is still writing, the client sees its write fail: either
/// way the request never reached the API.
async fn refused_as_too_large(sent: Result<reqwest::Response, reqwest::Error>) {
    match sent {
        Ok(response) => {
            let (status, _, body) = json_of(response).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
                "{body}"
            );
        }
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_a_browser_through_the_tunnel_end_to_end() {
    let gw = Gw::start().await;
    let (status, body) = gw.api(Method::GET, "/api/ngrok/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tunnel"]["status"], "stopped");
    assert_eq!(body["tunnel"]["enabled"], false);
    let project = body["project"]["id"].as_str().unwrap().to_string();
    assert_eq!(project.len(), 12);
    assert_eq!(
        body["project"]["name"],
        gw.repo
            .paths()
            .project_root()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    );

    let started = gw
        .pairing(json!({ "next": "/#/w/root", "regenerateUrl": false }))
        .await;
    assert_eq!(
        started["gatewayApiBase"],
        format!("https://fake-1.ngrok.app/_ok/p/{project}")
    );
    assert_eq!(started["expiresIn"], 90);
    assert_eq!(started["scope"], "write");
    // The tunnel points at the gateway listener, never the API port.
    assert_eq!(
        gw.fake_file("args"),
        format!("http {} --log stdout --log-format json", gw.gateway_port)
    );
    let (_, status) = gw.api(Method::GET, "/api/ngrok/tunnel/status", None).await;
    assert_eq!(status["tunnel"]["status"], "running");
    assert_eq!(status["tunnel"]["publicUrl"], "https://fake-1.ngrok.app");
    assert_eq!(status["tunnel"]["localPort"], gw.gateway_port);

    let (host, token) = split_pair_url(&started);
    assert_eq!(host, "fake-1.ngrok.app");
    let pair = gw
        .via_tunnel(
            Method::GET,
            &format!("/_ok/pair?token={token}"),
            &host,
            "203.0.113.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pair.status(), StatusCode::FOUND);
    let headers = pair.headers().clone();
    assert_eq!(headers["location"], format!("/_ok/p/{project}/#/w/root"));
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Max-Age=28800",
        "Path=/",
    ] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    assert_eq!(headers["x-ratelimit-limit"], "10");
    assert_eq!(headers["x-ratelimit-remaining"], "9");
    let cookie = cookie_of(&headers);

    // Replayed: refused.
    let (status, _, body) = json_of(
        gw.via_tunnel(
            Method::GET,
            &format!("/_ok/pair?token={token}"),
            &host,
            "203.0.113.5",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "pair_invalid")
    );

    let with_cookie = |method: Method, path: &str| {
        gw.via_tunnel(method, path, &host, "203.0.113.5")
            .header("cookie", format!("ok_session={cookie}"))
    };
    let (status, _, me) = json_of(with_cookie(Method::GET, "/_ok/me").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["projectId"], project);
    assert_eq!(me["user"]["email"], Value::Null);
    assert!(me["user"]["id"].as_str().unwrap().starts_with("paired-"));

    // The project's page and its API, through the proxy.
    let page = with_cookie(Method::GET, &format!("/_ok/p/{project}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<div id=\"app\">"));
    // Its relative asset URLs resolve below the project's page, where they are served.
    let asset = html
        .split(['"', '\''])
        .find_map(|s| s.strip_prefix("./assets/"))
        .expect("the page names an asset");
    let script = with_cookie(Method::GET, &format!("/_ok/p/{project}/assets/{asset}"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    let (status, _, list) = json_of(
        with_cookie(Method::GET, &format!("/_ok/p/{project}/api/worktrees"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["worktrees"][0]["id"], "root");
    // A change through the proxy (write scope, JSON).
    let (status, _, task) = json_of(
        with_cookie(Method::POST, &format!("/_ok/p/{project}/api/tasks"))
            .header("content-type", "application/json")
            .header("origin", format!("https://{host}"))
            .body(json!({ "title": "from the phone" }).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{task}");

    // The sign-in is in the activity feed.
    let (_, activity) = gw.api(Method::GET, "/api/activity", None).await;
    let events = activity["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "gateway_login"),
        "{activity}"
    );

    // Listed; revoked, it stops working at once.
    let (_, sessions) = gw.api(Method::GET, "/api/ngrok/sessions", None).await;
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["client"], "203.0.113.5");
    assert_eq!(listed[0]["kind"], "cookie");
    let id = listed[0]["id"].as_str().unwrap();
    let (status, _) = gw
        .api(Method::DELETE, &format!("/api/ngrok/sessions/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) =
        json_of(with_cookie(Method::GET, "/_ok/me").send().await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, body) = gw
        .api(Method::DELETE, &format!("/api/ngrok/sessions/{id}"), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "session_not_found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_reach_nothing_outside_the_allowlist() {
    let gw = Gw::start().await;
    let cookie = gw.pair_cookie("admin").await;
    let host = "fake-1.ngrok.app";
    let project = gw.api(Method::GET, "/api/ngrok/status", None).await.1["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let send = |method: Method, path: &str, cookie: Option<&str>| {
        let mut request = gw.via_tunnel(method, path, host, "203.0.113.5");
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("ok_session={cookie}"));
        }
        request
    };
    // The raw API is not served by the gateway, with or without a session.
    for path in ["/api/worktrees", "/api/config", "/mcp", "/_ok/unknown"] {
        let (status, _, body) =
            json_of(send(Method::GET, path, Some(&cookie)).send().await.unwrap()).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "route_forbidden"),
            "{path}"
        );
    }
    // No session, or a forged, truncated or tampered one.
    let truncated = &cookie[..cookie.len() - 3];
    let mut tampered = cookie.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        None,
        Some(""),
        Some("v1.e30.AAAA"),
        Some(truncated),
        Some(tampered.as_str()),
        Some("garbage"),
    ] {
        let (status, _, body) = json_of(
            send(Method::GET, &format!("/_ok/p/{project}/api/worktrees"), bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{bad:?}"
        );
    }
    let (status, _, body) = json_of(
        gw.via_tunnel(
            Method::GET,
            &format!("/_ok/p/{project}/api/worktrees"),
            host,
            "1.2.3.4",
        )
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // Another project's path.
    let (status, _, body) = json_of(
        send(
            Method::GET,
            "/_ok/p/0123456789ab/api/worktrees",
            Some(&cookie),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "project_forbidden")
    );
    // Path tricks.
    for trick in [
        "api/mcp-servers",
        "api/open",
        "api/skills",
        "api/worktrees/../mcp-servers",
        "api/worktrees/%2e%2e/mcp-servers",
        "api/worktrees%2f..%2fmcp-servers",
        "api/worktrees/%5c..%5cmcp-servers",
        "api//worktrees",
        "http://evil.example/api/worktrees",
        "api/worktrees/%00",
    ] {
        let (status, _, body) = json_of(
            send(
                Method::GET,
                &format!("/_ok/p/{project}/{trick}"),
                Some(&cookie),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "route_forbidden"),
            "{trick}"
        );
    }
    // An absolute-form request target names no other host.
    let (status, _, body) = json_of(
        send(
            Method::GET,
            &format!("/_ok/p/{project}/api/worktrees?x=http://evil.example/"),
            Some(&cookie),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another Host (DNS rebinding, an old tunnel URL): refused.
    let (status, _, body) = json_of(
        gw.via_tunnel(Method::GET, "/_ok/health", "evil.example", "1.2.3.4")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "FORBIDDEN_HOST")
    );
    // A cross-site page cannot drive the proxy with the cookie.
    let (status, _, body) = json_of(
        send(
            Method::POST,
            &format!("/_ok/p/{project}/api/tasks"),
            Some(&cookie),
        )
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .body("{\"title\":\"csrf\"}")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "FORBIDDEN_ORIGIN")
    );
    // A form post (not JSON) is refused by the API's own checks behind the proxy.
    let (status, _, body) = json_of(
        send(
            Method::POST,
            &format!("/_ok/p/{project}/api/tasks"),
            Some(&cookie),
        )
        .header("content-type", "text/plain")
        .body("{\"title\":\"form\"}")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
    );
    // Oversized bodies: declared, and streamed without a length.
    let big = vec![b' '; 2 * 1024 * 1024];
    refused_as_too_large(
        send(
            Method::POST,
            &format!("/_ok/p/{project}/api/tasks"),
            Some(&cookie),
        )
        .header("content-type", "application/json")
        .header("connection", "close")
        .body(big.clone())
        .send()
        .await,
    )
    .await;
    let chunks = futures_util::stream::iter(
        big.chunks(64 * 1024)
            .map(|c| {
                Ok::<_, std::io::Error>(http_body::Frame::data(axum::body::Bytes::from(c.to_vec())))
            })
            .collect::<Vec<_>>(),
    );
    refused_as_too_large(
        send(
            Method::POST,
            &format!("/_ok/p/{project}/api/tasks"),
            Some(&cookie),
        )
        .header("content-type", "application/json")
        .header("connection", "close")
        .body(reqwest::Body::wrap(http_body_util::StreamBody::new(chunks)))
        .send()
        .await,
    )
    .await;
    // Open redirects in `next` become the project's page.
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/%2f%2fevil",
    ] {
        let started = gw.pairing(json!({ "next": next })).await;
        let (_, token) = split_pair_url(&started);
        let response = gw
            .via_tunnel(
                Method::GET,
                &format!("/_ok/pair?token={token}"),
                host,
                "203.0.113.6",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["location"],
            format!("/_ok/p/{project}/"),
            "{next}"
        );
    }
    let started = gw.pairing(json!({})).await;
    let (_, token) = split_pair_url(&started);
    let response = gw
        .via_tunnel(
            Method::GET,
            &format!("/_ok/pair?token={token}&next=https%3A%2F%2Fevil.example"),
            host,
            "203.0.113.6",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], format!("/_ok/p/{project}/"));
    // Logout ends the session and clears the cookie.
    let response = send(Method::POST, "/_ok/logout", Some(&cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _, _) = json_of(
        send(Method::GET, "/_ok/me", Some(&cookie))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_sessions_and_read_scope() {
    let gw = Gw::start().await;
    let started = gw.pairing(json!({ "scope": "read" })).await;
    let (host, token) = split_pair_url(&started);
    let project = started["project"]["id"].as_str().unwrap().to_string();
    let (status, headers, exchanged) = json_of(
        gw.via_tunnel(Method::POST, "/_ok/exchange", &host, "198.51.100.7")
            .header("content-type", "application/json")
            .body(json!({ "token": token }).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{exchanged}");
    assert_eq!(exchanged["expiresIn"], 900);
    assert_eq!(exchanged["scope"], "read");
    assert_eq!(exchanged["project"]["id"], project);
    assert!(headers.contains_key("x-ratelimit-remaining"));
    let jwt = exchanged["sessionJwt"].as_str().unwrap().to_string();
    let bearer = |method: Method, path: &str| {
        gw.via_tunnel(method, path, &host, "198.51.100.7")
            .header("authorization", format!("Bearer {jwt}"))
    };
    let (status, _, list) = json_of(
        bearer(Method::GET, &format!("/_ok/p/{project}/api/worktrees"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // A read session changes nothing.
    let (status, _, body) = json_of(
        bearer(Method::POST, &format!("/_ok/p/{project}/api/tasks"))
            .header("content-type", "application/json")
            .body("{\"title\":\"x\"}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "scope_forbidden")
    );
    // Nor does it manage the gateway (admin).
    let (status, _, body) = json_of(
        bearer(Method::GET, &format!("/_ok/p/{project}/api/ngrok/sessions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "scope_forbidden")
    );
    let (_, tasks) = gw.api(Method::GET, "/api/tasks", None).await;
    assert!(!tasks.to_string().contains("\"x\""), "{tasks}");

    // The API port's exchange (a local client).
    let started = gw.pairing(json!({})).await;
    let (_, token) = split_pair_url(&started);
    let (status, exchanged) = gw
        .api(
            Method::POST,
            "/api/ngrok/pairing/exchange",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{exchanged}");
    let (status, replay) = gw
        .api(
            Method::POST,
            "/api/ngrok/pairing/exchange",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(
        (status, code(&replay)),
        (StatusCode::BAD_REQUEST, "pair_invalid")
    );

    // Rotating the signing key logs everyone out.
    let (status, _) = gw
        .api(Method::POST, "/api/ngrok/sessions/rotate-key", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = json_of(bearer(Method::GET, "/_ok/me").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, sessions) = gw.api(Method::GET, "/api/ngrok/sessions", None).await;
    assert_eq!(sessions["sessions"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_and_terminal_socket_through_the_proxy() {
    let gw = Gw::start().await;
    let cookie = gw.pair_cookie("write").await;
    let host = "fake-1.ngrok.app";
    let project = gw.api(Method::GET, "/api/ngrok/status", None).await.1["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // SSE streams through.
    let mut events = gw
        .via_tunnel(
            Method::GET,
            &format!("/_ok/p/{project}/api/events"),
            host,
            "203.0.113.5",
        )
        .header("cookie", format!("ok_session={cookie}"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("\"type\":\"worktrees\"") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, events.chunk())
            .await
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(
            &chunk.expect("the stream goes on"),
        ));
    }

    // The terminal WebSocket through the proxy.
    let (status, session) = gw
        .api(
            Method::POST,
            "/api/worktrees/root/terminals",
            Some(json!({ "cols": 80, "rows": 24 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let id = session["sessionId"].as_str().unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/_ok/p/{project}/api/terminals/{id}/ws",
        gw.gateway_port
    );
    let mut request = url.as_str().into_client_request().unwrap();
    let h = request.headers_mut();
    h.insert("host", HeaderValue::from_static("fake-1.ngrok.app"));
    h.insert(
        "origin",
        HeaderValue::from_static("https://fake-1.ngrok.app"),
    );
    h.insert(
        "cookie",
        HeaderValue::from_str(&format!("ok_session={cookie}")).unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let restore: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(restore["type"], "restore");
    ws.send(Message::text("echo via-$((40+2))\n"))
        .await
        .unwrap();
    let mut out = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.contains("via-42") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => out.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(Message::Text(t)))) => out.push_str(&t),
            Ok(Some(Ok(_))) => {}
            other => panic!("no output ({other:?}): {out:?}"),
        }
    }
    ws.close(None).await.ok();

    // A read session cannot open a terminal socket, nor a page of another site.
    let read = gw.pair_cookie("read").await;
    for (cookie, origin) in [
        (&read, "https://fake-1.ngrok.app"),
        (&cookie, "https://evil.example"),
    ] {
        let mut request = url.as_str().into_client_request().unwrap();
        let h = request.headers_mut();
        h.insert("host", HeaderValue::from_static("fake-1.ngrok.app"));
        h.insert("origin", HeaderValue::from_str(origin).unwrap());
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("ok_session={cookie}")).unwrap(),
        );
        let refused = tokio_tungstenite::connect_async(request).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), StatusCode::FORBIDDEN);
            }
            other => panic!("expected 403, got {other:?}"),
        }
    }

    // Signing out ends the open event stream too.
    let logout = gw
        .via_tunnel(Method::POST, "/_ok/logout", host, "203.0.113.5")
        .header("cookie", format!("ok_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.chunk()).await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) | Ok(Err(_)) => break,
            Err(_) => panic!("the event stream outlived its session"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_attempts_are_rate_limited_per_tunnel_address() {
    let gw = Gw::start().await;
    let started = gw.pairing(json!({})).await;
    let (host, _) = split_pair_url(&started);
    let attempt = |forwarded: &str| {
        gw.via_tunnel(Method::GET, "/_ok/pair?token=guess", &host, forwarded)
            .send()
    };
    for n in 0..10 {
        // The client puts an address of its own first; the tunnel's hop is last.
        let (status, headers, body) =
            json_of(attempt(&format!("10.9.9.{n}, 198.51.100.1")).await.unwrap()).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "pair_invalid")
        );
        assert_eq!(headers["x-ratelimit-remaining"], (9 - n).to_string());
    }
    let (status, headers, body) = json_of(attempt("198.51.100.1").await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "pair_rate_limited")
    );
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    // Even a valid token is refused while limited.
    let (_, token) = split_pair_url(&gw.pairing(json!({})).await);
    let (status, _, _) = json_of(
        gw.via_tunnel(
            Method::GET,
            &format!("/_ok/pair?token={token}"),
            &host,
            "198.51.100.1",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address of the tunnel is not limited (and the token still works there).
    let (status, _, _) = json_of(
        gw.via_tunnel(
            Method::GET,
            &format!("/_ok/pair?token={token}"),
            &host,
            "198.51.100.2",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tunnel_dying_mid_session_is_reported_and_recovers() {
    let gw = Gw::start().await;
    let cookie = gw.pair_cookie("write").await;
    let pid = gw.fake_file("pid");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let (_, status) = gw.api(Method::GET, "/api/ngrok/status", None).await;
        if status["tunnel"]["status"] == "error" {
            break status;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["tunnel"]["enabled"], false);
    assert_eq!(status["tunnel"]["publicUrl"], Value::Null);
    assert!(
        status["tunnel"]["error"]
            .as_str()
            .unwrap()
            .contains("ngrok exited")
    );
    // The dead tunnel's host is no longer served.
    let (code_, _, _) = json_of(
        gw.via_tunnel(Method::GET, "/_ok/me", "fake-1.ngrok.app", "203.0.113.5")
            .header("cookie", format!("ok_session={cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code_, StatusCode::FORBIDDEN);
    // Enabling again mints a new URL, and the session still works there.
    let (status, enabled) = gw
        .api(
            Method::POST,
            "/api/ngrok/tunnel/enable",
            Some(json!({ "regenerateUrl": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["tunnel"]["publicUrl"], "https://fake-2.ngrok.app");
    let response = gw
        .via_tunnel(Method::GET, "/_ok/me", "fake-2.ngrok.app", "203.0.113.5")
        .header("cookie", format!("ok_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Disable stops it.
    let pid = gw.fake_file("pid");
    let (_, disabled) = gw
        .api(Method::POST, "/api/ngrok/tunnel/disable", None)
        .await;
    assert_eq!(disabled["tunnel"]["status"], "stopped");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.contains(") Z")
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ngrok_the_start_fails_with_the_reference_code() {
    let gw = Gw::start().await;
    std::fs::remove_file(gw.fake.path().join("bin/ngrok")).unwrap();
    let (status, body) = gw
        .api(Method::POST, "/api/ngrok/tunnel/enable", Some(json!({})))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "ngrok_start_failed")
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("ngrok was not found"),
        "{body}"
    );
    let (_, status) = gw.api(Method::GET, "/api/ngrok/status", None).await;
    assert_eq!(status["tunnel"]["status"], "error");
    let (status, body) = gw
        .api(Method::POST, "/api/ngrok/pairing/start", Some(json!({})))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::INTERNAL_SERVER_ERROR, "ngrok_start_failed")
    );
    // Health answers locally.
    let (status, _, health) = json_of(
        gw.client
            .get(format!("http://127.0.0.1:{}/_ok/health", gw.gateway_port))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health, json!({ "ok": true, "service": "openkit-gateway" }));
}

/// With the clock in hand: pairing tokens end after 90 s, bearer sessions after 15
/// minutes, cookie sessions after 8 hours, whatever their signature says.
#[tokio::test]
async fn expired_tokens_and_sessions_are_refused() {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use openkit_core::gateway::{Gateway, GatewaySettings, ManualClock, Scope, SessionKind};
    use tower::ServiceExt as _;

    let api = crate::harness::Api::new();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let gateway = Gateway::new(
        api.workbench.paths(),
        Arc::clone(&api.backbone) as _,
        Arc::clone(&clock) as _,
        GatewaySettings::default(),
    );
    let state = openkit_http::AppState::new(
        Arc::clone(&api.workbench),
        api.terminals.clone(),
        openkit_http::SecurityPolicy::for_port(crate::harness::PORT),
    )
    .with_gateway(gateway);
    let router = openkit_http::gateway::gateway_router(state.clone());
    let send = |request: Request<Body>| {
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let get = |path: &str, auth: Option<String>| {
        let mut builder = Request::builder().uri(path).header("host", "localhost");
        if let Some(auth) = auth {
            builder = builder.header("authorization", format!("Bearer {auth}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    let g = state.gateway();
    let (late, _) = g.start_pairing(Scope::Write, None);
    let bearer = g
        .redeem(
            &g.start_pairing(Scope::Write, None).0.token,
            SessionKind::Bearer,
            "a",
        )
        .unwrap();
    let cookie = g
        .redeem(
            &g.start_pairing(Scope::Write, None).0.token,
            SessionKind::Cookie,
            "b",
        )
        .unwrap();
    clock.advance(Duration::from_secs(91));
    let (status, body) = send(get(&format!("/_ok/pair?token={}", late.token), None)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "pair_invalid")
    );
    let (status, _) = send(get("/_ok/me", Some(bearer.token.clone()))).await;
    assert_eq!(status, StatusCode::OK);
    clock.advance(Duration::from_secs(15 * 60));
    let (status, body) = send(get("/_ok/me", Some(bearer.token.clone()))).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let cookie_request = |path: &str| {
        Request::builder()
            .uri(path)
            .header("host", "localhost")
            .header("cookie", format!("ok_session={}", cookie.token))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _) = send(cookie_request("/_ok/me")).await;
    assert_eq!(status, StatusCode::OK);
    clock.advance(Duration::from_secs(8 * 3600));
    let (status, body) = send(cookie_request("/_ok/me")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // An oversized exchange body is refused before it is read whole.
    let big = Request::builder()
        .method("POST")
        .uri("/_ok/exchange")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 64 * 1024]))
        .unwrap();
    let (status, body) = send(big).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
}
