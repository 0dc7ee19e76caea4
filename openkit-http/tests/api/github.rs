//! GitHub through the router: status, gh login/logout/install with a fake `gh` on a
//! temporary PATH, initial commit, create-repo, create-pr, pull-request state in the
//! worktree list and the event stream, auto-cleanup, rate limits and an unreachable
//! GitHub, all against the fake GitHub server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use openkit_integrations::github::{GitHub, StaticToken};
use openkit_integrations::testing::{FAKE_TOKEN, FakeGitHub, Fault};
use serde_json::{Value, json};

use crate::events::Sse;
use crate::harness::{Api, assert_error, tools_dir};

const REPO: &str = "acme/widgets";
const ORIGIN: &str = "https://github.com/acme/widgets.git";

/// A repository whose `origin` is `https://github.com/acme/widgets.git`, rewritten by
/// `url.<bare>.insteadOf` to a local bare repository, so pushes work offline.
fn repo_on_github() -> TestRepo {
    let repo = TestRepo::builder().with_origin().build();
    let bare = repo.origin().unwrap().to_string_lossy().into_owned();
    repo.git(["config", &format!("url.{bare}.insteadOf"), ORIGIN]);
    repo.git(["remote", "set-url", "origin", ORIGIN]);
    repo
}

/// An API over `repo` with `bin` (fake `gh`/`brew`) and the basic tools as its whole
/// `PATH`, and the GitHub adapter at `api_url` (none when `None`).
struct GitHubApi {
    api: Api,
    bin: tempfile::TempDir,
    _tools: tempfile::TempDir,
}

impl GitHubApi {
    fn new(repo: TestRepo, api_url: Option<&str>) -> Self {
        let bin = tempfile::tempdir().unwrap();
        GitHubApi::with_bin(repo, api_url, bin)
    }

    fn with_bin(repo: TestRepo, api_url: Option<&str>, bin: tempfile::TempDir) -> Self {
        let tools = tools_dir();
        let path = std::env::join_paths([bin.path(), tools.path()]).unwrap();
        let api_url = api_url.map(str::to_string);
        let api = Api::with_composition(
            repo,
            |host| host.with_var("PATH", path),
            |c| {
                let c = c.pr_refresh_interval(Duration::from_secs(3600));
                match api_url {
                    Some(url) => c.code_host(Arc::new(
                        GitHub::new(&url, Arc::new(StaticToken::new(FAKE_TOKEN))).unwrap(),
                    )),
                    None => c,
                }
            },
        );
        GitHubApi {
            api,
            bin,
            _tools: tools,
        }
    }
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fake `gh`: logs its arguments to `<dir>/gh-calls`; `auth login` prints the one-time
/// code and waits for the "browser"; `auth logout`/`auth status` succeed.
fn fake_gh_script(dir: &Path) -> String {
    format!(
        r#"echo "$@" >> '{calls}'
case "$1 $2" in
  "auth login") echo "! First copy your one-time code: 1A2B-3C4D" >&2
     echo "Open this URL to continue in your web browser: https://github.com/login/device" >&2
     sleep 30; exit 0;;
  "auth logout") echo "Logged out of github.com account octocat" >&2; exit 0;;
  "auth status") exit 0;;
esac
exit 1
"#,
        calls = dir.join("gh-calls").display()
    )
}

/// Waits until the fake has received `n` requests (the background refresh at start).
async fn requests_settle(fake: &FakeGitHub, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.request_count() < n {
        assert!(Instant::now() < deadline, "{:?}", fake.requests());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Nothing more is coming.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.request_count(), n, "{:?}", fake.requests());
}

fn worktree<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
}

/// Commits a file in worktree `id` and pushes its branch with an upstream.
fn commit_and_push(repo: &TestRepo, path: &Path, branch: &str) {
    std::fs::write(
        path.join(format!("{}.txt", branch.replace('/', "-"))),
        "work\n",
    )
    .unwrap();
    repo.git_in(path, ["add", "-A"]);
    repo.git_in(path, ["commit", "-q", "-m", "work"]);
    repo.git_in(path, ["push", "-q", "-u", "origin", branch]);
}

fn worktree_path(api: &Api, id: &str) -> PathBuf {
    api.repo.root().join(".openkit/worktrees").join(id)
}

#[tokio::test]
async fn status_and_verify_with_github_configured() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO);
    let gh = GitHubApi::new(repo_on_github(), Some(fake.url()));
    let (status, body) = gh.api.get("/api/github/status").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("github_status_configured", body);
    let (_, verify) = gh.api.get("/api/integrations/verify").await;
    assert_eq!(
        verify,
        json!({
            "github": { "ok": true },
            "jira": null,
            "linear": null,
            "kiket": null,
            "kizuna": null,
            "kite": null
        })
    );
}

#[tokio::test]
async fn without_a_code_host_github_says_it_is_not_configured() {
    let gh = GitHubApi::new(TestRepo::new(), None);
    let api = &gh.api;
    let (_, body) = api.get("/api/github/status").await;
    insta::assert_json_snapshot!("github_status_not_configured", body);
    let (_, verify) = api.get("/api/integrations/verify").await;
    assert_eq!(
        verify,
        json!({
            "github": null,
            "jira": null,
            "linear": null,
            "kiket": null,
            "kizuna": null,
            "kite": null
        })
    );
    api.create("feature/x").await;
    assert_error(
        &api.post("/api/worktrees/x/create-pr", json!({ "title": "T" }))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "GITHUB_NOT_CONFIGURED",
    );
    assert_error(
        &api.post("/api/github/pull-requests/refresh", json!({}))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "GITHUB_NOT_CONFIGURED",
    );
    assert_error(
        &api.post("/api/github/create-repo", json!({})).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "GITHUB_NOT_CONFIGURED",
    );
    assert_error(
        &api.post("/api/github/login", json!({})).await,
        StatusCode::BAD_REQUEST,
        "GH_NOT_INSTALLED",
    );
    // No gh and no Homebrew: the answer says what to install instead.
    let install = api.post("/api/github/install", json!({})).await;
    assert_error(&install, StatusCode::BAD_REQUEST, "GH_INSTALL_UNSUPPORTED");
    let message = install.1["error"].as_str().unwrap();
    assert!(message.contains("sudo apt install gh"), "{message}");
}

#[tokio::test]
async fn gh_login_logout_and_install_through_a_fake_gh() {
    let gh = GitHubApi::new(TestRepo::new(), None);
    let bin = gh.bin.path();
    let api = &gh.api;

    // gh's source, which the fake Homebrew "installs".
    let source = bin.join("gh.source");
    std::fs::write(&source, format!("#!/bin/sh\n{}", fake_gh_script(bin))).unwrap();
    write_script(
        &bin.join("brew"),
        &format!(
            "echo \"$@\" >> '{calls}'\ncat '{src}' > '{dst}'\nchmod 755 '{dst}'\n",
            calls = bin.join("brew-calls").display(),
            src = source.display(),
            dst = bin.join("gh").display()
        ),
    );
    let (status, body) = api.post("/api/github/install", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "success": true, "code": "1A2B-3C4D" }));
    assert_eq!(
        std::fs::read_to_string(bin.join("brew-calls")).unwrap(),
        "install gh\n"
    );

    let (status, body) = api.post("/api/github/login", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("github_login", body);
    let (status, body) = api.post("/api/github/logout", json!({})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
    let calls = std::fs::read_to_string(bin.join("gh-calls")).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [
            "auth login --hostname github.com --git-protocol https --web",
            "auth login --hostname github.com --git-protocol https --web",
            "auth logout --hostname github.com",
        ]
    );

    // Without a code host, "authenticated" is gh's own word.
    let (_, status) = api.get("/api/github/status").await;
    assert_eq!(status["installed"], true);
    assert_eq!(status["authenticated"], true);
    let (_, verify) = api.get("/api/integrations/verify").await;
    assert_eq!(verify["github"], json!({ "ok": true }));

    // A gh that prints no code: a clear failure, not a hang.
    write_script(
        &bin.join("gh"),
        "echo 'error connecting to api.github.com' >&2\nexit 1\n",
    );
    let failed = api.post("/api/github/login", json!({})).await;
    assert_error(&failed, StatusCode::BAD_REQUEST, "GH_FAILED");
    assert!(
        failed.1["error"]
            .as_str()
            .unwrap()
            .contains("error connecting"),
        "{}",
        failed.1
    );
}

#[tokio::test]
async fn initial_commit_then_create_repo_sets_origin_and_pushes() {
    let fake = FakeGitHub::start().await;
    let repo = TestRepo::builder().no_commits().build();
    repo.write("src/main.rs", "fn main() {}\n");
    // Where the created repository's clone URL points: a local bare repository.
    let remotes = tempfile::tempdir().unwrap();
    let bare = remotes.path().join("octocat/repo.git");
    std::fs::create_dir_all(&bare).unwrap();
    repo.git_in(&bare, ["init", "-q", "--bare"]);
    fake.set_clone_base(&remotes.path().to_string_lossy());
    let gh = GitHubApi::new(repo, Some(fake.url()));
    let api = &gh.api;

    let (_, status) = api.get("/api/github/status").await;
    assert_eq!(
        (&status["hasCommits"], &status["hasRemote"], &status["repo"]),
        (&json!(false), &json!(false), &Value::Null)
    );
    let (status, body) = api.post("/api/github/initial-commit", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["branch"], "main");
    assert_eq!(body["commit"].as_str().unwrap().len(), 40);
    assert_error(
        &api.post("/api/github/initial-commit", json!({})).await,
        StatusCode::BAD_REQUEST,
        "REPO_HAS_COMMITS",
    );

    let (status, body) = api
        .post("/api/github/create-repo", json!({ "private": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("github_create_repo", body, { ".remoteUrl" => "[bare]" });
    assert!(fake.has_repo("octocat/repo"));
    assert_eq!(
        api.repo.git(["remote", "get-url", "origin"]).trim(),
        bare.to_string_lossy()
    );
    let pushed = api.repo.git_in(&bare, ["rev-parse", "main"]);
    assert_eq!(pushed, api.repo.git(["rev-parse", "HEAD"]));
    assert_error(
        &api.post("/api/github/create-repo", json!({})).await,
        StatusCode::CONFLICT,
        "GITHUB_REMOTE_EXISTS",
    );
}

#[tokio::test]
async fn create_pr_needs_a_pushed_branch_and_shows_in_the_list() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO);
    let gh = GitHubApi::new(repo_on_github(), Some(fake.url()));
    let api = &gh.api;
    requests_settle(&fake, 1).await;
    api.create("feature/login").await;
    let path = worktree_path(api, "login");

    std::fs::write(path.join("login.txt"), "form\n").unwrap();
    api.repo.git_in(&path, ["add", "-A"]);
    api.repo.git_in(&path, ["commit", "-q", "-m", "login form"]);
    let unpushed = api
        .post(
            "/api/worktrees/LOGIN/create-pr",
            json!({ "title": "Login form" }),
        )
        .await;
    assert_error(&unpushed, StatusCode::BAD_REQUEST, "BRANCH_NOT_PUSHED");
    assert_eq!(unpushed.1["worktreeId"], "login");
    assert!(
        unpushed.1["error"]
            .as_str()
            .unwrap()
            .contains("no upstream"),
        "{}",
        unpushed.1
    );
    api.repo
        .git_in(&path, ["push", "-q", "-u", "origin", "feature/login"]);
    std::fs::write(path.join("more.txt"), "more\n").unwrap();
    api.repo.git_in(&path, ["add", "-A"]);
    api.repo.git_in(&path, ["commit", "-q", "-m", "more"]);
    let ahead = api
        .post(
            "/api/worktrees/login/create-pr",
            json!({ "title": "Login form" }),
        )
        .await;
    assert_error(&ahead, StatusCode::BAD_REQUEST, "BRANCH_NOT_PUSHED");
    assert!(
        ahead.1["error"]
            .as_str()
            .unwrap()
            .contains("1 commit not pushed")
    );
    api.repo.git_in(&path, ["push", "-q"]);

    assert_error(
        &api.post("/api/worktrees/login/create-pr", json!({ "title": "  " }))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_PR_TITLE",
    );
    assert_error(
        &api.post("/api/worktrees/nope/create-pr", json!({ "title": "T" }))
            .await,
        StatusCode::NOT_FOUND,
        "WORKTREE_NOT_FOUND",
    );

    // An agent opens one only where its git policy allows (allowAgentPRs is off).
    let denied = api
        .post_as(
            Some("agent:login"),
            "/api/worktrees/login/create-pr",
            json!({ "title": "T" }),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "AGENT_GIT_POLICY_DENIED");
    assert!(fake.pulls(REPO).is_empty(), "nothing reached GitHub");

    let (status, body) = api
        .post(
            "/api/worktrees/login/create-pr",
            json!({ "title": "Login form", "body": "Adds the form" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    insta::assert_json_snapshot!("github_create_pr", body);
    let created = &fake.pulls(REPO)[0];
    assert_eq!(
        (created.head.as_str(), created.base.as_str()),
        ("feature/login", "main")
    );

    // The list shows it at once (no listing needed).
    let (_, list) = api.get("/api/worktrees").await;
    let login = worktree(&list, "login").unwrap();
    assert_eq!(login["githubPrState"], "open");
    assert_eq!(
        login["githubPrUrl"],
        "https://github.com/acme/widgets/pull/1"
    );
    assert_eq!(worktree(&list, "root").unwrap()["githubPrUrl"], Value::Null);
    // The generic fields too, naming the host.
    assert_eq!(login["prUrl"], login["githubPrUrl"]);
    assert_eq!(login["prState"], "open");
    assert_eq!(login["codeHost"], "github");

    // GitHub's own refusal comes back with its message, as an upstream failure.
    let again = api
        .post(
            "/api/worktrees/login/create-pr",
            json!({ "title": "Again" }),
        )
        .await;
    assert_error(&again, StatusCode::BAD_GATEWAY, "GITHUB_VALIDATION_FAILED");
    assert!(
        again.1["error"]
            .as_str()
            .unwrap()
            .contains("A pull request already exists for acme:feature/login."),
        "{}",
        again.1
    );

    // The token is in no log.
    let (_, logs) = api.get("/api/logs?limit=1000").await;
    assert!(!logs.to_string().contains(FAKE_TOKEN));
    api.backbone.flush();
    let ops = std::fs::read_to_string(api.repo.root().join(".openkit/ops-log.jsonl")).unwrap();
    assert!(!ops.contains(FAKE_TOKEN));
}

#[tokio::test]
async fn one_request_refreshes_fifty_worktrees_then_304() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO);
    let repo = repo_on_github();
    let mut ids = vec!["root".to_string()];
    for i in 0..50 {
        let id = format!("wt-{i:02}");
        let branch = format!("feature/{id}");
        repo.git([
            "worktree",
            "add",
            "-q",
            "-b",
            &branch,
            &format!(".openkit/worktrees/{id}"),
        ]);
        fake.add_pull(REPO, &branch);
        ids.push(id);
    }
    let gh = GitHubApi::new(repo, Some(fake.url()));
    let api = &gh.api;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    api.until_listed(&ids).await;

    // The background refresh at start: one listing for all fifty.
    requests_settle(&fake, 1).await;
    let (_, list) = api.get("/api/worktrees").await;
    let open = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["githubPrState"] == "open")
        .count();
    assert_eq!(open, 50);
    assert_eq!(
        worktree(&list, "wt-07").unwrap()["githubPrUrl"],
        "https://github.com/acme/widgets/pull/8"
    );

    // Nothing changed: a conditional request answered 304.
    let (status, body) = api
        .post("/api/github/pull-requests/refresh", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("github_refresh_not_modified", body);
    assert_eq!(fake.request_count(), 2);
    assert_eq!(fake.requests()[1].status, 304);
    assert!(fake.requests()[1].if_none_match.is_some());

    // One is merged: the next refresh reads it, and the event stream says so.
    let mut sse = Sse::open_at(api, "/api/events", None).await;
    fake.merge(REPO, 8);
    let (_, body) = api
        .post("/api/github/pull-requests/refresh", json!({}))
        .await;
    assert_eq!(
        (&body["outcome"], &body["changed"]),
        (&json!("fresh"), &json!(true))
    );
    assert_eq!(fake.request_count(), 3);
    loop {
        let frame = sse.next().await;
        if frame.data["type"] == "worktrees"
            && worktree(&frame.data, "wt-07").is_some_and(|w| w["githubPrState"] == "merged")
        {
            break;
        }
    }
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(worktree(&list, "wt-07").unwrap()["githubPrState"], "merged");
    assert_eq!(worktree(&list, "wt-08").unwrap()["githubPrState"], "open");
}

#[tokio::test]
async fn auto_cleanup_removes_clean_merged_worktrees_only() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO);
    let gh = GitHubApi::new(repo_on_github(), Some(fake.url()));
    let api = &gh.api;
    requests_settle(&fake, 1).await;
    let mut numbers = Vec::new();
    for id in ["clean", "dirty", "optout", "closed", "unpushed"] {
        let branch = format!("feature/{id}");
        api.create(&branch).await;
        let path = worktree_path(api, id);
        if id == "unpushed" {
            // Committed but never pushed: no upstream.
            std::fs::write(path.join("x.txt"), "x\n").unwrap();
            api.repo.git_in(&path, ["add", "-A"]);
            api.repo.git_in(&path, ["commit", "-q", "-m", "local only"]);
        } else {
            commit_and_push(&api.repo, &path, &branch);
        }
        numbers.push((id, fake.add_pull(REPO, &branch)));
    }
    std::fs::write(worktree_path(api, "dirty").join("wip.txt"), "unsaved\n").unwrap();
    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/local-config",
            Some(json!({ "autoCleanupOnPrMerge": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    std::fs::write(
        api.repo.root().join(".openkit/worktree-settings.json"),
        r#"{ "optout": { "autoCleanupOnMerge": false } }"#,
    )
    .unwrap();
    for (id, number) in &numbers {
        if *id == "closed" {
            fake.close(REPO, *number);
        } else {
            fake.merge(REPO, *number);
        }
    }

    let (status, body) = api
        .post("/api/github/pull-requests/refresh", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("github_refresh_auto_cleanup", body);
    let (_, list) = api.get("/api/worktrees").await;
    let ids: Vec<&str> = list["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["root", "closed", "dirty", "optout", "unpushed"]);
    assert_eq!(worktree(&list, "dirty").unwrap()["githubPrState"], "merged");
    assert_eq!(
        worktree(&list, "closed").unwrap()["githubPrState"],
        "closed"
    );
    assert!(
        api.repo
            .git(["branch", "--list", "feature/clean"])
            .contains("feature/clean"),
        "the branch is kept"
    );

    // Each decision once in the activity feed (a second refresh repeats no skip).
    api.post("/api/github/pull-requests/refresh", json!({}))
        .await;
    let (_, activity) = api.get("/api/activity?category=worktree&limit=200").await;
    let events: Vec<(String, String)> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("auto_cleanup"))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["worktreeId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut events = events;
    events.sort();
    assert_eq!(
        events,
        [
            ("auto_cleanup".to_string(), "clean".to_string()),
            ("auto_cleanup_skipped".to_string(), "dirty".to_string()),
            ("auto_cleanup_skipped".to_string(), "unpushed".to_string()),
        ]
    );
}

#[tokio::test]
async fn rate_limits_back_off_and_nothing_is_sent_meanwhile() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(REPO);
    let gh = GitHubApi::new(repo_on_github(), Some(fake.url()));
    let api = &gh.api;
    requests_settle(&fake, 1).await;
    fake.merge(REPO, fake.add_pull(REPO, "feature/x"));
    fake.fail_next(Fault::PrimaryLimit {
        reset_in: Duration::from_secs(600),
    });
    let limited = api
        .post("/api/github/pull-requests/refresh", json!({}))
        .await;
    assert_error(&limited, StatusCode::BAD_GATEWAY, "GITHUB_RATE_LIMITED");
    let wait: u64 = limited.1["retryAfter"].as_str().unwrap().parse().unwrap();
    assert!((590..=600).contains(&wait), "{wait}");
    assert_eq!(fake.request_count(), 2);

    let (status, body) = api
        .post("/api/github/pull-requests/refresh", json!({}))
        .await;
    assert_eq!(
        (status, &body["outcome"]),
        (StatusCode::OK, &json!("waiting"))
    );
    let (_, status) = api.get("/api/github/status").await;
    assert_eq!(status["errorCode"], "GITHUB_RATE_LIMITED");
    assert_eq!(fake.request_count(), 2, "nothing sent while limited");
}

#[tokio::test]
async fn an_unreachable_github_is_reported_without_hanging() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let gh = GitHubApi::new(repo_on_github(), Some(&url));
    let api = &gh.api;
    let started = Instant::now();
    let (status, body) = api.get("/api/github/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["authenticated"], false);
    assert_eq!(body["errorCode"], "GITHUB_UNREACHABLE");
    assert_eq!(body["repo"], REPO);
    let (_, verify) = api.get("/api/integrations/verify").await;
    assert_eq!(verify["github"]["ok"], false);
    assert_eq!(verify["github"]["code"], "GITHUB_UNREACHABLE");
    api.create("feature/y").await;
    let path = worktree_path(api, "y");
    commit_and_push(&api.repo, &path, "feature/y");
    assert_error(
        &api.post("/api/worktrees/y/create-pr", json!({ "title": "Y" }))
            .await,
        StatusCode::BAD_GATEWAY,
        "GITHUB_UNREACHABLE",
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // The list does not wait for GitHub.
    let started = Instant::now();
    let (_, list) = api.get("/api/worktrees").await;
    assert_eq!(worktree(&list, "y").unwrap()["githubPrState"], Value::Null);
    assert!(started.elapsed() < Duration::from_secs(2));
}
