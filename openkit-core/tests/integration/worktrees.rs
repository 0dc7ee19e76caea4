//! Listing, creating, validating and resolving worktrees.

use std::sync::Arc;

use openkit_core::testing::TestRepo;
use openkit_core::{CreateWorktree, DomainError, WorktreeError, WorktreeStatus};

use crate::*;

#[tokio::test]
async fn list_has_root_first_then_linked_sorted() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let only_root = list(&wb).await;
    assert_eq!(ids(&only_root), ["root"]);
    assert!(only_root[0].is_root);
    assert_eq!(only_root[0].branch, "main");
    assert_eq!(only_root[0].path, repo.root());

    for (branch, id) in [
        ("b-branch", "b-wt"),
        ("c-branch", "c"),
        ("a-branch", "a-wt"),
    ] {
        let wt = create(&wb, branch, Some(id)).await;
        assert_eq!(wt.id, id);
        assert_eq!(wt.branch, branch);
        assert_eq!(wt.path, wt_dir(&repo, id));
        assert!(!wt.is_root);
        assert_eq!(wt.status, WorktreeStatus::Stopped);
        assert!(
            wt.path.join("README.md").is_file(),
            "checkout has the files"
        );
    }
    let all = list(&wb).await;
    assert_eq!(ids(&all), ["root", "a-wt", "b-wt", "c"]);
    assert!(all[0].is_root);
    assert!(all[1..].iter().all(|w| !w.is_root));
    assert_eq!(
        repo.git_in(&wt_dir(&repo, "c"), ["symbolic-ref", "--short", "HEAD"])
            .trim(),
        "c-branch"
    );
}

#[tokio::test]
async fn default_id_comes_from_the_branch_and_id_or_name_override_it() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/login-page", None).await;
    assert_eq!(wt.id, "login-page");
    assert_eq!(wt.branch, "feature/login-page");
    assert!(wt_dir(&repo, "login-page").is_dir());

    let wt = create(&wb, "fix/a.b_c", None).await;
    assert_eq!(wt.id, "a-b-c");

    let named = CreateWorktree {
        branch: "feature/named".into(),
        id: None,
        name: Some("My Task".into()),
    };
    let created = start_create(&wb, named).await;
    assert_eq!(created.worktree.id, "My Task");
    assert!(wt_dir(&repo, "My Task").is_dir());

    let both = CreateWorktree {
        branch: "feature/both".into(),
        id: Some("the-id".into()),
        name: Some("ignored name".into()),
    };
    let created = start_create(&wb, both).await;
    assert_eq!(created.worktree.id, "the-id", "id wins over name");
    assert!(!wt_dir(&repo, "ignored name").exists());
    assert_eq!(
        ids(&list(&wb).await),
        ["root", "My Task", "a-b-c", "login-page", "the-id"]
    );
}

#[tokio::test]
async fn invalid_ids_and_branches_are_rejected_before_touching_anything() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    for bad in [
        "..",
        "a/b",
        "root",
        "ROOT",
        "a\0b",
        "../escape",
        "-lead",
        "a.b",
    ] {
        let err = create_err(&wb, request("valid-branch", Some(bad))).await;
        assert_eq!(err.code(), "INVALID_WORKTREE_ID", "{bad:?}: {err}");
    }
    // A branch whose derived id is empty.
    let err = create_err(&wb, request("feature/-", None)).await;
    assert_eq!(err.code(), "INVALID_WORKTREE_ID", "{err}");
    // A branch whose derived id is the reserved one.
    let err = create_err(&wb, request("feature/root", None)).await;
    assert_eq!(err.code(), "INVALID_WORKTREE_ID", "{err}");

    for bad in ["a..b", "-x", "", "a b", "a~1", "a.lock", "HEAD", "a//b"] {
        let err = create_err(&wb, request(bad, Some("ok-id"))).await;
        assert_eq!(err.code(), "INVALID_BRANCH_NAME", "{bad:?}: {err}");
    }
    assert!(worktree_dirs(&repo).is_empty(), "nothing was created");
    assert!(!branch_exists(&repo, "valid-branch"));
    assert_eq!(ids(&list(&wb).await), ["root"]);
}

#[tokio::test]
async fn duplicates_conflict_with_the_canonical_id() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    create(&wb, "foo-branch", Some("foo")).await;

    for dup in ["foo", "Foo", "FOO"] {
        let err = create_err(&wb, request("other-branch", Some(dup))).await;
        assert_eq!(err.code(), "WORKTREE_EXISTS", "{dup}");
        assert_eq!(
            err.context(),
            vec![("worktreeId", "foo".to_string())],
            "{dup}"
        );
    }
    // The same branch checked out in another worktree.
    let err = create_err(&wb, request("foo-branch", Some("bar"))).await;
    assert_eq!(err.code(), "WORKTREE_EXISTS");
    assert_eq!(err.context(), vec![("worktreeId", "foo".to_string())]);

    // The main checkout's branch cannot be checked out a second time either.
    let err = create_err(&wb, request("main", Some("second-main"))).await;
    assert!(
        matches!(err.code(), "WORKTREE_EXISTS" | "WORKTREE_CREATE_FAILED"),
        "{err}"
    );
    assert!(!wt_dir(&repo, "second-main").exists());

    assert!(
        !branch_exists(&repo, "other-branch"),
        "no branch for refused creates"
    );
    assert_eq!(worktree_dirs(&repo), ["foo"]);
}

#[tokio::test]
async fn a_repository_without_commits_is_refused() {
    let repo = TestRepo::builder().no_commits().build();
    let wb = workbench(&repo);
    let err = create_err(&wb, request("first", None)).await;
    assert_eq!(err.code(), "REPOSITORY_HAS_NO_COMMITS", "{err}");
    assert!(matches!(err, WorktreeError::NoCommits));
    assert!(!wt_dir(&repo, "first").exists());
    assert_eq!(
        ids(&list(&wb).await),
        ["root"],
        "a failed create leaves no entry"
    );
}

#[tokio::test]
async fn an_existing_local_branch_is_checked_out_not_recreated() {
    let repo = TestRepo::new();
    repo.git(["checkout", "-q", "-b", "existing"]);
    repo.write("work.txt", "work\n");
    repo.commit_all("work on existing");
    let tip = rev(&repo, repo.root(), "HEAD");
    repo.git(["checkout", "-q", "main"]);
    assert_ne!(rev(&repo, repo.root(), "main"), tip);

    let wb = workbench(&repo);
    let wt = create(&wb, "existing", None).await;
    assert_eq!(wt.branch, "existing");
    assert_eq!(
        rev(&repo, &wt.path, "HEAD"),
        tip,
        "the branch keeps its commits"
    );
    assert_eq!(rev(&repo, repo.root(), "existing"), tip);
    assert!(wt.path.join("work.txt").is_file());
    assert_eq!(wt.commits_ahead_of_base, Some(1));
}

#[tokio::test]
async fn a_remote_only_branch_becomes_a_tracking_branch() {
    let repo = TestRepo::builder().with_origin().build();
    repo.git(["checkout", "-q", "-b", "remote-only"]);
    repo.write("remote.txt", "from the remote\n");
    repo.commit_all("remote work");
    repo.git(["push", "-q", "origin", "remote-only"]);
    repo.git(["checkout", "-q", "main"]);
    repo.git(["branch", "-q", "-D", "remote-only"]);
    assert!(!branch_exists(&repo, "remote-only"));
    let origin = repo.origin().expect("origin");
    let origin_tip = rev(&repo, origin, "refs/heads/remote-only");

    let wb = workbench(&repo);
    let wt = create(&wb, "remote-only", None).await;
    assert_eq!(wt.branch, "remote-only");
    assert_eq!(
        rev(&repo, &wt.path, "HEAD"),
        origin_tip,
        "same commit as origin's branch"
    );
    assert!(wt.path.join("remote.txt").is_file());
    assert_eq!(
        repo.git_in(
            &wt.path,
            [
                "rev-parse",
                "--abbrev-ref",
                "--symbolic-full-name",
                "@{upstream}"
            ]
        )
        .trim(),
        "origin/remote-only"
    );
    assert!(branch_exists(&repo, "remote-only"));
    assert!(!wt.has_unpushed, "in sync with its upstream");
    assert_eq!(wt.commits_ahead, 0);
}

#[tokio::test]
async fn a_new_branch_starts_from_the_configured_base_branch() {
    let repo = TestRepo::new();
    repo.git(["checkout", "-q", "-b", "develop"]);
    repo.write("develop.txt", "develop only\n");
    repo.commit_all("develop work");
    let develop = rev(&repo, repo.root(), "HEAD");
    repo.git(["checkout", "-q", "main"]);
    let main = rev(&repo, repo.root(), "HEAD");
    assert_ne!(develop, main);
    write_config(&repo, serde_json::json!({"baseBranch": "develop"}));

    let wb = workbench(&repo);
    let wt = create(&wb, "feature/on-develop", None).await;
    assert_eq!(rev(&repo, &wt.path, "HEAD"), develop);
    assert!(wt.path.join("develop.txt").is_file());
    assert_eq!(
        wt.commits_ahead_of_base,
        Some(0),
        "compared with develop, not main"
    );
    assert!(!wt.has_uncommitted);
}

#[tokio::test]
async fn any_configured_base_branch_is_honoured() {
    let repo = TestRepo::builder().with_origin().build();
    repo.git(["checkout", "-q", "-b", "release-next"]);
    repo.write("release.txt", "release\n");
    repo.commit_all("release work");
    let release = rev(&repo, repo.root(), "HEAD");
    repo.git(["push", "-q", "origin", "release-next"]);
    repo.git(["checkout", "-q", "main"]);
    write_config(&repo, serde_json::json!({"baseBranch": "release-next"}));

    let wb = workbench(&repo);
    let wt = create(&wb, "from-release", None).await;
    assert_eq!(rev(&repo, &wt.path, "HEAD"), release);
    assert_eq!(wt.commits_ahead_of_base, Some(0));

    // Only on origin: new branches start from origin's copy.
    repo.git(["branch", "-q", "-D", "release-next"]);
    let wt = create(&wb, "from-origin-release", None).await;
    assert_eq!(rev(&repo, &wt.path, "HEAD"), release);
    assert_eq!(wt.commits_ahead_of_base, Some(0));
    let main = listed(&wb, "root").await.unwrap();
    assert_eq!(
        main.commits_ahead_of_base,
        Some(0),
        "main is behind release-next, not ahead"
    );
}

#[tokio::test]
async fn env_files_are_copied_except_from_dependency_dirs() {
    let repo = TestRepo::new();
    repo.write(".env.example", "committed\n");
    repo.commit_all("add env example");
    repo.write(".env.example", "local edit\n");
    repo.write(".env", "ROOT=1\n");
    repo.write("app/.env.local", "APP=1\n");
    repo.write("node_modules/.env", "DEP=1\n");
    repo.write("node_modules/pkg/.env", "DEP=2\n");
    repo.write(".openkit/.env", "OK=1\n");

    let wb = workbench(&repo);
    let wt = create(&wb, "with-env", None).await;
    let read = |rel: &str| std::fs::read_to_string(wt.path.join(rel)).ok();
    assert_eq!(read(".env").as_deref(), Some("ROOT=1\n"));
    assert_eq!(read("app/.env.local").as_deref(), Some("APP=1\n"));
    assert_eq!(read("node_modules/.env"), None);
    assert_eq!(read("node_modules/pkg/.env"), None);
    assert_eq!(read(".openkit/.env"), None);
    assert_eq!(
        read(".env.example").as_deref(),
        Some("committed\n"),
        "existing files are not overwritten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_id_yield_exactly_one_worktree() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    // Several rounds, each racing 8 creates of one id spelled in two cases.
    let rounds = ["race", "dash", "rush"];
    let tasks: Vec<_> = (0..8)
        .flat_map(|i| rounds.iter().map(move |round| (i, *round)))
        .map(|(i, round)| {
            let wb = Arc::clone(&wb);
            let id = if i % 2 == 0 {
                round.to_string()
            } else {
                round.to_uppercase()
            };
            let branch = format!("{round}-{i}");
            tokio::spawn(
                async move { (round, wb.create_worktree(request(&branch, Some(&id))).await) },
            )
        })
        .collect();
    let mut winners: Vec<(&str, String)> = Vec::new();
    for task in tasks {
        let (round, result) = within(task).await.expect("task panicked");
        match result {
            Ok(created) => winners.push((round, created.worktree.id)),
            Err(e) => assert!(
                matches!(e.code(), "WORKTREE_EXISTS" | "WORKTREE_BUSY"),
                "unexpected error: {e} ({})",
                e.code()
            ),
        }
    }
    winners.sort();
    assert_eq!(
        winners.iter().map(|(round, _)| *round).collect::<Vec<_>>(),
        ["dash", "race", "rush"],
        "exactly one create per id wins: {winners:?}"
    );
    let mut winner_ids: Vec<String> = winners.into_iter().map(|(_, id)| id).collect();
    winner_ids.sort();
    assert_eq!(worktree_dirs(&repo), winner_ids, "one directory per id");
    let all = list(&wb).await;
    assert_eq!(all.len(), 1 + rounds.len());
    for round in rounds {
        let branches = repo.git(["branch", "--list", &format!("{round}-*")]);
        assert_eq!(
            branches.lines().count(),
            1,
            "only the winner made a branch: {branches}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_different_ids_all_succeed() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let names: Vec<String> = (0..8).map(|i| format!("par-{i}")).collect();
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let wb = Arc::clone(&wb);
            let name = name.clone();
            tokio::spawn(async move { wb.create_worktree(request(&name, None)).await })
        })
        .collect();
    for task in tasks {
        let result = within(task).await.expect("task panicked");
        if let Err(e) = result {
            panic!("a parallel create failed: {e} ({})", e.code());
        }
    }
    assert_eq!(worktree_dirs(&repo), names);
    let all = list(&wb).await;
    assert_eq!(ids(&all)[1..], names[..]);
    assert!(all[1..].iter().all(|w| w.branch == w.id));
}

#[tokio::test]
async fn resolution_is_exact_then_case_insensitive_and_reports_ambiguity() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    create(&wb, "abc-branch", Some("abc")).await;
    assert_eq!(within(wb.resolve("abc")).await.unwrap(), "abc");
    assert_eq!(within(wb.resolve("ABC")).await.unwrap(), "abc");
    assert_eq!(
        within(wb.worktree("aBc")).await.unwrap().branch,
        "abc-branch"
    );
    assert_eq!(within(wb.resolve("root")).await.unwrap(), "root");
    assert_eq!(code(within(wb.resolve("nope")).await), "WORKTREE_NOT_FOUND");
    assert_eq!(
        code(within(wb.worktree("nope")).await),
        "WORKTREE_NOT_FOUND"
    );

    // A second worktree differing only in case, made behind OpenKit's back.
    repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/ABC",
        "-b",
        "x2",
    ]);
    assert_eq!(
        within(wb.resolve("abc")).await.unwrap(),
        "abc",
        "exact match wins"
    );
    assert_eq!(
        within(wb.resolve("ABC")).await.unwrap(),
        "ABC",
        "exact match wins"
    );
    match within(wb.resolve("Abc")).await {
        Err(WorktreeError::Ambiguous { id, matches }) => {
            assert_eq!(id, "Abc");
            assert_eq!(matches, ["ABC", "abc"]);
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
    assert_eq!(
        code(within(wb.worktree("Abc")).await),
        "WORKTREE_ID_AMBIGUOUS"
    );
    assert_eq!(
        code(within(wb.delete_worktree("Abc")).await),
        "WORKTREE_ID_AMBIGUOUS"
    );
    assert!(wt_dir(&repo, "abc").is_dir() && wt_dir(&repo, "ABC").is_dir());
}

#[tokio::test]
async fn changes_behind_openkits_back_show_up_and_survive_a_restart() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    create(&wb, "mine", None).await;
    create(&wb, "doomed", None).await;
    assert_eq!(ids(&list(&wb).await), ["root", "doomed", "mine"]);

    repo.git([
        "worktree",
        "add",
        "-q",
        ".openkit/worktrees/ext",
        "-b",
        "ext",
    ]);
    let ext = listed(&wb, "ext")
        .await
        .expect("external worktree is listed");
    assert_eq!(ext.branch, "ext");
    assert_eq!(ext.path, wt_dir(&repo, "ext"));

    // A worktree outside .openkit/worktrees is not OpenKit's.
    repo.git(["worktree", "add", "-q", "../elsewhere", "-b", "elsewhere"]);
    assert!(repo.root().parent().unwrap().join("elsewhere").is_dir());

    std::fs::remove_dir_all(wt_dir(&repo, "doomed")).unwrap();
    assert_eq!(ids(&list(&wb).await), ["root", "ext", "mine"]);

    let restarted = workbench(&repo);
    let after = list(&restarted).await;
    assert_eq!(ids(&after), ["root", "ext", "mine"]);
    assert_eq!(
        after[1..]
            .iter()
            .map(|w| w.branch.as_str())
            .collect::<Vec<_>>(),
        ["ext", "mine"]
    );
    let before: Vec<_> = list(&wb)
        .await
        .into_iter()
        .map(|w| (w.id, w.branch, w.path))
        .collect();
    let after: Vec<_> = after
        .into_iter()
        .map(|w| (w.id, w.branch, w.path))
        .collect();
    assert_eq!(before, after, "both workbenches agree");
}

#[tokio::test]
async fn a_vanished_worktree_can_be_created_again() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "again", None).await;
    let head = commit_in(&repo, &wt.path, "work");
    std::fs::remove_dir_all(&wt.path).unwrap();
    assert!(listed(&wb, "again").await.is_none());

    // Same id and branch: git still remembers the missing checkout.
    let again = create(&wb, "again", None).await;
    assert_eq!(again.path, wt.path);
    assert_eq!(
        rev(&repo, &again.path, "HEAD"),
        head,
        "the existing branch is checked out"
    );
    assert!(!again.has_uncommitted);
    assert_eq!(again.commits_ahead_of_base, Some(1));
    assert_eq!(ids(&list(&wb).await), ["root", "again"]);

    // Same id, another branch.
    std::fs::remove_dir_all(&again.path).unwrap();
    let other = create(&wb, "other-branch", Some("again")).await;
    assert_eq!(other.branch, "other-branch");
    assert_eq!(other.commits_ahead_of_base, Some(0));
    let all = list(&wb).await;
    assert_eq!(ids(&all), ["root", "again"]);
    assert_eq!(all[1].branch, "other-branch");
}
