//! Crash-safe file persistence.
//!
//! Every JSON file OpenKit owns is written by [`write_atomic`]: a temporary file in the
//! same directory, `fsync`, then `rename` over the target, so a reader sees either the old
//! or the new content, never a torn one. Files that exist but do not parse are reported as
//! [`PersistError::Corrupt`] and never overwritten silently.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let mut tmp = tempfile::Builder::new()
        .prefix(".openkit-tmp-")
        .tempfile_in(dir)
        .map_err(|e| IoFailure::new(action(), e))?;
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
