//! `openkit __agent-hook <event> [payload]`: what an agent's hook runs (OpenKit sets the
//! hooks up when it launches the agent, see `openkit_core::attention::launch`). It tells
//! the server which state the agent's terminal session is in. It never fails the agent:
//! a problem is a line on stderr and exit code 0.

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::ServerClient;
use crate::commands::project_paths;

/// The longest message passed on (a Codex turn's last words can be long).
const MESSAGE_CHARS: usize = 500;

/// Runs the hook with the arguments after the subcommand.
pub fn run(args: impl Iterator<Item = OsString>) -> ExitCode {
    if let Err(e) = report(args) {
        eprintln!("openkit agent hook: {e:#}");
    }
    ExitCode::SUCCESS
}

fn report(mut args: impl Iterator<Item = OsString>) -> anyhow::Result<()> {
    let event = args
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow::anyhow!("usage: openkit __agent-hook <event> [payload]"))?;
    let session = std::env::var("OPENKIT_TERMINAL_ID")
        .map_err(|_| anyhow::anyhow!("not inside a terminal OpenKit started"))?;
    // Codex passes its notification as an argument; Claude Code its hook input on stdin.
    let payload = match args.next() {
        Some(arg) => serde_json::from_str(&arg.to_string_lossy()).ok(),
        None => hook_input(),
    };
    let message = payload.as_ref().and_then(message_of);
    let paths = project_paths(&std::env::current_dir()?)?;
    let client = ServerClient::find(&paths)?;
    client.send(
        "POST",
        &format!("/api/terminals/{session}/attention"),
        Some(&json!({ "event": event, "message": message })),
    )?;
    Ok(())
}

/// The JSON an agent pipes to its hook, if it pipes any (read for at most half a
/// second: a hook must not hang its agent).
fn hook_input() -> Option<Value> {
    if std::io::stdin().is_terminal() {
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::stdin().take(1 << 20).read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(Duration::from_millis(500)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What the agent says: Claude Code's notification `message`, or the last words of a
/// Codex turn (`last-assistant-message`), shortened.
fn message_of(payload: &Value) -> Option<String> {
    let text = payload
        .get("message")
        .or_else(|| payload.get("last-assistant-message"))?
        .as_str()?
        .trim();
    if text.is_empty() {
        return None;
    }
    let mut short: String = text.chars().take(MESSAGE_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    Some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_either_agent_and_are_shortened() {
        assert_eq!(
            message_of(
                &json!({ "hook_event_name": "Notification", "message": "Claude needs your permission to use Bash" })
            ),
            Some("Claude needs your permission to use Bash".into())
        );
        assert_eq!(
            message_of(
                &json!({ "type": "agent-turn-complete", "last-assistant-message": " Done. " })
            ),
            Some("Done.".into())
        );
        assert_eq!(message_of(&json!({ "message": "" })), None);
        assert_eq!(message_of(&json!({ "session_id": "x" })), None);
        let long = message_of(&json!({ "message": "é".repeat(600) })).unwrap();
        assert_eq!(long.chars().count(), MESSAGE_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
