//! The tree hash of a checkout: the id of the git tree `git add -A` would stage now
//! (tracked files with their working-tree content, untracked files that are not
//! ignored, deletions applied), without touching the checkout's index file.
//!
//! Computed in process with libgit2 on a copy of the index held in memory: the index
//! file is never written, so nothing the user staged changes. Blobs and trees are written
//! to the object database, as `git add` would (unreferenced objects that `git gc`
//! removes). The hooks' own results file is left out, so recording a result does not
//! change the hash.

use std::path::Path;

use git2::{IndexAddOption, Repository};

use super::run::RUN_FILE;

/// The tree hash of the checkout at `checkout`; `None` when it is not a git checkout or
/// libgit2 fails (the result cache is then skipped, never wrong).
pub fn tree_hash(checkout: &Path) -> Option<String> {
    match compute(checkout) {
        Ok(hash) => Some(hash),
        Err(e) => {
            tracing::warn!("tree hash of {}: {e}", checkout.display());
            None
        }
    }
}

fn compute(checkout: &Path) -> Result<String, git2::Error> {
    let repo = Repository::open(checkout)?;
    let mut index = repo.index()?;
    let own = Path::new(".openkit").join(RUN_FILE);
    // The results file and the temp files of its atomic writes.
    let mut skip_own = |path: &Path, _: &[u8]| -> i32 {
        let temp = path.parent() == Some(Path::new(".openkit"))
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".openkit-tmp-"));
        i32::from(path == own || temp)
    };
    index.add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip_own))?;
    index.update_all(["*"], Some(&mut skip_own))?;
    if index.get_path(&own, 0).is_some() {
        index.remove_path(&own)?;
    }
    // Never `index.write()`: the checkout's staged state stays as the user left it.
    Ok(index.write_tree()?.to_string())
}

/// The line that keeps the results file out of `git add -A` (and so out of commits).
const EXCLUDE_LINE: &str = "/.openkit/hooks-run.json";

/// Makes git ignore the results file of every checkout of the repository of `checkout`:
/// adds one line to `<common git dir>/info/exclude` (local to the clone, never
/// committed) when it is not there. A checkout that is not a git repository is left
/// alone; failures are logged, never fatal.
pub fn exclude_results(checkout: &Path) {
    let Ok(repo) = Repository::open(checkout) else {
        return;
    };
    let file = repo.commondir().join("info").join("exclude");
    let current = std::fs::read_to_string(&file).unwrap_or_default();
    if current.lines().any(|l| l.trim() == EXCLUDE_LINE) {
        return;
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# OpenKit hook results (see .openkit/hooks.json)\n");
    text.push_str(EXCLUDE_LINE);
    text.push('\n');
    if let Err(e) = crate::persist::write_atomic(&file, text.as_bytes()) {
        tracing::warn!(
            "could not exclude the hook results in {}: {e}",
            file.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn the_hash_follows_tracked_and_untracked_content_but_not_ignored_files_or_results() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        std::fs::write(d.join("a.txt"), "one\n").unwrap();
        std::fs::write(d.join(".gitignore"), "build/\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "init"]);
        let index_before = std::fs::read(d.join(".git/index")).unwrap();
        let clean = tree_hash(d).unwrap();

        std::fs::write(d.join("a.txt"), "two\n").unwrap();
        let edited = tree_hash(d).unwrap();
        assert_ne!(clean, edited, "a tracked edit changes it");
        std::fs::write(d.join("a.txt"), "one\n").unwrap();
        assert_eq!(tree_hash(d).unwrap(), clean, "back to the same content");

        std::fs::write(d.join("new.txt"), "x").unwrap();
        let untracked = tree_hash(d).unwrap();
        assert_ne!(untracked, clean, "an untracked file counts");
        std::fs::remove_file(d.join("new.txt")).unwrap();

        std::fs::create_dir_all(d.join("build")).unwrap();
        std::fs::write(d.join("build/out"), "x").unwrap();
        std::fs::create_dir_all(d.join(".openkit")).unwrap();
        std::fs::write(d.join(".openkit").join(RUN_FILE), "{}").unwrap();
        assert_eq!(
            tree_hash(d).unwrap(),
            clean,
            "ignored files and results do not"
        );

        std::fs::remove_file(d.join("a.txt")).unwrap();
        assert_ne!(tree_hash(d).unwrap(), clean, "a deletion counts");
        assert_eq!(
            std::fs::read(d.join(".git/index")).unwrap(),
            index_before,
            "the index file is never written"
        );
        assert_eq!(tree_hash(&d.join("nowhere")), None);
    }

    #[test]
    fn the_results_file_is_excluded_from_git_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        std::fs::create_dir_all(d.join(".openkit")).unwrap();
        std::fs::write(d.join(".openkit").join(RUN_FILE), "{}").unwrap();
        exclude_results(d);
        exclude_results(d);
        let exclude = std::fs::read_to_string(d.join(".git/info/exclude")).unwrap();
        assert_eq!(exclude.matches(EXCLUDE_LINE).count(), 1, "{exclude}");
        let status = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all"])
            .current_dir(d)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&status.stdout), "");
        exclude_results(&d.join("nowhere"));
    }
}
