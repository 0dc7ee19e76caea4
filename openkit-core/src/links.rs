//! Links between issues and worktrees, stored as `linkedWorktreeId` in each issue's
//! `.openkit/issues/<source>/<id>/notes.json`, plus the per-worktree settings file.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use crate::error::IoFailure;
use crate::paths::Paths;
use crate::persist;

/// Every `notes.json` under `.openkit/issues/*/*/`.
fn notes_files(paths: &Paths) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(sources) = fs::read_dir(paths.issues_dir()) else {
        return out;
    };
    for source in sources.flatten().filter(|e| e.path().is_dir()) {
        let Ok(issues) = fs::read_dir(source.path()) else {
            continue;
        };
        for issue in issues.flatten() {
            let notes = issue.path().join("notes.json");
            if notes.is_file() {
                out.push(notes);
            }
        }
    }
    out
}

/// Points every issue linked to `from` at `to` (`None` clears the link). Returns how many
/// notes files changed. Files that do not parse are left alone.
pub fn relink_worktree(paths: &Paths, from: &str, to: Option<&str>) -> Result<usize, IoFailure> {
    let mut changed = 0;
    for file in notes_files(paths) {
        let Ok(Some(mut notes)) = persist::read_json_object(&file) else {
            continue;
        };
        if notes.get("linkedWorktreeId").and_then(Value::as_str) != Some(from) {
            continue;
        }
        notes.insert(
            "linkedWorktreeId".into(),
            to.map_or(Value::Null, |t| Value::String(t.to_string())),
        );
        persist::write_json(&file, &Value::Object(notes))?;
        changed += 1;
    }
    Ok(changed)
}

/// Renames (`to = Some`) or drops (`to = None`) the entry of `from` in
/// `.openkit/worktree-settings.json`.
pub fn move_worktree_settings(
    paths: &Paths,
    from: &str,
    to: Option<&str>,
) -> Result<(), IoFailure> {
    let file = paths.worktree_settings_file();
    let Ok(Some(mut settings)) = persist::read_json_object(&file) else {
        return Ok(());
    };
    let Some(entry) = settings.remove(from) else {
        return Ok(());
    };
    if let Some(to) = to {
        settings.insert(to.to_string(), entry);
    }
    persist::write_json(&file, &Value::Object(settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relink_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        let a = paths.issues_dir().join("local/LOCAL-1/notes.json");
        let b = paths.issues_dir().join("jira/PRJ-2/notes.json");
        let corrupt = paths.issues_dir().join("jira/PRJ-3/notes.json");
        persist::write_json(&a, &json!({"linkedWorktreeId": "wt", "todos": []})).unwrap();
        persist::write_json(&b, &json!({"linkedWorktreeId": "other"})).unwrap();
        fs::create_dir_all(corrupt.parent().unwrap()).unwrap();
        fs::write(&corrupt, "{oops").unwrap();
        assert_eq!(relink_worktree(&paths, "wt", Some("wt2")).unwrap(), 1);
        assert_eq!(
            persist::read_json_object(&a).unwrap().unwrap()["linkedWorktreeId"],
            json!("wt2")
        );
        assert_eq!(relink_worktree(&paths, "wt2", None).unwrap(), 1);
        assert_eq!(
            persist::read_json_object(&a).unwrap().unwrap()["linkedWorktreeId"],
            Value::Null
        );
        assert_eq!(fs::read_to_string(&corrupt).unwrap(), "{oops");
    }

    #[test]
    fn settings_follow_the_worktree() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        persist::write_json(
            &paths.worktree_settings_file(),
            &json!({"a": {"autoCleanupOnMerge": true}}),
        )
        .unwrap();
        move_worktree_settings(&paths, "a", Some("b")).unwrap();
        let s = persist::read_json_object(&paths.worktree_settings_file())
            .unwrap()
            .unwrap();
        assert_eq!(s["b"], json!({"autoCleanupOnMerge": true}));
        move_worktree_settings(&paths, "b", None).unwrap();
        assert!(
            persist::read_json_object(&paths.worktree_settings_file())
                .unwrap()
                .unwrap()
                .is_empty()
        );
    }
}
