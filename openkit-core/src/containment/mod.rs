//! Containment: nothing a dev server or terminal starts outlives its run.
//!
//! A process group alone does not hold a run together: a daemon that calls `setsid`
//! leaves the group, and one that also execs with a scrubbed environment (`setsid env -i
//! ...`) loses every tag OpenKit could recognise it by. So on Linux each run is started
//! under a small *supervisor*, a second copy of OpenKit's own binary (`openkit
//! __supervise`), which:
//!
//! - marks itself as the *child subreaper* of everything below it
//!   (`PR_SET_CHILD_SUBREAPER`), so a double-forked or `setsid` descendant whose parent
//!   exits is re-parented to the supervisor instead of to init: membership of the run is
//!   the supervisor's process tree, exactly;
//! - runs the real command as its only direct child and mirrors its exit status;
//! - on `SIGTERM` or `SIGHUP`, on the exit of the command, or when OpenKit itself goes
//!   away (its parent changes, e.g. after a `kill -9` of the server), signals every
//!   descendant, waits up to its grace period, then kills what is left and reaps it all;
//!   `SIGINT` and `SIGQUIT` (a terminal's Ctrl-C, meant for the foreground job) are not
//!   its business and are ignored by it only.
//!
//! [`Supervisor`] says how to start one (the composition root knows the binary; core is
//! handed the value). [`RunRecords`] keeps the supervisor's pid and start time of each
//! running dev server on disk, so that a server started after a crash reaps a run the
//! crash left (in the window before its supervisor noticed) instead of listing it as
//! stopped while its ports stay taken.
//!
//! Elsewhere (no subreaper) runs are started directly and contained by their process
//! group only.

mod records;
#[cfg(target_os = "linux")]
mod supervise;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

pub use records::{RunRecord, RunRecords};
#[cfg(target_os = "linux")]
pub use supervise::supervise;

/// The hidden subcommand a supervisor is started with.
pub const SUPERVISE_SUBCOMMAND: &str = "__supervise";

/// How to start a supervisor: a program plus the arguments that select its supervising
/// mode (for the `openkit` binary: itself and [`SUPERVISE_SUBCOMMAND`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Supervisor {
    program: PathBuf,
    leading_args: Vec<OsString>,
}

impl Supervisor {
    /// A supervisor started as `program leading_args... --grace-ms N -- command...`.
    pub fn new(program: impl Into<PathBuf>, leading_args: Vec<OsString>) -> Self {
        Supervisor {
            program: program.into(),
            leading_args,
        }
    }

    /// The supervisor program.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// The argument list that runs `command args...` under this supervisor, which gives
    /// the run `grace` between its polite signal and `SIGKILL` when it is torn down.
    pub fn args_for(&self, grace: Duration, command: &OsStr, args: &[OsString]) -> Vec<OsString> {
        let mut out = self.leading_args.clone();
        out.push("--grace-ms".into());
        out.push(grace.as_millis().to_string().into());
        out.push("--".into());
        out.push(command.to_owned());
        out.extend(args.iter().cloned());
        out
    }
}

/// A supervisor's command line, parsed: what [`supervise`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperviseOptions {
    /// Between the polite signal and `SIGKILL` when the run is torn down.
    pub grace: Duration,
    /// The command to run.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// A supervisor command line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("usage: {SUPERVISE_SUBCOMMAND} [--grace-ms N] -- <command> [args...]: {0}")]
pub struct SuperviseUsage(String);

impl SuperviseOptions {
    /// Parses the arguments after [`SUPERVISE_SUBCOMMAND`]: `[--grace-ms N] -- command
    /// args...` (the inverse of [`Supervisor::args_for`]).
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, SuperviseUsage> {
        let mut args = args.into_iter();
        let mut grace = Duration::from_secs(2);
        loop {
            let arg = args
                .next()
                .ok_or_else(|| SuperviseUsage("no command".into()))?;
            match arg.to_str() {
                Some("--") => break,
                Some("--grace-ms") => {
                    let ms = args
                        .next()
                        .and_then(|v| v.to_str()?.parse::<u64>().ok())
                        .ok_or_else(|| SuperviseUsage("--grace-ms needs milliseconds".into()))?;
                    grace = Duration::from_millis(ms);
                }
                _ => {
                    return Err(SuperviseUsage(format!(
                        "unexpected argument {}",
                        arg.to_string_lossy()
                    )));
                }
            }
        }
        let program = args
            .next()
            .ok_or_else(|| SuperviseUsage("no command".into()))?;
        Ok(SuperviseOptions {
            grace,
            program,
            args: args.collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(items: &[&str]) -> Vec<OsString> {
        items.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_supervised_command_line_parses_back_to_the_command() {
        let sup = Supervisor::new("/bin/openkit", os(&[SUPERVISE_SUBCOMMAND]));
        let line = sup.args_for(
            Duration::from_millis(1500),
            OsStr::new("sh"),
            &os(&["-c", "--grace-ms 9 -- x"]),
        );
        assert_eq!(
            line,
            os(&[
                "__supervise",
                "--grace-ms",
                "1500",
                "--",
                "sh",
                "-c",
                "--grace-ms 9 -- x"
            ])
        );
        let parsed = SuperviseOptions::parse(line.into_iter().skip(1)).unwrap();
        assert_eq!(
            parsed,
            SuperviseOptions {
                grace: Duration::from_millis(1500),
                program: "sh".into(),
                args: os(&["-c", "--grace-ms 9 -- x"]),
            }
        );
    }

    #[test]
    fn bad_supervisor_lines_are_usage_errors() {
        for line in [
            &[][..],
            &["--"][..],
            &["--grace-ms"][..],
            &["--grace-ms", "soon", "--", "sh"][..],
            &["sh"][..],
        ] {
            assert!(SuperviseOptions::parse(os(line)).is_err(), "{line:?}");
        }
        let defaulted = SuperviseOptions::parse(os(&["--", "true"])).unwrap();
        assert_eq!(defaulted.grace, Duration::from_secs(2));
        assert!(defaulted.args.is_empty());
    }
}
