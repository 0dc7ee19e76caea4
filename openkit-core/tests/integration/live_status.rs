//! The live status engine: changes made by other processes reach the list and the bus
//! without a request scanning anything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openkit_core::Workbench;
use openkit_core::backbone::FeedEvent;
use openkit_core::status::{Freshener, StatusSettings};
use openkit_core::testing::TestRepo;

use crate::*;

/// A workbench whose background tasks run, tuned by `settings`.
fn live(repo: &TestRepo, settings: StatusSettings) -> (Arc<Workbench>, openkit_core::Background) {
    let wb = repo
        .composition()
        .status_settings(settings)
        .build()
        .expect("building the workbench");
    let background = wb.start_background();
    (wb, background)
}

/// Waits until the engine's snapshot is in place (the first refresh ran) and every
/// listed checkout is watched or polled.
async fn until_live(wb: &Workbench) {
    let engine = wb
        .status_engine()
        .expect("the git engine has a status engine");
    poll_until("the engine to go live", || async {
        engine.is_live() && engine.stats().checkouts.len() == list(wb).await.len()
    })
    .await;
}

/// Polls `check` every 10 ms until it is true; fails after 10 s.
async fn poll_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn dirty(wb: &Workbench, id: &str) -> bool {
    listed(wb, id).await.is_some_and(|w| w.has_uncommitted)
}

#[tokio::test]
async fn a_file_written_by_another_process_shows_in_the_list_and_on_the_bus() {
    let repo = TestRepo::new();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    let wt = create(&wb, "feature/live", None).await;
    until_live(&wb).await;
    assert!(!dirty(&wb, "live").await);
    let mut events = wb.backbone().bus().subscribe(None).receiver;

    // Another process writes into a nested directory of the worktree.
    let written = Instant::now();
    std::process::Command::new("sh")
        .args(["-c", "mkdir -p src/deep && echo hi > src/deep/new.txt"])
        .current_dir(&wt.path)
        .status()
        .expect("running sh");
    poll_until("the list to show the change", || dirty(&wb, "live")).await;
    let seen = written.elapsed();
    assert!(seen < Duration::from_secs(5), "took {seen:?}");

    // The change was also announced as a full worktree list.
    let announced = within(async {
        loop {
            let item = events.recv().await.expect("bus open");
            if let FeedEvent::Worktrees(list) = &item.event
                && list.iter().any(|w| w.id == "live" && w.has_uncommitted)
            {
                return true;
            }
        }
    })
    .await;
    assert!(announced);

    // A file created inside the directory made after the watches were set up counts too.
    std::fs::remove_dir_all(wt.path.join("src")).unwrap();
    poll_until("clean again", || async { !dirty(&wb, "live").await }).await;
    std::fs::create_dir_all(wt.path.join("later")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::write(wt.path.join("later/file.txt"), "x\n").unwrap();
    poll_until("a file in a new directory", || dirty(&wb, "live")).await;
}

#[tokio::test]
async fn commits_and_branch_switches_from_outside_update_the_snapshot() {
    let repo = TestRepo::new();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    let wt = create(&wb, "feature/commits", None).await;
    until_live(&wb).await;
    commit_in(&repo, &wt.path, "outside");
    poll_until("one commit ahead of base", || async {
        listed(&wb, "commits")
            .await
            .is_some_and(|w| w.commits_ahead_of_base == Some(1))
    })
    .await;
    repo.git_in(&wt.path, ["checkout", "-q", "-b", "renamed-elsewhere"]);
    poll_until("the new branch", || async {
        listed(&wb, "commits")
            .await
            .is_some_and(|w| w.branch == "renamed-elsewhere")
    })
    .await;
    // Moving the base branch in the main checkout changes the count as well.
    repo.git(["merge", "-q", "--ff-only", "renamed-elsewhere"]);
    poll_until("merged into base", || async {
        listed(&wb, "commits")
            .await
            .is_some_and(|w| w.commits_ahead_of_base == Some(0))
    })
    .await;
}

#[tokio::test]
async fn worktrees_added_or_deleted_behind_openkits_back_appear_and_vanish() {
    let repo = TestRepo::new();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    until_live(&wb).await;
    assert_eq!(ids(&list(&wb).await), ["root"]);
    repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/outside",
        "-b",
        "outside",
    ]);
    poll_until("the new worktree", || async {
        ids(&list(&wb).await) == ["root", "outside"]
    })
    .await;
    std::fs::remove_dir_all(wt_dir(&repo, "outside")).unwrap();
    poll_until("the deleted worktree gone", || async {
        ids(&list(&wb).await) == ["root"]
    })
    .await;
}

#[tokio::test]
async fn ignored_directories_are_not_watched_and_do_not_dirty_the_status() {
    let repo = TestRepo::builder()
        .file(".gitignore", "node_modules/\n*.log\n")
        .file("node_modules/pkg/index.js", "1\n")
        .file("src/main.rs", "fn main() {}\n")
        .build();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    until_live(&wb).await;
    let engine = wb.status_engine().unwrap();
    let stats = engine.stats();
    let root = stats
        .checkouts
        .iter()
        .find(|(p, _)| p == repo.root())
        .expect("the main checkout is kept fresh");
    // The root and src/ only: not .git, .openkit, node_modules or node_modules/pkg.
    assert_eq!(root.1, Freshener::Watched(2), "{stats:?}");

    let mut events = wb.backbone().bus().subscribe(None).receiver;
    std::fs::write(repo.root().join("node_modules/pkg/index.js"), "2\n").unwrap();
    std::fs::write(repo.root().join("debug.log"), "noise\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!dirty(&wb, "root").await);
    assert!(
        events.try_recv().is_err(),
        "ignored changes announce nothing"
    );
    std::fs::write(repo.root().join("src/main.rs"), "fn main() { }\n").unwrap();
    poll_until("the tracked change", || dirty(&wb, "root")).await;
}

#[tokio::test]
async fn without_watching_everything_is_polled() {
    let repo = TestRepo::new();
    let settings = StatusSettings {
        watch: false,
        poll_min_interval: Duration::from_millis(100),
        ..StatusSettings::default()
    };
    let (wb, _bg) = live(&repo, settings);
    let wt = create(&wb, "polled", None).await;
    until_live(&wb).await;
    poll_until("both checkouts polled", || async {
        let stats = wb.status_engine().unwrap().stats();
        stats.watches == 0
            && stats.checkouts.len() == 2
            && stats
                .checkouts
                .iter()
                .all(|(_, f)| matches!(f, Freshener::Polled { .. }))
    })
    .await;
    std::fs::write(wt.path.join("x.txt"), "x\n").unwrap();
    poll_until("the polled change", || dirty(&wb, "polled")).await;
}

#[tokio::test]
async fn a_symlink_loop_in_a_worktree_is_not_followed() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.root().join("loop")).unwrap();
    std::os::unix::fs::symlink(repo.root(), repo.root().join("loop/back")).unwrap();
    std::fs::write(repo.root().join("loop/keep"), "").unwrap();
    repo.commit_all("a loop");
    let (wb, _bg) = live(&repo, StatusSettings::default());
    within(until_live(&wb)).await;
    assert_eq!(
        wb.status_engine().unwrap().stats().checkouts[0].1,
        Freshener::Watched(2)
    );
}

#[tokio::test]
async fn at_rest_the_engine_does_nothing_and_lists_cost_no_refresh() {
    let repo = TestRepo::builder()
        .file("src/a.rs", "1\n")
        .file("src/b/c.rs", "2\n")
        .build();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    create(&wb, "feature/rest", None).await;
    until_live(&wb).await;
    let engine = wb.status_engine().unwrap();
    // Let the creation's own notifications settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = engine.stats().refreshes;
    for _ in 0..50 {
        list(&wb).await;
    }
    // Listing reads files (config, the engine's checks read the trees): none of that may
    // be taken for a change.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        engine.stats().refreshes,
        before,
        "no refresh while nothing changes"
    );
}

#[tokio::test]
async fn over_a_watch_budget_checkouts_are_polled_say_why_and_stay_fresh() {
    let budgets = [
        (
            StatusSettings {
                max_dirs_per_checkout: 2,
                ..StatusSettings::default()
            },
            "too many directories",
        ),
        (
            StatusSettings {
                max_watches: 3,
                ..StatusSettings::default()
            },
            "the system's file-watch limit is reached",
        ),
    ];
    for (settings, why) in budgets {
        let repo = TestRepo::builder()
            .file("a/b/1.txt", "1\n")
            .file("c/2.txt", "1\n")
            .file("d/3.txt", "1\n")
            .build();
        let settings = StatusSettings {
            poll_min_interval: Duration::from_millis(100),
            ..settings
        };
        let (wb, _bg) = live(&repo, settings);
        until_live(&wb).await;
        match &wb.status_engine().unwrap().stats().checkouts[0].1 {
            Freshener::Polled { reason, .. } => assert_eq!(reason, why),
            other => panic!("expected polling ({why}), got {other:?}"),
        }
        std::fs::write(repo.root().join("a/b/1.txt"), "2\n").unwrap();
        poll_until("the polled change", || dirty(&wb, "root")).await;
    }
}

#[tokio::test]
async fn an_unchanged_list_is_handed_out_as_the_same_arc() {
    let repo = TestRepo::new();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    until_live(&wb).await;
    let first = wb.worktrees().await.unwrap();
    let second = wb.worktrees().await.unwrap();
    assert!(Arc::ptr_eq(&first, &second), "nothing changed");
    let wt = create(&wb, "feature/arc", None).await;
    let third = wb.worktrees().await.unwrap();
    assert!(!Arc::ptr_eq(&second, &third));
    assert_eq!(third.len(), 2);
    std::fs::write(wt.path.join("x.txt"), "x\n").unwrap();
    poll_until("a new list for the change", || async {
        let now = wb.worktrees().await.unwrap();
        !Arc::ptr_eq(&now, &third) && now[1].has_uncommitted
    })
    .await;
}

#[tokio::test]
async fn a_dropped_workbench_is_freed_with_its_watches() {
    let repo = TestRepo::new();
    let (wb, background) = live(&repo, StatusSettings::default());
    create(&wb, "feature/freed", None).await;
    until_live(&wb).await;
    let weak = Arc::downgrade(&wb);
    drop(background);
    drop(wb);
    // Aborted tasks let go of what they held once the runtime polls them.
    poll_until("the workbench to be freed", || async {
        weak.upgrade().is_none()
    })
    .await;
}

#[tokio::test]
async fn a_change_signal_that_changes_nothing_is_not_broadcast() {
    use openkit_core::events::{EventSink, WorkbenchEvent};
    let repo = TestRepo::new();
    let (wb, _bg) = live(&repo, StatusSettings::default());
    let wt = create(&wb, "feature/quiet", None).await;
    until_live(&wb).await;
    // Let what the creation and the watch set-up announce go by.
    let mut events = wb.backbone().bus().subscribe(None).receiver;
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {}
    wb.backbone().publish(WorkbenchEvent::WorktreesChanged);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(item) = events.try_recv() {
        assert!(
            !matches!(item.event, FeedEvent::Worktrees(_)),
            "the unchanged list was broadcast again: {:?}",
            item.event
        );
    }
    std::fs::write(wt.path.join("x.txt"), "x\n").unwrap();
    let announced = within(async {
        loop {
            if let FeedEvent::Worktrees(list) = &events.recv().await.expect("bus open").event
                && list.iter().any(|w| w.id == "quiet" && w.has_uncommitted)
            {
                return true;
            }
        }
    })
    .await;
    assert!(announced);
}
