//! Launching an agent with OpenKit's hooks, so it reports its own state.
//!
//! - **Claude Code** reads extra settings from `--settings <file-or-json>` and merges
//!   them with the user's; OpenKit passes hooks for `SessionStart` (ready: idle),
//!   `UserPromptSubmit` and `PostToolUse` (working), `Notification` of a permission prompt
//!   or a question (`permission_prompt|elicitation_dialog`: waiting for input) and `Stop`
//!   (finished). Each runs `<openkit> __agent-hook <event>`, which receives the hook's
//!   JSON on stdin.
//! - **Codex** runs a notify program after every turn (`notify = [...]` in its config,
//!   set for one run with `-c`), passing a JSON payload as the last argument:
//!   `<openkit> __agent-hook finished <payload>`.
//! - Gemini CLI and OpenCode are launched as they are; their state is read off the
//!   screen.
//!
//! The hooked command is only built when the startup command's first word runs that
//! agent; anything else (a wrapper script, an alias) is left alone.

use std::path::Path;

use serde_json::json;

/// The hidden subcommand an agent's hook runs.
pub const AGENT_HOOK_SUBCOMMAND: &str = "__agent-hook";

/// `command`, the startup command line of an `agent` session, with OpenKit's hooks added
/// (`program` is the `openkit` executable the hooks call back into). Unchanged when the
/// agent has no hooks OpenKit sets up or the command does not start with it.
pub fn with_hooks(agent: &str, command: &str, program: &Path) -> String {
    let trimmed = command.trim_start();
    let (first, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""));
    let runs = |name: &str| first == name || first.ends_with(&format!("/{name}"));
    let program = program.to_string_lossy();
    let hook = |event: &str| format!("{} {AGENT_HOOK_SUBCOMMAND} {event}", shell_quote(&program));
    let extra = match agent {
        "claude" if runs("claude") => {
            let entry =
                |event: &str| json!([{ "hooks": [{ "type": "command", "command": hook(event) }] }]);
            let settings = json!({
                "hooks": {
                    "SessionStart": entry("idle"),
                    "UserPromptSubmit": entry("working"),
                    "PostToolUse": [{ "matcher": "*", "hooks": [{ "type": "command", "command": hook("working") }] }],
                    "Notification": [{
                        "matcher": "permission_prompt|elicitation_dialog",
                        "hooks": [{ "type": "command", "command": hook("waiting-for-input") }],
                    }],
                    "Stop": entry("finished"),
                }
            });
            format!("--settings {}", shell_quote(&settings.to_string()))
        }
        "codex" if runs("codex") => {
            let toml_string =
                |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
            let notify = format!(
                "notify=[{}, {}, {}]",
                toml_string(&program),
                toml_string(AGENT_HOOK_SUBCOMMAND),
                toml_string("finished")
            );
            format!("-c {}", shell_quote(&notify))
        }
        _ => return command.to_string(),
    };
    if rest.is_empty() {
        format!("{first} {extra}")
    } else {
        format!("{first} {extra} {rest}")
    }
}

/// `s` as one POSIX shell word.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a command line the way `sh` would (enough for what `with_hooks` produces).
    fn sh_words(line: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("for w in {line}; do printf '%s\\0' \"$w\"; done"),
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn claude_gets_settings_with_every_hook_after_its_name() {
        let program = Path::new("/opt/open kit/openkit");
        let line = with_hooks("claude", "claude --model opus", program);
        let words = sh_words(&line);
        assert_eq!(words[0], "claude");
        assert_eq!(words[1], "--settings");
        assert_eq!(&words[3..], ["--model", "opus"]);
        let settings: serde_json::Value = serde_json::from_str(&words[2]).unwrap();
        let command = |event: &str| settings["hooks"][event][0]["hooks"][0]["command"].clone();
        assert_eq!(
            command("Stop"),
            "'/opt/open kit/openkit' __agent-hook finished"
        );
        assert_eq!(
            command("UserPromptSubmit"),
            "'/opt/open kit/openkit' __agent-hook working"
        );
        assert_eq!(
            settings["hooks"]["Notification"][0]["matcher"],
            "permission_prompt|elicitation_dialog"
        );
        // The hook command itself is a valid shell line naming the program.
        let hook = command("Notification").as_str().unwrap().to_string();
        assert_eq!(
            sh_words(&hook),
            ["/opt/open kit/openkit", "__agent-hook", "waiting-for-input"]
        );
    }

    #[test]
    fn codex_gets_a_notify_program() {
        let line = with_hooks("codex", "/usr/bin/codex", Path::new("/bin/ok\"x"));
        let words = sh_words(&line);
        assert_eq!(
            words,
            [
                "/usr/bin/codex",
                "-c",
                r#"notify=["/bin/ok\"x", "__agent-hook", "finished"]"#
            ]
        );
    }

    #[test]
    fn other_commands_and_agents_are_left_alone() {
        let program = Path::new("/bin/openkit");
        for (agent, command) in [
            ("claude", "my-claude-wrapper --x"),
            ("claude", "npx claude"),
            ("gemini", "gemini"),
            ("opencode", "opencode"),
            ("codex", "claude"),
        ] {
            assert_eq!(with_hooks(agent, command, program), command);
        }
    }

    #[test]
    fn shell_quoting_round_trips() {
        for s in ["plain", "", "a b", "it's", "$HOME", "a'b\"c\\d", "*"] {
            assert_eq!(
                sh_words(&format!("x {}", shell_quote(s)))[1..],
                [s.to_string()][..(!s.is_empty()) as usize],
                "{s:?}"
            );
        }
    }
}
