//! Tracker issue data saved on disk: `.openkit/issues/<source>/<id>/issue.json` and its
//! `attachments/`, for every tracker (Jira, Linear, Kiket, Kizuna, ...).
//!
//! A tracker decides *when* to save (its [`crate::integrations::SaveOn`]); this module
//! writes atomically, names attachment files safely, and removes saved data by the
//! tracker's [`AutoCleanup`] rule. Cleanup removes `issue.json` and `attachments/` only
//! (notes are the developer's and stay), and never touches an issue linked to a worktree.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::{IssueRef, SourceId};
use crate::error::IoFailure;
use crate::integrations::AutoCleanup;
use crate::paths::Paths;
use crate::persist;

/// The longest attachment file name kept (bytes).
const MAX_FILE_NAME: usize = 120;

/// Saved issue data of a project.
#[derive(Debug, Clone)]
pub struct SavedIssues {
    paths: Paths,
}

impl SavedIssues {
    /// The saved issues of the project at `paths`.
    pub fn new(paths: Paths) -> Self {
        SavedIssues { paths }
    }

    /// Writes `issue.json` of `issue` (atomically); returns its path.
    pub fn save<T: Serialize + ?Sized>(
        &self,
        issue: &IssueRef,
        data: &T,
    ) -> Result<PathBuf, IoFailure> {
        let path = issue.dir(&self.paths).join("issue.json");
        persist::write_json(&path, data)?;
        Ok(path)
    }

    /// The saved `issue.json` of `issue`, if any and readable.
    pub fn load(&self, issue: &IssueRef) -> Option<Value> {
        persist::read_json::<Value>(&issue.dir(&self.paths).join("issue.json"))
            .ok()
            .flatten()
    }

    /// Where attachment `filename` of `issue` is saved: `attachments/<safe name>`.
    pub fn attachment_path(&self, issue: &IssueRef, filename: &str) -> PathBuf {
        issue
            .dir(&self.paths)
            .join("attachments")
            .join(safe_file_name(filename))
    }

    /// Whether attachment `filename` is saved with exactly `size` bytes (so it need not
    /// be downloaded again).
    pub fn has_attachment(&self, issue: &IssueRef, filename: &str, size: Option<u64>) -> bool {
        std::fs::metadata(self.attachment_path(issue, filename))
            .is_ok_and(|m| m.is_file() && size.is_none_or(|s| s == m.len()))
    }

    /// Saves attachment `filename` of `issue` (atomically, replacing an older copy).
    pub fn save_attachment(
        &self,
        issue: &IssueRef,
        filename: &str,
        bytes: &[u8],
    ) -> Result<PathBuf, IoFailure> {
        let path = self.attachment_path(issue, filename);
        persist::write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Removes the saved data of `source`'s issues that `rule` says are done with:
    /// a saved status among `rule.statuses` (case-insensitive), `issue.json` older
    /// than `rule.after_days`, or (`on_worktree_removed`) notes that no longer link a
    /// worktree. Issues linked to a worktree are kept whatever the rule.
    /// Returns the issues cleaned. Nothing happens when the rule is disabled.
    pub fn cleanup(&self, source: &SourceId, rule: &AutoCleanup) -> Vec<IssueRef> {
        self.cleanup_at(source, rule, SystemTime::now())
    }

    fn cleanup_at(&self, source: &SourceId, rule: &AutoCleanup, now: SystemTime) -> Vec<IssueRef> {
        if !rule.enabled {
            return Vec::new();
        }
        let dir = self.paths.issues_dir().join(source.as_str());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut cleaned = Vec::new();
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(issue) = IssueRef::parse(source.as_str(), &name) else {
                continue;
            };
            let issue_dir = issue.dir(&self.paths);
            let issue_file = issue_dir.join("issue.json");
            if !issue_file.is_file() || is_linked(&issue_dir) {
                continue;
            }
            let status_done = saved_status(&issue_file).is_some_and(|status| {
                rule.statuses
                    .iter()
                    .any(|s| s.trim().eq_ignore_ascii_case(status.trim()))
            });
            let too_old = rule.after_days.is_some_and(|days| {
                std::fs::metadata(&issue_file)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| now.duration_since(modified).ok())
                    .is_some_and(|age| age >= Duration::from_secs(u64::from(days) * 86_400))
            });
            // The link is cleared from the notes when the worktree is deleted: notes
            // without a link mean the worktree is gone (or was never made, for notes
            // written on an unlinked issue, whose saved data is a cache all the same).
            let worktree_removed =
                rule.on_worktree_removed && issue_dir.join("notes.json").is_file();
            if status_done || too_old || worktree_removed {
                remove_data(&issue_dir);
                cleaned.push(issue);
            }
        }
        cleaned.sort();
        cleaned
    }
}

/// Whether the notes of the issue in `dir` link a worktree.
fn is_linked(dir: &Path) -> bool {
    persist::read_json::<Value>(&dir.join("notes.json"))
        .ok()
        .flatten()
        .is_some_and(|notes| {
            notes
                .get("linkedWorktreeId")
                .and_then(Value::as_str)
                .is_some_and(|id| !id.is_empty())
        })
}

/// `status` of a saved `issue.json`: a string or an object's `name`.
fn saved_status(file: &Path) -> Option<String> {
    let value = persist::read_json::<Value>(file).ok().flatten()?;
    match &value["status"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
        _ => value["state"]["name"].as_str().map(str::to_string),
    }
}

fn remove_data(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("issue.json"));
    let _ = std::fs::remove_dir_all(dir.join("attachments"));
    // The directory goes too when nothing else (notes) is left.
    let _ = std::fs::remove_dir(dir);
}

/// A tracker's attachment name made one safe file name: its last path component, with
/// control characters and separators replaced, no leading dot, bounded in length.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = out.trim_start_matches(['.', ' ']).trim_end().to_string();
    out = trimmed;
    while out.len() > MAX_FILE_NAME {
        out.pop();
    }
    if out.is_empty() {
        "attachment".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn saved() -> (tempfile::TempDir, SavedIssues, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("global"));
        (dir, SavedIssues::new(paths.clone()), paths)
    }

    #[test]
    fn file_names_are_one_safe_component() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("a\\b\\..\\c.png"), "c.png");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(".."), "attachment");
        assert_eq!(safe_file_name("a\0b:c.txt"), "a_b_c.txt");
        assert!(safe_file_name(&"é".repeat(200)).len() <= MAX_FILE_NAME);
    }

    #[test]
    fn saves_and_cleans_by_status_and_age_but_never_linked_issues() {
        let (_dir, saved, paths) = saved();
        let jira = SourceId::new("jira").unwrap();
        let done = IssueRef::parse("jira", "P-1").unwrap();
        let open = IssueRef::parse("jira", "P-2").unwrap();
        let linked = IssueRef::parse("jira", "P-3").unwrap();
        saved
            .save(&done, &json!({"status": {"name": "Done"}}))
            .unwrap();
        saved.save_attachment(&done, "shot.png", b"png").unwrap();
        assert!(saved.has_attachment(&done, "shot.png", Some(3)));
        assert!(!saved.has_attachment(&done, "shot.png", Some(4)));
        saved
            .save(&open, &json!({"status": "In Progress"}))
            .unwrap();
        saved.save(&linked, &json!({"status": "done"})).unwrap();
        persist::write_json(
            &linked.dir(&paths).join("notes.json"),
            &json!({"linkedWorktreeId": "P-3"}),
        )
        .unwrap();
        let mut rule = AutoCleanup {
            enabled: false,
            statuses: vec!["DONE".into()],
            after_days: None,
            on_worktree_removed: false,
        };
        assert!(saved.cleanup(&jira, &rule).is_empty());
        rule.enabled = true;
        assert_eq!(saved.cleanup(&jira, &rule), vec![done.clone()]);
        assert!(!done.dir(&paths).exists());
        assert!(saved.load(&open).is_some() && saved.load(&linked).is_some());
        // By age: a day later everything unlinked is old enough.
        rule.statuses.clear();
        rule.after_days = Some(1);
        let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
        assert_eq!(saved.cleanup_at(&jira, &rule, later), vec![open]);
        assert!(saved.load(&linked).is_some());
        // Notes stay when the data goes.
        assert!(linked.dir(&paths).join("notes.json").exists());
        // Once the worktree is deleted (the link cleared), `onWorktreeRemoved` cleans.
        rule.after_days = None;
        rule.on_worktree_removed = true;
        assert!(saved.cleanup(&jira, &rule).is_empty());
        persist::write_json(
            &linked.dir(&paths).join("notes.json"),
            &json!({"linkedWorktreeId": null, "personal": {"content": "mine", "updatedAt": "x"}}),
        )
        .unwrap();
        assert_eq!(saved.cleanup(&jira, &rule), vec![linked.clone()]);
        assert!(saved.load(&linked).is_none());
        assert!(linked.dir(&paths).join("notes.json").exists());
    }
}
