//! `openkit mcp` through the real binary: an agent's MCP client talking JSON-RPC lines on
//! its stdin/stdout, started in a worktree of a running `openkit serve`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use crate::{Served, http, openkit};

/// An `openkit mcp` child and the lines it prints.
struct McpChild {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl McpChild {
    fn start(repo: &TestRepo, dir: &std::path::Path) -> Self {
        let mut child = openkit(repo, dir)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        McpChild {
            stdin: child.stdin.take(),
            child,
            lines,
            next_id: 0,
        }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (server notifications are skipped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("no answer to {method}: {e}"));
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC ({e}): {line}"));
            if message["id"] == id {
                return message;
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let answer = self.request(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        );
        assert!(answer.get("error").is_none(), "{tool}: {answer}");
        answer["result"].clone()
    }

    /// Closes stdin (the agent ends the session) and waits for a clean exit.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "openkit mcp exited with {status}");
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "openkit mcp did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for McpChild {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn an_agent_in_a_worktree_talks_mcp_over_stdio() {
    let repo = TestRepo::new();
    let mut server = Served::start(&repo);
    let port = server.port;
    for title in ["Add a login page", "Someone else's task"] {
        let (status, body) = http(port, "POST", "/api/tasks", Some(json!({ "title": title })));
        assert_eq!(status, 200, "{body}");
    }
    for task in ["LOCAL-1", "LOCAL-2"] {
        let (status, body) = http(
            port,
            "POST",
            &format!("/api/tasks/{task}/create-worktree"),
            Some(json!({})),
        );
        assert_eq!(status, 201, "{body}");
    }
    let (_, notes) = http(
        port,
        "POST",
        "/api/notes/local/LOCAL-1/todos",
        Some(json!({ "text": "Write the tests" })),
    );
    let todo = notes["todos"][0]["id"].as_str().unwrap().to_string();

    let worktree = repo.root().join(".openkit/worktrees/LOCAL-1");
    let mut mcp = McpChild::start(&repo, &worktree.join("."));
    let init = mcp.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "stdio-test", "version": "1" },
        }),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "openkit", "{init}");
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    mcp.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));

    let tools = mcp.request("tools/list", json!({}));
    let mut names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "await_input",
            "create_worktree_for_issue",
            "hook_results",
            "hook_run",
            "hook_steps",
            "list_worktrees",
            "report_hook_result",
            "report_phase",
            "task_context",
            "terminal_list",
            "terminal_read_screen",
            "terminal_send_input",
            "todo_check",
            "todos_list"
        ]
    );

    // Scoped to the worktree it started in: its own task without naming it.
    let context = mcp.call("task_context", json!({}));
    let markdown = context["content"][0]["text"].as_str().unwrap();
    assert!(
        markdown.starts_with("# LOCAL-1 — Add a login page"),
        "{markdown}"
    );
    assert!(markdown.contains(&todo));
    let checked = mcp.call("todo_check", json!({ "todo_id": todo }));
    assert_eq!(
        checked["structuredContent"]["todo"]["checked"], true,
        "{checked}"
    );
    let listed = mcp.call("list_worktrees", json!({}));
    let ids: Vec<&str> = listed["structuredContent"]["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["LOCAL-1"]);
    let phase = mcp.call("report_phase", json!({ "phase": "implementing" }));
    assert_eq!(phase["structuredContent"]["event"]["worktreeId"], "LOCAL-1");

    // Another worktree's task: refused as a tool error.
    let refused = mcp.call("todos_list", json!({ "worktree_id": "LOCAL-2" }));
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(refused["structuredContent"]["code"], "OUTSIDE_SCOPE");
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(
        message.contains("scoped to worktree \"LOCAL-1\""),
        "{message}"
    );
    let refused = mcp.call(
        "create_worktree_for_issue",
        json!({ "issue_id": "LOCAL-2" }),
    );
    assert_eq!(
        refused["structuredContent"]["code"], "OUTSIDE_SCOPE",
        "{refused}"
    );
    mcp.finish();

    // The server saw what the agent did.
    let (_, notes) = http(port, "GET", "/api/notes/local/LOCAL-1", None);
    assert_eq!(notes["todos"][0]["checked"], true);
    let (_, feed) = http(port, "GET", "/api/activity?category=agent", None);
    assert!(
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "agent_phase"
                && e["worktreeId"] == "LOCAL-1"
                && e["metadata"]["phase"] == "implementing"),
        "{feed}"
    );
    server.stop();

    // No server: a clear error on stderr, nothing on stdout.
    let offline = openkit(&repo, &worktree)
        .arg("mcp")
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert!(!offline.status.success());
    assert!(offline.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&offline.stderr);
    assert!(
        stderr.contains("no OpenKit server is running")
            || stderr.contains("is not running; start one with `openkit serve`"),
        "{stderr}"
    );
}

#[test]
fn an_agent_session_survives_a_server_restart() {
    let repo = TestRepo::new();
    let mut server = Served::start(&repo);
    let port = server.port;
    let mut mcp = McpChild::start(&repo, repo.root());
    let init = mcp.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "stdio-test", "version": "1" },
        }),
    );
    assert!(init.get("result").is_some(), "{init}");
    mcp.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    let listed = mcp.call("list_worktrees", json!({}));
    assert_eq!(listed["structuredContent"]["worktrees"][0]["id"], "root");

    // The server restarts (an upgrade) on the same port: the bridge opens a new session.
    server.stop();
    let mut server = Served::start_on(&repo, port);
    let listed = mcp.call("list_worktrees", json!({}));
    assert_eq!(
        listed["structuredContent"]["worktrees"][0]["id"], "root",
        "{listed}"
    );
    mcp.finish();
    server.stop();
}
