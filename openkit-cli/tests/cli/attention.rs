//! Agents launched by the real server report their state through the hooks OpenKit sets
//! up (issue 17): a fake `claude` fires the hooks from the `--settings` it was
//! given, exactly as Claude Code runs command hooks (through a shell, hook input as JSON
//! on stdin).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use super::{Served, http, http_get};

/// A stand-in for Claude Code: prints a banner, fires `SessionStart`, then (after a
/// moment) a permission `Notification`, noting when it fired it, then waits.
const FAKE_CLAUDE: &str = r#"#!/usr/bin/env python3
import json, os, subprocess, sys, time
args = sys.argv[1:]
settings = json.loads(args[args.index("--settings") + 1])
def fire(event, payload):
    for group in settings["hooks"][event]:
        for hook in group["hooks"]:
            subprocess.run(hook["command"], shell=True, input=json.dumps(payload).encode(), check=True)
print("Claude Code (fake)", flush=True)
fire("SessionStart", {"hook_event_name": "SessionStart", "source": "startup"})
time.sleep(0.5)
with open(os.environ["FAKE_MARK"], "w") as mark:
    mark.write(str(time.time()))
fire("Notification", {"hook_event_name": "Notification", "notification_type": "permission_prompt",
                      "message": "Claude needs your permission to use Bash"})
time.sleep(300)
"#;

fn agent_sessions(port: u16, id: &str) -> Value {
    let (_, list) = http_get(port, "/api/worktrees");
    list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .map(|w| w["agentSessions"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn a_launched_claude_reports_that_it_waits_for_its_person() {
    let repo = TestRepo::new();
    let bin = repo.root().parent().unwrap().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(&claude, FAKE_CLAUDE).unwrap();
    std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mark = bin.join("fired-at");
    let server = Served::start_with(&repo, &[("FAKE_MARK", mark.as_os_str())]);
    let port = server.port;
    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees",
        Some(json!({ "branch": "feature/agent" })),
    );
    assert!(status < 300, "{body}");

    let (status, body) = http(
        port,
        "POST",
        "/api/worktrees/agent/terminals",
        // By path: a login shell sets its own PATH.
        Some(json!({ "scope": "claude", "startupCommand": claude.to_str().unwrap() })),
    );
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let sessions = agent_sessions(port, "agent");
        if sessions[0]["state"] == "waiting-for-input" {
            break sessions[0].clone();
        }
        assert!(Instant::now() < deadline, "never waiting: {sessions}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let seen_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let fired_at: f64 = std::fs::read_to_string(&mark)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eprintln!(
        "hook fired → state listed: {:.0} ms",
        (seen_at - fired_at) * 1000.0
    );
    assert_eq!(waiting["source"], "hook");
    assert_eq!(
        waiting["message"],
        "Claude needs your permission to use Bash"
    );

    // And the feed has it for notifications.
    let (_, feed) = http_get(port, "/api/activity?category=agent");
    let types: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"agent_awaiting_input"), "{feed}");
}
