//! Dev servers with real child processes: offsets, the env contract, readiness, output,
//! crashes, clean stops (nothing of the process group survives), the native port hook and
//! discovery.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openkit_core::devserver::{
    DevServerManager, LOG_LINES, PortHooks, StartRequest, detect_env_mapping, discover,
    install_native_hook, install_node_hook, listening_ports,
};
use openkit_core::events::{EventSink, Severity, WorkbenchEvent};
use openkit_core::ports::DevServers;
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, Workbench, WorktreeStatus};

use crate::*;

/// Records every event.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Instant, WorkbenchEvent)>>);

impl EventSink for Recorder {
    fn publish(&self, event: WorkbenchEvent) {
        self.0.lock().unwrap().push((Instant::now(), event));
    }
}

impl Recorder {
    fn crashes(&self) -> Vec<openkit_core::events::ActivityNotice> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, e)| match e {
                WorkbenchEvent::Activity(n) if n.event_type == "crashed" => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn changes(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| *e == WorkbenchEvent::WorktreesChanged)
            .count()
    }
}

struct Fixture {
    repo: TestRepo,
    wb: Arc<Workbench>,
    manager: Arc<DevServerManager>,
    events: Arc<Recorder>,
}

/// A project with `config`, its workbench and a dev-server manager (1 s stop grace).
fn fixture(config: serde_json::Value) -> Fixture {
    let repo = TestRepo::new();
    write_config(&repo, config);
    let events = Arc::new(Recorder::default());
    let cache = repo.home().join(".openkit/cache");
    let hooks = PortHooks {
        node: Some(install_node_hook(&cache).expect("writing the Node hook")),
        native: install_native_hook(&cache),
    };
    let manager = DevServerManager::with_grace(
        Arc::clone(&events) as _,
        hooks,
        Duration::from_secs(1),
        repo.host_env(),
    );
    let wb = repo
        .composition()
        .dev_servers(Arc::clone(&manager) as _)
        .events(Arc::clone(&events) as _)
        .build()
        .expect("building the workbench");
    Fixture {
        repo,
        wb,
        manager,
        events,
    }
}

/// A random base port in a high range whose next 60 ports are free right now.
fn free_base() -> u16 {
    let mut bytes = [0u8; 2];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").expect("opening /dev/urandom"),
        &mut bytes,
    )
    .expect("reading /dev/urandom");
    let mut seed = u16::from_le_bytes(bytes);
    for _ in 0..500 {
        let base = 21_000 + (seed % 380) * 100;
        if (0..60).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
        seed = seed.wrapping_mul(31).wrapping_add(7);
    }
    panic!("no free port range");
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Live (non-zombie) processes whose process group is `pgid`, from `/proc`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command's closing paren: state ppid pgrp ...
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// Polls `check` every 25 ms until it holds, failing after `limit`.
async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const LIMIT: Duration = Duration::from_secs(20);

async fn status_of(wb: &Workbench, id: &str) -> WorktreeStatus {
    listed(wb, id).await.expect("listed").status
}

async fn logs_of(wb: &Workbench, id: &str) -> Vec<String> {
    within(wb.worktree_logs(id)).await.expect("logs")
}

async fn wait_for_log(wb: &Workbench, id: &str, needle: &str) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let logs = logs_of(wb, id).await;
        if logs.iter().any(|l| l.contains(needle)) {
            return;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in {logs:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A Python server on `port_expr` (a Python expression) that prints `listening` once bound.
fn python_server(port_expr: &str, host: &str) -> String {
    format!(
        "exec python3 -u -c \"import socket,time; s=socket.socket(); s.bind(('{host}', {port_expr})); s.listen(); print('listening', s.getsockname()[1]); time.sleep(300)\""
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worktrees_serve_on_distinct_offsets_and_stop_leaves_no_process() {
    let base = free_base();
    // A backgrounded child and a double-forked daemon (reparented away from the tree, but
    // still in the group) next to the server itself.
    let f = fixture(serde_json::json!({
        "startCommand": "sleep 300 & (sleep 300 &) ; exec python3 -u -m http.server $PORT --bind 127.0.0.1",
        "ports": {"discovered": [base], "offsetStep": 10},
        "envMapping": {"PORT": format!("${{{base}}}")},
    }));
    create(&f.wb, "feature/one", None).await;
    create(&f.wb, "feature/two", None).await;

    let (id_one, one) = within(f.wb.start_worktree("ONE")).await.expect("start one");
    let (id_two, two) = within(f.wb.start_worktree("two")).await.expect("start two");
    assert_eq!(
        (id_one.as_str(), id_two.as_str()),
        ("one", "two"),
        "ids resolve case-insensitively"
    );
    assert_eq!((one.offset, two.offset), (10, 20));
    assert_eq!(
        (one.ports.clone(), two.ports.clone()),
        (vec![base + 10], vec![base + 20])
    );
    assert_eq!(one.status, WorktreeStatus::Starting);
    let again = within(f.wb.start_worktree("one")).await.unwrap().1;
    assert_eq!(
        again.pid, one.pid,
        "a second start returns the running server"
    );

    wait_until("both servers", LIMIT, || {
        answers(base + 10) && answers(base + 20)
    })
    .await;
    assert!(!answers(base), "nobody serves the base port");
    let deadline = Instant::now() + LIMIT;
    while status_of(&f.wb, "one").await != WorktreeStatus::Running {
        assert!(Instant::now() < deadline, "never became running");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let info = listed(&f.wb, "one").await.unwrap();
    assert_eq!((info.offset, info.pid), (Some(10), one.pid));
    assert_eq!(info.ports, vec![base + 10]);
    assert!(info.last_activity.is_some());
    wait_for_log(&f.wb, "one", "Serving HTTP").await;

    let pgid = one.pid.unwrap();
    wait_until("three processes in the group", LIMIT, || {
        group_members(pgid).len() >= 3
    })
    .await;
    let (_, was_running) = within(f.wb.stop_worktree("one")).await.unwrap();
    assert!(was_running);
    assert_eq!(
        group_members(pgid),
        Vec::<u32>::new(),
        "stop leaves nothing"
    );
    assert!(!answers(base + 10), "the port is free");
    assert!(answers(base + 20), "the other worktree keeps running");
    assert_eq!(status_of(&f.wb, "one").await, WorktreeStatus::Stopped);
    assert!(f.manager.runtime("one").is_none());
    let logs = logs_of(&f.wb, "one").await;
    assert!(
        logs.iter().any(|l| l.contains("Serving HTTP")),
        "logs are kept after stop"
    );
    assert_eq!(
        within(f.wb.stop_worktree("one")).await.unwrap(),
        ("one".into(), false)
    );
    assert!(f.events.crashes().is_empty(), "a stop is no crash");

    // The freed offset is the lowest free one again.
    let restarted = within(f.wb.start_worktree("one")).await.unwrap().1;
    assert_eq!(restarted.offset, 10);
    let pgids = [restarted.pid.unwrap(), two.pid.unwrap()];
    within(f.wb.stop_all_dev_servers()).await;
    for pgid in pgids {
        assert_eq!(
            group_members(pgid),
            Vec::<u32>::new(),
            "shutdown leaves nothing"
        );
    }
    assert!(!answers(base + 20));
    drop(f.repo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_spawn_one_process() {
    let f = fixture(serde_json::json!({"startCommand": "exec sleep 300"}));
    create(&f.wb, "feature/twice", None).await;
    let (a, b) = tokio::join!(f.wb.start_worktree("twice"), f.wb.start_worktree("twice"));
    let (a, b) = (a.unwrap().1, b.unwrap().1);
    assert_eq!(a.pid, b.pid);
    assert_eq!(
        a.status,
        WorktreeStatus::Running,
        "no known ports: running at once"
    );
    assert_eq!(a.offset, 1, "offsetStep defaults to 1");
    assert_eq!(group_members(a.pid.unwrap()).len(), 1);
    assert!(within(f.wb.stop_worktree("twice")).await.unwrap().1);
    assert!(group_members(a.pid.unwrap()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_exits_at_once_crashes_and_keeps_its_logs() {
    let f = fixture(serde_json::json!({"startCommand": "echo one; echo two >&2; exit 7"}));
    create(&f.wb, "feature/crash", None).await;
    let (_, rt) = within(f.wb.start_worktree("crash")).await.unwrap();
    assert_eq!(rt.offset, 1);
    wait_until("the crash report", LIMIT, || !f.events.crashes().is_empty()).await;
    let crash = f.events.crashes().remove(0);
    assert_eq!(crash.severity, Severity::Error);
    assert_eq!(crash.worktree_id.as_deref(), Some("crash"));
    assert!(crash.title.contains("code 7"), "{}", crash.title);
    let detail = crash.detail.unwrap();
    assert!(detail.contains("one") && detail.contains("two"), "{detail}");
    assert!(f.manager.runtime("crash").is_none());
    assert_eq!(status_of(&f.wb, "crash").await, WorktreeStatus::Stopped);
    let mut logs = logs_of(&f.wb, "crash").await;
    logs.sort();
    assert_eq!(logs, ["one", "two"]);
    assert!(!within(f.wb.stop_worktree("crash")).await.unwrap().1);

    // A clean exit is no crash, and the offset came back.
    let clean = fixture(serde_json::json!({"startCommand": "echo done"}));
    create(&clean.wb, "feature/clean", None).await;
    within(clean.wb.start_worktree("clean")).await.unwrap();
    wait_until("the exit", LIMIT, || {
        clean.manager.runtime("clean").is_none()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(clean.events.crashes().is_empty());
    within(f.wb.start_worktree("crash")).await.unwrap();
    wait_until("the second crash", LIMIT, || f.events.crashes().len() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_report_quotes_the_very_last_lines() {
    // 20,000 lines overflow the pipe many times, so when the process ends a pipe's worth
    // of them is typically still unread; the report waits until they are in the ring.
    let f = fixture(serde_json::json!({"startCommand": "seq 1 20000; exit 5"}));
    create(&f.wb, "feature/loud", None).await;
    within(f.wb.start_worktree("loud")).await.unwrap();
    wait_until("the crash report", LIMIT, || !f.events.crashes().is_empty()).await;
    let detail = f.events.crashes().remove(0).detail.unwrap();
    assert!(detail.ends_with("\n19999\n20000"), "{detail}");
    let logs = logs_of(&f.wb, "loud").await;
    assert_eq!(logs.len(), LOG_LINES);
    assert_eq!(logs.last().map(String::as_str), Some("20000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kills_a_group_that_ignores_sigterm_after_the_grace_period() {
    let f = fixture(serde_json::json!({
        "startCommand": "trap '' TERM; sleep 300 & echo ready; exec sleep 300",
    }));
    create(&f.wb, "feature/stubborn", None).await;
    let (_, rt) = within(f.wb.start_worktree("stubborn")).await.unwrap();
    wait_for_log(&f.wb, "stubborn", "ready").await;
    let pgid = rt.pid.unwrap();
    assert_eq!(group_members(pgid).len(), 2);
    let started = Instant::now();
    assert!(within(f.wb.stop_worktree("stubborn")).await.unwrap().1);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "SIGTERM was ignored, so the grace period passed: {:?}",
        started.elapsed()
    );
    assert!(group_members(pgid).is_empty());
}

/// Whether `pid` is alive (present in `/proc` and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_string();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(target_os = "linux")]
async fn stop_reaches_a_daemon_that_left_the_process_group() {
    // The daemon calls setsid (new session and group) and writes its pid; the server
    // itself is a plain sleep. The daemon holds 256 MiB so that its exit takes a while:
    // the kernel frees its memory (and with it the environment the tag is read from)
    // tens of milliseconds before it is a zombie, and stop must wait through that.
    let f = fixture(serde_json::json!({
        "startCommand": "python3 -c \"import os,time; os.setsid(); x=b'1'*(256<<20); open('daemon.pid','w').write(str(os.getpid())); time.sleep(300)\" & exec sleep 300",
    }));
    create(&f.wb, "feature/daemon", None).await;
    let (_, rt) = within(f.wb.start_worktree("daemon")).await.unwrap();
    let pid_file = wt_dir(&f.repo, "daemon").join("daemon.pid");
    wait_until("the daemon's pid", LIMIT, || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| !t.is_empty())
    })
    .await;
    let daemon: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let pgid = rt.pid.unwrap();
    assert!(alive(daemon));
    assert!(
        !group_members(pgid).contains(&daemon),
        "the daemon left the group"
    );
    assert!(within(f.wb.stop_worktree("daemon")).await.unwrap().1);
    assert!(!alive(daemon), "the daemon was stopped by its run tag");
    assert!(group_members(pgid).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_worktree_stops_it_first() {
    let f = fixture(serde_json::json!({"startCommand": "sleep 300 & exec sleep 300"}));
    create(&f.wb, "feature/doomed", None).await;
    let (_, rt) = within(f.wb.start_worktree("doomed")).await.unwrap();
    let pgid = rt.pid.unwrap();
    wait_until("two processes", LIMIT, || group_members(pgid).len() == 2).await;
    let report = within(f.wb.delete_worktree("doomed")).await.unwrap();
    assert!(report.removed_running_process);
    assert!(group_members(pgid).is_empty());
    assert!(!wt_dir(&f.repo, "doomed").exists());
    assert!(f.manager.logs("doomed").is_none(), "its state is forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_is_bounded_and_announced_throttled_with_a_trailing_notice() {
    let f = fixture(serde_json::json!({"startCommand": "seq 1 1500; exec sleep 300"}));
    create(&f.wb, "feature/chatty", None).await;
    let before = f.events.changes();
    within(f.wb.start_worktree("chatty")).await.unwrap();
    wait_for_log(&f.wb, "chatty", "1500").await;
    let logs = logs_of(&f.wb, "chatty").await;
    assert_eq!(logs.len(), LOG_LINES);
    assert_eq!(logs.first().map(String::as_str), Some("501"));
    assert_eq!(logs.last().map(String::as_str), Some("1500"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let changes = f.events.changes() - before;
    // The start, the first line, at most a couple of throttled notices and one trailing.
    assert!(
        (3..=6).contains(&changes),
        "{changes} notices for 1500 lines"
    );
    within(f.wb.stop_worktree("chatty")).await.unwrap();

    // Two lines in one burst: the first is announced at once, the second by the trailing
    // notice (without it, listeners would never hear of the last line).
    let f = fixture(serde_json::json!({"startCommand": "echo a; echo b; exec sleep 300"}));
    create(&f.wb, "feature/burst", None).await;
    let before = f.events.changes();
    within(f.wb.start_worktree("burst")).await.unwrap();
    wait_for_log(&f.wb, "burst", "b").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        f.events.changes() - before,
        3,
        "start, first line, trailing notice"
    );
    within(f.wb.stop_worktree("burst")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_env_contract_reaches_the_process() {
    let base = free_base();
    let f = fixture(serde_json::json!({
        "startCommand": "echo \"off=$__WM_PORT_OFFSET__ known=$__WM_KNOWN_PORTS__ api=$API_URL color=$FORCE_COLOR\"; case \"$NODE_OPTIONS\" in *port-hook.cjs*) echo node-hook;; esac; case \"$LD_PRELOAD\" in *porthook*) echo native-hook;; esac; exec sleep 300",
        "ports": {"discovered": [base, base + 1], "offsetStep": 100},
    }));
    f.repo.write(
        ".env.local",
        &format!("API_URL=http://localhost:{base}/api\nNAME=app\n"),
    );
    f.repo.write(
        "node_modules/dep/.env",
        &format!("DEP_URL=http://localhost:{base}\n"),
    );
    let mapping = detect_env_mapping(f.repo.root(), &[base, base + 1]);
    assert_eq!(
        mapping,
        BTreeMap::from([(
            "API_URL".to_string(),
            format!("http://localhost:${{{base}}}/api")
        )]),
        "node_modules is skipped"
    );
    f.wb.config()
        .set_field("envMapping", serde_json::json!(mapping))
        .unwrap();
    create(&f.wb, "feature/env", None).await;
    let (_, rt) = within(f.wb.start_worktree("env")).await.unwrap();
    assert_eq!(rt.offset, 100);
    assert_eq!(rt.ports, vec![base + 100, base + 101]);
    let expected = format!(
        "off=100 known=[{base},{}] api=http://localhost:{}/api color=1",
        base + 1,
        base + 100
    );
    wait_for_log(&f.wb, "env", &expected).await;
    wait_for_log(&f.wb, "env", "node-hook").await;
    within(f.wb.stop_worktree("env")).await.unwrap();
    assert!(
        !logs_of(&f.wb, "env")
            .await
            .contains(&"native-hook".to_string())
    );

    // With the native hook on, only LD_PRELOAD is set: never two hooks.
    if f.manager.runtime("env").is_none() && install_native_hook(&f.repo.home().join("x")).is_some()
    {
        f.repo.write(
            ".openkit/config.local.json",
            "{\"useNativePortHook\": true}\n",
        );
        within(f.wb.start_worktree("env")).await.unwrap();
        wait_for_log(&f.wb, "env", "native-hook").await;
        assert!(
            !logs_of(&f.wb, "env")
                .await
                .contains(&"node-hook".to_string())
        );
        within(f.wb.stop_worktree("env")).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(target_os = "linux")]
async fn the_native_hook_moves_a_fixed_port_python_server() {
    let base = free_base();
    let f = fixture(serde_json::json!({
        "startCommand": python_server(&base.to_string(), "127.0.0.1"),
        "ports": {"discovered": [base], "offsetStep": 10},
    }));
    f.repo.write(
        ".openkit/config.local.json",
        "{\"useNativePortHook\": true}\n",
    );
    create(&f.wb, "feature/native", None).await;
    let (_, rt) = within(f.wb.start_worktree("native")).await.unwrap();
    let moved = base + 10;
    assert_eq!(rt.ports, vec![moved]);
    wait_for_log(&f.wb, "native", &format!("listening {moved}")).await;
    assert_eq!(listening_ports(rt.pid.unwrap()), vec![moved]);
    assert!(!answers(base), "the fixed port stays free");
    let deadline = Instant::now() + LIMIT;
    while status_of(&f.wb, "native").await != WorktreeStatus::Running {
        assert!(
            Instant::now() < deadline,
            "the moved port never made it running"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    within(f.wb.stop_worktree("native")).await.unwrap();
    assert!(!answers(moved));
}

/// Runs `script` under the native hook with `offset` and `known`; returns its stdout.
fn run_hooked(lib: &Path, offset: u32, known: &[u16], script: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .env("LD_PRELOAD", lib)
        .env("__WM_PORT_OFFSET__", offset.to_string())
        .env("__WM_KNOWN_PORTS__", serde_json::to_string(known).unwrap())
        .output()
        .expect("running python3");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
#[cfg(target_os = "linux")]
fn the_native_hook_moves_binds_and_loopback_connects_only_for_known_ports() {
    let dir = tempfile::tempdir().unwrap();
    let lib = install_native_hook(dir.path()).expect("the native hook exists on Linux");
    let base = free_base();
    // bind: a known port moves, an unknown one does not.
    let bound = run_hooked(
        &lib,
        7,
        &[base],
        &format!(
            "import socket\nfor p in ({base}, {other}):\n s = socket.socket(); s.bind(('127.0.0.1', p)); print(s.getsockname()[1], end=' ')",
            other = base + 1
        ),
    );
    assert_eq!(bound, format!("{} {}", base + 7, base + 1));
    // connect: a loopback connect to a known port reaches port + offset.
    let listener = std::net::TcpListener::bind(("127.0.0.1", base + 7)).unwrap();
    let peer = run_hooked(
        &lib,
        7,
        &[base],
        &format!(
            "import socket; s = socket.create_connection(('127.0.0.1', {base})); print(s.getpeername()[1])"
        ),
    );
    assert_eq!(peer, (base + 7).to_string());
    drop(listener);
    // An offset that would leave the port range moves nothing.
    let unmoved = run_hooked(
        &lib,
        65_000,
        &[base],
        &format!(
            "import socket; s = socket.socket(); s.bind(('127.0.0.1', {base})); print(s.getsockname()[1])"
        ),
    );
    assert_eq!(unmoved, base.to_string());
    // IPv6, where the loopback exists.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let v6 = run_hooked(
            &lib,
            9,
            &[base],
            &format!(
                "import socket; s = socket.socket(socket.AF_INET6); s.bind(('::1', {base})); print(s.getsockname()[1])"
            ),
        );
        assert_eq!(v6, (base + 9).to_string());
    } else {
        eprintln!("no IPv6 loopback here; the IPv6 bind case is not exercised");
    }
}

#[test]
fn dropping_the_manager_kills_what_it_still_runs() {
    let repo = TestRepo::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let manager = DevServerManager::new(
        Arc::new(openkit_core::events::NoEvents),
        PortHooks::default(),
        repo.host_env(),
    );
    let started = rt
        .block_on(manager.start_server(StartRequest {
            worktree_id: "orphan".into(),
            cwd: repo.root().to_path_buf(),
            command: "sleep 300 & exec sleep 300".into(),
            known_ports: Vec::new(),
            offset_step: 1,
            env_mapping: BTreeMap::new(),
            use_native_hook: false,
        }))
        .unwrap();
    let pgid = started.pid.unwrap();
    assert!(!group_members(pgid).is_empty());
    // The runtime goes away without a stop (e.g. a crash of the embedding server's loop).
    drop(rt);
    drop(manager);
    let deadline = Instant::now() + LIMIT;
    while !group_members(pgid).is_empty() {
        assert!(Instant::now() < deadline, "the group outlived its manager");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_errors_have_stable_codes() {
    let f = fixture(serde_json::json!({"startCommand": "  "}));
    create(&f.wb, "feature/idle", None).await;
    assert_eq!(
        code(within(f.wb.start_worktree("idle")).await),
        "NO_START_COMMAND"
    );
    assert_eq!(
        code(within(f.wb.start_worktree("ghost")).await),
        "WORKTREE_NOT_FOUND"
    );
    assert_eq!(
        code(within(f.wb.start_worktree("root")).await),
        "ROOT_WORKTREE_IMMUTABLE"
    );
    let err = within(f.wb.start_worktree("idle")).await.unwrap_err();
    assert_eq!(err.kind(), openkit_core::ErrorKind::InvalidInput);

    // A projectDir that does not exist in the worktree: the spawn fails cleanly and the
    // offset is not held.
    write_config(
        &f.repo,
        serde_json::json!({"startCommand": "true", "projectDir": "missing"}),
    );
    assert_eq!(
        code(within(f.wb.start_worktree("idle")).await),
        "START_FAILED"
    );
    assert!(f.manager.runtime("idle").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_tree_ports_and_kills_the_group() {
    let repo = TestRepo::new();
    let base = free_base();
    // The listener is a child of the shell, not the group leader.
    let command = format!(
        "python3 -u -m http.server {base} --bind 127.0.0.1 & python3 -u -m http.server {} --bind 127.0.0.1 & wait",
        base + 1
    );
    let started = Instant::now();
    let found = within(discover(&command, repo.root(), Duration::from_secs(30))).await;
    let took = started.elapsed();
    assert_eq!(found.ports, vec![base, base + 1], "{found:?}");
    assert_eq!(found.error, None);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        took >= Duration::from_millis(1400),
        "it waited for a stable set: {took:?}"
    );
    wait_until("the ports to be free", LIMIT, || {
        !answers(base) && !answers(base + 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_without_a_listener_ends_at_its_cap_or_at_exit() {
    let repo = TestRepo::new();
    let started = Instant::now();
    let found = within(discover(
        "echo waiting; exec sleep 300",
        repo.root(),
        Duration::from_secs(2),
    ))
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(found.ports.is_empty());
    assert_eq!(found.logs, ["waiting"]);
    assert!(found.error.unwrap().contains("no listening TCP port"));

    let started = Instant::now();
    let found = within(discover("echo bye", repo.root(), Duration::from_secs(30))).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(found.error.unwrap().contains("exited"));
    assert_eq!(found.logs, ["bye"]);
}
