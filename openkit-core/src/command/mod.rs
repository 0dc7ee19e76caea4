//! The one way OpenKit runs an external command.
//!
//! Every child process that runs to completion (git, install commands, agent CLI
//! installs) and every app it launches (editors, terminals, the file manager) is started
//! by a [`CommandRunner`], which in one place:
//!
//! - builds the child's environment: `env_clear()`, then the host's variables
//!   ([`HostEnv`]) minus what the [`env`] policy scrubs (credentials, variables that point
//!   at another repository), then the command's own additions;
//! - bounds concurrency with two budgets ([`Budget::Short`] for git and launchers,
//!   [`Budget::Long`] for installs), so a slow install cannot starve git;
//! - starts the child in its own process group and applies a timeout (per command, with
//!   a default per budget): on timeout, or when the caller gives up and drops the future,
//!   the whole group is killed, grandchildren included;
//! - reports a redacted [`CommandRecord`] (duration, exit code, whether it timed out) to
//!   its [`CommandObserver`], the backbone, which writes the ops log.
//!
//! What does not come here: process trees OpenKit supervises for as long as they live
//! (dev servers and port discovery in `devserver/`, terminals in openkit-pty). They have
//! their own process-group teardown.

pub mod env;
mod record;

pub use record::{CommandObserver, CommandRecord, RECORD_OUTPUT_LIMIT};

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Semaphore;

use crate::error::{DomainError, ErrorKind};
use crate::host::HostEnv;

/// Commands of the [`Budget::Short`] budget that may run at once, by default.
pub const DEFAULT_SHORT_LIMIT: usize = 16;
/// Commands of the [`Budget::Long`] budget that may run at once, by default.
pub const DEFAULT_LONG_LIMIT: usize = 2;
/// Bytes of each output stream a command keeps by default (the rest is read and dropped).
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024 * 1024;
/// How long a killed command's exit and pipes are waited for before giving up on them.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Which concurrency budget a command draws from; each has its own default timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Budget {
    /// Short commands: git, launchers, helpers. The default.
    #[default]
    Short,
    /// Long commands: dependency and tool installs.
    Long,
}

impl Budget {
    /// The timeout of a command of this budget that does not set its own: 5 minutes for
    /// short commands, 30 for long ones.
    pub const fn default_timeout(self) -> Duration {
        match self {
            Budget::Short => Duration::from_secs(5 * 60),
            Budget::Long => Duration::from_secs(30 * 60),
        }
    }
}

/// One command to run: program, arguments, working directory, environment additions,
/// the scrubbed variables it may receive anyway, timeout and budget.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    program: OsString,
    args: Vec<OsString>,
    cwd: PathBuf,
    env: Vec<(OsString, OsString)>,
    allowed: Vec<OsString>,
    timeout: Option<Duration>,
    budget: Budget,
    output_limit: usize,
    secret_stdout: bool,
    tap: Option<OutputTap>,
    pid_slot: Option<PidSlot>,
}

/// Receives the pid of a command's child (its process-group id) once it is spawned, for
/// callers that must reach processes the command leaves behind (hook steps).
pub type PidSlot = Arc<std::sync::OnceLock<u32>>;

/// Receives a copy of a command's output (stdout and stderr, interleaved in arrival
/// order) while it runs, for commands that print something the caller needs before they
/// finish (the one-time code of a device login).
pub type OutputTap = tokio::sync::mpsc::UnboundedSender<Vec<u8>>;

impl CommandSpec {
    /// `program` (a name looked up on the child's `PATH`, or a path) run in `cwd`.
    pub fn new(program: impl Into<OsString>, cwd: impl Into<PathBuf>) -> Self {
        CommandSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: Vec::new(),
            allowed: Vec::new(),
            timeout: None,
            budget: Budget::Short,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            secret_stdout: false,
            tap: None,
            pid_slot: None,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets a variable for this command only. Additions are the caller's choice and are
    /// never scrubbed (a secret-looking value is still redacted from the record).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several variables for this command only (see [`CommandSpec::env`]).
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Lets the host variable `name` through although the [`env`] policy would scrub it
    /// (an install behind a private registry needs `NPM_TOKEN`). Its value is redacted
    /// from the record.
    pub fn allow_env(mut self, name: impl Into<OsString>) -> Self {
        self.allowed.push(name.into());
        self
    }

    /// Kills the command (its whole process group) after `timeout` instead of its
    /// budget's default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Draws from `budget` (default [`Budget::Short`]).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Keeps at most `bytes` of each output stream (default [`DEFAULT_OUTPUT_LIMIT`]).
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// The command prints a secret on stdout (`gh auth token`): its record in the ops log
    /// shows `[REDACTED]` instead of the output (the caller still gets it).
    pub fn secret_stdout(mut self) -> Self {
        self.secret_stdout = true;
        self
    }

    /// Sends a copy of every chunk of output to `tap` while the command runs.
    pub fn tap(mut self, tap: OutputTap) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Puts the child's pid (which is also its process-group id) into `slot` once it is
    /// spawned.
    pub fn report_pid(mut self, slot: PidSlot) -> Self {
        self.pid_slot = Some(slot);
        self
    }

    /// The program.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The working directory.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The timeout that applies: the command's own or its budget's default.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout
            .unwrap_or_else(|| self.budget.default_timeout())
    }

    fn program_name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

/// What a command that ran to completion produced.
#[derive(Debug)]
pub struct CommandOutput {
    /// How it exited.
    pub status: ExitStatus,
    /// Standard output (at most the spec's output limit).
    pub stdout: Vec<u8>,
    /// Standard error (at most the spec's output limit).
    pub stderr: Vec<u8>,
    /// True when either stream was longer than the limit and was cut.
    pub truncated: bool,
    /// Wall-clock duration of the process (not counting the wait for a budget slot).
    pub duration: Duration,
}

impl CommandOutput {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code (`None` when a signal ended it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A command that could not be run to completion. (A command that ran and failed is not
/// an error here: see [`CommandOutput::status`].)
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started (not found, not executable, bad directory).
    #[error("could not start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The command ran past its timeout; it and every process of its group were killed.
    #[error(
        "{program} did not finish within {}; it was stopped with every process it started",
        human(*timeout)
    )]
    TimedOut {
        /// The program.
        program: String,
        /// The timeout that applied.
        timeout: Duration,
    },
    /// Waiting for the command or reading its output failed.
    #[error("could not read the output of {program}: {source}")]
    Io {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl DomainError for CommandError {
    fn kind(&self) -> ErrorKind {
        match self {
            CommandError::Spawn { .. } | CommandError::TimedOut { .. } => ErrorKind::Unavailable,
            CommandError::Io { .. } => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CommandError::Spawn { .. } => "COMMAND_UNAVAILABLE",
            CommandError::TimedOut { .. } => "COMMAND_TIMED_OUT",
            CommandError::Io { .. } => "COMMAND_IO_ERROR",
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        let (CommandError::Spawn { program, .. }
        | CommandError::TimedOut { program, .. }
        | CommandError::Io { program, .. }) = self;
        vec![("command", program.clone())]
    }
}

/// `90 s`, `1.5 s`, `250 ms`.
fn human(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The two budgets. A runner and its clones share them.
struct Limits {
    short: Semaphore,
    long: Semaphore,
    short_max: usize,
    long_max: usize,
}

impl Limits {
    fn new(short: usize, long: usize) -> Self {
        let (short, long) = (short.max(1), long.max(1));
        Limits {
            short: Semaphore::new(short),
            long: Semaphore::new(long),
            short_max: short,
            long_max: long,
        }
    }

    fn of(&self, budget: Budget) -> (&Semaphore, usize) {
        match budget {
            Budget::Short => (&self.short, self.short_max),
            Budget::Long => (&self.long, self.long_max),
        }
    }
}

/// Runs external commands: environment, budgets, process groups, timeouts, records.
///
/// Cheap to clone; clones share the environment and the budgets.
#[derive(Clone)]
pub struct CommandRunner {
    host: Arc<HostEnv>,
    limits: Arc<Limits>,
    observer: Option<Arc<dyn CommandObserver>>,
}

impl fmt::Debug for CommandRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the variables' values: they may be secrets.
        let env = format!("host ({} variables)", self.host.vars().count());
        f.debug_struct("CommandRunner")
            .field("env", &env)
            .field("short_limit", &self.limits.short_max)
            .field("long_limit", &self.limits.long_max)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl CommandRunner {
    /// A runner whose children get `host` (minus what the [`env`] policy scrubs) and
    /// nothing else from the process OpenKit runs in. The frontend builds `host` once
    /// (`HostEnv::from_vars(std::env::vars_os())`).
    pub fn new(host: HostEnv) -> Self {
        CommandRunner {
            host: Arc::new(host),
            limits: Arc::new(Limits::new(DEFAULT_SHORT_LIMIT, DEFAULT_LONG_LIMIT)),
            observer: None,
        }
    }

    /// The same runner with its own budgets of `short` and `long` concurrent commands
    /// (at least 1 each). Clones made before do not share the new budgets.
    pub fn with_limits(mut self, short: usize, long: usize) -> Self {
        self.limits = Arc::new(Limits::new(short, long));
        self
    }

    /// The same runner (sharing environment and budgets), reporting to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CommandObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The observer commands are reported to, if any.
    pub fn observer(&self) -> Option<&Arc<dyn CommandObserver>> {
        self.observer.as_ref()
    }

    /// The host environment children start from.
    pub fn host(&self) -> &HostEnv {
        &self.host
    }

    /// How many commands of `budget` are running now.
    pub fn in_flight(&self, budget: Budget) -> usize {
        let (semaphore, max) = self.limits.of(budget);
        max.saturating_sub(semaphore.available_permits())
    }

    /// Runs `spec` to completion: waits for a slot of its budget, starts it in its own
    /// process group with stdin from `/dev/null`, collects its output, and records it.
    ///
    /// On timeout the whole process group is killed and [`CommandError::TimedOut`]
    /// returned. Dropping the future kills the group as well.
    pub async fn run(&self, spec: CommandSpec) -> Result<CommandOutput, CommandError> {
        let (semaphore, _) = self.limits.of(spec.budget);
        let _permit = semaphore
            .acquire()
            .await
            .expect("the command budgets are never closed");
        let timeout = spec.effective_timeout();
        let (command, secrets) = self.command(&spec);
        let mut command = tokio::process::Command::from(command);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                let note = format!("[openkit] could not start: {source}");
                self.report(&spec, None, started.elapsed(), "", &note, false, &secrets);
                return Err(CommandError::Spawn {
                    program: spec.program_name(),
                    source,
                });
            }
        };
        if let (Some(slot), Some(pid)) = (&spec.pid_slot, child.id()) {
            let _ = slot.set(pid);
        }
        let mut group = GroupGuard::new(child.id());
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let limit = spec.output_limit;
        let tap = spec.tap.as_ref();
        let work = async {
            tokio::join!(
                capture(stdout, limit, tap),
                capture(stderr, limit, tap),
                child.wait()
            )
        };
        tokio::pin!(work);
        let mut timed_out = false;
        let finished = match tokio::time::timeout(timeout, &mut work).await {
            Ok(done) => Some(done),
            Err(_) => {
                timed_out = true;
                group.kill();
                tokio::time::timeout(KILL_GRACE, &mut work).await.ok()
            }
        };
        group.disarm();
        let duration = started.elapsed();
        let (out, err, status) = finished.unwrap_or_else(|| {
            let gone = io::Error::new(io::ErrorKind::TimedOut, "the killed command did not exit");
            (Captured::default(), Captured::default(), Err(gone))
        });
        let exit_code = status.as_ref().ok().and_then(ExitStatus::code);
        let mut stderr_text = String::from_utf8_lossy(&err.bytes).into_owned();
        if timed_out {
            if !stderr_text.is_empty() && !stderr_text.ends_with('\n') {
                stderr_text.push('\n');
            }
            stderr_text.push_str(&format!(
                "[openkit] timed out after {}; the process group was killed",
                human(timeout)
            ));
        }
        self.report(
            &spec,
            exit_code,
            duration,
            &if spec.secret_stdout && !out.bytes.is_empty() {
                crate::redact::REDACTED.to_string()
            } else {
                String::from_utf8_lossy(&out.bytes).into_owned()
            },
            &stderr_text,
            timed_out,
            &secrets,
        );
        if timed_out {
            return Err(CommandError::TimedOut {
                program: spec.program_name(),
                timeout,
            });
        }
        let io_failure = |source| CommandError::Io {
            program: spec.program_name(),
            source,
        };
        let status = status.map_err(io_failure)?;
        if let Some(e) = out.error.or(err.error) {
            return Err(io_failure(e));
        }
        Ok(CommandOutput {
            status,
            stdout: out.bytes,
            stderr: err.bytes,
            truncated: out.truncated || err.truncated,
            duration,
        })
    }

    /// Starts `spec` and returns its pid without waiting for it: for apps the user works
    /// in (an editor, a terminal), which live as long as the user wants. The child gets
    /// the same environment as [`CommandRunner::run`]'s, its own process group (so a
    /// Ctrl-C meant for the server does not reach it) and null stdio; it draws from no
    /// budget and has no timeout. A background thread reaps it and reports its record
    /// when it exits.
    pub fn spawn_detached(&self, spec: CommandSpec) -> Result<u32, CommandError> {
        let (mut command, secrets) = self.command(&spec);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                let note = format!("[openkit] could not start: {source}");
                self.report(&spec, None, started.elapsed(), "", &note, false, &secrets);
                return Err(CommandError::Spawn {
                    program: spec.program_name(),
                    source,
                });
            }
        };
        let pid = child.id();
        let runner = self.clone();
        let reaper = std::thread::Builder::new()
            .name("openkit-detached".into())
            .spawn(move || {
                let exit_code = child.wait().ok().and_then(|s| s.code());
                runner.report(&spec, exit_code, started.elapsed(), "", "", false, &secrets);
            });
        if let Err(e) = reaper {
            tracing::warn!("could not start a thread to reap pid {pid}: {e}");
        }
        Ok(pid)
    }

    /// The child's command line and environment, and the values of the secrets it gets
    /// (to redact from its record).
    fn command(&self, spec: &CommandSpec) -> (std::process::Command, Vec<String>) {
        let mut command = std::process::Command::new(&spec.program);
        command.args(&spec.args).current_dir(&spec.cwd);
        let mut secrets = Vec::new();
        command.env_clear();
        for (name, value) in self.host.vars() {
            if env::passes(name, &spec.allowed) {
                if env::is_secret(name) {
                    secrets.push(value.to_string_lossy().into_owned());
                }
                command.env(name, value);
            }
        }
        for (name, value) in &spec.env {
            if env::is_secret(name) {
                secrets.push(value.to_string_lossy().into_owned());
            }
            command.env(name, value);
        }
        (command, secrets)
    }

    /// Hands the redacted record of a finished command to the observer.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        spec: &CommandSpec,
        exit_code: Option<i32>,
        duration: Duration,
        stdout: &str,
        stderr: &str,
        timed_out: bool,
        secrets: &[String],
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let record = CommandRecord {
            command: spec.program_name(),
            args: spec
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cwd: spec.cwd.clone(),
            exit_code,
            duration,
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
            timed_out,
        };
        observer.command_finished(&record.redacted(secrets));
    }
}

/// Kills a child's process group when dropped while armed (the caller gave up on the
/// command), or when told to (timeout).
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn new(pid: Option<u32>) -> Self {
        // The child leads its own group (`process_group(0)`), so its pid is the group id.
        // Never 0 or 1: those would address our own group or every process.
        let pgid = pid
            .and_then(|p| i32::try_from(p).ok())
            .filter(|&p| p > 1)
            .map(Pid::from_raw);
        GroupGuard { pgid }
    }

    fn kill(&self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }

    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One output stream, read to its end.
#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
    error: Option<io::Error>,
}

/// Reads `reader` to its end, keeping the first `limit` bytes.
async fn capture<R: AsyncRead + Unpin>(
    reader: Option<R>,
    limit: usize,
    tap: Option<&OutputTap>,
) -> Captured {
    let mut out = Captured::default();
    let Some(mut reader) = reader else {
        return out;
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if let Some(tap) = tap {
                    // The receiver may be gone (the caller got what it needed).
                    let _ = tap.send(buf[..n].to_vec());
                }
                let take = n.min(limit.saturating_sub(out.bytes.len()));
                out.bytes.extend_from_slice(&buf[..take]);
                out.truncated |= take < n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Keeps every record.
    #[derive(Default)]
    struct Records(Mutex<Vec<CommandRecord>>);

    impl CommandObserver for Records {
        fn command_finished(&self, record: &CommandRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

    fn host() -> HostEnv {
        HostEnv::empty().with_var("PATH", "/usr/local/bin:/usr/bin:/bin")
    }

    async fn within<F: std::future::Future>(fut: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(30), fut)
            .await
            .expect("the command finished in time")
    }

    #[tokio::test]
    async fn runs_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let records = Arc::new(Records::default());
        let runner = CommandRunner::new(host()).with_observer(records.clone());
        let out = within(runner.run(
            CommandSpec::new("sh", dir.path()).args(["-c", "echo out; echo err >&2; exit 3"]),
        ))
        .await
        .unwrap();
        assert_eq!(out.code(), Some(3));
        assert!(!out.success());
        assert_eq!(out.stdout_text(), "out\n");
        assert_eq!(out.stderr_text(), "err\n");
        let records = records.0.lock().unwrap();
        let [r] = records.as_slice() else {
            panic!("one record, got {records:?}")
        };
        assert_eq!(r.command, "sh");
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.cwd, dir.path());
        assert!(!r.timed_out);
        assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error_and_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let records = Arc::new(Records::default());
        let runner = CommandRunner::new(host()).with_observer(records.clone());
        let err = within(runner.run(CommandSpec::new("openkit-no-such-program", dir.path())))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "COMMAND_UNAVAILABLE");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        let records = records.0.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert!(records[0].stderr.contains("could not start"));
        assert_eq!(records[0].exit_code, None);
    }

    #[tokio::test]
    async fn a_timeout_is_an_error_and_is_recorded_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let records = Arc::new(Records::default());
        let runner = CommandRunner::new(host()).with_observer(records.clone());
        let started = Instant::now();
        let err = within(
            runner.run(
                CommandSpec::new("sh", dir.path())
                    .args(["-c", "echo begun; sleep 30"])
                    .timeout(Duration::from_millis(300)),
            ),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(err.code(), "COMMAND_TIMED_OUT");
        assert_eq!(
            err.to_string(),
            "sh did not finish within 300 ms; it was stopped with every process it started"
        );
        let records = records.0.lock().unwrap();
        let r = &records[0];
        assert!(r.timed_out);
        assert_eq!(r.exit_code, None, "killed by a signal");
        assert_eq!(r.stdout, "begun\n", "output before the timeout is kept");
        assert!(
            r.stderr
                .ends_with("timed out after 300 ms; the process group was killed")
        );
    }

    #[tokio::test]
    async fn output_beyond_the_limit_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let runner = CommandRunner::new(host());
        let out = within(
            runner.run(
                CommandSpec::new("sh", dir.path())
                    .args(["-c", "printf 0123456789"])
                    .output_limit(4),
            ),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout, b"0123");
        assert!(out.truncated);
    }

    #[tokio::test]
    async fn the_child_sees_only_the_host_env_and_its_additions() {
        let dir = tempfile::tempdir().unwrap();
        let runner = CommandRunner::new(
            host()
                .with_var("LANG", "C.UTF-8")
                .with_var("GITHUB_TOKEN", "ghs_not_for_children")
                .with_var("GIT_DIR", "/elsewhere/.git"),
        );
        let out = within(
            runner.run(
                CommandSpec::new("env", dir.path())
                    .env("EXTRA", "1")
                    .env("MY_API_KEY", "given-on-purpose"),
            ),
        )
        .await
        .unwrap();
        let mut names: Vec<String> = out
            .stdout_text()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
            .collect();
        names.sort();
        assert_eq!(names, ["EXTRA", "LANG", "MY_API_KEY", "PATH"]);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(300)), "300 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn debug_shows_no_values() {
        let runner = CommandRunner::new(host().with_var("GH_TOKEN", "ghp_secretvalue"));
        let shown = format!("{runner:?}");
        assert!(!shown.contains("ghp_secretvalue"), "{shown}");
        assert!(shown.contains("host (2 variables)"), "{shown}");
    }

    #[tokio::test]
    async fn secret_stdout_stays_out_of_the_record_and_taps_see_output_early() {
        let dir = tempfile::tempdir().unwrap();
        let records = Arc::new(Records::default());
        let runner = CommandRunner::new(host()).with_observer(records.clone());
        let out = within(
            runner.run(
                CommandSpec::new("sh", dir.path())
                    .args(["-c", "echo plain-looking-value"])
                    .secret_stdout(),
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            out.stdout_text(),
            "plain-looking-value\n",
            "the caller gets it"
        );
        assert_eq!(records.0.lock().unwrap()[0].stdout, "[REDACTED]");

        // The tap gets the first line while the command still runs.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let run = tokio::spawn({
            let runner = runner.clone();
            let spec = CommandSpec::new("sh", dir.path())
                .args(["-c", "echo code: ABCD-1234 >&2; sleep 30"])
                .timeout(Duration::from_secs(60))
                .tap(tx);
            async move { runner.run(spec).await }
        });
        let first = within(rx.recv()).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&first), "code: ABCD-1234\n");
        run.abort(); // dropping the run kills its process group
        assert!(run.await.unwrap_err().is_cancelled());
    }
}
