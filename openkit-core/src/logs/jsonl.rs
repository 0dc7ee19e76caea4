//! A durable JSON-lines log with an in-memory index.
//!
//! - **Append**: complete lines in one `write(2)` on an `O_APPEND` file, under an
//!   exclusive lock on a sibling `.lock` file so several processes can share the log. If
//!   the file ends in a torn line (a crash mid-write), the append starts on a fresh line.
//!   [`JsonlStore::append`] writes on the caller; [`JsonlStore::enqueue`] hands the record
//!   to the store's background writer (see [`super::writer`]) and returns at once. Reads
//!   in this process first wait for what was queued before them, so they see their own
//!   writes.
//! - **Read**: the index holds, per line, its byte range and the few fields filters need
//!   (timestamp, id hash, a small tag). Queries scan the index newest-first and read only
//!   the matching lines back with positioned reads. The index catches up with lines other
//!   processes appended by reading from where it stopped; it rebuilds when the file was
//!   replaced or shrank (retention by another process).
//! - **Torn or corrupt lines** are skipped; an unterminated last line is not indexed
//!   until it is completed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::writer::{Enqueued, Losses, Writer};
use crate::error::IoFailure;

/// What the index keeps of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexMeta {
    /// Milliseconds since the epoch (`i64::MIN` when the timestamp does not parse).
    pub ts_ms: i64,
    /// Hash of the record id, for cursors.
    pub id_hash: u64,
    /// A record-specific tag for cheap filtering (category, level and status).
    pub tag: u16,
}

/// A record that can live in a [`JsonlStore`].
pub trait LogRecord: Serialize + DeserializeOwned {
    /// The index fields of this record.
    fn meta(&self) -> IndexMeta;
}

/// Stable 64-bit FNV-1a hash of an id.
pub fn hash_id(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: u64,
    len: u32,
    meta: IndexMeta,
}

#[derive(Default)]
struct State {
    file: Option<File>,
    identity: Option<(u64, u64)>,
    scanned: u64,
    entries: Vec<Entry>,
}

/// Where a query starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// Records strictly after this instant.
    After {
        /// Milliseconds since the epoch.
        ts_ms: i64,
    },
    /// Records after the record with this id (in log order); when that record is gone,
    /// records strictly after the instant.
    AfterId {
        /// Milliseconds since the epoch.
        ts_ms: i64,
        /// The id of the last record the client has.
        id: String,
    },
}

/// Sizes before and after a retention pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionImpact {
    /// Records that would be (or were) removed.
    pub entries_to_remove: u64,
    /// Bytes that would be (or were) removed.
    pub bytes_to_remove: u64,
    /// Records now.
    pub current_entries: u64,
    /// Bytes now.
    pub current_bytes: u64,
}

/// What a retention pass removed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// Sizes before, and what was removed in total (unreadable lines included in bytes).
    pub impact: RetentionImpact,
    /// Records removed because they were older than `retentionDays`.
    pub removed_by_age: u64,
    /// Records removed (on top of those) to fit `maxSizeMB`.
    pub removed_by_size: u64,
}

impl PruneReport {
    /// True when the pass removed nothing.
    pub fn is_empty(&self) -> bool {
        self.impact.bytes_to_remove == 0
    }

    /// Records left.
    pub fn remaining_entries(&self) -> u64 {
        self.impact.current_entries - self.impact.entries_to_remove
    }

    /// Bytes left.
    pub fn remaining_bytes(&self) -> u64 {
        self.impact.current_bytes - self.impact.bytes_to_remove
    }
}

/// Retention settings of one log.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Retention {
    /// Drop records older than this many days.
    pub retention_days: Option<f64>,
    /// Keep only the newest records that fit in this many MB.
    pub max_size_mb: Option<f64>,
}

/// How much of the file a backwards scan reads at once.
const READ_CHUNK: u64 = 256 * 1024;

/// A window onto the log file for scanning entries newest-first.
struct ChunkReader<'a> {
    file: Option<&'a File>,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> ChunkReader<'a> {
    fn new(file: Option<&'a File>) -> Self {
        ChunkReader {
            file,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// The bytes of `entry`'s line (without the newline).
    fn line(&mut self, entry: &Entry) -> Option<&[u8]> {
        let end = entry.offset + u64::from(entry.len);
        if entry.offset < self.start || end > self.start + self.buf.len() as u64 {
            let start = end.saturating_sub(READ_CHUNK).min(entry.offset);
            self.buf.resize((end - start) as usize, 0);
            self.file?.read_exact_at(&mut self.buf, start).ok()?;
            self.start = start;
        }
        let from = (entry.offset - self.start) as usize;
        self.buf.get(from..from + entry.len as usize)
    }
}

/// A JSONL log of `R` records.
pub struct JsonlStore<R> {
    path: PathBuf,
    lock_path: PathBuf,
    state: Mutex<State>,
    writer: Arc<Writer>,
    _record: PhantomData<fn() -> R>,
}

impl<R> Drop for JsonlStore<R> {
    /// Writes what is still queued, then stops the background writer.
    fn drop(&mut self) {
        self.writer.shutdown();
    }
}

impl<R> std::fmt::Debug for JsonlStore<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io_err(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> IoFailure {
    let action = action.into();
    move |e| IoFailure::new(action, e)
}

/// Holds the cross-process lock of a log while alive.
struct FileLock(File);

impl FileLock {
    fn acquire(path: &Path) -> Result<Self, IoFailure> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        file.lock()
            .map_err(io_err(format!("locking {}", path.display())))?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Appends `lines` (complete lines, each ending in `\n`) to the log at `path` in one
/// `write`, under the cross-process lock at `lock_path`; starts on a fresh line when the
/// file ends in a torn one.
pub(super) fn append_lines(
    path: &Path,
    lock_path: &Path,
    mut lines: Vec<u8>,
) -> Result<(), IoFailure> {
    let _lock = FileLock::acquire(lock_path)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    let len = file.metadata().map_err(io_err("reading log size"))?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, len - 1)
            .map_err(io_err("reading log tail"))?;
        if last[0] != b'\n' {
            // A torn line from a crash: never glue onto it.
            lines.insert(0, b'\n');
        }
    }
    file.write_all(&lines)
        .map_err(io_err(format!("appending to {}", path.display())))
}

impl<R: LogRecord> JsonlStore<R> {
    /// A store for the log at `path` (created on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(lock_name);
        JsonlStore {
            writer: Arc::new(Writer::new(path.clone(), lock_path.clone())),
            lock_path,
            path,
            state: Mutex::new(State::default()),
            _record: PhantomData,
        }
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line, on the caller: when this returns `Ok` the line is
    /// in the file, after every record queued before the call.
    pub fn append(&self, record: &R) -> Result<(), IoFailure> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| IoFailure::new("encoding a log record", e.into()))?;
        line.push(b'\n');
        self.writer.flush();
        append_lines(&self.path, &self.lock_path, line)
    }

    /// Hands a record to the background writer and returns without disk I/O: the caller
    /// holds a mutex for a queue push, or waits up to
    /// [`FULL_WAIT`](super::writer::FULL_WAIT) when the queue is full, after which the
    /// record is dropped and counted (see [`JsonlStore::take_losses`]).
    pub fn enqueue(&self, record: Arc<R>) -> Enqueued
    where
        R: Send + Sync + 'static,
    {
        self.writer.enqueue(Box::new(move |buf: &mut Vec<u8>| {
            serde_json::to_writer(buf, &*record)
        }))
    }

    /// Waits until every record queued before the call is in the file (or failed). False
    /// when the writer did not finish within a long timeout (a stuck disk).
    pub fn flush(&self) -> bool {
        self.writer.flush()
    }

    /// Records the background writer dropped or failed to write since the last call.
    pub fn take_losses(&self) -> Losses {
        self.writer.take_losses()
    }

    /// Brings the index up to date with the file.
    fn refresh(&self, st: &mut State) -> Result<(), IoFailure> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *st = State::default();
                return Ok(());
            }
            Err(e) => {
                return Err(IoFailure::new(
                    format!("reading {}", self.path.display()),
                    e,
                ));
            }
        };
        let identity = (meta.dev(), meta.ino());
        if st.identity != Some(identity) || meta.len() < st.scanned {
            *st = State::default();
            st.file = Some(
                File::open(&self.path)
                    .map_err(io_err(format!("opening {}", self.path.display())))?,
            );
            st.identity = Some(identity);
        }
        if meta.len() == st.scanned {
            return Ok(());
        }
        let file = st.file.as_mut().expect("file is open once identity is set");
        file.seek(SeekFrom::Start(st.scanned))
            .map_err(io_err("seeking in log"))?;
        let mut reader =
            std::io::BufReader::with_capacity(256 * 1024, file.take(meta.len() - st.scanned));
        let mut offset = st.scanned;
        let mut line = Vec::with_capacity(512);
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)
                .map_err(io_err("reading log"))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break; // end, or an unterminated (possibly torn) last line
            }
            if let Ok(record) = serde_json::from_slice::<R>(&line[..n - 1]) {
                st.entries.push(Entry {
                    offset,
                    len: (n - 1) as u32,
                    meta: record.meta(),
                });
            }
            offset += n as u64;
        }
        st.scanned = offset;
        Ok(())
    }

    /// The newest `limit` records after `cursor` whose index fields pass `tag_filter`,
    /// whose raw line passes `line_filter` (a cheap pre-check; it may accept too much, never
    /// too little) and that pass `record_filter`, oldest first.
    pub fn query(
        &self,
        cursor: Option<&Cursor>,
        tag_filter: impl Fn(&IndexMeta) -> bool,
        line_filter: impl Fn(&[u8]) -> bool,
        record_filter: impl Fn(&R) -> bool,
        limit: usize,
    ) -> Result<Vec<R>, IoFailure> {
        self.writer.flush();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh(&mut st)?;
        let (start, after_ts) = match cursor {
            None => (0, None),
            Some(Cursor::After { ts_ms }) => (0, Some(*ts_ms)),
            Some(Cursor::AfterId { ts_ms, id }) => {
                let hash = hash_id(id);
                match st.entries.iter().rposition(|e| e.meta.id_hash == hash) {
                    Some(pos) => (pos + 1, None),
                    // The record is gone: fall back to its instant.
                    None => (0, Some(*ts_ms)),
                }
            }
        };
        let mut reader = ChunkReader::new(st.file.as_ref());
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in st.entries[start..].iter().rev() {
            if out.len() >= limit {
                break;
            }
            if after_ts.is_some_and(|ts| entry.meta.ts_ms <= ts) || !tag_filter(&entry.meta) {
                continue;
            }
            let Some(line) = reader.line(entry) else {
                continue;
            };
            if !line_filter(line) {
                continue;
            }
            if let Ok(record) = serde_json::from_slice::<R>(line)
                && record_filter(&record)
            {
                out.push(record);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Number of readable records.
    pub fn len(&self) -> Result<usize, IoFailure> {
        self.writer.flush();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh(&mut st)?;
        Ok(st.entries.len())
    }

    /// True when the log holds no readable record.
    pub fn is_empty(&self) -> Result<bool, IoFailure> {
        Ok(self.len()? == 0)
    }

    /// Which entries a retention pass keeps: the index of the first kept entry, and of
    /// the first entry the age limit alone keeps.
    fn plan(entries: &[Entry], policy: Retention, now_ms: i64) -> (usize, usize) {
        // Entries are in append order; keep a suffix.
        let mut first_kept = 0;
        if let Some(days) = policy.retention_days.filter(|d| *d > 0.0) {
            let cutoff = now_ms - (days * 86_400_000.0) as i64;
            // The first entry at or after the cutoff; everything older goes.
            first_kept = entries
                .iter()
                .rposition(|e| e.meta.ts_ms < cutoff)
                .map_or(0, |p| p + 1);
        }
        let age_first_kept = first_kept;
        if let Some(mb) = policy.max_size_mb.filter(|m| *m > 0.0) {
            let budget = (mb * 1024.0 * 1024.0) as u64;
            let mut used = 0u64;
            let mut keep_from = entries.len();
            for (i, e) in entries.iter().enumerate().rev() {
                let size = u64::from(e.len) + 1;
                if used + size > budget {
                    break;
                }
                used += size;
                keep_from = i;
            }
            first_kept = first_kept.max(keep_from);
        }
        (first_kept, age_first_kept)
    }

    /// What `policy` would remove now, without writing.
    pub fn retention_impact(
        &self,
        policy: Retention,
        now_ms: i64,
    ) -> Result<RetentionImpact, IoFailure> {
        self.writer.flush();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.refresh(&mut st)?;
        let (first_kept, _) = Self::plan(&st.entries, policy, now_ms);
        let kept_bytes: u64 = st.entries[first_kept..]
            .iter()
            .map(|e| u64::from(e.len) + 1)
            .sum();
        Ok(RetentionImpact {
            entries_to_remove: first_kept as u64,
            bytes_to_remove: st.scanned.saturating_sub(kept_bytes),
            current_entries: st.entries.len() as u64,
            current_bytes: st.scanned,
        })
    }

    /// Applies `policy` by atomically rewriting the file with the kept records (corrupt
    /// lines are dropped too). Returns what was removed.
    pub fn apply_retention(
        &self,
        policy: Retention,
        now_ms: i64,
    ) -> Result<RetentionImpact, IoFailure> {
        self.prune(policy, now_ms).map(|report| report.impact)
    }

    /// Applies `policy` like [`JsonlStore::apply_retention`] and says why records went.
    ///
    /// The kept records are copied to a temporary file without holding the log's lock, so
    /// appends (of any process) go on meanwhile; then, under the lock, the lines appended
    /// since are copied too and the file is replaced atomically. If another process
    /// replaced the log in between (its own retention), this pass gives up and removes
    /// nothing.
    pub fn prune(&self, policy: Retention, now_ms: i64) -> Result<PruneReport, IoFailure> {
        self.prune_with(policy, now_ms, || {})
    }

    /// [`JsonlStore::prune`], running `between` after the copy and before the lock (tests).
    pub(super) fn prune_with(
        &self,
        policy: Retention,
        now_ms: i64,
        between: impl FnOnce(),
    ) -> Result<PruneReport, IoFailure> {
        self.writer.flush();
        // The plan, under the index lock; the copy after it, so queries go on meanwhile.
        let (mut report, snapshot, identity, kept, file) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            self.refresh(&mut st)?;
            let (first_kept, age_first_kept) = Self::plan(&st.entries, policy, now_ms);
            let kept = &st.entries[first_kept..];
            let kept_bytes: u64 = kept.iter().map(|e| u64::from(e.len) + 1).sum();
            let impact = RetentionImpact {
                entries_to_remove: first_kept as u64,
                bytes_to_remove: st.scanned.saturating_sub(kept_bytes),
                current_entries: st.entries.len() as u64,
                current_bytes: st.scanned,
            };
            let report = PruneReport {
                impact,
                removed_by_age: age_first_kept as u64,
                removed_by_size: (first_kept - age_first_kept) as u64,
            };
            if impact.bytes_to_remove == 0 {
                return Ok(report);
            }
            let file = st
                .file
                .as_ref()
                .expect("refreshed non-empty log has a file")
                .try_clone()
                .map_err(io_err("reading log"))?;
            (report, st.scanned, st.identity, kept.to_vec(), file)
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let action = || format!("rewriting {}", self.path.display());
        let mut tmp = crate::persist::temp_file_in(dir).map_err(io_err(action()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut line = Vec::with_capacity(4096);
        for e in &kept {
            line.resize(e.len as usize, 0);
            file.read_exact_at(&mut line, e.offset)
                .map_err(io_err("reading log"))?;
            line.push(b'\n');
            out.write_all(&line).map_err(io_err(action()))?;
        }
        out.flush().map_err(io_err(action()))?;
        drop(out);
        tmp.as_file().sync_all().map_err(io_err(action()))?;
        between();

        let _lock = FileLock::acquire(&self.lock_path)?;
        let meta = std::fs::metadata(&self.path).map_err(io_err(action()))?;
        if Some((meta.dev(), meta.ino())) != identity || meta.len() < snapshot {
            tracing::debug!(
                "{} was replaced during retention; leaving it as it is",
                self.path.display()
            );
            return Ok(PruneReport::default());
        }
        // Lines appended since the copy (by anyone: they held this lock) come along.
        let mut tail = vec![0u8; (meta.len() - snapshot) as usize];
        if !tail.is_empty() {
            File::open(&self.path)
                .and_then(|f| f.read_exact_at(&mut tail, snapshot))
                .map_err(io_err("reading log"))?;
            tmp.as_file_mut()
                .write_all(&tail)
                .map_err(io_err(action()))?;
            tmp.as_file().sync_all().map_err(io_err(action()))?;
            let lines = tail.iter().filter(|b| **b == b'\n').count() as u64;
            report.impact.current_entries += lines;
            report.impact.current_bytes += tail.len() as u64;
        }
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
        tmp.persist(&self.path)
            .map_err(|e| IoFailure::new(action(), e.error))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        // The index of the new file is the kept entries, moved up; the next refresh reads
        // the copied tail. No re-index of the whole log.
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *st = State::default();
        if let Ok(new) = File::open(&self.path)
            && let Ok(m) = new.metadata()
        {
            let mut offset = 0u64;
            st.entries = kept
                .iter()
                .map(|e| {
                    let moved = Entry { offset, ..*e };
                    offset += u64::from(e.len) + 1;
                    moved
                })
                .collect();
            st.scanned = offset;
            st.identity = Some((m.dev(), m.ino()));
            st.file = Some(new);
        }
        Ok(report)
    }
}
