//! Creating the project configuration and committing it.

use std::io::Write;

use serde::Serialize;

use super::{ConfigError, ConfigStore, WorktreeConfig, detect};
use crate::error::IoFailure;
use crate::git::GitCli;
use crate::paths::Paths;
use crate::persist;

/// The files `init` creates and `commit-setup` commits, relative to the project root.
pub const SETUP_FILES: [&str; 2] = [".openkit/config.json", ".openkit/.gitignore"];

/// Content of `.openkit/.gitignore`: everything but itself and the shared config.
pub const OPENKIT_GITIGNORE: &str = "*\n!.gitignore\n!config.json\n";

/// Writes `.openkit/.gitignore` ([`OPENKIT_GITIGNORE`]: ignore everything under `.openkit/`
/// but the file itself and `config.json`) unless the file exists, so runtime files (logs,
/// locks, `server.json`, worktrees) never show up in the user's `git status`.
///
/// An existing file, whatever its content, is never touched. The write is atomic and
/// no-clobber: a temporary file in `.openkit/` is fsynced and then linked into place only
/// if no file appeared meanwhile. Creates `.openkit/` if needed. Returns true when it
/// wrote the file. Call it before the first runtime file is created (the backbone does,
/// in [`Backbone::new`](crate::backbone::Backbone::new)).
pub fn ensure_openkit_gitignore(paths: &Paths) -> Result<bool, IoFailure> {
    let path = paths.gitignore_file();
    if std::fs::symlink_metadata(&path).is_ok() {
        return Ok(false);
    }
    let dir = paths.openkit_dir();
    let action = || format!("writing {}", path.display());
    std::fs::create_dir_all(&dir)
        .map_err(|e| IoFailure::new(format!("creating {}", dir.display()), e))?;
    let mut tmp = crate::persist::temp_file_in(&dir).map_err(|e| IoFailure::new(action(), e))?;
    tmp.write_all(OPENKIT_GITIGNORE.as_bytes())
        .map_err(|e| IoFailure::new(action(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| IoFailure::new(action(), e))?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => {}
        // Someone (the user, another process) wrote one meanwhile: theirs stays.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(IoFailure::new(action(), e.error)),
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(true)
}

/// Values for `init`; anything absent is detected.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Dev-server command.
    pub start_command: Option<String>,
    /// Install command.
    pub install_command: Option<String>,
    /// Base branch.
    pub base_branch: Option<String>,
    /// Overwrite an existing config.
    pub force: bool,
}

/// Whether the setup files still need committing or pushing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupStatus {
    /// True when something is uncommitted or unpushed.
    pub needs_push: bool,
    /// Setup files with uncommitted changes (or untracked).
    pub files: Vec<String>,
}

/// What `commit-setup` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitSetupOutcome {
    /// Committed and pushed.
    Pushed,
    /// Nothing to commit or push.
    AlreadyCommitted,
    /// Committed, but the push failed (or there is no remote).
    PushFailed,
}

impl ConfigStore {
    /// Creates `.openkit/config.json` (detected values overridden by `options`) and
    /// `.openkit/.gitignore`. Refuses to overwrite an existing config unless `force`.
    pub fn init(&self, options: InitOptions) -> Result<WorktreeConfig, ConfigError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let exists = self.paths.config_file().exists();
        if exists && !options.force {
            return Err(ConfigError::AlreadyExists);
        }
        let detected = detect(self.paths.project_root());
        // With force, keep the fields of a readable existing config that init does not set.
        let base = if exists {
            persist::read_json_object(&self.paths.config_file())
                .ok()
                .flatten()
                .and_then(|m| WorktreeConfig::from_object(m).ok())
                .unwrap_or_default()
        } else {
            WorktreeConfig::default()
        };
        let config = WorktreeConfig {
            start_command: options.start_command.unwrap_or(detected.start_command),
            install_command: options.install_command.unwrap_or(detected.install_command),
            base_branch: options.base_branch.unwrap_or(detected.base_branch),
            ..base
        };
        config
            .validate()
            .map_err(|reason| ConfigError::Invalid { reason })?;
        self.write(&config)?;
        ensure_openkit_gitignore(&self.paths)?;
        Ok(config)
    }

    /// Which setup files are uncommitted, and whether a push is needed.
    pub async fn setup_status(&self, git: &GitCli) -> Result<SetupStatus, ConfigError> {
        let root = self.paths.project_root();
        let existing: Vec<&str> = SETUP_FILES
            .iter()
            .copied()
            .filter(|f| root.join(f).exists())
            .collect();
        if existing.is_empty() {
            return Ok(SetupStatus {
                needs_push: false,
                files: Vec::new(),
            });
        }
        let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
        args.extend(existing.iter().copied());
        let out = git.run(root, args).await?;
        let files: Vec<String> = existing
            .iter()
            .filter(|f| out.lines().any(|l| l.get(3..) == Some(**f)))
            .map(|f| f.to_string())
            .collect();
        let unpushed = if files.is_empty() {
            self.unpushed_setup_commits(git).await
        } else {
            false
        };
        Ok(SetupStatus {
            needs_push: !files.is_empty() || unpushed,
            files,
        })
    }

    /// True when commits touching the setup files exist locally but not upstream (or the
    /// branch has no upstream while such commits exist).
    async fn unpushed_setup_commits(&self, git: &GitCli) -> bool {
        let root = self.paths.project_root();
        let range = match git
            .run(root, ["rev-parse", "--abbrev-ref", "@{upstream}"])
            .await
        {
            Ok(_) => "@{upstream}..HEAD".to_string(),
            Err(_) => "HEAD".to_string(),
        };
        let mut args = vec!["log", "--format=%H", range.as_str(), "--"];
        args.extend(SETUP_FILES);
        git.run(root, args)
            .await
            .is_ok_and(|out| !out.trim().is_empty())
    }

    /// Commits the setup files (only them) and pushes the current branch.
    pub async fn commit_setup(
        &self,
        git: &GitCli,
        message: Option<&str>,
    ) -> Result<CommitSetupOutcome, ConfigError> {
        let status = self.setup_status(git).await?;
        if !status.needs_push {
            return Ok(CommitSetupOutcome::AlreadyCommitted);
        }
        let root = self.paths.project_root();
        if !status.files.is_empty() {
            let mut add = vec!["add", "--"];
            add.extend(status.files.iter().map(String::as_str));
            git.run(root, add).await?;
            let message = message.unwrap_or("chore: add OpenKit configuration");
            let mut commit = vec!["commit", "-m", message, "--"];
            commit.extend(status.files.iter().map(String::as_str));
            git.run(root, commit).await?;
        }
        let pushed = match git
            .run(root, ["rev-parse", "--abbrev-ref", "@{upstream}"])
            .await
        {
            Ok(_) => git.run(root, ["push"]).await.is_ok(),
            Err(_) => git
                .run(root, ["push", "-u", "origin", "HEAD"])
                .await
                .is_ok(),
        };
        Ok(if pushed {
            CommitSetupOutcome::Pushed
        } else {
            CommitSetupOutcome::PushFailed
        })
    }
}
