//! Turns `/proc` readings into a [`PerfSnapshot`]: CPU % between samples, the dev server's
//! descendants, agent session trees and the totals.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::proc::{CLK_TCK, ProcessTable};
use super::{PerfSnapshot, ProcessMetrics, SystemMetrics, TrackedWorktree, WorktreeMetrics};

/// CPU % for `ticks` clock ticks of CPU time used over `wall` time: seconds of CPU per
/// second of wall time × 100, with [`CLK_TCK`] = 100 ticks per second. 100 means one
/// core fully busy; a multi-threaded process can exceed 100. Zero for a zero interval.
pub fn cpu_percent(ticks: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    (ticks as f64 / CLK_TCK) / secs * 100.0
}

/// The previous reading of one process.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    start_time: u64,
    ticks: u64,
    at: Instant,
}

/// Keeps the previous tick counters so each sample can report CPU % since the last one.
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    previous: HashMap<u32, Baseline>,
}

/// One sampling pass: every process is measured at most once, so a pid listed twice (a
/// session that is also a dev-server child, the server listed as a session) gets one
/// reading and is counted once in the totals.
struct Pass<'a, R> {
    sampler: &'a mut Sampler,
    table: &'a ProcessTable,
    rss: R,
    now: Instant,
    measured: HashMap<u32, ProcessMetrics>,
}

impl<R: Fn(u32) -> Option<u64>> Pass<'_, R> {
    /// `None` when the process is gone (it may vanish between the scan and this read).
    fn measure(&mut self, pid: u32) -> Option<ProcessMetrics> {
        if let Some(m) = self.measured.get(&pid) {
            return Some(m.clone());
        }
        let stat = self.table.get(pid)?;
        let memory = (self.rss)(pid)?;
        let cpu = match self.sampler.previous.get(&pid) {
            // Same process as last time (a reused pid has another start time).
            Some(b) if b.start_time == stat.start_time => cpu_percent(
                stat.ticks.saturating_sub(b.ticks),
                self.now.saturating_duration_since(b.at),
            ),
            _ => 0.0,
        };
        self.sampler.previous.insert(
            pid,
            Baseline {
                start_time: stat.start_time,
                ticks: stat.ticks,
                at: self.now,
            },
        );
        let metrics = ProcessMetrics {
            pid,
            name: stat.name.clone(),
            cpu,
            memory,
        };
        self.measured.insert(pid, metrics.clone());
        Some(metrics)
    }

    fn totals(&self, pids: &BTreeSet<u32>) -> (f64, u64) {
        pids.iter()
            .filter_map(|p| self.measured.get(p))
            .fold((0.0, 0), |(cpu, mem), m| {
                (cpu + m.cpu, mem.saturating_add(m.memory))
            })
    }
}

impl Sampler {
    /// Measures the server (`server_pid`) and every tracked worktree in `table`, reading
    /// resident memory through `rss`.
    pub(crate) fn sample(
        &mut self,
        tracked: &[TrackedWorktree],
        table: &ProcessTable,
        server_pid: u32,
        now: Instant,
        rss: impl Fn(u32) -> Option<u64>,
    ) -> PerfSnapshot {
        let mut pass = Pass {
            sampler: self,
            table,
            rss,
            now,
            measured: HashMap::new(),
        };
        let server = pass.measure(server_pid).unwrap_or_else(|| ProcessMetrics {
            // Not Linux, or /proc is unreadable.
            pid: server_pid,
            name: "openkit".into(),
            cpu: 0.0,
            memory: 0,
        });
        let mut everyone = BTreeSet::from([server_pid]);
        let mut worktrees = Vec::with_capacity(tracked.len());
        for t in tracked {
            let mut mine = BTreeSet::new();
            let dev_server = t.dev_server_pid.and_then(|p| pass.measure(p));
            let mut child_processes = Vec::new();
            if let Some(dev) = &dev_server {
                mine.insert(dev.pid);
                for pid in table.descendants(dev.pid) {
                    if let Some(m) = pass.measure(pid) {
                        mine.insert(pid);
                        child_processes.push(m);
                    }
                }
            }
            let mut agent_sessions = Vec::new();
            let mut sessions_seen = BTreeSet::new();
            for &pid in &t.agent_session_pids {
                if !sessions_seen.insert(pid) {
                    continue;
                }
                let Some(mut session) = pass.measure(pid) else {
                    continue;
                };
                mine.insert(pid);
                for d in table.descendants(pid) {
                    if let Some(m) = pass.measure(d) {
                        mine.insert(d);
                        session.cpu += m.cpu;
                        session.memory = session.memory.saturating_add(m.memory);
                    }
                }
                agent_sessions.push(session);
            }
            let (total_cpu, total_memory) = pass.totals(&mine);
            everyone.extend(&mine);
            worktrees.push(WorktreeMetrics {
                worktree_id: t.worktree_id.clone(),
                dev_server,
                child_processes,
                agent_sessions,
                total_cpu,
                total_memory,
            });
        }
        let (total_cpu, total_memory) = pass.totals(&everyone);
        // The server counts as a process even when it could not be measured (no /proc).
        let system = SystemMetrics {
            total_cpu,
            total_memory,
            process_count: everyone.len(),
        };
        // Forget the baselines of processes that are gone.
        self.previous.retain(|pid, _| table.contains(*pid));
        PerfSnapshot {
            timestamp: crate::logs::now_iso(),
            server,
            system,
            worktrees,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::proc::ProcStat;

    fn stat(pid: u32, ppid: u32, ticks: u64, start_time: u64) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgrp: pid,
            zombie: false,
            name: format!("p{pid}"),
            ticks,
            start_time,
        }
    }

    /// 1 KiB per pid unit, so memory sums are easy to check.
    fn rss(pid: u32) -> Option<u64> {
        Some(u64::from(pid) * 1024)
    }

    #[test]
    fn cpu_math() {
        assert_eq!(cpu_percent(100, Duration::from_secs(1)), 100.0);
        assert_eq!(cpu_percent(50, Duration::from_secs(2)), 25.0);
        assert_eq!(cpu_percent(400, Duration::from_secs(2)), 200.0);
        assert_eq!(cpu_percent(10, Duration::ZERO), 0.0);
        assert_eq!(cpu_percent(0, Duration::from_secs(2)), 0.0);
    }

    #[test]
    fn cpu_is_the_tick_delta_over_wall_time_and_a_reused_pid_starts_over() {
        let t0 = Instant::now();
        let mut sampler = Sampler::default();
        let tracked = [TrackedWorktree {
            worktree_id: "wt".into(),
            dev_server_pid: Some(10),
            agent_session_pids: vec![],
        }];
        let table = |server_ticks, dev_ticks, dev_start| {
            ProcessTable::from_stats([
                stat(1, 0, server_ticks, 5),
                stat(10, 1, dev_ticks, dev_start),
            ])
        };
        let first = sampler.sample(&tracked, &table(1000, 100, 7), 1, t0, rss);
        assert_eq!(first.server.cpu, 0.0, "no baseline yet");
        assert_eq!(first.worktrees[0].dev_server.as_ref().unwrap().cpu, 0.0);

        let second = sampler.sample(
            &tracked,
            &table(1025, 250, 7),
            1,
            t0 + Duration::from_secs(2),
            rss,
        );
        // 25 ticks / 2 s = 12.5 %; 150 ticks / 2 s = 75 %.
        assert_eq!(second.server.cpu, 12.5);
        assert_eq!(second.worktrees[0].dev_server.as_ref().unwrap().cpu, 75.0);
        assert_eq!(second.worktrees[0].total_cpu, 75.0);
        assert_eq!(second.system.total_cpu, 87.5);

        // Same pid, different start time: a new process, no bogus delta.
        let third = sampler.sample(
            &tracked,
            &table(1025, 900, 8),
            1,
            t0 + Duration::from_secs(4),
            rss,
        );
        assert_eq!(third.worktrees[0].dev_server.as_ref().unwrap().cpu, 0.0);
        assert_eq!(third.server.cpu, 0.0);
    }

    #[test]
    fn tree_sessions_totals_and_dedupe() {
        // 1 = server; 10 = dev server → 11 → 12, and 13; 20 = session shell → 21 agent;
        // 30 = unrelated.
        let table = ProcessTable::from_stats([
            stat(1, 0, 0, 1),
            stat(10, 1, 0, 1),
            stat(11, 10, 0, 1),
            stat(12, 11, 0, 1),
            stat(13, 10, 0, 1),
            stat(20, 1, 0, 1),
            stat(21, 20, 0, 1),
            stat(30, 1, 0, 1),
        ]);
        let tracked = [
            TrackedWorktree {
                worktree_id: "a".into(),
                dev_server_pid: Some(10),
                // 20 twice, 99 gone, 1 (the server) listed as a session too.
                agent_session_pids: vec![20, 20, 99, 1],
            },
            TrackedWorktree {
                worktree_id: "b".into(),
                dev_server_pid: Some(98),
                // Also a child of a's dev server.
                agent_session_pids: vec![12],
            },
        ];
        let snap = Sampler::default().sample(&tracked, &table, 1, Instant::now(), rss);
        assert_eq!(snap.server.pid, 1);
        assert_eq!(snap.server.memory, 1024);
        let a = &snap.worktrees[0];
        assert_eq!(a.worktree_id, "a");
        assert_eq!(a.dev_server.as_ref().unwrap().pid, 10);
        let children: Vec<u32> = a.child_processes.iter().map(|m| m.pid).collect();
        assert_eq!(children, vec![11, 12, 13]);
        let sessions: Vec<(u32, u64)> =
            a.agent_sessions.iter().map(|m| (m.pid, m.memory)).collect();
        // Session 20 includes its agent 21; session 1 (the server) its whole tree.
        let server_tree: u32 = [1, 10, 11, 12, 13, 20, 21, 30].iter().sum();
        assert_eq!(
            sessions,
            vec![(20, 41 * 1024), (1, u64::from(server_tree) * 1024)]
        );
        assert_eq!(
            a.total_memory,
            u64::from(server_tree) * 1024,
            "each pid once"
        );

        let b = &snap.worktrees[1];
        assert_eq!(b.dev_server, None);
        assert!(b.child_processes.is_empty());
        assert_eq!(b.agent_sessions.len(), 1);
        assert_eq!(b.total_memory, 12 * 1024);

        assert_eq!(snap.system.process_count, 8);
        assert_eq!(snap.system.total_memory, u64::from(server_tree) * 1024);
    }

    #[test]
    fn a_process_that_vanishes_between_reads_is_skipped() {
        let table = ProcessTable::from_stats([
            stat(1, 0, 0, 1),
            stat(10, 1, 0, 1),
            stat(11, 10, 0, 1),
            stat(12, 10, 0, 1),
        ]);
        let tracked = [TrackedWorktree {
            worktree_id: "a".into(),
            dev_server_pid: Some(10),
            agent_session_pids: vec![],
        }];
        // 11 exits after the scan: its statm read fails.
        let snap = Sampler::default().sample(&tracked, &table, 1, Instant::now(), |pid| {
            (pid != 11).then_some(4096)
        });
        let children: Vec<u32> = snap.worktrees[0]
            .child_processes
            .iter()
            .map(|m| m.pid)
            .collect();
        assert_eq!(children, vec![12]);
        assert_eq!(snap.system.process_count, 3);
        assert_eq!(snap.system.total_memory, 3 * 4096);
    }

    #[test]
    fn without_proc_the_server_is_still_reported() {
        let snap = Sampler::default().sample(
            &[TrackedWorktree {
                worktree_id: "a".into(),
                dev_server_pid: Some(10),
                agent_session_pids: vec![11],
            }],
            &ProcessTable::default(),
            42,
            Instant::now(),
            rss,
        );
        assert_eq!(snap.server.pid, 42);
        assert_eq!(snap.server.memory, 0);
        assert_eq!(snap.system.process_count, 1);
        assert_eq!(snap.worktrees[0].dev_server, None);
        assert!(snap.worktrees[0].agent_sessions.is_empty());
        assert!(crate::logs::parse_ts(&snap.timestamp).is_some());
        assert!(snap.timestamp.ends_with('Z') && snap.timestamp.len() == 24);
    }
}
