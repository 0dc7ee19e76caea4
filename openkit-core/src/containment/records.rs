//! Run records: which dev-server runs are alive, on disk, so a server started after a
//! crash can find what the crash left.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::IoFailure;
use crate::perf::proc::{self, ProcessTable};
use crate::persist;

/// One running dev server: its supervisor (or, uncontained, its group leader).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The worktree the run belongs to.
    pub worktree_id: String,
    /// The run's first process, leader of its process group.
    pub pid: u32,
    /// Its start time (clock ticks after boot), so a reused pid is never taken for it.
    pub start_time: u64,
    /// The OpenKit process that started it: a run whose owner still runs is that owner's
    /// business, never a leftover.
    pub owner_pid: u32,
    /// The owner's start time.
    pub owner_start_time: u64,
}

impl RunRecord {
    /// The record of the live process `pid` that this process started for
    /// `worktree_id`; `None` when it is already gone.
    pub fn of(worktree_id: &str, pid: u32) -> Option<Self> {
        let owner_pid = std::process::id();
        Some(RunRecord {
            worktree_id: worktree_id.to_string(),
            pid,
            start_time: proc::stat(pid)?.start_time,
            owner_pid,
            owner_start_time: proc::stat(owner_pid)?.start_time,
        })
    }

    /// Whether the recorded process still runs (same pid, same start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        is_running(self.pid, self.start_time)
    }

    /// Whether the process that started the run still runs.
    pub fn owner_is_alive(&self) -> bool {
        is_running(self.owner_pid, self.owner_start_time)
    }
}

fn is_running(pid: u32, start_time: u64) -> bool {
    proc::stat(pid).is_some_and(|s| s.start_time == start_time && !s.zombie)
}

/// The records of one project's runs, one JSON file per worktree in `.openkit/runs/`.
#[derive(Debug, Clone)]
pub struct RunRecords {
    dir: PathBuf,
}

impl RunRecords {
    /// Records kept in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunRecords { dir: dir.into() }
    }

    fn file(&self, worktree_id: &str) -> PathBuf {
        self.dir.join(format!("{worktree_id}.json"))
    }

    /// Notes that `record` runs (replacing an earlier record of its worktree).
    pub fn write(&self, record: &RunRecord) -> Result<(), IoFailure> {
        persist::write_json(&self.file(&record.worktree_id), record)
    }

    /// Forgets the run of `worktree_id` if `pid` is the one recorded.
    pub fn remove(&self, worktree_id: &str, pid: u32) {
        let file = self.file(worktree_id);
        if let Ok(Some(rec)) = persist::read_json::<RunRecord>(&file)
            && rec.pid == pid
        {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Ends every recorded run that is still alive although the process that started it
    /// is gone (its group and, under a supervisor, everything the supervisor adopted get
    /// `SIGTERM`, then `SIGKILL` after `grace`) and removes the records of every run that
    /// is not some live owner's. Returns the runs that were found alive. Call it before the
    /// first start of this process.
    pub fn reap_leftovers(&self, grace: Duration) -> Vec<RunRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut alive = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match persist::read_json::<RunRecord>(&path) {
                // Another live OpenKit process (a server beside this CLI) runs it.
                Ok(Some(rec)) if rec.owner_is_alive() && rec.owner_pid != std::process::id() => {
                    continue;
                }
                Ok(Some(rec)) if rec.is_alive() => alive.push(rec),
                _ => {}
            }
            let _ = std::fs::remove_file(&path);
        }
        if alive.is_empty() {
            return alive;
        }
        let deadline = Instant::now() + grace;
        let mut signal = Signal::SIGTERM;
        loop {
            let table = ProcessTable::read();
            let mut left = 0;
            for rec in alive.iter().filter(|r| r.is_alive()) {
                left += 1;
                let Ok(pid) = i32::try_from(rec.pid) else {
                    continue;
                };
                // Everything below the leader first: orphans a supervisor adopted, and
                // anything still in its group.
                for child in table.descendants(rec.pid) {
                    if let Ok(child) = i32::try_from(child) {
                        let _ = kill(Pid::from_raw(child), signal);
                    }
                }
                let _ = killpg(Pid::from_raw(pid), signal);
                let _ = kill(Pid::from_raw(pid), signal);
            }
            if left == 0 {
                return alive;
            }
            if Instant::now() >= deadline {
                signal = Signal::SIGKILL;
            }
            if Instant::now() >= deadline + Duration::from_secs(5) {
                return alive;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_removed_only_by_its_own_run() {
        let dir = tempfile::tempdir().unwrap();
        let records = RunRecords::new(dir.path().join("runs"));
        let me = RunRecord::of("feat", std::process::id()).unwrap();
        records.write(&me).unwrap();
        records.remove("feat", me.pid + 1);
        assert!(dir.path().join("runs/feat.json").exists());
        records.remove("feat", me.pid);
        assert!(!dir.path().join("runs/feat.json").exists());
    }

    #[test]
    fn dead_and_reused_pids_are_not_reaped_and_their_records_go() {
        let dir = tempfile::tempdir().unwrap();
        let records = RunRecords::new(dir.path());
        let mut me = RunRecord::of("a", std::process::id()).unwrap();
        assert!(me.is_alive());
        // Our own pid with another start time: a reused pid, never signalled.
        me.start_time += 1;
        assert!(!me.is_alive());
        records.write(&me).unwrap();
        std::fs::write(dir.path().join("torn.json"), b"{\"worktreeId\":").unwrap();
        assert!(records.reap_leftovers(Duration::from_millis(10)).is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_live_leftover_run_is_ended() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let records = RunRecords::new(dir.path());
        let mut leftover = std::process::Command::new("sh")
            .args(["-c", "sleep 300 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let mut rec = RunRecord::of("b", leftover.id()).unwrap();
        // Owned by a live process other than us: not a leftover, kept.
        let mut owned = rec.clone();
        (owned.owner_pid, owned.owner_start_time) = (1, proc::stat(1).unwrap().start_time);
        records.write(&owned).unwrap();
        assert!(records.reap_leftovers(Duration::from_secs(2)).is_empty());
        assert!(rec.is_alive());
        assert!(dir.path().join("b.json").exists());
        // Its owner is gone: ended.
        rec.owner_start_time += 1;
        records.write(&rec).unwrap();
        let reaped = records.reap_leftovers(Duration::from_secs(2));
        assert_eq!(reaped, vec![rec]);
        let status = leftover.wait().unwrap();
        assert!(!status.success());
        assert!(ProcessTable::read().group(leftover.id()).is_empty());
    }
}
