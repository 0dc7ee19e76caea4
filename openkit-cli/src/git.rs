//! `openkit git diff|commit|push|pr`: an agent's (or a developer's) way to ship the work of
//! the worktree it stands in, through the running server, so the server's git policy
//! decides. When `OPENKIT_ACTOR=agent:<worktree-id>` is set (OpenKit exports it into the
//! terminal sessions it starts for agents) every request carries it as the
//! `X-OpenKit-Actor` header; without it the request is a human's.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use openkit_core::git::Actor;
use serde_json::{Value, json};

use crate::agent::worktree_of;
use crate::cli::GitCommand;
use crate::client::ServerClient;
use crate::commands::project_paths;

/// The environment variable that marks an agent's commands.
pub const ACTOR_ENV: &str = "OPENKIT_ACTOR";

/// The actor named by the value of `OPENKIT_ACTOR`: absent or empty is a human; anything
/// but `human` or `agent:<scope>` is refused rather than sent.
pub fn actor_from(value: Option<&str>) -> anyhow::Result<Option<Actor>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => Actor::parse(raw).map(Some).ok_or_else(|| {
            anyhow!("{ACTOR_ENV}={raw:?} is not \"human\" or \"agent:<worktree-id>\"")
        }),
    }
}

/// A worktree id as one URL path segment (ids are letters, digits, `-` and spaces).
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Sends a request; a failure says the server's sentence and its code.
fn call(
    client: &ServerClient,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let (status, value) = client.exchange(method, path, body)?;
    if !(200..300).contains(&status) {
        bail!(
            "{} ({})",
            value["error"].as_str().unwrap_or("request failed"),
            value["code"].as_str().unwrap_or("UNKNOWN")
        );
    }
    Ok(value)
}

fn status_letter(status: &str) -> &'static str {
    match status {
        "modified" => "M",
        "added" => "A",
        "deleted" => "D",
        "renamed" => "R",
        "untracked" => "?",
        _ => " ",
    }
}

/// `openkit git ...` in the worktree `cwd` is in (the main checkout, `root`, elsewhere).
pub fn run(cwd: &Path, actor: Option<&str>, cmd: GitCommand) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let worktree = worktree_of(&paths, cwd).unwrap_or_else(|| "root".into());
    let actor = actor_from(actor)?;
    let client = ServerClient::find(&paths)?.with_actor(actor.map(|a| a.to_string()));
    let base = format!("/api/worktrees/{}", segment(&worktree));
    match cmd {
        GitCommand::Diff { committed, json } => {
            let path = format!("{base}/diff?includeCommitted={committed}");
            let answer = call(&client, "GET", &path, None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
                return Ok(ExitCode::SUCCESS);
            }
            let files = answer["files"].as_array().cloned().unwrap_or_default();
            if files.is_empty() {
                println!("No changes in {worktree}");
            }
            for f in files {
                let counts = if f["isBinary"] == json!(true) {
                    "binary".to_string()
                } else {
                    format!("+{} -{}", f["linesAdded"], f["linesRemoved"])
                };
                let path = f["path"].as_str().unwrap_or_default();
                let name = match f["oldPath"].as_str() {
                    Some(old) => format!("{old} -> {path}"),
                    None => path.to_string(),
                };
                println!(
                    "{} {:>12}  {name}",
                    status_letter(f["status"].as_str().unwrap_or_default()),
                    counts
                );
            }
        }
        GitCommand::Commit { message } => {
            let answer = call(
                &client,
                "POST",
                &format!("{base}/commit"),
                Some(&json!({ "message": message })),
            )?;
            let commit = answer["commit"].as_str().unwrap_or_default();
            println!(
                "Committed {} on {}: {}",
                &commit[..commit.len().min(7)],
                answer["branch"].as_str().unwrap_or_default(),
                answer["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            );
        }
        GitCommand::Push => {
            let answer = call(&client, "POST", &format!("{base}/push"), Some(&json!({})))?;
            println!(
                "Pushed {} to {}{}",
                answer["branch"].as_str().unwrap_or_default(),
                answer["upstream"].as_str().unwrap_or_default(),
                if answer["setUpstream"] == json!(true) {
                    " (upstream set)"
                } else {
                    ""
                }
            );
        }
        GitCommand::Pr { title, body, draft } => {
            let answer = call(
                &client,
                "POST",
                &format!("{base}/create-pr"),
                Some(&json!({ "title": title, "body": body, "draft": draft })),
            )?;
            println!(
                "Opened pull request #{} ({}): {}",
                answer["number"],
                answer["state"].as_str().unwrap_or_default(),
                answer["url"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_actor_marker() {
        assert_eq!(actor_from(None).unwrap(), None);
        assert_eq!(actor_from(Some(" ")).unwrap(), None);
        assert_eq!(
            actor_from(Some("agent:LOCAL-1")).unwrap(),
            Some(Actor::Agent {
                scope: "LOCAL-1".into()
            })
        );
        assert!(actor_from(Some("agent:x\r\nX-Evil: 1")).is_err());
        assert!(actor_from(Some("root")).is_err());
    }

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(segment("LOCAL-1"), "LOCAL-1");
        assert_eq!(segment("my task"), "my%20task");
        assert_eq!(segment("a/b"), "a%2Fb");
    }
}
