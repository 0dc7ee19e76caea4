//! Deploying registry MCP servers into the agents' configuration files, reading back
//! what is deployed, and scanning those files for servers to import.
//!
//! Every agent is a row of [`TARGETS`]: its file, format and entry dialect. A deploy
//! sets one entry (`<container>.<id>`), an undeploy removes it, both through the
//! surgical editors ([`JsonDoc`], [`TomlDoc`]) so the rest of the user's file is kept
//! byte-for-byte, and both end in an atomic write (through a symbolic link to its
//! target, so dotfile links survive). A file that does not parse is reported
//! (`AGENT_CONFIG_UNPARSEABLE`) and never written. Status reads the files as they are: an
//! entry removed by hand is not deployed; one that differs from what a deploy would
//! write is drifted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::error::RegistryError;
use super::json_doc::JsonDoc;
use super::mcp::{LockGuard, McpServer, NewMcpServer, Transport};
use super::targets::{Dialect, Format, Roots, Scope, TARGETS, Target, Tool};
use crate::error::IoFailure;
use crate::persist;

/// The entry a deploy writes for `server` with environment `env`, in `dialect`.
pub fn entry_for(
    server: &McpServer,
    env: &BTreeMap<String, String>,
    dialect: Dialect,
) -> Map<String, Value> {
    let mut entry = Map::new();
    if let Some(url) = &server.url {
        let transport = server.transport.unwrap_or(Transport::Http);
        match dialect {
            Dialect::TypedUrl | Dialect::AlwaysTyped => {
                entry.insert("type".into(), transport.as_str().into());
                entry.insert("url".into(), url.as_str().into());
            }
            Dialect::PlainUrl | Dialect::Codex => {
                entry.insert("url".into(), url.as_str().into());
            }
            Dialect::HttpUrl => {
                let key = match transport {
                    Transport::Http => "httpUrl",
                    Transport::Sse => "url",
                };
                entry.insert(key.into(), url.as_str().into());
            }
        }
        return entry;
    }
    if dialect == Dialect::AlwaysTyped {
        entry.insert("type".into(), "stdio".into());
    }
    if let Some(command) = &server.command {
        entry.insert("command".into(), command.as_str().into());
    }
    if let Some(args) = &server.args {
        entry.insert(
            "args".into(),
            args.iter().map(|a| Value::from(a.as_str())).collect(),
        );
    }
    if !env.is_empty() {
        entry.insert(
            "env".into(),
            Value::Object(
                env.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().into()))
                    .collect(),
            ),
        );
    }
    entry
}

enum Doc {
    Json(JsonDoc),
    Toml(super::toml_doc::TomlDoc),
}

/// One agent configuration file, parsed.
struct ConfigFile {
    path: PathBuf,
    target: &'static Target,
    doc: Doc,
}

impl ConfigFile {
    /// Reads and parses `path` (a missing file is an empty one).
    fn open(path: PathBuf, target: &'static Target) -> Result<Self, RegistryError> {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(IoFailure::new(format!("reading {}", path.display()), e).into());
            }
        };
        let parsed = match target.format {
            Format::Json => JsonDoc::parse(&text).map(Doc::Json),
            Format::Toml => super::toml_doc::TomlDoc::parse(&text).map(Doc::Toml),
        };
        let doc = parsed.map_err(|reason| RegistryError::UnparseableConfig {
            path: path.clone(),
            reason,
        })?;
        Ok(ConfigFile { path, target, doc })
    }

    fn container(&self) -> &'static [&'static str] {
        self.target.mcp_container
    }

    fn get(&self, key: &str) -> Option<Value> {
        match &self.doc {
            Doc::Json(d) => d.get(self.container(), key),
            Doc::Toml(d) => d.get(self.container()[0], key),
        }
    }

    fn entries(&self) -> Vec<(String, Value)> {
        match &self.doc {
            Doc::Json(d) => d.entries(self.container()),
            Doc::Toml(d) => d.entries(self.container()[0]),
        }
    }

    fn set(&mut self, key: &str, entry: &Map<String, Value>) -> Result<(), RegistryError> {
        let container = self.container();
        match &mut self.doc {
            Doc::Json(d) => d.set(container, key, &Value::Object(entry.clone())),
            Doc::Toml(d) => d.set(container[0], key, entry),
        }
        .map_err(|reason| RegistryError::UnparseableConfig {
            path: self.path.clone(),
            reason,
        })
    }

    fn remove(&mut self, key: &str) -> bool {
        let container = self.container();
        match &mut self.doc {
            Doc::Json(d) => d.remove(container, key),
            Doc::Toml(d) => d.remove(container[0], key),
        }
    }

    fn text(&self) -> String {
        match &self.doc {
            Doc::Json(d) => d.text(),
            Doc::Toml(d) => d.text(),
        }
    }

    /// Writes the file atomically; a symbolic link is followed so the link stays.
    fn save(&self) -> Result<(), RegistryError> {
        let real = match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
            }
            _ => self.path.clone(),
        };
        persist::write_atomic(&real, self.text().as_bytes())?;
        Ok(())
    }
}

/// Where one server stands in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The agent's file.
    pub path: PathBuf,
    /// An entry with the server's id is in the file.
    pub deployed: bool,
    /// It is there but differs from what a deploy would write.
    pub drifted: bool,
    /// The file could not be read or parsed (then `deployed` is false).
    pub error: Option<String>,
}

/// Where one server stands in one agent's two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDeployment {
    /// The user's file (`None` when the home directory is unknown).
    pub global: Option<Placement>,
    /// The project's file.
    pub project: Placement,
}

/// A server found in an agent's configuration by a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredServer {
    /// Its key in the file(s).
    pub key: String,
    /// Command of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Transport of a URL server.
    pub transport: Option<Transport>,
    /// URL of a remote server.
    pub url: Option<String>,
    /// Environment; values are blanked for files outside the current project.
    pub env: BTreeMap<String, String>,
    /// Every file it was found in.
    pub found_in: Vec<PathBuf>,
    /// A registry server has the id this key slugs to.
    pub already_in_registry: bool,
}

/// What a scan looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanMode {
    /// The project's own agent files.
    Project,
    /// Agent files in a folder and below it (bounded depth and time).
    Folder(PathBuf),
    /// The user's global agent files and project files under the home directory.
    Device,
}

impl ScanMode {
    /// `project` (the default), `folder` (with an absolute, existing `scan_path`) or
    /// `device`.
    pub fn parse(mode: Option<&str>, scan_path: Option<&str>) -> Result<ScanMode, RegistryError> {
        match mode.unwrap_or("project") {
            "project" => Ok(ScanMode::Project),
            "device" => Ok(ScanMode::Device),
            "folder" => {
                let path = scan_path
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| {
                        RegistryError::invalid("scanPath", "is required for a folder scan")
                    })?;
                let path = PathBuf::from(path);
                if !path.is_absolute() || !path.is_dir() {
                    return Err(RegistryError::invalid(
                        "scanPath",
                        format!("{} is not an absolute path to a directory", path.display()),
                    ));
                }
                Ok(ScanMode::Folder(path))
            }
            other => Err(RegistryError::invalid(
                "mode",
                format!("\"{other}\" is not project, folder or device"),
            )),
        }
    }
}

/// One file a scan read: its path, its entries, and whether its env values may be shown
/// (it belongs to the current project).
type ScanSource = (PathBuf, Vec<(String, Value)>, bool);

/// How deep and how long a folder or device scan walks.
pub const SCAN_DEPTH: usize = 4;
/// The time budget of one scan.
pub const SCAN_BUDGET: Duration = Duration::from_secs(3);

/// Directories a scan never enters.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    "Library",
];

/// Reads one entry of any dialect back into a server definition.
fn discovered(key: &str, value: &Value) -> Option<DiscoveredServer> {
    let obj = value.as_object()?;
    let str_of = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let (url, transport) = if let Some(url) = str_of("httpUrl") {
        (Some(url), Some(Transport::Http))
    } else if let Some(url) = str_of("url").or_else(|| str_of("serverUrl")) {
        let transport = match obj.get("type").and_then(Value::as_str) {
            Some("sse") => Transport::Sse,
            _ => Transport::Http,
        };
        (Some(url), Some(transport))
    } else {
        (None, None)
    };
    let command = str_of("command");
    if command.is_none() && url.is_none() {
        return None;
    }
    let args = obj.get("args").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect::<Vec<_>>()
    });
    let env = obj
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Some(DiscoveredServer {
        key: key.to_string(),
        command: if url.is_some() { None } else { command },
        args: if url.is_some() { None } else { args },
        transport,
        url,
        env,
        found_in: Vec::new(),
        already_in_registry: false,
    })
}

impl DiscoveredServer {
    /// This server as a registry entry named `name` (its key when absent).
    pub fn into_new(self, name: Option<String>, source: Option<String>) -> NewMcpServer {
        NewMcpServer {
            id: Some(super::mcp::slug(&self.key)),
            name: name.filter(|n| !n.trim().is_empty()).unwrap_or(self.key),
            command: self.command,
            args: self.args,
            transport: self.transport,
            url: self.url,
            env: self.env,
            source,
            ..NewMcpServer::default()
        }
    }
}

/// Deploys registry servers to the agents' files under two roots.
#[derive(Debug, Clone)]
pub struct McpDeployer {
    roots: Roots,
    lock: PathBuf,
}

impl McpDeployer {
    /// A deployer over `roots`; its edits are serialised by a lock in `global_dir`.
    pub fn new(roots: Roots, global_dir: &Path) -> Self {
        McpDeployer {
            roots,
            lock: global_dir.join(".deploy.lock"),
        }
    }

    /// The roots.
    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Writes `server` (with environment `env`) into `tool`'s file of `scope`.
    /// Deploying an identical entry again leaves the file untouched.
    pub fn deploy(
        &self,
        server: &McpServer,
        env: &BTreeMap<String, String>,
        tool: Tool,
        scope: Scope,
    ) -> Result<PathBuf, RegistryError> {
        let target = tool.target();
        let path = self.roots.mcp_file(target, scope)?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = ConfigFile::open(path.clone(), target)?;
        let entry = entry_for(server, env, target.dialect);
        if file.get(&server.id) == Some(Value::Object(entry.clone())) {
            return Ok(path);
        }
        file.set(&server.id, &entry)?;
        file.save()?;
        Ok(path)
    }

    /// Removes entry `id` from `tool`'s file of `scope`; nothing is written when it is
    /// not there. Returns whether it was.
    pub fn undeploy(&self, id: &str, tool: Tool, scope: Scope) -> Result<bool, RegistryError> {
        let target = tool.target();
        let path = self.roots.mcp_file(target, scope)?;
        if !path.exists() {
            return Ok(false);
        }
        let _lock = LockGuard::acquire(&self.lock)?;
        let mut file = ConfigFile::open(path, target)?;
        if !file.remove(id) {
            return Ok(false);
        }
        file.save()?;
        Ok(true)
    }

    /// Where every server of `servers` (each with the environment a deploy would write)
    /// stands in every agent's files, read as they are now.
    pub fn status(
        &self,
        servers: &[(McpServer, BTreeMap<String, String>)],
    ) -> BTreeMap<String, BTreeMap<Tool, ToolDeployment>> {
        let mut out: BTreeMap<String, BTreeMap<Tool, ToolDeployment>> = BTreeMap::new();
        for target in &TARGETS {
            let open = |scope: Scope| -> Option<(PathBuf, Result<ConfigFile, String>)> {
                let path = self.roots.mcp_file(target, scope).ok()?;
                let file = ConfigFile::open(path.clone(), target).map_err(|e| e.to_string());
                Some((path, file))
            };
            let global = open(Scope::Global);
            let project = open(Scope::Project);
            for (server, env) in servers {
                let expected = Value::Object(entry_for(server, env, target.dialect));
                let place = |(path, file): &(PathBuf, Result<ConfigFile, String>)| {
                    let (found, error) = match file {
                        Ok(f) => (f.get(&server.id), None),
                        Err(e) => (None, Some(e.clone())),
                    };
                    Placement {
                        path: path.clone(),
                        deployed: found.is_some(),
                        drifted: found.as_ref().is_some_and(|f| *f != expected),
                        error,
                    }
                };
                let Some(project) = project.as_ref().map(place) else {
                    continue;
                };
                out.entry(server.id.clone()).or_default().insert(
                    target.tool,
                    ToolDeployment {
                        global: global.as_ref().map(place),
                        project,
                    },
                );
            }
        }
        out
    }

    /// The agent files a scan in `mode` reads, with their targets.
    fn scan_files(&self, mode: &ScanMode) -> Vec<(PathBuf, &'static Target)> {
        let mut files = Vec::new();
        let deadline = Instant::now() + SCAN_BUDGET;
        match mode {
            ScanMode::Project => {
                for target in &TARGETS {
                    files.push((self.roots.project.join(target.mcp_project), target));
                }
            }
            ScanMode::Folder(dir) => walk(dir, SCAN_DEPTH, deadline, &mut files),
            ScanMode::Device => {
                if let Some(home) = &self.roots.home {
                    for target in &TARGETS {
                        files.push((home.join(target.mcp_global), target));
                    }
                    walk(home, SCAN_DEPTH, deadline, &mut files);
                }
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0 && a.1.tool == b.1.tool);
        files
    }

    /// Servers defined in the agents' files that `mode` covers, merged by key (a project
    /// scan also reads Claude Code's local scope, `projects["<root>"].mcpServers` of
    /// `~/.claude.json`). Values of `env` are blanked for files outside the current
    /// project, so a scan never hands out another project's secrets. `known` says
    /// whether an id is registered.
    pub fn scan(&self, mode: &ScanMode, known: impl Fn(&str) -> bool) -> Vec<DiscoveredServer> {
        let mut sources: Vec<ScanSource> = Vec::new();
        for (path, target) in self.scan_files(mode) {
            if !path.is_file() {
                continue;
            }
            let Ok(file) = ConfigFile::open(path.clone(), target) else {
                continue;
            };
            let ours = path.starts_with(&self.roots.project);
            sources.push((path, file.entries(), ours));
        }
        // Claude Code's local scope: this project's own entry in `~/.claude.json`.
        if *mode == ScanMode::Project
            && let Some(home) = &self.roots.home
        {
            let path = home.join(Tool::Claude.target().mcp_global);
            let project = self.roots.project.to_string_lossy().to_string();
            if let Ok(ConfigFile {
                doc: Doc::Json(doc),
                ..
            }) = ConfigFile::open(path.clone(), Tool::Claude.target())
            {
                let entries = doc.entries(&["projects", project.as_str(), "mcpServers"]);
                if !entries.is_empty() {
                    sources.push((path, entries, true));
                }
            }
        }
        let mut found: BTreeMap<String, DiscoveredServer> = BTreeMap::new();
        for (path, entries, ours) in sources {
            for (key, value) in entries {
                let Some(mut server) = discovered(&key, &value) else {
                    continue;
                };
                if !ours {
                    for v in server.env.values_mut() {
                        v.clear();
                    }
                }
                let entry = found.entry(key.clone()).or_insert_with(|| {
                    server.already_in_registry = known(&super::mcp::slug(&key));
                    server
                });
                if !entry.found_in.contains(&path) {
                    entry.found_in.push(path.clone());
                }
            }
        }
        found.into_values().collect()
    }
}

/// Collects agents' project files under `dir`, `depth` levels down, until `deadline`.
/// Hidden directories, symbolic links and build/dependency folders are not entered.
fn walk(dir: &Path, depth: usize, deadline: Instant, out: &mut Vec<(PathBuf, &'static Target)>) {
    if Instant::now() > deadline {
        return;
    }
    for target in &TARGETS {
        let path = dir.join(target.mcp_project);
        if path.is_file() {
            out.push((path, target));
        }
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !kind.is_dir() || name.starts_with('.') || SKIP_DIRS.contains(&name.as_ref()) {
            continue;
        }
        walk(&entry.path(), depth - 1, deadline, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server(url: Option<&str>) -> McpServer {
        McpServer {
            id: "s".into(),
            name: "S".into(),
            description: String::new(),
            tags: vec![],
            command: url.is_none().then(|| "npx".to_string()),
            args: url.is_none().then(|| vec!["-y".to_string()]),
            transport: url.map(|_| Transport::Sse),
            url: url.map(str::to_string),
            env: BTreeMap::new(),
            source: None,
            created_at: String::new(),
            updated_at: String::new(),
            extra: Map::new(),
        }
    }

    #[test]
    fn each_dialect_spells_entries_its_way() {
        let env = BTreeMap::from([("K".to_string(), "v".to_string())]);
        let stdio = server(None);
        let sse = server(Some("https://h/sse"));
        let cases = [
            (
                Dialect::TypedUrl,
                json!({"command": "npx", "args": ["-y"], "env": {"K": "v"}}),
                json!({"type": "sse", "url": "https://h/sse"}),
            ),
            (
                Dialect::PlainUrl,
                json!({"command": "npx", "args": ["-y"], "env": {"K": "v"}}),
                json!({"url": "https://h/sse"}),
            ),
            (
                Dialect::HttpUrl,
                json!({"command": "npx", "args": ["-y"], "env": {"K": "v"}}),
                json!({"url": "https://h/sse"}),
            ),
            (
                Dialect::AlwaysTyped,
                json!({"type": "stdio", "command": "npx", "args": ["-y"], "env": {"K": "v"}}),
                json!({"type": "sse", "url": "https://h/sse"}),
            ),
            (
                Dialect::Codex,
                json!({"command": "npx", "args": ["-y"], "env": {"K": "v"}}),
                json!({"url": "https://h/sse"}),
            ),
        ];
        for (dialect, local, remote) in cases {
            assert_eq!(
                Value::Object(entry_for(&stdio, &env, dialect)),
                local,
                "{dialect:?}"
            );
            assert_eq!(
                Value::Object(entry_for(&sse, &env, dialect)),
                remote,
                "{dialect:?}"
            );
        }
        let mut http = server(Some("https://h/mcp"));
        http.transport = Some(Transport::Http);
        assert_eq!(
            Value::Object(entry_for(&http, &env, Dialect::HttpUrl)),
            json!({"httpUrl": "https://h/mcp"})
        );
    }

    #[test]
    fn entries_of_every_dialect_read_back() {
        for dialect in [
            Dialect::TypedUrl,
            Dialect::PlainUrl,
            Dialect::HttpUrl,
            Dialect::AlwaysTyped,
            Dialect::Codex,
        ] {
            let s = server(None);
            let back = discovered(
                "s",
                &Value::Object(entry_for(&s, &BTreeMap::new(), dialect)),
            )
            .unwrap();
            assert_eq!(back.command.as_deref(), Some("npx"));
            assert_eq!(back.args, Some(vec!["-y".to_string()]));
        }
        let mut http = server(Some("https://h/mcp"));
        http.transport = Some(Transport::Http);
        let back = discovered(
            "s",
            &Value::Object(entry_for(&http, &BTreeMap::new(), Dialect::HttpUrl)),
        )
        .unwrap();
        assert_eq!(
            (back.url.as_deref(), back.transport),
            (Some("https://h/mcp"), Some(Transport::Http))
        );
        assert!(discovered("x", &json!({"disabled": true})).is_none());
    }
}
