//! Project-level agent instruction files (`CLAUDE.md`, `AGENTS.md`) at the project root.

use std::path::PathBuf;

use crate::error::IoFailure;
use crate::paths::Paths;
use crate::persist;

/// An agent rule file OpenKit manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRuleFile {
    /// `CLAUDE.md`.
    ClaudeMd,
    /// `AGENTS.md`.
    AgentsMd,
}

impl AgentRuleFile {
    /// Parses an API file id (`claude-md`, `agents-md`).
    pub fn from_id(id: &str) -> Option<Self> {
        match id {
            "claude-md" => Some(AgentRuleFile::ClaudeMd),
            "agents-md" => Some(AgentRuleFile::AgentsMd),
            _ => None,
        }
    }

    /// The file name at the project root.
    pub fn file_name(self) -> &'static str {
        match self {
            AgentRuleFile::ClaudeMd => "CLAUDE.md",
            AgentRuleFile::AgentsMd => "AGENTS.md",
        }
    }

    fn path(self, paths: &Paths) -> PathBuf {
        paths.project_root().join(self.file_name())
    }

    /// The file's content, `None` when it does not exist.
    pub fn read(self, paths: &Paths) -> Result<Option<String>, IoFailure> {
        let path = self.path(paths);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(IoFailure::new(format!("reading {}", path.display()), e)),
        }
    }

    /// Writes the file atomically.
    pub fn write(self, paths: &Paths, content: &str) -> Result<(), IoFailure> {
        persist::write_atomic(&self.path(paths), content.as_bytes())
    }

    /// Deletes the file; deleting a missing file succeeds.
    pub fn delete(self, paths: &Paths) -> Result<(), IoFailure> {
        let path = self.path(paths);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(IoFailure::new(format!("deleting {}", path.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        let f = AgentRuleFile::from_id("agents-md").unwrap();
        assert_eq!(f.read(&paths).unwrap(), None);
        f.write(&paths, "# rules\n").unwrap();
        assert_eq!(f.read(&paths).unwrap().as_deref(), Some("# rules\n"));
        assert!(dir.path().join("AGENTS.md").is_file());
        f.delete(&paths).unwrap();
        f.delete(&paths).unwrap();
        assert_eq!(f.read(&paths).unwrap(), None);
        assert!(AgentRuleFile::from_id("../etc").is_none());
    }
}
