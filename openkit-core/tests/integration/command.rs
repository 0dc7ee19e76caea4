//! The command runner against real child processes: process-group teardown on timeout
//! and cancellation, the concurrency budgets, the scrubbed environment and redacted
//! records.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openkit_core::DomainError;
use openkit_core::HostEnv;
use openkit_core::backbone::Backbone;
use openkit_core::command::{
    Budget, CommandError, CommandObserver, CommandRecord, CommandRunner, CommandSpec,
};
use openkit_core::git::GitCli;
use openkit_core::logs::OpsQuery;
use openkit_core::testing::TestRepo;

use crate::within;

/// Keeps every record it is given.
#[derive(Default)]
struct Records(Mutex<Vec<CommandRecord>>);

impl Records {
    fn all(&self) -> Vec<CommandRecord> {
        self.0.lock().unwrap().clone()
    }
}

impl CommandObserver for Records {
    fn command_finished(&self, record: &CommandRecord) {
        self.0.lock().unwrap().push(record.clone());
    }
}

/// The test process's `PATH` (tests may read the environment; core may not).
fn path() -> std::ffi::OsString {
    std::env::var_os("PATH").expect("PATH is set for tests")
}

/// Polls `done` every 20 ms until it holds, failing after 20 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True when `pid` no longer runs (gone, or a zombie waiting for a reaper).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// The pids a script wrote to `file`, one per line, once it has written `count`.
async fn pids(file: &Path, count: usize) -> Vec<u32> {
    let read = || -> Vec<u32> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    until("the script wrote its pids", || read().len() >= count).await;
    read()
}

/// The variables of `env`'s output.
fn parse_env(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_timeout_kills_the_child_and_its_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let records = Arc::new(Records::default());
    let runner = CommandRunner::new(HostEnv::empty().with_var("PATH", path()))
        .with_observer(records.clone());
    let script = format!(
        "echo $$ > '{0}'; sleep 30 & echo $! >> '{0}'; sleep 30",
        pid_file.display()
    );
    let started = Instant::now();
    let result = within(
        runner.run(
            CommandSpec::new("sh", dir.path())
                .args(["-c", &script])
                .timeout(Duration::from_millis(700)),
        ),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the timeout ended the run ({:?})",
        started.elapsed()
    );
    let err = result.expect_err("the command timed out");
    assert!(
        matches!(err, CommandError::TimedOut { timeout, .. } if timeout == Duration::from_millis(700))
    );
    assert_eq!(err.code(), "COMMAND_TIMED_OUT");

    let [child, grandchild] = pids(&pid_file, 2).await[..] else {
        panic!("two pids")
    };
    until("the child and the grandchild are gone", || {
        dead(child) && dead(grandchild)
    })
    .await;

    let records = records.all();
    assert_eq!(records.len(), 1);
    assert!(records[0].timed_out);
    assert_eq!(records[0].exit_code, None);
    assert!(records[0].duration >= Duration::from_millis(700));
}

#[tokio::test]
async fn dropping_a_run_kills_its_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let runner = CommandRunner::new(HostEnv::empty().with_var("PATH", path()));
    let script = format!(
        "echo $$ > '{0}'; sleep 30 & echo $! >> '{0}'; sleep 30",
        pid_file.display()
    );
    let run = tokio::spawn({
        let runner = runner.clone();
        let cwd = dir.path().to_path_buf();
        async move {
            runner
                .run(CommandSpec::new("sh", cwd).args(["-c", &script]))
                .await
        }
    });
    let [child, grandchild] = pids(&pid_file, 2).await[..] else {
        panic!("two pids")
    };
    assert!(!dead(child) && !dead(grandchild));
    run.abort();
    assert!(within(run).await.unwrap_err().is_cancelled());
    until("the abandoned child and grandchild are gone", || {
        dead(child) && dead(grandchild)
    })
    .await;
}

#[tokio::test]
async fn each_budget_bounds_its_commands_and_neither_starves_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let release = dir.path().join("release");
    let runner = CommandRunner::new(HostEnv::empty().with_var("PATH", path())).with_limits(2, 1);
    let blocker = |name: &str, budget: Budget| {
        let script = format!(
            "echo {name} >> '{}'; i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
            started.display(),
            release.display()
        );
        let runner = runner.clone();
        let spec = CommandSpec::new("sh", dir.path())
            .args(["-c", &script])
            .budget(budget);
        tokio::spawn(async move { runner.run(spec).await })
    };
    let lines = || {
        std::fs::read_to_string(&started)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };

    let long = blocker("long", Budget::Long);
    until("the long command runs", || lines().len() == 1).await;
    let shorts: Vec<_> = ["s1", "s2", "s3"]
        .into_iter()
        .map(|n| blocker(n, Budget::Short))
        .collect();
    until("two short commands run beside the long one", || {
        lines().len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        lines().len(),
        3,
        "the third short command waits: {:?}",
        lines()
    );
    assert_eq!(runner.in_flight(Budget::Short), 2);
    assert_eq!(runner.in_flight(Budget::Long), 1);

    std::fs::write(&release, "").unwrap();
    for task in shorts.into_iter().chain([long]) {
        let output = within(task).await.unwrap().unwrap();
        assert!(output.success());
    }
    assert_eq!(
        lines().len(),
        4,
        "the waiting command ran once a slot was free"
    );
    assert_eq!(runner.in_flight(Budget::Short), 0);
}

#[tokio::test]
async fn a_real_child_gets_the_host_env_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let host = HostEnv::empty()
        .with_var("PATH", path())
        .with_var("HOME", "/home/someone")
        .with_var("LANG", "C.UTF-8")
        .with_var("SSH_AUTH_SOCK", "/tmp/agent.sock")
        .with_var("GIT_ASKPASS", "/usr/bin/true")
        .with_var("GIT_CONFIG_GLOBAL", "/dev/null")
        .with_var("GITHUB_TOKEN", "ghs_aaaaaaaaaaaaaaaaaaaaaaaa")
        .with_var("GH_TOKEN", "ghs_bbbbbbbbbbbbbbbbbbbbbbbb")
        .with_var("OPENAI_API_KEY", "sk-cccccccccccccccccccccccc")
        .with_var("AWS_SECRET_ACCESS_KEY", "dddddddddddddddd")
        .with_var("NPM_TOKEN", "npm_eeeeeeeeeeeeeeeeeeee")
        .with_var("NGROK_AUTHTOKEN", "ffffffffffffffff")
        .with_var("MY_SERVICE_PASSWORD", "gggggggggggggggg")
        .with_var("GIT_DIR", "/somewhere/else/.git");
    let records = Arc::new(Records::default());
    let runner = CommandRunner::new(host.clone()).with_observer(records.clone());

    let plain = within(runner.run(CommandSpec::new("env", dir.path())))
        .await
        .unwrap();
    let seen = parse_env(&plain.stdout_text());
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "GIT_ASKPASS",
            "GIT_CONFIG_GLOBAL",
            "HOME",
            "LANG",
            "PATH",
            "SSH_AUTH_SOCK"
        ],
        "nothing of the test process leaks in, no secret and no GIT_DIR gets through"
    );
    assert_eq!(seen["HOME"], "/home/someone");

    let allowed = within(runner.run(CommandSpec::new("env", dir.path()).allow_env("NPM_TOKEN")))
        .await
        .unwrap();
    let seen = parse_env(&allowed.stdout_text());
    assert_eq!(
        seen.get("NPM_TOKEN").map(String::as_str),
        Some("npm_eeeeeeeeeeeeeeeeeeee")
    );
    for secret in [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "OPENAI_API_KEY",
        "MY_SERVICE_PASSWORD",
    ] {
        assert!(!seen.contains_key(secret), "{secret} is not allowed");
    }

    let records = records.all();
    assert_eq!(records.len(), 2);
    assert!(
        !records[1].stdout.contains("npm_eeeeeeeeeeeeeeeeeeee"),
        "the allowed secret's value is redacted from the record"
    );
    assert!(records[1].stdout.contains("NPM_TOKEN=[REDACTED]"));
}

#[tokio::test]
async fn git_runs_with_the_hosts_environment_and_its_own_additions() {
    let repo = TestRepo::new();
    let host = HostEnv::empty()
        .with_var("PATH", path())
        .with_var("GIT_DIR", "/not/this/repo/.git")
        .with_var("GITHUB_TOKEN", "ghs_not_for_git_status");
    let git = repo.env().into_iter().fold(
        GitCli::with_runner(CommandRunner::new(host)),
        |git, (k, v)| git.with_env(k, v),
    );
    let top = within(git.run(repo.root(), ["rev-parse", "--show-toplevel"]))
        .await
        .expect("git finds the repository of its cwd, not an inherited GIT_DIR");
    assert_eq!(
        Path::new(top.trim()).canonicalize().unwrap(),
        repo.root().canonicalize().unwrap()
    );
    let token = within(git.run(
        repo.root(),
        ["-c", "alias.token=!echo ${GITHUB_TOKEN:-none}", "token"],
    ))
    .await
    .unwrap();
    assert_eq!(token.trim(), "none");
}

/// A runner over a minimal host environment whose records go to a backbone of `repo`.
fn logged_runner(repo: &TestRepo) -> (Arc<Backbone>, CommandRunner) {
    let backbone = Backbone::new(repo.paths());
    let runner = CommandRunner::new(HostEnv::empty().with_var("PATH", path()))
        .with_observer(backbone.clone() as Arc<dyn CommandObserver>);
    (backbone, runner)
}

/// The ops-log record of the `sh` command the test ran.
fn logged_sh(backbone: &Backbone) -> openkit_core::logs::OpsLogEvent {
    backbone.flush();
    backbone
        .ops()
        .query(&OpsQuery {
            limit: 100,
            ..OpsQuery::default()
        })
        .unwrap()
        .into_iter()
        .find(|e| e.command.as_ref().is_some_and(|c| c.command == "sh"))
        .expect("the command is in the ops log")
}

#[tokio::test]
async fn records_reach_the_ops_log_redacted() {
    let repo = TestRepo::new();
    let (backbone, runner) = logged_runner(&repo);
    let url = "https://someone:tok3n-s3cr3t-value@example.com/team/repo.git";
    let output = within(runner.run(CommandSpec::new("sh", repo.root()).args([
        "-c",
        "echo \"cloning $1\"; echo \"fatal: could not read $1\" >&2; exit 128",
        "sh",
        url,
    ])))
    .await
    .unwrap();
    assert_eq!(output.code(), Some(128));
    let event = logged_sh(&backbone);
    let logged = serde_json::to_string(&event).unwrap();
    assert!(!logged.contains("tok3n-s3cr3t-value"), "{logged}");
    let command = event.command.as_ref().unwrap();
    assert_eq!(
        command.args.last().map(String::as_str),
        Some("https://[REDACTED]@example.com/team/repo.git")
    );
    assert_eq!(command.exit_code, Some(128));
    assert!(command.duration_ms.is_some());
    assert!(
        command
            .stderr
            .as_deref()
            .is_some_and(|s| s.contains("[REDACTED]@example.com"))
    );
}

#[tokio::test]
async fn a_missing_program_is_reported_not_hung() {
    let dir = tempfile::tempdir().unwrap();
    let runner = CommandRunner::new(HostEnv::empty().with_var("PATH", dir.path()));
    let err = within(runner.run(CommandSpec::new("git", dir.path())))
        .await
        .expect_err("no git on an empty PATH");
    assert!(matches!(err, CommandError::Spawn { .. }), "{err}");
    let git = GitCli::with_runner(runner);
    let err = within(git.run(dir.path(), ["status"])).await.unwrap_err();
    assert_eq!(err.code(), "GIT_UNAVAILABLE");
}

#[tokio::test]
async fn a_timeout_is_an_error_in_the_ops_log() {
    let repo = TestRepo::new();
    let (backbone, runner) = logged_runner(&repo);
    let result = within(
        runner.run(
            CommandSpec::new("sh", repo.root())
                .args(["-c", "sleep 30"])
                .timeout(std::time::Duration::from_millis(200)),
        ),
    )
    .await;
    assert!(result.is_err(), "timed out");
    let event = logged_sh(&backbone);
    assert_eq!(event.level, openkit_core::logs::Level::Error);
    assert!(
        event.message.starts_with("timed out: sh"),
        "{}",
        event.message
    );
    assert_eq!(
        event.metadata,
        Some(serde_json::json!({ "timedOut": true }))
    );
    assert_eq!(
        event.command.as_ref().unwrap().signal.as_deref(),
        Some("SIGKILL")
    );
}
