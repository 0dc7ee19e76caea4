//! The web dashboard in a real headless Chromium, against the real `openkit serve`.
//!
//! Starts the binary on a hermetic repository, reads the URL it prints, and runs
//! `openkit-http/dashboard/e2e/dashboard.spec.mjs` (Node + playwright-core) against it.
//! The script asks for a server restart (to check that a lost connection is shown and
//! recovers by itself); this test stops the server and starts it again on the same port.
//! Jira is set up against the fake Jira first (one issue, `PROJ-7`), so the script can
//! start a worktree from that issue through the create dialog.
//! It fails, never skips, when Chromium or the dashboard's Node packages are missing.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use openkit_core::testing::TestRepo;
use openkit_integrations::testing_jira::{EMAIL, FakeJira, TOKEN};
use serde_json::json;

/// The whole browser run may take this long (Chromium start-up on a busy machine).
const BROWSER_DEADLINE: Duration = Duration::from_secs(240);

fn dashboard_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openkit-http/dashboard")
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("OPENKIT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "the dashboard browser test needs Chromium at {} (install it with \
         `apt-get install -y chromium`, or set OPENKIT_CHROMIUM to a Chromium/Chrome binary)",
        path.display()
    );
    path
}

/// `openkit serve` with its stdout read for the URL it prints.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(repo: &TestRepo, port: u16) -> Server {
        let mut child = super::openkit(repo, repo.root())
            .args(["serve", "--port", &port.to_string(), "--no-open"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting openkit serve");
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("openkit serve printed nothing within 30 s");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the first line openkit serve printed: {line}"))
            .to_string();
        assert!(
            line.contains("dashboard") || line.contains("serving"),
            "unexpected first line: {line}"
        );
        Server { child, url }
    }

    fn port(&self) -> u16 {
        self.url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url))
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends each line of `from` (prefixed) to `to`, on a thread.
fn forward_lines(
    from: impl std::io::Read + Send + 'static,
    prefix: &'static str,
    to: mpsc::Sender<String>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if to.send(format!("{prefix}{line}")).is_err() {
                break;
            }
        }
    });
}

/// A free port on 127.0.0.1 (bound, then released for the server).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let chromium = chromium();
    let dir = dashboard_dir();
    let script = dir.join("e2e/dashboard.spec.mjs");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "the dashboard's Node packages are missing: run `npm ci` in {} (cargo does it \
         when it builds the dashboard, unless OPENKIT_DASHBOARD_DIST is set)",
        dir.display()
    );
    // The fake Jira runs on this runtime's threads for the whole test.
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let jira = rt.block_on(FakeJira::start());
    jira.add_issue("PROJ-7", "Fix the login page");
    jira.add_issue("PROJ-8", "Write the release notes");
    let repo = TestRepo::new();
    let mut server = Server::start(&repo, free_port());
    let port = server.port();
    let (status, body) = super::http(
        port,
        "POST",
        "/api/jira/setup",
        Some(json!({"baseUrl": jira.url(), "email": EMAIL, "token": TOKEN})),
    );
    assert_eq!(status, 200, "setting up Jira: {body}");

    let mut node = Command::new("node");
    node.arg(&script)
        .arg(&server.url)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(repo.env())
        .env("OPENKIT_CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(shots) = std::env::var_os("OPENKIT_E2E_SCREENSHOTS") {
        node.env("OPENKIT_E2E_SCREENSHOTS", shots);
    }
    let mut node = node
        .spawn()
        .expect("running node (Node.js >= 20 is needed to build and test the dashboard)");
    let mut stdin = node.stdin.take().expect("piped stdin");
    let (tx, rx) = mpsc::channel();
    forward_lines(node.stdout.take().expect("piped stdout"), "", tx.clone());
    forward_lines(node.stderr.take().expect("piped stderr"), "stderr: ", tx);

    let deadline = Instant::now() + BROWSER_DEADLINE;
    let mut output = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) if line == "@@restart-server" => {
                server.stop();
                // Down for a moment, so the page notices.
                std::thread::sleep(Duration::from_millis(1500));
                server = Server::start(&repo, port);
                assert_eq!(
                    server.port(),
                    port,
                    "the restarted server took another port"
                );
                writeln!(stdin, "@@server-restarted").expect("answering the script");
                stdin.flush().expect("answering the script");
            }
            Ok(line) => {
                eprintln!("dashboard e2e: {line}");
                output.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = node.try_wait().expect("waiting for node") {
                    // Drain what is left.
                    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                        eprintln!("dashboard e2e: {line}");
                        output.push(line);
                    }
                    assert!(
                        status.success(),
                        "the browser test failed ({status}); its output is above:\n{}",
                        output.join("\n")
                    );
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = node.kill();
                    let _ = node.wait();
                    panic!(
                        "the browser test took longer than {BROWSER_DEADLINE:?}:\n{}",
                        output.join("\n")
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = node.wait().expect("waiting for node");
                assert!(
                    status.success(),
                    "the browser test failed ({status}); its output is above:\n{}",
                    output.join("\n")
                );
                break;
            }
        }
    }
    assert!(
        output
            .iter()
            .any(|l| l.contains("all dashboard checks passed")),
        "the script ended without finishing its checks:\n{}",
        output.join("\n")
    );
    server.stop();
}
