//! The processes of one dev-server run: its process group, plus every process that still
//! carries the run's tag in its environment.
//!
//! A dev server is started as the leader of a new process group, so one `killpg` reaches
//! everything it forks. A daemon that calls `setsid` (or `setpgid`) leaves that group, but
//! it keeps the environment it inherited: each run sets [`RUN_VAR`] to a fresh token, and
//! stopping a run also signals every process whose `/proc/<pid>/environ` holds that exact
//! entry. Only a process that execs with a scrubbed environment escapes both (documented
//! limit). On systems without `/proc` only the group is used.

use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::perf::proc::ProcessTable;

/// The environment variable that tags every process of a run.
pub const RUN_VAR: &str = "OPENKIT_RUN";

/// One run's processes, addressed by group id and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunGroup {
    pgid: u32,
    tag: String,
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
        (pgid > 0 && i32::try_from(pgid).is_ok()).then_some(RunGroup { pgid, tag })
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// Sends `signal` to the group and to every tagged process outside it.
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pgid as i32), signal);
        for pid in tagged_processes(&self.tag) {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = kill(Pid::from_raw(pid), signal);
            }
        }
    }

    /// The live (not zombie) processes of the run: group members and tagged ones, sorted.
    pub fn alive(&self) -> Vec<u32> {
        let mut pids = ProcessTable::read().group(self.pgid);
        pids.extend(tagged_processes(&self.tag));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Kills whatever is left of the run and waits (up to `limit`) until nothing of it is
    /// alive; a process sent SIGKILL still shows in `/proc` for a moment, and its ports are
    /// only free once it is gone.
    pub async fn kill_and_wait(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            self.signal(Signal::SIGKILL);
            let run = self.clone();
            let left = tokio::task::spawn_blocking(move || run.alive())
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
        assert_eq!(RunGroup::new(0, "t".into()), None);
        assert_eq!(RunGroup::new(u32::MAX, "t".into()), None);
        assert_eq!(RunGroup::new(42, "t".into()).map(|g| g.pgid()), Some(42));
        assert_ne!(RunGroup::new_tag(), RunGroup::new_tag());
    }
}
