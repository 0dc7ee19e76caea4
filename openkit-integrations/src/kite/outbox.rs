//! The durable outbox of CloudEvents waiting for Kite: `.openkit/kite-outbox.jsonl`.
//!
//! One event per line, oldest first. A new event is one appended line (`O_APPEND`, one
//! write, flushed to disk before it counts as queued); delivered events are removed by an
//! atomic rewrite of the rest, once per [`REWRITE_EVERY`] removals and at the end of a
//! delivery pass ([`Outbox::flush`]), so draining a long backlog is not quadratic. After a
//! crash the last few delivered events may be sent again: their stable ids let Kite drop
//! them. A torn last line (a crash mid-append) is skipped when the
//! file is read and never glued to the next append. Events are keyed by their CloudEvents
//! `id`: the same id is never queued twice. The outbox holds at most [`MAX_EVENTS`]
//! (a Kite that stays down for days must not fill the disk): queuing one more drops the
//! oldest, which is counted ([`Outbox::dropped`]) and logged.

use std::collections::{HashSet, VecDeque};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use openkit_core::error::IoFailure;
use serde_json::Value;

/// The outbox file's name under `.openkit/`.
pub const FILE_NAME: &str = "kite-outbox.jsonl";
/// Removals between two rewrites of the file.
pub const REWRITE_EVERY: usize = 64;
/// The most events the outbox keeps.
pub const MAX_EVENTS: usize = 10_000;

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Value>,
    ids: HashSet<String>,
    /// Removals not yet written.
    removed: usize,
    /// Events dropped to stay within the capacity.
    dropped: u64,
}

/// Events waiting to be delivered, on disk.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    capacity: usize,
    state: Mutex<State>,
}

fn id_of(event: &Value) -> Option<&str> {
    event["id"].as_str()
}

impl Outbox {
    /// The outbox at `path`, with what a previous run left in it.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut state = State::default();
        if let Ok(text) = std::fs::read_to_string(&path) {
            // An id can be on two lines when it was removed (not yet rewritten) and queued
            // again: its last line is where it now stands.
            let events: Vec<Value> = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .collect();
            for event in events.into_iter().rev() {
                if let Some(id) = id_of(&event).map(str::to_string)
                    && state.ids.insert(id)
                {
                    state.queue.push_front(event);
                }
            }
        }
        Outbox {
            path,
            capacity: MAX_EVENTS,
            state: Mutex::new(state),
        }
    }

    /// Keeps at most `capacity` events (at least one) instead of [`MAX_EVENTS`].
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How many events were dropped, oldest first, to stay within the capacity.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` (it must have an `id`); `false` when that id is already queued.
    /// The event is on disk when this returns. A full outbox first drops its oldest event
    /// (the drop reaches the file with the next rewrite).
    pub fn push(&self, event: Value) -> Result<bool, IoFailure> {
        let Some(id) = id_of(&event).map(str::to_string) else {
            return Ok(false);
        };
        let mut state = self.lock();
        if state.ids.contains(&id) {
            return Ok(false);
        }
        self.append(&event)
            .map_err(|e| IoFailure::new(format!("appending to {}", self.path.display()), e))?;
        state.ids.insert(id);
        state.queue.push_back(event);
        while state.queue.len() > self.capacity {
            let Some(oldest) = state.queue.pop_front() else {
                break;
            };
            if let Some(id) = id_of(&oldest) {
                state.ids.remove(id);
            }
            state.dropped += 1;
            state.removed += 1;
            tracing::warn!(
                dropped = state.dropped,
                capacity = self.capacity,
                "Kite outbox full: the oldest event was dropped"
            );
        }
        if state.removed >= REWRITE_EVERY {
            self.rewrite(&mut state)?;
        }
        Ok(true)
    }

    fn append(&self, event: &Value) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)?;
        let mut line = Vec::new();
        // A torn last line (a crash mid-append) stays on its own line.
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                line.push(b'\n');
            }
        }
        serde_json::to_writer(&mut line, event)?;
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_data()
    }

    /// The oldest queued event.
    pub fn front(&self) -> Option<Value> {
        self.lock().queue.front().cloned()
    }

    /// Removes the event `id` (delivered, or refused for good); the file is rewritten
    /// every [`REWRITE_EVERY`] removals and by [`Outbox::flush`].
    pub fn remove(&self, id: &str) -> Result<(), IoFailure> {
        let mut state = self.lock();
        if !state.ids.remove(id) {
            return Ok(());
        }
        state.queue.retain(|e| id_of(e) != Some(id));
        state.removed += 1;
        if state.removed >= REWRITE_EVERY {
            self.rewrite(&mut state)?;
        }
        Ok(())
    }

    /// Writes the removals made since the last rewrite.
    pub fn flush(&self) -> Result<(), IoFailure> {
        let mut state = self.lock();
        if state.removed > 0 {
            self.rewrite(&mut state)?;
        }
        Ok(())
    }

    fn rewrite(&self, state: &mut State) -> Result<(), IoFailure> {
        let mut bytes = Vec::new();
        for event in &state.queue {
            let _ = serde_json::to_writer(&mut bytes, event);
            bytes.push(b'\n');
        }
        openkit_core::persist::write_atomic(&self.path, &bytes)?;
        state.removed = 0;
        Ok(())
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_reopening_and_removal_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let outbox = Outbox::open(&path);
        assert!(outbox.push(serde_json::json!({"id": "a", "n": 1})).unwrap());
        assert!(outbox.push(serde_json::json!({"id": "b", "n": 2})).unwrap());
        assert!(!outbox.push(serde_json::json!({"id": "a", "n": 3})).unwrap());
        assert!(!outbox.push(serde_json::json!({"no": "id"})).unwrap());
        drop(outbox);
        let outbox = Outbox::open(&path);
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.front().unwrap()["id"], "a");
        outbox.remove("a").unwrap();
        // Not yet written: a crash now would send "a" again (Kite drops the repeat).
        assert_eq!(Outbox::open(&path).len(), 2);
        outbox.flush().unwrap();
        let outbox = Outbox::open(&path);
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox.front().unwrap()["id"], "b");
    }

    #[test]
    fn a_full_outbox_drops_its_oldest_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let outbox = Outbox::open(&path).with_capacity(3);
        for i in 0..5 {
            assert!(
                outbox
                    .push(serde_json::json!({ "id": format!("e{i}") }))
                    .unwrap()
            );
        }
        assert_eq!(outbox.len(), 3);
        assert_eq!(outbox.dropped(), 2);
        assert_eq!(outbox.front().unwrap()["id"], "e2");
        // A dropped id may be queued again; the file keeps what the queue keeps.
        assert!(outbox.push(serde_json::json!({ "id": "e0" })).unwrap());
        outbox.flush().unwrap();
        let reopened = Outbox::open(&path);
        let ids: Vec<String> = std::iter::from_fn(|| {
            let front = reopened.front()?;
            let id = front["id"].as_str()?.to_string();
            reopened.remove(&id).unwrap();
            Some(id)
        })
        .collect();
        assert_eq!(ids, ["e3", "e4", "e0"]);
    }

    #[test]
    fn a_torn_line_is_skipped_and_not_glued_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{\"id\":\"a\"}\n{\"id\":\"tor").unwrap();
        let outbox = Outbox::open(&path);
        assert_eq!(outbox.len(), 1);
        outbox.push(serde_json::json!({"id": "c"})).unwrap();
        let outbox = Outbox::open(&path);
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.front().unwrap()["id"], "a");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8),
        Remove(u8),
        Flush,
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0u8..12).prop_map(Op::Push),
            (0u8..12).prop_map(Op::Remove),
            Just(Op::Flush),
            Just(Op::Reopen),
        ]
    }

    proptest::proptest! {
        /// Against a model queue: ids are queued once, in order; a flushed outbox reopens
        /// exactly as it was; an unflushed one reopens with nothing lost (removed events
        /// may come back, in their place, to be sent again).
        #[test]
        fn the_outbox_keeps_order_and_loses_nothing(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            let mut outbox = Outbox::open(&path);
            let mut model: Vec<String> = Vec::new();
            let mut flushed = true;
            let ids = |o: &Outbox| -> Vec<String> {
                o.lock().queue.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
            };
            for op in ops {
                match op {
                    Op::Push(n) => {
                        let id = format!("e{n}");
                        let queued = outbox.push(serde_json::json!({"id": id})).unwrap();
                        proptest::prop_assert_eq!(queued, !model.contains(&id));
                        if queued {
                            model.push(id);
                        }
                    }
                    Op::Remove(n) => {
                        let id = format!("e{n}");
                        if model.contains(&id) {
                            flushed = false;
                        }
                        outbox.remove(&id).unwrap();
                        model.retain(|m| *m != id);
                    }
                    Op::Flush => {
                        outbox.flush().unwrap();
                        flushed = true;
                    }
                    Op::Reopen => {
                        outbox = Outbox::open(&path);
                        let reopened = ids(&outbox);
                        if flushed {
                            proptest::prop_assert_eq!(&reopened, &model);
                        } else {
                            // The model, in order, within what came back.
                            let mut rest = reopened.iter();
                            for id in &model {
                                proptest::prop_assert!(rest.any(|r| r == id), "{id} lost");
                            }
                        }
                        model = reopened;
                        flushed = true;
                    }
                }
                proptest::prop_assert_eq!(ids(&outbox), model.clone());
            }
        }
    }
}
