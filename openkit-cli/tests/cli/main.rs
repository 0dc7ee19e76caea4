//! End-to-end tests of the `openkit` binary in hermetic temporary repositories.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use openkit_core::testing::TestRepo;
use serde_json::Value;

mod attention;
mod containment;
mod dashboard;
mod gateway;
mod holder;
mod mcp;
mod trackers;

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

/// A minimal HTTP/1.1 client, enough to talk to the server without an HTTP crate.
fn http(port: u16, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    // Like curl and the CLI: a JSON body says so; an empty body declares no type.
    let content_type = body.is_some().then_some("application/json");
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    http_raw(port, method, path, content_type, &[], &payload)
}

/// Sends one request with an optional `Content-Type`, extra `headers` and a raw body.
fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    payload: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\n");
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

fn http_get(port: u16, path: &str) -> (u16, Value) {
    http(port, "GET", path, None)
}

/// A running `openkit serve` on a free port, stopped on drop.
struct Served {
    child: std::process::Child,
    port: u16,
}

impl Served {
    fn start(repo: &TestRepo) -> Served {
        Served::launch(repo, &[], &[], 0)
    }

    /// Like [`Served::start`], with extra environment variables for the server.
    fn start_with(repo: &TestRepo, env: &[(&str, &std::ffi::OsStr)]) -> Served {
        Served::launch(repo, env, &[], 0)
    }

    /// Like [`Served::start`], with extra arguments to `serve`.
    fn start_args(repo: &TestRepo, args: &[&str]) -> Served {
        Served::launch(repo, &[], args, 0)
    }

    /// A server on `port` (0: a free one).
    fn start_on(repo: &TestRepo, port: u16) -> Served {
        Served::launch(repo, &[], &[], port)
    }

    fn launch(
        repo: &TestRepo,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
        port: u16,
    ) -> Served {
        let child = openkit(repo, repo.root())
            .envs(env.iter().copied())
            .args(["serve", "--port", &port.to_string(), "--no-open"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server_file = repo.root().join(".openkit/server.json");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&server_file)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"] == child.id()
            {
                break v["url"]
                    .as_str()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
            }
            assert!(Instant::now() < deadline, "server.json never appeared");
            std::thread::sleep(Duration::from_millis(50));
        };
        Served { child, port }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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
    // The default work-on-task skill is linked for the agents.
    let skill =
        std::fs::read_to_string(repo.root().join(".claude/skills/work-on-task/SKILL.md")).unwrap();
    assert!(skill.contains("openkit task context"), "{skill}");
    assert!(
        repo.home()
            .join(".openkit/skills/work-on-task/SKILL.md")
            .is_file()
    );
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

#[test]
fn agents_read_their_task_and_report_back() {
    let repo = TestRepo::new();
    let mut server = Served::start(&repo);
    let port = server.port;
    let (status, _) = http(
        port,
        "POST",
        "/api/tasks",
        Some(serde_json::json!({
            "title": "Add a login page", "description": "Email and password.\nShow errors inline."
        })),
    );
    assert_eq!(status, 200);
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees",
        Some(serde_json::json!({ "branch": "LOCAL-1/login", "id": "LOCAL-1" })),
    );
    assert_eq!(status, 201, "{body}");
    http(
        port,
        "PUT",
        "/api/notes/local/LOCAL-1",
        Some(
            serde_json::json!({ "section": "aiContext", "content": "Reuse the form components." }),
        ),
    );
    let (_, notes) = http(
        port,
        "POST",
        "/api/notes/local/LOCAL-1/todos",
        Some(serde_json::json!({ "text": "Write the tests" })),
    );
    let todo = notes["todos"][0]["id"].as_str().unwrap().to_string();
    openkit_core::notes::NotesStore::new(repo.paths())
        .link(
            &openkit_core::issues::IssueRef::local("LOCAL-1").unwrap(),
            Some("LOCAL-1"),
        )
        .unwrap();
    std::fs::write(
        repo.root().join(".openkit/hooks.json"),
        serde_json::json!({ "steps": [
            { "id": "plan", "name": "Plan first", "kind": "prompt", "prompt": "Write a plan.", "trigger": "pre-implementation" },
            { "id": "test", "name": "Tests", "command": "cargo test" },
            { "id": "ui", "name": "Screenshots", "kind": "prompt", "prompt": "Attach screenshots.", "trigger": "custom", "conditionTitle": "the UI changed" },
            { "id": "off", "name": "Disabled", "command": "false", "enabled": false }
        ]}).to_string(),
    )
    .unwrap();

    let worktree = repo.root().join(".openkit/worktrees/LOCAL-1");
    let markdown = run_ok(openkit(&repo, &worktree).args(["task", "context"]));
    insta::assert_snapshot!(
        "task_context_markdown",
        markdown.replace(&todo, "[todo-id]")
    );
    let json_out = run_ok(openkit(&repo, &worktree.join(".")).args(["task", "context", "--json"]));
    let context: Value = serde_json::from_str(&json_out).unwrap();
    insta::assert_json_snapshot!("task_context_json", context, { ".todos[].id" => "[todo-id]", ".todos[].createdAt" => "[ts]" });
    let resolved = run_ok(openkit(&repo, &worktree).args(["task", "resolve"]));
    assert_eq!(resolved.trim(), "local LOCAL-1 (worktree LOCAL-1)");

    run_ok(openkit(&repo, &worktree).args(["activity", "todo", &todo]));
    let (_, notes) = http_get(port, "/api/notes/local/LOCAL-1");
    assert_eq!(notes["todos"][0]["checked"], true);
    run_ok(openkit(&repo, &worktree).args(["activity", "phase", "implementing"]));
    run_ok(openkit(&repo, &worktree).args(["activity", "await-input", "Which provider?"]));
    let flow = run_ok(openkit(&repo, &worktree).args(["activity", "check-flow"]));
    assert!(flow.contains("cargo test"), "{flow}");
    assert!(
        flow.starts_with("1 of 1 required hooks of worktree LOCAL-1 are not done"),
        "{flow}"
    );
    let reported = run_ok(openkit(&repo, &worktree).args([
        "activity",
        "hook-report",
        "--step",
        "test",
        "--summary",
        "ran it",
    ]));
    assert_eq!(reported.trim(), "Reported step test: passed");
    let flow = run_ok(openkit(&repo, &worktree).args(["activity", "check-flow", "--json"]));
    let flow: Value = serde_json::from_str(&flow).unwrap();
    assert_eq!(flow["complete"], true, "{flow}");
    let (_, feed) = http_get(port, "/api/activity?category=agent");
    let kinds: Vec<(&str, &str)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["worktreeId"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("agent_phase", "LOCAL-1"),
            ("agent_awaiting_input", "LOCAL-1"),
            ("agent_check_flow", "LOCAL-1"),
            ("agent_check_flow", "LOCAL-1")
        ]
    );

    let unknown = openkit(&repo, &worktree)
        .args(["activity", "todo", "no-such-todo"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Todo not found"));

    server.stop();
    let offline = openkit(&repo, &worktree)
        .args(["activity", "phase", "testing"])
        .output()
        .unwrap();
    assert!(!offline.status.success());
    assert!(
        String::from_utf8_lossy(&offline.stderr).contains("no OpenKit server is running"),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let outside = openkit(&repo, repo.root())
        .args(["task", "context"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&outside.stderr).contains("not inside a worktree"));
}

/// Through the real server (hyper's bodies, not a test router): a cross-site form post
/// without `Origin` changes nothing, while curl-like requests keep working, including
/// an empty-body DELETE without a content type.
#[test]
fn cross_site_form_posts_are_refused_by_the_real_server() {
    let repo = TestRepo::new();
    let server = Served::start(&repo);
    let port = server.port;
    let body = r#"{"title":"planted"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let (status, answer) = http_raw(port, "POST", "/api/tasks", content_type, &[], body);
        assert_eq!(status, 415, "{content_type:?}: {answer}");
        assert_eq!(answer["code"], "UNSUPPORTED_MEDIA_TYPE", "{answer}");
    }
    let referer = [("Referer", "https://evil.example/form.html")];
    let (status, answer) = http_raw(
        port,
        "POST",
        "/api/tasks",
        Some("application/json"),
        &referer,
        body,
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("FORBIDDEN_REFERER"))
    );
    let cross_site = [("Sec-Fetch-Site", "cross-site")];
    let (status, answer) = http_raw(
        port,
        "POST",
        "/api/tasks",
        Some("application/json"),
        &cross_site,
        body,
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("FORBIDDEN_CROSS_SITE"))
    );
    let (_, list) = http_get(port, "/api/tasks");
    assert_eq!(list["tasks"], serde_json::json!([]), "nothing was created");

    let (status, created) = http(
        port,
        "POST",
        "/api/tasks",
        Some(serde_json::json!({ "title": "t" })),
    );
    assert_eq!(status, 200, "{created}");
    let id = created["task"]["id"].as_str().unwrap();
    let (status, answer) = http_raw(port, "DELETE", &format!("/api/tasks/{id}"), None, &[], "");
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn git_commands_ship_the_worktree_and_carry_the_agent_marker() {
    let repo = TestRepo::builder().with_origin().build();
    let server = Served::start(&repo);
    let (status, body) = http(
        server.port,
        "POST",
        "/api/worktrees",
        Some(serde_json::json!({ "branch": "feature/cli-git", "id": "cli-git" })),
    );
    assert_eq!(status, 201, "{body}");
    let wt = repo.root().join(".openkit/worktrees/cli-git");
    std::fs::create_dir_all(wt.join("src")).unwrap();
    std::fs::write(wt.join("src/new.txt"), "a\nb\n").unwrap();

    let listed = run_ok(openkit(&repo, &wt.join("src")).args(["git", "diff"]));
    assert_eq!(listed.trim(), "?        +2 -0  src/new.txt");

    // An agent is held to the git policy (agent commits are off by default).
    let refused = openkit(&repo, &wt)
        .args(["git", "commit", "-m", "agent work"])
        .env("OPENKIT_ACTOR", "agent:cli-git")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("AGENT_GIT_POLICY_DENIED"), "{stderr}");
    let garbled = openkit(&repo, &wt)
        .args(["git", "push"])
        .env("OPENKIT_ACTOR", "robot")
        .output()
        .unwrap();
    assert!(!garbled.status.success());

    // Allowed by the local config, the agent commits; a human pushes.
    std::fs::write(
        repo.root().join(".openkit/config.local.json"),
        r#"{ "allowAgentCommits": true }"#,
    )
    .unwrap();
    let committed = run_ok(
        openkit(&repo, &wt)
            .args(["git", "commit", "-m", "agent work"])
            .env("OPENKIT_ACTOR", "agent:cli-git"),
    );
    assert!(
        committed.starts_with("Committed ") && committed.contains("on feature/cli-git: agent work"),
        "{committed}"
    );
    let pushed = run_ok(openkit(&repo, &wt).args(["git", "push"]));
    assert_eq!(
        pushed.trim(),
        "Pushed feature/cli-git to origin/feature/cli-git (upstream set)"
    );
    assert_eq!(
        repo.git_in(&wt, ["rev-parse", "--abbrev-ref", "@{u}"])
            .trim(),
        "origin/feature/cli-git"
    );
    let clean = run_ok(openkit(&repo, &wt).args(["git", "diff"]));
    assert_eq!(clean.trim(), "No changes in cli-git");

    // Pull requests: an agent is refused by its policy before GitHub is asked; a human's
    // reaches the code host, which says this origin (a local bare repository) is not on
    // GitHub.
    let pr = |agent: bool| {
        let mut cmd = openkit(&repo, &wt);
        cmd.args(["git", "pr", "--title", "CLI work"]);
        if agent {
            cmd.env("OPENKIT_ACTOR", "agent:cli-git");
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let refused = pr(true);
    assert!(refused.contains("AGENT_GIT_POLICY_DENIED"), "{refused}");
    let not_github = pr(false);
    assert!(
        not_github.contains("GITHUB_REMOTE_UNSUPPORTED"),
        "{not_github}"
    );
}

#[test]
fn a_ui_dir_without_an_index_is_refused_before_serving() {
    let repo = TestRepo::new();
    let empty = tempfile::tempdir().unwrap();
    for dir in [empty.path().to_path_buf(), empty.path().join("missing")] {
        let out = openkit(&repo, repo.root())
            .args(["serve", "--port", "0", "--no-open", "--ui-dir"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--ui-dir"), "{stderr}");
    }
    assert!(
        !repo.root().join(".openkit/server.json").exists(),
        "nothing was served"
    );
}
