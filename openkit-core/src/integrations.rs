//! `.openkit/integrations.json`: tracker credentials and per-tracker settings.
//!
//! The file holds one section per integration (`jira`, `linear`, `kiket`, `kizuna`,
//! `kite`, ...). Each adapter owns the shape of its section; this module only reads and
//! writes sections, keeps sections it does not know untouched, and keeps the file private:
//! it is created with mode 0600 (atomic writes keep the mode of the file they replace, and
//! a newer write tightens a file someone loosened). Nothing here logs a section's content.
//!
//! What every tracker shares, the automation of newly assigned issues, is
//! [`TrackerSettings`]: flattened into a tracker's section, so its fields sit beside the
//! credentials as the reference's status payloads show them (`refreshIntervalMinutes`,
//! `autoStartAgent`, ...).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// The file's name under `.openkit/`.
pub const FILE_NAME: &str = "integrations.json";

/// Reading or writing `integrations.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    /// The file (or a section) cannot be read.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The file could not be written.
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// A section does not have the shape its adapter expects.
    #[error("The \"{section}\" section of .openkit/integrations.json is invalid: {reason}")]
    InvalidSection {
        /// The section's name.
        section: String,
        /// What is wrong (serde's message; it names fields, never values).
        reason: String,
    },
}

impl DomainError for IntegrationsError {
    fn kind(&self) -> ErrorKind {
        match self {
            IntegrationsError::Persist(e) => e.kind(),
            IntegrationsError::Io(e) => e.kind(),
            IntegrationsError::InvalidSection { .. } => ErrorKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            IntegrationsError::Persist(e) => e.code(),
            IntegrationsError::Io(e) => e.code(),
            IntegrationsError::InvalidSection { .. } => "INVALID_INTEGRATIONS_FILE",
        }
    }
}

/// The project's `integrations.json`. Writes are read-modify-write under one lock, so
/// two adapters saving their sections at once both keep theirs.
#[derive(Debug)]
pub struct IntegrationsStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl IntegrationsStore {
    /// The store of the project at `paths`.
    pub fn new(paths: &Paths) -> Self {
        IntegrationsStore::at(paths.openkit_dir().join(FILE_NAME))
    }

    /// A store over the file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        IntegrationsStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Section `name`, if present (`None` also for `null`).
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, IntegrationsError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(value) = self.read()?.remove(name).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        decode(name, value).map(Some)
    }

    /// Replaces section `name` with `value`.
    pub fn put_section<T: Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), IntegrationsError> {
        let value = serde_json::to_value(value).map_err(|e| IntegrationsError::InvalidSection {
            section: name.to_string(),
            reason: e.to_string(),
        })?;
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read()?;
        file.insert(name.to_string(), value);
        self.write(&file)
    }

    /// Reads section `name`, hands it to `change`, and writes what it returns (`None`
    /// removes the section) in one step under the store's lock. An error from `change`
    /// writes nothing. Returns what was written.
    pub fn update_section<T, E>(
        &self,
        name: &str,
        change: impl FnOnce(Option<T>) -> Result<Option<T>, E>,
    ) -> Result<Option<T>, UpdateError<E>>
    where
        T: Serialize + DeserializeOwned,
    {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read().map_err(UpdateError::Store)?;
        let current = match file.remove(name).filter(|v| !v.is_null()) {
            Some(value) => Some(decode(name, value).map_err(UpdateError::Store)?),
            None => None,
        };
        let next = change(current).map_err(UpdateError::Rejected)?;
        if let Some(next) = &next {
            let value = serde_json::to_value(next).map_err(|e| {
                UpdateError::Store(IntegrationsError::InvalidSection {
                    section: name.to_string(),
                    reason: e.to_string(),
                })
            })?;
            file.insert(name.to_string(), value);
        }
        self.write(&file).map_err(UpdateError::Store)?;
        Ok(next)
    }

    /// Removes section `name`; whether it was there.
    pub fn remove_section(&self, name: &str) -> Result<bool, IntegrationsError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = self.read()?;
        let existed = file.remove(name).is_some_and(|v| !v.is_null());
        if existed {
            self.write(&file)?;
        }
        Ok(existed)
    }

    /// Whether section `name` is present.
    pub fn has_section(&self, name: &str) -> Result<bool, IntegrationsError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.read()?.get(name).is_some_and(|v| !v.is_null()))
    }

    fn read(&self) -> Result<Map<String, Value>, IntegrationsError> {
        Ok(persist::read_json_object(&self.path)?.unwrap_or_default())
    }

    fn write(&self, file: &Map<String, Value>) -> Result<(), IntegrationsError> {
        persist::write_json(&self.path, file)?;
        restrict(&self.path)?;
        Ok(())
    }
}

/// Why [`IntegrationsStore::update_section`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The file could not be read or written.
    #[error(transparent)]
    Store(IntegrationsError),
    /// The change refused.
    #[error("{0}")]
    Rejected(E),
}

fn decode<T: DeserializeOwned>(name: &str, value: Value) -> Result<T, IntegrationsError> {
    serde_json::from_value(value).map_err(|e| IntegrationsError::InvalidSection {
        section: name.to_string(),
        reason: without_values(&e.to_string()),
    })
}

/// serde's message without the value it quotes for a wrong type or value (`invalid
/// type: string "s3cr3t", expected u32` becomes `invalid type, expected u32`): a
/// section holds credentials. Field names (`missing field `token``) are kept.
fn without_values(message: &str) -> String {
    for head in ["invalid type", "invalid value", "invalid length"] {
        if let Some(rest) = message.strip_prefix(head) {
            return match rest.split_once(", expected") {
                Some((_, expected)) => format!("{head}, expected{expected}"),
                None => head.to_string(),
            };
        }
    }
    message.to_string()
}

#[cfg(unix)]
fn restrict(path: &Path) -> Result<(), IoFailure> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| IoFailure::new(format!("restricting {}", path.display()), e))
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> Result<(), IoFailure> {
    Ok(())
}

/// What a tracker does with the issues it fetches, shared by every tracker's section of
/// `integrations.json` (flattened beside its credentials) and its status payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackerSettings {
    /// How often the background refresh fetches issues assigned to the user (minutes,
    /// at least 1).
    pub refresh_interval_minutes: u32,
    /// When issue data is saved under `.openkit/issues/<source>/<id>/`, and its cleanup.
    pub data_lifecycle: DataLifecycle,
    /// The agent started for a newly assigned issue (`claude`, `codex`, `gemini`,
    /// `opencode`); `None`: none.
    pub auto_start_agent: Option<String>,
    /// The original's switch for starting Claude on a new issue; kept for clients that
    /// send it (equivalent to `autoStartAgent: "claude"` when that is unset).
    pub auto_start_claude_on_new_issue: bool,
    /// Start the agent with its permission prompts skipped.
    pub auto_start_claude_skip_permissions: bool,
    /// Ask the dashboard to focus the started terminal.
    pub auto_start_claude_focus_terminal: bool,
    /// Move the issue to [`TrackerSettings::auto_update_issue_status_name`] when its
    /// agent starts.
    pub auto_update_issue_status_on_agent_start: bool,
    /// The status the issue moves to when its agent starts.
    pub auto_update_issue_status_name: Option<String>,
}

/// The refresh interval when none is configured.
pub const DEFAULT_REFRESH_MINUTES: u32 = 5;

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            refresh_interval_minutes: DEFAULT_REFRESH_MINUTES,
            data_lifecycle: DataLifecycle::default(),
            auto_start_agent: None,
            auto_start_claude_on_new_issue: false,
            auto_start_claude_skip_permissions: false,
            auto_start_claude_focus_terminal: false,
            auto_update_issue_status_on_agent_start: false,
            auto_update_issue_status_name: None,
        }
    }
}

impl TrackerSettings {
    /// The agent to start for a newly assigned issue, if any.
    pub fn agent_to_start(&self) -> Option<&str> {
        match self.auto_start_agent.as_deref().map(str::trim) {
            Some("") | None => self.auto_start_claude_on_new_issue.then_some("claude"),
            Some(agent) => Some(agent),
        }
    }

    /// The status to move an issue to when its agent starts, if that is enabled.
    pub fn status_on_agent_start(&self) -> Option<&str> {
        self.auto_update_issue_status_name
            .as_deref()
            .map(str::trim)
            .filter(|name| self.auto_update_issue_status_on_agent_start && !name.is_empty())
    }
}

/// When issue data is written to disk, and when it is removed again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataLifecycle {
    /// When `issue.json` and attachments are saved.
    pub save_on: SaveOn,
    /// When saved data is removed.
    pub auto_cleanup: AutoCleanup,
}

/// When a tracker's issue data is saved under `.openkit/issues/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SaveOn {
    /// Whenever an issue's detail is viewed (the original's default).
    #[default]
    View,
    /// When a worktree is created for the issue.
    WorktreeCreation,
    /// Never: issue data stays in the tracker.
    Never,
}

/// Removal of saved issue data that is no longer needed. An issue linked to a worktree
/// is never cleaned up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoCleanup {
    /// Whether cleanup runs at all.
    pub enabled: bool,
    /// Remove an issue's data once the tracker reports one of these statuses
    /// (case-insensitive, e.g. `Done`).
    pub statuses: Vec<String>,
    /// Remove data not viewed or refreshed for this many days.
    pub after_days: Option<u32>,
    /// Remove an issue's data when its worktree is deleted.
    pub on_worktree_removed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Section {
        token: String,
        #[serde(flatten)]
        settings: TrackerSettings,
    }

    fn store() -> (tempfile::TempDir, IntegrationsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = IntegrationsStore::at(dir.path().join(".openkit").join(FILE_NAME));
        (dir, store)
    }

    #[test]
    fn sections_round_trip_and_keep_their_neighbours() {
        let (_dir, store) = store();
        assert_eq!(store.section::<Section>("jira").unwrap(), None);
        let jira = Section {
            token: "t0k".into(),
            settings: TrackerSettings {
                refresh_interval_minutes: 10,
                auto_start_agent: Some("codex".into()),
                ..Default::default()
            },
        };
        store.put_section("jira", &jira).unwrap();
        store
            .put_section("linear", &serde_json::json!({"apiKey": "k"}))
            .unwrap();
        assert_eq!(store.section::<Section>("jira").unwrap(), Some(jira));
        let raw: Value = serde_json::from_slice(&std::fs::read(store.path()).unwrap()).unwrap();
        assert_eq!(raw["jira"]["refreshIntervalMinutes"], 10);
        assert_eq!(raw["jira"]["dataLifecycle"]["saveOn"], "view");
        assert_eq!(raw["linear"]["apiKey"], "k");
        assert!(store.remove_section("jira").unwrap());
        assert!(!store.remove_section("jira").unwrap());
        assert!(store.has_section("linear").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_even_after_someone_loosened_it() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, store) = store();
        store
            .put_section("kite", &serde_json::json!({"a": 1}))
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.path()), 0o600);
        std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        store
            .put_section("kite", &serde_json::json!({"a": 2}))
            .unwrap();
        assert_eq!(mode(store.path()), 0o600);
    }

    #[test]
    fn a_refused_update_writes_nothing() {
        let (_dir, store) = store();
        store
            .put_section("kizuna", &serde_json::json!({"token": "a"}))
            .unwrap();
        let before = std::fs::read(store.path()).unwrap();
        let refused = store.update_section::<Value, &str>("kizuna", |_| Err("no"));
        assert!(matches!(refused, Err(UpdateError::Rejected("no"))));
        assert_eq!(std::fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn a_malformed_section_is_an_error_without_its_values() {
        let (_dir, store) = store();
        store
            .put_section("jira", &serde_json::json!({"token": 12345678}))
            .unwrap();
        let err = store.section::<Section>("jira").unwrap_err();
        assert_eq!(err.code(), "INVALID_INTEGRATIONS_FILE");
        assert!(!err.to_string().contains("12345678"), "{err}");
    }

    #[test]
    fn settings_name_the_agent_and_status() {
        let mut s = TrackerSettings::default();
        assert_eq!(s.agent_to_start(), None);
        s.auto_start_claude_on_new_issue = true;
        assert_eq!(s.agent_to_start(), Some("claude"));
        s.auto_start_agent = Some("gemini".into());
        assert_eq!(s.agent_to_start(), Some("gemini"));
        s.auto_update_issue_status_name = Some("In Progress".into());
        assert_eq!(s.status_on_agent_start(), None);
        s.auto_update_issue_status_on_agent_start = true;
        assert_eq!(s.status_on_agent_start(), Some("In Progress"));
        let parsed: TrackerSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, TrackerSettings::default());
    }
}
