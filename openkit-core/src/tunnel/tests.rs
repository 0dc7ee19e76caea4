use std::path::Path;

use super::*;

/// A fake `ngrok` that records its arguments, pid and environment, starts a child,
/// prints ngrok's JSON log lines with a URL numbered by run, and waits; with
/// `FAKE_MODE=fail` it logs an error and exits 1.
const FAKE_NGROK: &str = r#"#!/bin/sh
echo "$@" > "$FAKE_DIR/args"
echo $$ > "$FAKE_DIR/pid"
echo "token=$NGROK_AUTHTOKEN gh=$GH_TOKEN" > "$FAKE_DIR/env"
n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FAKE_DIR/count"
if [ "$FAKE_MODE" = fail ]; then
  echo '{"lvl":"eror","msg":"session closed","err":"authentication failed: bad authtoken"}'
  exit 1
fi
sleep 600 &
echo $! > "$FAKE_DIR/child"
echo '{"lvl":"info","msg":"no configuration paths supplied"}'
echo "{\"lvl\":\"info\",\"msg\":\"started tunnel\",\"obj\":\"tunnels\",\"addr\":\"http://localhost:$2\",\"url\":\"https://fake-$n.ngrok.app\"}"
wait
"#;

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let ngrok = bin.join("ngrok");
        std::fs::write(&ngrok, FAKE_NGROK).unwrap();
        std::fs::set_permissions(&ngrok, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn host(&self, mode: &str) -> HostEnv {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        HostEnv::from_vars([
            ("PATH", path.as_str()),
            ("FAKE_DIR", self.dir.path().to_str().unwrap()),
            ("FAKE_MODE", mode),
            ("GH_TOKEN", "host-secret"),
        ])
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn tunnel(&self, mode: &str, settings: TunnelSettings) -> Tunnel {
        Tunnel::new(
            settings,
            self.host(mode),
            None,
            self.dir.path().to_path_buf(),
        )
    }
}

fn alive(pid: &str) -> bool {
    let pid: i32 = pid.parse().unwrap();
    // A zombie is not alive: look at /proc's state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next())
        })
        .is_some_and(|state| state != 'Z')
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn log_lines() {
    assert_eq!(
        parse_log_line(
            r#"{"lvl":"info","msg":"started tunnel","url":"https://a-b.ngrok-free.app"}"#
        ),
        LogLine::Started("https://a-b.ngrok-free.app".into())
    );
    for odd in [
        r#"{"msg":"started tunnel","url":"javascript:alert(1)"}"#,
        r#"{"msg":"started tunnel","url":"https://u@evil/x"}"#,
        r#"{"msg":"started tunnel"}"#,
        "not json",
        "[1]",
    ] {
        assert_eq!(parse_log_line(odd), LogLine::Other, "{odd}");
    }
    assert_eq!(
        parse_log_line(r#"{"lvl":"eror","msg":"x","err":"ERR_NGROK_105"}"#),
        LogLine::Error("ERR_NGROK_105".into())
    );
    assert_eq!(
        parse_log_line(r#"{"lvl":"crit","msg":"command failed","err":"<nil>"}"#),
        LogLine::Error("command failed".into())
    );
}

#[tokio::test]
async fn enable_starts_ngrok_towards_the_port_reads_the_url_and_reuses_it() {
    let fake = Fake::new();
    let tunnel = fake.tunnel(
        "ok",
        TunnelSettings {
            authtoken: Some("configured-token".into()),
            ..TunnelSettings::default()
        },
    );
    assert_eq!(tunnel.status().state, TunnelState::Stopped);
    let status = tunnel.enable(4545, false).await.unwrap();
    assert_eq!(status.state, TunnelState::Running);
    assert!(status.enabled);
    assert_eq!(
        status.public_url.as_deref(),
        Some("https://fake-1.ngrok.app")
    );
    assert_eq!(status.local_port, Some(4545));
    assert!(status.started_at.is_some());
    assert_eq!(
        fake.read("args"),
        "http 4545 --log stdout --log-format json"
    );
    // The configured authtoken is handed over; the host's credentials are not.
    assert_eq!(fake.read("env"), "token=configured-token gh=");
    // Enabling again keeps the same process and URL.
    let pid = fake.read("pid");
    let again = tunnel.enable(4545, false).await.unwrap();
    assert_eq!(again.public_url, status.public_url);
    assert_eq!(fake.read("pid"), pid);
    // Regenerating restarts it: a new URL, the old process and its child gone.
    let child = fake.read("child");
    let fresh = tunnel.enable(4545, true).await.unwrap();
    assert_eq!(
        fresh.public_url.as_deref(),
        Some("https://fake-2.ngrok.app")
    );
    assert!(!alive(&pid) && !alive(&child));
    // Disable stops it and its children.
    let (pid, child) = (fake.read("pid"), fake.read("child"));
    assert!(alive(&pid) && alive(&child));
    let stopped = tunnel.disable().await;
    assert_eq!(stopped, TunnelStatus::stopped());
    until("ngrok and its child end", || !alive(&pid) && !alive(&child)).await;
}

#[tokio::test]
async fn a_crash_is_reported_in_the_status() {
    let fake = Fake::new();
    let tunnel = fake.tunnel("ok", TunnelSettings::default());
    tunnel.enable(4546, false).await.unwrap();
    let pid: i32 = fake.read("pid").parse().unwrap();
    nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    until("the crash is noticed", || {
        tunnel.status().state == TunnelState::Error
    })
    .await;
    let status = tunnel.status();
    assert!(!status.enabled);
    assert_eq!(status.public_url, None);
    assert!(
        status
            .error
            .as_deref()
            .is_some_and(|e| e.contains("ngrok exited")),
        "{status:?}"
    );
    // It can be started again.
    let restarted = tunnel.enable(4546, false).await.unwrap();
    assert_eq!(
        restarted.public_url.as_deref(),
        Some("https://fake-2.ngrok.app")
    );
    tunnel.disable().await;
}

#[tokio::test]
async fn start_failures_say_why() {
    let fake = Fake::new();
    let failing = fake.tunnel("fail", TunnelSettings::default());
    let err = failing.enable(4547, false).await.unwrap_err();
    assert_eq!(err.code(), "ngrok_start_failed");
    assert!(err.to_string().contains("bad authtoken"), "{err}");
    let status = failing.status();
    assert_eq!(status.state, TunnelState::Error);
    assert!(status.error.unwrap().contains("bad authtoken"));

    let missing = Tunnel::new(
        TunnelSettings::default(),
        HostEnv::from_vars([("PATH", "/nonexistent")]),
        None,
        fake.dir.path().to_path_buf(),
    );
    let err = missing.enable(4547, false).await.unwrap_err();
    assert!(matches!(err, TunnelError::NotFound(_)), "{err}");

    let named = fake.tunnel(
        "ok",
        TunnelSettings {
            program: Some(Path::new("/nonexistent/ngrok").to_path_buf()),
            ..TunnelSettings::default()
        },
    );
    assert!(matches!(
        named.enable(4547, false).await,
        Err(TunnelError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_silent_ngrok_times_out_and_is_stopped() {
    use std::os::unix::fs::PermissionsExt;
    let fake = Fake::new();
    let silent = fake.dir.path().join("silent");
    std::fs::write(
        &silent,
        "#!/bin/sh\necho $$ > \"$FAKE_DIR/pid\"\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&silent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tunnel = fake.tunnel(
        "ok",
        TunnelSettings {
            program: Some(silent),
            start_timeout: Some(Duration::from_millis(500)),
            ..TunnelSettings::default()
        },
    );
    let err = tunnel.enable(4548, false).await.unwrap_err();
    assert!(matches!(err, TunnelError::Timeout(_)), "{err}");
    let pid = fake.read("pid");
    until("the silent process ends", || !alive(&pid)).await;
    assert_eq!(tunnel.status().state, TunnelState::Error);
}
