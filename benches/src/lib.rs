//! Shared fixtures for OpenKit's criterion benchmarks (`benches/benches/*.rs`) and the
//! proptest twins of the fuzz targets (`benches/tests/fuzz_twins.rs`).
//!
//! Every fixture is a hermetic [`TestRepo`] (temporary `HOME`, no global git config,
//! fixed dates) set up the way `openkit init` leaves a project: a committed
//! `.openkit/config.json` without an install command and a `.openkit/.gitignore` that
//! keeps the worktrees out of the main checkout's status.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use openkit_core::logs::{CommandInfo, Level, OpStatus, OpsLogEvent};
use openkit_core::testing::TestRepo;
use openkit_core::{Background, Workbench, WorktreeId};
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
pub fn worktree_name(i: usize) -> (WorktreeId, String) {
    let id = WorktreeId::parse(&format!("wt-{i:04}")).expect("fixture ids are valid");
    (id, format!("feature/wt-{i:04}"))
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

/// A workbench for `repo` composed as the server does, hermetic; without its background
/// tasks, so every list computes the status afresh.
pub fn workbench(repo: &TestRepo) -> Arc<Workbench> {
    repo.composition()
        .build()
        .expect("opening the fixture workbench")
}

/// A workbench for `repo` with its background tasks running (live status engine and
/// worktree publisher), as `openkit serve` runs it, once its first status snapshot is
/// in place and every checkout is watched (or polled). Call inside `rt`'s context; keep
/// the [`Background`] alive.
pub fn live_workbench(
    rt: &tokio::runtime::Runtime,
    repo: &TestRepo,
) -> (Arc<Workbench>, Background) {
    let wb = workbench(repo);
    let background = rt.block_on(async {
        let background = wb.start_background();
        let engine = wb
            .status_engine()
            .expect("the git engine has a status engine");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let watched =
            || engine.is_live() && engine.stats().checkouts.len() == repo_worktrees(repo) + 1;
        while !watched() {
            assert!(
                std::time::Instant::now() < deadline,
                "the engine never went live"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        background
    });
    (wb, background)
}

/// Linked worktrees registered under the fixture's `.openkit/worktrees/`.
fn repo_worktrees(repo: &TestRepo) -> usize {
    std::fs::read_dir(repo.paths().worktrees_dir()).map_or(0, |d| d.count())
}

/// The complete HTTP API over `workbench`, as `openkit serve` would mount it on [`PORT`].
pub fn router(workbench: Arc<Workbench>) -> Router {
    openkit_http::router(AppState::new(
        workbench,
        openkit_pty::TerminalManager::new(),
        SecurityPolicy::for_port(PORT),
    ))
}

/// The first timestamp of the synthetic ops log (2026-01-01T00:00:00Z) in milliseconds.
pub const OPS_EPOCH_MS: i64 = 1_767_225_600_000;

/// Milliseconds between two consecutive synthetic ops-log events (1M events span ~24 h).
pub const OPS_STEP_MS: i64 = 87;

/// SplitMix64: a cheap deterministic scrambler for synthetic ids and choices.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `i`-th event of a synthetic but realistic ops log, deterministic in `i`:
///
/// - 60 % `http` request traces (debug; a 404 every 50 requests is a warning, a 500 every
///   1,000 an error), with request metadata;
/// - 25 % `git` commands (`command.run`, with args, cwd, exit code and duration; 1 in 25
///   fails as a warning);
/// - 5 % `worktree` lifecycle (`started` / `succeeded` pairs, info, with a run id);
/// - 5 % `devserver` notes (info);
/// - 4 % `ui.toast` (info or warning) and 1 % `ui.error` (error, failed).
///
/// So `level = error` matches ~1.1 % of the events and `source ~ "ui"` 5 %. Serialized,
/// an event is 250-400 bytes. Timestamps start at [`OPS_EPOCH_MS`] and advance by
/// [`OPS_STEP_MS`]; ids are unique UUID-shaped strings.
pub fn ops_event(i: usize) -> OpsLogEvent {
    let n = i as u64;
    let h = mix(n);
    let wt = format!("wt-{:04}", h % 200);
    let mut metadata = None;
    let mut command = None;
    let mut run_id = None;
    let (source, action, message, level, status) = match i % 100 {
        0..=59 => {
            let (method, path) = match h % 4 {
                0 => ("GET", "/api/worktrees".to_string()),
                1 => ("GET", format!("/api/worktrees/{wt}/logs")),
                2 => ("POST", format!("/api/worktrees/{wt}/start")),
                _ => ("GET", "/api/logs?limit=200".to_string()),
            };
            let (code, level, status) = if i % 1000 == 7 {
                (500, Level::Error, OpStatus::Failed)
            } else if i % 50 == 3 {
                (404, Level::Warning, OpStatus::Failed)
            } else {
                (200, Level::Debug, OpStatus::Succeeded)
            };
            let ms = h % 40;
            let message = format!("{method} {path} -> {code} ({ms} ms)");
            metadata = Some(serde_json::json!({
                "method": method, "path": path, "status": code, "durationMs": ms,
            }));
            ("http", "http.request", message, level, status)
        }
        60..=84 => {
            let args: Vec<String> = match h % 3 {
                0 => vec!["status".into(), "--porcelain".into()],
                1 => vec!["rev-list".into(), "--count".into(), "main..HEAD".into()],
                _ => vec!["fetch".into(), "--prune".into(), "origin".into()],
            };
            let failed = i.is_multiple_of(25);
            let message = format!("git {}", args.join(" "));
            command = Some(CommandInfo {
                command: "git".into(),
                args,
                cwd: Some(format!("/home/dev/app/.openkit/worktrees/{wt}")),
                pid: None,
                exit_code: Some(if failed { 128 } else { 0 }),
                signal: None,
                duration_ms: Some(h % 120),
                stdout: None,
                stderr: None,
            });
            if failed {
                (
                    "git",
                    "command.run",
                    message,
                    Level::Warning,
                    OpStatus::Failed,
                )
            } else {
                (
                    "git",
                    "command.run",
                    message,
                    Level::Debug,
                    OpStatus::Succeeded,
                )
            }
        }
        85..=89 => {
            run_id = Some(format!("run-{:08x}", mix(n / 2)));
            if i % 2 == 1 {
                let message = format!("Creating worktree {wt} from main");
                (
                    "worktree",
                    "worktree.create",
                    message,
                    Level::Info,
                    OpStatus::Started,
                )
            } else {
                let message = format!("Created worktree {wt} from main");
                (
                    "worktree",
                    "worktree.create",
                    message,
                    Level::Info,
                    OpStatus::Succeeded,
                )
            }
        }
        90..=94 => {
            let port = 3000 + h % 200 * 10;
            let message = format!("Dev server for {wt} listening on http://localhost:{port}");
            (
                "devserver",
                "process.output",
                message,
                Level::Info,
                OpStatus::Info,
            )
        }
        95..=98 => {
            let ms = h % 5000;
            let message = format!("Worktree {wt} is ready; the dev server started in {ms} ms");
            let level = if h.is_multiple_of(2) {
                Level::Info
            } else {
                Level::Warning
            };
            ("ui.toast", "toast.shown", message, level, OpStatus::Info)
        }
        _ => {
            let message = format!(
                "TypeError: Cannot read properties of undefined (reading 'ports') in WorktreeCard ({wt})"
            );
            (
                "ui.error",
                "client.error",
                message,
                Level::Error,
                OpStatus::Failed,
            )
        }
    };
    OpsLogEvent {
        id: format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | ((h >> 44) & 0x3fff),
            i
        ),
        timestamp: ops_timestamp(i),
        source: source.to_string(),
        action: action.to_string(),
        message,
        level,
        status,
        run_id,
        worktree_id: Some(wt),
        project_name: Some("fixture-app".into()),
        command,
        metadata,
        extra: serde_json::Map::new(),
    }
}

/// The timestamp of the `i`-th synthetic event, as the logs write it (ISO-8601 UTC, ms).
pub fn ops_timestamp(i: usize) -> String {
    chrono::DateTime::from_timestamp_millis(OPS_EPOCH_MS + i as i64 * OPS_STEP_MS)
        .expect("a valid instant")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes events `0..n` of [`ops_event`] to `path` as JSONL, exactly the lines
/// `OpsLog::append` would write (`serde_json::to_string` plus a newline), through one
/// buffered writer. Returns the file size in bytes.
pub fn write_ops_fixture(path: &Path, n: usize) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in 0..n {
        serde_json::to_writer(&mut out, &ops_event(i))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);
    Ok(std::fs::metadata(path)?.len())
}

/// Resident set size of process `pid` in KB (0 when unavailable), as the perf monitor
/// reads it.
pub fn rss_kb(pid: u32) -> u64 {
    openkit_core::perf::proc::rss_bytes(pid).unwrap_or(0) / 1024
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

/// Posts a JSON `body` to a real server on 127.0.0.1:`port` over a fresh connection
/// (`Connection: close`) and returns the parsed answer: what the end-to-end benches use
/// to drive the server the way a client would.
pub async fn post_json(port: u16, path: &str, body: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connecting to the server");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sending the request");
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .await
        .expect("reading the answer");
    let (_, answer) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    serde_json::from_str(answer).expect("a JSON answer")
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
    fn ops_fixture_lines_are_what_the_store_writes_and_reads() {
        use openkit_core::logs::{OpsLog, OpsQuery};
        let dir = tempfile::tempdir().unwrap();
        let n = 2_000;
        let written = dir.path().join("written.jsonl");
        let bytes = write_ops_fixture(&written, n).unwrap();
        let appended = OpsLog::new(dir.path().join("appended.jsonl"));
        for i in 0..n {
            appended.append(&ops_event(i)).unwrap();
        }
        assert_eq!(
            std::fs::read(&written).unwrap(),
            std::fs::read(appended.store().path()).unwrap()
        );
        let avg = bytes as usize / n;
        assert!((250..=400).contains(&avg), "average line {avg} bytes");
        for i in 0..n {
            let len = serde_json::to_string(&ops_event(i)).unwrap().len();
            assert!((250..=430).contains(&len), "event {i}: {len} bytes");
        }
        let log = OpsLog::new(&written);
        let all = log
            .query(&OpsQuery {
                limit: usize::MAX,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(all.len(), n);
        assert_eq!(all[n - 1], ops_event(n - 1));
        let errors = log
            .query(&OpsQuery {
                level: Some(Level::Error),
                limit: usize::MAX,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(errors.len(), n / 100 + n / 1000);
        let ids: std::collections::HashSet<_> = all.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), n);
        assert!(rss_kb(std::process::id()) > 0);
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
