//! The background writer of a [`JsonlStore`](super::JsonlStore): queued appends that cost
//! the caller a short mutex hold and no disk I/O.
//!
//! - Records are queued as they are (encoding happens on the writer thread) in a bounded
//!   queue. The writer thread (started on the first queued record) takes everything queued,
//!   encodes it and appends it with one `write` under the log's cross-process lock, so the
//!   file guarantees of a direct append hold (whole lines, never glued onto a torn line).
//! - When the queue is full the caller waits up to [`FULL_WAIT`] for room; a record that
//!   still does not fit is counted as dropped. Dropped records and records whose write
//!   failed are never lost silently: they are logged with `tracing` at once and counted
//!   until someone takes the count ([`Writer::take_losses`]) to report it.
//! - [`Writer::flush`] waits until everything queued before the call is written (or failed),
//!   so a reader in this process sees its own writes; dropping the store drains the queue
//!   before the writer thread ends.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// At most this many records wait for the writer (on top of the batch being written).
pub const QUEUE_CAPACITY: usize = 4096;
/// How long a caller waits for room in a full queue before the record is dropped.
pub const FULL_WAIT: Duration = Duration::from_millis(100);
/// A flush gives up after this long (the writer is stuck on the disk); what it waited
/// for is still written later, or counted as failed.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// The writer takes at most this many records into one write.
const MAX_BATCH: usize = 1024;

/// Encodes one queued record as a JSON line (without the newline) into the buffer.
pub(super) type Encode = Box<dyn FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error> + Send>;

/// Records a background writer could not store since the last
/// [`JsonlStore::take_losses`](super::JsonlStore::take_losses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Losses {
    /// Records refused because the queue stayed full for [`FULL_WAIT`].
    pub dropped: u64,
    /// Records whose encoding or write failed.
    pub failed: u64,
    /// The last write error, if any.
    pub last_error: Option<String>,
}

impl Losses {
    /// True when nothing was lost.
    pub fn is_empty(&self) -> bool {
        self.dropped == 0 && self.failed == 0
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Encode>,
    /// Records ever queued.
    queued: u64,
    /// Records the writer has finished with (written or failed).
    done: u64,
    losses: Losses,
    closed: bool,
}

/// A bounded queue of records for one log file, and the thread that writes them.
pub(super) struct Writer {
    path: PathBuf,
    lock_path: PathBuf,
    queue: Mutex<Queue>,
    /// Signalled when records arrive or the writer must stop.
    work: Condvar,
    /// Signalled when a batch is done (room in the queue, flushes progress).
    progress: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What [`Writer::enqueue`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The writer thread will write it.
    Queued,
    /// No writer thread could be started: it was written (or failed) on the caller.
    WrittenInline,
    /// The queue stayed full; the record is counted as dropped.
    Dropped,
}

impl Writer {
    pub(super) fn new(path: PathBuf, lock_path: PathBuf) -> Self {
        Writer {
            path,
            lock_path,
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the writer thread unless it runs; false when it cannot be started.
    fn ensure_thread(self: &Arc<Self>) -> bool {
        let mut thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        if thread.is_some() {
            return true;
        }
        let writer = Arc::clone(self);
        match std::thread::Builder::new()
            .name("openkit-log-writer".into())
            .spawn(move || writer.run())
        {
            Ok(handle) => {
                *thread = Some(handle);
                true
            }
            Err(e) => {
                tracing::warn!("could not start the writer of {}: {e}", self.path.display());
                false
            }
        }
    }

    /// Queues a record; waits up to [`FULL_WAIT`] while the queue is full.
    pub(super) fn enqueue(self: &Arc<Self>, encode: Encode) -> Enqueued {
        if !self.ensure_thread() {
            let mut line = Vec::new();
            let result = encode(&mut line).map_err(|e| e.to_string()).and_then(|()| {
                line.push(b'\n');
                super::jsonl::append_lines(&self.path, &self.lock_path, line)
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = result {
                self.record_failure(1, e);
            }
            return Enqueued::WrittenInline;
        }
        let mut q = self.lock();
        let deadline = Instant::now() + FULL_WAIT;
        while q.items.len() >= QUEUE_CAPACITY && !q.closed {
            let now = Instant::now();
            if now >= deadline {
                if q.losses.dropped == 0 {
                    tracing::warn!(
                        "the writer of {} is behind: dropping log records (counted and reported)",
                        self.path.display()
                    );
                }
                q.losses.dropped += 1;
                return Enqueued::Dropped;
            }
            q = self
                .progress
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        q.items.push_back(encode);
        q.queued += 1;
        drop(q);
        self.work.notify_one();
        Enqueued::Queued
    }

    fn record_failure(&self, records: u64, error: String) {
        tracing::error!(
            "{records} record(s) could not be appended to {}: {error}",
            self.path.display()
        );
        let mut q = self.lock();
        q.losses.failed += records;
        q.losses.last_error = Some(error);
    }

    /// The writer thread: takes batches until closed and drained.
    fn run(&self) {
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let batch: Vec<Encode> = {
                let mut q = self.lock();
                while q.items.is_empty() && !q.closed {
                    q = self.work.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                if q.items.is_empty() {
                    return;
                }
                let n = q.items.len().min(MAX_BATCH);
                q.items.drain(..n).collect()
            };
            // Room in the queue again.
            self.progress.notify_all();
            let n = batch.len() as u64;
            buf.clear();
            let mut unencodable = 0u64;
            for encode in batch {
                let start = buf.len();
                match encode(&mut buf) {
                    Ok(()) => buf.push(b'\n'),
                    Err(e) => {
                        buf.truncate(start);
                        unencodable += 1;
                        tracing::error!("a log record could not be encoded: {e}");
                    }
                }
            }
            let result = if buf.is_empty() {
                Ok(())
            } else {
                super::jsonl::append_lines(&self.path, &self.lock_path, std::mem::take(&mut buf))
            };
            if unencodable > 0 {
                self.record_failure(unencodable, "a record could not be encoded".into());
            }
            if let Err(e) = result {
                self.record_failure(n - unencodable, e.to_string());
            }
            self.lock().done += n;
            self.progress.notify_all();
        }
    }

    /// Waits until every record queued before this call is written (or failed); gives up
    /// after a long timeout when the disk does not answer. Returns false on that timeout.
    pub(super) fn flush(&self) -> bool {
        let mut q = self.lock();
        let target = q.queued;
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        while q.done < target {
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(
                    "{} queued record(s) of {} are still not written",
                    target - q.done,
                    self.path.display()
                );
                return false;
            }
            q = self
                .progress
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Takes the count of lost records (and resets it).
    pub(super) fn take_losses(&self) -> Losses {
        std::mem::take(&mut self.lock().losses)
    }

    /// Drains the queue and stops the writer thread.
    pub(super) fn shutdown(&self) {
        self.lock().closed = true;
        self.work.notify_all();
        self.progress.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}
