//! Which host variables a child process gets: the scrub policy, written as data.
//!
//! A child starts from an empty environment and receives the host's variables except
//!
//! - **secrets**: names that look like credentials ([`SECRET_SUFFIXES`],
//!   [`SECRET_WORDS`], [`SECRET_NAMES`]). Git, editors and installers do not need the
//!   user's `GITHUB_TOKEN` or `OPENAI_API_KEY`; a command that does (an agent install
//!   behind a private npm registry, a future `gh` call) names each one it needs with
//!   [`CommandSpec::allow_env`](super::CommandSpec::allow_env);
//! - **context**: variables that would point a child at the wrong place ([`CONTEXT_NAMES`]:
//!   `GIT_DIR` and friends inherited from a git hook, a dev-server run tag). OpenKit always
//!   gives the working directory explicitly.
//!
//! [`ALWAYS_KEPT`] and [`KEPT_PREFIXES`] name what git, ssh and package managers need;
//! they win over the secret rules so a future rule cannot break them by accident.

use std::ffi::{OsStr, OsString};

/// Name endings (case-insensitive) that mark a credential: `GITHUB_TOKEN`,
/// `NGROK_AUTHTOKEN`, `CLIENT_SECRET`, `PGPASSWORD`, `OPENAI_API_KEY`, `GITHUB_PAT`, ...
pub const SECRET_SUFFIXES: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "_KEY",
    "APIKEY",
    "CREDENTIALS",
    "_JWT",
    "_PAT",
];

/// `_`-separated words (case-insensitive) that mark a credential anywhere in a name:
/// `AWS_SECRET_ACCESS_KEY_ID`, `GITHUB_TOKEN_2`, `SECRET_KEY_BASE`.
pub const SECRET_WORDS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS"];

/// Credentials whose names the rules above do not reveal.
pub const SECRET_NAMES: &[&str] = &[
    "DOCKER_AUTH_CONFIG",
    "NPM_CONFIG__AUTH",
    "NPM_CONFIG__AUTHTOKEN",
    "AWS_ACCESS_KEY_ID",
];

/// Well-known credentials, scrubbed by name even where the environment cannot be listed
/// (the legacy inheriting runner). Each one is also caught by the rules above.
pub const WELL_KNOWN_SECRETS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    "NGROK_AUTHTOKEN",
    "HF_TOKEN",
    "JIRA_API_TOKEN",
    "LINEAR_API_KEY",
    "SLACK_BOT_TOKEN",
    "HOMEBREW_GITHUB_API_KEY",
    "OPENKIT_TOKEN",
    "OPENKIT_API_KEY",
    "OPENKIT_GATEWAY_PASSWORD",
    "DOCKER_AUTH_CONFIG",
];

/// Variables that point a child at a repository, checkout or run other than the one
/// OpenKit chose (inherited when the server is started from a git hook or a dev server).
pub const CONTEXT_NAMES: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    crate::devserver::RUN_VAR,
];

/// Variables every child keeps whatever the rules above say: what git, ssh, shells and
/// package managers need to find programs, configuration, credential helpers and agents.
pub const ALWAYS_KEPT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TMPDIR",
    "TZ",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "SSH_ASKPASS",
    "SSH_ASKPASS_REQUIRE",
    "GIT_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_TERMINAL_PROMPT",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "GNUPGHOME",
    "GPG_TTY",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
];

/// Name prefixes every child keeps: git's configuration-by-environment
/// (`GIT_CONFIG_GLOBAL`, `GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_<n>`, ...) and the locale.
pub const KEPT_PREFIXES: &[&str] = &["GIT_CONFIG", "LC_"];

/// What the policy does with one host variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed to the child.
    Keep,
    /// A credential: dropped unless the command allows it by name.
    Secret,
    /// Points at the wrong repository or run: dropped unless allowed by name.
    Context,
}

/// Classifies a variable name (case-insensitively).
pub fn classify(name: &OsStr) -> Verdict {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    let upper = upper.as_str();
    if ALWAYS_KEPT.contains(&upper) || KEPT_PREFIXES.iter().any(|p| upper.starts_with(p)) {
        return Verdict::Keep;
    }
    if CONTEXT_NAMES.contains(&upper) {
        return Verdict::Context;
    }
    if SECRET_NAMES.contains(&upper)
        || SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s))
        || upper.split('_').any(|word| SECRET_WORDS.contains(&word))
    {
        return Verdict::Secret;
    }
    Verdict::Keep
}

/// True when a variable looks like a credential.
pub fn is_secret(name: &OsStr) -> bool {
    classify(name) == Verdict::Secret
}

/// True when a host variable named `name` reaches a child that allows `allowed`.
pub fn passes(name: &OsStr, allowed: &[OsString]) -> bool {
    allowed.iter().any(|a| a == name) || classify(name) == Verdict::Keep
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn verdict(name: &str) -> Verdict {
        classify(OsStr::new(name))
    }

    #[test]
    fn credentials_are_secrets() {
        for name in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "NPM_TOKEN",
            "NGROK_AUTHTOKEN",
            "OPENKIT_GATEWAY_PASSWORD",
            "PGPASSWORD",
            "AZURE_CLIENT_SECRET",
            "SECRET_KEY_BASE",
            "GITHUB_TOKEN_2",
            "GITHUB_PAT",
            "CI_JOB_JWT",
            "STRIPE_KEY",
            "github_token",
            "DOCKER_AUTH_CONFIG",
        ] {
            assert_eq!(verdict(name), Verdict::Secret, "{name}");
        }
    }

    #[test]
    fn what_git_and_tools_need_is_kept() {
        for name in [
            "PATH",
            "HOME",
            "SSH_AUTH_SOCK",
            "GIT_ASKPASS",
            "SSH_ASKPASS",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_NOSYSTEM",
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_KEY_0",
            "GIT_CONFIG_VALUE_0",
            "LANG",
            "LC_ALL",
            "TERM",
            "TOKENIZERS_PARALLELISM",
            "KEYBOARD_LAYOUT",
            "NODE_OPTIONS",
            "npm_config_cache",
            "LD_LIBRARY_PATH",
            "EDITOR",
        ] {
            assert_eq!(verdict(name), Verdict::Keep, "{name}");
        }
    }

    #[test]
    fn context_variables_are_dropped() {
        for name in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "OPENKIT_RUN"] {
            assert_eq!(verdict(name), Verdict::Context, "{name}");
        }
    }

    #[test]
    fn the_lists_agree_with_the_rules() {
        for name in WELL_KNOWN_SECRETS {
            assert_eq!(verdict(name), Verdict::Secret, "{name} is well known");
        }
        for name in ALWAYS_KEPT {
            assert_eq!(verdict(name), Verdict::Keep, "{name} is always kept");
        }
        for name in CONTEXT_NAMES {
            assert!(
                !ALWAYS_KEPT.contains(name) && !KEPT_PREFIXES.iter().any(|p| name.starts_with(p)),
                "{name} is both kept and dropped"
            );
        }
    }

    #[test]
    fn an_allowed_name_passes_whatever_it_is() {
        let allowed = [OsString::from("NPM_TOKEN"), OsString::from("GIT_DIR")];
        assert!(passes(OsStr::new("NPM_TOKEN"), &allowed));
        assert!(passes(OsStr::new("GIT_DIR"), &allowed));
        assert!(!passes(OsStr::new("GH_TOKEN"), &allowed));
        assert!(passes(OsStr::new("PATH"), &[]));
    }

    /// Uppercase words that are no secret word and end with no secret suffix.
    fn plain_word() -> impl Strategy<Value = String> {
        "[A-Z][A-Z0-9]{0,7}".prop_filter("not a secret shape", |w| {
            !SECRET_WORDS.contains(&w.as_str())
                && !SECRET_SUFFIXES
                    .iter()
                    .any(|s| w.ends_with(s.trim_start_matches('_')))
        })
    }

    proptest! {
        #[test]
        fn any_name_ending_in_a_secret_suffix_is_dropped_unless_allowed(
            prefix in "[A-Za-z][A-Za-z0-9_]{0,12}",
            suffix in prop::sample::select(SECRET_SUFFIXES),
        ) {
            let name = format!("{prefix}{suffix}");
            prop_assume!(!ALWAYS_KEPT.contains(&name.to_ascii_uppercase().as_str()));
            prop_assume!(!KEPT_PREFIXES.iter().any(|p| name.to_ascii_uppercase().starts_with(p)));
            prop_assume!(!CONTEXT_NAMES.contains(&name.to_ascii_uppercase().as_str()));
            prop_assert_eq!(verdict(&name), Verdict::Secret);
            prop_assert_eq!(verdict(&name.to_ascii_lowercase()), Verdict::Secret);
            prop_assert!(!passes(OsStr::new(&name), &[]));
            prop_assert!(passes(OsStr::new(&name), &[OsString::from(&name)]));
        }

        #[test]
        fn a_secret_word_anywhere_marks_a_secret(
            before in prop::collection::vec(plain_word(), 0..3),
            word in prop::sample::select(SECRET_WORDS),
            after in prop::collection::vec(plain_word(), 0..3),
        ) {
            let mut words = before;
            words.push(word.to_string());
            words.extend(after);
            let name = words.join("_");
            prop_assume!(!KEPT_PREFIXES.iter().any(|p| name.starts_with(p)));
            prop_assert_eq!(verdict(&name), Verdict::Secret);
        }

        #[test]
        fn names_made_of_plain_words_are_kept(words in prop::collection::vec(plain_word(), 1..4)) {
            let name = words.join("_");
            prop_assume!(!SECRET_NAMES.contains(&name.as_str()));
            prop_assume!(!CONTEXT_NAMES.contains(&name.as_str()));
            prop_assert_eq!(verdict(&name), Verdict::Keep);
        }

        #[test]
        fn kept_prefixes_always_win(
            prefix in prop::sample::select(KEPT_PREFIXES),
            rest in "[A-Z0-9_]{0,16}",
        ) {
            let name = format!("{prefix}{rest}");
            prop_assert_eq!(verdict(&name), Verdict::Keep);
        }
    }
}
