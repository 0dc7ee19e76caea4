//! `.openkit/tracker-refresh.json`: per tracker, the assigned issues already seen by the
//! background refresh, so a restart announces nothing twice.
//!
//! ```json
//! { "sources": { "jira": { "seen": ["PROJ-1", "PROJ-7"] } } }
//! ```
//!
//! A source without an entry has never been polled: its first poll records what is
//! assigned without calling anything new (see [`SeenStore::record`]). Ids are kept oldest
//! first and capped at [`MAX_SEEN`] per source (the oldest are dropped), so the file stays
//! small however long the tracker is used.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::issues::{IssueId, SourceId};
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// The file's name under `.openkit/`.
pub const FILE_NAME: &str = "tracker-refresh.json";

/// Most issue ids remembered per source.
pub const MAX_SEEN: usize = 10_000;

/// The file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SeenError {
    /// Unreadable or corrupt (never overwritten then).
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// Not written.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for SeenError {
    fn kind(&self) -> ErrorKind {
        match self {
            SeenError::Persist(e) => e.kind(),
            SeenError::Io(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            SeenError::Persist(e) => e.code(),
            SeenError::Io(e) => e.code(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    sources: BTreeMap<String, SourceSeen>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SourceSeen {
    /// Oldest first.
    #[serde(default)]
    seen: Vec<String>,
}

/// The seen issues of every tracker of a project.
#[derive(Debug)]
pub struct SeenStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl SeenStore {
    /// The store of the project at `paths`.
    pub fn new(paths: &Paths) -> Self {
        SeenStore::at(paths.openkit_dir().join(FILE_NAME))
    }

    /// A store over the file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        SeenStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<File, SeenError> {
        Ok(persist::read_json::<File>(&self.path)?.unwrap_or_default())
    }

    /// Records `assigned` as seen for `source` and returns the ids among them not seen
    /// before, in their order; `None` when `source` had no record yet (its first poll:
    /// everything is recorded, nothing is new). The file is written before this returns,
    /// so what it returns is announced at most once.
    pub fn record(
        &self,
        source: &SourceId,
        assigned: &[IssueId],
    ) -> Result<Option<Vec<IssueId>>, SeenError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read()?;
        let first = !file.sources.contains_key(source.as_str());
        let entry = file.sources.entry(source.to_string()).or_default();
        let known: HashSet<&str> = entry.seen.iter().map(String::as_str).collect();
        let mut fresh = Vec::new();
        let mut queued = HashSet::new();
        for id in assigned {
            if !known.contains(id.as_str()) && queued.insert(id.as_str()) {
                fresh.push(id.clone());
            }
        }
        if fresh.is_empty() && !first {
            return Ok(Some(fresh));
        }
        entry.seen.extend(fresh.iter().map(|id| id.to_string()));
        if entry.seen.len() > MAX_SEEN {
            let excess = entry.seen.len() - MAX_SEEN;
            entry.seen.drain(..excess);
        }
        persist::write_json(&self.path, &file)?;
        Ok((!first).then_some(fresh))
    }

    /// Forgets `source` (its tracker was unconfigured: a new configuration starts with a
    /// silent first poll again). Whether it had a record.
    pub fn forget(&self, source: &str) -> Result<bool, SeenError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read()?;
        if file.sources.remove(source).is_none() {
            return Ok(false);
        }
        persist::write_json(&self.path, &file)?;
        Ok(true)
    }

    /// The sources with a record.
    pub fn sources(&self) -> Result<Vec<String>, SeenError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.read()?.sources.into_keys().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(list: &[&str]) -> Vec<IssueId> {
        list.iter().map(|i| IssueId::new(i).unwrap()).collect()
    }

    fn store() -> (tempfile::TempDir, SeenStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SeenStore::at(dir.path().join(".openkit").join(FILE_NAME));
        (dir, store)
    }

    #[test]
    fn the_first_poll_is_silent_and_later_ones_return_only_new_ids() {
        let (_dir, store) = store();
        let jira = SourceId::new("jira").unwrap();
        assert_eq!(store.record(&jira, &ids(&["A-1", "A-2"])).unwrap(), None);
        assert_eq!(
            store.record(&jira, &ids(&["A-1", "A-2"])).unwrap(),
            Some(vec![])
        );
        assert_eq!(
            store.record(&jira, &ids(&["A-3", "A-1", "A-3"])).unwrap(),
            Some(ids(&["A-3"]))
        );
        // An issue that left the list and came back is not new.
        assert_eq!(store.record(&jira, &ids(&[])).unwrap(), Some(vec![]));
        assert_eq!(store.record(&jira, &ids(&["A-2"])).unwrap(), Some(vec![]));
        // A second store over the same file (a restart) knows all of it.
        let again = SeenStore::at(store.path());
        assert_eq!(
            again.record(&jira, &ids(&["A-1", "A-2", "A-3"])).unwrap(),
            Some(vec![])
        );
        // Other sources are separate; an empty first poll still records the source.
        let linear = SourceId::new("linear").unwrap();
        assert_eq!(again.record(&linear, &[]).unwrap(), None);
        assert_eq!(
            again.record(&linear, &ids(&["A-1"])).unwrap(),
            Some(ids(&["A-1"]))
        );
        assert_eq!(again.sources().unwrap(), vec!["jira", "linear"]);
        assert!(again.forget("jira").unwrap());
        assert!(!again.forget("jira").unwrap());
        assert_eq!(again.record(&jira, &ids(&["A-9"])).unwrap(), None);
    }

    #[test]
    fn a_corrupt_file_is_reported_and_kept() {
        let (_dir, store) = store();
        std::fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        std::fs::write(store.path(), "{not json").unwrap();
        let err = store
            .record(&SourceId::new("jira").unwrap(), &ids(&["A-1"]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert_eq!(std::fs::read(store.path()).unwrap(), b"{not json");
    }

    proptest! {
        // Every poll writes the file (fsync): fewer cases than the default keep it quick.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the sequence of polls, every id is returned as new at most once
        /// (within the cap), and only after the first poll.
        #[test]
        fn each_id_is_new_at_most_once(polls in proptest::collection::vec(
            proptest::collection::vec(0u8..20, 0..8), 1..12)) {
            let (_dir, store) = store();
            let source = SourceId::new("kiket").unwrap();
            let mut announced = HashSet::new();
            let mut first_ids = HashSet::new();
            for (n, poll) in polls.iter().enumerate() {
                let list: Vec<IssueId> = poll.iter().map(|i| IssueId::new(&format!("K-{i}")).unwrap()).collect();
                match store.record(&source, &list).unwrap() {
                    None => {
                        prop_assert_eq!(n, 0);
                        first_ids.extend(list);
                    }
                    Some(fresh) => {
                        for id in fresh {
                            prop_assert!(list.contains(&id));
                            prop_assert!(!first_ids.contains(&id));
                            prop_assert!(announced.insert(id), "announced twice");
                        }
                    }
                }
            }
        }
    }
}
