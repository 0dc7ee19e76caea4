//! The on-demand monitor: a ring of snapshots, a live channel, and a sampling task that
//! runs only while someone subscribes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast};

use super::proc::{self, ProcessTable};
use super::sampler::Sampler;
use super::{PerfError, PerfSnapshot, ProcessSource, TrackedWorktree};

/// Snapshots kept: 150, about 5 minutes at the default interval.
pub const RING: usize = 150;
/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Live snapshots buffered per subscriber; a subscriber further behind skips ahead.
pub const LIVE_BUFFER: usize = 16;
/// Longest wait for [`ProcessSource::tracked`]; on timeout the previous answer is used.
pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one `/proc` scan.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the sampling task runs, and for how many subscribers. One lock, so a
/// subscriber arriving while the task decides to stop can never leave zero or two tasks.
#[derive(Debug, Default)]
struct Control {
    subscribers: usize,
    running: bool,
}

struct Inner {
    source: Arc<dyn ProcessSource>,
    interval: Duration,
    /// Appending and sending happen under this lock, and so do reading the history and
    /// subscribing: a subscriber sees every snapshot exactly once.
    ring: Mutex<VecDeque<Arc<PerfSnapshot>>>,
    sender: broadcast::Sender<Arc<PerfSnapshot>>,
    control: Mutex<Control>,
    /// Wakes the sampling task when the last subscriber leaves.
    idle: Notify,
    sampler: Arc<Mutex<Sampler>>,
    last_tracked: Mutex<Vec<TrackedWorktree>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The performance monitor. Cheap to clone (shared state).
///
/// Sampling is on demand: [`PerfMonitor::subscribe`] starts a Tokio task sampling every
/// interval (the first sample at once), and it stops when the last [`PerfSubscription`]
/// is dropped. The last [`RING`] snapshots are kept.
#[derive(Clone)]
pub struct PerfMonitor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PerfMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let control = lock(&self.inner.control);
        f.debug_struct("PerfMonitor")
            .field("interval", &self.inner.interval)
            .field("subscribers", &control.subscribers)
            .field("sampling", &control.running)
            .finish_non_exhaustive()
    }
}

/// A live subscription: the history at subscription time, then every new snapshot.
/// Sampling continues while at least one subscription is alive.
#[derive(Debug)]
pub struct PerfSubscription {
    /// The snapshots kept when subscribing, oldest first.
    pub history: Vec<Arc<PerfSnapshot>>,
    /// New snapshots, none of them in `history`. Bounded ([`LIVE_BUFFER`]): a receiver
    /// too far behind gets `Lagged` and skips ahead; the sampler never waits for it.
    pub receiver: broadcast::Receiver<Arc<PerfSnapshot>>,
    _guard: SubscriberGuard,
}

impl PerfSubscription {
    /// The next snapshot, skipping those missed by lagging behind. `None` only if the
    /// monitor is gone.
    pub async fn next(&mut self) -> Option<Arc<PerfSnapshot>> {
        loop {
            match self.receiver.recv().await {
                Ok(snapshot) => return Some(snapshot),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Counts one subscriber while alive.
#[derive(Debug)]
struct SubscriberGuard(PerfMonitor);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        let mut control = lock(&self.0.inner.control);
        control.subscribers = control.subscribers.saturating_sub(1);
        if control.subscribers == 0 {
            self.0.inner.idle.notify_one();
        }
    }
}

impl PerfMonitor {
    /// A monitor measuring the processes `source` names, every `interval` while
    /// subscribed ([`DEFAULT_INTERVAL`] in production; tests use a few milliseconds).
    pub fn new(source: Arc<dyn ProcessSource>, interval: Duration) -> Self {
        let (sender, _) = broadcast::channel(LIVE_BUFFER);
        PerfMonitor {
            inner: Arc::new(Inner {
                source,
                interval: interval.max(Duration::from_millis(1)),
                ring: Mutex::new(VecDeque::with_capacity(RING)),
                sender,
                control: Mutex::new(Control::default()),
                idle: Notify::new(),
                sampler: Arc::new(Mutex::new(Sampler::default())),
                last_tracked: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The sampling interval.
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// Every kept snapshot, oldest first.
    pub fn snapshots(&self) -> Vec<Arc<PerfSnapshot>> {
        lock(&self.inner.ring).iter().cloned().collect()
    }

    /// The newest snapshot, `None` before the first sample.
    pub fn current(&self) -> Option<Arc<PerfSnapshot>> {
        lock(&self.inner.ring).back().cloned()
    }

    /// Number of live subscriptions.
    pub fn subscribers(&self) -> usize {
        lock(&self.inner.control).subscribers
    }

    /// Whether the sampling task is running. It stops within one interval of the last
    /// subscription being dropped (at once if it is waiting for the next tick).
    pub fn is_sampling(&self) -> bool {
        lock(&self.inner.control).running
    }

    /// Appends a snapshot to the ring (dropping the oldest beyond [`RING`]) and sends it
    /// to the subscribers.
    pub(crate) fn push(&self, snapshot: PerfSnapshot) -> Arc<PerfSnapshot> {
        let snapshot = Arc::new(snapshot);
        let mut ring = lock(&self.inner.ring);
        while ring.len() >= RING {
            ring.pop_front();
        }
        ring.push_back(Arc::clone(&snapshot));
        // No receiver is not an error: nobody is watching.
        let _ = self.inner.sender.send(Arc::clone(&snapshot));
        snapshot
    }

    /// Takes one sample now, stores and broadcasts it. The `/proc` scan runs on the
    /// blocking pool.
    ///
    /// # Errors
    /// [`PerfError::ReadTimedOut`] if reading `/proc` took longer than [`READ_TIMEOUT`],
    /// [`PerfError::ReadFailed`] if the read panicked. Nothing is stored then.
    pub async fn sample_once(&self) -> Result<Arc<PerfSnapshot>, PerfError> {
        let tracked = match tokio::time::timeout(SOURCE_TIMEOUT, self.inner.source.tracked()).await
        {
            Ok(tracked) => {
                *lock(&self.inner.last_tracked) = tracked.clone();
                tracked
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = SOURCE_TIMEOUT.as_millis() as u64,
                    "perf: process source timed out; using its previous answer"
                );
                lock(&self.inner.last_tracked).clone()
            }
        };
        let sampler = Arc::clone(&self.inner.sampler);
        let server_pid = std::process::id();
        let read = tokio::task::spawn_blocking(move || {
            let table = ProcessTable::read();
            lock(&sampler).sample(
                &tracked,
                &table,
                server_pid,
                Instant::now(),
                proc::rss_bytes,
            )
        });
        match tokio::time::timeout(READ_TIMEOUT, read).await {
            Ok(Ok(snapshot)) => Ok(self.push(snapshot)),
            Ok(Err(e)) => Err(PerfError::ReadFailed(e.to_string())),
            Err(_) => Err(PerfError::ReadTimedOut(READ_TIMEOUT)),
        }
    }

    /// Subscribes: the history so far plus a receiver of new snapshots, without a gap or
    /// a duplicate between them. The first subscriber starts the sampling task (its
    /// first sample is taken at once); dropping the last subscription stops it.
    ///
    /// Outside a Tokio runtime no task can start: the subscription then only sees
    /// samples taken by others (a warning is logged).
    pub fn subscribe(&self) -> PerfSubscription {
        let (history, receiver) = {
            let ring = lock(&self.inner.ring);
            (
                ring.iter().cloned().collect(),
                self.inner.sender.subscribe(),
            )
        };
        let start = {
            let mut control = lock(&self.inner.control);
            control.subscribers += 1;
            !std::mem::replace(&mut control.running, true)
        };
        let guard = SubscriberGuard(self.clone());
        if start {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(self.clone().run());
                }
                Err(_) => {
                    lock(&self.inner.control).running = false;
                    tracing::warn!("perf: subscribed outside a Tokio runtime; not sampling");
                }
            }
        }
        PerfSubscription {
            history,
            receiver,
            _guard: guard,
        }
    }

    /// The sampling loop: sample, wait one interval (or until the last subscriber
    /// leaves), stop when nobody subscribes.
    async fn run(self) {
        loop {
            if let Err(e) = self.sample_once().await {
                tracing::warn!(error = %e, "perf: sample failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.inner.interval) => {}
                () = self.inner.idle.notified() => {}
            }
            let mut control = lock(&self.inner.control);
            if control.subscribers == 0 {
                control.running = false;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::{NoProcesses, ProcessMetrics, SystemMetrics};

    fn synthetic(n: usize) -> PerfSnapshot {
        PerfSnapshot {
            timestamp: format!("t{n}"),
            server: ProcessMetrics {
                pid: 1,
                name: "openkit".into(),
                cpu: 0.0,
                memory: 0,
            },
            system: SystemMetrics {
                total_cpu: 0.0,
                total_memory: 0,
                process_count: 1,
            },
            worktrees: Vec::new(),
        }
    }

    async fn within<F: Future>(what: &str, f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .unwrap_or_else(|_| panic!("timed out: {what}"))
    }

    async fn until(what: &str, mut ok: impl FnMut() -> bool) {
        within(what, async {
            while !ok() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }

    #[test]
    fn ring_is_capped_and_keeps_the_newest() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), DEFAULT_INTERVAL);
        assert_eq!(monitor.current(), None);
        for n in 0..(RING + 20) {
            monitor.push(synthetic(n));
        }
        let kept = monitor.snapshots();
        assert_eq!(kept.len(), RING);
        assert_eq!(kept[0].timestamp, "t20");
        assert_eq!(
            monitor.current().unwrap().timestamp,
            format!("t{}", RING + 19)
        );
    }

    #[tokio::test]
    async fn history_and_live_have_no_gap_and_no_duplicate() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), Duration::from_secs(3600));
        monitor.push(synthetic(0));
        monitor.push(synthetic(1));
        let mut sub = monitor.subscribe();
        let seen: Vec<String> = sub.history.iter().map(|s| s.timestamp.clone()).collect();
        assert_eq!(seen, ["t0", "t1"]);
        // The task's immediate sample arrives live, not in the history.
        let first = within("first sample", sub.next()).await.unwrap();
        assert!(first.timestamp.ends_with('Z'));
        monitor.push(synthetic(2));
        assert_eq!(within("pushed", sub.next()).await.unwrap().timestamp, "t2");
    }

    #[tokio::test]
    async fn a_lagging_subscriber_skips_ahead() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), Duration::from_secs(3600));
        let mut sub = monitor.subscribe();
        within("first sample", sub.next()).await.unwrap();
        for n in 0..(LIVE_BUFFER * 3) {
            monitor.push(synthetic(n));
        }
        let next = within("after lag", sub.next()).await.unwrap();
        let first_kept = LIVE_BUFFER * 2;
        assert_eq!(next.timestamp, format!("t{first_kept}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn samples_only_while_subscribed() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), Duration::from_millis(50));
        assert!(!monitor.is_sampling());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            monitor.snapshots().is_empty(),
            "nothing before a subscriber"
        );

        let mut sub = monitor.subscribe();
        let other = monitor.subscribe();
        assert!(monitor.is_sampling());
        assert_eq!(monitor.subscribers(), 2);
        let a = within("1st", sub.next()).await.unwrap();
        let b = within("2nd", sub.next()).await.unwrap();
        assert!(b.timestamp >= a.timestamp);
        assert_eq!(a.server.pid, std::process::id());

        // One subscriber left: sampling goes on.
        drop(other);
        within("3rd", sub.next()).await.unwrap();
        assert!(monitor.is_sampling());

        drop(sub);
        assert_eq!(monitor.subscribers(), 0);
        until("the task stops", || !monitor.is_sampling()).await;
        let settled = monitor.snapshots().len();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            monitor.snapshots().len(),
            settled,
            "no sampling without subscribers"
        );

        // A new subscriber starts it again, with exactly one task.
        let mut again = monitor.subscribe();
        within("restarted", again.next()).await.unwrap();
        assert!(monitor.is_sampling());
        drop(again);
        until("stops again", || !monitor.is_sampling()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rapid_resubscribing_never_runs_two_tasks() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), Duration::from_millis(200));
        for _ in 0..50 {
            drop(monitor.subscribe());
        }
        let sub = monitor.subscribe();
        // Let any stray task run: each task samples once at start, then every 200 ms.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let before = monitor.snapshots().len();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let during = monitor.snapshots().len() - before;
        // One task: ~5 samples in 1 s; two tasks would give ~10.
        assert!((3..=7).contains(&during), "{during} samples in 1 s");
        drop(sub);
        until("stops", || !monitor.is_sampling()).await;
    }

    #[test]
    fn subscribing_outside_a_runtime_does_not_panic() {
        let monitor = PerfMonitor::new(Arc::new(NoProcesses), DEFAULT_INTERVAL);
        let sub = monitor.subscribe();
        assert!(!monitor.is_sampling());
        assert_eq!(monitor.subscribers(), 1);
        drop(sub);
        assert_eq!(monitor.subscribers(), 0);
    }

    /// Kills the process group on drop, even if the test fails.
    #[cfg(target_os = "linux")]
    struct Group(std::process::Child);

    #[cfg(target_os = "linux")]
    impl Drop for Group {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0.id())])
                .status();
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg(target_os = "linux")]
    async fn measures_a_real_dev_server_tree_and_agent_sessions() {
        use std::os::unix::process::CommandExt;

        use crate::perf::StaticProcesses;

        let group = Group(
            std::process::Command::new("sh")
                .args(["-c", "sleep 30 & sleep 30 & wait"])
                .process_group(0)
                .spawn()
                .unwrap(),
        );
        let pid = group.0.id();
        until("the shell starts its children", || {
            ProcessTable::read().descendants(pid).len() >= 2
        })
        .await;

        let source = Arc::new(StaticProcesses::default());
        let monitor = PerfMonitor::new(source.clone(), Duration::from_millis(50));
        source.set(vec![
            TrackedWorktree {
                worktree_id: "wt".into(),
                dev_server_pid: Some(pid),
                agent_session_pids: vec![],
            },
            TrackedWorktree {
                worktree_id: "agents".into(),
                dev_server_pid: None,
                agent_session_pids: vec![pid],
            },
        ]);
        let mut sub = monitor.subscribe();
        within("1st", sub.next()).await.unwrap();
        let snap = within("2nd", sub.next()).await.unwrap();

        let wt = &snap.worktrees[0];
        let dev = wt.dev_server.as_ref().unwrap();
        assert_eq!(dev.pid, pid);
        assert_eq!(dev.name, "sh");
        assert!(dev.memory > 0);
        assert!(wt.child_processes.len() >= 2, "{wt:?}");
        assert!(
            wt.child_processes
                .iter()
                .all(|c| c.memory > 0 && c.name == "sleep")
        );
        let tree_memory = dev.memory + wt.child_processes.iter().map(|c| c.memory).sum::<u64>();
        assert_eq!(wt.total_memory, tree_memory);

        // The same tree as an agent session: one entry with the tree's totals.
        let agents = &snap.worktrees[1];
        assert_eq!(agents.agent_sessions.len(), 1);
        assert_eq!(agents.agent_sessions[0].pid, pid);
        assert_eq!(agents.agent_sessions[0].memory, tree_memory);

        // Server + shell + its children, each counted once.
        assert_eq!(snap.system.process_count, 2 + wt.child_processes.len());
        assert_eq!(snap.system.total_memory, snap.server.memory + tree_memory);
        assert!(snap.server.memory > 0);

        // The tree goes away: later samples skip it instead of failing.
        drop(group);
        until("gone", || ProcessTable::read().descendants(pid).is_empty()).await;
        let later = within("after exit", async {
            loop {
                let s = sub.next().await.unwrap();
                if s.worktrees[0].dev_server.is_none() {
                    return s;
                }
            }
        })
        .await;
        assert!(later.worktrees[0].child_processes.is_empty());
        assert_eq!(later.system.process_count, 1);
    }
}
