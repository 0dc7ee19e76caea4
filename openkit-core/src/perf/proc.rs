//! Reading processes from `/proc` (Linux only; no `ps`/`pgrep` subprocesses).
//!
//! On other systems every read returns nothing, so the monitor reports empty metrics
//! instead of failing. Parsing is portable and tested everywhere.

use std::collections::{HashMap, HashSet};

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// Whether the process has exited and only waits to be reaped (state `Z`).
    pub zombie: bool,
    /// Command name (`comm`, at most 15 bytes on Linux; may hold spaces and parentheses).
    pub name: String,
    /// User + system CPU time in clock ticks (`utime + stime`, the process itself only).
    pub ticks: u64,
    /// Start time in clock ticks after boot; tells a reused pid from the process that had
    /// it before.
    pub start_time: u64,
}

/// Clock ticks per second of the times in `/proc/<pid>/stat` (`CLK_TCK`, i.e.
/// `sysconf(_SC_CLK_TCK)`). It is 100 on every Linux OpenKit supports (x86_64, aarch64);
/// it is assumed rather than queried because that would need `unsafe` FFI.
pub const CLK_TCK: f64 = 100.0;

/// Bytes per page of the counts in `/proc/<pid>/statm` (4 KiB on x86_64 and on aarch64
/// kernels with the default page size). Assumed for the same reason as [`CLK_TCK`].
pub const PAGE_SIZE: u64 = 4096;

/// Parses the content of `/proc/<pid>/stat`.
///
/// The command name may hold spaces and parentheses (`(my (weird) proc)`), so it spans
/// from the first `(` to the LAST `)`, and the numeric fields are counted after it.
/// Returns `None` for anything malformed.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text.get(..open)?.trim().parse().ok()?;
    let name = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) pgrp(2) session(3) tty_nr(4) tpgid(5) flags(6)
    // minflt(7) cminflt(8) majflt(9) cmajflt(10) utime(11) stime(12) cutime(13)
    // cstime(14) priority(15) nice(16) num_threads(17) itrealvalue(18) starttime(19).
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let zombie = *fields.first()? == "Z";
    let ppid = fields.get(1)?.parse().ok()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    let utime = number(11)?;
    let stime = number(12)?;
    let start_time = number(19)?;
    Some(ProcStat {
        pid,
        ppid,
        pgrp,
        zombie,
        name,
        ticks: utime.saturating_add(stime),
        start_time,
    })
}

/// Parses the content of `/proc/<pid>/statm` into resident bytes (second field, in pages,
/// times [`PAGE_SIZE`]).
pub fn parse_statm(text: &str) -> Option<u64> {
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages.saturating_mul(PAGE_SIZE))
}

/// One process, or `None` when it is gone (or this is not Linux).
#[cfg(target_os = "linux")]
pub fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).filter(|s| s.pid == pid)
}

/// One process, or `None` when it is gone (or this is not Linux).
#[cfg(not(target_os = "linux"))]
pub fn stat(_pid: u32) -> Option<ProcStat> {
    None
}

/// Resident memory of a process in bytes, or `None` when it is gone (or this is not
/// Linux).
#[cfg(target_os = "linux")]
pub fn rss_bytes(pid: u32) -> Option<u64> {
    parse_statm(&std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?)
}

/// Resident memory of a process in bytes, or `None` when it is gone (or this is not
/// Linux).
#[cfg(not(target_os = "linux"))]
pub fn rss_bytes(_pid: u32) -> Option<u64> {
    None
}

/// Every process at one moment, with the parent → children map built once.
#[derive(Debug, Clone, Default)]
pub struct ProcessTable {
    stats: HashMap<u32, ProcStat>,
    children: HashMap<u32, Vec<u32>>,
}

impl ProcessTable {
    /// Scans `/proc/*/stat`. Processes that exit during the scan are skipped. Empty when
    /// this is not Linux or `/proc` cannot be read.
    pub fn read() -> Self {
        Self::from_stats(scan())
    }

    /// A table of the given processes (tests and embedders with their own source).
    pub fn from_stats(stats: impl IntoIterator<Item = ProcStat>) -> Self {
        let stats: HashMap<u32, ProcStat> = stats.into_iter().map(|s| (s.pid, s)).collect();
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for s in stats.values() {
            if s.ppid != s.pid {
                children.entry(s.ppid).or_default().push(s.pid);
            }
        }
        ProcessTable { stats, children }
    }

    /// One process.
    pub fn get(&self, pid: u32) -> Option<&ProcStat> {
        self.stats.get(&pid)
    }

    /// Whether `pid` was alive at the scan.
    pub fn contains(&self, pid: u32) -> bool {
        self.stats.contains_key(&pid)
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Whether no process was found (always on non-Linux systems).
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// The live (not zombie) members of process group `pgid`, sorted by pid.
    pub fn group(&self, pgid: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .stats
            .values()
            .filter(|s| s.pgrp == pgid && !s.zombie)
            .map(|s| s.pid)
            .collect();
        out.sort_unstable();
        out
    }

    /// Every descendant of `root` (children, grandchildren, ...), not `root` itself,
    /// sorted by pid.
    pub fn descendants(&self, root: u32) -> Vec<u32> {
        let mut seen = HashSet::from([root]);
        let mut out = Vec::new();
        let mut queue = vec![root];
        while let Some(pid) = queue.pop() {
            for &child in self.children.get(&pid).into_iter().flatten() {
                if seen.insert(child) {
                    out.push(child);
                    queue.push(child);
                }
            }
        }
        out.sort_unstable();
        out
    }
}

#[cfg(target_os = "linux")]
fn scan() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn scan() -> Vec<ProcStat> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(pid: u32, ppid: u32) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgrp: pid,
            zombie: false,
            name: format!("p{pid}"),
            ticks: 0,
            start_time: 1,
        }
    }

    #[test]
    fn names_with_spaces_and_parentheses() {
        let line = "4242 (my (weird) proc) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 50 7 9 20 0 1 0 12345 0 0\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.name, "my (weird) proc");
        assert_eq!(s.ppid, 17);
        assert_eq!((s.pgrp, s.zombie), (4242, false));
        // utime + stime only; children's cutime/cstime (7, 9) are not counted.
        assert_eq!(s.ticks, 300);
        assert_eq!(s.start_time, 12345);
    }

    #[test]
    fn a_name_that_looks_like_fields_does_not_shift_them() {
        let line = "7 (a) S 1 2 3 ) R 99 0 0 0 0 0 0 0 0 0 5 6 0 0 20 0 1 0 42 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.name, "a) S 1 2 3 ");
        assert_eq!(s.ppid, 99);
        assert_eq!((s.pgrp, s.zombie), (0, false));
        assert_eq!(s.ticks, 11);
        assert_eq!(s.start_time, 42);
    }

    #[test]
    fn groups_list_live_members_only() {
        let zombie = parse_stat("9 (gone) Z 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0").unwrap();
        assert!(zombie.zombie);
        let mut a = mk(5, 1);
        a.pgrp = 5;
        let mut b = mk(6, 5);
        b.pgrp = 5;
        let other = mk(7, 1);
        let table = ProcessTable::from_stats([b, zombie, other, a]);
        assert_eq!(table.group(5), vec![5, 6]);
        assert_eq!(table.group(42), Vec::<u32>::new());
    }

    #[test]
    fn malformed_stat_is_none() {
        for bad in [
            "",
            "garbage",
            "12 (x",
            "12 x) S 1",
            ") 12 (x S 1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 0 0 1",
            "12 (x) S 1 0 0",
            "x (x) S 1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 0 0 1",
            "12 (x) S 1 0 0 0 0 0 0 0 0 0 -1 1 0 0 0 0 0 0 1",
        ] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn statm_is_resident_pages_times_page_size() {
        assert_eq!(parse_statm("5000 321 100 1 0 200 0\n"), Some(321 * 4096));
        assert_eq!(parse_statm("5000"), None);
        assert_eq!(parse_statm("a b c"), None);
    }

    #[test]
    fn descendants_are_recursive_sorted_and_cycle_safe() {
        let table = ProcessTable::from_stats([
            mk(1, 0),
            mk(10, 1),
            mk(30, 10),
            mk(11, 10),
            mk(12, 11),
            mk(20, 1),
            // A (corrupt) cycle must not loop forever.
            mk(40, 41),
            mk(41, 40),
        ]);
        assert_eq!(table.descendants(10), vec![11, 12, 30]);
        assert!(table.descendants(12).is_empty());
        assert!(table.descendants(999).is_empty());
        assert_eq!(table.descendants(40), vec![41]);
        assert_eq!(table.len(), 8);
        assert!(table.contains(20) && !table.contains(2));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let me = std::process::id();
        let s = stat(me).unwrap();
        assert_eq!(s.pid, me);
        assert!(s.start_time > 0);
        assert!(rss_bytes(me).unwrap() > 0);
        let table = ProcessTable::read();
        assert!(table.contains(me));
        assert!(table.descendants(table.get(me).unwrap().ppid).contains(&me));
        assert_eq!(stat(u32::MAX), None);
    }
}
