//! Which issue each worktree is linked to, for the worktree list.
//!
//! The link is `linkedWorktreeId` in `.openkit/issues/<source>/<id>/notes.json`; the
//! issue's status and URL come from its `issue.json` (local tasks keep theirs there,
//! trackers cache theirs there). Reading every notes file on each list would cost a file
//! read per issue per request, so the index keeps what it parsed, keyed by the stamps
//! (modification time, size, inode) of both files:
//!
//! - writes made through this process ([`NotesStore`](crate::notes::NotesStore),
//!   [`LocalTasks`](crate::tasks::LocalTasks)) report the issue with
//!   [`LinkIndex::changed`]; the next lookup re-reads just those issues;
//! - anything else (another process, an editor) is picked up by a re-stat of every issue
//!   directory, which re-parses only the files whose stamp changed. It runs in the
//!   background once the last one is older than the TTL ([`DEFAULT_TTL`]), so no lookup
//!   waits for it (at 500 issues it takes milliseconds); only the very first lookup and
//!   an explicit [`LinkIndex::rescan`] scan on the caller.
//!
//! A lookup in between is an `Arc` clone of the map.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{IssueId, IssueRef, SourceId};
use crate::paths::Paths;
use crate::persist;

/// How long changes made by other processes may stay unseen (plus the time a background
/// re-stat takes).
pub const DEFAULT_TTL: Duration = Duration::from_secs(2);

/// The issue a worktree is linked to, with what is known about it without asking its
/// tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedIssue {
    /// Which issue.
    pub issue: IssueRef,
    /// Its link in the tracker, when known.
    pub url: Option<String>,
    /// Its status as the tracker names it, when known.
    pub status: Option<String>,
}

/// Modification time, size and inode of a file, if it exists. The inode makes every
/// atomic write (a rename of a new file) visible even within one tick of the coarse
/// file-system clock.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len(), m.ino())))
}

/// What the index knows about one issue directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Stamps of `notes.json` and `issue.json`.
    stamps: [Stamp; 2],
    /// `linkedWorktreeId`.
    linked: Option<String>,
    /// `status` of `issue.json` (a string, or an object's `name`).
    status: Option<String>,
    /// `url` of `issue.json`.
    url: Option<String>,
}

#[derive(Deserialize)]
struct NotesLink {
    #[serde(default, rename = "linkedWorktreeId")]
    linked: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<IssueRef, Entry>,
    /// When the last full re-stat started.
    verified: Option<Instant>,
    /// Issues written through this process since the last lookup.
    changed: BTreeSet<IssueRef>,
    /// A full re-stat is scheduled or running.
    scanning: bool,
    /// Issues re-read by lookups while a re-stat runs: their entries are newer than what
    /// the re-stat saw.
    reloaded: BTreeSet<IssueRef>,
    by_worktree: Arc<HashMap<String, LinkedIssue>>,
}

impl State {
    fn rebuild(&mut self) {
        let mut map = HashMap::new();
        for (issue, entry) in &self.entries {
            if let Some(worktree) = entry.linked.as_deref().filter(|w| !w.is_empty()) {
                map.entry(worktree.to_string())
                    .or_insert_with(|| LinkedIssue {
                        issue: issue.clone(),
                        url: entry.url.clone(),
                        status: entry.status.clone(),
                    });
            }
        }
        self.by_worktree = Arc::new(map);
    }
}

/// Called after a write was reported ([`LinkIndex::on_change`]).
struct Listener(Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

/// Worktree id → linked issue, cached by file stamps; see the module docs.
#[derive(Debug)]
pub struct LinkIndex {
    issues_dir: PathBuf,
    ttl: Duration,
    state: Mutex<State>,
    /// Serialises full re-stats.
    scan: Mutex<()>,
    /// Told of every reported write (the workbench re-publishes the worktree list, whose
    /// links and issue statuses come from here).
    listener: std::sync::OnceLock<Listener>,
}

impl LinkIndex {
    /// The index of the project at `paths`, re-checking other processes' changes in the
    /// background at most every [`DEFAULT_TTL`].
    pub fn new(paths: &Paths) -> Self {
        LinkIndex::with_ttl(paths, DEFAULT_TTL)
    }

    /// The same with another re-check interval.
    pub fn with_ttl(paths: &Paths, ttl: Duration) -> Self {
        LinkIndex {
            issues_dir: paths.issues_dir(),
            ttl,
            state: Mutex::new(State::default()),
            scan: Mutex::new(()),
            listener: std::sync::OnceLock::new(),
        }
    }

    /// Calls `listener` after every reported write ([`LinkIndex::changed`]), outside the
    /// index's lock. One listener per index; a second call is ignored.
    pub fn on_change(&self, listener: impl Fn() + Send + Sync + 'static) {
        let _ = self.listener.set(Listener(Box::new(listener)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports that `issue`'s notes or `issue.json` were written (or its directory
    /// removed); the next lookup re-reads it.
    pub fn changed(&self, issue: &IssueRef) {
        self.lock().changed.insert(issue.clone());
        if let Some(listener) = self.listener.get() {
            (listener.0)();
        }
    }

    /// Every linked worktree id with its issue. When several issues link one worktree,
    /// the first by source, then id, wins. Never waits for a full re-stat but the first.
    pub fn by_worktree(self: &Arc<Self>) -> Arc<HashMap<String, LinkedIssue>> {
        if self.lock().verified.is_none() {
            self.scan_all(true);
        }
        let mut state = self.lock();
        self.apply_changes(&mut state);
        if !state.scanning && state.verified.is_none_or(|t| t.elapsed() >= self.ttl) {
            state.scanning = true;
            let me = Arc::clone(self);
            let job = move || me.scan_all(false);
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(job)),
                Err(_) => drop(std::thread::spawn(job)),
            }
        }
        Arc::clone(&state.by_worktree)
    }

    /// The issue linked to `worktree_id`.
    pub fn linked(self: &Arc<Self>, worktree_id: &str) -> Option<LinkedIssue> {
        self.by_worktree().get(worktree_id).cloned()
    }

    /// Re-stats every issue directory now, on the caller (after a bulk change such as
    /// relinking the issues of a renamed worktree, or in a one-shot command).
    pub fn rescan(&self) {
        self.scan_all(false);
    }

    /// Re-reads the issues reported by [`LinkIndex::changed`].
    fn apply_changes(&self, state: &mut State) {
        if state.changed.is_empty() {
            return;
        }
        let mut dirty = false;
        for issue in std::mem::take(&mut state.changed) {
            // Reported writes are re-read whatever their stamps say.
            let fresh = self.load(&issue, None);
            if state.scanning {
                state.reloaded.insert(issue.clone());
            }
            match fresh {
                Some(entry) => {
                    if state.entries.get(&issue) != Some(&entry) {
                        state.entries.insert(issue, entry);
                        dirty = true;
                    }
                }
                None => dirty |= state.entries.remove(&issue).is_some(),
            }
        }
        if dirty {
            state.rebuild();
        }
    }

    /// A full re-stat without holding the state lock during the I/O; `first`: only when
    /// no re-stat ran yet (concurrent first lookups scan once).
    fn scan_all(&self, first: bool) {
        let _scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let Some(snapshot) = self.begin_scan(first) else {
            return;
        };
        let seen = self.scan_dirs(&snapshot);
        self.finish_scan(seen, started);
    }

    /// Marks a re-stat as running and returns the entries it starts from; `None` when
    /// `first` and a re-stat already ran.
    fn begin_scan(&self, first: bool) -> Option<BTreeMap<IssueRef, Entry>> {
        let mut state = self.lock();
        if first && state.verified.is_some() {
            return None;
        }
        state.scanning = true;
        state.reloaded.clear();
        Some(state.entries.clone())
    }

    /// Every issue directory's entry, reusing `cached` ones whose stamps are unchanged.
    fn scan_dirs(&self, cached: &BTreeMap<IssueRef, Entry>) -> BTreeMap<IssueRef, Entry> {
        let mut seen = BTreeMap::new();
        for source in read_names(&self.issues_dir) {
            let Ok(source_id) = SourceId::new(&source) else {
                continue;
            };
            for id in read_names(&self.issues_dir.join(&source)) {
                let Ok(id) = IssueId::new(&id) else {
                    continue;
                };
                let issue = IssueRef::new(source_id.clone(), id);
                if let Some(entry) = self.load(&issue, cached.get(&issue)) {
                    seen.insert(issue, entry);
                }
            }
        }
        seen
    }

    /// Installs what a re-stat saw, except for issues lookups re-read meanwhile (theirs
    /// is newer).
    fn finish_scan(&self, mut seen: BTreeMap<IssueRef, Entry>, started: Instant) {
        let mut state = self.lock();
        for issue in std::mem::take(&mut state.reloaded) {
            match state.entries.get(&issue) {
                Some(entry) => seen.insert(issue, entry.clone()),
                None => seen.remove(&issue),
            };
        }
        state.scanning = false;
        state.verified = Some(started);
        if seen != state.entries {
            state.entries = seen;
            state.rebuild();
        }
    }

    /// The entry of one issue directory (the cached one when both stamps are unchanged);
    /// `None` when the directory is gone.
    fn load(&self, issue: &IssueRef, cached: Option<&Entry>) -> Option<Entry> {
        let dir = self
            .issues_dir
            .join(issue.source.as_str())
            .join(issue.id.as_str());
        let notes = dir.join("notes.json");
        let issue_file = dir.join("issue.json");
        let stamps = [stamp(&notes), stamp(&issue_file)];
        if let Some(cached) = cached
            && cached.stamps == stamps
        {
            return Some(cached.clone());
        }
        if stamps == [None, None] && !dir.is_dir() {
            return None;
        }
        let linked = match (cached, stamps[0]) {
            (Some(c), s) if c.stamps[0] == s => c.linked.clone(),
            (_, None) => None,
            _ => persist::read_json::<NotesLink>(&notes)
                .ok()
                .flatten()
                .and_then(|n| n.linked),
        };
        let (status, url) = match (cached, stamps[1]) {
            (Some(c), s) if c.stamps[1] == s => (c.status.clone(), c.url.clone()),
            (_, None) => (None, None),
            _ => {
                let value = persist::read_json::<Value>(&issue_file)
                    .ok()
                    .flatten()
                    .unwrap_or(Value::Null);
                let status = match &value["status"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                };
                (status, value["url"].as_str().map(str::to_string))
            }
        };
        Some(Entry {
            stamps,
            linked,
            status,
            url,
        })
    }
}

/// Names of the subdirectories of `dir` that are valid UTF-8.
fn read_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup(ttl: Duration) -> (tempfile::TempDir, Paths, Arc<LinkIndex>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        let index = Arc::new(LinkIndex::with_ttl(&paths, ttl));
        (dir, paths, index)
    }

    fn write(paths: &Paths, issue: &IssueRef, file: &str, value: Value) {
        persist::write_json(&issue.dir(paths).join(file), &value).unwrap();
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn links_status_and_url_from_the_files() {
        let (_d, paths, index) = setup(HOUR);
        assert!(index.by_worktree().is_empty());
        let local = IssueRef::local("LOCAL-1").unwrap();
        let jira = IssueRef::parse("jira", "PROJ-2").unwrap();
        write(
            &paths,
            &local,
            "notes.json",
            json!({"linkedWorktreeId": "wt-a"}),
        );
        write(
            &paths,
            &local,
            "issue.json",
            json!({"id": "LOCAL-1", "status": "todo"}),
        );
        write(
            &paths,
            &jira,
            "notes.json",
            json!({"linkedWorktreeId": "wt-b", "todos": []}),
        );
        write(
            &paths,
            &jira,
            "issue.json",
            json!({"status": {"name": "In Review"}, "url": "https://jira.invalid/PROJ-2"}),
        );
        // Not valid names: never an issue.
        fs::create_dir_all(paths.issues_dir().join("Bad Source/X-1")).unwrap();
        fs::create_dir_all(paths.issues_dir().join("local/.hidden")).unwrap();
        // A fresh index reads everything on its first lookup.
        let index = Arc::new(LinkIndex::with_ttl(&paths, HOUR));
        let map = index.by_worktree();
        assert_eq!(map.len(), 2);
        assert_eq!(
            map["wt-a"],
            LinkedIssue {
                issue: local.clone(),
                url: None,
                status: Some("todo".into())
            }
        );
        assert_eq!(map["wt-b"].status.as_deref(), Some("In Review"));
        assert_eq!(
            map["wt-b"].url.as_deref(),
            Some("https://jira.invalid/PROJ-2")
        );

        // A write reported by this process is seen by the next lookup (same size, same
        // clock tick: reported writes are re-read whatever their stamps say).
        write(
            &paths,
            &local,
            "issue.json",
            json!({"id": "LOCAL-1", "status": "done"}),
        );
        write(
            &paths,
            &local,
            "notes.json",
            json!({"linkedWorktreeId": "wt-c"}),
        );
        index.changed(&local);
        let map = index.by_worktree();
        assert!(!map.contains_key("wt-a"));
        assert_eq!(map["wt-c"].status.as_deref(), Some("done"));

        // A removed directory drops its link.
        fs::remove_dir_all(local.dir(&paths)).unwrap();
        index.changed(&local);
        assert!(index.linked("wt-c").is_none());
        assert!(index.linked("wt-b").is_some());
    }

    #[test]
    fn the_listener_hears_every_reported_write() {
        let (_d, paths, index) = setup(HOUR);
        let heard = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&heard);
        index.on_change(move || {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let local = IssueRef::local("LOCAL-1").unwrap();
        write(
            &paths,
            &local,
            "notes.json",
            json!({"linkedWorktreeId": "wt"}),
        );
        index.changed(&local);
        // The listener may look the link up at once (no lock is held while it runs).
        assert_eq!(heard.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(index.linked("wt").is_some());
        index.changed(&local);
        assert_eq!(heard.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn unreported_changes_are_found_by_a_rescan() {
        let (_d, paths, index) = setup(HOUR);
        let issue = IssueRef::parse("linear", "ENG-1").unwrap();
        assert!(index.linked("wt").is_none());
        write(
            &paths,
            &issue,
            "notes.json",
            json!({"linkedWorktreeId": "wt"}),
        );
        // Cached: another process's write is not seen before the TTL...
        assert!(index.linked("wt").is_none());
        // ...unless the index re-stats.
        index.rescan();
        assert_eq!(index.linked("wt").unwrap().issue, issue);
    }

    #[tokio::test]
    async fn after_the_ttl_a_background_rescan_picks_changes_up() {
        let (_d, paths, index) = setup(Duration::from_millis(20));
        let issue = IssueRef::parse("kiket", "K-1").unwrap();
        assert!(index.linked("wt").is_none());
        write(
            &paths,
            &issue,
            "notes.json",
            json!({"linkedWorktreeId": "wt"}),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while index.linked("wt").is_none() {
            assert!(Instant::now() < deadline, "the background rescan never ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(index.linked("wt").unwrap().issue, issue);
    }

    #[test]
    fn a_write_during_a_rescan_is_not_lost() {
        let (_d, paths, index) = setup(HOUR);
        let issue = IssueRef::local("LOCAL-1").unwrap();
        write(
            &paths,
            &issue,
            "notes.json",
            json!({"linkedWorktreeId": "old"}),
        );
        assert!(index.linked("old").is_some());
        // A re-stat starts and sees the old file...
        let started = Instant::now();
        let snapshot = index.begin_scan(false).unwrap();
        let stale = index.scan_dirs(&snapshot);
        // ...while a reported write is applied by a lookup...
        write(
            &paths,
            &issue,
            "notes.json",
            json!({"linkedWorktreeId": "new"}),
        );
        index.changed(&issue);
        assert!(index.linked("new").is_some());
        // ...and the re-stat finishing late does not bring the old link back.
        index.finish_scan(stale, started);
        assert!(index.linked("new").is_some());
        assert!(index.linked("old").is_none());
    }

    #[test]
    fn corrupt_files_and_duplicate_links() {
        let (_d, paths, index) = setup(HOUR);
        let a = IssueRef::parse("jira", "A-1").unwrap();
        let b = IssueRef::parse("local", "LOCAL-1").unwrap();
        let c = IssueRef::parse("kiket", "K-1").unwrap();
        write(&paths, &a, "notes.json", json!({"linkedWorktreeId": "wt"}));
        write(&paths, &b, "notes.json", json!({"linkedWorktreeId": "wt"}));
        fs::create_dir_all(c.dir(&paths)).unwrap();
        fs::write(c.dir(&paths).join("notes.json"), "{oops").unwrap();
        fs::write(c.dir(&paths).join("issue.json"), "{oops").unwrap();
        let map = index.by_worktree();
        assert_eq!(map.len(), 1);
        assert_eq!(map["wt"].issue, a, "the first by source, then id");
        // Empty links are no links.
        write(&paths, &a, "notes.json", json!({"linkedWorktreeId": ""}));
        write(&paths, &b, "notes.json", json!({"linkedWorktreeId": null}));
        index.rescan();
        assert!(index.by_worktree().is_empty());
    }
}
