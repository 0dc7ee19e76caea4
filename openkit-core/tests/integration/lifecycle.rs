//! Renaming, deleting and recovering worktrees.

use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, RecoverAction, RenameWorktree};

use crate::*;

fn rename(name: Option<&str>, branch: Option<&str>) -> RenameWorktree {
    RenameWorktree {
        name: name.map(str::to_string),
        branch: branch.map(str::to_string),
    }
}

#[tokio::test]
async fn rename_the_id_moves_the_checkout_and_the_links() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "ren-branch", Some("old")).await;
    let head = commit_in(&repo, &wt.path, "work");
    let notes = write_notes(&repo, "local", "LOCAL-1", "old");
    let other_notes = write_notes(&repo, "local", "LOCAL-2", "unrelated");
    repo.write(
        ".openkit/worktree-settings.json",
        r#"{"old": {"autoCleanupOnMerge": true}}"#,
    );

    let renamed = within(wb.rename_worktree("OLD", rename(Some("new"), None)))
        .await
        .unwrap();
    assert_eq!(renamed.id, "new");
    assert_eq!(renamed.branch, "ren-branch");
    assert_eq!(renamed.path, wt_dir(&repo, "new"));
    assert!(!wt_dir(&repo, "old").exists());
    assert_eq!(rev(&repo, &renamed.path, "HEAD"), head);
    assert_eq!(ids(&list(&wb).await), ["root", "new"]);
    assert_eq!(read_json(&notes)["linkedWorktreeId"], "new");
    assert_eq!(read_json(&other_notes)["linkedWorktreeId"], "unrelated");
    let settings = read_json(&repo.root().join(".openkit/worktree-settings.json"));
    assert_eq!(
        settings,
        serde_json::json!({"new": {"autoCleanupOnMerge": true}})
    );
    assert_eq!(code(within(wb.resolve("old")).await), "WORKTREE_NOT_FOUND");
}

#[tokio::test]
async fn rename_the_branch_only_and_both() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "b1", Some("wt")).await;
    let head = commit_in(&repo, &wt.path, "work");

    let renamed = within(wb.rename_worktree("wt", rename(None, Some("feature/b2"))))
        .await
        .unwrap();
    assert_eq!(renamed.id, "wt");
    assert_eq!(renamed.branch, "feature/b2");
    assert!(!branch_exists(&repo, "b1"));
    assert_eq!(
        rev(&repo, repo.root(), "feature/b2"),
        head,
        "the branch kept its commits"
    );
    assert_eq!(
        repo.git_in(&wt.path, ["symbolic-ref", "--short", "HEAD"])
            .trim(),
        "feature/b2"
    );

    let renamed = within(wb.rename_worktree("wt", rename(Some("wt 2"), Some("b3"))))
        .await
        .unwrap();
    assert_eq!(
        (renamed.id.as_str(), renamed.branch.as_str()),
        ("wt 2", "b3")
    );
    assert!(wt_dir(&repo, "wt 2").is_dir() && !wt_dir(&repo, "wt").exists());
    assert!(!branch_exists(&repo, "feature/b2"));
    assert_eq!(rev(&repo, repo.root(), "b3"), head);
    let all = list(&wb).await;
    assert_eq!(ids(&all), ["root", "wt 2"]);
    assert_eq!(all[1].branch, "b3");
}

#[tokio::test]
async fn rename_refusals() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    create(&wb, "one-branch", Some("one")).await;
    create(&wb, "two-branch", Some("two")).await;

    let err = within(wb.rename_worktree("one", rename(Some("TWO"), None)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "WORKTREE_EXISTS");
    assert_eq!(err.context(), vec![("worktreeId", "two".to_string())]);
    assert_eq!(
        code(within(wb.rename_worktree("root", rename(Some("x"), None))).await),
        "ROOT_WORKTREE_IMMUTABLE"
    );
    assert_eq!(
        code(within(wb.rename_worktree("one", rename(Some("../x"), None))).await),
        "INVALID_WORKTREE_ID"
    );
    assert_eq!(
        code(within(wb.rename_worktree("one", rename(Some("root"), None))).await),
        "INVALID_WORKTREE_ID"
    );
    assert_eq!(
        code(within(wb.rename_worktree("one", rename(None, Some("a..b")))).await),
        "INVALID_BRANCH_NAME"
    );
    assert_eq!(
        code(within(wb.rename_worktree("one", rename(None, None))).await),
        "INVALID_INPUT"
    );
    assert_eq!(
        code(within(wb.rename_worktree("nope", rename(Some("x"), None))).await),
        "WORKTREE_NOT_FOUND"
    );
    // A branch that exists already.
    assert_eq!(
        code(within(wb.rename_worktree("one", rename(None, Some("two-branch")))).await),
        "WORKTREE_RENAME_FAILED"
    );
    // Nothing moved.
    let all = list(&wb).await;
    assert_eq!(ids(&all), ["root", "one", "two"]);
    assert_eq!(all[1].branch, "one-branch");
}

#[tokio::test]
async fn delete_reports_and_cleans_up_but_keeps_the_branch() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "del-branch", Some("del")).await;
    let head = commit_in(&repo, &wt.path, "work");
    std::fs::write(wt.path.join("dirty.txt"), "uncommitted\n").unwrap();
    create(&wb, "keep-branch", Some("keep")).await;
    let notes = write_notes(&repo, "local", "LOCAL-1", "del");
    let jira_notes = write_notes(&repo, "jira", "PRJ-9", "del");
    let other = write_notes(&repo, "local", "LOCAL-2", "keep");
    repo.write(
        ".openkit/worktree-settings.json",
        r#"{"del": {"autoCleanupOnMerge": true}, "keep": {"autoCleanupOnClose": true}}"#,
    );

    let report = within(wb.delete_worktree("DEL")).await.unwrap();
    assert_eq!(report.worktree_id, "del");
    assert_eq!(report.cleared_links, 2);
    assert!(!report.delete_op_id.is_empty());
    assert!(!report.removed_running_process);
    assert_eq!(report.removed_terminal_sessions, 0);

    assert!(!wt_dir(&repo, "del").exists());
    assert_eq!(ids(&list(&wb).await), ["root", "keep"]);
    assert!(branch_exists(&repo, "del-branch"));
    assert_eq!(rev(&repo, repo.root(), "del-branch"), head);
    assert!(read_json(&notes)["linkedWorktreeId"].is_null());
    assert!(read_json(&jira_notes)["linkedWorktreeId"].is_null());
    assert_eq!(read_json(&other)["linkedWorktreeId"], "keep");
    assert_eq!(
        read_json(&repo.root().join(".openkit/worktree-settings.json")),
        serde_json::json!({"keep": {"autoCleanupOnClose": true}})
    );
    let registered = repo.git(["worktree", "list", "--porcelain"]);
    assert!(
        !registered.contains("/del\n"),
        "registration pruned: {registered}"
    );

    // Deleting again: gone.
    let err = within(wb.delete_worktree("del")).await.unwrap_err();
    assert_eq!(err.code(), "WORKTREE_NOT_FOUND");
    assert!(!err.delete_op_id.is_empty());
}

#[tokio::test]
async fn delete_refusals_carry_the_operation_id() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    for (id, expected) in [
        ("root", "ROOT_WORKTREE_IMMUTABLE"),
        ("ROOT", "ROOT_WORKTREE_IMMUTABLE"),
        ("../x", "INVALID_WORKTREE_ID"),
        ("a/b", "INVALID_WORKTREE_ID"),
        ("", "INVALID_WORKTREE_ID"),
        ("missing", "WORKTREE_NOT_FOUND"),
    ] {
        let err = within(wb.delete_worktree(id)).await.unwrap_err();
        assert_eq!(err.code(), expected, "{id:?}");
        assert!(!err.delete_op_id.is_empty());
        assert!(
            err.context()
                .contains(&("deleteOpId", err.delete_op_id.clone())),
            "{:?}",
            err.context()
        );
    }
    assert!(
        repo.root().join("README.md").is_file(),
        "the main checkout is untouched"
    );
}

#[tokio::test]
async fn recover_reuse_re_adds_a_vanished_checkout() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "rec-branch", Some("rec")).await;
    let head = commit_in(&repo, &wt.path, "work");

    // Healthy: a no-op.
    let same = within(wb.recover_worktree("rec", RecoverAction::Reuse, None))
        .await
        .unwrap();
    assert_eq!(same.branch, "rec-branch");

    std::fs::remove_dir_all(&wt.path).unwrap();
    assert!(listed(&wb, "rec").await.is_none());
    let recovered = within(wb.recover_worktree("REC", RecoverAction::Reuse, None))
        .await
        .unwrap();
    assert_eq!(recovered.id, "rec");
    assert_eq!(recovered.branch, "rec-branch");
    assert!(wt.path.join("README.md").is_file());
    assert_eq!(rev(&repo, &wt.path, "HEAD"), head, "commits intact");
    assert_eq!(ids(&list(&wb).await), ["root", "rec"]);
}

#[tokio::test]
async fn recover_recreate_rebuilds_the_checkout_and_keeps_commits() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "rebuild-branch", Some("rebuild")).await;
    std::fs::write(wt.path.join("kept.txt"), "kept\n").unwrap();
    repo.git_in(&wt.path, ["add", "kept.txt"]);
    let head = commit_in(&repo, &wt.path, "commit kept");
    std::fs::write(wt.path.join("scratch.txt"), "uncommitted\n").unwrap();
    std::fs::write(wt.path.join("README.md"), "edited\n").unwrap();

    let recovered = within(wb.recover_worktree("rebuild", RecoverAction::Recreate, None))
        .await
        .unwrap();
    assert_eq!(recovered.branch, "rebuild-branch");
    assert!(
        !wt.path.join("scratch.txt").exists(),
        "uncommitted file discarded"
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "# test\n"
    );
    assert!(wt.path.join("kept.txt").is_file(), "committed file kept");
    assert_eq!(rev(&repo, &wt.path, "HEAD"), head);
    assert_eq!(rev(&repo, repo.root(), "rebuild-branch"), head);
    assert!(!recovered.has_uncommitted);
}

#[tokio::test]
async fn recover_refusals() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "lost-branch", Some("lost")).await;
    std::fs::remove_dir_all(&wt.path).unwrap();
    // Delete the branch ref even though git still remembers the worktree.
    repo.git(["update-ref", "-d", "refs/heads/lost-branch"]);

    let err = within(wb.recover_worktree("lost", RecoverAction::Reuse, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "WORKTREE_RECOVER_FAILED", "{err}");
    assert!(err.to_string().contains("lost-branch"), "{err}");
    assert!(!wt.path.exists());

    for root in ["root", "Root"] {
        for action in [RecoverAction::Reuse, RecoverAction::Recreate] {
            assert_eq!(
                code(within(wb.recover_worktree(root, action, None)).await),
                "ROOT_WORKTREE_IMMUTABLE"
            );
        }
    }
    assert_eq!(
        code(within(wb.recover_worktree("missing", RecoverAction::Reuse, None)).await),
        "WORKTREE_NOT_FOUND"
    );
    assert_eq!(
        code(within(wb.recover_worktree("../x", RecoverAction::Reuse, None)).await),
        "INVALID_WORKTREE_ID"
    );
}

#[tokio::test]
async fn recover_repairs_or_rebuilds_a_broken_checkout() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "broken-branch", Some("broken")).await;
    let head = commit_in(&repo, &wt.path, "work");

    // A lost `.git` link is repaired in place.
    std::fs::remove_file(wt.path.join(".git")).unwrap();
    let repaired = within(wb.recover_worktree("broken", RecoverAction::Reuse, None))
        .await
        .unwrap();
    assert_eq!(repaired.branch, "broken-branch");
    assert_eq!(rev(&repo, &wt.path, "HEAD"), head);

    // A plain directory git knows nothing about.
    std::fs::remove_dir_all(&wt.path).unwrap();
    repo.git(["worktree", "prune"]);
    std::fs::create_dir_all(&wt.path).unwrap();
    std::fs::write(wt.path.join("leftover.txt"), "x\n").unwrap();
    let err = within(wb.recover_worktree("broken", RecoverAction::Reuse, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "WORKTREE_RECOVER_FAILED",
        "branch unknown: {err}"
    );
    let err = within(wb.recover_worktree("broken", RecoverAction::Reuse, Some("broken-branch")))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "WORKTREE_RECOVER_FAILED",
        "not a checkout: {err}"
    );
    assert!(
        wt.path.join("leftover.txt").is_file(),
        "reuse never deletes"
    );

    let recovered =
        within(wb.recover_worktree("broken", RecoverAction::Recreate, Some("broken-branch")))
            .await
            .unwrap();
    assert_eq!(recovered.branch, "broken-branch");
    assert_eq!(rev(&repo, &wt.path, "HEAD"), head);
    assert!(!wt.path.join("leftover.txt").exists());
    assert!(!recovered.has_uncommitted);
    assert_eq!(recovered.commits_ahead_of_base, Some(1));
}
