//! `openkit serve` with its remote gateway: a fake ngrok named by `OPENKIT_NGROK_BIN`,
//! pairing through the gateway port with the tunnel's `Host`, and no ngrok left behind
//! when the server stops, even when it is killed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use super::{Served, http};

const FAKE_NGROK: &str = r#"#!/bin/sh
echo "$@" > "$FAKE_DIR/args"
echo $$ > "$FAKE_DIR/pid"
echo "token=$NGROK_AUTHTOKEN" > "$FAKE_DIR/env"
sleep 600 &
echo $! > "$FAKE_DIR/child"
echo '{"lvl":"info","msg":"started tunnel","obj":"tunnels","url":"https://cli-fake.ngrok.app"}'
wait
"#;

/// One request to the gateway as the tunnel delivers it: status, head and body.
fn via_tunnel(port: u16, path: &str, extra: &[(&str, &str)]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: cli-fake.ngrok.app\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n"
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (status, head.to_string(), body.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z')
}

fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ngrok = dir.path().join("my-ngrok");
        std::fs::write(&ngrok, FAKE_NGROK).unwrap();
        std::fs::set_permissions(&ngrok, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn serve(&self, repo: &TestRepo, gateway_port: u16) -> Served {
        let port = gateway_port.to_string();
        Served::launch(
            repo,
            &[
                (
                    "OPENKIT_NGROK_BIN",
                    self.dir.path().join("my-ngrok").as_os_str(),
                ),
                ("NGROK_AUTHTOKEN", "cli-configured-token".as_ref()),
                ("FAKE_DIR", self.dir.path().as_os_str()),
            ],
            &["--gateway-port", &port],
            0,
        )
    }
}

#[test]
fn serve_pairs_a_phone_through_its_gateway_and_leaves_no_tunnel_behind() {
    let repo = TestRepo::new();
    let fake = Fake::new();
    let gateway_port = free_port();
    let mut server = fake.serve(&repo, gateway_port);
    let (status, started) = http(
        server.port,
        "POST",
        "/api/ngrok/pairing/start",
        Some(json!({ "next": "/#/tasks" })),
    );
    assert_eq!(status, 200, "{started}");
    // The tunnel points at the gateway port with the configured authtoken.
    assert_eq!(
        fake.read("args"),
        format!("http {gateway_port} --log stdout --log-format json")
    );
    assert_eq!(fake.read("env"), "token=cli-configured-token");
    let pair_url = started["pairUrl"].as_str().unwrap();
    let path = pair_url.strip_prefix("https://cli-fake.ngrok.app").unwrap();
    let project = started["project"]["id"].as_str().unwrap().to_string();

    let (status, head, _) = via_tunnel(gateway_port, path, &[]);
    assert_eq!(status, 302, "{head}");
    assert!(
        head.contains(&format!("location: /_ok/p/{project}/#/tasks")),
        "{head}"
    );
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let (status, _, body) = via_tunnel(
        gateway_port,
        &format!("/_ok/p/{project}/api/worktrees"),
        &[("Cookie", &cookie)],
    );
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["worktrees"][0]["id"], "root");
    // The API itself is not reachable through the gateway.
    let (status, _, body) = via_tunnel(gateway_port, "/api/worktrees", &[("Cookie", &cookie)]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("route_forbidden"), "{body}");

    // Stopping the server stops ngrok and what it started.
    let (pid, child) = (fake.read("pid"), fake.read("child"));
    assert!(alive(&pid) && alive(&child));
    server.stop();
    until("ngrok ends with the server", || {
        !alive(&pid) && !alive(&child)
    });
}

#[test]
fn a_killed_server_takes_its_tunnel_with_it() {
    let repo = TestRepo::new();
    let fake = Fake::new();
    let server = fake.serve(&repo, free_port());
    let (status, body) = http(
        server.port,
        "POST",
        "/api/ngrok/tunnel/enable",
        Some(json!({})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tunnel"]["publicUrl"], "https://cli-fake.ngrok.app");
    let (pid, child) = (fake.read("pid"), fake.read("child"));
    assert!(alive(&pid) && alive(&child));
    // kill -9: no cleanup code runs in the server; the supervisor notices its parent die.
    let killed = std::process::Command::new("kill")
        .args(["-9", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    until("ngrok ends after the server's death", || {
        !alive(&pid) && !alive(&child)
    });
}
