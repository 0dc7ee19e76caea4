//! Git status fields of listed worktrees.

use openkit_core::testing::TestRepo;

use crate::*;

#[tokio::test]
async fn status_of_a_local_worktree() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/status", None).await;
    assert!(!wt.has_uncommitted, "a new checkout is clean");
    assert!(wt.has_unpushed, "no upstream counts as unpushed");
    assert_eq!(wt.commits_ahead, 0);
    assert_eq!(wt.commits_ahead_of_base, Some(0));

    commit_in(&repo, &wt.path, "one");
    let wt = listed(&wb, "status").await.unwrap();
    assert_eq!(wt.commits_ahead_of_base, Some(1));
    assert_eq!(wt.commits_ahead, 0, "no upstream to be ahead of");
    assert!(wt.has_unpushed);
    assert!(!wt.has_uncommitted);

    commit_in(&repo, &wt.path, "two");
    assert_eq!(
        listed(&wb, "status").await.unwrap().commits_ahead_of_base,
        Some(2)
    );

    // Merging the work into the base branch brings it back to 0.
    repo.git(["merge", "-q", "--ff-only", "feature/status"]);
    assert_eq!(
        listed(&wb, "status").await.unwrap().commits_ahead_of_base,
        Some(0)
    );
}

#[tokio::test]
async fn untracked_files_show_up_at_once_without_the_live_engine() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "untracked", None).await;
    assert!(!wt.has_uncommitted);
    std::fs::write(wt.path.join("new.txt"), "new\n").unwrap();
    // Nothing watches this workbench's worktrees: every list looks again.
    assert!(listed(&wb, "untracked").await.unwrap().has_uncommitted);
    std::fs::remove_file(wt.path.join("new.txt")).unwrap();
    assert!(!listed(&wb, "untracked").await.unwrap().has_uncommitted);
}

#[tokio::test]
async fn staged_changes_show_up_at_once() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "staged", None).await;
    assert!(!listed(&wb, "staged").await.unwrap().has_uncommitted);
    std::fs::write(wt.path.join("new.txt"), "new\n").unwrap();
    repo.git_in(&wt.path, ["add", "new.txt"]);
    assert!(
        listed(&wb, "staged").await.unwrap().has_uncommitted,
        "the index changed"
    );
    repo.git_in(&wt.path, ["commit", "-q", "-m", "add new"]);
    let wt = listed(&wb, "staged").await.unwrap();
    assert!(!wt.has_uncommitted, "committed");
    assert_eq!(wt.commits_ahead_of_base, Some(1));
}

#[tokio::test]
async fn upstream_tracking_with_origin() {
    let repo = TestRepo::builder().with_origin().build();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/pushed", None).await;
    assert!(wt.has_unpushed);
    commit_in(&repo, &wt.path, "work");
    let wt = listed(&wb, "pushed").await.unwrap();
    assert!(wt.has_unpushed);
    assert_eq!(wt.commits_ahead_of_base, Some(1));

    repo.git_in(&wt.path, ["push", "-q", "-u", "origin", "feature/pushed"]);
    let pushed = listed(&wb, "pushed").await.unwrap();
    assert!(!pushed.has_unpushed, "pushed with an upstream");
    assert_eq!(pushed.commits_ahead, 0);
    assert_eq!(pushed.commits_ahead_of_base, Some(1));

    commit_in(&repo, &wt.path, "more");
    let ahead = listed(&wb, "pushed").await.unwrap();
    assert_eq!(ahead.commits_ahead, 1);
    assert!(ahead.has_unpushed);
    assert_eq!(ahead.commits_ahead_of_base, Some(2));

    repo.git_in(&wt.path, ["push", "-q"]);
    let synced = listed(&wb, "pushed").await.unwrap();
    assert_eq!(synced.commits_ahead, 0);
    assert!(!synced.has_unpushed);
}

#[tokio::test]
async fn base_branch_missing_gives_no_ahead_of_base() {
    let repo = TestRepo::builder().branch("trunk").build();
    write_config(&repo, serde_json::json!({"baseBranch": "does-not-exist"}));
    let wb = workbench(&repo);
    let wt = create(&wb, "no-base", None).await;
    assert_eq!(wt.commits_ahead_of_base, None);
    assert_eq!(
        rev(&repo, &wt.path, "HEAD"),
        rev(&repo, repo.root(), "trunk"),
        "fell back to HEAD"
    );
}

#[tokio::test]
async fn status_follows_a_checkout_replaced_behind_openkits_back() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "first", Some("x")).await;
    commit_in(&repo, &wt.path, "work");
    std::fs::write(wt.path.join("dirty.txt"), "dirty\n").unwrap();
    repo.git_in(&wt.path, ["add", "dirty.txt"]);
    let x = listed(&wb, "x").await.unwrap();
    assert_eq!(
        (x.commits_ahead_of_base, x.has_uncommitted),
        (Some(1), true)
    );

    // Move the checkout away and put a fresh one at the same path.
    repo.git([
        "worktree",
        "move",
        ".openkit/worktrees/x",
        ".openkit/worktrees/y",
    ]);
    repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/x",
        "-b",
        "second",
    ]);
    let all = list(&wb).await;
    assert_eq!(ids(&all), ["root", "x", "y"]);
    let (x, y) = (&all[1], &all[2]);
    assert_eq!(x.branch, "second");
    assert_eq!(
        x.commits_ahead_of_base,
        Some(0),
        "status of the new checkout"
    );
    assert!(!x.has_uncommitted);
    assert_eq!(y.branch, "first");
    assert_eq!(y.commits_ahead_of_base, Some(1));
    assert!(y.has_uncommitted);
}
