//! End-to-end tests of the `openkit` binary in hermetic temporary repositories.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use openkit_core::testing::TestRepo;
use serde_json::Value;

fn openkit(repo: &TestRepo, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openkit"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(repo.env())
        .stdin(Stdio::null());
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A minimal HTTP/1.1 GET, enough to talk to the server without an HTTP client crate.
fn http_get(port: u16, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn version_help_and_completions() {
    let repo = TestRepo::new();
    let out = run_ok(openkit(&repo, repo.root()).arg("--version"));
    assert_eq!(out.trim(), format!("openkit {}", env!("CARGO_PKG_VERSION")));
    let help = run_ok(openkit(&repo, repo.root()).arg("--help"));
    for cmd in ["serve", "init", "worktree", "completions"] {
        assert!(help.contains(cmd), "{help}");
    }
    let bash = run_ok(openkit(&repo, repo.root()).args(["completions", "bash"]));
    assert!(bash.contains("_openkit"), "{bash}");
}

#[test]
fn init_and_worktree_commands_work_without_a_server() {
    let repo = TestRepo::builder()
        .file("package.json", r#"{"scripts":{"dev":"node server.js"}}"#)
        .file("package-lock.json", "{}")
        .build();
    run_ok(openkit(&repo, repo.root()).args(["init", "--yes", "--install-command", ""]));
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.root().join(".openkit/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["startCommand"], "npm run dev");
    assert_eq!(config["installCommand"], "");
    let again = openkit(&repo, repo.root())
        .args(["init", "--yes"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("Config already exists"));

    let out = run_ok(openkit(&repo, repo.root()).args(["worktree", "create", "feature/cli-made"]));
    assert!(out.contains("Created worktree cli-made"), "{out}");
    // Commands work from inside a worktree too: the project is found by walking up.
    let inside = repo.root().join(".openkit/worktrees/cli-made");
    let list = run_ok(openkit(&repo, &inside).args(["worktree", "list", "--json"]));
    let list: Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["root", "cli-made"]);
    let table = run_ok(openkit(&repo, repo.root()).args(["worktree", "list"]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("cli-made") && l.contains("feature/cli-made")),
        "{table}"
    );

    let bad = openkit(&repo, repo.root())
        .args(["worktree", "remove", "nope"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Worktree \"nope\" not found"));
    run_ok(openkit(&repo, repo.root()).args(["worktree", "remove", "CLI-MADE"]));
    assert!(!inside.exists());

    // Direct commands are recorded in the logs, which the CLI reads without a server.
    let logs = run_ok(openkit(&repo, repo.root()).args([
        "logs",
        "--source",
        "git",
        "--search",
        "worktree add",
        "--json",
    ]));
    let logs: Value = serde_json::from_str(&logs).unwrap();
    assert_eq!(logs["events"][0]["command"]["exitCode"], 0, "{logs}");
    let table = run_ok(openkit(&repo, repo.root()).args(["activity", "--category", "worktree"]));
    assert!(table.contains("Worktree cli-made is ready"), "{table}");
    assert!(table.contains("Worktree cli-made removed"), "{table}");
    let bad = openkit(&repo, repo.root())
        .args(["logs", "--level", "loud"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown level"));
}

#[test]
fn outside_a_repository_the_error_is_clear() {
    let repo = TestRepo::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = openkit(&repo, elsewhere.path())
        .args(["worktree", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn serve_answers_writes_server_json_and_shuts_down_cleanly() {
    let repo = TestRepo::new();
    let mut child = openkit(&repo, repo.root())
        .args(["serve", "--port", "0", "--no-open"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let server_file = repo.root().join(".openkit/server.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    let record = loop {
        if let Ok(text) = std::fs::read_to_string(&server_file)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            break v;
        }
        assert!(Instant::now() < deadline, "server.json never appeared");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(record["pid"], child.id());
    let url = record["url"].as_str().unwrap();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(url, format!("http://localhost:{port}"));

    let (status, body) = http_get(port, "/api/worktrees");
    assert_eq!(status, 200);
    assert_eq!(body["worktrees"][0]["id"], "root");
    let (status, body) = http_get(port, "/api/worktrees/missing/logs");
    assert_eq!(status, 404);
    assert_eq!(body["code"], "WORKTREE_NOT_FOUND");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(!server_file.exists(), "server.json is removed on shutdown");
}
