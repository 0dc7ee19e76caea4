//! Shared fixtures for OpenKit's criterion benchmarks (`benches/benches/*.rs`) and the
//! proptest twins of the fuzz targets (`benches/tests/fuzz_twins.rs`).
//!
//! Every fixture is a hermetic [`TestRepo`] (temporary `HOME`, no global git config,
//! fixed dates) set up the way `openkit init` leaves a project: a committed
//! `.openkit/config.json` without an install command and a `.openkit/.gitignore` that
//! keeps the worktrees out of the main checkout's status.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use openkit_core::Workbench;
use openkit_core::backbone::Backbone;
use openkit_core::testing::TestRepo;
use openkit_http::{AppState, SecurityPolicy};
use tower::ServiceExt;

/// The port the benchmark router believes it serves (only used by the Host check).
pub const PORT: u16 = 4040;

/// The `Host` header every benchmark request carries.
pub const HOST: &str = "localhost:4040";

/// A realistic `.openkit/config.json`: every known key with a plausible value, plus an
/// unknown key that must survive a rewrite. No `installCommand`, so creating a worktree
/// does not start an install.
pub const REALISTIC_CONFIG: &str = r#"{
  "projectDir": ".",
  "startCommand": "pnpm dev --port ${3000}",
  "baseBranch": "main",
  "ports": { "discovered": [3000, 5173, 9229], "offsetStep": 10 },
  "envMapping": {
    "VITE_API_URL": "http://localhost:${3000}/api",
    "DEBUG_PORT": "${9229}",
    "PUBLIC_URL": "http://localhost:${5173}"
  },
  "autoInstall": false,
  "localIssuePrefix": "LOCAL",
  "localAutoStartAgent": "claude",
  "localAutoStartClaudeOnNewIssue": true,
  "localAutoStartClaudeSkipPermissions": false,
  "localAutoStartClaudeFocusTerminal": true,
  "openProjectTarget": "cursor",
  "framework": "generic",
  "showDiffStats": true,
  "activity": { "retentionDays": 7, "maxSizeMB": 20, "toasts": ["error", "success"] },
  "opsLog": { "retentionDays": 3, "maxSizeMB": 50 },
  "integrations": { "jira": { "projectKey": "AVO", "autoStartAgent": false } }
}
"#;

/// Content of `.openkit/.gitignore`, as `openkit init` writes it.
const OPENKIT_GITIGNORE: &str = "*\n!.gitignore\n!config.json\n";

/// Number of source files in a fixture project, so status and checkout do real work.
pub const PROJECT_FILES: usize = 40;

/// A hermetic project: one commit on `main` with [`PROJECT_FILES`] source files, the
/// realistic config and `.openkit/.gitignore`.
pub fn project() -> TestRepo {
    let mut builder = TestRepo::builder()
        .file(".openkit/config.json", REALISTIC_CONFIG)
        .file(".openkit/.gitignore", OPENKIT_GITIGNORE)
        .file(
            "package.json",
            "{ \"name\": \"fixture\", \"private\": true }\n",
        );
    for i in 0..PROJECT_FILES {
        let body = format!(
            "export function f{i}(x: number): number {{\n  return x * {i} + 1;\n}}\n{}",
            "// filler line to give the file some weight\n".repeat(20)
        );
        builder = builder.file(&format!("src/mod{}/file{i}.ts", i % 8), &body);
    }
    builder.build()
}

/// The id (directory name) and branch of the `i`-th fixture worktree.
pub fn worktree_name(i: usize) -> (String, String) {
    (format!("wt-{i:04}"), format!("feature/wt-{i:04}"))
}

/// A project with `n` linked worktrees under `.openkit/worktrees/`, created with plain
/// `git worktree add` (no OpenKit involved).
pub fn project_with_worktrees(n: usize) -> TestRepo {
    let repo = project();
    for i in 0..n {
        let (id, branch) = worktree_name(i);
        let path = repo.paths().worktree_dir(&id);
        repo.git([
            "worktree",
            "add",
            "-q",
            path.to_str().expect("UTF-8 temp path"),
            "-b",
            &branch,
        ]);
    }
    repo
}

/// A workbench for `repo` that runs git in the repo's hermetic environment.
pub fn workbench(repo: &TestRepo) -> Arc<Workbench> {
    Arc::new(
        Workbench::builder(repo.paths())
            .git(repo.git_cli())
            .build()
            .expect("opening the fixture workbench"),
    )
}

/// The complete HTTP API over `workbench`, as `openkit serve` would mount it on [`PORT`].
pub fn router(workbench: Arc<Workbench>) -> Router {
    let backbone = Backbone::new(workbench.paths().clone());
    openkit_http::router(AppState::new(
        workbench,
        backbone,
        SecurityPolicy::for_port(PORT),
    ))
}

/// Sends `GET uri` (with `Host: localhost:4040`) through `router` and reads the whole
/// body. Returns the status and the body length.
pub async fn get(router: &Router, uri: &str) -> (StatusCode, usize) {
    let request = Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .expect("a valid request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("reading the body")
        .to_bytes();
    (status, body.len())
}

/// A `git` command in `dir` with `repo`'s hermetic environment (nothing else inherited
/// but `PATH`).
pub fn git_command(repo: &TestRepo, dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(repo.env());
    cmd
}

/// Runs `git args` in `dir` (hermetic) and panics unless it succeeds.
pub fn run_git(repo: &TestRepo, dir: &Path, args: &[&str]) -> Output {
    let out = git_command(repo, dir)
        .args(args)
        .output()
        .expect("running git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What a client would compute per worktree by spawning git: `git status --porcelain`
/// (dirty?) and `git rev-list --count <base>..HEAD` (commits ahead of the base). Returns
/// (dirty, ahead) per checkout.
pub fn status_via_git_cli(repo: &TestRepo, checkouts: &[&Path], base: &str) -> Vec<(bool, u32)> {
    let range = format!("{base}..HEAD");
    checkouts
        .iter()
        .map(|dir| {
            let status = run_git(repo, dir, &["status", "--porcelain"]);
            let count = run_git(repo, dir, &["rev-list", "--count", &range]);
            let ahead = String::from_utf8_lossy(&count.stdout)
                .trim()
                .parse()
                .expect("rev-list prints a number");
            (!status.stdout.is_empty(), ahead)
        })
        .collect()
}

/// A single-threaded-enough tokio runtime for driving async APIs inside `b.iter`.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a tokio runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_lists_every_worktree_through_core_and_http() {
        let repo = project_with_worktrees(3);
        let wb = workbench(&repo);
        let rt = runtime();
        let list = rt.block_on(wb.list_worktrees()).unwrap();
        assert_eq!(list.len(), 4);
        assert!(list.iter().all(|w| !w.has_uncommitted), "{list:?}");
        let app = router(Arc::clone(&wb));
        let (status, len) = rt.block_on(get(&app, "/api/worktrees"));
        assert_eq!(status, StatusCode::OK);
        assert!(len > 100);
        let paths: Vec<_> = list.iter().map(|w| w.path.as_path()).collect();
        let cli = status_via_git_cli(&repo, &paths, "main");
        assert_eq!(cli, vec![(false, 0); 4]);
    }

    #[test]
    fn realistic_config_parses() {
        let serde_json::Value::Object(map) = serde_json::from_str(REALISTIC_CONFIG).unwrap() else {
            unreachable!()
        };
        let cfg = openkit_core::WorktreeConfig::from_object(map).unwrap();
        assert!(cfg.install_command.is_empty());
        assert!(cfg.extra.contains_key("integrations"));
    }
}
