//! The terminal holder: a real holder (in a thread of this test process) serving real
//! PTYs to clients, and the checks a server makes before it trusts a holder.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use openkit_pty::holder::{self, HolderClient, HolderError, HolderOptions};
use openkit_pty::{SpawnOptions, TerminalManager};

/// A holder for `project` listening in a fresh directory (kept for the whole test run: a
/// holder whose socket disappears exits, and this one shares our process).
fn start_holder(project: &str) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let socket = holder::socket_path(&dir, std::path::Path::new(project));
    let opts = HolderOptions {
        socket: socket.clone(),
        project: project.to_string(),
        idle: Duration::from_secs(3600),
    };
    std::thread::spawn(move || holder::serve(opts));
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the holder never listened");
        std::thread::sleep(Duration::from_millis(5));
    }
    socket
}

fn opts(startup: Option<&str>) -> SpawnOptions {
    SpawnOptions {
        cwd: std::env::temp_dir(),
        cols: 80,
        rows: 24,
        startup_command: startup.map(str::to_string),
        shell: Some("/bin/sh".into()),
        ..SpawnOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_in_a_holder_are_found_by_the_next_client() {
    let socket = start_holder("/projects/a");
    let first =
        TerminalManager::with_holder(HolderClient::connect(&socket, "/projects/a", None).unwrap());
    let s = first
        .spawn(
            "wt",
            Some("terminal".into()),
            opts(Some(
                "echo from-$((6*7)); read line; echo got-$line; exit 5",
            )),
        )
        .unwrap();
    let mut att = first.attach(&s.id, true).unwrap();
    let mut seen = String::from_utf8_lossy(&att.restore).into_owned();
    while !seen.contains("from-42") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), att.output.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(att);
    drop(first);

    // Another client (the next server) sees the same session and its screen.
    let next =
        TerminalManager::with_holder(HolderClient::connect(&socket, "/projects/a", None).unwrap());
    assert_eq!(
        next.find_scoped("wt", "terminal").map(|i| i.id),
        Some(s.id.clone())
    );
    assert_eq!(next.len(), 1);
    let mut att = next.attach(&s.id, true).unwrap();
    assert!(String::from_utf8_lossy(&att.restore).contains("from-42"));
    assert!(
        next.screen(&s.id).unwrap().text.contains("from-42"),
        "the screen, as text"
    );
    next.resize(&s.id, 100, 30).unwrap();
    next.write(&s.id, b"yes\n").unwrap();
    let mut seen = String::new();
    while let Ok(Some(chunk)) =
        tokio::time::timeout(Duration::from_secs(10), att.output.recv()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("got-yes"), "{seen:?}");
    let code = tokio::time::timeout(Duration::from_secs(10), att.exit.wait_for(|c| c.is_some()))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code, 5);
    // Errors cross the socket as they are.
    assert!(matches!(
        next.write("nope", b"x"),
        Err(openkit_pty::PtyError::SessionNotFound { .. })
    ));
    assert!(!next.kill("nope"));
}

/// A fake holder answering `hello` with `answer`.
fn fake_holder(answer: serde_json::Value) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let socket = dir.join("fake.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = writeln!(&stream, "{}", serde_json::json!({ "ok": answer }));
        }
    });
    socket
}

#[test]
fn a_holder_of_another_project_user_or_protocol_is_refused() {
    let me = nix::unistd::getuid().as_raw();
    let hello = |project: &str, uid: u32, version: u32| serde_json::json!({ "version": version, "project": project, "pid": 1, "uid": uid });
    let ok = fake_holder(hello("/p", me, holder::protocol::VERSION));
    assert!(HolderClient::connect(&ok, "/p", None).is_ok());
    for (socket, why) in [
        (
            fake_holder(hello("/other", me, holder::protocol::VERSION)),
            "it serves /other",
        ),
        (
            fake_holder(hello("/p", me + 1, holder::protocol::VERSION)),
            "it runs as user",
        ),
        (fake_holder(hello("/p", me, 999)), "protocol 999"),
    ] {
        match HolderClient::connect(&socket, "/p", None) {
            Err(HolderError::Foreign { reason, .. }) => assert!(reason.contains(why), "{reason}"),
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
    }
    let nowhere = std::env::temp_dir().join("no-such-holder.sock");
    assert!(matches!(
        HolderClient::connect(&nowhere, "/p", None),
        Err(HolderError::Unreachable(..))
    ));
}

#[test]
fn a_second_holder_never_takes_a_live_ones_socket() {
    let socket = start_holder("/projects/b");
    let again = HolderOptions {
        socket: socket.clone(),
        project: "/projects/b".into(),
        idle: Duration::from_secs(60),
    };
    let err = holder::serve(again).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(HolderClient::connect(&socket, "/projects/b", None).is_ok());
}

#[test]
fn attention_changes_reach_the_latest_listener_once() {
    use openkit_core::attention::{AttentionState, HookEvent};
    use std::sync::{Arc, Mutex};
    let socket = start_holder("/projects/c");
    let terms =
        TerminalManager::with_holder(HolderClient::connect(&socket, "/projects/c", None).unwrap());
    let (first, second) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    for seen in [&first, &second] {
        let seen = Arc::clone(seen);
        terms.on_attention(Arc::new(move |change| seen.lock().unwrap().push(change)));
    }
    let s = terms
        .spawn("wt", Some("claude".into()), opts(Some("sleep 30")))
        .unwrap();
    let now = terms
        .report_hook(&s.id, HookEvent::WaitingForInput, Some("May I?".into()))
        .unwrap();
    assert_eq!(now.state, AttentionState::WaitingForInput);
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the change never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        second.lock().unwrap().len(),
        1,
        "one subscription, one announcement"
    );
    assert!(
        first.lock().unwrap().is_empty(),
        "the replaced listener hears nothing"
    );
    assert_eq!(
        second.lock().unwrap()[0].session.message.as_deref(),
        Some("May I?")
    );
    assert!(terms.kill(&s.id));
}
