//! The processes of one dev-server run: its process group and its leader's descendants,
//! plus every process that still carries the run's tag in its environment.
//!
//! A dev server is started as the leader of a new process group, so one `killpg` reaches
//! everything it forks. A daemon that calls `setsid` (or `setpgid`) leaves that group, but
//! it keeps the environment it inherited: each run sets [`RUN_VAR`] to a fresh token, and
//! stopping a run also signals every process whose `/proc/<pid>/environ` holds that exact
//! entry. Only a process that execs with a scrubbed environment escapes both (documented
//! limit). On systems without `/proc` only the group is used.
//!
//! A tagged process stops matching the scan as soon as the kernel frees its memory, which
//! happens early in its exit, before it closes its files (and its listening sockets) and
//! becomes a zombie. So every tagged process found is remembered (pid and start time, so a
//! reused pid is not mistaken for it) and counts as alive until it is a zombie or gone.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::perf::proc::{self, ProcessTable};

/// The environment variable that tags every process of a run.
pub const RUN_VAR: &str = "OPENKIT_RUN";

/// One run's processes, addressed by group id and tag. Clones share what they have seen.
#[derive(Debug, Clone)]
pub struct RunGroup {
    pgid: u32,
    tag: String,
    /// Tagged processes found so far, as (pid, start time).
    seen: Arc<Mutex<BTreeSet<(u32, u64)>>>,
}

impl RunGroup {
    /// A fresh tag to put into the environment (as [`RUN_VAR`]) of a run about to start.
    pub fn new_tag() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// The run whose group leader is `pgid` (a spawned child's pid; never 0, which would
    /// address our own group) and whose environment carries `tag`. `None` for a pid of 0
    /// or one outside `pid_t`.
    pub fn new(pgid: u32, tag: String) -> Option<Self> {
        (pgid > 0 && i32::try_from(pgid).is_ok()).then(|| RunGroup {
            pgid,
            tag,
            seen: Arc::default(),
        })
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// Sends `signal` to the group, to every descendant of its leader (which, under a
    /// [supervisor](crate::containment), is every orphan of the run) and to every tagged
    /// process outside them.
    pub fn signal(&self, signal: Signal) {
        let below = ProcessTable::read().descendants(self.pgid);
        let _ = killpg(Pid::from_raw(self.pgid as i32), signal);
        for pid in below.into_iter().chain(self.tagged()) {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// [`RunGroup::signal`] from async code, off the runtime's threads (the tag scan reads
    /// all of `/proc`).
    pub async fn send(&self, signal: Signal) {
        let run = self.clone();
        let _ = tokio::task::spawn_blocking(move || run.signal(signal)).await;
    }

    /// The live (not zombie) processes of the run, sorted: group members, the leader's
    /// descendants, tagged ones, and tagged ones seen before that are still exiting.
    pub fn alive(&self) -> Vec<u32> {
        let table = ProcessTable::read();
        let mut pids = table.group(self.pgid);
        pids.extend(
            table
                .descendants(self.pgid)
                .into_iter()
                .filter(|pid| table.get(*pid).is_some_and(|s| !s.zombie)),
        );
        pids.extend(self.tagged());
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        pids.extend(seen.iter().filter_map(|&(pid, start)| {
            proc::stat(pid)
                .filter(|s| s.start_time == start && !s.zombie)
                .map(|_| pid)
        }));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// The processes carrying the tag now; each is remembered for [`RunGroup::alive`].
    fn tagged(&self) -> Vec<u32> {
        let found: Vec<(u32, u64)> = tagged_processes(&self.tag)
            .into_iter()
            .filter_map(|pid| Some((pid, proc::stat(pid)?.start_time)))
            .collect();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.extend(found.iter().copied());
        found.into_iter().map(|(pid, _)| pid).collect()
    }

    /// Kills whatever is left of the run and waits (up to `limit`) until nothing of it is
    /// alive; a process sent SIGKILL still shows in `/proc` for a moment, and its ports are
    /// only free once it is gone.
    pub async fn kill_and_wait(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let run = self.clone();
            let left = tokio::task::spawn_blocking(move || {
                run.signal(Signal::SIGKILL);
                run.alive()
            })
            .await
            .unwrap_or_default();
            if left.is_empty() || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Whether a `/proc/<pid>/environ` content (NUL-separated `KEY=value` entries) holds
/// exactly `RUN_VAR=<tag>`.
pub fn environ_has_tag(environ: &[u8], tag: &str) -> bool {
    let entry = format!("{RUN_VAR}={tag}");
    !tag.is_empty()
        && environ
            .split(|b| *b == 0)
            .any(|item| item == entry.as_bytes())
}

/// Every process whose environment holds the tag (only processes of this user are
/// readable; zombies have an empty environment and never match).
#[cfg(target_os = "linux")]
fn tagged_processes(tag: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ_has_tag(&environ, tag))
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn tagged_processes(_tag: &str) -> Vec<u32> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_whole_entries_only() {
        let tag = "abc";
        assert!(environ_has_tag(b"A=1\0OPENKIT_RUN=abc\0B=2\0", tag));
        assert!(environ_has_tag(b"OPENKIT_RUN=abc", tag));
        assert!(!environ_has_tag(b"OPENKIT_RUN=abcd\0", tag));
        assert!(!environ_has_tag(b"X_OPENKIT_RUN=abc\0", tag));
        assert!(!environ_has_tag(b"OPENKIT_RUN=\0", ""));
        assert!(!environ_has_tag(b"", tag));
    }

    #[test]
    fn our_own_group_is_never_addressed() {
        assert!(RunGroup::new(0, "t".into()).is_none());
        assert!(RunGroup::new(u32::MAX, "t".into()).is_none());
        assert_eq!(RunGroup::new(42, "t".into()).map(|g| g.pgid()), Some(42));
        assert_ne!(RunGroup::new_tag(), RunGroup::new_tag());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_seen_process_counts_until_it_is_a_zombie_and_never_by_a_reused_pid() {
        use std::os::unix::process::CommandExt;
        let tag = RunGroup::new_tag();
        // A tagged process outside the group (its own group, as after setsid).
        let mut daemon = std::process::Command::new("sleep")
            .arg("30")
            .env(RUN_VAR, &tag)
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = daemon.id();
        let run = RunGroup::new(i32::MAX as u32, tag).unwrap();
        // `spawn` may return while the kernel is still setting up the new program's stack
        // (and with it the environment /proc shows), so the tag can take a moment to appear.
        let settle = |done: &dyn Fn(&[u32]) -> bool| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !done(&run.alive()) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            run.alive()
        };
        assert_eq!(settle(&|alive| alive == [pid]), vec![pid]);
        // Once killed it is a zombie (not reaped yet): no longer alive.
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        assert!(settle(&|alive| alive.is_empty()).is_empty());
        daemon.wait().unwrap();
        // A remembered pid counts only while its start time matches.
        let me = std::process::id();
        let start = proc::stat(me).unwrap().start_time;
        run.seen.lock().unwrap().insert((me, start + 1));
        assert!(run.alive().is_empty(), "a reused pid is someone else");
        run.seen.lock().unwrap().insert((me, start));
        assert_eq!(run.alive(), vec![me], "a seen process still exiting counts");
    }
}
