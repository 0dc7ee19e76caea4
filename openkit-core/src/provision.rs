//! Preparing a fresh checkout: copying `.env*` files and running the install command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;

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

/// Runs `command` through `sh -c` in `cwd`, keeping the last 40 lines of its output.
pub async fn run_shell(
    command: &str,
    cwd: &Path,
    env: &[(String, String)],
) -> Result<ShellOutcome, IoFailure> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| IoFailure::new(format!("running `{command}`"), e))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (r1, r2, status) = tokio::join!(
        stdout.read_to_end(&mut out),
        stderr.read_to_end(&mut err),
        child.wait()
    );
    r1.and(r2)
        .map_err(|e| IoFailure::new(format!("reading output of `{command}`"), e))?;
    let status = status.map_err(|e| IoFailure::new(format!("waiting for `{command}`"), e))?;
    out.extend_from_slice(&err);
    let text = String::from_utf8_lossy(&out);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Ok(ShellOutcome {
        exit_code: status.code(),
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
        let dir = tempfile::tempdir().unwrap();
        let ok = run_shell("echo hi; echo err >&2", dir.path(), &[])
            .await
            .unwrap();
        assert!(ok.success());
        assert_eq!(ok.tail, "hi\nerr");
        let bad = run_shell("exit 3", dir.path(), &[]).await.unwrap();
        assert_eq!(bad.exit_code, Some(3));
    }
}
