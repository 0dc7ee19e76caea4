//! The supervisor process itself (Linux): see the module docs of [`super`].

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

use super::SuperviseOptions;
use crate::perf::proc::ProcessTable;

/// How often the supervisor checks that OpenKit (its parent) is still there.
const PARENT_POLL: Duration = Duration::from_millis(250);
/// How often a teardown looks for what is left.
const TEARDOWN_POLL: Duration = Duration::from_millis(10);

/// Runs `opts` as a supervised run and returns the exit code to leave with (the
/// command's; a command killed by a signal makes the supervisor die of the same signal
/// where it can, else 128 + the signal). Blocks until the whole run is gone; call it
/// first thing in a process of its own (the `openkit __supervise` subcommand).
pub fn supervise(opts: SuperviseOptions) -> i32 {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("openkit supervisor: cannot adopt orphans ({e}); the run is not contained");
    }
    let parent = getppid();
    // Registered before the command starts, so its exit cannot be missed.
    let mut signals = match Signals::new([SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGQUIT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("openkit supervisor: cannot handle signals: {e}");
            return 127;
        }
    };
    let main = match std::process::Command::new(&opts.program)
        .args(&opts.args)
        .spawn()
    {
        // Reaped below with waitpid, like every other process of the run.
        Ok(child) => Pid::from_raw(child.id() as i32),
        Err(e) => {
            eprintln!(
                "openkit: cannot run {}: {e}",
                opts.program.to_string_lossy()
            );
            return 127;
        }
    };
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(PARENT_POLL);
            if getppid() != parent {
                // OpenKit is gone: end the run as if it had been stopped.
                let _ = kill(getpid(), Signal::SIGTERM);
                return;
            }
        }
    });

    let mut status = None;
    let mut polite = Signal::SIGTERM;
    for signal in signals.forever() {
        reap(main, &mut status);
        if status.is_some() {
            break;
        }
        match signal {
            SIGTERM => break,
            SIGHUP => {
                polite = Signal::SIGHUP;
                break;
            }
            // SIGINT/SIGQUIT from a terminal are meant for its foreground job.
            _ => {}
        }
    }
    tear_down(main, &mut status, polite, opts.grace);
    match status {
        Some(WaitStatus::Exited(_, code)) => code,
        Some(WaitStatus::Signaled(_, signal, _)) => {
            let _ = signal_hook::low_level::emulate_default_handler(signal as i32);
            128 + signal as i32
        }
        _ => 1,
    }
}

/// Reaps every child that has ended, noting the command's status; whether any child is
/// left (as a subreaper, no child left means nothing of the run is left).
fn reap(main: Pid, status: &mut Option<WaitStatus>) -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return true,
            Ok(ended @ (WaitStatus::Exited(pid, _) | WaitStatus::Signaled(pid, _, _))) => {
                if pid == main {
                    *status = Some(ended);
                }
            }
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Ends every descendant: `polite` once each, then `SIGKILL` after `grace`, until no
/// child is left.
fn tear_down(main: Pid, status: &mut Option<WaitStatus>, polite: Signal, grace: Duration) {
    let me = std::process::id();
    let deadline = Instant::now() + grace;
    let mut told = std::collections::HashSet::new();
    while reap(main, status) {
        let signal = if Instant::now() >= deadline {
            Signal::SIGKILL
        } else {
            polite
        };
        for pid in ProcessTable::read().descendants(me) {
            if (signal == Signal::SIGKILL || told.insert(pid))
                && let Ok(pid) = i32::try_from(pid)
            {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
        std::thread::sleep(TEARDOWN_POLL);
    }
}
