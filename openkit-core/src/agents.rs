//! Agent command-line tools (claude, codex, gemini, opencode): detection, installation,
//! and the native session history each keeps, for "resume" in a worktree.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::command::{Budget, CommandError, CommandRunner, CommandSpec};
use crate::error::{DomainError, ErrorKind};
use crate::open_targets::find_executable;
use crate::provision::INSTALL_CREDENTIALS;

/// An agent OpenKit can launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    /// Claude Code.
    Claude,
    /// OpenAI Codex CLI.
    Codex,
    /// Gemini CLI.
    Gemini,
    /// OpenCode.
    Opencode,
}

impl Agent {
    /// Every agent.
    pub const ALL: [Agent; 4] = [Agent::Claude, Agent::Codex, Agent::Gemini, Agent::Opencode];

    /// Parses an API name.
    pub fn parse(name: &str) -> Option<Self> {
        Agent::ALL.into_iter().find(|a| a.command() == name)
    }

    /// The command on PATH (also the API name).
    pub fn command(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
            Agent::Opencode => "opencode",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Agent::Claude => "Claude",
            Agent::Codex => "Codex",
            Agent::Gemini => "Gemini",
            Agent::Opencode => "OpenCode",
        }
    }

    /// The Homebrew formula or cask.
    pub fn brew_package(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini-cli",
            Agent::Opencode => "opencode",
        }
    }

    /// The npm package that provides the command.
    pub fn npm_package(self) -> &'static str {
        match self {
            Agent::Claude => "@anthropic-ai/claude-code",
            Agent::Codex => "@openai/codex",
            Agent::Gemini => "@google/gemini-cli",
            Agent::Opencode => "opencode-ai",
        }
    }
}

/// Where agent commands are looked for: `search_path` (usually `$PATH`) plus the usual
/// per-user install directories under `home`.
pub fn agent_search_path(search_path: &[PathBuf], home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = search_path.to_vec();
    if let Some(home) = home {
        for rel in [
            ".local/bin",
            ".npm-global/bin",
            ".bun/bin",
            ".volta/bin",
            ".claude/local",
            ".opencode/bin",
        ] {
            dirs.push(home.join(rel));
        }
    }
    dirs
}

/// The agent's executable, if installed.
pub fn find(agent: Agent, dirs: &[PathBuf]) -> Option<PathBuf> {
    find_executable(agent.command(), dirs)
}

/// How an agent can be installed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallPlan {
    /// The installer program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// Installation is not possible.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Neither npm nor Homebrew is available.
    #[error("Cannot install {0}: neither npm nor Homebrew was found on PATH")]
    NoInstaller(&'static str),
    /// The installer could not be run to completion (not startable, or timed out).
    #[error("Installing {label} failed: {source}")]
    Command {
        /// The agent.
        label: &'static str,
        /// Why.
        #[source]
        source: CommandError,
    },
    /// The installer failed.
    #[error("Installing {label} failed (exit {code}): {output}")]
    InstallFailed {
        /// The agent.
        label: &'static str,
        /// Exit code.
        code: String,
        /// The end of its output.
        output: String,
    },
}

impl DomainError for AgentError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidInput
    }
    fn code(&self) -> &'static str {
        match self {
            AgentError::NoInstaller(_) => "NO_INSTALLER",
            AgentError::InstallFailed { .. } | AgentError::Command { .. } => "INSTALL_FAILED",
        }
    }
}

/// npm (a global install of the agent's package) when present, else Homebrew.
pub fn install_plan(agent: Agent, dirs: &[PathBuf]) -> Result<InstallPlan, AgentError> {
    if let Some(npm) = find_executable("npm", dirs) {
        return Ok(InstallPlan {
            program: npm,
            args: vec!["install".into(), "-g".into(), agent.npm_package().into()],
        });
    }
    if let Some(brew) = find_executable("brew", dirs) {
        return Ok(InstallPlan {
            program: brew,
            args: vec!["install".into(), agent.brew_package().into()],
        });
    }
    Err(AgentError::NoInstaller(agent.label()))
}

/// How many lines of the installer's output an [`AgentError::InstallFailed`] keeps.
const FAILURE_TAIL_LINES: usize = 20;

/// Runs `plan` in `cwd` through `runner` (the long-command budget and its timeout; the
/// package registries' [`INSTALL_CREDENTIALS`] allowed). The runner records it in the
/// ops log.
pub async fn install(
    runner: &CommandRunner,
    agent: Agent,
    plan: &InstallPlan,
    cwd: &Path,
) -> Result<(), AgentError> {
    let spec = INSTALL_CREDENTIALS.iter().fold(
        CommandSpec::new(&plan.program, cwd)
            .args(&plan.args)
            .budget(Budget::Long),
        |spec, name| spec.allow_env(name),
    );
    let output = runner
        .run(spec)
        .await
        .map_err(|source| AgentError::Command {
            label: agent.label(),
            source,
        })?;
    if output.success() {
        return Ok(());
    }
    let stderr = output.stderr_text();
    let lines: Vec<&str> = stderr.lines().collect();
    Err(AgentError::InstallFailed {
        label: agent.label(),
        code: output.code().map_or("signal".into(), |c| c.to_string()),
        output: lines[lines.len().saturating_sub(FAILURE_TAIL_LINES)..].join("\n"),
    })
}

/// A past native session of an agent in one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMatch {
    /// The agent's own session id (for `--resume`).
    pub session_id: String,
    /// The first real user prompt, shortened.
    pub title: String,
    /// Last change of the session file (ISO-8601 UTC).
    pub updated_at: String,
    /// The first real user prompt, longer.
    pub preview: String,
}

/// True for prompts OpenKit or the agent itself sends, which say nothing about the session.
fn is_automated(prompt: &str) -> bool {
    let p = prompt.trim_start();
    p.is_empty()
        || p.starts_with('<')
        || p.contains("openkit task context")
        || p.starts_with("Caveat: The messages below were generated")
}

fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    }
}

/// Text of a message `content`: a string, or an array of `{type, text}` parts.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .filter(|p| matches!(p["type"].as_str(), Some("text" | "input_text")))
                .filter_map(|p| p["text"].as_str())
                .collect();
            (!text.is_empty()).then(|| text.join("\n"))
        }
        _ => None,
    }
}

/// What one session file says: its cwd, its id, its first real user prompt.
#[derive(Default)]
struct SessionScan {
    cwd: Option<String>,
    id: Option<String>,
    prompt: Option<String>,
}

/// Reads at most the first 400 lines of a JSONL session file.
fn scan(path: &Path, agent: Agent) -> SessionScan {
    let mut out = SessionScan::default();
    let Ok(file) = fs::File::open(path) else {
        return out;
    };
    for line in BufReader::new(file).lines().take(400).map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        match agent {
            Agent::Claude => {
                out.cwd = out.cwd.or_else(|| v["cwd"].as_str().map(str::to_string));
                out.id = out
                    .id
                    .or_else(|| v["sessionId"].as_str().map(str::to_string));
                if out.prompt.is_none() && v["type"] == "user" && v["message"]["role"] == "user" {
                    out.prompt =
                        content_text(&v["message"]["content"]).filter(|t| !is_automated(t));
                }
            }
            _ => {
                let payload = &v["payload"];
                if v["type"] == "session_meta" {
                    out.cwd = out
                        .cwd
                        .or_else(|| payload["cwd"].as_str().map(str::to_string));
                    out.id = out
                        .id
                        .or_else(|| payload["id"].as_str().map(str::to_string));
                }
                if out.prompt.is_none() && payload["type"] == "message" && payload["role"] == "user"
                {
                    out.prompt = content_text(&payload["content"]).filter(|t| !is_automated(t));
                }
            }
        }
        if out.cwd.is_some() && out.id.is_some() && out.prompt.is_some() {
            break;
        }
    }
    out
}

fn jsonl_files(root: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() && depth > 0 => jsonl_files(&path, depth - 1, out),
            Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "jsonl") => {
                out.push(path)
            }
            _ => {}
        }
    }
}

/// Native sessions of `agent` (Claude: `~/.claude/projects/**/*.jsonl`; Codex:
/// `~/.codex/sessions/**/*.jsonl`) whose recorded cwd is exactly `worktree`, newest
/// first. Other agents have no history here.
pub fn history(agent: Agent, home: &Path, worktree: &Path) -> Vec<HistoryMatch> {
    let (root, depth) = match agent {
        Agent::Claude => (home.join(".claude/projects"), 2),
        Agent::Codex => (home.join(".codex/sessions"), 4),
        _ => return Vec::new(),
    };
    let wanted = worktree.to_string_lossy();
    let mut files = Vec::new();
    jsonl_files(&root, depth, &mut files);
    let mut matches: Vec<(std::time::SystemTime, HistoryMatch)> = files
        .into_iter()
        .filter_map(|file| {
            let s = scan(&file, agent);
            if s.cwd.as_deref() != Some(wanted.as_ref()) {
                return None;
            }
            let modified = fs::metadata(&file).and_then(|m| m.modified()).ok()?;
            let prompt = s.prompt.unwrap_or_else(|| "OpenKit task session".into());
            let id =
                s.id.or_else(|| file.file_stem().map(|n| n.to_string_lossy().into_owned()))?;
            Some((
                modified,
                HistoryMatch {
                    session_id: id,
                    title: shorten(&prompt, 80),
                    updated_at: chrono::DateTime::<chrono::Utc>::from(modified)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    preview: shorten(&prompt, 240),
                },
            ))
        })
        .collect();
    matches.sort_by_key(|m| std::cmp::Reverse(m.0));
    matches.into_iter().map(|(_, m)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_bin(dir: &Path, name: &str) {
        let p = dir.join(name);
        fs::write(&p, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn detection_needs_the_executable_bit() {
        let bin = tempfile::tempdir().unwrap();
        fake_bin(bin.path(), "codex");
        fs::write(bin.path().join("claude"), "not executable").unwrap();
        let dirs = vec![bin.path().to_path_buf()];
        assert!(find(Agent::Codex, &dirs).is_some());
        assert!(find(Agent::Claude, &dirs).is_none());
        assert!(matches!(
            install_plan(Agent::Claude, &dirs),
            Err(AgentError::NoInstaller(_))
        ));
        fake_bin(bin.path(), "npm");
        let plan = install_plan(Agent::Claude, &dirs).unwrap();
        assert_eq!(plan.args, ["install", "-g", "@anthropic-ai/claude-code"]);
        assert_eq!(Agent::parse("vim"), None);
    }

    #[tokio::test]
    async fn install_runs_the_plan_through_the_runner() {
        use std::time::Duration;

        use crate::host::HostEnv;

        let bin = tempfile::tempdir().unwrap();
        let seen = bin.path().join("seen");
        let npm = bin.path().join("npm");
        fs::write(
            &npm,
            format!(
                "#!/bin/sh\necho \"$* ${{NPM_TOKEN:-none}} ${{OPENAI_API_KEY:-none}}\" > '{}'\n\
                 [ \"$3\" = opencode-ai ] || {{ echo 'E404 not found' >&2; exit 7; }}\n",
                seen.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&npm, fs::Permissions::from_mode(0o755)).unwrap();
        let runner = crate::command::CommandRunner::new(
            HostEnv::empty()
                .with_var("PATH", "/usr/bin:/bin")
                .with_var("NPM_TOKEN", "npm_private_registry")
                .with_var("OPENAI_API_KEY", "sk-not-for-installers"),
        );
        let dirs = vec![bin.path().to_path_buf()];
        let within = |fut| tokio::time::timeout(Duration::from_secs(30), fut);

        let plan = install_plan(Agent::Opencode, &dirs).unwrap();
        within(install(&runner, Agent::Opencode, &plan, bin.path()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            fs::read_to_string(&seen).unwrap().trim(),
            "install -g opencode-ai npm_private_registry none",
            "the registry token passes, other secrets do not"
        );

        let plan = install_plan(Agent::Codex, &dirs).unwrap();
        let err = within(install(&runner, Agent::Codex, &plan, bin.path()))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, AgentError::InstallFailed { code, output, .. } if code == "7" && output == "E404 not found"),
            "{err:?}"
        );
        assert_eq!(err.code(), "INSTALL_FAILED");
    }

    #[test]
    fn claude_and_codex_history_match_the_exact_worktree() {
        let home = tempfile::tempdir().unwrap();
        let wt = "/repo/.openkit/worktrees/LOCAL-1";
        let claude = home
            .path()
            .join(".claude/projects/-repo--openkit-worktrees-LOCAL-1");
        fs::create_dir_all(&claude).unwrap();
        let lines = [
            serde_json::json!({"type":"user","cwd": wt,"sessionId":"c-1","message":{"role":"user","content":"Run openkit task context to get task details, then implement"}}),
            serde_json::json!({"type":"user","cwd": wt,"sessionId":"c-1","message":{"role":"user","content":[{"type":"text","text":"continue with the latest description"}]}}),
        ];
        fs::write(
            claude.join("c-1.jsonl"),
            lines
                .iter()
                .map(|l| l.to_string() + "\n")
                .collect::<String>(),
        )
        .unwrap();
        fs::write(
            claude.join("other.jsonl"),
            serde_json::json!({"type":"user","cwd":"/repo/.openkit/worktrees/LOCAL-10","message":{"role":"user","content":"x"}}).to_string(),
        )
        .unwrap();
        let found = history(Agent::Claude, home.path(), Path::new(wt));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].session_id, "c-1");
        assert_eq!(found[0].title, "continue with the latest description");

        let codex = home.path().join(".codex/sessions/2026/03/05");
        fs::create_dir_all(&codex).unwrap();
        let lines = [
            serde_json::json!({"type":"session_meta","payload":{"id":"019cc1dd","cwd": wt}}),
            serde_json::json!({"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>cwd</environment_context>"}]}}),
            serde_json::json!({"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"fix the flaky test"}]}}),
        ];
        fs::write(
            codex.join("rollout-2026-03-05-019cc1dd.jsonl"),
            lines
                .iter()
                .map(|l| l.to_string() + "\n")
                .collect::<String>(),
        )
        .unwrap();
        let found = history(Agent::Codex, home.path(), Path::new(wt));
        assert_eq!(found[0].session_id, "019cc1dd");
        assert_eq!(found[0].preview, "fix the flaky test");
        assert!(history(Agent::Gemini, home.path(), Path::new(wt)).is_empty());
    }
}
