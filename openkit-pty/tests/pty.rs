//! Real PTYs: round trips, restore, resize, exit codes, slow clients, teardown.

use std::path::Path;
use std::time::{Duration, Instant};

use openkit_core::attention::{AgentSession, AttentionSource, AttentionState, HookEvent};
use openkit_pty::{Attachment, SpawnOptions, TerminalManager};

fn opts(cwd: &Path, startup: Option<&str>) -> SpawnOptions {
    SpawnOptions {
        cwd: cwd.to_path_buf(),
        cols: 80,
        rows: 24,
        startup_command: startup.map(str::to_string),
        shell: Some("/bin/sh".into()),
        env: vec![("PS1".into(), "$ ".into())],
        base_env: None,
        supervisor: None,
    }
}

/// Reads output until it contains `needle` (10 s at most), starting from the restore
/// bytes; returns everything read.
async fn read_until(att: &mut Attachment, needle: &str) -> String {
    let seen = String::from_utf8_lossy(&att.restore).into_owned();
    read_more(att, seen, needle).await
}

/// Keeps reading onto `seen` until it contains `needle` (10 s at most).
async fn read_more(att: &mut Attachment, mut seen: String, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, att.output.recv()).await {
            Ok(Some(chunk)) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("{needle:?} never appeared; got {seen:?}"),
        }
    }
    seen
}

async fn exit_code(att: &mut Attachment) -> i32 {
    let code = tokio::time::timeout(Duration::from_secs(10), att.exit.wait_for(|c| c.is_some()))
        .await
        .expect("exit within 10 s")
        .expect("exit channel open");
    code.expect("checked is_some")
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purposes.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn echo_round_trip_in_the_worktree() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms
        .spawn("wt", Some("terminal".into()), opts(dir.path(), None))
        .unwrap();
    let mut att = terms.attach(&s.id, true).unwrap();
    terms.write(&s.id, b"echo round-$((40+2)); pwd\n").unwrap();
    let out = read_until(&mut att, "round-42").await;
    let out = read_more(
        &mut att,
        out,
        dir.path().canonicalize().unwrap().to_str().unwrap(),
    )
    .await;
    assert!(out.contains("round-42"));
    assert_eq!(terms.find_scoped("wt", "terminal").unwrap().id, s.id);
    assert_eq!(s.id.len(), 32, "ids are 128-bit random");
}

#[tokio::test]
async fn startup_command_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms
        .spawn("wt", None, opts(dir.path(), Some("echo started; exit 7")))
        .unwrap();
    let mut att = terms.attach(&s.id, false).unwrap();
    assert_eq!(exit_code(&mut att).await, 7);
    let restore = String::from_utf8_lossy(&att.restore).into_owned();
    let mut rest = restore;
    while let Ok(Some(chunk)) =
        tokio::time::timeout(Duration::from_secs(2), att.output.recv()).await
    {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(rest.contains("started"), "{rest:?}");
    // An exited session is removed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while terms.get(&s.id).is_ok() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(terms.get(&s.id).is_err());
}

#[tokio::test]
async fn resize_is_visible_to_stty_and_sizes_are_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms.spawn("wt", None, opts(dir.path(), None)).unwrap();
    let mut att = terms.attach(&s.id, true).unwrap();
    terms.resize(&s.id, 132, 43).unwrap();
    terms.write(&s.id, b"stty size\n").unwrap();
    read_until(&mut att, "43 132").await;
    terms.resize(&s.id, 0, u16::MAX).unwrap();
    terms.write(&s.id, b"stty size\n").unwrap();
    read_until(&mut att, "1000 1").await;
}

#[tokio::test]
async fn a_late_client_restores_earlier_output() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms.spawn("wt", None, opts(dir.path(), None)).unwrap();
    let mut first = terms.attach(&s.id, true).unwrap();
    terms.write(&s.id, b"echo before-$((1+1))\n").unwrap();
    read_until(&mut first, "before-2").await;
    let second = terms.attach(&s.id, true).unwrap();
    assert!(String::from_utf8_lossy(&second.restore).contains("before-2"));
    // The exclusive attach detached the first client.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while first.output.recv().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the replaced client's stream ends");
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_others_keep_up() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms.spawn("wt", None, opts(dir.path(), None)).unwrap();
    let mut slow = terms.attach(&s.id, false).unwrap();
    let mut fast = terms.attach(&s.id, false).unwrap();
    terms
        .write(
            &s.id,
            b"head -c 20000000 /dev/zero | tr '\\0' x; echo; echo flood-$((6*7))\n",
        )
        .unwrap();
    let mut bytes = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tail = String::new();
    while !tail.contains("flood-42") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, fast.output.recv())
            .await
            .expect("fast client kept up")
            .expect("open");
        bytes += chunk.len();
        tail = format!(
            "{}{}",
            &tail[tail.len().saturating_sub(64)..],
            String::from_utf8_lossy(&chunk)
        );
    }
    assert!(bytes >= 20_000_000, "{bytes}");
    // The slow client was cut off after its bounded queue filled: what it can still read
    // is at most the queue, then its stream ends.
    let mut queued = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(2), slow.output.recv()).await {
        queued += 1;
    }
    assert!(queued <= openkit_pty::CLIENT_QUEUE, "{queued}");
}

#[tokio::test]
async fn killing_a_worktree_ends_its_processes() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let a = terms
        .spawn("wt", Some("terminal".into()), opts(dir.path(), None))
        .unwrap();
    let b = terms
        .spawn(
            "wt",
            Some("claude".into()),
            opts(dir.path(), Some("sleep 300")),
        )
        .unwrap();
    let other = terms.spawn("other", None, opts(dir.path(), None)).unwrap();
    let pids: Vec<u32> = [&a, &b].iter().map(|s| s.pid.unwrap()).collect();
    assert_eq!(terms.kill_worktree("wt"), 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pids.iter().all(|p| !alive(*p)));
    assert!(terms.get(&other.id).is_ok());
    assert!(matches!(
        terms.write(&a.id, b"x"),
        Err(openkit_pty::PtyError::SessionNotFound { .. })
    ));
}

#[tokio::test]
async fn many_sessions_and_shutdown_leave_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let mut sessions = Vec::new();
    for i in 0..50 {
        let s = terms
            .spawn(&format!("wt{i}"), None, opts(dir.path(), None))
            .unwrap();
        let mut att = terms.attach(&s.id, true).unwrap();
        terms
            .write(&s.id, format!("echo ready-{}\n", i * 3).as_bytes())
            .unwrap();
        read_until(&mut att, &format!("ready-{}", i * 3)).await;
        sessions.push(s);
    }
    assert_eq!(terms.len(), 50);
    let pids: Vec<u32> = sessions.iter().map(|s| s.pid.unwrap()).collect();
    terms.shutdown_all();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pids.iter().all(|p| !alive(*p)), "no orphans after shutdown");
    assert!(terms.is_empty());
}

#[tokio::test]
async fn a_given_base_environment_is_all_the_shell_gets() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let mut options = opts(dir.path(), Some("env; echo END-OF-ENV"));
    options.base_env = Some(vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("OPENKIT_HOST_MARKER".into(), "from-the-host".into()),
    ]);
    let s = terms.spawn("w", None, options).unwrap();
    let mut att = terms.attach(&s.id, true).unwrap();
    let seen = read_until(&mut att, "END-OF-ENV").await;
    assert!(seen.contains("OPENKIT_HOST_MARKER=from-the-host"), "{seen}");
    assert!(seen.contains("TERM=xterm-256color"), "{seen}");
    assert!(
        std::env::var_os("HOME").is_some() && !seen.lines().any(|l| l.starts_with("HOME=")),
        "nothing of this process's own environment: {seen}"
    );
}

/// Collects every attention change the manager announces.
fn record_changes(
    terms: &TerminalManager,
) -> std::sync::Arc<std::sync::Mutex<Vec<openkit_core::attention::AttentionChange>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    terms.on_attention(std::sync::Arc::new(move |change| {
        sink.lock().unwrap().push(change);
    }));
    seen
}

fn wait_for_state(terms: &TerminalManager, wt: &str, state: AttentionState) -> AgentSession {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let sessions = terms.agent_sessions(wt);
        if let Some(s) = sessions.iter().find(|s| s.state == state) {
            return s.clone();
        }
        assert!(Instant::now() < deadline, "never {state:?}: {sessions:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_hooks_is_read_off_its_screen() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let changes = record_changes(&terms);
    // Works (output for two seconds), then asks and waits for an answer, then ends.
    let agent = "i=0; while [ $i -lt 20 ]; do echo working $i; sleep 0.1; i=$((i+1)); done; \
                 printf 'Allow execution of rm? (y/n) '; read answer; echo got $answer; exit 3";
    let s = terms
        .spawn("wt", Some("gemini".into()), opts(dir.path(), Some(agent)))
        .unwrap();
    assert_eq!(
        terms.agent_sessions("wt")[0].state,
        AttentionState::Starting
    );
    let working = wait_for_state(&terms, "wt", AttentionState::Working);
    assert_eq!(
        (working.source, working.agent.as_str()),
        (AttentionSource::Screen, "gemini")
    );
    let waiting = wait_for_state(&terms, "wt", AttentionState::WaitingForInput);
    assert_eq!(waiting.session_id, s.id);
    // The person answers: it exits with its code, and the exit stays visible.
    terms.write(&s.id, b"y\n").unwrap();
    let exited = wait_for_state(&terms, "wt", AttentionState::Exited);
    assert_eq!(exited.exit_code, Some(3));
    let states: Vec<AttentionState> = changes
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.session.state)
        .collect();
    assert_eq!(
        states,
        [
            AttentionState::Working,
            AttentionState::WaitingForInput,
            AttentionState::Exited
        ],
        "no flicker between the states"
    );
    assert!(
        changes
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.worktree_id == "wt")
    );
    // A shell is not an agent; a new session of the agent replaces the exited one.
    let shell = terms
        .spawn("wt", Some("terminal".into()), opts(dir.path(), None))
        .unwrap();
    assert!(matches!(
        terms.report_hook(&shell.id, HookEvent::Working, None),
        Err(openkit_pty::PtyError::NotAnAgent { .. })
    ));
    terms
        .spawn(
            "wt",
            Some("gemini".into()),
            opts(dir.path(), Some("sleep 30")),
        )
        .unwrap();
    let sessions = terms.agent_sessions("wt");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].state, AttentionState::Starting);
    terms.shutdown_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_hooks_are_believed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let changes = record_changes(&terms);
    let s = terms
        .spawn(
            "wt",
            Some("claude".into()),
            opts(dir.path(), Some("sleep 30")),
        )
        .unwrap();
    let now = terms
        .report_hook(
            &s.id,
            HookEvent::WaitingForInput,
            Some("May I run rm?".into()),
        )
        .unwrap();
    assert_eq!(
        (now.state, now.source),
        (AttentionState::WaitingForInput, AttentionSource::Hook)
    );
    assert_eq!(now.message.as_deref(), Some("May I run rm?"));
    let done = terms.report_hook(&s.id, HookEvent::Finished, None).unwrap();
    assert_eq!(done.state, AttentionState::Idle);
    let recorded = changes.lock().unwrap().clone();
    assert_eq!(recorded.len(), 2);
    assert!(recorded[1].finished_turn);
    // Killed by a person: gone, not announced as exited.
    assert!(terms.kill(&s.id));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(terms.agent_sessions("wt").is_empty());
    assert_eq!(changes.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_screen_reads_as_text_without_attaching() {
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let s = terms
        .spawn("wt", Some("terminal".into()), opts(dir.path(), None))
        .unwrap();
    terms
        .write(&s.id, b"printf 'screen-%s\\n' $((6*7))\n")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let screen = loop {
        let screen = terms.screen(&s.id).unwrap();
        if screen
            .text
            .lines()
            .any(|l| l.ends_with("screen-42") && !l.contains("printf"))
        {
            break screen;
        }
        assert!(Instant::now() < deadline, "never shown: {screen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((screen.rows, screen.cols), (24, 80));
    assert!(!screen.alternate_screen);
    assert!(!screen.text.ends_with('\n'), "no trailing blank rows");
    assert!(screen.cursor_row > 0, "the cursor moved below the output");
    assert_eq!(terms.list().len(), 1);
    assert!(matches!(
        terms.screen("nope"),
        Err(openkit_pty::PtyError::SessionNotFound { .. })
    ));
    terms.kill(&s.id);
}

#[tokio::test]
async fn agent_sessions_started_through_the_port_follow_the_scope_rules() {
    use openkit_core::agents::Agent;
    use openkit_core::ports::{AgentLaunch, Terminals};
    let dir = tempfile::tempdir().unwrap();
    let terms = TerminalManager::new();
    let launch = |command: &str| AgentLaunch {
        worktree_id: "w".into(),
        cwd: dir.path().to_path_buf(),
        agent: Agent::Claude,
        command: command.into(),
        env: vec![("OPENKIT_ACTOR".into(), "agent:w".into())],
        base_env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        shell: Some("/bin/sh".into()),
        supervisor: None,
    };
    // A shell-only session of the scope is replaced.
    let shell = terms
        .spawn("w", Some("claude".into()), opts(dir.path(), None))
        .unwrap();
    let first = terms
        .start_agent_session(launch("echo AGENT-$OPENKIT_ACTOR; sleep 30"))
        .await
        .unwrap();
    assert!(!first.reused);
    assert_ne!(first.session_id, shell.id);
    assert!(terms.get(&shell.id).is_err(), "the shell session was ended");
    let info = terms.get(&first.session_id).unwrap();
    assert_eq!(info.scope.as_deref(), Some("claude"));
    let mut att = terms.attach(&first.session_id, true).unwrap();
    read_until(&mut att, "AGENT-agent:w").await;
    // A live agent session is kept.
    let second = terms
        .start_agent_session(launch("echo OTHER; sleep 30"))
        .await
        .unwrap();
    assert!(second.reused);
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(terms.list_for_worktree("w").len(), 1);
    terms.shutdown_all();
}
