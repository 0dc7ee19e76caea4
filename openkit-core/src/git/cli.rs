//! Running the `git` command line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// git could not be started.
    #[error("could not run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// libgit2 failed on a read-only query.
    #[error("git: {0}")]
    Repo(#[from] git2::Error),
}

impl DomainError for GitError {
    fn kind(&self) -> ErrorKind {
        match self {
            GitError::Spawn(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GitError::Failed { .. } => "GIT_FAILED",
            GitError::Spawn(_) => "GIT_UNAVAILABLE",
            GitError::Repo(_) => "GIT_ERROR",
        }
    }
}

/// What a finished command looked like, for observers such as the ops log.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    /// The program (`git`).
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Exit code, when it exited normally.
    pub exit_code: Option<i32>,
    /// Wall-clock duration.
    pub duration: Duration,
    /// Standard output (possibly long; observers truncate).
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Something that wants to know about every command OpenKit runs.
pub trait CommandObserver: Send + Sync {
    /// Called after each command finishes (successfully or not).
    fn command_finished(&self, record: &CommandRecord);
}

/// Runs `git` as a child process.
#[derive(Clone, Default)]
pub struct GitCli {
    observer: Option<Arc<dyn CommandObserver>>,
    env: Vec<(OsString, OsString)>,
}

impl std::fmt::Debug for GitCli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCli")
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl GitCli {
    /// A runner with the inherited environment.
    pub fn new() -> Self {
        GitCli::default()
    }

    /// Reports every finished command to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CommandObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The observer commands are reported to, if any (other command runners report to it
    /// too, so every command OpenKit runs is traced in one place).
    pub fn observer(&self) -> Option<&Arc<dyn CommandObserver>> {
        self.observer.as_ref()
    }

    /// Adds an environment variable to every git process (used by hermetic tests).
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs `git <args>` in `cwd`; returns stdout on success.
    pub async fn run<I, S>(&self, cwd: &Path, args: I) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string()).collect();
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new("git");
        cmd.args(&args)
            .current_dir(cwd)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let output = cmd.output().await.map_err(GitError::Spawn)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if let Some(observer) = &self.observer {
            observer.command_finished(&CommandRecord {
                command: "git".into(),
                args: args.clone(),
                cwd: cwd.to_path_buf(),
                exit_code: output.status.code(),
                duration: started.elapsed(),
                stdout: stdout.clone(),
                stderr: stderr.clone(),
            });
        }
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(GitError::Failed {
                args: args.join(" "),
                code: output.status.code(),
                stderr,
            })
        }
    }
}
