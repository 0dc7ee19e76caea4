//! The install step of a creation: `creating` status, success, failure and cleanup.

use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, RecoverAction, RenameWorktree, WorktreeStatus};

use crate::*;

/// Waits for the background install of `created` and returns its result.
async fn settle(created: openkit_core::Created) -> Result<(), openkit_core::WorktreeError> {
    let settled = created.settled.expect("an install was started");
    within(settled).await.expect("install task panicked")
}

#[tokio::test]
async fn install_runs_in_the_background_then_the_worktree_is_stopped() {
    let repo = TestRepo::new();
    write_config(
        &repo,
        serde_json::json!({"installCommand": "echo ok > installed.txt"}),
    );
    let wb = workbench(&repo);
    let created = start_create(&wb, request("feature/install", None)).await;
    assert_eq!(created.worktree.id, "install");
    assert_eq!(created.worktree.status, WorktreeStatus::Creating);
    settle(created).await.expect("install succeeds");

    let wt = listed(&wb, "install").await.expect("listed");
    assert_eq!(wt.status, WorktreeStatus::Stopped);
    assert_eq!(
        std::fs::read_to_string(wt_dir(&repo, "install").join("installed.txt")).unwrap(),
        "ok\n",
        "the install ran in the worktree"
    );
    assert!(!repo.root().join("installed.txt").exists());
}

#[tokio::test]
async fn no_install_without_auto_install_or_command() {
    let repo = TestRepo::new();
    write_config(&repo, serde_json::json!({"installCommand": "   "}));
    let wb = workbench(&repo);
    let created = start_create(&wb, request("blank", None)).await;
    assert!(created.settled.is_none(), "an empty command is skipped");
    assert_eq!(created.worktree.status, WorktreeStatus::Stopped);

    write_config(
        &repo,
        serde_json::json!({"installCommand": "echo ran > ran.txt", "autoInstall": false}),
    );
    let created = start_create(&wb, request("manual", None)).await;
    assert!(created.settled.is_none());
    assert!(!wt_dir(&repo, "manual").join("ran.txt").exists());
}

#[tokio::test]
async fn a_worktree_being_created_is_listed_as_creating_and_cannot_be_mutated() {
    let repo = TestRepo::new();
    let gate = repo.home().join("gate");
    let install = format!(
        "i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo ok > installed.txt",
        gate.display()
    );
    write_config(&repo, serde_json::json!({"installCommand": install}));
    let wb = workbench(&repo);
    let created = start_create(&wb, request("slow", None)).await;
    assert_eq!(created.worktree.status, WorktreeStatus::Creating);

    let wt = listed(&wb, "slow").await.expect("listed while creating");
    assert_eq!(wt.status, WorktreeStatus::Creating);
    assert_eq!(
        code(within(wb.delete_worktree("slow")).await),
        "WORKTREE_BUSY"
    );
    let rename = RenameWorktree {
        name: Some("fast".into()),
        branch: None,
    };
    assert_eq!(
        code(within(wb.rename_worktree("slow", rename)).await),
        "WORKTREE_BUSY"
    );
    assert_eq!(
        code(within(wb.recover_worktree("slow", RecoverAction::Reuse, None)).await),
        "WORKTREE_BUSY"
    );
    let err = create_err(&wb, request("slow-2", Some("SLOW"))).await;
    assert_eq!(err.code(), "WORKTREE_EXISTS");
    assert_eq!(err.context(), vec![("worktreeId", "slow".to_string())]);

    std::fs::write(&gate, "").unwrap();
    settle(created).await.expect("install succeeds");
    assert_eq!(
        listed(&wb, "slow").await.unwrap().status,
        WorktreeStatus::Stopped
    );
    assert!(wt_dir(&repo, "slow").join("installed.txt").is_file());
}

#[tokio::test]
async fn a_failed_install_removes_the_checkout_and_the_fresh_branch() {
    let repo = TestRepo::new();
    write_config(
        &repo,
        serde_json::json!({"installCommand": "echo boom; exit 3"}),
    );
    let wb = workbench(&repo);
    let created = start_create(&wb, request("feature/broken", None)).await;
    assert_eq!(created.worktree.status, WorktreeStatus::Creating);
    let err = settle(created).await.expect_err("install fails");
    assert_eq!(err.code(), "WORKTREE_CREATE_FAILED", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("code 3") && message.contains("boom"),
        "{message}"
    );

    assert!(
        !wt_dir(&repo, "broken").exists(),
        "the partial checkout is gone"
    );
    assert!(
        !branch_exists(&repo, "feature/broken"),
        "the fresh branch is deleted"
    );
    assert_eq!(ids(&list(&wb).await), ["root"]);
    assert!(
        repo.git(["worktree", "list", "--porcelain"])
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count()
            == 1
    );

    // The id is free again.
    write_config(&repo, serde_json::json!({}));
    create(&wb, "feature/broken", None).await;
}

#[tokio::test]
async fn a_failed_install_never_deletes_an_existing_branch() {
    let repo = TestRepo::new();
    repo.git(["checkout", "-q", "-b", "has-work"]);
    repo.write("work.txt", "work\n");
    repo.commit_all("work");
    let tip = rev(&repo, repo.root(), "HEAD");
    repo.git(["checkout", "-q", "main"]);
    // An existing branch at the base commit: indistinguishable from a fresh one by its
    // commits, but it was not created by OpenKit.
    repo.git(["branch", "at-base"]);
    let base = rev(&repo, repo.root(), "main");
    write_config(&repo, serde_json::json!({"installCommand": "exit 3"}));
    let wb = workbench(&repo);

    for branch in ["has-work", "at-base"] {
        let created = start_create(&wb, request(branch, None)).await;
        let err = settle(created).await.expect_err("install fails");
        assert_eq!(err.code(), "WORKTREE_CREATE_FAILED");
        assert!(
            !wt_dir(&repo, branch).exists(),
            "{branch}: checkout removed"
        );
        assert!(branch_exists(&repo, branch), "{branch}: branch kept");
    }
    assert_eq!(rev(&repo, repo.root(), "has-work"), tip);
    assert_eq!(rev(&repo, repo.root(), "at-base"), base);
}
