//! The live status engine: every worktree's identity and git status, kept in memory and
//! fresh by watching the file system, so a list never scans a worktree.
//!
//! - **Snapshot.** [`StatusEngine::list`] answers from an in-memory snapshot while the
//!   engine runs. Before [`StatusEngine::start`] (a one-shot CLI command, a test) it
//!   computes a fresh list on every call instead.
//! - **Watches.** Each working tree is watched directory by directory, minus what git
//!   ignores, `.git` and OpenKit's own `.openkit/` (whose tracked files get one watch
//!   each); plus each checkout's git directory (`HEAD`, `index`), the common `refs/`,
//!   `packed-refs` and the registration directories. A notification marks the work it
//!   implies ([`pending`]); after a short debounce one refresh does it on the blocking
//!   pool, re-reading only what changed, and a changed list is announced.
//! - **Upkeep off the list's path.** Walking trees to add watches, and polling, are done
//!   by the background task outside the refresh lock, so a large tree or a slow checkout
//!   never holds up a list; whatever gets newly watched is rechecked once, since it may
//!   have changed before its watch existed.
//! - **Polling fallback.** A checkout with more directories than the budget, or met
//!   when the system's watch limit is exhausted (or when watching is unsupported), is
//!   polled instead, at an interval that keeps the polling cost near a fixed share of one
//!   core.
//! - **OpenKit's own changes** ([`StatusEngine::invalidate`]) make the next list refresh
//!   before it answers, so a client that just created a worktree sees it.
//!
//! Nothing here spawns a process: status comes from libgit2 and file reads.

mod pending;
mod watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

use crate::error::IoFailure;
use crate::git::repo::{self, Freshness, StatusCache};
use crate::paths::Paths;
use crate::worktree::{GitStatus, ROOT_ID, WorktreeRecord};
use pending::Pending;
use watch::{Owner, Role, Unwatchable, WatchIndex};

/// Tuning of the status engine.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// Whether to watch the file system at all (`false`: poll every checkout).
    pub watch: bool,
    /// How long to gather notifications before refreshing.
    pub debounce: Duration,
    /// Directories one checkout may have watched before it is polled instead.
    pub max_dirs_per_checkout: usize,
    /// Watches the engine may hold in all.
    pub max_watches: usize,
    /// Shortest interval between two polls of one checkout.
    pub poll_min_interval: Duration,
    /// Longest interval between two polls of one checkout.
    pub poll_max_interval: Duration,
    /// Share of one core polling may use: a poll that took `t` waits `t / share`.
    pub poll_cpu_share: f64,
}

impl Default for StatusSettings {
    fn default() -> Self {
        StatusSettings {
            watch: true,
            debounce: Duration::from_millis(20),
            max_dirs_per_checkout: 20_000,
            max_watches: 200_000,
            poll_min_interval: Duration::from_secs(2),
            poll_max_interval: Duration::from_secs(300),
            poll_cpu_share: 0.01,
        }
    }
}

/// How the engine keeps one checkout fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshener {
    /// File-system notifications, with this many watches.
    Watched(usize),
    /// Polling every `interval`, because of `reason`.
    Polled {
        /// Current interval between polls.
        interval: Duration,
        /// Why it is not watched.
        reason: String,
    },
}

/// What the engine holds, for diagnostics and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStats {
    /// Watches held in all (directories and files).
    pub watches: usize,
    /// Refreshes run so far (each re-reads what changed).
    pub refreshes: u64,
    /// How each checkout is kept fresh.
    pub checkouts: Vec<(PathBuf, Freshener)>,
}

/// Where a project's worktrees are.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
    common_dir: PathBuf,
    worktrees_dir: PathBuf,
    worktrees_dir_canonical: Option<PathBuf>,
}

impl Layout {
    /// The layout of the project at `paths` whose common git directory is `common_dir`.
    pub fn new(paths: &Paths, common_dir: PathBuf) -> Self {
        Layout {
            root: paths.project_root().to_path_buf(),
            worktrees_dir: paths.worktrees_dir(),
            worktrees_dir_canonical: paths.worktrees_dir().canonicalize().ok(),
            common_dir,
        }
    }

    /// The common git directory.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// Registrations whose checkout lives directly in `.openkit/worktrees/`, with ids.
    pub fn managed_registrations(&self) -> Vec<(String, repo::Registration)> {
        let canonical = self
            .worktrees_dir_canonical
            .clone()
            .or_else(|| self.worktrees_dir.canonicalize().ok());
        repo::registrations(&self.common_dir)
            .into_iter()
            .filter_map(|reg| {
                let parent = reg.path.parent()?;
                let inside = parent == self.worktrees_dir || canonical.as_deref() == Some(parent);
                let id = reg.path.file_name()?.to_str()?.to_string();
                inside.then_some((id, reg))
            })
            .collect()
    }

    /// The main checkout first, then every managed worktree whose directory exists, by
    /// id; with each one's git directory. Git status is left at its default.
    fn identities(&self) -> Vec<Identity> {
        let mut linked: Vec<Identity> = self
            .managed_registrations()
            .into_iter()
            .filter(|(_, reg)| reg.path.is_dir())
            .map(|(id, reg)| Identity {
                git_dir: self.common_dir.join("worktrees").join(&reg.name),
                record: WorktreeRecord {
                    id,
                    path: reg.path,
                    branch: reg.branch.unwrap_or_default(),
                    git: GitStatus::default(),
                    is_root: false,
                },
            })
            .collect();
        linked.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        let mut out = vec![Identity {
            git_dir: self.common_dir.clone(),
            record: WorktreeRecord {
                id: ROOT_ID.to_string(),
                path: self.root.clone(),
                branch: repo::read_head_branch(&self.common_dir).unwrap_or_default(),
                git: GitStatus::default(),
                is_root: true,
            },
        }];
        out.extend(linked);
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    record: WorktreeRecord,
    git_dir: PathBuf,
}

/// One consistent view of every worktree.
#[derive(Debug)]
struct Snapshot {
    base_branch: String,
    identities: Vec<Identity>,
    records: Arc<Vec<WorktreeRecord>>,
}

/// Watch upkeep a refresh left for the background task.
#[derive(Debug, Default)]
struct WatchWork {
    /// The checkouts now listed, when their set changed.
    identities: Option<Vec<Identity>>,
    /// Paths created inside watched directories: `(checkout, path)`.
    new_dirs: Vec<(PathBuf, PathBuf)>,
    /// Watched directories that went away.
    gone_dirs: Vec<PathBuf>,
}

impl WatchWork {
    fn is_empty(&self) -> bool {
        self.identities.is_none() && self.new_dirs.is_empty() && self.gone_dirs.is_empty()
    }
}

#[derive(Debug, Clone)]
struct PollState {
    interval: Duration,
    due: Instant,
    reason: Unwatchable,
}

/// The live status of a project's worktrees. Cheap to clone.
#[derive(Clone)]
pub struct StatusEngine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StatusEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusEngine")
            .field("root", &self.shared.layout.root)
            .field("live", &self.shared.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Shared {
    layout: Layout,
    settings: StatusSettings,
    cache: StatusCache,
    current: RwLock<Option<Arc<Snapshot>>>,
    pending: Mutex<Pending>,
    wake: Arc<Notify>,
    refreshing: tokio::sync::Mutex<()>,
    index: RwLock<WatchIndex>,
    watcher: Mutex<Option<RecommendedWatcher>>,
    /// Checkouts whose watches are set up.
    watched: Mutex<HashSet<PathBuf>>,
    polled: Mutex<HashMap<PathBuf, PollState>>,
    watch_work: Mutex<WatchWork>,
    /// What [`StatusEngine::start`] was told to run when the list changes.
    on_change: std::sync::OnceLock<ChangeHook>,
    started: AtomicBool,
    live: AtomicBool,
    refreshes: AtomicU64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Lets the background task notice that the engine is gone.
        self.wake.notify_one();
    }
}

impl StatusEngine {
    /// An engine for `layout`; not running until [`StatusEngine::start`].
    pub fn new(layout: Layout, settings: StatusSettings) -> Self {
        StatusEngine {
            shared: Arc::new(Shared {
                layout,
                settings,
                cache: StatusCache::new(),
                current: RwLock::new(None),
                pending: Mutex::new(Pending::default()),
                wake: Arc::new(Notify::new()),
                refreshing: tokio::sync::Mutex::new(()),
                index: RwLock::new(WatchIndex::default()),
                watcher: Mutex::new(None),
                watched: Mutex::new(HashSet::new()),
                polled: Mutex::new(HashMap::new()),
                watch_work: Mutex::new(WatchWork::default()),
                on_change: std::sync::OnceLock::new(),
                started: AtomicBool::new(false),
                live: AtomicBool::new(false),
                refreshes: AtomicU64::new(0),
            }),
        }
    }

    /// Where the worktrees are.
    pub fn layout(&self) -> &Layout {
        &self.shared.layout
    }

    /// True once [`StatusEngine::start`] has run its first refresh.
    pub fn is_live(&self) -> bool {
        self.shared.live.load(Ordering::Acquire)
    }

    /// The main checkout first, then every linked worktree by id, with git status against
    /// `base_branch`. Live: the snapshot (refreshed first only after OpenKit's own
    /// changes or a new base branch); otherwise computed now.
    pub async fn list(&self, base_branch: &str) -> Result<Arc<Vec<WorktreeRecord>>, IoFailure> {
        if let Some(records) = self.fresh_snapshot(base_branch) {
            return Ok(records);
        }
        let refreshing = self.shared.refreshing.lock().await;
        if let Some(records) = self.fresh_snapshot(base_branch) {
            return Ok(records); // another caller refreshed while this one waited
        }
        self.refresh_locked(&refreshing, base_branch).await?;
        Ok(self
            .shared
            .current()
            .map(|s| Arc::clone(&s.records))
            .unwrap_or_default())
    }

    fn fresh_snapshot(&self, base_branch: &str) -> Option<Arc<Vec<WorktreeRecord>>> {
        if !self.is_live() {
            return None;
        }
        let synced = !self.shared.lock_pending().sync;
        let snapshot = self.shared.current()?;
        (synced && snapshot.base_branch == base_branch).then(|| Arc::clone(&snapshot.records))
    }

    /// OpenKit changed the worktree at `checkout` (or the set of worktrees): the next list
    /// re-reads registrations and that checkout before answering.
    pub fn invalidate(&self, checkout: Option<&Path>) {
        let mut pending = self.shared.lock_pending();
        pending.sync = true;
        pending.registrations = true;
        if let Some(path) = checkout {
            pending.tree_unknown(path);
            pending.keys_of(path);
        }
        drop(pending);
        self.shared.wake.notify_one();
    }

    /// OpenKit is about to change the worktree at `checkout`: marks it (and the set of
    /// worktrees) changed now and again when the returned guard is dropped, so a refresh
    /// that ran while the change was under way is not trusted afterwards.
    pub fn changing(&self, checkout: &Path) -> Changing {
        self.invalidate(Some(checkout));
        Changing {
            engine: self.clone(),
            checkout: checkout.to_path_buf(),
        }
    }

    /// Refreshes now with whatever is pending. Returns true when the list changed.
    async fn refresh(&self, base_branch: &str) -> Result<bool, IoFailure> {
        let refreshing = self.shared.refreshing.lock().await;
        self.refresh_locked(&refreshing, base_branch).await
    }

    async fn refresh_locked(
        &self,
        _refreshing: &tokio::sync::MutexGuard<'_, ()>,
        base_branch: &str,
    ) -> Result<bool, IoFailure> {
        let pending = std::mem::take(&mut *self.shared.lock_pending());
        let shared = Arc::clone(&self.shared);
        let base = base_branch.to_string();
        let changed = tokio::task::spawn_blocking(move || shared.refresh_blocking(pending, &base))
            .await
            .map_err(|e| IoFailure::new("computing git status", std::io::Error::other(e)))?;
        if changed {
            self.shared.announce();
        }
        Ok(changed)
    }

    /// Starts watching (or polling) and keeping the snapshot fresh; `on_change` runs after
    /// every refresh that changed the list, whoever ran it (the background task, or a list
    /// that refreshed first after one of OpenKit's own changes). The task ends when the engine is dropped.
    /// Needs a tokio runtime. An engine starts once; later calls do nothing.
    pub fn start(
        &self,
        base_branch: impl Fn() -> String + Send + Sync + 'static,
        on_change: impl Fn() + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        if self.shared.started.swap(true, Ordering::AcqRel) {
            // Started before: one engine keeps one set of watches.
            return tokio::spawn(async {});
        }
        let _ = self.shared.on_change.set(Box::new(on_change));
        if self.shared.settings.watch {
            let weak = Arc::downgrade(&self.shared);
            match notify::recommended_watcher(move |event| on_notification(&weak, event)) {
                Ok(w) => {
                    *self
                        .shared
                        .watcher
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(w)
                }
                Err(e) => tracing::warn!(
                    "file watching is unavailable ({e}); worktree status is polled instead"
                ),
            }
        }
        // The repository-wide watches exist before the first list is taken, so a worktree
        // added meanwhile is noticed; each checkout's own watches follow in the
        // background.
        if let Some(watcher) = self
            .shared
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            self.shared.watch_repository(watcher);
        }
        let weak = Arc::downgrade(&self.shared);
        let wake = Arc::clone(&self.shared.wake);
        let engine = self.clone();
        tokio::spawn(async move {
            engine.shared.lock_pending().everything = true;
            if let Err(e) = engine.refresh(&base_branch()).await {
                tracing::warn!("worktree status refresh failed: {e}");
            }
            engine.shared.live.store(true, Ordering::Release);
            engine.shared.announce();
            drop(engine);
            loop {
                let due = match weak.upgrade() {
                    Some(shared) => shared.next_poll(),
                    None => return,
                };
                match due {
                    Some(at) => {
                        tokio::select! {
                            _ = wake.notified() => {}
                            _ = tokio::time::sleep_until(at.into()) => {}
                        }
                    }
                    None => wake.notified().await,
                }
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                tokio::time::sleep(shared.settings.debounce).await;
                let base = base_branch();
                // Watches and polls are set up and run outside the refresh lock: walking
                // a large tree or polling a slow checkout never holds up a list.
                let engine = StatusEngine { shared };
                engine.maintain(&base).await;
                if engine.shared.lock_pending().is_empty() {
                    continue;
                }
                if let Err(e) = engine.refresh(&base).await {
                    tracing::warn!("worktree status refresh failed: {e}");
                }
            }
        })
    }

    /// Brings the watches in line with the last refresh, then runs the polls that are
    /// due; what they found is left pending for the next refresh.
    async fn maintain(&self, base_branch: &str) {
        let work = std::mem::take(&mut *self.shared.lock_watch_work());
        let shared = Arc::clone(&self.shared);
        let base = base_branch.to_string();
        let done = tokio::task::spawn_blocking(move || {
            if !work.is_empty() {
                shared.sync_watches(work);
            }
            shared.run_due_polls(&base);
        })
        .await;
        if let Err(e) = done {
            tracing::warn!("worktree watch upkeep failed: {e}");
        }
    }

    /// Watches held and how each checkout is kept fresh.
    pub fn stats(&self) -> EngineStats {
        let shared = &self.shared;
        let index = shared.index.read().unwrap_or_else(|e| e.into_inner());
        let polled = shared.polled.lock().unwrap_or_else(|e| e.into_inner());
        let watched = shared.watched.lock().unwrap_or_else(|e| e.into_inner());
        let mut checkouts: Vec<(PathBuf, Freshener)> = watched
            .iter()
            .map(|c| (c.clone(), Freshener::Watched(index.count(c))))
            .chain(polled.iter().map(|(c, p)| {
                (
                    c.clone(),
                    Freshener::Polled {
                        interval: p.interval,
                        reason: p.reason.to_string(),
                    },
                )
            }))
            .collect();
        checkouts.sort_by(|a, b| a.0.cmp(&b.0));
        EngineStats {
            watches: index.len(),
            refreshes: shared.refreshes.load(Ordering::Relaxed),
            checkouts,
        }
    }
}

/// A change OpenKit is making to one checkout; see [`StatusEngine::changing`].
#[derive(Debug)]
#[must_use = "the change is marked again when this is dropped"]
pub struct Changing {
    engine: StatusEngine,
    checkout: PathBuf,
}

impl Drop for Changing {
    fn drop(&mut self) {
        self.engine.invalidate(Some(&self.checkout));
    }
}

/// The watcher thread's callback: classify under the index's read lock, then wake.
fn on_notification(shared: &Weak<Shared>, event: notify::Result<notify::Event>) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let mut owed = Pending::default();
    match event {
        Ok(event) if event.need_rescan() => owed.everything = true,
        // Reads change nothing; and the engine's own status checks read the trees, so
        // taking them for changes would make it chase itself.
        Ok(event) if is_read(&event.kind) => return,
        Ok(event) => {
            let index = shared.index.read().unwrap_or_else(|e| e.into_inner());
            for path in &event.paths {
                index.classify(&event.kind, path, &mut owed);
            }
        }
        Err(e) => {
            tracing::debug!("file watcher error: {e}");
            owed.everything = true;
        }
    }
    if owed.is_empty() {
        return;
    }
    shared.lock_pending().merge(owed);
    shared.wake.notify_one();
}

/// An open, a read or a close without writing.
fn is_read(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    matches!(kind, notify::EventKind::Access(access)
        if !matches!(access, AccessKind::Close(AccessMode::Write)))
}

/// Called when the list changed.
type ChangeHook = Box<dyn Fn() + Send + Sync>;

impl Shared {
    /// Tells whoever started the engine that the list changed.
    fn announce(&self) {
        if let Some(hook) = self.on_change.get() {
            hook();
        }
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_poll(&self) -> Option<Instant> {
        self.polled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|p| p.due)
            .min()
    }

    /// Does what `pending` owes; returns true when the list changed.
    fn refresh_blocking(&self, pending: Pending, base_branch: &str) -> bool {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let prev = self.current();
        let started = self.started.load(Ordering::Acquire);
        let whole = !started
            || pending.everything
            || prev.as_ref().is_none_or(|p| p.base_branch != base_branch);
        let identities = match &prev {
            Some(p) if !whole && !pending.registrations => p.identities.clone(),
            _ => self.layout.identities(),
        };
        let paths: Vec<PathBuf> = identities.iter().map(|i| i.record.path.clone()).collect();
        if started {
            self.hand_over_watch_work(&identities, &pending, prev.as_deref());
        }
        self.cache.retain(&paths);

        // Whose dirty bit to recheck: checkouts with relevant working-tree changes and
        // checkouts new to the list.
        let mut recheck: HashSet<PathBuf> = HashSet::new();
        for (checkout, changed) in &pending.trees {
            let relevant = match changed {
                None => true,
                Some(changed) => changed.iter().any(|p| !self.cache.is_ignored(checkout, p)),
            };
            if relevant {
                recheck.insert(checkout.clone());
            }
        }
        let known: HashSet<&PathBuf> = prev
            .as_ref()
            .map(|p| p.records.iter().map(|r| &r.path).collect())
            .unwrap_or_default();
        recheck.extend(paths.iter().filter(|p| !known.contains(p)).cloned());

        let mut statuses: HashMap<PathBuf, GitStatus> = HashMap::new();
        let scope: Vec<PathBuf> = paths
            .iter()
            .filter(|p| {
                whole || pending.all_keys || recheck.contains(*p) || pending.keys.contains(*p)
            })
            .cloned()
            .collect();
        let freshness = if whole {
            Freshness::Recheck
        } else {
            Freshness::Trust(&recheck)
        };
        let fresh = self.cache.refresh(&scope, base_branch, freshness);
        statuses.extend(scope.into_iter().zip(fresh));
        if let Some(prev) = &prev {
            for r in prev.records.iter() {
                statuses.entry(r.path.clone()).or_insert(r.git);
            }
        }

        let records: Vec<WorktreeRecord> = identities
            .iter()
            .map(|i| WorktreeRecord {
                git: statuses.get(&i.record.path).copied().unwrap_or_default(),
                ..i.record.clone()
            })
            .collect();
        let changed = prev
            .as_ref()
            .is_none_or(|p| *p.records != records || p.base_branch != base_branch);
        if changed {
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(Snapshot {
                base_branch: base_branch.to_string(),
                identities,
                records: Arc::new(records),
            }));
        }
        changed
    }

    /// Polls the checkouts whose time has come, one by one so each poll's cost is known,
    /// and leaves their keys pending (the cache now holds their fresh dirty bit).
    fn run_due_polls(&self, base_branch: &str) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .polled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, p)| p.due <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for checkout in due {
            let began = Instant::now();
            self.cache.refresh(
                std::slice::from_ref(&checkout),
                base_branch,
                Freshness::Recheck,
            );
            self.reschedule_poll(&checkout, began.elapsed());
            let mut pending = self.lock_pending();
            pending.registrations = true;
            pending.keys_of(&checkout);
        }
    }

    /// Sets a polled checkout's next poll so that polling stays within its share of a
    /// core, given what one poll of it `cost`.
    fn reschedule_poll(&self, checkout: &Path, cost: Duration) {
        let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = polled.get_mut(checkout) {
            p.interval = cost.div_f64(self.settings.poll_cpu_share).clamp(
                self.settings.poll_min_interval,
                self.settings.poll_max_interval,
            );
            p.due = Instant::now() + p.interval;
        }
    }

    fn poll(&self, checkout: &Path, reason: Unwatchable) {
        tracing::info!(
            "worktree status of {} is polled: {reason}",
            checkout.display()
        );
        self.polled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                checkout.to_path_buf(),
                PollState {
                    interval: self.settings.poll_min_interval,
                    due: Instant::now() + self.settings.poll_min_interval,
                    reason,
                },
            );
    }

    /// Hands the watch upkeep a refresh implies to the background task: the checkouts
    /// when their set changed, and the directories seen created or removed.
    fn hand_over_watch_work(
        &self,
        identities: &[Identity],
        pending: &Pending,
        prev: Option<&Snapshot>,
    ) {
        let same_set = prev.is_some_and(|p| {
            p.identities.len() == identities.len()
                && p.identities
                    .iter()
                    .zip(identities)
                    .all(|(a, b)| a.record.path == b.record.path && a.git_dir == b.git_dir)
        });
        let mut work = self.lock_watch_work();
        if !same_set {
            work.identities = Some(identities.to_vec());
        }
        work.new_dirs.extend(pending.new_dirs.iter().cloned());
        work.gone_dirs.extend(pending.gone_dirs.iter().cloned());
        if !work.is_empty() {
            self.wake.notify_one();
        }
    }

    fn lock_watch_work(&self) -> std::sync::MutexGuard<'_, WatchWork> {
        self.watch_work.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the watches in line with `work`. Whatever gets newly watched is marked for
    /// a whole recheck: it may have changed before its watch existed.
    fn sync_watches(&self, work: WatchWork) {
        let mut fresh: Vec<PathBuf> = Vec::new();
        {
            let mut guard = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(watcher) => {
                    if let Some(identities) = &work.identities {
                        self.watch_checkouts(watcher, identities, &mut fresh);
                    }
                    self.watch_new_dirs(watcher, &work, &mut fresh);
                }
                None => {
                    if let Some(identities) = &work.identities {
                        self.poll_all(identities);
                    }
                }
            }
        }
        if fresh.is_empty() {
            return;
        }
        let mut pending = self.lock_pending();
        // A checkout may also have gone before its watches existed.
        pending.registrations = true;
        for checkout in fresh {
            pending.tree_unknown(&checkout);
            pending.keys_of(&checkout);
        }
        drop(pending);
        self.wake.notify_one();
    }

    /// Nothing can be watched: every checkout is polled.
    fn poll_all(&self, identities: &[Identity]) {
        let current: HashSet<&PathBuf> = identities.iter().map(|i| &i.record.path).collect();
        let known: HashSet<PathBuf> = {
            let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
            polled.retain(|c, _| current.contains(c));
            polled.keys().cloned().collect()
        };
        for i in identities {
            if !known.contains(&i.record.path) {
                self.poll(
                    &i.record.path,
                    Unwatchable::Failed("file watching is unavailable".into()),
                );
            }
        }
    }

    /// The repository-wide watches, and one set per checkout in `identities` (dropping
    /// those of checkouts that went away).
    fn watch_checkouts(
        &self,
        watcher: &mut RecommendedWatcher,
        identities: &[Identity],
        fresh: &mut Vec<PathBuf>,
    ) {
        self.watch_repository(watcher);
        self.unwatch_gone_and_watch_new(watcher, identities, fresh);
    }

    /// The repository-wide watches (retried each time: some of these directories appear
    /// later).
    fn watch_repository(&self, watcher: &mut RecommendedWatcher) {
        let root = &self.layout.root;
        let common = &self.layout.common_dir;
        let global = [
            (common.clone(), Role::Common, RecursiveMode::NonRecursive),
            (common.join("refs"), Role::Refs, RecursiveMode::Recursive),
            (
                common.join("worktrees"),
                Role::Registry,
                RecursiveMode::NonRecursive,
            ),
            (
                self.layout.worktrees_dir.clone(),
                Role::Registry,
                RecursiveMode::NonRecursive,
            ),
        ];
        for (path, role, mode) in global {
            let known = self
                .index
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&path);
            if !known && path.is_dir() && watch::watch(watcher, &path, mode).is_ok() {
                self.index_insert(path, role, root);
            }
        }
    }

    fn unwatch_gone_and_watch_new(
        &self,
        watcher: &mut RecommendedWatcher,
        identities: &[Identity],
        fresh: &mut Vec<PathBuf>,
    ) {
        // Checkouts that went away.
        let current: HashSet<&PathBuf> = identities.iter().map(|i| &i.record.path).collect();
        let gone: Vec<PathBuf> = {
            let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            watched
                .iter()
                .filter(|c| !current.contains(c))
                .cloned()
                .collect()
        };
        for checkout in gone {
            self.unwatch_checkout(watcher, &checkout);
            self.watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&checkout);
        }
        self.polled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c, _| current.contains(c));

        // New checkouts.
        for identity in identities {
            let checkout = &identity.record.path;
            let set_up = self
                .watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(checkout)
                || self
                    .polled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(checkout);
            if set_up {
                continue;
            }
            match self.watch_checkout(watcher, identity) {
                Ok(()) => {
                    self.watched
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(checkout.clone());
                    fresh.push(checkout.clone());
                }
                Err(reason) => {
                    self.unwatch_checkout(watcher, checkout);
                    self.poll(checkout, reason);
                }
            }
        }
    }

    /// Watches for directories created inside watched trees; forgets removed ones.
    fn watch_new_dirs(
        &self,
        watcher: &mut RecommendedWatcher,
        work: &WatchWork,
        fresh: &mut Vec<PathBuf>,
    ) {
        for dir in &work.gone_dirs {
            self.index
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(dir);
        }
        for (checkout, path) in &work.new_dirs {
            let watched = self
                .watched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(checkout);
            if !watched
                || !path.is_dir()
                || path.is_symlink()
                || watch::skipped_dir(checkout, path)
                || self.cache.is_ignored(checkout, path)
            {
                continue;
            }
            match self.watch_tree(watcher, checkout, path) {
                Ok(()) => fresh.push(checkout.clone()),
                Err(reason) => {
                    self.unwatch_checkout(watcher, checkout);
                    self.watched
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(checkout);
                    self.poll(checkout, reason);
                }
            }
        }
    }

    fn index_insert(&self, path: PathBuf, role: Role, checkout: &Path) {
        self.index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                path,
                Owner {
                    role,
                    checkout: checkout.to_path_buf(),
                },
            );
    }

    fn watch_checkout(
        &self,
        watcher: &mut RecommendedWatcher,
        identity: &Identity,
    ) -> Result<(), Unwatchable> {
        let checkout = &identity.record.path;
        self.watch_tree(watcher, checkout, checkout)?;
        for file in watch::tracked_openkit_files(checkout) {
            watch::watch(watcher, &file, RecursiveMode::NonRecursive)?;
            self.index_insert(file, Role::TrackedFile, checkout);
        }
        if !identity.record.is_root {
            watch::watch(watcher, &identity.git_dir, RecursiveMode::NonRecursive)?;
            self.index_insert(identity.git_dir.clone(), Role::GitDir, checkout);
        }
        Ok(())
    }

    /// Watches `start` and the directories under it that are worth watching.
    fn watch_tree(
        &self,
        watcher: &mut RecommendedWatcher,
        checkout: &Path,
        start: &Path,
    ) -> Result<(), Unwatchable> {
        let (held, total) = {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            (index.count(checkout), index.len())
        };
        let budget = self
            .settings
            .max_dirs_per_checkout
            .saturating_sub(held)
            .min(self.settings.max_watches.saturating_sub(total));
        let ignored = |p: &Path| self.cache.is_ignored(checkout, p);
        let dirs = watch::tree_dirs(checkout, start, budget, &ignored).map_err(|e| {
            if total + budget >= self.settings.max_watches {
                Unwatchable::Limit
            } else {
                e
            }
        })?;
        for dir in dirs {
            watch::watch(watcher, &dir, RecursiveMode::NonRecursive)?;
            self.index_insert(dir, Role::Tree, checkout);
        }
        Ok(())
    }

    fn unwatch_checkout(&self, watcher: &mut RecommendedWatcher, checkout: &Path) {
        let gone = self
            .index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove_checkout(checkout);
        for path in gone {
            let _ = watcher.unwatch(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_changes() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
        assert!(is_read(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(is_read(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_read(&EventKind::Access(AccessKind::Read)));
        assert!(!is_read(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!is_read(&EventKind::Modify(ModifyKind::Any)));
        assert!(!is_read(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn default_settings_poll_within_one_percent_of_a_core() {
        let s = StatusSettings::default();
        assert!(s.watch);
        assert!(s.poll_cpu_share <= 0.01);
        assert!(s.poll_min_interval <= s.poll_max_interval);
    }
}
