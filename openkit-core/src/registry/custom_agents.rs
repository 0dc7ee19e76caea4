//! Custom agents: `~/.openkit/agents/<name>.md` (YAML frontmatter and Markdown
//! instructions), copied into each agent's agents directory (`<dir>/<name>.md`, VS Code
//! `<name>.agent.md`). Ids on the wire are `custom::<name>`; a name becomes a path only
//! as a slug. Updating an agent's content rewrites every deployed copy; status reads
//! the agents' directories as they are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::deploy::ScanMode;
use super::error::RegistryError;
use super::frontmatter;
use super::mcp::{LockGuard, slug};
use super::skills::AgentPlacement;
use super::targets::{Roots, Scope, TARGETS, Target, Tool};
use crate::error::IoFailure;
use crate::persist;

/// The prefix of a custom agent's id.
pub const ID_PREFIX: &str = "custom::";

/// A custom agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomAgent {
    /// `custom::<name>`.
    pub id: String,
    /// Its name (the file stem).
    pub name: String,
    /// The frontmatter `description`.
    pub description: String,
    /// Its file in the registry.
    pub path: PathBuf,
    /// The whole file.
    pub content: String,
    /// Where it is deployed.
    pub deployments: BTreeMap<Tool, AgentPlacement>,
}

/// A custom agent to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomAgent {
    /// Name (slugged).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Its tools (`Read, Grep, Glob`).
    pub tools: Option<String>,
    /// A model hint.
    pub model: Option<String>,
    /// The Markdown body.
    pub instructions: Option<String>,
}

/// An agent file found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredAgent {
    /// Its name.
    pub name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// The file.
    pub agent_path: PathBuf,
    /// The registry has an agent of this name.
    pub already_in_registry: bool,
}

const SCAN_DEPTH: usize = 4;
const SCAN_BUDGET: Duration = Duration::from_secs(3);
/// The largest agent file imported.
const MAX_AGENT_BYTES: u64 = 1024 * 1024;

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> RegistryError {
    let action = action.into();
    move |e| IoFailure::new(action, e).into()
}

/// The name in id `custom::<name>`.
pub fn parse_id(id: &str) -> Result<String, RegistryError> {
    let name = id
        .strip_prefix(ID_PREFIX)
        .ok_or(RegistryError::InvalidCustomAgentId)?;
    if name.is_empty() || slug(name) != name {
        return Err(RegistryError::InvalidCustomAgentId);
    }
    Ok(name.to_string())
}

fn description_of(content: &str) -> String {
    frontmatter::read(content)
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The registry of custom agents.
#[derive(Debug, Clone)]
pub struct CustomAgents {
    dir: PathBuf,
    lock: PathBuf,
    roots: Roots,
}

impl CustomAgents {
    /// Agents in `<global_dir>/agents`, deployed under `roots`.
    pub fn new(global_dir: &Path, roots: Roots) -> Self {
        CustomAgents {
            dir: global_dir.join("agents"),
            lock: global_dir.join(".agents.lock"),
            roots,
        }
    }

    /// `~/.openkit/agents`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.md"))
    }

    fn placed(&self, target: &Target, scope: Scope, name: &str) -> Result<PathBuf, RegistryError> {
        Ok(self
            .roots
            .agents_dir(target, scope)?
            .join(format!("{name}{}", target.agent_suffix)))
    }

    fn deployments(&self, name: &str) -> BTreeMap<Tool, AgentPlacement> {
        let mut out = BTreeMap::new();
        for target in &TARGETS {
            let at = |scope| self.placed(target, scope, name).is_ok_and(|p| p.is_file());
            out.insert(
                target.tool,
                AgentPlacement {
                    global: at(Scope::Global),
                    project: at(Scope::Project),
                },
            );
        }
        out
    }

    fn load(&self, name: &str) -> Result<CustomAgent, RegistryError> {
        let path = self.file(name);
        let content = match std::fs::read_to_string(&path) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RegistryError::CustomAgentNotFound {
                    id: format!("{ID_PREFIX}{name}"),
                });
            }
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        };
        Ok(CustomAgent {
            id: format!("{ID_PREFIX}{name}"),
            name: name.to_string(),
            description: description_of(&content),
            deployments: self.deployments(name),
            path,
            content,
        })
    }

    /// Every custom agent, by name.
    pub fn list(&self) -> Result<Vec<CustomAgent>, RegistryError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("reading {}", self.dir.display()))(e)),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".md")?.to_string();
                (slug(&stem) == stem).then_some(stem)
            })
            .collect();
        names.sort();
        names.iter().map(|n| self.load(n)).collect()
    }

    /// One custom agent by id.
    pub fn get(&self, id: &str) -> Result<CustomAgent, RegistryError> {
        self.load(&parse_id(id)?)
    }

    /// Creates an agent file and deploys it to `deploy_to` in `scope`.
    pub fn create(
        &self,
        new: NewCustomAgent,
        scope: Scope,
        deploy_to: &[Tool],
    ) -> Result<CustomAgent, RegistryError> {
        let name = slug(&new.name);
        if name.is_empty() {
            return Err(RegistryError::invalid(
                "name",
                "is required and must contain a letter or digit",
            ));
        }
        let mut lines = Vec::new();
        let mut fm = Map::new();
        fm.insert("name".into(), Value::from(name.as_str()));
        for (key, value) in [
            ("description", new.description),
            ("tools", new.tools),
            ("model", new.model),
        ] {
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                fm.insert(key.into(), Value::from(v.trim()));
            }
        }
        frontmatter::merge(&mut lines, &fm);
        let body = match new.instructions.filter(|i| !i.trim().is_empty()) {
            Some(b) if b.ends_with('\n') => b,
            Some(b) => format!("{b}\n"),
            None => format!("# {name}\n"),
        };
        {
            let _lock = LockGuard::acquire(&self.lock)?;
            let path = self.file(&name);
            if path.exists() {
                return Err(RegistryError::CustomAgentExists { name });
            }
            persist::write_atomic(&path, frontmatter::join(&lines, &body).as_bytes())?;
        }
        for tool in deploy_to {
            self.deploy(&format!("{ID_PREFIX}{name}"), *tool, scope)?;
        }
        self.load(&name)
    }

    /// Replaces an agent's content and rewrites every deployed copy.
    pub fn update(&self, id: &str, content: &str) -> Result<CustomAgent, RegistryError> {
        let agent = self.get(id)?;
        {
            let _lock = LockGuard::acquire(&self.lock)?;
            persist::write_atomic(&agent.path, content.as_bytes())?;
        }
        for target in &TARGETS {
            for scope in Scope::ALL {
                if let Ok(copy) = self.placed(target, scope, &agent.name)
                    && copy.is_file()
                {
                    persist::write_atomic(&copy, content.as_bytes())?;
                }
            }
        }
        self.load(&agent.name)
    }

    /// Deletes an agent from the registry and removes its deployed copies that are
    /// still identical to it (copies edited by hand are left).
    pub fn delete(&self, id: &str) -> Result<(), RegistryError> {
        let agent = self.get(id)?;
        for target in &TARGETS {
            for scope in Scope::ALL {
                if let Ok(copy) = self.placed(target, scope, &agent.name)
                    && std::fs::read_to_string(&copy).is_ok_and(|c| c == agent.content)
                {
                    std::fs::remove_file(&copy)
                        .map_err(io(format!("removing {}", copy.display())))?;
                }
            }
        }
        let _lock = LockGuard::acquire(&self.lock)?;
        std::fs::remove_file(&agent.path).map_err(io(format!("removing {}", agent.path.display())))
    }

    /// Copies an agent into `tool`'s agents directory of `scope`.
    pub fn deploy(&self, id: &str, tool: Tool, scope: Scope) -> Result<PathBuf, RegistryError> {
        let agent = self.get(id)?;
        let copy = self.placed(tool.target(), scope, &agent.name)?;
        if std::fs::read_to_string(&copy).is_ok_and(|c| c == agent.content) {
            return Ok(copy);
        }
        persist::write_atomic(&copy, agent.content.as_bytes())?;
        Ok(copy)
    }

    /// Removes an agent's copy from `tool`'s agents directory of `scope` (a no-op when it
    /// is not there).
    pub fn undeploy(&self, id: &str, tool: Tool, scope: Scope) -> Result<(), RegistryError> {
        let agent = self.get(id)?;
        let copy = self.placed(tool.target(), scope, &agent.name)?;
        match std::fs::remove_file(&copy) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(format!("removing {}", copy.display()))(e)),
        }
    }

    /// Agent Markdown files in the agents' directories that `mode` covers.
    pub fn scan(&self, mode: &ScanMode) -> Result<Vec<DiscoveredAgent>, RegistryError> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let deadline = Instant::now() + SCAN_BUDGET;
        match mode {
            ScanMode::Project => {
                for target in &TARGETS {
                    dirs.push(self.roots.project.join(target.agents_project));
                }
            }
            ScanMode::Folder(root) => walk(root, SCAN_DEPTH, deadline, &mut dirs),
            ScanMode::Device => {
                if let Some(home) = &self.roots.home {
                    for target in &TARGETS {
                        dirs.push(home.join(target.agents_global));
                    }
                    walk(home, SCAN_DEPTH, deadline, &mut dirs);
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        let known: Vec<String> = self.list()?.into_iter().map(|a| a.name).collect();
        let mut out = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name().to_string_lossy().to_string();
                let Some(stem) = file_name
                    .strip_suffix(".agent.md")
                    .or_else(|| file_name.strip_suffix(".md"))
                else {
                    continue;
                };
                let path = entry.path();
                if !entry.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                let content = std::fs::read_to_string(&path).unwrap_or_default();
                let name = slug(stem);
                if name.is_empty() {
                    continue;
                }
                out.push(DiscoveredAgent {
                    already_in_registry: known.contains(&name),
                    description: description_of(&content),
                    name,
                    agent_path: path,
                });
            }
        }
        Ok(out)
    }

    /// Copies each `(name, file)` into the registry (names already registered are
    /// skipped), then deploys the imported ones to `deploy_to` in `scope`. Returns the
    /// names imported.
    pub fn import(
        &self,
        agents: Vec<(String, PathBuf)>,
        scope: Scope,
        deploy_to: &[Tool],
    ) -> Result<Vec<String>, RegistryError> {
        let mut imported = Vec::new();
        {
            let _lock = LockGuard::acquire(&self.lock)?;
            for (name, source) in agents {
                let name = slug(&name);
                if name.is_empty() {
                    return Err(RegistryError::invalid(
                        "name",
                        "must contain a letter or digit",
                    ));
                }
                let meta = std::fs::metadata(&source).map_err(|_| {
                    RegistryError::invalid(
                        "agentPath",
                        format!("{} is not a file", source.display()),
                    )
                })?;
                if !meta.is_file() || meta.len() > MAX_AGENT_BYTES {
                    return Err(RegistryError::invalid(
                        "agentPath",
                        format!("{} is not an agent file", source.display()),
                    ));
                }
                let dest = self.file(&name);
                if dest.exists() {
                    continue;
                }
                let content =
                    std::fs::read(&source).map_err(io(format!("reading {}", source.display())))?;
                persist::write_atomic(&dest, &content)?;
                imported.push(name);
            }
        }
        for name in &imported {
            for tool in deploy_to {
                self.deploy(&format!("{ID_PREFIX}{name}"), *tool, scope)?;
            }
        }
        Ok(imported)
    }
}

/// Collects the agents' directories (`.claude/agents`, `.github/agents`, ...) under
/// `dir`, `depth` levels down, until `deadline`.
fn walk(dir: &Path, depth: usize, deadline: Instant, out: &mut Vec<PathBuf>) {
    if Instant::now() > deadline {
        return;
    }
    for target in &TARGETS {
        let candidate = dir.join(target.agents_project);
        if candidate.is_dir() {
            out.push(candidate);
        }
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !entry.file_type().is_ok_and(|t| t.is_dir())
            || name.starts_with('.')
            || ["node_modules", "target", "vendor"].contains(&name.as_ref())
        {
            continue;
        }
        walk(&entry.path(), depth - 1, deadline, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (tempfile::TempDir, CustomAgents) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots {
            home: Some(dir.path().join("home")),
            project: dir.path().join("project"),
        };
        let reg = CustomAgents::new(&dir.path().join("home/.openkit"), roots);
        (dir, reg)
    }

    #[test]
    fn ids_are_validated() {
        assert_eq!(parse_id("custom::reviewer").unwrap(), "reviewer");
        for bad in [
            "reviewer",
            "custom::",
            "custom::../x",
            "custom::A",
            "plugin::x",
        ] {
            assert!(
                matches!(parse_id(bad), Err(RegistryError::InvalidCustomAgentId)),
                "{bad}"
            );
        }
    }

    #[test]
    fn create_deploy_sync_and_delete() {
        let (dir, reg) = registry();
        let agent = reg
            .create(
                NewCustomAgent {
                    name: "reviewer".into(),
                    description: Some("Code review specialist".into()),
                    tools: Some("Read, Grep, Glob".into()),
                    ..NewCustomAgent::default()
                },
                Scope::Project,
                &[Tool::Claude, Tool::Vscode],
            )
            .unwrap();
        assert_eq!(
            agent.content,
            "---\nname: reviewer\ndescription: Code review specialist\ntools: Read, Grep, Glob\n---\n# reviewer\n"
        );
        let claude = dir.path().join("project/.claude/agents/reviewer.md");
        let vscode = dir.path().join("project/.github/agents/reviewer.agent.md");
        assert_eq!(std::fs::read_to_string(&claude).unwrap(), agent.content);
        assert!(vscode.is_file());
        assert_eq!(
            agent.deployments[&Tool::Claude],
            AgentPlacement {
                global: false,
                project: true
            }
        );
        assert!(matches!(
            reg.create(
                NewCustomAgent {
                    name: "reviewer".into(),
                    ..NewCustomAgent::default()
                },
                Scope::Project,
                &[]
            ),
            Err(RegistryError::CustomAgentExists { .. })
        ));

        let updated = reg
            .update("custom::reviewer", "---\nname: reviewer\n---\nv2\n")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&vscode).unwrap(), updated.content);

        // Removed by hand: no longer deployed.
        std::fs::remove_file(&vscode).unwrap();
        assert!(!reg.get("custom::reviewer").unwrap().deployments[&Tool::Vscode].project);

        reg.deploy("custom::reviewer", Tool::Codex, Scope::Global)
            .unwrap();
        assert!(dir.path().join("home/.codex/agents/reviewer.md").is_file());
        reg.undeploy("custom::reviewer", Tool::Codex, Scope::Global)
            .unwrap();
        assert!(!dir.path().join("home/.codex/agents/reviewer.md").exists());

        std::fs::write(&claude, "edited by hand\n").unwrap();
        reg.delete("custom::reviewer").unwrap();
        assert!(claude.is_file(), "a hand-edited copy is kept");
        assert!(reg.list().unwrap().is_empty());
    }

    #[test]
    fn scan_and_import() {
        let (dir, reg) = registry();
        let other = dir.path().join("work/app/.codex/agents");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(
            other.join("reviewer.md"),
            "---\ndescription: Reviews\n---\nBody\n",
        )
        .unwrap();
        let found = reg
            .scan(&ScanMode::Folder(dir.path().join("work")))
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].description, "Reviews");
        let imported = reg
            .import(
                vec![("reviewer".into(), found[0].agent_path.clone())],
                Scope::Project,
                &[Tool::Gemini],
            )
            .unwrap();
        assert_eq!(imported, vec!["reviewer"]);
        assert!(
            dir.path()
                .join("project/.gemini/agents/reviewer.md")
                .is_file()
        );
        assert!(
            reg.scan(&ScanMode::Folder(dir.path().join("work")))
                .unwrap()[0]
                .already_in_registry
        );
    }
}
