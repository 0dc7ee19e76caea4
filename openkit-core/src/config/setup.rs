//! Creating the project configuration and committing it.

use serde::Serialize;

use super::{ConfigError, ConfigStore, WorktreeConfig, detect};
use crate::git::GitCli;
use crate::persist;

/// The files `init` creates and `commit-setup` commits, relative to the project root.
pub const SETUP_FILES: [&str; 2] = [".openkit/config.json", ".openkit/.gitignore"];

/// Content of `.openkit/.gitignore`: everything but itself and the shared config.
const GITIGNORE: &str = "*\n!.gitignore\n!config.json\n";

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
        let gitignore = self.paths.gitignore_file();
        if !gitignore.exists() {
            persist::write_atomic(&gitignore, GITIGNORE.as_bytes())?;
        }
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
