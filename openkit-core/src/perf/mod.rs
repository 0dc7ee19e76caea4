//! Performance monitoring: CPU and memory of the server, each worktree's dev server with
//! its child processes, and its agent terminal sessions, read from `/proc` (no `ps`).
//!
//! Sampling is on demand: it runs every interval (2 s by default) only while at least one
//! [`PerfSubscription`] is alive, and keeps the last 150 snapshots.

pub mod proc;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::logs::now_iso;

/// Snapshots kept (about 5 minutes at 2 s).
pub const RING: usize = 150;
/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// The processes of one worktree to measure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackedWorktree {
    /// Worktree id.
    pub worktree_id: String,
    /// The dev server's process (group leader), if running.
    pub dev_server_pid: Option<u32>,
    /// Agent terminal session processes.
    pub agent_session_pids: Vec<u32>,
}

/// Tells the monitor which processes belong to which worktree.
#[async_trait]
pub trait ProcessSource: Send + Sync {
    /// The current processes per worktree.
    async fn tracked(&self) -> Vec<TrackedWorktree>;
}

/// CPU and memory of one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMetrics {
    /// Process id.
    pub pid: u32,
    /// Command name.
    pub name: String,
    /// CPU % since the previous sample (100 = one core).
    pub cpu: f64,
    /// Resident memory in bytes.
    pub memory: u64,
}

/// Totals over every measured process.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    /// Sum of CPU %.
    pub total_cpu: f64,
    /// Sum of resident memory in bytes.
    pub total_memory: u64,
    /// Processes measured.
    pub process_count: usize,
}

/// One worktree's processes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeMetrics {
    /// Worktree id.
    pub worktree_id: String,
    /// The dev server process.
    pub dev_server: Option<ProcessMetrics>,
    /// Its descendants.
    pub child_processes: Vec<ProcessMetrics>,
    /// Agent terminal sessions.
    pub agent_sessions: Vec<ProcessMetrics>,
    /// Sum of CPU %.
    pub total_cpu: f64,
    /// Sum of memory.
    pub total_memory: u64,
}

/// One sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerfSnapshot {
    /// ISO-8601 UTC.
    pub timestamp: String,
    /// The OpenKit server process.
    pub server: ProcessMetrics,
    /// Totals.
    pub system: SystemMetrics,
    /// Per worktree.
    pub worktrees: Vec<WorktreeMetrics>,
}

/// Turns tick counters into CPU % between samples.
#[derive(Debug, Default)]
struct Sampler {
    previous: HashMap<u32, (u64, Instant)>,
}

impl Sampler {
    fn measure(&mut self, stat: &proc::ProcStat, now: Instant) -> ProcessMetrics {
        let cpu = match self.previous.get(&stat.pid) {
            Some((ticks, at)) => {
                cpu_percent(stat.ticks.saturating_sub(*ticks), now.duration_since(*at))
            }
            None => 0.0,
        };
        self.previous.insert(stat.pid, (stat.ticks, now));
        ProcessMetrics {
            pid: stat.pid,
            name: stat.name.clone(),
            cpu,
            memory: proc::rss_bytes(stat.pid).unwrap_or(0),
        }
    }

    fn sample(&mut self, tracked: &[TrackedWorktree]) -> PerfSnapshot {
        let now = Instant::now();
        let table = proc::all();
        let server_pid = std::process::id();
        let server = table.get(&server_pid).map_or(
            ProcessMetrics {
                pid: server_pid,
                name: "openkit".into(),
                cpu: 0.0,
                memory: 0,
            },
            |s| self.measure(s, now),
        );
        let mut worktrees = Vec::with_capacity(tracked.len());
        for t in tracked {
            let dev_server = t
                .dev_server_pid
                .and_then(|p| table.get(&p))
                .map(|s| self.measure(s, now));
            let child_processes: Vec<ProcessMetrics> = t
                .dev_server_pid
                .map(|p| proc::descendants(&table, p))
                .unwrap_or_default()
                .iter()
                .filter_map(|p| table.get(p))
                .map(|s| self.measure(s, now))
                .collect();
            let agent_sessions: Vec<ProcessMetrics> = t
                .agent_session_pids
                .iter()
                .filter_map(|p| table.get(p))
                .map(|s| self.measure(s, now))
                .collect();
            let all = dev_server
                .iter()
                .chain(&child_processes)
                .chain(&agent_sessions);
            let (total_cpu, total_memory) =
                all.fold((0.0, 0), |(c, m), p| (c + p.cpu, m + p.memory));
            worktrees.push(WorktreeMetrics {
                worktree_id: t.worktree_id.clone(),
                dev_server,
                child_processes,
                agent_sessions,
                total_cpu,
                total_memory,
            });
        }
        let process_count = 1 + worktrees
            .iter()
            .map(|w| {
                usize::from(w.dev_server.is_some())
                    + w.child_processes.len()
                    + w.agent_sessions.len()
            })
            .sum::<usize>();
        let system = SystemMetrics {
            total_cpu: server.cpu + worktrees.iter().map(|w| w.total_cpu).sum::<f64>(),
            total_memory: server.memory + worktrees.iter().map(|w| w.total_memory).sum::<u64>(),
            process_count,
        };
        // Forget processes that are gone.
        self.previous.retain(|pid, _| table.contains_key(pid));
        PerfSnapshot {
            timestamp: now_iso(),
            server,
            system,
            worktrees,
        }
    }
}

/// CPU % for `ticks` of CPU time over `wall` time.
pub fn cpu_percent(ticks: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    (ticks as f64 / proc::CLK_TCK) / secs * 100.0
}

struct Inner {
    source: Arc<dyn ProcessSource>,
    interval: Duration,
    ring: Mutex<VecDeque<Arc<PerfSnapshot>>>,
    sender: broadcast::Sender<Arc<PerfSnapshot>>,
    subscribers: AtomicUsize,
    sampler: Mutex<Sampler>,
}

/// The monitor.
#[derive(Clone)]
pub struct PerfMonitor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PerfMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfMonitor")
            .field("interval", &self.inner.interval)
            .finish_non_exhaustive()
    }
}

/// A live subscription; sampling continues while at least one is alive.
#[derive(Debug)]
pub struct PerfSubscription {
    /// The snapshots so far, oldest first.
    pub history: Vec<Arc<PerfSnapshot>>,
    /// New snapshots.
    pub receiver: broadcast::Receiver<Arc<PerfSnapshot>>,
    _guard: SubscriberGuard,
}

#[derive(Debug)]
struct SubscriberGuard(PerfMonitor);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.inner.subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PerfMonitor {
    /// A monitor sampling `source` every `interval` while subscribed.
    pub fn new(source: Arc<dyn ProcessSource>, interval: Duration) -> Self {
        let (sender, _) = broadcast::channel(16);
        PerfMonitor {
            inner: Arc::new(Inner {
                source,
                interval,
                ring: Mutex::new(VecDeque::with_capacity(RING)),
                sender,
                subscribers: AtomicUsize::new(0),
                sampler: Mutex::new(Sampler::default()),
            }),
        }
    }

    /// Every kept snapshot, oldest first.
    pub fn snapshots(&self) -> Vec<Arc<PerfSnapshot>> {
        self.inner
            .ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The newest snapshot.
    pub fn current(&self) -> Option<Arc<PerfSnapshot>> {
        self.inner
            .ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .back()
            .cloned()
    }

    /// Number of live subscriptions.
    pub fn subscribers(&self) -> usize {
        self.inner.subscribers.load(Ordering::SeqCst)
    }

    fn push(&self, snapshot: PerfSnapshot) {
        let snapshot = Arc::new(snapshot);
        {
            let mut ring = self.inner.ring.lock().unwrap_or_else(|e| e.into_inner());
            if ring.len() == RING {
                ring.pop_front();
            }
            ring.push_back(Arc::clone(&snapshot));
        }
        let _ = self.inner.sender.send(snapshot);
    }

    /// Takes one sample now.
    pub async fn sample_once(&self) -> Arc<PerfSnapshot> {
        let tracked = self.inner.source.tracked().await;
        let snapshot = self
            .inner
            .sampler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sample(&tracked);
        self.push(snapshot);
        self.current().expect("just pushed")
    }

    /// Subscribes; the first subscriber starts the sampling task, which stops by itself
    /// once the last subscription is dropped.
    pub fn subscribe(&self) -> PerfSubscription {
        let receiver = self.inner.sender.subscribe();
        let history = self.snapshots();
        let previous = self.inner.subscribers.fetch_add(1, Ordering::SeqCst);
        if previous == 0 {
            let monitor = self.clone();
            tokio::spawn(async move {
                loop {
                    monitor.sample_once().await;
                    tokio::time::sleep(monitor.inner.interval).await;
                    if monitor.subscribers() == 0 {
                        break;
                    }
                }
            });
        }
        PerfSubscription {
            history,
            receiver,
            _guard: SubscriberGuard(self.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<TrackedWorktree>);

    #[async_trait]
    impl ProcessSource for Fixed {
        async fn tracked(&self) -> Vec<TrackedWorktree> {
            self.0.clone()
        }
    }

    #[test]
    fn cpu_math() {
        assert_eq!(cpu_percent(100, Duration::from_secs(1)), 100.0);
        assert_eq!(cpu_percent(50, Duration::from_secs(2)), 25.0);
        assert_eq!(cpu_percent(10, Duration::ZERO), 0.0);
    }

    #[tokio::test]
    async fn ring_is_capped() {
        let monitor = PerfMonitor::new(Arc::new(Fixed(Vec::new())), DEFAULT_INTERVAL);
        for _ in 0..(RING + 20) {
            monitor.sample_once().await;
        }
        assert_eq!(monitor.snapshots().len(), RING);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg(target_os = "linux")]
    async fn measures_a_process_tree_only_while_subscribed() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id();
        // Let the shell start its children.
        let deadline = Instant::now() + Duration::from_secs(5);
        while proc::descendants(&proc::all(), pid).len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let source = Fixed(vec![TrackedWorktree {
            worktree_id: "wt".into(),
            dev_server_pid: Some(pid),
            agent_session_pids: vec![std::process::id()],
        }]);
        let monitor = PerfMonitor::new(Arc::new(source), Duration::from_millis(50));
        let mut sub = monitor.subscribe();
        assert!(sub.history.is_empty());
        let first = tokio::time::timeout(Duration::from_secs(5), sub.receiver.recv())
            .await
            .unwrap()
            .unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), sub.receiver.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(second.timestamp >= first.timestamp);
        let wt = &second.worktrees[0];
        assert_eq!(wt.dev_server.as_ref().unwrap().pid, pid);
        assert!(wt.child_processes.len() >= 2, "{wt:?}");
        assert!(wt.total_memory > 0);
        assert!(second.system.process_count >= 4);
        drop(sub);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let settled = monitor.snapshots().len();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            monitor.snapshots().len(),
            settled,
            "sampling stops without subscribers"
        );
        let _ = std::process::Command::new("pkill")
            .args(["-P", &pid.to_string()])
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
}
