//! The GitHub CLI (`gh`), run through the [`CommandRunner`]: is it installed, the device
//! login, logout, the token it keeps, and how to install it.
//!
//! `gh` gets the forge tokens of the host environment ([`GH_CREDENTIALS`]) and nothing
//! else the scrub policy withholds; `gh auth token` is recorded with its output redacted.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::command::{Budget, CommandRunner, CommandSpec};
use crate::open_targets::find_executable;

use super::ops::GitHubError;

/// Forge tokens `gh` may read from the host environment.
pub const GH_CREDENTIALS: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// How long a quick `gh` call (status, token, logout) may take.
const QUICK: Duration = Duration::from_secs(15);
/// How long a device login may wait for the user to enter the code.
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long `gh auth login` has to print its one-time code.
const CODE_WAIT: Duration = Duration::from_secs(20);

/// The GitHub CLI on a search path.
pub struct GhCli {
    runner: CommandRunner,
    search_path: Vec<PathBuf>,
    /// The device login waiting for the user, if one runs; a new login replaces it.
    login: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for GhCli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhCli")
            .field("search_path", &self.search_path)
            .finish_non_exhaustive()
    }
}

impl Drop for GhCli {
    fn drop(&mut self) {
        if let Some(login) = self.login.get_mut().ok().and_then(Option::take) {
            login.abort();
        }
    }
}

/// What `POST /api/github/install` would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhInstallPlan {
    /// The installer (Homebrew).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl GhCli {
    /// `gh` found on `search_path`, run through `runner`.
    pub fn new(runner: CommandRunner, search_path: Vec<PathBuf>) -> Self {
        GhCli {
            runner,
            search_path,
            login: Mutex::new(None),
        }
    }

    /// The `gh` executable, when installed.
    pub fn executable(&self) -> Option<PathBuf> {
        find_executable("gh", &self.search_path)
    }

    fn spec(&self, cwd: &Path) -> Result<CommandSpec, GitHubError> {
        let gh = self.executable().ok_or(GitHubError::GhNotInstalled)?;
        Ok(GH_CREDENTIALS.iter().fold(
            CommandSpec::new(gh, cwd).env("GH_PROMPT_DISABLED", "1"),
            |spec, name| spec.allow_env(name),
        ))
    }

    /// `gh auth status` succeeds (gh has credentials for a host).
    pub async fn authenticated(&self, cwd: &Path) -> Result<bool, GitHubError> {
        let spec = self.spec(cwd)?.args(["auth", "status"]).timeout(QUICK);
        Ok(self.runner.run(spec).await?.success())
    }

    /// The token `gh` keeps for `host` (`gh auth token`), recorded redacted; `None` when
    /// gh is missing, not logged in or fails.
    pub async fn token(&self, cwd: &Path, host: &str) -> Option<String> {
        let spec = self
            .spec(cwd)
            .ok()?
            .args(["auth", "token", "--hostname", host])
            .timeout(QUICK)
            .secret_stdout();
        let output = self.runner.run(spec).await.ok()?;
        let token = output.stdout_text().trim().to_string();
        (output.success() && !token.is_empty()).then_some(token)
    }

    /// Starts the device login for `host` (`gh auth login --web`) and returns the
    /// one-time code it prints as soon as it does. The login keeps running in the
    /// background (at most 15 minutes) until the user has entered the code in the
    /// browser; `finished` is called with its success then. A second login replaces a
    /// waiting one.
    pub async fn login(
        &self,
        cwd: &Path,
        host: &str,
        finished: Box<dyn FnOnce(bool) + Send>,
    ) -> Result<String, GitHubError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let spec = self
            .spec(cwd)?
            .args([
                "auth",
                "login",
                "--hostname",
                host,
                "--git-protocol",
                "https",
                "--web",
            ])
            .timeout(LOGIN_WINDOW)
            .tap(tx);
        let runner = self.runner.clone();
        let task = tokio::spawn(async move {
            let ok = runner.run(spec).await.is_ok_and(|o| o.success());
            finished(ok);
        });
        if let Some(previous) = self
            .login
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task)
        {
            previous.abort();
        }
        let mut seen = String::new();
        let found = tokio::time::timeout(CODE_WAIT, async {
            while let Some(chunk) = rx.recv().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if let Some(code) = one_time_code(&seen) {
                    return Some(code);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(code)) => Ok(code),
            Ok(None) => Err(GitHubError::GhFailed {
                action: "gh auth login",
                message: last_lines(&seen),
            }),
            Err(_) => {
                self.cancel_login();
                Err(GitHubError::GhFailed {
                    action: "gh auth login",
                    message: format!(
                        "no one-time code within {} s: {}",
                        CODE_WAIT.as_secs(),
                        last_lines(&seen)
                    ),
                })
            }
        }
    }

    /// Ends a waiting device login, if any.
    pub fn cancel_login(&self) {
        if let Some(login) = self.login.lock().unwrap_or_else(|e| e.into_inner()).take() {
            login.abort();
        }
    }

    /// `gh auth logout --hostname <host>`.
    pub async fn logout(&self, cwd: &Path, host: &str) -> Result<(), GitHubError> {
        self.cancel_login();
        let spec = self
            .spec(cwd)?
            .args(["auth", "logout", "--hostname", host])
            .timeout(QUICK);
        let output = self.runner.run(spec).await?;
        if output.success() {
            Ok(())
        } else {
            Err(GitHubError::GhFailed {
                action: "gh auth logout",
                message: last_lines(&output.stderr_text()),
            })
        }
    }

    /// How to install `gh` here: Homebrew when it is on the search path; otherwise an
    /// error that says what to install instead.
    pub fn install_plan(&self) -> Result<GhInstallPlan, GitHubError> {
        match find_executable("brew", &self.search_path) {
            Some(brew) => Ok(GhInstallPlan {
                program: brew,
                args: vec!["install".into(), "gh".into()],
            }),
            None => Err(GitHubError::InstallUnsupported {
                message: INSTALL_HELP.into(),
            }),
        }
    }

    /// Runs `plan` (long-command budget).
    pub async fn install(&self, cwd: &Path, plan: &GhInstallPlan) -> Result<(), GitHubError> {
        let spec = CommandSpec::new(&plan.program, cwd)
            .args(&plan.args)
            .budget(Budget::Long);
        let output = self.runner.run(spec).await?;
        if output.success() {
            Ok(())
        } else {
            Err(GitHubError::GhFailed {
                action: "installing gh",
                message: last_lines(&output.stderr_text()),
            })
        }
    }
}

/// What to tell a user without Homebrew.
const INSTALL_HELP: &str = "The GitHub CLI (gh) cannot be installed automatically here: \
    Homebrew was not found on PATH. Install gh with your system's package manager \
    (Debian/Ubuntu: `sudo apt install gh`; Fedora/RHEL: `sudo dnf install gh`; Arch: \
    `sudo pacman -S github-cli`; openSUSE: `sudo zypper install gh`; or see \
    https://github.com/cli/cli#installation), then log in with POST /api/github/login. \
    Alternatively, set GH_TOKEN to a personal access token before starting OpenKit.";

/// The one-time code in gh's output (`First copy your one-time code: ABCD-1234`).
pub fn one_time_code(output: &str) -> Option<String> {
    let start = output.find("one-time code:")? + "one-time code:".len();
    let code: String = output[start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let valid = code.len() >= 6
        && code.contains('-')
        && code
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    valid.then_some(code)
}

/// The last few lines of a command's output, for an error message.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
    if tail.is_empty() {
        "it printed nothing".into()
    } else {
        crate::redact::redact_text(&tail)
    }
}

/// A shared [`GhCli`].
pub type SharedGh = Arc<GhCli>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_one_time_code() {
        let out = "! First copy your one-time code: 1A2B-3C4D\nOpen this URL to continue in your web browser: https://github.com/login/device\n";
        assert_eq!(one_time_code(out).as_deref(), Some("1A2B-3C4D"));
        assert_eq!(one_time_code("! First copy your one-time code: "), None);
        assert_eq!(one_time_code("! First copy your one-time code: 1A2"), None);
        assert_eq!(one_time_code("nothing here"), None);
    }

    #[test]
    fn without_homebrew_install_explains_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let gh = GhCli::new(
            CommandRunner::new(crate::HostEnv::empty()),
            vec![dir.path().to_path_buf()],
        );
        let err = gh.install_plan().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("sudo apt install gh"), "{text}");
        assert!(text.contains("GH_TOKEN"), "{text}");
        assert_eq!(crate::DomainError::code(&err), "GH_INSTALL_UNSUPPORTED");
    }
}
