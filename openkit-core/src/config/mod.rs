//! Project configuration: `.openkit/config.json` (committed) and
//! `.openkit/config.local.json` (machine-local), detection of sensible values, and the
//! init / setup-status / commit-setup flow.

mod detect;
mod local;
mod merge;
mod project;
mod setup;

use std::sync::Mutex;

use serde_json::{Map, Value};

pub use detect::{DetectedConfig, detect};
pub use local::{DEFAULT_SHORTCUTS, LOCAL_ONLY_KEYS, LocalConfig};
pub use merge::merge_patch;
pub use project::{AGENTS, FRAMEWORKS, PortsConfig, WorktreeConfig};
pub use setup::{
    CommitSetupOutcome, InitOptions, OPENKIT_GITIGNORE, SETUP_FILES, SetupStatus,
    ensure_openkit_gitignore,
};

use crate::error::{DomainError, ErrorKind};
use crate::git::GitError;
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// A failed configuration operation.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `.openkit/config.json` does not exist.
    #[error("No OpenKit config found; run `openkit init` or POST /api/config/init")]
    NotInitialized,
    /// `init` without `force` on an existing config.
    #[error("Config already exists")]
    AlreadyExists,
    /// A value is not acceptable.
    #[error("Invalid config: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A patch would write a credential-shaped key into the committed `config.json`.
    #[error(
        "Refusing to store \"{key}\" in .openkit/config.json: it looks like a credential and \
         config.json is committed to git. Tracker credentials belong in \
         .openkit/integrations.json (private to this machine, mode 0600); settings for this \
         machine only belong in .openkit/config.local.json (not committed)"
    )]
    SecretKey {
        /// Where the key is in the patch, e.g. `jira.apiToken`.
        key: String,
    },
    /// A config file could not be read or written.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// git failed (setup commit or push).
    #[error(transparent)]
    Git(#[from] GitError),
}

impl DomainError for ConfigError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConfigError::NotInitialized => ErrorKind::NotFound,
            ConfigError::AlreadyExists => ErrorKind::InvalidInput,
            ConfigError::Invalid { .. } => ErrorKind::InvalidInput,
            ConfigError::SecretKey { .. } => ErrorKind::InvalidInput,
            ConfigError::Persist(e) => e.kind(),
            ConfigError::Git(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ConfigError::NotInitialized => "CONFIG_NOT_FOUND",
            ConfigError::AlreadyExists => "CONFIG_EXISTS",
            ConfigError::Invalid { .. } => "INVALID_CONFIG",
            ConfigError::SecretKey { .. } => "SECRET_IN_CONFIG",
            ConfigError::Persist(e) => e.code(),
            ConfigError::Git(e) => e.code(),
        }
    }
}

impl From<crate::error::IoFailure> for ConfigError {
    fn from(e: crate::error::IoFailure) -> Self {
        ConfigError::Persist(e.into())
    }
}

/// Reads and writes both configuration files; read-modify-write cycles are serialised.
///
/// The parsed project configuration is kept while the file's stamp (inode, size,
/// modification and change times) stays the same, so the hot paths that read it on every
/// request (the worktree list) cost a `stat`. A stamp younger than [`RACY_STAMP`] is not
/// trusted: a same-size rewrite within the file system's timestamp granularity would look
/// unchanged.
#[derive(Debug)]
pub struct ConfigStore {
    paths: Paths,
    write_lock: Mutex<()>,
    cached: Mutex<Option<(FileStamp, Option<WorktreeConfig>)>>,
}

/// How old a file's stamp must be before a cached parse of it is trusted.
pub const RACY_STAMP: std::time::Duration = std::time::Duration::from_secs(2);

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
    changed: (i64, i64),
}

impl FileStamp {
    /// The stamp of `path`, `None` when it cannot be read; and whether it is old enough to
    /// be trusted.
    fn of(path: &std::path::Path) -> Option<(FileStamp, bool)> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok();
        let settled = modified
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= RACY_STAMP);
        Some((
            FileStamp {
                ino: meta.ino(),
                len: meta.len(),
                modified,
                changed: (meta.ctime(), meta.ctime_nsec()),
            },
            settled,
        ))
    }
}

impl ConfigStore {
    /// A store for the project at `paths`.
    pub fn new(paths: Paths) -> Self {
        ConfigStore {
            paths,
            write_lock: Mutex::new(()),
            cached: Mutex::new(None),
        }
    }

    /// The paths this store works on.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The project configuration, `None` when the file does not exist.
    pub fn load(&self) -> Result<Option<WorktreeConfig>, ConfigError> {
        let path = self.paths.config_file();
        let stamp = FileStamp::of(&path);
        if let Some((stamp, true)) = &stamp
            && let Some((cached_stamp, config)) =
                &*self.cached.lock().unwrap_or_else(|e| e.into_inner())
            && cached_stamp == stamp
        {
            return Ok(config.clone());
        }
        let config = match persist::read_json_object(&path)? {
            None => None,
            Some(map) => Some(WorktreeConfig::from_object(map).map_err(|reason| {
                ConfigError::from(PersistError::Corrupt {
                    path: path.clone(),
                    reason,
                })
            })?),
        };
        // Remember it only when the file did not change while it was read.
        if let Some((stamp, true)) = stamp
            && FileStamp::of(&path).is_some_and(|(now, _)| now == stamp)
        {
            *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((stamp, config.clone()));
        }
        Ok(config)
    }

    /// The project configuration, or the defaults when none exists.
    pub fn load_or_default(&self) -> Result<WorktreeConfig, ConfigError> {
        Ok(self.load()?.unwrap_or_default())
    }

    /// The local configuration with defaults filled in (an absent file is all defaults).
    pub fn load_local(&self) -> Result<LocalConfig, ConfigError> {
        let map = persist::read_json_object(&self.paths.local_config_file())?.unwrap_or_default();
        LocalConfig::from_object(map).map_err(|reason| {
            PersistError::Corrupt {
                path: self.paths.local_config_file(),
                reason,
            }
            .into()
        })
    }

    /// Applies a partial update to the project configuration (JSON merge patch). Keys in
    /// [`LOCAL_ONLY_KEYS`] go to the local configuration instead. Nothing is written unless
    /// the whole result is valid, and a patch that would store a credential-shaped key
    /// (see [`secret_key_in_patch`]) in the committed `config.json` is refused
    /// ([`ConfigError::SecretKey`]).
    pub fn patch(&self, patch: Map<String, Value>) -> Result<WorktreeConfig, ConfigError> {
        let (local, project): (Map<String, Value>, Map<String, Value>) = patch
            .into_iter()
            .partition(|(k, _)| LOCAL_ONLY_KEYS.contains(&k.as_str()));
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut current = persist::read_json_object(&self.paths.config_file())?
            .ok_or(ConfigError::NotInitialized)?;
        if let Some(key) = secret_key_in_patch(&project, Some(&current)) {
            return Err(ConfigError::SecretKey { key });
        }
        merge_patch(&mut current, project);
        let config = WorktreeConfig::from_object(current.clone())
            .map_err(|reason| ConfigError::Invalid { reason })?;
        let local_update = if local.is_empty() {
            None
        } else {
            Some(self.merged_local(local)?)
        };
        persist::write_json(&self.paths.config_file(), &Value::Object(current))?;
        if let Some((raw, _)) = local_update {
            persist::write_json(&self.paths.local_config_file(), &Value::Object(raw))?;
        }
        Ok(config)
    }

    /// Replaces one top-level field of the project configuration (no merging, unlike
    /// [`ConfigStore::patch`]); nothing is written unless the result is valid.
    pub fn set_field(&self, key: &str, value: Value) -> Result<WorktreeConfig, ConfigError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut current = persist::read_json_object(&self.paths.config_file())?
            .ok_or(ConfigError::NotInitialized)?;
        current.insert(key.to_string(), value);
        let config = WorktreeConfig::from_object(current.clone())
            .map_err(|reason| ConfigError::Invalid { reason })?;
        persist::write_json(&self.paths.config_file(), &Value::Object(current))?;
        Ok(config)
    }

    /// Applies a partial update to the local configuration (JSON merge patch: nested
    /// objects such as `shortcuts` merge key by key).
    pub fn patch_local(&self, patch: Map<String, Value>) -> Result<LocalConfig, ConfigError> {
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (raw, config) = self.merged_local(patch)?;
        persist::write_json(&self.paths.local_config_file(), &Value::Object(raw))?;
        Ok(config)
    }

    fn merged_local(
        &self,
        patch: Map<String, Value>,
    ) -> Result<(Map<String, Value>, LocalConfig), ConfigError> {
        let mut raw =
            persist::read_json_object(&self.paths.local_config_file())?.unwrap_or_default();
        merge_patch(&mut raw, patch);
        let config = LocalConfig::from_object(raw.clone())
            .map_err(|reason| ConfigError::Invalid { reason })?;
        Ok((raw, config))
    }

    /// Writes a whole project configuration (used by init).
    fn write(&self, config: &WorktreeConfig) -> Result<(), ConfigError> {
        persist::write_json(&self.paths.config_file(), config)?;
        Ok(())
    }

    /// True when a branch-name rule script exists for any source.
    pub fn has_branch_name_rule(&self) -> bool {
        crate::rules::RuleStore::new(self.paths.clone()).has_branch_name_rule()
    }

    /// The project's display name: the root directory's name.
    pub fn project_name(&self) -> String {
        self.paths
            .project_root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into())
    }
}

/// The first key of a JSON merge `patch`, at any depth (arrays included), that names a
/// secret ([`is_secret_key`](crate::redact::is_secret_key): `token`, `apiToken`,
/// `password`, `secret`, `apiKey`, `credentials`, ...) and would be written: its value is
/// not `null` (removing such a key is always allowed) and differs from what `current`
/// already holds there (so a client that sends back the configuration it read is not
/// refused for a key that was already in the file). Returned as a dotted path
/// (`jira.apiToken`, `items[0].password`).
pub fn secret_key_in_patch(
    patch: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
) -> Option<String> {
    fn in_value(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::Object(map) => secret_key_in_patch(map, None).map(|k| format!("{path}.{k}")),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| in_value(v, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    for (key, value) in patch {
        if value.is_null() {
            continue;
        }
        let existing = current.and_then(|c| c.get(key));
        if existing == Some(value) {
            continue;
        }
        if crate::redact::is_secret_key(key) {
            return Some(key.clone());
        }
        let found = match (value, existing) {
            // A nested object merges: compare key by key with what is there.
            (Value::Object(inner), Some(Value::Object(old))) => {
                secret_key_in_patch(inner, Some(old)).map(|k| format!("{key}.{k}"))
            }
            _ => in_value(value, key),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, ConfigStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(Paths::new(dir.path(), dir.path().join("global")));
        (dir, store)
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn patch_routes_local_keys_and_keeps_unknown_fields() {
        let (_d, store) = store();
        persist::write_json(
            &store.paths.config_file(),
            &json!({"startCommand": "x", "mystery": [1, 2]}),
        )
        .unwrap();
        let cfg = store
            .patch(obj(json!({"baseBranch": "develop", "allowAgentCommits": true, "ports": {"offsetStep": 100}})))
            .unwrap();
        assert_eq!(cfg.base_branch, "develop");
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(store.paths.config_file()).unwrap())
                .unwrap();
        assert_eq!(raw["mystery"], json!([1, 2]));
        assert!(raw.get("allowAgentCommits").is_none());
        assert!(store.load_local().unwrap().allow_agent_commits);
    }

    #[test]
    fn invalid_patch_writes_nothing() {
        let (_d, store) = store();
        persist::write_json(&store.paths.config_file(), &json!({"startCommand": "x"})).unwrap();
        let before = std::fs::read(store.paths.config_file()).unwrap();
        let err = store
            .patch(obj(
                json!({"autoInstall": "nope", "allowAgentPushes": true}),
            ))
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_CONFIG");
        assert_eq!(std::fs::read(store.paths.config_file()).unwrap(), before);
        assert!(!store.paths.local_config_file().exists());
    }

    #[test]
    fn secret_shaped_keys_are_refused_before_anything_is_written() {
        let (_d, store) = store();
        persist::write_json(
            &store.paths.config_file(),
            &json!({"startCommand": "x", "legacy": {"apiKey": "old"}}),
        )
        .unwrap();
        let before = std::fs::read(store.paths.config_file()).unwrap();
        for (patch, key) in [
            (json!({"apiToken": "ghp_x"}), "apiToken"),
            (json!({"token": "t", "allowAgentCommits": true}), "token"),
            (
                json!({"jira": {"baseUrl": "u", "password": "p"}}),
                "jira.password",
            ),
            (
                json!({"deep": {"er": {"client_secret": 1}}}),
                "deep.er.client_secret",
            ),
            (
                json!({"items": [{"name": "a"}, {"credentials": {"u": "p"}}]}),
                "items[1].credentials",
            ),
            (json!({"legacy": {"apiKey": "new"}}), "legacy.apiKey"),
            (
                json!({"startCommand": "y", "PRIVATE_KEY": "k"}),
                "PRIVATE_KEY",
            ),
        ] {
            let err = store.patch(obj(patch.clone())).unwrap_err();
            assert_eq!(err.code(), "SECRET_IN_CONFIG", "{patch}");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let message = err.to_string();
            assert!(message.contains(&format!("\"{key}\"")), "{message}");
            assert!(message.contains(".openkit/integrations.json"), "{message}");
            assert!(message.contains("config.local.json"), "{message}");
            assert_eq!(std::fs::read(store.paths.config_file()).unwrap(), before);
            assert!(!store.paths.local_config_file().exists());
        }
        // Sending back what is already there, and removing a secret, are fine.
        store
            .patch(obj(
                json!({"legacy": {"apiKey": "old"}, "startCommand": "z"}),
            ))
            .unwrap();
        store
            .patch(obj(json!({"legacy": {"apiKey": null}})))
            .unwrap();
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(store.paths.config_file()).unwrap())
                .unwrap();
        assert_eq!(raw["startCommand"], "z");
        assert_eq!(raw["legacy"], json!({}));
    }

    #[test]
    fn corrupt_config_is_refused_not_overwritten() {
        let (_d, store) = store();
        std::fs::create_dir_all(store.paths.openkit_dir()).unwrap();
        std::fs::write(store.paths.config_file(), "{ broken").unwrap();
        assert_eq!(store.load().unwrap_err().code(), "CORRUPT_FILE");
        assert_eq!(
            store
                .patch(obj(json!({"startCommand": "y"})))
                .unwrap_err()
                .code(),
            "CORRUPT_FILE"
        );
        assert_eq!(
            std::fs::read_to_string(store.paths.config_file()).unwrap(),
            "{ broken"
        );
    }

    #[test]
    fn local_shortcuts_deep_merge() {
        let (_d, store) = store();
        let cfg = store
            .patch_local(obj(json!({"shortcuts": {"nav-worktrees": "meta+shift+w"}})))
            .unwrap();
        assert_eq!(cfg.shortcuts["nav-worktrees"], "meta+shift+w");
        assert_eq!(cfg.shortcuts["nav-issues"], "meta+i");
        let cfg = store
            .patch_local(obj(json!({"shortcuts": {"custom": "meta+k"}})))
            .unwrap();
        assert_eq!(cfg.shortcuts["nav-worktrees"], "meta+shift+w");
        assert_eq!(cfg.shortcuts["custom"], "meta+k");
    }

    #[test]
    fn a_settled_config_is_parsed_once_and_any_rewrite_is_seen() {
        let (_d, store) = store();
        let file = store.paths.config_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, r#"{"baseBranch": "aaaa"}"#).unwrap();
        // A fresh stamp is never trusted: a same-size rewrite right away is seen.
        assert_eq!(store.load().unwrap().unwrap().base_branch, "aaaa");
        std::fs::write(&file, r#"{"baseBranch": "bbbb"}"#).unwrap();
        assert_eq!(store.load().unwrap().unwrap().base_branch, "bbbb");

        // Once settled, the parse is kept for as long as the stamp stays the same.
        let old = std::time::SystemTime::now() - 2 * RACY_STAMP;
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(old).unwrap();
        drop(f);
        assert_eq!(store.load().unwrap().unwrap().base_branch, "bbbb");
        assert!(
            store.cached.lock().unwrap().is_some(),
            "cached once settled"
        );

        // An atomic replacement (new inode) is a new stamp.
        crate::persist::write_json(&file, &json!({"baseBranch": "cccc"})).unwrap();
        assert_eq!(store.load().unwrap().unwrap().base_branch, "cccc");
        // So is a removal.
        std::fs::remove_file(&file).unwrap();
        assert!(store.load().unwrap().is_none());
    }
}
