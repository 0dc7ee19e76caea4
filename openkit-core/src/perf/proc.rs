//! Reading processes from `/proc` (Linux). Elsewhere every read returns nothing, so the
//! monitor reports empty metrics instead of failing.

use std::collections::HashMap;

/// One process as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Command name (`comm`).
    pub name: String,
    /// User + system CPU time in clock ticks.
    pub ticks: u64,
}

/// Clock ticks per second assumed for `/proc/<pid>/stat` times (`CLK_TCK`, 100 on every
/// Linux OpenKit supports).
pub const CLK_TCK: f64 = 100.0;

/// Bytes per page assumed for `/proc/<pid>/statm` (4 KiB on x86_64 and aarch64 Linux).
pub const PAGE_SIZE: u64 = 4096;

/// Parses the content of `/proc/<pid>/stat`. The command name may hold spaces and
/// parentheses, so the fields after it are found from the last `)`.
pub fn parse_stat(pid: u32, text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcStat {
        pid,
        ppid,
        name,
        ticks: utime + stime,
    })
}

/// One process, or `None` when it is gone (or this is not Linux).
pub fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Resident memory of a process in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_SIZE)
}

/// Every process, by pid.
pub fn all() -> HashMap<u32, ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat(pid).map(|s| (pid, s)))
        .collect()
}

/// The descendants of `root` (not `root` itself), breadth first.
pub fn descendants(table: &HashMap<u32, ProcStat>, root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in table.values() {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if child != root && !out.contains(&child) {
                out.push(child);
                queue.push(child);
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_parentheses() {
        let line = "4242 (my (weird) proc) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 100 0 0";
        let s = parse_stat(4242, line).unwrap();
        assert_eq!(s.name, "my (weird) proc");
        assert_eq!(s.ppid, 17);
        assert_eq!(s.ticks, 300);
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[test]
    fn tree() {
        let mk = |pid, ppid| {
            (
                pid,
                ProcStat {
                    pid,
                    ppid,
                    name: String::new(),
                    ticks: 0,
                },
            )
        };
        let table: HashMap<u32, ProcStat> =
            [mk(1, 0), mk(10, 1), mk(11, 10), mk(12, 11), mk(20, 1)]
                .into_iter()
                .collect();
        assert_eq!(descendants(&table, 10), vec![11, 12]);
        assert!(descendants(&table, 12).is_empty());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let me = stat(std::process::id()).unwrap();
        assert_eq!(me.pid, std::process::id());
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }
}
