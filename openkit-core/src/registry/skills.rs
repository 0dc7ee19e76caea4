//! The skills registry: `~/.openkit/skills/<name>/` with a `SKILL.md` (YAML frontmatter
//! and Markdown instructions) and optional `reference.md` / `examples.md`.
//!
//! A skill is deployed by a symbolic link `<agent skills dir>/<name>` pointing at its
//! registry directory, so an edit in the registry is live everywhere it is deployed.
//! Deployment status reads the agents' directories as they are. A skill name becomes a
//! path only as a slug (`[a-z0-9-]`, at most 60), so it is always one component inside
//! its directory; undeploy and delete remove only links that point into the registry,
//! never a directory of the user's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::error::RegistryError;
use super::frontmatter;
use super::mcp::{LockGuard, slug};
use super::targets::{Roots, Scope, TARGETS, Tool};
use crate::error::IoFailure;
use crate::persist;

/// A skill in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillSummary {
    /// Its directory name.
    pub name: String,
    /// The frontmatter `name`, else the directory name.
    pub display_name: String,
    /// The frontmatter `description`.
    pub description: String,
    /// Its directory.
    pub path: PathBuf,
}

/// A skill with its files.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillDetail {
    /// Name, description, path.
    pub summary: SkillSummary,
    /// The whole `SKILL.md`.
    pub skill_md: String,
    /// Its frontmatter.
    pub frontmatter: Map<String, Value>,
    /// `reference.md`, when there is one.
    pub reference_md: Option<String>,
    /// `examples.md`, when there is one.
    pub examples_md: Option<String>,
}

/// A skill to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSkill {
    /// Its name (slugged into the directory name).
    pub name: String,
    /// Further frontmatter (`description`, `allowed-tools`, ...), written in this order.
    pub frontmatter: Vec<(String, Value)>,
    /// The Markdown body.
    pub instructions: Option<String>,
}

/// An update of a skill's files; `None` leaves a file as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkillPatch {
    /// The whole new `SKILL.md`.
    pub skill_md: Option<String>,
    /// New `reference.md` (`""` deletes it).
    pub reference_md: Option<String>,
    /// New `examples.md` (`""` deletes it).
    pub examples_md: Option<String>,
    /// Keys merged into the frontmatter when `skill_md` is not given (`null` removes).
    pub frontmatter: Option<Map<String, Value>>,
}

/// Where a skill stands for one agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentPlacement {
    /// Present in the agent's global skills directory.
    pub global: bool,
    /// Present in the agent's project skills directory.
    pub project: bool,
}

/// Where a skill stands everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillStatus {
    /// The registry has it.
    pub in_registry: bool,
    /// Per agent.
    pub agents: BTreeMap<Tool, AgentPlacement>,
}

/// A skill directory found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredSkill {
    /// Its directory name.
    pub name: String,
    /// Frontmatter `name`, else the directory name.
    pub display_name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Its directory.
    pub skill_path: PathBuf,
    /// The registry has a skill of this name.
    pub already_in_registry: bool,
}

/// The name of the default project skill.
pub const WORK_ON_TASK: &str = "work-on-task";

/// The `SKILL.md` of [`WORK_ON_TASK`]: how an agent working in an OpenKit worktree gets
/// its task and reports back.
pub const WORK_ON_TASK_SKILL_MD: &str = r#"---
name: work-on-task
description: Work on the task linked to this OpenKit worktree. Use at the start of work in a worktree created by OpenKit, and to report progress, questions and finished todos while working.
---
# Work on the task of this worktree

This checkout is an OpenKit worktree: one task, one branch, its own dev server and
terminals. OpenKit knows which issue it belongs to.

## Before you start

1. Run `openkit task context` in the worktree. It prints the task as Markdown: title,
   status, description, extra context from the developer, comments, todos (with their
   ids), attachments and the hook steps to follow before and after implementing.
   Add `--json` for the same data as JSON.
2. Read the whole context. "Extra Context" holds the developer's own notes for you and
   takes precedence over the description where they disagree.
3. Follow the git policy the context states: commit, push or open pull requests only
   when it allows you to.

## While you work

- Report your phase so the developer sees it in OpenKit's activity feed:
  `openkit activity phase <phase>` (for example `planning`, `implementing`, `testing`).
- When a todo of the context is done, check it off:
  `openkit activity todo <todo-id>`.
- When you need a decision or input from the developer, say so and wait:
  `openkit activity await-input "<your question>"`.
- Before you finish, run `openkit activity check-flow` and do the post-implementation
  steps the context lists.

These commands find the running OpenKit server and the worktree from the current
directory by themselves; run them from inside the worktree.
"#;

/// How deep a folder or device scan looks for `SKILL.md`.
const SCAN_DEPTH: usize = 5;
/// The time budget of one scan.
const SCAN_BUDGET: Duration = Duration::from_secs(3);
/// The most a skill import copies (files larger are refused).
const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> RegistryError {
    let action = action.into();
    move |e| IoFailure::new(action, e).into()
}

fn read_optional(path: &Path) -> Result<Option<String>, RegistryError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(format!("reading {}", path.display()))(e)),
    }
}

/// Name, display name and description of the skill in `dir` (which has a `SKILL.md`).
fn summarise(name: &str, dir: &Path) -> Option<SkillSummary> {
    let text = std::fs::read_to_string(dir.join("SKILL.md")).ok()?;
    let fm = frontmatter::read(&text);
    let str_of = |k: &str| fm.get(k).and_then(Value::as_str).map(str::to_string);
    Some(SkillSummary {
        name: name.to_string(),
        display_name: str_of("name").unwrap_or_else(|| name.to_string()),
        description: str_of("description").unwrap_or_default(),
        path: dir.to_path_buf(),
    })
}

/// The registry of skills.
#[derive(Debug, Clone)]
pub struct SkillRegistry {
    dir: PathBuf,
    lock: PathBuf,
    roots: Roots,
}

impl SkillRegistry {
    /// Skills in `<global_dir>/skills`, deployed under `roots`.
    pub fn new(global_dir: &Path, roots: Roots) -> Self {
        SkillRegistry {
            dir: global_dir.join("skills"),
            lock: global_dir.join(".skills.lock"),
            roots,
        }
    }

    /// `~/.openkit/skills`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of skill `name`, when `name` is a valid skill name.
    fn skill_dir(&self, name: &str) -> Result<PathBuf, RegistryError> {
        if name.is_empty() || slug(name) != name {
            return Err(RegistryError::SkillNotFound {
                name: name.to_string(),
            });
        }
        Ok(self.dir.join(name))
    }

    fn existing(&self, name: &str) -> Result<PathBuf, RegistryError> {
        let dir = self.skill_dir(name)?;
        if !dir.join("SKILL.md").is_file() {
            return Err(RegistryError::SkillNotFound {
                name: name.to_string(),
            });
        }
        Ok(dir)
    }

    /// Every skill, by name.
    pub fn list(&self) -> Result<Vec<SkillSummary>, RegistryError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("reading {}", self.dir.display()))(e)),
        };
        let mut out: Vec<SkillSummary> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if slug(&name) != name || !e.file_type().ok()?.is_dir() {
                    return None;
                }
                summarise(&name, &e.path())
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One skill with its files.
    pub fn get(&self, name: &str) -> Result<SkillDetail, RegistryError> {
        let dir = self.existing(name)?;
        let skill_md = std::fs::read_to_string(dir.join("SKILL.md"))
            .map_err(io(format!("reading {}", dir.display())))?;
        let summary = summarise(name, &dir).ok_or_else(|| RegistryError::SkillNotFound {
            name: name.to_string(),
        })?;
        Ok(SkillDetail {
            summary,
            frontmatter: frontmatter::read(&skill_md),
            skill_md,
            reference_md: read_optional(&dir.join("reference.md"))?,
            examples_md: read_optional(&dir.join("examples.md"))?,
        })
    }

    /// Creates a skill: `409` when the name is taken.
    pub fn create(&self, new: NewSkill) -> Result<SkillSummary, RegistryError> {
        let name = slug(&new.name);
        if name.is_empty() {
            return Err(RegistryError::invalid(
                "name",
                "is required and must contain a letter or digit",
            ));
        }
        let mut lines = vec![format!(
            "name: {}",
            frontmatter::render(&Value::from(name.as_str()))
        )];
        let mut patch = Map::new();
        for (key, value) in new.frontmatter {
            if key != "name" {
                patch.insert(key, value);
            }
        }
        frontmatter::merge(&mut lines, &patch);
        let body = match new.instructions.filter(|i| !i.trim().is_empty()) {
            Some(body) if body.ends_with('\n') => body,
            Some(body) => format!("{body}\n"),
            None => format!("# {}\n", new.name.trim()),
        };
        let _lock = LockGuard::acquire(&self.lock)?;
        let dir = self.dir.join(&name);
        if dir.exists() {
            return Err(RegistryError::SkillExists { name });
        }
        persist::write_atomic(
            &dir.join("SKILL.md"),
            frontmatter::join(&lines, &body).as_bytes(),
        )?;
        summarise(&name, &dir).ok_or(RegistryError::SkillNotFound { name })
    }

    /// Updates a skill's files (see [`SkillPatch`]).
    pub fn update(&self, name: &str, patch: SkillPatch) -> Result<(), RegistryError> {
        let dir = self.existing(name)?;
        let _lock = LockGuard::acquire(&self.lock)?;
        let skill_file = dir.join("SKILL.md");
        if let Some(skill_md) = patch.skill_md {
            persist::write_atomic(&skill_file, skill_md.as_bytes())?;
        } else if let Some(fm) = patch.frontmatter {
            let text = std::fs::read_to_string(&skill_file)
                .map_err(io(format!("reading {}", skill_file.display())))?;
            persist::write_atomic(&skill_file, frontmatter::merge_into(&text, &fm).as_bytes())?;
        }
        for (file, content) in [
            ("reference.md", patch.reference_md),
            ("examples.md", patch.examples_md),
        ] {
            let path = dir.join(file);
            match content {
                None => {}
                Some(c) if c.is_empty() => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(format!("removing {}", path.display()))(e)),
                },
                Some(c) => persist::write_atomic(&path, c.as_bytes())?,
            }
        }
        Ok(())
    }

    /// Every place (agent × scope) a skill named `name` can be deployed to.
    fn places(&self, name: &str) -> Vec<(Tool, Scope, PathBuf)> {
        let mut out = Vec::new();
        for target in &TARGETS {
            for scope in Scope::ALL {
                if let Ok(dir) = self.roots.skills_dir(target, scope) {
                    out.push((target.tool, scope, dir.join(name)));
                }
            }
        }
        out
    }

    /// Whether `link` is a symbolic link to the registry directory `dir`.
    fn links_to(link: &Path, dir: &Path) -> bool {
        std::fs::read_link(link).is_ok_and(|target| {
            let target = if target.is_relative() {
                link.parent().map(|p| p.join(&target)).unwrap_or(target)
            } else {
                target
            };
            target == dir
                || std::fs::canonicalize(&target).ok() == std::fs::canonicalize(dir).ok()
                    && target.exists()
        })
    }

    /// Deletes a skill and every link to it in the agents' directories.
    pub fn delete(&self, name: &str) -> Result<(), RegistryError> {
        let dir = self.existing(name)?;
        for (_, _, link) in self.places(name) {
            if Self::links_to(&link, &dir) {
                std::fs::remove_file(&link).map_err(io(format!("removing {}", link.display())))?;
            }
        }
        let _lock = LockGuard::acquire(&self.lock)?;
        std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))
    }

    /// Links skill `name` into `tool`'s skills directory of `scope`. A link already there
    /// is kept; anything else in its place is refused (`FOREIGN_DEPLOYMENT`).
    pub fn deploy(&self, name: &str, tool: Tool, scope: Scope) -> Result<PathBuf, RegistryError> {
        let dir = self.existing(name)?;
        let link = self.roots.skills_dir(tool.target(), scope)?.join(name);
        if Self::links_to(&link, &dir) {
            return Ok(link);
        }
        if std::fs::symlink_metadata(&link).is_ok() {
            return Err(RegistryError::ForeignDeployment { path: link });
        }
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        std::os::unix::fs::symlink(&dir, &link)
            .map_err(io(format!("linking {}", link.display())))?;
        Ok(link)
    }

    /// Removes the link of skill `name` from `tool`'s directory of `scope` (a no-op when
    /// it is not there; a directory that is not our link is refused).
    pub fn undeploy(&self, name: &str, tool: Tool, scope: Scope) -> Result<(), RegistryError> {
        let dir = self.skill_dir(name)?;
        let link = self.roots.skills_dir(tool.target(), scope)?.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            return Ok(());
        }
        if !Self::links_to(&link, &dir) {
            return Err(RegistryError::ForeignDeployment { path: link });
        }
        std::fs::remove_file(&link).map_err(io(format!("removing {}", link.display())))
    }

    /// Every skill of the registry and every skill found in an agent's directory, with
    /// where it is deployed (a skill counts as deployed when its name is present there,
    /// as a link or a directory).
    pub fn status(&self) -> Result<BTreeMap<String, SkillStatus>, RegistryError> {
        let mut out: BTreeMap<String, SkillStatus> = BTreeMap::new();
        for skill in self.list()? {
            out.insert(
                skill.name,
                SkillStatus {
                    in_registry: true,
                    agents: BTreeMap::new(),
                },
            );
        }
        for target in &TARGETS {
            for scope in Scope::ALL {
                let Ok(dir) = self.roots.skills_dir(target, scope) else {
                    continue;
                };
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let Ok(name) = entry.file_name().into_string() else {
                        continue;
                    };
                    if !entry.path().join("SKILL.md").is_file() {
                        continue;
                    }
                    let status = out.entry(name).or_insert_with(|| SkillStatus {
                        in_registry: false,
                        agents: BTreeMap::new(),
                    });
                    let place = status.agents.entry(target.tool).or_default();
                    match scope {
                        Scope::Global => place.global = true,
                        Scope::Project => place.project = true,
                    }
                }
            }
        }
        for status in out.values_mut() {
            for tool in Tool::ALL {
                status.agents.entry(tool).or_default();
            }
        }
        Ok(out)
    }

    /// Skill directories found where `mode` looks (links into the registry skipped).
    pub fn scan(
        &self,
        mode: &super::deploy::ScanMode,
    ) -> Result<Vec<DiscoveredSkill>, RegistryError> {
        use super::deploy::ScanMode;
        let mut dirs: Vec<PathBuf> = Vec::new();
        let deadline = Instant::now() + SCAN_BUDGET;
        let list_children = |dir: &Path, dirs: &mut Vec<PathBuf>| {
            if let Ok(entries) = std::fs::read_dir(dir) {
                dirs.extend(entries.flatten().map(|e| e.path()));
            }
        };
        match mode {
            ScanMode::Project => {
                for target in &TARGETS {
                    list_children(&self.roots.project.join(target.skills_project), &mut dirs);
                }
            }
            ScanMode::Folder(root) => find_skill_dirs(root, SCAN_DEPTH, deadline, &mut dirs),
            ScanMode::Device => {
                if let Some(home) = &self.roots.home {
                    for target in &TARGETS {
                        list_children(&home.join(target.skills_global), &mut dirs);
                    }
                    find_skill_dirs(home, SCAN_DEPTH, deadline, &mut dirs);
                }
            }
        }
        let known: Vec<String> = self.list()?.into_iter().map(|s| s.name).collect();
        let registry = std::fs::canonicalize(&self.dir).ok();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for dir in dirs {
            let Ok(real) = std::fs::canonicalize(&dir) else {
                continue;
            };
            if registry.as_ref().is_some_and(|r| real.starts_with(r)) || seen.contains(&real) {
                continue;
            }
            let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(slug) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let Some(summary) = summarise(&name, &dir) else {
                continue;
            };
            seen.push(real);
            out.push(DiscoveredSkill {
                already_in_registry: known.contains(&name),
                name,
                display_name: summary.display_name,
                description: summary.description,
                skill_path: dir,
            });
        }
        Ok(out)
    }

    /// Copies each `(name, directory)` (a directory with a `SKILL.md`) into the registry
    /// under the slug of `name`; names already registered are skipped. Returns the names
    /// imported.
    pub fn import(&self, skills: Vec<(String, PathBuf)>) -> Result<Vec<String>, RegistryError> {
        let mut imported = Vec::new();
        let _lock = LockGuard::acquire(&self.lock)?;
        for (name, source) in skills {
            let name = slug(&name);
            if name.is_empty() {
                return Err(RegistryError::invalid(
                    "name",
                    "must contain a letter or digit",
                ));
            }
            if !source.join("SKILL.md").is_file() {
                return Err(RegistryError::invalid(
                    "skillPath",
                    format!("{} has no SKILL.md", source.display()),
                ));
            }
            let dest = self.dir.join(&name);
            if dest.exists() {
                continue;
            }
            let mut budget = MAX_IMPORT_BYTES;
            copy_tree(&source, &dest, &mut budget)?;
            imported.push(name);
        }
        Ok(imported)
    }
}

/// What `npx skills add` should install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillInstall {
    /// `owner/repo` or a git URL.
    pub repo: String,
    /// One skill of the repository (all when absent).
    pub skill: Option<String>,
    /// The agents to install for.
    pub agents: Vec<Tool>,
    /// Where.
    pub scope: Scope,
}

impl SkillInstall {
    /// Checks the repository and skill name can be passed to `npx skills add` as plain
    /// arguments (no option injection).
    pub fn check(&self) -> Result<(), RegistryError> {
        if !plain_argument(&self.repo) {
            return Err(RegistryError::invalid(
                "repo",
                "must be owner/repo or a git URL",
            ));
        }
        if self.skill.as_deref().is_some_and(|s| !plain_argument(s)) {
            return Err(RegistryError::invalid("skill", "is not a skill name"));
        }
        Ok(())
    }
}

/// Whether `value` is safe to pass as one argument of `npx skills add` (no option
/// injection, no shell or path tricks).
fn plain_argument(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 512
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:@-#".contains(c))
}

/// `npx` on `search_path`, if there is one.
pub fn find_npx(search_path: &[PathBuf]) -> Option<PathBuf> {
    crate::open_targets::find_executable("npx", search_path)
}

impl SkillRegistry {
    /// Writes the default skills ([`WORK_ON_TASK`]) into the registry when missing; a
    /// skill the user changed is left as it is.
    pub fn ensure_defaults(&self) -> Result<(), RegistryError> {
        let _lock = LockGuard::acquire(&self.lock)?;
        let file = self.dir.join(WORK_ON_TASK).join("SKILL.md");
        if !file.exists() {
            persist::write_atomic(&file, WORK_ON_TASK_SKILL_MD.as_bytes())?;
        }
        Ok(())
    }

    /// Enables the default project skills: writes them into the registry when missing
    /// and links them into every agent's project skills directory. Best-effort: what
    /// could not be linked (something of the user's in the way, a read-only directory)
    /// is returned, never raised.
    pub fn enable_default_project_skills(&self) -> Vec<(Tool, RegistryError)> {
        if let Err(e) = self.ensure_defaults() {
            return vec![(Tool::Claude, e)];
        }
        Tool::ALL
            .into_iter()
            .filter_map(|tool| {
                self.deploy(WORK_ON_TASK, tool, Scope::Project)
                    .err()
                    .map(|e| (tool, e))
            })
            .collect()
    }

    /// The skill names present in the skills directories of `agents` in `scope`.
    fn installed_names(&self, agents: &[Tool], scope: Scope) -> Vec<String> {
        let mut names = Vec::new();
        for tool in agents {
            let Ok(dir) = self.roots.skills_dir(tool.target(), scope) else {
                continue;
            };
            if let Ok(entries) = std::fs::read_dir(dir) {
                names.extend(
                    entries
                        .flatten()
                        .filter(|e| e.path().join("SKILL.md").is_file())
                        .filter_map(|e| e.file_name().into_string().ok()),
                );
            }
        }
        names.sort();
        names.dedup();
        names
    }

    /// Runs `npx -y skills add <repo> [--skill <s>] -a <agent>... [-g] -y` in the project
    /// through `runner` (long budget; the ops log records it) and returns the skill names
    /// that appeared in the agents' skills directories.
    pub async fn install(
        &self,
        runner: &crate::command::CommandRunner,
        npx: &Path,
        request: SkillInstall,
    ) -> Result<Vec<String>, RegistryError> {
        if !plain_argument(&request.repo) {
            return Err(RegistryError::invalid(
                "repo",
                "must be owner/repo or a git URL",
            ));
        }
        if request.skill.as_deref().is_some_and(|s| !plain_argument(s)) {
            return Err(RegistryError::invalid("skill", "is not a skill name"));
        }
        let agents = if request.agents.is_empty() {
            vec![Tool::Claude]
        } else {
            request.agents.clone()
        };
        let before = self.installed_names(&agents, request.scope);
        let mut spec = crate::command::CommandSpec::new(npx.as_os_str(), &self.roots.project)
            .args(["-y", "skills", "add", request.repo.as_str()])
            .budget(crate::command::Budget::Long);
        if let Some(skill) = &request.skill {
            spec = spec.args(["--skill", skill.as_str()]);
        }
        for tool in &agents {
            spec = spec.args(["-a", tool.target().skills_cli_agent]);
        }
        if request.scope == Scope::Global {
            spec = spec.arg("-g");
        }
        let output = runner.run(spec.arg("-y")).await?;
        if !output.success() {
            let text = format!("{}{}", output.stdout_text(), output.stderr_text());
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            return Err(RegistryError::InstallFailed { output: tail });
        }
        let after = self.installed_names(&agents, request.scope);
        Ok(after.into_iter().filter(|n| !before.contains(n)).collect())
    }
}

/// Copies regular files and directories of `from` into `to` (symbolic links are not
/// followed), spending at most `budget` bytes.
fn copy_tree(from: &Path, to: &Path, budget: &mut u64) -> Result<(), RegistryError> {
    std::fs::create_dir_all(to).map_err(io(format!("creating {}", to.display())))?;
    let entries = std::fs::read_dir(from).map_err(io(format!("reading {}", from.display())))?;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest, budget)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if size > *budget {
                return Err(RegistryError::invalid(
                    "skillPath",
                    "the skill is too large to import",
                ));
            }
            *budget -= size;
            std::fs::copy(entry.path(), &dest)
                .map_err(io(format!("copying {}", dest.display())))?;
        }
    }
    Ok(())
}

/// Collects directories holding a `SKILL.md` under `dir` (hidden agent directories such
/// as `.claude` are entered, other hidden and build directories are not).
fn find_skill_dirs(dir: &Path, depth: usize, deadline: Instant, out: &mut Vec<PathBuf>) {
    if Instant::now() > deadline {
        return;
    }
    if dir.join("SKILL.md").is_file() {
        out.push(dir.to_path_buf());
        return;
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
        let agent_dir = [
            ".claude", ".codex", ".cursor", ".gemini", ".github", ".copilot", ".agents",
        ]
        .contains(&name.as_ref());
        if !kind.is_dir()
            || (name.starts_with('.') && !agent_dir)
            || ["node_modules", "target", "vendor", ".openkit"].contains(&name.as_ref())
        {
            continue;
        }
        find_skill_dirs(&entry.path(), depth - 1, deadline, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry() -> (tempfile::TempDir, SkillRegistry) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots {
            home: Some(dir.path().join("home")),
            project: dir.path().join("project"),
        };
        let reg = SkillRegistry::new(&dir.path().join("home/.openkit"), roots);
        (dir, reg)
    }

    #[test]
    fn create_get_update_and_delete() {
        let (_dir, reg) = registry();
        let created = reg
            .create(NewSkill {
                name: "My Skill".into(),
                frontmatter: vec![
                    ("description".into(), json!("What it does")),
                    ("allowed-tools".into(), json!("Bash, Read")),
                ],
                instructions: Some("Do it.".into()),
            })
            .unwrap();
        assert_eq!(created.name, "my-skill");
        assert_eq!(created.description, "What it does");
        assert!(matches!(
            reg.create(NewSkill {
                name: "my skill".into(),
                ..NewSkill::default()
            }),
            Err(RegistryError::SkillExists { .. })
        ));
        let detail = reg.get("my-skill").unwrap();
        assert_eq!(
            detail.skill_md,
            "---\nname: my-skill\ndescription: What it does\nallowed-tools: Bash, Read\n---\nDo it.\n"
        );
        reg.update(
            "my-skill",
            SkillPatch {
                frontmatter: Some(
                    json!({"description": "updated"})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
                reference_md: Some("# Ref\n".into()),
                ..SkillPatch::default()
            },
        )
        .unwrap();
        let detail = reg.get("my-skill").unwrap();
        assert_eq!(detail.frontmatter["description"], "updated");
        assert_eq!(detail.reference_md.as_deref(), Some("# Ref\n"));
        reg.update(
            "my-skill",
            SkillPatch {
                reference_md: Some(String::new()),
                ..SkillPatch::default()
            },
        )
        .unwrap();
        assert_eq!(reg.get("my-skill").unwrap().reference_md, None);
        assert!(matches!(
            reg.get("../etc"),
            Err(RegistryError::SkillNotFound { .. })
        ));
        reg.delete("my-skill").unwrap();
        assert!(reg.list().unwrap().is_empty());
    }

    #[test]
    fn deploy_links_undeploy_unlinks_and_foreign_dirs_are_left_alone() {
        let (dir, reg) = registry();
        reg.create(NewSkill {
            name: "s".into(),
            ..NewSkill::default()
        })
        .unwrap();
        let link = reg.deploy("s", Tool::Claude, Scope::Project).unwrap();
        assert_eq!(link, dir.path().join("project/.claude/skills/s"));
        assert!(link.join("SKILL.md").is_file());
        reg.deploy("s", Tool::Claude, Scope::Project).unwrap();
        reg.deploy("s", Tool::Vscode, Scope::Global).unwrap();
        let status = reg.status().unwrap();
        assert_eq!(
            status["s"].agents[&Tool::Claude],
            AgentPlacement {
                global: false,
                project: true
            }
        );
        assert_eq!(
            status["s"].agents[&Tool::Vscode],
            AgentPlacement {
                global: true,
                project: false
            }
        );

        // A skill of the user's own in an agent directory is listed, never touched.
        let own = dir.path().join("project/.cursor/skills/mine");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(own.join("SKILL.md"), "---\nname: mine\n---\n").unwrap();
        let status = reg.status().unwrap();
        assert!(!status["mine"].in_registry);
        std::fs::create_dir_all(dir.path().join("project/.cursor/skills/s")).unwrap();
        assert!(matches!(
            reg.deploy("s", Tool::Cursor, Scope::Project),
            Err(RegistryError::ForeignDeployment { .. })
        ));
        assert!(matches!(
            reg.undeploy("s", Tool::Cursor, Scope::Project),
            Err(RegistryError::ForeignDeployment { .. })
        ));

        reg.undeploy("s", Tool::Claude, Scope::Project).unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err());
        reg.delete("s").unwrap();
        assert!(std::fs::symlink_metadata(dir.path().join("home/.copilot/skills/s")).is_err());
        assert!(
            dir.path().join("project/.cursor/skills/s").is_dir(),
            "foreign dir kept"
        );
    }

    #[test]
    fn scan_and_import_copy_skills_in() {
        let (dir, reg) = registry();
        let found = dir.path().join("elsewhere/repo/.claude/skills/lint");
        std::fs::create_dir_all(found.join("scripts")).unwrap();
        std::fs::write(
            found.join("SKILL.md"),
            "---\nname: lint\ndescription: Lints\n---\nRun it.\n",
        )
        .unwrap();
        std::fs::write(found.join("scripts/run.sh"), "echo hi\n").unwrap();
        let mode = super::super::deploy::ScanMode::Folder(dir.path().join("elsewhere"));
        let scanned = reg.scan(&mode).unwrap();
        assert_eq!(scanned.len(), 1);
        assert_eq!(scanned[0].description, "Lints");
        assert!(!scanned[0].already_in_registry);
        let imported = reg.import(vec![("lint".into(), found.clone())]).unwrap();
        assert_eq!(imported, vec!["lint"]);
        assert!(reg.dir().join("lint/scripts/run.sh").is_file());
        assert!(reg.scan(&mode).unwrap()[0].already_in_registry);
        assert!(reg.import(vec![("lint".into(), found)]).unwrap().is_empty());
    }
}
