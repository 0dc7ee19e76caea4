//! Local tasks (`.openkit/issues/local/<ID>/issue.json`) and their attachments.
//!
//! Ids are `<localIssuePrefix>-N`, allocated from `.openkit/issues/local/.counter` under a
//! cross-process file lock: the counter only grows, and an id whose directory exists is
//! skipped, so ids are never reused, also across processes.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::issues::{IssueRef, LinkIndex};
use crate::logs::now_iso;
use crate::notes::NotesError;
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// Largest accepted attachment (25 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// Defines a task field enum whose JSON form is a fixed lowercase word: `as_str`,
/// `parse` (exact, for input), a lenient `Deserialize` for files (case and `_`/space
/// instead of `-` are forgiven), and `Display`.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, default $default:ident, { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $word)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// Parses the exact JSON word (request input).
            pub fn parse(value: &str) -> Result<Self, TaskError> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == value)
                    .ok_or_else(|| {
                        let words: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        TaskError::Invalid(format!(
                            "Invalid {} \"{value}\": use {}",
                            $field,
                            words.join(", ")
                        ))
                    })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                let norm = raw.trim().to_ascii_lowercase().replace(['_', ' '], "-");
                Self::parse(&norm).map_err(serde::de::Error::custom)
            }
        }
    };
}

word_enum!(
    /// Where a task stands: `todo`, `in-progress` or `done`.
    TaskStatus, "status", default Todo, {
        /// Not started (the default).
        Todo = "todo",
        /// Being worked on.
        InProgress = "in-progress",
        /// Finished.
        Done = "done",
    }
);

word_enum!(
    /// How urgent a task is: `high`, `medium` or `low`.
    TaskPriority, "priority", default Medium, {
        /// Urgent.
        High = "high",
        /// Normal (the default).
        Medium = "medium",
        /// Whenever.
        Low = "low",
    }
);

/// A local task (`issue.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// `LOCAL-7`; the directory name.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    #[serde(default)]
    pub description: String,
    /// todo, in-progress or done.
    #[serde(default)]
    pub status: TaskStatus,
    /// high, medium or low.
    #[serde(default)]
    pub priority: TaskPriority,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// ISO-8601 UTC.
    #[serde(default)]
    pub created_at: String,
    /// ISO-8601 UTC.
    #[serde(default)]
    pub updated_at: String,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A file attached to a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// File name inside the task's `attachments/`.
    pub filename: String,
    /// Guessed from the extension.
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    /// Absolute path on disk.
    pub local_path: PathBuf,
    /// ISO-8601 UTC (file modification time).
    pub created_at: String,
}

/// Fields of a new task or of an update.
#[derive(Debug, Clone, Default)]
pub struct TaskFields {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: Option<TaskStatus>,
    /// Priority.
    pub priority: Option<TaskPriority>,
    /// Labels.
    pub labels: Option<Vec<String>>,
}

/// A failed task operation.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No such task.
    #[error("Task not found")]
    NotFound,
    /// No such attachment.
    #[error("Attachment not found")]
    AttachmentNotFound,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The attachment is too large.
    #[error("Attachment is larger than {} MiB", MAX_ATTACHMENT_BYTES / (1024 * 1024))]
    TooLarge,
    /// The task exists already.
    #[error("Task \"{0}\" already exists")]
    Exists(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// Notes failed.
    #[error(transparent)]
    Notes(#[from] NotesError),
}

impl From<IoFailure> for TaskError {
    fn from(e: IoFailure) -> Self {
        TaskError::Persist(e.into())
    }
}

impl DomainError for TaskError {
    fn kind(&self) -> ErrorKind {
        match self {
            TaskError::NotFound | TaskError::AttachmentNotFound => ErrorKind::NotFound,
            TaskError::Invalid(_) => ErrorKind::InvalidInput,
            TaskError::TooLarge => ErrorKind::InvalidInput,
            TaskError::Exists(_) => ErrorKind::Conflict,
            TaskError::Persist(e) => e.kind(),
            TaskError::Notes(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            TaskError::NotFound => "TASK_NOT_FOUND",
            TaskError::AttachmentNotFound => "ATTACHMENT_NOT_FOUND",
            TaskError::Invalid(_) => "INVALID_INPUT",
            TaskError::TooLarge => "PAYLOAD_TOO_LARGE",
            TaskError::Exists(_) => "TASK_EXISTS",
            TaskError::Persist(e) => e.code(),
            TaskError::Notes(e) => e.code(),
        }
    }
}

impl TaskFields {
    /// A new task with these fields (defaults for the absent ones), stamped now.
    fn into_task(self, id: &str) -> Task {
        let now = now_iso();
        Task {
            id: id.to_string(),
            title: self.title.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            status: self.status.unwrap_or_default(),
            priority: self.priority.unwrap_or_default(),
            labels: self.labels.unwrap_or_default(),
            created_at: now.clone(),
            updated_at: now,
            extra: Map::new(),
        }
    }

    fn validate(&self) -> Result<(), TaskError> {
        if self.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(TaskError::Invalid("title must not be empty".into()));
        }
        Ok(())
    }
}

/// True for the bidirectional-text controls that can make a name read differently from
/// what it is (`invoice\u{202E}gpj.exe` shows as `invoiceexe.jpg`): U+202A-U+202E
/// (embeddings, overrides), U+2066-U+2069 (isolates), U+200E/U+200F (marks) and U+061C
/// (Arabic letter mark).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Makes an uploaded file name safe: the last path component only, no bidirectional-text
/// controls ([`is_bidi_control`], removed), no control or reserved characters, no leading
/// dots, at most 128 bytes; never empty.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > 128 {
            break;
        }
        out.push(c);
    }
    let out = out.trim_end();
    if out.is_empty() {
        "attachment".into()
    } else {
        out.to_string()
    }
}

/// `name` or, when taken in `dir`, `stem_1.ext`, `stem_2.ext`, ...
fn unique_name(dir: &Path, name: &str) -> String {
    if !dir.join(name).exists() {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| format!("{stem}_{n}{ext}"))
        .find(|candidate| !dir.join(candidate).exists())
        .expect("an unused name exists")
}

/// Holds the counter lock while alive.
struct CounterLock(File);

impl Drop for CounterLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A task with what lists show next to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Same as the id (the reference's `identifier`).
    pub identifier: String,
    /// The worktree its notes link to.
    pub linked_worktree_id: Option<String>,
    /// Number of attachments.
    pub attachment_count: usize,
}

/// Modification time and size of a file or directory, if it exists.
type Stamp = Option<(std::time::SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

/// The local task store of one project.
#[derive(Debug)]
pub struct LocalTasks {
    paths: Paths,
    /// Summaries by id, valid while the stamps of `issue.json`, `notes.json` and
    /// `attachments/` are unchanged: a list of unchanged tasks costs three `stat`s each.
    summaries: std::sync::Mutex<std::collections::HashMap<String, ([Stamp; 3], TaskSummary)>>,
    /// Told about every task this store writes, so linked worktrees show the new status.
    index: Option<Arc<LinkIndex>>,
}

impl LocalTasks {
    /// The store of the project at `paths`.
    pub fn new(paths: Paths) -> Self {
        LocalTasks {
            paths,
            summaries: Default::default(),
            index: None,
        }
    }

    /// Tells `index` about every task this store writes or deletes.
    pub fn with_index(mut self, index: Arc<LinkIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// Reports a write to the link index.
    fn touched(&self, id: &str) {
        if let (Some(index), Ok(issue)) = (&self.index, IssueRef::local(id)) {
            index.changed(&issue);
        }
    }

    /// Every readable task with its link and attachment count, by id number.
    pub fn summaries(&self) -> Vec<TaskSummary> {
        let Ok(entries) = fs::read_dir(self.root()) else {
            return Vec::new();
        };
        let ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        let mut cache = self.summaries.lock().unwrap_or_else(|e| e.into_inner());
        let present: std::collections::HashSet<&String> = ids.iter().collect();
        cache.retain(|id, _| present.contains(id));
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let dir = self.root().join(&id);
            let key = [
                stamp(&dir.join("issue.json")),
                stamp(&dir.join("notes.json")),
                stamp(&dir.join("attachments")),
            ];
            if let Some((cached_key, summary)) = cache.get(&id)
                && *cached_key == key
            {
                out.push(summary.clone());
                continue;
            }
            let task = match self.get(&id) {
                Ok(t) => t,
                Err(TaskError::NotFound) => continue,
                Err(err) => {
                    tracing::warn!("skipping local task {id}: {err}");
                    continue;
                }
            };
            let linked_worktree_id =
                persist::read_json::<crate::notes::Notes>(&dir.join("notes.json"))
                    .ok()
                    .flatten()
                    .and_then(|n| n.linked_worktree_id);
            let summary = TaskSummary {
                identifier: task.id.clone(),
                attachment_count: self.attachments(&id).map_or(0, |a| a.len()),
                linked_worktree_id,
                task,
            };
            cache.insert(id, (key, summary.clone()));
            out.push(summary);
        }
        out.sort_by_cached_key(|s| (id_number(&s.task.id), s.task.id.clone()));
        out
    }

    fn root(&self) -> PathBuf {
        self.paths.issues_dir().join("local")
    }

    fn dir(&self, id: &str) -> Result<PathBuf, TaskError> {
        let issue = IssueRef::local(id).map_err(|_| TaskError::NotFound)?;
        Ok(issue.dir(&self.paths))
    }

    fn lock_counter(&self) -> Result<CounterLock, TaskError> {
        fs::create_dir_all(self.root())
            .map_err(|e| IoFailure::new("creating .openkit/issues/local", e))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root().join(".counter.lock"))
            .map_err(|e| IoFailure::new("opening the task counter lock", e))?;
        file.lock()
            .map_err(|e| IoFailure::new("locking the task counter", e))?;
        Ok(CounterLock(file))
    }

    fn read_counter(&self) -> u64 {
        fs::read_to_string(self.root().join(".counter"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn write_counter(&self, n: u64) -> Result<(), TaskError> {
        persist::write_atomic(&self.root().join(".counter"), n.to_string().as_bytes())?;
        Ok(())
    }

    /// Reads a task; `issue.json` first, then the legacy `task.json`.
    pub fn get(&self, id: &str) -> Result<Task, TaskError> {
        let dir = self.dir(id)?;
        for name in ["issue.json", "task.json"] {
            if let Some(mut task) = persist::read_json::<Task>(&dir.join(name))? {
                task.id = id.to_string();
                return Ok(task);
            }
        }
        Err(TaskError::NotFound)
    }

    /// Every readable task, by id number. Unreadable ones are skipped (and logged).
    pub fn list(&self) -> Vec<Task> {
        self.summaries().into_iter().map(|s| s.task).collect()
    }

    /// Creates a task with the next free id `<prefix>-N`.
    pub fn create(&self, prefix: &str, fields: TaskFields) -> Result<Task, TaskError> {
        let title = fields.title.clone().unwrap_or_default();
        if title.trim().is_empty() {
            return Err(TaskError::Invalid("title is required".into()));
        }
        fields.validate()?;
        let _lock = self.lock_counter()?;
        let mut n = self.read_counter() + 1;
        let id = loop {
            let id = format!("{prefix}-{n}");
            match fs::create_dir(self.root().join(&id)) {
                Ok(()) => break id,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(IoFailure::new(format!("creating task {id}"), e).into()),
            }
        };
        let task = TaskFields {
            title: Some(title.trim().to_string()),
            ..fields
        }
        .into_task(&id);
        // The counter first: once the folder exists the id is used, whatever happens next.
        // A folder left without `issue.json` (a failed write here, or a crash) is empty and
        // is removed by `reclaim_abandoned`; the counter keeps the id from coming back.
        let written = self.write_counter(n).and_then(|()| {
            persist::write_json(&self.root().join(&id).join("issue.json"), &task)
                .map_err(TaskError::from)
        });
        if let Err(e) = written {
            let _ = fs::remove_dir(self.root().join(&id));
            return Err(e);
        }
        self.touched(&id);
        Ok(task)
    }

    /// Removes the folders of ids that were allocated but whose task was never written: a
    /// task folder without `issue.json` (or the legacy `task.json`) that is empty, as a
    /// creation killed between allocating the id and writing the task leaves it (once
    /// [`persist::remove_stale_temp_files`] took the temporary file). Runs under the
    /// counter lock, so no creation is in flight, and first raises the counter to the
    /// highest such id: ids are never reused. A folder holding anything else (notes,
    /// attachments, a write in progress) is kept, for [`LocalTasks::restore`]. Returns the
    /// released ids; writes nothing when there is no task folder.
    pub fn reclaim_abandoned(&self) -> Result<Vec<String>, TaskError> {
        let root = self.root();
        if !root.is_dir() {
            return Ok(Vec::new());
        }
        let _lock = self.lock_counter()?;
        let entries =
            fs::read_dir(&root).map_err(|e| IoFailure::new("reading .openkit/issues/local", e))?;
        let abandoned: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|id| IssueRef::local(id).is_ok())
            .filter(|id| {
                let dir = root.join(id);
                !dir.join("issue.json").exists()
                    && !dir.join("task.json").exists()
                    && fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none())
            })
            .collect();
        if abandoned.is_empty() {
            return Ok(Vec::new());
        }
        let highest = abandoned.iter().filter_map(|id| id_number(id)).max();
        if let Some(n) = highest
            && n > self.read_counter()
        {
            self.write_counter(n)?;
        }
        let mut released = Vec::new();
        for id in abandoned {
            // `remove_dir` only removes an empty folder: one that got content meanwhile stays.
            match fs::remove_dir(root.join(&id)) {
                Ok(()) => {
                    self.touched(&id);
                    released.push(id);
                }
                Err(e) => tracing::warn!("could not remove the abandoned task folder {id}: {e}"),
            }
        }
        released.sort_by_cached_key(|id| (id_number(id), id.clone()));
        Ok(released)
    }

    /// Writes metadata for an existing id (recovery); bumps the counter to at least its
    /// number. Fails when the task exists.
    pub fn restore(&self, id: &str, fields: TaskFields) -> Result<Task, TaskError> {
        fields.validate()?;
        let dir = self.dir(id)?;
        let _lock = self.lock_counter()?;
        if dir.join("issue.json").exists() || dir.join("task.json").exists() {
            return Err(TaskError::Exists(id.to_string()));
        }
        let task = TaskFields {
            title: Some(
                fields
                    .title
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| format!("Recovered task {id}")),
            ),
            ..fields
        }
        .into_task(id);
        persist::write_json(&dir.join("issue.json"), &task)?;
        self.touched(id);
        if let Some(n) = id_number(id)
            && n > self.read_counter()
        {
            self.write_counter(n)?;
        }
        Ok(task)
    }

    /// Updates some fields of a task.
    pub fn update(&self, id: &str, fields: TaskFields) -> Result<Task, TaskError> {
        fields.validate()?;
        let mut task = self.get(id)?;
        if let Some(t) = fields.title {
            task.title = t.trim().to_string();
        }
        if let Some(d) = fields.description {
            task.description = d;
        }
        if let Some(s) = fields.status {
            task.status = s;
        }
        if let Some(p) = fields.priority {
            task.priority = p;
        }
        if let Some(l) = fields.labels {
            task.labels = l;
        }
        task.updated_at = now_iso();
        persist::write_json(&self.dir(id)?.join("issue.json"), &task)?;
        self.touched(id);
        Ok(task)
    }

    /// Deletes a task with its notes and attachments.
    pub fn delete(&self, id: &str) -> Result<(), TaskError> {
        self.get(id)?;
        let dir = self.dir(id)?;
        fs::remove_dir_all(&dir).map_err(|e| IoFailure::new(format!("deleting task {id}"), e))?;
        self.touched(id);
        Ok(())
    }

    fn attachments_dir(&self, id: &str) -> Result<PathBuf, TaskError> {
        Ok(self.dir(id)?.join("attachments"))
    }

    /// The task's attachments, by name.
    pub fn attachments(&self, id: &str) -> Result<Vec<Attachment>, TaskError> {
        let dir = self.attachments_dir(id)?;
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Attachment> = entries
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok().filter(|m| m.is_file())?;
                let filename = e.file_name().to_str()?.to_string();
                Some(Attachment {
                    mime_type: mime_for(&filename),
                    size: meta.len(),
                    local_path: e.path(),
                    created_at: meta
                        .modified()
                        .ok()
                        .map(|t| {
                            chrono::DateTime::<chrono::Utc>::from(t)
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        })
                        .unwrap_or_default(),
                    filename,
                })
            })
            .collect();
        out.sort_by(|a, b| a.filename.cmp(&b.filename));
        Ok(out)
    }

    /// Stores an uploaded file under a sanitised, de-duplicated name.
    pub fn add_attachment(
        &self,
        id: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<Attachment, TaskError> {
        self.get(id)?;
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(TaskError::TooLarge);
        }
        let dir = self.attachments_dir(id)?;
        fs::create_dir_all(&dir)
            .map_err(|e| IoFailure::new("creating the attachments folder", e))?;
        let filename = unique_name(&dir, &sanitize_filename(name));
        let path = dir.join(&filename);
        persist::write_atomic(&path, bytes)?;
        Ok(Attachment {
            mime_type: mime_for(&filename),
            size: bytes.len() as u64,
            local_path: path,
            created_at: now_iso(),
            filename,
        })
    }

    /// The path of an attachment, checked to exist inside the task's folder. A name is
    /// accepted when sanitising it changes nothing but bidirectional-text controls, so
    /// files stored before those were stripped can still be served and deleted.
    pub fn attachment_path(&self, id: &str, filename: &str) -> Result<PathBuf, TaskError> {
        self.get(id)?;
        let without_bidi: String = filename.chars().filter(|c| !is_bidi_control(*c)).collect();
        if without_bidi != sanitize_filename(filename) {
            return Err(TaskError::AttachmentNotFound);
        }
        let path = self.attachments_dir(id)?.join(filename);
        if path.is_file() {
            Ok(path)
        } else {
            Err(TaskError::AttachmentNotFound)
        }
    }

    /// Deletes an attachment.
    pub fn delete_attachment(&self, id: &str, filename: &str) -> Result<(), TaskError> {
        let path = self.attachment_path(id, filename)?;
        fs::remove_file(&path)
            .map_err(|e| IoFailure::new(format!("deleting {}", path.display()), e))?;
        Ok(())
    }
}

/// The number of `LOCAL-7` (7).
pub fn id_number(id: &str) -> Option<u64> {
    id.rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

/// The MIME type for a file name's extension.
pub fn mime_for(filename: &str) -> String {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "json" => "application/json",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn store() -> (tempfile::TempDir, LocalTasks) {
        let dir = tempfile::tempdir().unwrap();
        let tasks = LocalTasks::new(Paths::new(dir.path(), dir.path().join("g")));
        (dir, tasks)
    }

    fn titled(t: &str) -> TaskFields {
        TaskFields {
            title: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn ids_are_monotonic_and_never_reused() {
        let (_d, s) = store();
        assert_eq!(s.create("LOCAL", titled("a")).unwrap().id, "LOCAL-1");
        assert_eq!(s.create("LOCAL", titled("b")).unwrap().id, "LOCAL-2");
        s.delete("LOCAL-2").unwrap();
        assert_eq!(s.create("LOCAL", titled("c")).unwrap().id, "LOCAL-3");
        // A directory made behind our back is skipped.
        std::fs::create_dir_all(s.root().join("LOCAL-4")).unwrap();
        assert_eq!(s.create("LOCAL", titled("d")).unwrap().id, "LOCAL-5");
        assert_eq!(
            s.list().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["LOCAL-1", "LOCAL-3", "LOCAL-5"]
        );
    }

    #[test]
    fn concurrent_creates_get_distinct_ids() {
        let (_d, s) = store();
        let ids: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    scope.spawn({
                        let s = &s;
                        move || s.create("LOCAL", titled(&format!("t{i}"))).unwrap().id
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 16);
        assert_eq!(s.read_counter(), 16);
    }

    #[test]
    fn validation_and_updates() {
        let (_d, s) = store();
        assert!(matches!(
            s.create("LOCAL", TaskFields::default()),
            Err(TaskError::Invalid(_))
        ));
        let t = s.create("LOCAL", titled("x")).unwrap();
        assert_eq!(
            (t.status, t.priority),
            (TaskStatus::Todo, TaskPriority::Medium)
        );
        let t = s
            .update(
                &t.id,
                TaskFields {
                    status: Some(TaskStatus::Done),
                    priority: Some(TaskPriority::High),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (t.status, t.priority),
            (TaskStatus::Done, TaskPriority::High)
        );
        let on_disk: Value = serde_json::from_str(
            &fs::read_to_string(s.root().join(&t.id).join("issue.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (on_disk["status"].as_str(), on_disk["priority"].as_str()),
            (Some("done"), Some("high"))
        );
        assert!(matches!(
            s.update(
                &t.id,
                TaskFields {
                    title: Some(" ".into()),
                    ..Default::default()
                }
            ),
            Err(TaskError::Invalid(_))
        ));
        assert!(matches!(s.get("LOCAL-99"), Err(TaskError::NotFound)));
        assert!(matches!(s.get("../etc"), Err(TaskError::NotFound)));
    }

    #[test]
    fn status_and_priority_words() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()).unwrap(), *status);
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                Value::String(status.as_str().into())
            );
        }
        assert_eq!(
            TaskStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            ["todo", "in-progress", "done"]
        );
        assert_eq!(
            TaskPriority::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            ["high", "medium", "low"]
        );
        let err = TaskStatus::parse("later").unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        assert_eq!(
            err.to_string(),
            "Invalid status \"later\": use todo, in-progress, done"
        );
        assert_eq!(
            TaskPriority::parse("urgent").unwrap_err().to_string(),
            "Invalid priority \"urgent\": use high, medium, low"
        );
        // Input is exact; files written by other tools are read leniently.
        assert!(TaskStatus::parse("In Progress").is_err());
        for lenient in ["\"In Progress\"", "\"in_progress\"", "\"IN-PROGRESS\""] {
            assert_eq!(
                serde_json::from_str::<TaskStatus>(lenient).unwrap(),
                TaskStatus::InProgress
            );
        }
        assert!(serde_json::from_str::<TaskPriority>("\"urgent\"").is_err());
        assert_eq!(
            (TaskStatus::default(), TaskPriority::default()),
            (TaskStatus::Todo, TaskPriority::Medium)
        );
    }

    #[test]
    fn restore_bumps_the_counter() {
        let (_d, s) = store();
        s.restore("LOCAL-7", TaskFields::default()).unwrap();
        assert!(matches!(
            s.restore("LOCAL-7", TaskFields::default()),
            Err(TaskError::Exists(_))
        ));
        assert_eq!(s.create("LOCAL", titled("next")).unwrap().id, "LOCAL-8");
    }

    #[test]
    fn attachments_dedupe_and_stay_inside() {
        let (_d, s) = store();
        let t = s.create("LOCAL", titled("x")).unwrap();
        let a = s.add_attachment(&t.id, "../../etc/passwd", b"x").unwrap();
        assert_eq!(a.filename, "passwd");
        let b = s.add_attachment(&t.id, "shot.png", b"1").unwrap();
        let c = s.add_attachment(&t.id, "shot.png", b"2").unwrap();
        assert_eq!(
            (
                b.filename.as_str(),
                c.filename.as_str(),
                c.mime_type.as_str()
            ),
            ("shot.png", "shot_1.png", "image/png")
        );
        assert_eq!(s.attachments(&t.id).unwrap().len(), 3);
        assert!(matches!(
            s.attachment_path(&t.id, "../issue.json"),
            Err(TaskError::AttachmentNotFound)
        ));
        s.delete_attachment(&t.id, "shot.png").unwrap();
        assert!(matches!(
            s.delete_attachment(&t.id, "shot.png"),
            Err(TaskError::AttachmentNotFound)
        ));
    }

    #[test]
    fn bidi_controls_are_stripped_from_attachment_names() {
        let (_d, s) = store();
        let t = s.create("LOCAL", titled("x")).unwrap();
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert!(is_bidi_control(c));
            assert_eq!(sanitize_filename(&format!("a{c}b.png")), "ab.png");
        }
        assert!(!is_bidi_control('\u{05D0}'), "RTL letters themselves stay");
        assert_eq!(sanitize_filename("\u{202E}.hidden"), "hidden");
        let a = s
            .add_attachment(&t.id, "invoice\u{202E}gpj.exe", b"MZ")
            .unwrap();
        assert_eq!(a.filename, "invoicegpj.exe");
        assert_eq!(a.mime_type, "application/octet-stream");
        // A name stored before the stripping (written behind our back) is still reachable.
        let legacy = "old\u{202E}gnp.txt";
        fs::write(s.attachments_dir(&t.id).unwrap().join(legacy), b"x").unwrap();
        assert!(s.attachment_path(&t.id, legacy).is_ok());
        s.delete_attachment(&t.id, legacy).unwrap();
    }

    #[test]
    fn abandoned_allocations_are_released_and_their_ids_stay_used() {
        let (_d, s) = store();
        assert!(s.reclaim_abandoned().unwrap().is_empty());
        assert!(
            !s.root().exists(),
            "nothing is written without task folders"
        );
        assert_eq!(s.create("LOCAL", titled("a")).unwrap().id, "LOCAL-1");
        // Creations killed after allocating: folders without issue.json, the counter not
        // advanced (as an older version left them), one with notes worth recovering.
        for id in ["LOCAL-2", "LOCAL-3", "LOCAL-4"] {
            fs::create_dir(s.root().join(id)).unwrap();
        }
        fs::write(s.root().join("LOCAL-3/notes.json"), "{}").unwrap();
        assert!(matches!(s.get("LOCAL-2"), Err(TaskError::NotFound)));
        assert_eq!(s.reclaim_abandoned().unwrap(), ["LOCAL-2", "LOCAL-4"]);
        assert!(!s.root().join("LOCAL-2").exists());
        assert!(!s.root().join("LOCAL-4").exists());
        assert!(
            s.root().join("LOCAL-3/notes.json").exists(),
            "kept for restore"
        );
        assert_eq!(s.read_counter(), 4);
        // Never reused.
        assert_eq!(s.create("LOCAL", titled("b")).unwrap().id, "LOCAL-5");
        assert_eq!(s.restore("LOCAL-3", titled("c")).unwrap().id, "LOCAL-3");
        assert!(s.reclaim_abandoned().unwrap().is_empty());
        assert_eq!(
            s.list().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["LOCAL-1", "LOCAL-3", "LOCAL-5"]
        );
    }

    #[test]
    fn corrupt_tasks_are_reported_not_listed() {
        let (_d, s) = store();
        let t = s.create("LOCAL", titled("x")).unwrap();
        std::fs::write(s.root().join(&t.id).join("issue.json"), "{bad").unwrap();
        assert_eq!(s.get(&t.id).unwrap_err().code(), "CORRUPT_FILE");
        assert!(s.list().is_empty());
        assert_eq!(
            s.update(&t.id, titled("y")).unwrap_err().code(),
            "CORRUPT_FILE"
        );
        assert_eq!(
            std::fs::read_to_string(s.root().join(&t.id).join("issue.json")).unwrap(),
            "{bad"
        );
    }

    proptest! {
        #[test]
        fn sanitised_names_are_single_safe_components(name in "\\PC{0,200}") {
            let clean = sanitize_filename(&name);
            prop_assert!(!clean.is_empty() && clean.len() <= 128);
            prop_assert!(!clean.contains('/') && !clean.contains('\\') && !clean.contains('\0'));
            prop_assert!(!clean.starts_with('.'));
            prop_assert_eq!(std::path::Path::new(&clean).components().count(), 1);
            prop_assert_eq!(sanitize_filename(&clean), clean.clone());
            prop_assert!(!clean.chars().any(is_bidi_control));
        }

        #[test]
        fn allocation_is_monotonic(deletes in proptest::collection::vec(any::<bool>(), 1..12)) {
            let (_d, s) = store();
            let mut last = 0;
            for delete in deletes {
                let t = s.create("T", titled("x")).unwrap();
                let n = id_number(&t.id).unwrap();
                prop_assert!(n > last);
                last = n;
                if delete {
                    s.delete(&t.id).unwrap();
                }
            }
        }
    }
}
