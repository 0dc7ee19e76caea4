//! The MCP servers registry: `~/.openkit/mcp-servers.json` (version 1) and the
//! per-project env overrides in `<project>/.openkit/mcp-env.json`.
//!
//! The registry file is `{ "version": 1, "servers": { "<id>": McpServer } }`; unknown
//! fields (of the file and of each server) are kept on rewrite. Every read-modify-write
//! runs under a cross-process lock (`~/.openkit/.mcp-servers.lock`) and ends in an atomic
//! write; a registry file that does not parse is reported (`CORRUPT_FILE`) and never
//! overwritten.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::RegistryError;
use crate::error::IoFailure;
use crate::paths::Paths;
use crate::persist;

/// The longest id a name is slugged to.
pub const MAX_ID_LEN: usize = 60;

/// The transport of a server reached by URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// Server-sent events (the older transport).
    Sse,
}

impl Transport {
    /// Its name (`http`, `sse`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Sse => "sse",
        }
    }
}

/// One registered MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServer {
    /// Slug id, the key in every agent's configuration.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The command of a stdio server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// The transport of a URL server.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// The URL of a remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment of the server (stdio) as the registry holds it.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Where it was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Creation time (ISO-8601 UTC).
    #[serde(default)]
    pub created_at: String,
    /// Last change (ISO-8601 UTC).
    #[serde(default)]
    pub updated_at: String,
    /// Fields this version does not know, kept on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl McpServer {
    /// Whether `q` (case-insensitive) occurs in its name, id, description, command or URL.
    pub fn matches(&self, q: &str) -> bool {
        let q = q.to_lowercase();
        [
            Some(self.name.as_str()),
            Some(self.id.as_str()),
            Some(self.description.as_str()),
            self.command.as_deref(),
            self.url.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(&q))
    }
}

/// A server to register.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMcpServer {
    /// The id; slugged from the name when absent.
    pub id: Option<String>,
    /// Display name (required).
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    pub transport: Option<Transport>,
    /// URL of a remote server.
    pub url: Option<String>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// Where it came from.
    pub source: Option<String>,
}

/// A partial update; `None` leaves a field as it is. An empty `command`, `url` or
/// `args` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpServerPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New command (`""` clears).
    pub command: Option<String>,
    /// New arguments (`[]` clears).
    pub args: Option<Vec<String>>,
    /// New transport.
    pub transport: Option<Transport>,
    /// New URL (`""` clears).
    pub url: Option<String>,
    /// New environment (replaces the old one).
    pub env: Option<BTreeMap<String, String>>,
}

/// `name` as an id: lowercase ASCII letters and digits, other runs turned into one `-`,
/// no `-` at either end, at most [`MAX_ID_LEN`] characters. Empty when nothing is left.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
        if out.len() >= MAX_ID_LEN {
            break;
        }
    }
    out.truncate(MAX_ID_LEN);
    out.trim_end_matches('-').to_string()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    #[serde(default = "version_one")]
    version: u32,
    #[serde(default)]
    servers: BTreeMap<String, McpServer>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

fn version_one() -> u32 {
    1
}

/// Holds a cross-process lock file while alive.
pub(crate) struct LockGuard(File);

impl LockGuard {
    /// Takes the lock at `path` (created when missing), waiting for other holders.
    pub(crate) fn acquire(path: &Path) -> Result<Self, RegistryError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| IoFailure::new(format!("creating {}", dir.display()), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| IoFailure::new(format!("opening {}", path.display()), e))?;
        file.lock()
            .map_err(|e| IoFailure::new(format!("locking {}", path.display()), e))?;
        Ok(LockGuard(file))
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn check_env(field: &'static str, env: &BTreeMap<String, String>) -> Result<(), RegistryError> {
    for key in env.keys() {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(RegistryError::invalid(
                field,
                format!("\"{key}\" is not an environment variable name"),
            ));
        }
    }
    Ok(())
}

/// Checks the rules every stored server keeps: a name, a command or a URL (http/https),
/// a transport only with a URL, environment names without `=`.
fn validate(server: &McpServer) -> Result<(), RegistryError> {
    if server.name.trim().is_empty() {
        return Err(RegistryError::invalid("name", "is required"));
    }
    match (&server.command, &server.url) {
        (None, None) => {
            return Err(RegistryError::invalid(
                "command",
                "either command or url must be provided",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(RegistryError::invalid(
                "url",
                "give either command or url, not both",
            ));
        }
        _ => {}
    }
    if let Some(url) = &server.url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(RegistryError::invalid(
            "url",
            "must be an http:// or https:// URL",
        ));
    }
    if server.transport.is_some() && server.url.is_none() {
        return Err(RegistryError::invalid(
            "type",
            "only a URL server has a type",
        ));
    }
    check_env("env", &server.env)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn clean_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_string();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// The MCP servers registry of one user, and the env overrides of one project.
#[derive(Debug, Clone)]
pub struct McpRegistry {
    file: PathBuf,
    lock: PathBuf,
    env_file: PathBuf,
    env_lock: PathBuf,
}

impl McpRegistry {
    /// The registry in `paths.global_dir()`, overrides in the project's `.openkit/`.
    pub fn new(paths: &Paths) -> Self {
        McpRegistry {
            file: paths.global_dir().join("mcp-servers.json"),
            lock: paths.global_dir().join(".mcp-servers.lock"),
            env_file: paths.openkit_dir().join("mcp-env.json"),
            env_lock: paths.openkit_dir().join(".mcp-env.lock"),
        }
    }

    /// `~/.openkit/mcp-servers.json`.
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn read(&self) -> Result<RegistryFile, RegistryError> {
        Ok(
            persist::read_json::<RegistryFile>(&self.file)?.unwrap_or_else(|| RegistryFile {
                version: 1,
                ..RegistryFile::default()
            }),
        )
    }

    fn write(&self, file: &RegistryFile) -> Result<(), RegistryError> {
        persist::write_json(&self.file, file)?;
        Ok(())
    }

    /// Every server, by id; filtered by a search text and a tag when given.
    pub fn list(
        &self,
        q: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Vec<McpServer>, RegistryError> {
        let q = q.map(str::trim).filter(|q| !q.is_empty());
        let tag = tag.map(str::trim).filter(|t| !t.is_empty());
        Ok(self
            .read()?
            .servers
            .into_values()
            .filter(|s| q.is_none_or(|q| s.matches(q)))
            .filter(|s| tag.is_none_or(|t| s.tags.iter().any(|x| x.eq_ignore_ascii_case(t))))
            .collect())
    }

    /// One server.
    pub fn get(&self, id: &str) -> Result<McpServer, RegistryError> {
        self.read()?
            .servers
            .remove(id)
            .ok_or_else(|| RegistryError::ServerNotFound { id: id.to_string() })
    }

    fn build(new: NewMcpServer) -> Result<McpServer, RegistryError> {
        let id = match &new.id {
            Some(id) if !id.trim().is_empty() => {
                let slugged = slug(id);
                if slugged != id.trim() {
                    return Err(RegistryError::invalid(
                        "id",
                        "must be lowercase letters, digits and single dashes (at most 60)",
                    ));
                }
                slugged
            }
            _ => slug(&new.name),
        };
        if id.is_empty() {
            return Err(RegistryError::invalid(
                "name",
                "must contain at least one letter or digit",
            ));
        }
        let now = now();
        let url = non_empty(new.url);
        let server = McpServer {
            id,
            name: new.name.trim().to_string(),
            description: new.description.unwrap_or_default().trim().to_string(),
            tags: clean_tags(new.tags),
            command: non_empty(new.command),
            args: new.args.filter(|a| !a.is_empty()),
            transport: new.transport.or(url.as_ref().map(|_| Transport::Http)),
            url,
            env: new.env,
            source: non_empty(new.source),
            created_at: now.clone(),
            updated_at: now,
            extra: Map::new(),
        };
        validate(&server)?;
        Ok(server)
    }

    /// Registers a server: `409` when its id is taken.
    pub fn create(&self, new: NewMcpServer) -> Result<McpServer, RegistryError> {
        let server = Self::build(new)?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = self.read()?;
        if file.servers.contains_key(&server.id) {
            return Err(RegistryError::ServerExists { id: server.id });
        }
        file.servers.insert(server.id.clone(), server.clone());
        self.write(&file)?;
        Ok(server)
    }

    /// Registers every server whose id is free (existing ids are skipped); returns the
    /// ids registered. Every entry is validated before anything is written.
    pub fn import(&self, servers: Vec<NewMcpServer>) -> Result<Vec<String>, RegistryError> {
        let built = servers
            .into_iter()
            .map(Self::build)
            .collect::<Result<Vec<_>, _>>()?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = self.read()?;
        let mut imported = Vec::new();
        for server in built {
            if file.servers.contains_key(&server.id) {
                continue;
            }
            imported.push(server.id.clone());
            file.servers.insert(server.id.clone(), server);
        }
        if !imported.is_empty() {
            self.write(&file)?;
        }
        Ok(imported)
    }

    /// Applies `patch` to server `id`.
    pub fn update(&self, id: &str, patch: McpServerPatch) -> Result<McpServer, RegistryError> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = self.read()?;
        let server = file
            .servers
            .get_mut(id)
            .ok_or_else(|| RegistryError::ServerNotFound { id: id.to_string() })?;
        let mut next = server.clone();
        if let Some(name) = patch.name {
            next.name = name.trim().to_string();
        }
        if let Some(description) = patch.description {
            next.description = description.trim().to_string();
        }
        if let Some(tags) = patch.tags {
            next.tags = clean_tags(tags);
        }
        if let Some(command) = patch.command {
            next.command = non_empty(Some(command));
            if next.command.is_some() {
                next.url = None;
                next.transport = None;
            }
        }
        if let Some(args) = patch.args {
            next.args = Some(args).filter(|a| !a.is_empty());
        }
        if let Some(url) = patch.url {
            next.url = non_empty(Some(url));
            if next.url.is_some() {
                next.command = None;
                next.args = None;
                next.transport = next.transport.or(Some(Transport::Http));
            } else {
                next.transport = None;
            }
        }
        if let Some(transport) = patch.transport {
            next.transport = Some(transport);
        }
        if let Some(env) = patch.env {
            next.env = env;
        }
        validate(&next)?;
        next.updated_at = now();
        *server = next.clone();
        self.write(&file)?;
        Ok(next)
    }

    /// Removes server `id` from the registry (deployments are left as they are).
    pub fn delete(&self, id: &str) -> Result<(), RegistryError> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = self.read()?;
        if file.servers.remove(id).is_none() {
            return Err(RegistryError::ServerNotFound { id: id.to_string() });
        }
        self.write(&file)
    }

    fn read_env(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>, RegistryError> {
        Ok(persist::read_json(&self.env_file)?.unwrap_or_default())
    }

    /// This project's env overrides of server `id` (the server must exist).
    pub fn env_overrides(&self, id: &str) -> Result<BTreeMap<String, String>, RegistryError> {
        self.get(id)?;
        Ok(self.read_env()?.remove(id).unwrap_or_default())
    }

    /// Replaces this project's env overrides of server `id`; an empty map clears them.
    pub fn set_env_overrides(
        &self,
        id: &str,
        env: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, RegistryError> {
        self.get(id)?;
        check_env("env", &env)?;
        let _lock = LockGuard::acquire(&self.env_lock)?;
        let mut all = self.read_env()?;
        if env.is_empty() {
            all.remove(id);
        } else {
            all.insert(id.to_string(), env.clone());
        }
        persist::write_json(&self.env_file, &all)?;
        Ok(env)
    }

    /// The environment a deployment of `server` writes: the registry's, with this
    /// project's overrides on top.
    pub fn effective_env(
        &self,
        server: &McpServer,
    ) -> Result<BTreeMap<String, String>, RegistryError> {
        let mut env = server.env.clone();
        env.extend(self.read_env()?.remove(&server.id).unwrap_or_default());
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn registry() -> (tempfile::TempDir, McpRegistry) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path().join("project"), dir.path().join("home/.openkit"));
        let registry = McpRegistry::new(&paths);
        (dir, registry)
    }

    fn stdio(name: &str) -> NewMcpServer {
        NewMcpServer {
            name: name.into(),
            command: Some("npx".into()),
            args: Some(vec!["-y".into(), "srv".into()]),
            ..NewMcpServer::default()
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("My MCP Server"), "my-mcp-server");
        assert_eq!(slug("  --Ünï cödé!! "), "n-c-d");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(slug("***"), "");
        assert_eq!(slug(&"a".repeat(100)).len(), 60);
    }

    #[test]
    fn crud_round_trip_with_filters() {
        let (_dir, reg) = registry();
        let created = reg.create(stdio("My MCP Server")).unwrap();
        assert_eq!(created.id, "my-mcp-server");
        let remote = reg
            .create(NewMcpServer {
                name: "remote-mcp".into(),
                url: Some("https://mcp.example.com".into()),
                tags: vec!["web".into(), " web ".into(), "".into()],
                ..NewMcpServer::default()
            })
            .unwrap();
        assert_eq!(remote.transport, Some(Transport::Http));
        assert_eq!(remote.tags, vec!["web"]);
        assert!(matches!(
            reg.create(stdio("my mcp server")),
            Err(RegistryError::ServerExists { .. })
        ));
        assert_eq!(reg.list(Some("EXAMPLE.com"), None).unwrap().len(), 1);
        assert_eq!(reg.list(None, Some("web")).unwrap()[0].id, "remote-mcp");
        assert_eq!(reg.list(None, None).unwrap().len(), 2);

        let updated = reg
            .update(
                "remote-mcp",
                McpServerPatch {
                    command: Some("uvx".into()),
                    description: Some("local now".into()),
                    ..McpServerPatch::default()
                },
            )
            .unwrap();
        assert_eq!(updated.url, None);
        assert_eq!(updated.transport, None);
        assert_eq!(updated.command.as_deref(), Some("uvx"));
        assert_eq!(reg.get("remote-mcp").unwrap(), updated);
        reg.delete("remote-mcp").unwrap();
        assert!(matches!(
            reg.delete("remote-mcp"),
            Err(RegistryError::ServerNotFound { .. })
        ));
    }

    #[test]
    fn invalid_servers_are_refused() {
        let (_dir, reg) = registry();
        let cases = [
            NewMcpServer {
                name: "x".into(),
                ..NewMcpServer::default()
            },
            NewMcpServer {
                name: " ".into(),
                command: Some("a".into()),
                ..NewMcpServer::default()
            },
            NewMcpServer {
                name: "x".into(),
                url: Some("ftp://a".into()),
                ..NewMcpServer::default()
            },
            NewMcpServer {
                id: Some("Bad Id".into()),
                ..stdio("x")
            },
            NewMcpServer {
                env: BTreeMap::from([("A=B".into(), "1".into())]),
                ..stdio("x")
            },
            NewMcpServer {
                transport: Some(Transport::Sse),
                ..stdio("x")
            },
        ];
        for case in cases {
            let err = reg.create(case.clone()).unwrap_err();
            assert!(
                matches!(err, RegistryError::Invalid { .. }),
                "{case:?}: {err}"
            );
        }
        assert!(!reg.file().exists(), "nothing written");
    }

    #[test]
    fn unknown_fields_survive_and_a_corrupt_registry_is_not_overwritten() {
        let (_dir, reg) = registry();
        std::fs::create_dir_all(reg.file().parent().unwrap()).unwrap();
        std::fs::write(
            reg.file(),
            r#"{"version":1,"later":true,"servers":{"a":{"id":"a","name":"A","command":"x","color":"red","createdAt":"t","updatedAt":"t"}}}"#,
        )
        .unwrap();
        reg.create(stdio("b")).unwrap();
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(reg.file()).unwrap()).unwrap();
        assert_eq!(raw["later"], true);
        assert_eq!(raw["servers"]["a"]["color"], "red");
        std::fs::write(reg.file(), "{ not json").unwrap();
        assert_eq!(
            crate::DomainError::code(&reg.create(stdio("c")).unwrap_err()),
            "CORRUPT_FILE"
        );
        assert_eq!(std::fs::read_to_string(reg.file()).unwrap(), "{ not json");
    }

    #[test]
    fn env_overrides_merge_over_the_registry_env() {
        let (_dir, reg) = registry();
        let server = reg
            .create(NewMcpServer {
                env: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
                ..stdio("s")
            })
            .unwrap();
        assert!(reg.env_overrides("s").unwrap().is_empty());
        reg.set_env_overrides("s", BTreeMap::from([("B".into(), "project".into())]))
            .unwrap();
        assert_eq!(
            reg.effective_env(&server).unwrap(),
            BTreeMap::from([("A".into(), "1".into()), ("B".into(), "project".into())])
        );
        reg.set_env_overrides("s", BTreeMap::new()).unwrap();
        assert_eq!(reg.effective_env(&server).unwrap(), server.env);
        assert!(matches!(
            reg.env_overrides("nope"),
            Err(RegistryError::ServerNotFound { .. })
        ));
    }

    proptest! {
        #[test]
        fn a_slug_is_one_safe_path_component(name in any::<String>()) {
            let s = slug(&name);
            prop_assert!(s.len() <= MAX_ID_LEN);
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"));
            prop_assert_eq!(slug(&s), s.clone());
        }
    }
}
