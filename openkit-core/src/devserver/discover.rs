//! Port discovery and env-mapping detection.
//!
//! Discovery runs the start command in the project root, watches the listening ports of
//! its process tree, and stops as soon as the set has been non-empty and unchanged for a
//! short window (or at a cap), then kills the whole process group.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use super::run_group::{RUN_VAR, RunGroup};
use super::sockets::listening_ports;
use crate::provision::env_files;

/// How long the port set must stay the same before discovery ends.
pub const STABLE_WINDOW: Duration = Duration::from_millis(1500);
/// Longest discovery runs.
pub const DEFAULT_CAP: Duration = Duration::from_secs(30);

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// Listening ports, sorted.
    pub ports: Vec<u16>,
    /// The command's output.
    pub logs: Vec<String>,
    /// Why nothing was found, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs `command` in `cwd` until its port set is stable (or `cap`), then kills it.
pub async fn discover(command: &str, cwd: &Path, cap: Duration) -> Discovery {
    let tag = RunGroup::new_tag();
    // Not through `command::CommandRunner`: this is the project's dev server, run for as
    // long as its ports take to settle and then stopped, like the dev-server runner's own
    // runs: it gets the dev-server environment (its `OPENKIT_RUN` tag, the user's secrets
    // a dev server may need) and is torn down by `RunGroup`, tag included, not by a
    // timeout on a run to completion.
    let mut child = match tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env("FORCE_COLOR", "0")
        .env(RUN_VAR, &tag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Discovery {
                ports: Vec::new(),
                logs: Vec::new(),
                error: Some(format!("could not run `{command}`: {e}")),
            };
        }
    };
    // A pid of 0 would address our own process group.
    let Some(group) = child.id().and_then(|pid| RunGroup::new(pid, tag)) else {
        let _ = child.wait().await;
        return Discovery {
            ports: Vec::new(),
            logs: Vec::new(),
            error: Some(format!("`{command}` ended before it could be tracked")),
        };
    };
    let pid = group.pgid();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let readers = {
        let logs = Arc::clone(&logs);
        super::spawn_line_readers(&mut child, move |line| {
            let mut l = logs.lock().unwrap_or_else(|e| e.into_inner());
            if l.len() < 500 {
                l.push(line);
            }
        })
    };
    let started = Instant::now();
    let mut seen: BTreeSet<u16> = BTreeSet::new();
    let mut stable_since = Instant::now();
    let mut exited = false;
    while started.elapsed() < cap {
        let now: BTreeSet<u16> = tokio::task::spawn_blocking(move || listening_ports(pid))
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
        if now != seen {
            seen = now;
            stable_since = Instant::now();
        } else if !seen.is_empty() && stable_since.elapsed() >= STABLE_WINDOW {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    group.send(Signal::SIGTERM).await;
    let _ = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;
    group.kill_and_wait(Duration::from_secs(5)).await;
    let _ = child.wait().await;
    readers.drained(super::OUTPUT_DRAIN).await;
    let logs = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let error = seen.is_empty().then(|| {
        if exited {
            "the command exited without listening on any TCP port".to_string()
        } else {
            format!("no listening TCP port within {} s", cap.as_secs())
        }
    });
    Discovery {
        ports: seen.into_iter().collect(),
        logs,
        error,
    }
}

/// `envMapping` from the `.env*` files under `root`: every variable whose value mentions a
/// known port (as a whole number) becomes a template with `${port}` in its place.
pub fn detect_env_mapping(root: &Path, ports: &[u16]) -> BTreeMap<String, String> {
    let mut mapping = BTreeMap::new();
    for rel in env_files(root) {
        let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim().trim_matches(['"', '\'']));
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let templated = template_ports(value, ports);
            if templated != value {
                mapping.insert(key.to_string(), templated);
            }
        }
    }
    mapping
}

/// Replaces whole-number occurrences of `ports` in `value` with `${port}`.
fn template_ports(value: &str, ports: &[u16]) -> String {
    let mut out = String::with_capacity(value.len());
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
            let end = (i..bytes.len())
                .find(|&j| !bytes[j].is_ascii_digit())
                .unwrap_or(bytes.len());
            let number = &value[i..end];
            match number.parse::<u16>() {
                Ok(p) if ports.contains(&p) => out.push_str(&format!("${{{p}}}")),
                _ => out.push_str(number),
            }
            i = end;
        } else {
            let ch = value[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env.local"),
            "API_URL=http://localhost:3000/api\nOTHER=30001\n# PORT=3000\nexport WS=\"ws://127.0.0.1:3000\"\nNAME=x\n",
        )
        .unwrap();
        let mapping = detect_env_mapping(dir.path(), &[3000]);
        assert_eq!(
            mapping,
            BTreeMap::from([
                (
                    "API_URL".to_string(),
                    "http://localhost:${3000}/api".to_string()
                ),
                ("WS".to_string(), "ws://127.0.0.1:${3000}".to_string()),
            ])
        );
    }
}
