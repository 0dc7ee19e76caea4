//! Running the `git` command line.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::command::{CommandError, CommandRunner, CommandSpec};
pub use crate::command::{CommandObserver, CommandRecord};
use crate::error::{DomainError, ErrorKind};

/// A failed git invocation.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git ran and exited with a failure.
    #[error("git {args} failed: {stderr}")]
    Failed {
        /// The arguments, space-joined.
        args: String,
        /// Exit code, if git exited normally.
        code: Option<i32>,
        /// What git printed on stderr (trimmed).
        stderr: String,
    },
    /// git could not be started, or its output could not be read.
    #[error("could not run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// git ran past its timeout; it and every process it started were killed.
    #[error("git {args} did not finish within {} s and was stopped", timeout.as_secs())]
    TimedOut {
        /// The arguments, space-joined.
        args: String,
        /// The timeout that applied.
        timeout: Duration,
    },
    /// libgit2 failed on a read-only query.
    #[error("git: {0}")]
    Repo(#[from] git2::Error),
}

impl DomainError for GitError {
    fn kind(&self) -> ErrorKind {
        match self {
            GitError::Spawn(_) | GitError::TimedOut { .. } => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GitError::Failed { .. } => "GIT_FAILED",
            GitError::Spawn(_) => "GIT_UNAVAILABLE",
            GitError::TimedOut { .. } => "GIT_TIMED_OUT",
            GitError::Repo(_) => "GIT_ERROR",
        }
    }
}

/// Runs `git` as a child process, through a [`CommandRunner`].
///
/// Every invocation sets `GIT_TERMINAL_PROMPT=0` (a missing credential fails instead of
/// hanging) plus the variables added with [`GitCli::with_env`]. Network subcommands
/// (`push`, `fetch`, `pull`, `clone`, `ls-remote`) may receive the forge tokens of
/// [`GIT_NETWORK_CREDENTIALS`] so credential helpers such as `gh auth git-credential`
/// keep working; every other git command gets none.
#[derive(Clone)]
pub struct GitCli {
    runner: CommandRunner,
    env: Vec<(OsString, OsString)>,
    timeout: Option<Duration>,
}

/// Forge tokens a credential helper may read during git's network subcommands.
pub const GIT_NETWORK_CREDENTIALS: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
];

/// Subcommands that talk to a remote.
const NETWORK_SUBCOMMANDS: &[&str] = &["push", "fetch", "pull", "clone", "ls-remote"];

impl std::fmt::Debug for GitCli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCli")
            .field("runner", &self.runner)
            .field("env", &self.env)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GitCli {
    /// Runs git through `runner`: its environment, budgets and observer.
    pub fn with_runner(runner: CommandRunner) -> Self {
        GitCli {
            runner,
            env: Vec::new(),
            timeout: None,
        }
    }

    /// Reports every finished command to `observer` (the runner, shared with whoever
    /// uses [`GitCli::runner`], reports to it from now on).
    pub fn with_observer(mut self, observer: Arc<dyn CommandObserver>) -> Self {
        self.runner = self.runner.with_observer(observer);
        self
    }

    /// The observer commands are reported to, if any (other command runners report to it
    /// too, so every command OpenKit runs is traced in one place).
    pub fn observer(&self) -> Option<&Arc<dyn CommandObserver>> {
        self.runner.observer()
    }

    /// The runner git goes through; other commands of the same workbench use it too.
    pub fn runner(&self) -> &CommandRunner {
        &self.runner
    }

    /// Adds an environment variable to every git process (used by hermetic tests).
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Kills a git command (and its process group) after `timeout` instead of the
    /// runner's default for short commands.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs `git <args>` in `cwd`; returns stdout on success.
    pub async fn run<I, S>(&self, cwd: &Path, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string()).collect();
        let mut spec = CommandSpec::new("git", cwd)
            .args(&args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .envs(self.env.iter().cloned());
        if subcommand(&args).is_some_and(|s| NETWORK_SUBCOMMANDS.contains(&s)) {
            spec = GIT_NETWORK_CREDENTIALS
                .iter()
                .fold(spec, |spec, name| spec.allow_env(name));
        }
        if let Some(timeout) = self.timeout {
            spec = spec.timeout(timeout);
        }
        let output = self.runner.run(spec).await.map_err(|e| match e {
            CommandError::TimedOut { timeout, .. } => GitError::TimedOut {
                args: args.join(" "),
                timeout,
            },
            CommandError::Spawn { source, .. } | CommandError::Io { source, .. } => {
                GitError::Spawn(source)
            }
        })?;
        if output.success() {
            Ok(output.stdout_text())
        } else {
            Err(GitError::Failed {
                args: args.join(" "),
                code: output.code(),
                stderr: output.stderr_text().trim().to_string(),
            })
        }
    }
}

/// git's subcommand: the first argument that is not a global option (`-C <dir>` and
/// `-c <key=value>` take a value).
fn subcommand(args: &[String]) -> Option<&str> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env" => {
                rest.next();
            }
            a if a.starts_with('-') => {}
            a => return Some(a),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn finds_the_subcommand_after_global_options() {
        assert_eq!(subcommand(&strings(&["push", "origin"])), Some("push"));
        assert_eq!(
            subcommand(&strings(&["-C", "/x", "-c", "a=b", "--no-pager", "fetch"])),
            Some("fetch")
        );
        assert_eq!(subcommand(&strings(&["-c", "push"])), None);
        assert_eq!(subcommand(&strings(&[])), None);
    }

    #[tokio::test]
    async fn git_gets_forge_tokens_only_for_network_commands() {
        use std::os::unix::fs::PermissionsExt;

        use crate::host::HostEnv;

        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let ssh = dir.path().join("fake-ssh");
        std::fs::write(
            &ssh,
            format!(
                "#!/bin/sh\necho \"${{GH_TOKEN:-none}}\" > '{}'\nexit 1\n",
                seen.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = HostEnv::empty()
            .with_var("PATH", "/usr/local/bin:/usr/bin:/bin")
            .with_var("GH_TOKEN", "ghs_only_for_the_network");
        let git = GitCli::with_runner(CommandRunner::new(host))
            .with_env("GIT_CONFIG_GLOBAL", "/dev/null")
            .with_env("GIT_CONFIG_NOSYSTEM", "1")
            .with_env("GIT_SSH_COMMAND", &ssh);
        async fn within<F: std::future::Future>(fut: F) -> F::Output {
            tokio::time::timeout(Duration::from_secs(30), fut)
                .await
                .expect("finished in time")
        }

        // A shell alias runs with git's own environment.
        let local = within(git.run(
            dir.path(),
            ["-c", "alias.token=!echo ${GH_TOKEN:-none}", "token"],
        ))
        .await
        .unwrap();
        assert_eq!(local.trim(), "none", "a local command gets no forge token");

        // The transport (standing in for a credential helper) of a network command does.
        let remote =
            within(git.run(dir.path(), ["ls-remote", "ssh://example.invalid/r.git"])).await;
        assert!(matches!(remote, Err(GitError::Failed { .. })));
        assert_eq!(
            std::fs::read_to_string(&seen).unwrap().trim(),
            "ghs_only_for_the_network"
        );
    }
}
