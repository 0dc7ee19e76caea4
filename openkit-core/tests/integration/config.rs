//! Project configuration: init, setup status, commit-setup, and project discovery.

use openkit_core::config::{CommitSetupOutcome, InitOptions};
use openkit_core::testing::TestRepo;
use openkit_core::{ConfigStore, DomainError, discover_project};

use crate::*;

fn npm_project(repo: &TestRepo) {
    repo.write(
        "package.json",
        r#"{"name": "app", "scripts": {"dev": "vite", "start": "node s.js"}}"#,
    );
    repo.write("package-lock.json", "{}");
    repo.commit_all("npm project");
}

#[test]
fn init_detects_writes_and_respects_force() {
    let repo = TestRepo::builder().with_origin().build();
    npm_project(&repo);
    let store = ConfigStore::new(repo.paths());
    assert!(store.load().unwrap().is_none());

    let config = store.init(InitOptions::default()).unwrap();
    assert_eq!(config.install_command, "npm install");
    assert_eq!(config.start_command, "npm run dev");
    assert_eq!(config.base_branch, "main");
    assert_eq!(store.load().unwrap().as_ref(), Some(&config));
    let raw = std::fs::read_to_string(repo.root().join(".openkit/config.json")).unwrap();
    assert!(
        raw.starts_with("{\n  \"") && raw.ends_with("}\n"),
        "pretty JSON with a trailing newline: {raw}"
    );
    assert_eq!(
        read_json(&repo.root().join(".openkit/config.json"))["installCommand"],
        "npm install"
    );
    assert_eq!(
        std::fs::read_to_string(repo.root().join(".openkit/.gitignore")).unwrap(),
        "*\n!.gitignore\n!config.json\n"
    );

    let err = store.init(InitOptions::default()).unwrap_err();
    assert_eq!(err.code(), "CONFIG_EXISTS");
    assert_eq!(store.load().unwrap().as_ref(), Some(&config), "unchanged");

    // With force: explicit options win, fields init does not set survive.
    let serde_json::Value::Object(patch) = serde_json::json!({"autoInstall": false}) else {
        unreachable!()
    };
    store.patch(patch).unwrap();
    let forced = store
        .init(InitOptions {
            start_command: Some("npm start".into()),
            force: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(forced.start_command, "npm start");
    assert_eq!(forced.install_command, "npm install");
    assert!(!forced.auto_install, "kept from the existing config");
    assert_eq!(store.load().unwrap().unwrap().start_command, "npm start");
}

#[tokio::test]
async fn setup_is_committed_and_pushed_once() {
    let repo = TestRepo::builder().with_origin().build();
    let git = repo.git_cli();
    let store = ConfigStore::new(repo.paths());
    let empty = within(store.setup_status(&git)).await.unwrap();
    assert!(
        !empty.needs_push && empty.files.is_empty(),
        "nothing to set up: {empty:?}"
    );

    store.init(InitOptions::default()).unwrap();
    let status = within(store.setup_status(&git)).await.unwrap();
    assert!(status.needs_push);
    assert_eq!(
        status.files,
        [".openkit/config.json", ".openkit/.gitignore"]
    );

    // Other changes are not swept into the setup commit.
    repo.write("unrelated.txt", "not mine\n");
    let outcome = within(store.commit_setup(&git, None)).await.unwrap();
    assert_eq!(outcome, CommitSetupOutcome::Pushed);
    let status = within(store.setup_status(&git)).await.unwrap();
    assert!(!status.needs_push, "{status:?}");
    assert!(status.files.is_empty());
    let committed = repo.git(["show", "--name-only", "--format=%s", "HEAD"]);
    assert_eq!(
        committed
            .lines()
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>(),
        [
            "chore: add OpenKit configuration",
            ".openkit/.gitignore",
            ".openkit/config.json"
        ]
    );
    let origin = repo.origin().unwrap();
    assert_eq!(
        rev(&repo, origin, "refs/heads/main"),
        rev(&repo, repo.root(), "HEAD")
    );
    assert!(
        repo.git(["status", "--porcelain"])
            .contains("?? unrelated.txt")
    );

    let again = within(store.commit_setup(&git, Some("again")))
        .await
        .unwrap();
    assert_eq!(again, CommitSetupOutcome::AlreadyCommitted);
    assert_eq!(
        rev(&repo, origin, "refs/heads/main"),
        rev(&repo, repo.root(), "HEAD")
    );

    // Worktrees live in the ignored part of .openkit: setup stays clean.
    let wb = workbench(&repo);
    create(&wb, "after-setup", None).await;
    let status = within(store.setup_status(&git)).await.unwrap();
    assert!(!status.needs_push, "{status:?}");
    assert!(!repo.git(["status", "--porcelain"]).contains(".openkit"));
}

#[tokio::test]
async fn setup_without_origin_commits_but_reports_the_failed_push() {
    let repo = TestRepo::new();
    let git = repo.git_cli();
    let store = ConfigStore::new(repo.paths());
    store.init(InitOptions::default()).unwrap();
    let before = rev(&repo, repo.root(), "HEAD");

    let outcome = within(store.commit_setup(&git, Some("setup openkit")))
        .await
        .unwrap();
    assert_eq!(outcome, CommitSetupOutcome::PushFailed);
    assert_ne!(rev(&repo, repo.root(), "HEAD"), before, "committed");
    assert_eq!(
        repo.git(["log", "-1", "--format=%s"]).trim(),
        "setup openkit"
    );
    assert!(
        repo.git(["status", "--porcelain", "--", ".openkit"])
            .trim()
            .is_empty()
    );

    let status = within(store.setup_status(&git)).await.unwrap();
    assert!(status.files.is_empty());
    assert!(
        status.needs_push,
        "the commit is still unpushed: {status:?}"
    );
}

#[tokio::test]
async fn discover_project_from_inside_a_worktree() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.root().join("src/deep")).unwrap();
    assert_eq!(
        discover_project(&repo.root().join("src/deep")).as_deref(),
        Some(repo.root())
    );

    // Without a config: the main checkout of the repository.
    let wb = workbench(&repo);
    let plain = create(&wb, "plain", None).await;
    let sub = plain.path.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(discover_project(&sub).as_deref(), Some(repo.root()));
    assert_eq!(discover_project(&plain.path).as_deref(), Some(repo.root()));

    // With a committed config, which every checkout then contains too.
    let store = ConfigStore::new(repo.paths());
    store.init(InitOptions::default()).unwrap();
    assert_eq!(
        discover_project(&plain.path.join("src/deep")).as_deref(),
        Some(repo.root())
    );
    repo.commit_all("add openkit config");
    let configured = create(&wb, "configured", None).await;
    assert!(configured.path.join(".openkit/config.json").is_file());
    let sub = configured.path.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(discover_project(&sub).as_deref(), Some(repo.root()));
    assert_eq!(
        discover_project(&configured.path).as_deref(),
        Some(repo.root())
    );
    assert_eq!(
        discover_project(&repo.root().join(".openkit")).as_deref(),
        Some(repo.root())
    );

    // Outside any repository or config.
    let outside = repo.home().join("not-a-repo");
    std::fs::create_dir_all(&outside).unwrap();
    assert_eq!(discover_project(&outside), None);
    assert_eq!(discover_project(&repo.home().join("missing")), None);
}
