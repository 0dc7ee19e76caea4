//! Containment through the real binary (issue 18): nothing a dev server or terminal
//! starts outlives it, not even a `setsid` daemon with a scrubbed environment, and not
//! after a `kill -9` of the server.

use std::time::{Duration, Instant};

use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use super::{Served, http, http_get};

/// The pids of live processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted)
                && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A marker no other test (or process) uses: a `sleep` duration.
fn marker(n: u32) -> String {
    format!("{n}.{}", std::process::id())
}

fn worktree(port: u16, id: &str) -> Value {
    let (_, list) = http_get(port, "/api/worktrees");
    list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn create_worktree(port: u16, branch: &str, id: &str) {
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees",
        Some(json!({ "branch": branch })),
    );
    assert!(status < 300, "{body}");
    wait_until("the worktree is ready", || {
        let wt = worktree(port, id);
        !wt.is_null() && wt["status"] != "creating"
    });
}

fn kill_9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_daemonising_dev_server_ends_with_its_stop_and_with_a_killed_server() {
    let repo = TestRepo::new();
    let (daemon, main) = (marker(7001), marker(7003));
    let mut server = Served::start(&repo);
    let port = server.port;
    // Double-forked (its parent subshell exits at once), in a new session, with an empty
    // environment: nothing links it to the run but the supervisor that adopts it.
    let start = format!("(setsid env -i sleep {daemon} &); exec sleep {main}");
    let (status, body) = http(
        port,
        "POST",
        "/api/config/init",
        Some(json!({ "startCommand": start, "installCommand": "" })),
    );
    assert!(status < 300, "{body}");
    create_worktree(port, "feature/contain", "contain");

    // Stopped: the daemon (new session, empty environment) goes with its run.
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees/contain/start",
        Some(json!({})),
    );
    assert_eq!(status, 200, "{body}");
    wait_until("the daemon runs", || {
        processes(&["sleep", &daemon]).len() == 1
    });
    let record = repo.root().join(".openkit/runs/contain.json");
    assert!(record.exists(), "the run is recorded");
    let (status, body) = http(port, "POST", "/api/worktrees/contain/stop", Some(json!({})));
    assert_eq!(status, 200, "{body}");
    wait_until("the daemon is gone after stop", || {
        processes(&["sleep", &daemon]).is_empty()
    });
    wait_until("the record is gone", || !record.exists());

    // The server is killed: the run ends without it.
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees/contain/start",
        Some(json!({})),
    );
    assert_eq!(status, 200, "{body}");
    wait_until("the daemon runs again", || {
        processes(&["sleep", &daemon]).len() == 1
    });
    kill_9(server.child.id());
    let _ = server.child.wait();
    wait_until("the whole run is gone after kill -9", || {
        processes(&["sleep", &daemon]).is_empty() && processes(&["sleep", &main]).is_empty()
    });

    // The next server finds nothing running and no record left behind.
    let mut next = Served::start(&repo);
    assert_eq!(worktree(next.port, "contain")["status"], "stopped");
    assert!(
        !record.exists(),
        "the next server clears the dead run's record"
    );

    // A server that shuts down takes its runs with it.
    let (status, body) = http(
        next.port,
        "POST",
        "/api/worktrees/contain/start",
        Some(json!({})),
    );
    assert_eq!(status, 200, "{body}");
    wait_until("the daemon runs once more", || {
        processes(&["sleep", &daemon]).len() == 1
    });
    next.stop();
    wait_until("the whole run is gone after shutdown", || {
        processes(&["sleep", &daemon]).is_empty() && processes(&["sleep", &main]).is_empty()
    });
}

#[test]
fn a_terminal_grandchild_in_its_own_session_ends_with_the_terminal() {
    let repo = TestRepo::new();
    let escaped = marker(7002);
    let server = Served::start(&repo);
    let port = server.port;
    create_worktree(port, "feature/shell", "shell");
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees/shell/terminals",
        Some(json!({ "startupCommand": format!("(setsid sleep {escaped} &); exec sleep 300") })),
    );
    assert_eq!(status, 200, "{body}");
    let session = body["sessionId"].as_str().unwrap().to_string();
    wait_until("the grandchild runs", || {
        processes(&["sleep", &escaped]).len() == 1
    });
    let (status, body) = http(port, "DELETE", &format!("/api/terminals/{session}"), None);
    assert_eq!(status, 200, "{body}");
    wait_until("the grandchild is gone", || {
        processes(&["sleep", &escaped]).is_empty()
    });
    drop(server);
}
