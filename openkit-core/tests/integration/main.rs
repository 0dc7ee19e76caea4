//! Integration tests of openkit-core against real git repositories in temporary
//! directories (hermetic `HOME`, no global git config, fixed dates).
//!
//! One binary for the whole crate keeps link time low; each area has its own module.
//! Every wait is bounded by [`within`].

mod backbone;
mod command;
mod config;
mod devserver;
mod git_ops;
mod hooks;
mod install;
mod issues;
mod lifecycle;
mod live_status;
mod registry;
mod status;
mod trackers;
mod worktrees;

use std::fmt::Debug;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openkit_core::testing::TestRepo;
use openkit_core::{CreateWorktree, Created, DomainError, Workbench, WorktreeError, WorktreeInfo};

/// Upper bound for any single awaited operation.
pub const WAIT: Duration = Duration::from_secs(60);

/// Awaits `fut`, failing the test if it takes longer than [`WAIT`].
pub async fn within<F: IntoFuture>(fut: F) -> F::Output {
    tokio::time::timeout(WAIT, fut.into_future())
        .await
        .expect("operation timed out")
}

/// A workbench over `repo` using its hermetic git environment.
pub fn workbench(repo: &TestRepo) -> Arc<Workbench> {
    repo.composition().build().expect("building the workbench")
}

/// A create request.
pub fn request(branch: &str, id: Option<&str>) -> CreateWorktree {
    CreateWorktree {
        branch: branch.into(),
        id: id.map(str::to_string),
        name: None,
    }
}

/// Starts a creation, panicking on failure.
pub async fn start_create(wb: &Arc<Workbench>, req: CreateWorktree) -> Created {
    let branch = req.branch.clone();
    within(wb.create_worktree(req)).await.unwrap_or_else(|e| {
        panic!(
            "creating a worktree for {branch} failed: {e} ({})",
            e.code()
        )
    })
}

/// Creates a worktree and waits until its creation settled; returns it as listed then.
pub async fn create(wb: &Arc<Workbench>, branch: &str, id: Option<&str>) -> WorktreeInfo {
    let created = start_create(wb, request(branch, id)).await;
    if let Some(settled) = created.settled {
        within(settled)
            .await
            .expect("install task panicked")
            .expect("install succeeded");
    }
    within(wb.worktree(&created.worktree.id))
        .await
        .expect("created worktree is listed")
}

/// The error of a create request that must fail before returning.
pub async fn create_err(wb: &Arc<Workbench>, req: CreateWorktree) -> WorktreeError {
    match within(wb.create_worktree(req)).await {
        Ok(created) => panic!("expected an error, created {:?}", created.worktree),
        Err(e) => e,
    }
}

/// The stable code of an expected error.
pub fn code<T: Debug, E: DomainError>(result: Result<T, E>) -> &'static str {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.code(),
    }
}

/// The current worktree list.
pub async fn list(wb: &Workbench) -> Vec<WorktreeInfo> {
    within(wb.list_worktrees())
        .await
        .expect("listing worktrees")
}

/// The ids of a list, in order.
pub fn ids(list: &[WorktreeInfo]) -> Vec<String> {
    list.iter().map(|w| w.id.clone()).collect()
}

/// The listed worktree with exactly this id.
pub async fn listed(wb: &Workbench, id: &str) -> Option<WorktreeInfo> {
    list(wb).await.into_iter().find(|w| w.id == id)
}

/// `<root>/.openkit/worktrees/<id>`.
pub fn wt_dir(repo: &TestRepo, id: &str) -> PathBuf {
    repo.root().join(".openkit/worktrees").join(id)
}

/// Entries of `.openkit/worktrees` (sorted names).
pub fn worktree_dirs(repo: &TestRepo) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo.root().join(".openkit/worktrees"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `git rev-parse <rev>` in `dir`.
pub fn rev(repo: &TestRepo, dir: &Path, rev: &str) -> String {
    repo.git_in(dir, ["rev-parse", "--verify", rev])
        .trim()
        .to_string()
}

/// True when the local branch exists in the main repository.
pub fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    !repo.git(["branch", "--list", branch]).trim().is_empty()
}

/// An empty commit in `dir`; returns the new HEAD.
pub fn commit_in(repo: &TestRepo, dir: &Path, message: &str) -> String {
    repo.git_in(dir, ["commit", "-q", "--allow-empty", "-m", message]);
    rev(repo, dir, "HEAD")
}

/// Writes `.openkit/config.json` in the project root.
pub fn write_config(repo: &TestRepo, config: serde_json::Value) {
    repo.write(
        ".openkit/config.json",
        &serde_json::to_string_pretty(&config).expect("serialising config"),
    );
}

/// Writes `.openkit/issues/<source>/<id>/notes.json` linking the issue to `worktree`.
pub fn write_notes(repo: &TestRepo, source: &str, issue: &str, worktree: &str) -> PathBuf {
    let rel = format!(".openkit/issues/{source}/{issue}/notes.json");
    repo.write(
        &rel,
        &serde_json::json!({"linkedWorktreeId": worktree, "personal": null, "aiContext": null, "todos": []})
            .to_string(),
    );
    repo.root().join(rel)
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("reading JSON file"))
        .expect("parsing JSON file")
}
