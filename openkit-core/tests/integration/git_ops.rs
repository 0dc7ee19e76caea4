//! Diff, file contents, commit, push and the agent git policy on real repositories with a
//! bare `origin`.

use std::path::Path;

use openkit_core::git::{Actor, ChangeStatus, ChangedFile, DiffFileQuery, GitAction};
use openkit_core::issues::IssueRef;
use openkit_core::notes::{GitPolicy, PolicyValue};
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, ErrorKind};

use crate::*;

const LINES: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n";

fn project() -> TestRepo {
    TestRepo::builder()
        .with_origin()
        .file("keep.txt", LINES)
        .file("gone.txt", "bye\n")
        .file("old-name.txt", LINES)
        .file("docs/guide.md", "# guide\n")
        .build()
}

fn write(dir: &Path, rel: &str, content: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn row(f: &ChangedFile) -> (String, &'static str, usize, usize, bool, Option<String>) {
    (
        f.path.clone(),
        f.status.as_str(),
        f.lines_added,
        f.lines_removed,
        f.is_binary,
        f.old_path.clone(),
    )
}

fn human() -> Actor {
    Actor::Human
}

fn agent(scope: &str) -> Actor {
    Actor::Agent {
        scope: scope.into(),
    }
}

#[tokio::test]
async fn diff_lists_every_status_with_exact_line_counts() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/diff", Some("diff")).await;
    let dir = &wt.path;
    assert!(
        within(wb.worktree_diff("diff", false))
            .await
            .unwrap()
            .files
            .is_empty()
    );

    // modified: two lines added, one removed
    write(
        dir,
        "keep.txt",
        b"one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight\nnine\n",
    );
    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    repo.git_in(dir, ["mv", "old-name.txt", "new-name.txt"]);
    // A plain `mv` (deleted + untracked for git status) is a rename too.
    std::fs::rename(dir.join("docs/guide.md"), dir.join("docs/moved.md")).unwrap();
    write(dir, "staged.txt", b"a\nb\n");
    repo.git_in(dir, ["add", "staged.txt"]);
    write(dir, "notes/untracked.md", b"x\ny\nz\n");
    write(dir, "image.bin", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0");

    let diff = within(wb.worktree_diff("DIFF", false)).await.unwrap();
    assert_eq!(diff.base_branch, "main");
    let rows: Vec<_> = diff.files.iter().map(row).collect();
    assert_eq!(
        rows,
        vec![
            (
                "docs/moved.md".into(),
                "renamed",
                0,
                0,
                false,
                Some("docs/guide.md".into())
            ),
            ("gone.txt".into(), "deleted", 0, 1, false, None),
            ("image.bin".into(), "untracked", 0, 0, true, None),
            ("keep.txt".into(), "modified", 2, 1, false, None),
            (
                "new-name.txt".into(),
                "renamed",
                0,
                0,
                false,
                Some("old-name.txt".into())
            ),
            ("notes/untracked.md".into(), "untracked", 3, 0, false, None),
            ("staged.txt".into(), "added", 2, 0, false, None),
        ]
    );
}

#[tokio::test]
async fn include_committed_compares_with_where_the_branch_left_origin_base() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/committed", Some("committed")).await;
    write(&wt.path, "feature.txt", b"f\n");
    repo.git_in(&wt.path, ["add", "-A"]);
    repo.git_in(&wt.path, ["commit", "-q", "-m", "feature"]);
    write(&wt.path, "wip.txt", b"w\n");
    // The base moves on after the branch left it: not part of the branch's changes.
    repo.write("later-on-main.txt", "m\n");
    repo.commit_all("main moves on");
    repo.git(["push", "-q", "origin", "main"]);

    let uncommitted = within(wb.worktree_diff("committed", false)).await.unwrap();
    let paths: Vec<&str> = uncommitted.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["wip.txt"]);
    let all = within(wb.worktree_diff("committed", true)).await.unwrap();
    let rows: Vec<_> = all.files.iter().map(row).collect();
    assert_eq!(
        rows,
        vec![
            ("feature.txt".into(), "added", 1, 0, false, None),
            ("wip.txt".into(), "untracked", 1, 0, false, None),
        ]
    );

    // Without a remote the local base branch is the base.
    repo.git(["remote", "remove", "origin"]);
    let local = within(wb.worktree_diff("committed", true)).await.unwrap();
    assert_eq!(local.files.len(), 2);
    // A base branch that exists nowhere is a clear error.
    write_config(&repo, serde_json::json!({ "baseBranch": "nope" }));
    let err = within(wb.worktree_diff("committed", true))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BASE_BRANCH_NOT_FOUND");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_repository_without_commits_diffs_and_commits_from_scratch() {
    let repo = TestRepo::builder().no_commits().build();
    let wb = workbench(&repo);
    repo.write("first.txt", "1\n2\n");
    let diff = within(wb.worktree_diff("root", false)).await.unwrap();
    let first = diff.files.iter().find(|f| f.path == "first.txt").unwrap();
    assert_eq!(first.status, ChangeStatus::Untracked);
    assert_eq!(first.lines_added, 2);
    assert_eq!(
        code(within(wb.push_worktree(&human(), "root")).await),
        "NO_COMMITS"
    );
    let done = within(wb.commit_worktree(&human(), "root", "initial"))
        .await
        .unwrap();
    assert_eq!(done.branch, "main");
    assert_eq!(rev(&repo, repo.root(), "HEAD"), done.commit);
}

#[tokio::test]
async fn detached_head_diffs_but_refuses_commit_and_push() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/detached", Some("detached")).await;
    repo.git_in(&wt.path, ["checkout", "-q", "--detach"]);
    write(&wt.path, "keep.txt", b"changed\n");
    let diff = within(wb.worktree_diff("detached", false)).await.unwrap();
    assert_eq!(diff.files.len(), 1);
    assert_eq!(
        code(within(wb.commit_worktree(&human(), "detached", "x")).await),
        "DETACHED_HEAD"
    );
    assert_eq!(
        code(within(wb.push_worktree(&human(), "detached")).await),
        "DETACHED_HEAD"
    );
}

fn query(path: &str, status: &str) -> DiffFileQuery {
    DiffFileQuery {
        path: path.into(),
        status: Some(status.into()),
        ..DiffFileQuery::default()
    }
}

#[tokio::test]
async fn diff_file_gives_both_sides_and_refuses_what_it_must() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/files", Some("files")).await;
    let dir = &wt.path;
    write(dir, "keep.txt", b"new keep\n");
    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    repo.git_in(dir, ["mv", "old-name.txt", "renamed.txt"]);
    write(dir, "fresh.txt", b"fresh\n");

    let file = |q: DiffFileQuery| within(wb.worktree_diff_file("files", q));
    let m = file(query("keep.txt", "modified")).await.unwrap();
    assert_eq!(
        (m.old_content.as_str(), m.new_content.as_str()),
        (LINES, "new keep\n")
    );
    let d = file(query("gone.txt", "deleted")).await.unwrap();
    assert_eq!(
        (d.old_content.as_str(), d.new_content.as_str()),
        ("bye\n", "")
    );
    let u = file(query("fresh.txt", "untracked")).await.unwrap();
    assert_eq!(
        (u.old_content.as_str(), u.new_content.as_str()),
        ("", "fresh\n")
    );
    let r = file(DiffFileQuery {
        old_path: Some("old-name.txt".into()),
        ..query("renamed.txt", "renamed")
    })
    .await
    .unwrap();
    assert_eq!(
        (r.old_content.as_str(), r.new_content.as_str()),
        (LINES, LINES)
    );

    for bad in ["../outside.txt", "/etc/passwd", ".git/config", "a/../../x"] {
        assert_eq!(
            code(file(query(bad, "modified")).await),
            "INVALID_FILE_PATH",
            "{bad}"
        );
    }
    assert_eq!(
        code(
            file(DiffFileQuery {
                old_path: Some("../../etc/passwd".into()),
                ..query("renamed.txt", "renamed")
            })
            .await
        ),
        "INVALID_FILE_PATH"
    );
    // A symlinked directory cannot lead outside the checkout.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("link")).unwrap();
    assert_eq!(
        code(file(query("link/secret.txt", "untracked")).await),
        "INVALID_FILE_PATH"
    );
    assert_eq!(
        code(file(query("keep.txt", "weird")).await),
        "INVALID_STATUS"
    );
    assert_eq!(
        code(file(query("missing.txt", "modified")).await),
        "FILE_NOT_FOUND"
    );

    write(dir, "big.txt", &vec![b'a'; 2 * 1024 * 1024 + 1]);
    assert_eq!(
        code(file(query("big.txt", "untracked")).await),
        "FILE_TOO_LARGE"
    );
    write(dir, "blob.bin", b"bin\0ary");
    assert_eq!(
        code(file(query("blob.bin", "untracked")).await),
        "BINARY_FILE"
    );
}

#[tokio::test]
async fn commit_stages_everything_and_applies_the_commit_message_rule() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/commit", Some("commit")).await;
    assert_eq!(
        code(within(wb.commit_worktree(&human(), "commit", "  ")).await),
        "COMMIT_MESSAGE_REQUIRED"
    );
    let nothing = within(wb.commit_worktree(&human(), "commit", "empty"))
        .await
        .unwrap_err();
    assert_eq!(nothing.code(), "NOTHING_TO_COMMIT");
    assert_eq!(nothing.kind(), ErrorKind::InvalidInput);

    let issue = IssueRef::local("LOCAL-7").unwrap();
    wb.notes().link(&issue, Some("commit")).unwrap();
    repo.write(
        ".openkit/scripts/commit-message.mjs",
        "export default ({ message, issueId, source }) => `[${issueId}] ${message} (${source})`\n",
    );
    write(&wt.path, "brand-new/file.txt", b"untracked\n");
    write(&wt.path, "keep.txt", b"edited\n");
    let done = within(wb.commit_worktree(&human(), "commit", "add the thing"))
        .await
        .unwrap();
    assert_eq!(done.message, "[LOCAL-7] add the thing (local)");
    assert_eq!(done.branch, "feature/commit");
    assert_eq!(rev(&repo, &wt.path, "HEAD"), done.commit);
    assert_eq!(repo.git_in(&wt.path, ["status", "--porcelain"]), "");
    assert_eq!(
        repo.git_in(&wt.path, ["show", "HEAD:brand-new/file.txt"]),
        "untracked\n"
    );
}

#[tokio::test]
async fn a_failing_pre_commit_hook_refuses_the_commit_clearly() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/hooked", Some("hooked")).await;
    let hooks = repo.root().join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho 'lint failed: fix it' >&2\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&wt.path, "keep.txt", b"edited\n");
    let err = within(wb.commit_worktree(&human(), "hooked", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "COMMIT_FAILED");
    assert!(err.to_string().contains("lint failed"), "{err}");
}

#[tokio::test]
async fn first_push_sets_the_upstream_and_a_diverged_remote_is_rejected() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/push", Some("push")).await;
    write(&wt.path, "a.txt", b"a\n");
    within(wb.commit_worktree(&human(), "push", "a"))
        .await
        .unwrap();
    let pushed = within(wb.push_worktree(&human(), "push")).await.unwrap();
    assert!(pushed.set_upstream);
    assert_eq!(pushed.upstream, "origin/feature/push");
    assert_eq!(
        repo.git_in(&wt.path, ["rev-parse", "--abbrev-ref", "@{u}"])
            .trim(),
        "origin/feature/push"
    );
    assert_eq!(
        rev(&repo, &wt.path, "HEAD"),
        rev(&repo, repo.origin().unwrap(), "refs/heads/feature/push")
    );

    // Someone else pushes a diverging commit to the branch.
    repo.git(["branch", "elsewhere", "main"]);
    let other = repo.root().join(".openkit/other");
    repo.git([
        "worktree",
        "add",
        "-q",
        other.to_str().unwrap(),
        "elsewhere",
    ]);
    repo.git_in(&other, ["commit", "-q", "--allow-empty", "-m", "theirs"]);
    repo.git_in(
        &other,
        ["push", "-q", "--force", "origin", "elsewhere:feature/push"],
    );

    write(&wt.path, "b.txt", b"b\n");
    within(wb.commit_worktree(&human(), "push", "b"))
        .await
        .unwrap();
    let rejected = within(wb.push_worktree(&human(), "push"))
        .await
        .unwrap_err();
    assert_eq!(rejected.code(), "PUSH_REJECTED", "{rejected}");
    assert_eq!(rejected.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn push_without_a_remote_is_a_clear_error() {
    let repo = TestRepo::new();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/lonely", Some("lonely")).await;
    write(&wt.path, "x.txt", b"x\n");
    within(wb.commit_worktree(&human(), "lonely", "x"))
        .await
        .unwrap();
    assert_eq!(
        code(within(wb.push_worktree(&human(), "lonely")).await),
        "NO_REMOTE"
    );
}

#[tokio::test]
async fn agents_follow_the_issue_policy_over_local_defaults_and_humans_are_never_refused() {
    let repo = project();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/policy", Some("policy")).await;
    write(&wt.path, "p.txt", b"p\n");

    // Local defaults: everything off.
    let denied = within(wb.commit_worktree(&agent("policy"), "policy", "x"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), "AGENT_GIT_POLICY_DENIED");
    assert_eq!(denied.kind(), ErrorKind::Forbidden);
    assert!(
        repo.git_in(&wt.path, ["status", "--porcelain"])
            .contains("p.txt")
    );

    // The local config allows commits; an agent of another worktree is still refused.
    repo.write(
        ".openkit/config.local.json",
        r#"{ "allowAgentCommits": true }"#,
    );
    assert_eq!(
        code(within(wb.authorize_git(&agent("other"), "policy", GitAction::Commit)).await),
        "AGENT_SCOPE_MISMATCH"
    );
    assert!(
        within(wb.authorize_git(&agent("policy"), "policy", GitAction::Commit))
            .await
            .is_ok()
    );
    assert_eq!(
        code(within(wb.authorize_git(&agent("policy"), "policy", GitAction::Push)).await),
        "AGENT_GIT_POLICY_DENIED"
    );

    // The linked issue's policy overrides both ways.
    let issue = IssueRef::local("LOCAL-3").unwrap();
    wb.notes().link(&issue, Some("policy")).unwrap();
    wb.notes()
        .set_git_policy(
            &issue,
            GitPolicy {
                agent_commits: Some(PolicyValue::Deny),
                agent_pushes: Some(PolicyValue::Allow),
                agent_prs: None,
            },
        )
        .unwrap();
    let denied = within(wb.authorize_git(&agent("policy"), "policy", GitAction::Commit))
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("local/LOCAL-3"), "{denied}");
    assert!(
        within(wb.authorize_git(&agent("policy"), "policy", GitAction::Push))
            .await
            .is_ok()
    );
    assert_eq!(
        code(within(wb.authorize_git(&agent("policy"), "policy", GitAction::CreatePr)).await),
        "AGENT_GIT_POLICY_DENIED"
    );
    // Humans are never refused.
    within(wb.commit_worktree(&human(), "policy", "by hand"))
        .await
        .unwrap();
}

#[tokio::test]
async fn many_changes_count_exactly_and_attributes_are_honoured() {
    let mut builder = TestRepo::builder();
    for i in 0..100 {
        builder = builder.file(&format!("src/f{i}.txt"), LINES);
    }
    let repo = builder.build();
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/many", Some("many")).await;
    for i in 0..100 {
        // i + 1 lines appended to file i: the counts must match file by file.
        let extra: String = (0..=i).map(|n| format!("extra {n}\n")).collect();
        write(
            &wt.path,
            &format!("src/f{i}.txt"),
            format!("{LINES}{extra}").as_bytes(),
        );
    }
    let diff = within(wb.worktree_diff("many", false)).await.unwrap();
    assert_eq!(diff.files.len(), 100);
    for file in &diff.files {
        let i: usize = file.path["src/f".len()..file.path.len() - 4]
            .parse()
            .unwrap();
        assert_eq!(
            (file.lines_added, file.lines_removed),
            (i + 1, 0),
            "{}",
            file.path
        );
    }
    // With attributes, git's filters and diff drivers decide: `-diff` makes a text file
    // binary for the diff, as `git diff --numstat` says.
    write(&wt.path, ".gitattributes", b"*.dat -diff\n");
    write(&wt.path, "table.dat", b"plain text\n");
    let diff = within(wb.worktree_diff("many", false)).await.unwrap();
    let table = diff.files.iter().find(|f| f.path == "table.dat").unwrap();
    assert!(table.is_binary);
    let f0 = diff.files.iter().find(|f| f.path == "src/f0.txt").unwrap();
    assert_eq!((f0.lines_added, f0.lines_removed), (1, 0));
}

#[tokio::test]
async fn an_unreachable_remote_fails_fast_with_a_clear_code() {
    let repo = TestRepo::new();
    // Nothing listens on port 1 of the loopback: refused at once, no network involved.
    repo.git(["remote", "add", "origin", "http://127.0.0.1:1/nobody.git"]);
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/far", Some("far")).await;
    write(&wt.path, "f.txt", b"f\n");
    within(wb.commit_worktree(&human(), "far", "f"))
        .await
        .unwrap();
    let err = within(wb.push_worktree(&human(), "far")).await.unwrap_err();
    assert_eq!(err.code(), "REMOTE_UNREACHABLE", "{err}");
    assert_eq!(err.kind(), ErrorKind::Upstream);
}
