//! Opening a worktree in a local app (IDE, terminal, file manager).
//!
//! Detection looks for executables on a search path the frontend passes in (core does not
//! read `$PATH` itself). Linux equivalents stand in for macOS-only mechanisms: `xdg-open`
//! for Finder, the usual terminal emulators for Terminal.app.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::command::{CommandError, CommandRunner, CommandSpec};

/// A place a worktree can be opened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpenTarget {
    /// API id (`cursor`, `vscode`, ...).
    pub target: &'static str,
    /// Human label.
    pub label: &'static str,
}

/// Every target the API accepts, in the server's priority order, with the executables
/// that provide it (the first one found wins).
const CANDIDATES: [(&str, &str, &[&str]); 10] = [
    ("cursor", "Cursor", &["cursor"]),
    ("vscode", "VSCode", &["code", "code-insiders", "codium"]),
    ("zed", "Zed", &["zed", "zeditor"]),
    (
        "intellij",
        "IntelliJ IDEA",
        &["idea", "intellij-idea-ultimate", "intellij-idea-community"],
    ),
    ("webstorm", "WebStorm", &["webstorm"]),
    ("ghostty", "Ghostty", &["ghostty"]),
    ("warp", "Warp", &["warp-terminal", "warp"]),
    (
        "terminal",
        "Terminal",
        &[
            "x-terminal-emulator",
            "gnome-terminal",
            "konsole",
            "xfce4-terminal",
            "kitty",
            "alacritty",
            "wezterm",
            "xterm",
        ],
    ),
    ("neovim", "Neovim", &["nvim"]),
    ("file-manager", FILE_MANAGER_LABEL, &[FILE_MANAGER_COMMAND]),
];

#[cfg(target_os = "macos")]
const FILE_MANAGER_LABEL: &str = "Finder";
#[cfg(not(target_os = "macos"))]
const FILE_MANAGER_LABEL: &str = "File Manager";
#[cfg(target_os = "macos")]
const FILE_MANAGER_COMMAND: &str = "open";
#[cfg(not(target_os = "macos"))]
const FILE_MANAGER_COMMAND: &str = "xdg-open";

/// True when `id` is a target the API accepts.
pub fn is_known_target(id: &str) -> bool {
    CANDIDATES.iter().any(|(t, _, _)| *t == id)
}

/// Finds an executable file named `name` in `search_path`.
pub fn find_executable(name: &str, search_path: &[PathBuf]) -> Option<PathBuf> {
    search_path
        .iter()
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The targets available on this machine, in priority order.
pub fn detect(search_path: &[PathBuf]) -> Vec<OpenTarget> {
    CANDIDATES
        .iter()
        .filter(|(target, _, bins)| {
            let found = bins
                .iter()
                .any(|b| find_executable(b, search_path).is_some());
            // Neovim opens inside a terminal emulator.
            found && (*target != "neovim" || terminal_command(search_path).is_some())
        })
        .map(|(target, label, _)| OpenTarget { target, label })
        .collect()
}

/// The persisted target when it is available, else the first available one.
pub fn selected(available: &[OpenTarget], persisted: Option<&str>) -> Option<&'static str> {
    persisted
        .and_then(|p| available.iter().find(|t| t.target == p))
        .or_else(|| available.first())
        .map(|t| t.target)
}

fn terminal_command(search_path: &[PathBuf]) -> Option<PathBuf> {
    CANDIDATES
        .iter()
        .filter(|(t, _, _)| matches!(*t, "ghostty" | "terminal"))
        .flat_map(|(_, _, bins)| bins.iter())
        .find_map(|b| find_executable(b, search_path))
}

/// Why a worktree could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The target is not one the API knows.
    #[error("Invalid target \"{0}\"")]
    UnknownTarget(String),
    /// The target's app is not installed.
    #[error("{0} is not available on this machine")]
    NotAvailable(&'static str),
    /// The app could not be started.
    #[error("Could not start {label}: {source}")]
    Launch {
        /// The app's label.
        label: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::DomainError for OpenError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidInput
    }
    fn code(&self) -> &'static str {
        match self {
            OpenError::UnknownTarget(_) => "INVALID_OPEN_TARGET",
            OpenError::NotAvailable(_) => "OPEN_TARGET_UNAVAILABLE",
            OpenError::Launch { .. } => "OPEN_FAILED",
        }
    }
}

/// Starts the app for `target` on `dir` through `runner`, detached: the app lives as long
/// as the user wants, in its own process group; it is reaped and recorded when it exits.
/// Its `PATH` is `search_path`, where it was found.
pub fn open_with(
    runner: &CommandRunner,
    target: &str,
    dir: &Path,
    search_path: &[PathBuf],
) -> Result<(), OpenError> {
    let (id, label, bins) = CANDIDATES
        .iter()
        .find(|(t, _, _)| *t == target)
        .ok_or_else(|| OpenError::UnknownTarget(target.to_string()))?;
    let exe = bins
        .iter()
        .find_map(|b| find_executable(b, search_path))
        .ok_or(OpenError::NotAvailable(label))?;
    let spec = match *id {
        "neovim" => {
            let term = terminal_command(search_path).ok_or(OpenError::NotAvailable(label))?;
            CommandSpec::new(term, dir).arg("-e").arg(&exe).arg(dir)
        }
        "terminal" | "ghostty" | "warp" => CommandSpec::new(&exe, dir),
        _ => CommandSpec::new(&exe, dir).arg(dir),
    };
    let path = std::env::join_paths(search_path).unwrap_or_default();
    runner
        .spawn_detached(spec.env("PATH", path))
        .map(drop)
        .map_err(|e| OpenError::Launch {
            label,
            source: match e {
                CommandError::Spawn { source, .. } | CommandError::Io { source, .. } => source,
                other => std::io::Error::other(other.to_string()),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bin(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn detects_executables_only() {
        let bin = tempfile::tempdir().unwrap();
        fake_bin(bin.path(), "code", "true");
        std::fs::write(bin.path().join("cursor"), "not executable").unwrap();
        let found = detect(&[bin.path().to_path_buf()]);
        assert_eq!(
            found.iter().map(|t| t.target).collect::<Vec<_>>(),
            vec!["vscode"]
        );
        assert_eq!(selected(&found, Some("cursor")), Some("vscode"));
        assert_eq!(selected(&found, Some("vscode")), Some("vscode"));
        assert_eq!(selected(&[], None), None);
    }

    #[test]
    fn opens_with_the_path_argument() {
        let bin = tempfile::tempdir().unwrap();
        let out = bin.path().join("opened");
        fake_bin(
            bin.path(),
            "zed",
            // Only shell builtins: PATH is the search path alone.
            &format!("echo \"$1\" > {}", out.display()),
        );
        let target = tempfile::tempdir().unwrap();
        let runner = CommandRunner::new(crate::HostEnv::empty());
        let open = |t: &str, dir: &Path, path: &[PathBuf]| open_with(&runner, t, dir, path);
        open("zed", target.path(), &[bin.path().to_path_buf()]).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        // The redirect creates the file before echo writes the line: wait for all of it.
        let written = || std::fs::read_to_string(&out).is_ok_and(|t| t.ends_with('\n'));
        while !written() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap().trim(),
            target.path().to_str().unwrap()
        );
        assert!(matches!(
            open("vim", target.path(), &[]),
            Err(OpenError::UnknownTarget(_))
        ));
        assert!(matches!(
            open("cursor", target.path(), &[]),
            Err(OpenError::NotAvailable(_))
        ));
    }

    #[test]
    fn opens_through_the_runner_detached_and_is_recorded() {
        use std::sync::{Arc, Mutex};
        use std::time::{Duration, Instant};

        use crate::command::{CommandObserver, CommandRecord};
        use crate::host::HostEnv;

        #[derive(Default)]
        struct Records(Mutex<Vec<CommandRecord>>);
        impl CommandObserver for Records {
            fn command_finished(&self, record: &CommandRecord) {
                self.0.lock().unwrap().push(record.clone());
            }
        }

        let bin = tempfile::tempdir().unwrap();
        let out = bin.path().join("opened");
        fake_bin(
            bin.path(),
            "code",
            &format!("echo \"$1 ${{GH_TOKEN:-none}}\" > {}", out.display()),
        );
        let records = Arc::new(Records::default());
        let runner = CommandRunner::new(HostEnv::empty().with_var("GH_TOKEN", "ghs_secret"))
            .with_observer(records.clone());
        let target = tempfile::tempdir().unwrap();
        open_with(
            &runner,
            "vscode",
            target.path(),
            &[bin.path().to_path_buf()],
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while records.0.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap().trim(),
            format!("{} none", target.path().display()),
            "the app gets the path and no secrets"
        );
        let records = records.0.lock().unwrap();
        let [record] = records.as_slice() else {
            panic!("one record when the app exits, got {records:?}")
        };
        assert!(record.command.ends_with("/code"));
        assert_eq!(record.args, [target.path().to_string_lossy()]);
        assert_eq!(record.exit_code, Some(0));
    }
}
