//! Preparing a fresh checkout: copying `.env*` files and running the install command.

use std::fs;
use std::path::{Path, PathBuf};

use crate::command::{Budget, CommandError, CommandRunner, CommandSpec};
use crate::error::IoFailure;

/// Directories never searched for `.env*` files.
const SKIPPED_DIRS: [&str; 3] = ["node_modules", ".git", ".openkit"];

/// How deep below the project root `.env*` files are looked for.
const MAX_DEPTH: usize = 6;

/// Every `.env*` file under `root` (relative paths), skipping node_modules, .git and
/// .openkit, and not following symlinked directories.
pub fn env_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(PathBuf::new(), 0usize)];
    while let Some((rel, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if depth < MAX_DEPTH && !SKIPPED_DIRS.contains(&name_str.as_ref()) {
                    stack.push((rel.join(&name), depth + 1));
                }
            } else if ft.is_file() && name_str.starts_with(".env") {
                out.push(rel.join(&name));
            }
        }
    }
    out.sort();
    out
}

/// Copies the project's `.env*` files into `worktree`, never overwriting a file that is
/// already there. Returns how many were copied.
pub fn copy_env_files(project_root: &Path, worktree: &Path) -> Result<usize, IoFailure> {
    let mut copied = 0;
    for rel in env_files(project_root) {
        let target = worktree.join(&rel);
        if target.exists() {
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| IoFailure::new(format!("creating {}", parent.display()), e))?;
        }
        fs::copy(project_root.join(&rel), &target)
            .map_err(|e| IoFailure::new(format!("copying {}", rel.display()), e))?;
        copied += 1;
    }
    Ok(copied)
}

/// The outcome of a shell command run to completion.
#[derive(Debug, Clone)]
pub struct ShellOutcome {
    /// Exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// The last lines of combined output.
    pub tail: String,
}

impl ShellOutcome {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Credentials of package registries that install commands may receive (an `.npmrc`
/// that reads `${NPM_TOKEN}`, a private Homebrew tap); every other secret is scrubbed.
pub const INSTALL_CREDENTIALS: &[&str] = &[
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    "YARN_NPM_AUTH_TOKEN",
    "HOMEBREW_GITHUB_API_KEY",
];

/// How many lines of output a [`ShellOutcome`] keeps.
const TAIL_LINES: usize = 40;

/// Runs `command` through `sh -c` in `cwd` with the `runner` (the long-command budget and
/// its default timeout, [`INSTALL_CREDENTIALS`] allowed), keeping the last 40 lines of its
/// output. A timeout is an error: the command and everything it started were killed.
pub async fn run_shell(
    runner: &CommandRunner,
    command: &str,
    cwd: &Path,
    env: &[(String, String)],
) -> Result<ShellOutcome, CommandError> {
    let spec = INSTALL_CREDENTIALS.iter().fold(
        CommandSpec::new("sh", cwd)
            .arg("-c")
            .arg(command)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .budget(Budget::Long),
        |spec, name| spec.allow_env(name),
    );
    let output = runner.run(spec).await?;
    let mut text = output.stdout_text();
    text.push_str(&output.stderr_text());
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    Ok(ShellOutcome {
        exit_code: output.code(),
        tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_skip_dependency_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        for f in [
            ".env",
            ".env.local",
            "app/.env.development",
            "node_modules/x/.env",
            ".openkit/.env",
            "README",
        ] {
            let path = p.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, f).unwrap();
        }
        let found = env_files(p);
        assert_eq!(
            found,
            vec![
                PathBuf::from(".env"),
                PathBuf::from(".env.local"),
                PathBuf::from("app/.env.development")
            ]
        );
        let target = tempfile::tempdir().unwrap();
        fs::write(target.path().join(".env"), "mine").unwrap();
        assert_eq!(copy_env_files(p, target.path()).unwrap(), 2);
        assert_eq!(
            fs::read_to_string(target.path().join(".env")).unwrap(),
            "mine"
        );
        assert_eq!(
            fs::read_to_string(target.path().join("app/.env.development")).unwrap(),
            "app/.env.development"
        );
    }

    #[tokio::test]
    async fn shell_outcome() {
        use std::time::Duration;

        use crate::host::HostEnv;

        let dir = tempfile::tempdir().unwrap();
        let runner = CommandRunner::new(
            HostEnv::empty()
                .with_var("PATH", "/usr/bin:/bin")
                .with_var("NPM_TOKEN", "npm_allowed_for_installs")
                .with_var("GH_TOKEN", "ghs_not_for_installs"),
        );
        async fn within<F: std::future::Future>(fut: F) -> F::Output {
            tokio::time::timeout(Duration::from_secs(30), fut)
                .await
                .expect("finished in time")
        }
        let ok = within(run_shell(
            &runner,
            "echo hi; echo err >&2; echo \"$NPM_TOKEN ${GH_TOKEN:-none} $EXTRA\"",
            dir.path(),
            &[("EXTRA".into(), "x".into())],
        ))
        .await
        .unwrap();
        assert!(ok.success());
        assert_eq!(ok.tail, "hi\nnpm_allowed_for_installs none x\nerr");
        let bad = within(run_shell(&runner, "exit 3", dir.path(), &[]))
            .await
            .unwrap();
        assert_eq!(bad.exit_code, Some(3));
        let long = within(run_shell(
            &runner,
            "for i in $(seq 1 100); do echo $i; done",
            dir.path(),
            &[],
        ))
        .await
        .unwrap();
        assert_eq!(long.tail.lines().count(), TAIL_LINES);
        assert!(long.tail.starts_with("61\n") && long.tail.ends_with("100"));
    }
}
