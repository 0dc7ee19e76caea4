//! Crash-safe file persistence.
//!
//! Every JSON file OpenKit owns is written by [`write_atomic`]: a temporary file in the
//! same directory, `fsync`, then `rename` over the target, so a reader sees either the old
//! or the new content, never a torn one. Files that exist but do not parse are reported as
//! [`PersistError::Corrupt`] and never overwritten silently.
//!
//! Temporary files are named `.openkit-tmp-<pid>-<random>` ([`temp_file_in`]); a writer
//! killed between creating one and the rename leaves it behind, and
//! [`remove_stale_temp_files`] removes such leftovers at start-up.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{DomainError, ErrorKind, IoFailure};

/// A failure to read or write a persisted file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The file exists but is not valid JSON of the expected shape.
    #[error("{} is not valid: {reason}. Fix or remove it; OpenKit will not overwrite it", path.display())]
    Corrupt {
        /// The offending file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The file system failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for PersistError {
    fn kind(&self) -> ErrorKind {
        match self {
            PersistError::Corrupt { .. } => ErrorKind::Conflict,
            PersistError::Io(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            PersistError::Corrupt { .. } => "CORRUPT_FILE",
            PersistError::Io(_) => "IO_ERROR",
        }
    }
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename),
/// creating parent directories as needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoFailure> {
    let dir = path.parent().ok_or_else(|| {
        IoFailure::new(
            format!("writing {}", path.display()),
            std::io::Error::other("no parent directory"),
        )
    })?;
    fs::create_dir_all(dir)
        .map_err(|e| IoFailure::new(format!("creating {}", dir.display()), e))?;
    let action = || format!("writing {}", path.display());
    let mut tmp = temp_file_in(dir).map_err(|e| IoFailure::new(action(), e))?;
    tmp.write_all(bytes)
        .map_err(|e| IoFailure::new(action(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| IoFailure::new(action(), e))?;
    // Keep the permissions of the file being replaced (e.g. 0600 for credentials).
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .map_err(|e| IoFailure::new(action(), e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What every temporary file of an atomic write is named after: `.openkit-tmp-`, the
/// writer's pid, `-`, random characters.
pub const TEMP_PREFIX: &str = ".openkit-tmp-";

/// A temporary file whose writer is alive is left over once it is this old: no write
/// OpenKit makes takes that long between creating its temporary file and the rename.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// How deep [`remove_stale_temp_files`] looks under `.openkit/issues/`
/// (`<source>/<id>/attachments/<file>`, with one level to spare).
const ISSUES_DEPTH: usize = 5;

/// A new temporary file in `dir` named `.openkit-tmp-<our pid>-<random>`, removed when
/// dropped unless persisted. Every atomic writer creates its temporary files with this, so
/// [`remove_stale_temp_files`] can tell a dead writer's leftovers from a live write.
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)
}

/// The writer's pid in a temporary file's name (`None` for names without one, such as
/// those of older versions).
fn writer_pid(name: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(TEMP_PREFIX)?.split_once('-')?;
    pid.parse().ok()
}

/// Whether process `pid` exists; `None` where `/proc` cannot tell.
fn process_exists(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

/// True when the file `name` with metadata `meta` is a temporary file nobody will rename
/// any more: older than [`STALE_TEMP_AGE`], or written by a process that no longer exists.
fn is_stale_temp(name: &str, meta: &fs::Metadata, now: SystemTime) -> bool {
    if !name.starts_with(TEMP_PREFIX) || !meta.file_type().is_file() {
        return false;
    }
    let old = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age >= STALE_TEMP_AGE);
    old || writer_pid(name)
        .is_some_and(|pid| pid != std::process::id() && process_exists(pid) == Some(false))
}

/// Removes the temporary files interrupted writes left in `dir` (and, `depth` levels
/// down, in its subdirectories; symbolic links are never followed); appends what it
/// removed to `removed`.
fn sweep(dir: &Path, depth: usize, now: SystemTime, removed: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth > 0 {
                sweep(&entry.path(), depth - 1, now, removed);
            }
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        if let Ok(meta) = fs::symlink_metadata(&path)
            && is_stale_temp(name, &meta, now)
        {
            match fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("could not remove {}: {e}", path.display()),
            }
        }
    }
}

/// Removes the temporary files (`.openkit-tmp-*`) that writes interrupted by a crash left
/// behind: those older than [`STALE_TEMP_AGE`] or whose writer's pid no longer exists. It
/// looks only in `openkit_dir` itself (config, logs, server and settings files) and in
/// `openkit_dir/issues/` and below (issues, notes, attachments, the task counter), never
/// in the worktrees' checkouts or anywhere else. Returns the removed files.
pub fn remove_stale_temp_files(openkit_dir: &Path) -> Vec<PathBuf> {
    let now = SystemTime::now();
    let mut removed = Vec::new();
    sweep(openkit_dir, 0, now, &mut removed);
    sweep(&openkit_dir.join("issues"), ISSUES_DEPTH, now, &mut removed);
    removed
}

/// Serialises `value` as pretty JSON (2-space indent, trailing newline), the format of
/// every OpenKit JSON file.
pub fn to_pretty_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("serialising a JSON value cannot fail");
    out.push(b'\n');
    out
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), IoFailure> {
    write_atomic(path, &to_pretty_json(value))
}

/// Reads a JSON file. `Ok(None)` when it does not exist; `Corrupt` when it does not parse
/// as `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoFailure::new(format!("reading {}", path.display()), e).into()),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Reads a JSON file that must hold an object. `Ok(None)` when missing.
pub fn read_json_object(path: &Path) -> Result<Option<Map<String, Value>>, PersistError> {
    match read_json::<Value>(path)? {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: "expected a JSON object".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.json");
        write_json(&path, &serde_json::json!({"x": 1})).unwrap();
        write_json(&path, &serde_json::json!({"x": 2})).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\n  \"x\": 2\n}\n");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[test]
    fn temp_files_name_their_writer() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temp_file_in(dir.path()).unwrap();
        let name = tmp
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(name.starts_with(TEMP_PREFIX), "{name}");
        assert_eq!(writer_pid(&name), Some(std::process::id()));
        assert_eq!(writer_pid(".openkit-tmp-abc123"), None);
        assert_eq!(writer_pid("b.json"), None);
    }

    #[test]
    fn stale_temp_files_are_removed_only_where_openkit_writes() {
        let root = tempfile::tempdir().unwrap();
        let openkit = root.path().join(".openkit");
        let task = openkit.join("issues/local/LOCAL-3");
        let attachments = task.join("attachments");
        let checkout = openkit.join("worktrees/feature/.openkit");
        for d in [&attachments, &checkout] {
            fs::create_dir_all(d).unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        let write = |path: &Path, modified: Option<SystemTime>| {
            fs::write(path, b"partial").unwrap();
            if let Some(t) = modified {
                let f = fs::File::options().write(true).open(path).unwrap();
                f.set_modified(t).unwrap();
            }
            path.to_path_buf()
        };
        let ours = std::process::id();
        // No process has this pid (above any pid_max).
        let dead = 999_999_999u32;
        let stale = [
            write(&openkit.join(".openkit-tmp-Ab12cd"), Some(old)),
            write(&openkit.join(format!(".openkit-tmp-{ours}-x1")), Some(old)),
            write(&task.join(".openkit-tmp-legacy"), Some(old)),
            write(&task.join(format!(".openkit-tmp-{dead}-fresh")), None),
            write(&attachments.join(".openkit-tmp-zz"), Some(old)),
        ];
        let kept = [
            // A write in flight: fresh, and its writer (we) alive, or no pid to tell.
            write(&openkit.join(format!(".openkit-tmp-{ours}-live")), None),
            write(&task.join(".openkit-tmp-fresh"), None),
            // Not ours to touch: a checkout, the project itself, other names.
            write(&checkout.join(".openkit-tmp-old"), Some(old)),
            write(&root.path().join(".openkit-tmp-old"), Some(old)),
            write(&task.join("issue.json"), Some(old)),
            write(&openkit.join("openkit-tmp-lookalike"), Some(old)),
        ];
        let mut removed = remove_stale_temp_files(&openkit);
        removed.sort();
        let mut expected = stale.to_vec();
        expected.sort();
        assert_eq!(removed, expected);
        for path in &stale {
            assert!(!path.exists(), "{} removed", path.display());
        }
        for path in &kept {
            assert!(path.exists(), "{} kept", path.display());
        }
        assert!(remove_stale_temp_files(&root.path().join("missing")).is_empty());
    }

    #[test]
    fn missing_is_none_and_corrupt_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        assert!(read_json_object(&path).unwrap().is_none());
        fs::write(&path, "{ nope").unwrap();
        let err = read_json_object(&path).unwrap_err();
        assert_eq!(err.code(), "CORRUPT_FILE");
        fs::write(&path, "[1]").unwrap();
        assert!(matches!(
            read_json_object(&path),
            Err(PersistError::Corrupt { .. })
        ));
    }
}
