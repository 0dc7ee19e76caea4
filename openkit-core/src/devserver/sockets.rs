//! Which TCP ports a process tree listens on, from `/proc` (no lsof): listening sockets in
//! `/proc/net/tcp{,6}` (state `0A`) matched by inode with the `socket:[inode]` links in
//! `/proc/<pid>/fd` of every process of the tree.

use std::collections::{BTreeSet, HashMap};

use crate::perf::proc::ProcessTable;

/// Listening sockets: inode → port, parsed from the text of `/proc/net/tcp` or `tcp6`.
pub fn parse_listening(text: &str) -> HashMap<u64, u16> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&"0A") {
                return None;
            }
            let port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
            let inode = fields.get(9)?.parse().ok()?;
            Some((inode, port))
        })
        .collect()
}

fn listening_sockets() -> HashMap<u64, u16> {
    let mut all = HashMap::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            all.extend(parse_listening(&text));
        }
    }
    all
}

fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The pids of `root` and all its descendants.
pub fn process_tree(root: u32) -> Vec<u32> {
    let table = ProcessTable::read();
    let mut pids = table.descendants(root);
    pids.push(root);
    pids
}

/// The TCP ports the process tree of `root` listens on, sorted.
pub fn listening_ports(root: u32) -> Vec<u16> {
    let sockets = listening_sockets();
    if sockets.is_empty() {
        return Vec::new();
    }
    let ports: BTreeSet<u16> = process_tree(root)
        .into_iter()
        .flat_map(socket_inodes)
        .filter_map(|inode| sockets.get(&inode).copied())
        .collect();
    ports.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_lines_only() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:9C40 0100007F:0BB8 01 00000000:00000000 00:00000000 00000000  1000        0 999 1\n";
        let parsed = parse_listening(text);
        assert_eq!(parsed, HashMap::from([(12345, 3000)]));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn finds_a_listener_in_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listening_ports(std::process::id()).contains(&port));
    }
}
