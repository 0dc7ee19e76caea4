//! The GitHub adapter against the fake GitHub server (and a fake `gh` on a temporary
//! PATH): paging, conditional requests, errors as GitHub sends them, rate limits,
//! timeouts, and where the token comes from.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openkit_core::codehost::gh::GhCli;
use openkit_core::codehost::{
    CodeHost, CodeHostError, ListPulls, NewPullRequest, NewRepository, PrState, PullRequestList,
    RepoSlug,
};
use openkit_core::command::CommandRunner;
use openkit_core::{DomainError, HostEnv};
use openkit_integrations::github::{GhToken, GitHub, StaticToken, TokenChain, TokenSource};
use openkit_integrations::testing::{FAKE_TOKEN, FakeGitHub, Fault};

fn slug(full: &str) -> RepoSlug {
    let (owner, name) = full.split_once('/').unwrap();
    RepoSlug {
        host: "github.com".into(),
        owner: owner.into(),
        name: name.into(),
    }
}

fn adapter(fake: &FakeGitHub, token: &str) -> GitHub {
    GitHub::new(fake.url(), Arc::new(StaticToken::new(token))).unwrap()
}

async fn list(
    gh: &GitHub,
    repo: &str,
    validator: Option<&str>,
) -> Result<PullRequestList, CodeHostError> {
    gh.list_pull_requests(
        &slug(repo),
        ListPulls {
            validator,
            known_until: None,
        },
    )
    .await
}

#[tokio::test]
async fn lists_every_page_then_answers_not_modified() {
    let fake = FakeGitHub::start().await;
    for i in 0..250 {
        fake.add_pull("acme/widgets", &format!("feature/{i}"));
    }
    let gh = adapter(&fake, FAKE_TOKEN);
    let PullRequestList::Fresh { pulls, validator } =
        list(&gh, "acme/widgets", None).await.unwrap()
    else {
        panic!("a first listing is fresh");
    };
    assert_eq!(pulls.len(), 250);
    assert_eq!(fake.request_count(), 3, "three pages of 100 following Link");
    let uris: Vec<String> = fake.requests().iter().map(|r| r.uri.clone()).collect();
    assert!(
        uris[0].contains("state=all") && uris[0].contains("per_page=100"),
        "{uris:?}"
    );
    assert!(uris[2].ends_with("page=3"), "{uris:?}");
    assert!(pulls.iter().all(|p| p.state == PrState::Open));

    // Nothing changed: one conditional request, a 304.
    let validator = validator.expect("an ETag");
    assert_eq!(
        list(&gh, "acme/widgets", Some(&validator)).await.unwrap(),
        PullRequestList::NotModified
    );
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.status, last.if_none_match),
        (304, Some(validator.clone()))
    );
    assert_eq!(fake.request_count(), 4);

    // An old pull request is merged: it moves to page one, so the validator no longer
    // matches, and reading stops at what was known.
    fake.merge("acme/widgets", 3);
    let known = "2024-01-01T00:04:10Z"; // the newest update of the first listing
    let PullRequestList::Fresh { pulls, .. } = gh
        .list_pull_requests(
            &slug("acme/widgets"),
            ListPulls {
                validator: Some(&validator),
                known_until: Some(known),
            },
        )
        .await
        .unwrap()
    else {
        panic!("changed");
    };
    assert_eq!(fake.request_count(), 5, "one page was enough");
    assert_eq!(pulls[0].number, 3);
    assert_eq!(pulls[0].state, PrState::Merged);
}

#[tokio::test]
async fn upstream_refusals_become_clear_errors_without_the_token() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("acme/widgets");
    fake.set_branches("acme/widgets", &["feature/a"]);

    let wrong = "ghp_WrongTokenWrongTokenWrongToken0000";
    let err = adapter(&fake, wrong).account().await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_UNAUTHORIZED");
    assert!(err.to_string().contains("Bad credentials"), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));

    let gh = adapter(&fake, FAKE_TOKEN);
    let err = list(&gh, "acme/nothing", None).await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_NOT_FOUND");
    assert!(err.to_string().contains("acme/nothing"), "{err}");

    let pr = |head: &str| NewPullRequest {
        title: "Add widgets".into(),
        body: Some("Body".into()),
        head: head.into(),
        base: "main".into(),
        draft: false,
    };
    let created = gh
        .create_pull_request(&slug("acme/widgets"), &pr("feature/a"))
        .await
        .unwrap();
    assert_eq!(created.number, 1);
    assert_eq!(created.url, "https://github.com/acme/widgets/pull/1");
    let err = gh
        .create_pull_request(&slug("acme/widgets"), &pr("feature/a"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "GITHUB_VALIDATION_FAILED");
    assert!(
        err.to_string()
            .ends_with("Validation Failed: A pull request already exists for acme:feature/a."),
        "{err}"
    );
    let err = gh
        .create_pull_request(&slug("acme/widgets"), &pr("feature/unknown"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("head is invalid"), "{err}");

    fake.fail_next(Fault::Status {
        status: 403,
        message: "Resource not accessible by personal access token".into(),
    });
    let err = gh.account().await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_FORBIDDEN");
    fake.fail_next(Fault::Status {
        status: 502,
        message: "Server Error".into(),
    });
    let err = gh.account().await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_FAILED");
    assert!(err.to_string().contains("HTTP 502"), "{err}");

    let repo = gh
        .create_repository(&NewRepository {
            name: "gadgets".into(),
            private: true,
        })
        .await
        .unwrap();
    assert_eq!(repo.full_name, "octocat/gadgets");
    assert_eq!(repo.clone_url, "https://github.com/octocat/gadgets.git");
    let err = gh
        .create_repository(&NewRepository {
            name: "gadgets".into(),
            private: true,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("name already exists"), "{err}");
}

#[tokio::test]
async fn rate_limits_close_the_gate_until_they_end() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("acme/widgets");
    let gh = adapter(&fake, FAKE_TOKEN);

    fake.fail_next(Fault::PrimaryLimit {
        reset_in: Duration::from_secs(120),
    });
    let err = list(&gh, "acme/widgets", None).await.unwrap_err();
    let CodeHostError::RateLimited { retry_after, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(*retry_after > Duration::from_secs(100), "{retry_after:?}");
    assert_eq!(err.code(), "GITHUB_RATE_LIMITED");
    assert_eq!(err.kind(), openkit_core::ErrorKind::Upstream);
    // While the limit is in force nothing is sent.
    for _ in 0..5 {
        assert_eq!(
            gh.account().await.unwrap_err().code(),
            "GITHUB_RATE_LIMITED"
        );
    }
    assert_eq!(fake.request_count(), 1, "never hammer a rate-limited host");

    // A secondary limit with Retry-After: waits exactly that long, then goes on.
    let gh = adapter(&fake, FAKE_TOKEN);
    fake.fail_next(Fault::SecondaryLimit { retry_after: 1 });
    let err = gh.account().await.unwrap_err();
    assert!(matches!(
        err,
        CodeHostError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(1)
    ));
    assert_eq!(
        gh.account().await.unwrap_err().code(),
        "GITHUB_RATE_LIMITED"
    );
    let sent = fake.request_count();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gh.account().await.unwrap().login, "octocat");
    assert_eq!(fake.request_count(), sent + 1);
}

#[tokio::test]
async fn an_unreachable_or_silent_host_fails_in_bounded_time() {
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gh = GitHub::new(
        &format!("http://127.0.0.1:{closed}"),
        Arc::new(StaticToken::new(FAKE_TOKEN)),
    )
    .unwrap();
    let started = Instant::now();
    let err = gh.account().await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_UNREACHABLE");
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(6));

    let fake = FakeGitHub::start().await;
    fake.fail_next(Fault::Slow(Duration::from_secs(5)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gh = GitHub::with_client(client, fake.url(), Arc::new(StaticToken::new(FAKE_TOKEN)));
    let started = Instant::now();
    let err = gh.account().await.unwrap_err();
    assert_eq!(err.code(), "GITHUB_UNREACHABLE");
    assert!(err.to_string().contains("in time"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let err = GitHub::new(fake.url(), Arc::new(TokenChain::new()))
        .unwrap()
        .account()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "GITHUB_NOT_AUTHENTICATED");
}

/// A fake `gh` that prints a token for `auth token` and counts its calls.
fn fake_gh(dir: &std::path::Path, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = format!(
        "#!/bin/sh\necho call >> '{calls}'\nif [ \"$1 $2\" = \"auth token\" ]; then echo '{token}'; exit 0; fi\nexit 1\n",
        calls = dir.join("calls").display(),
    );
    let gh = dir.join("gh");
    std::fs::write(&gh, script).unwrap();
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn the_token_comes_from_gh_when_no_variable_gives_one() {
    let dir = tempfile::tempdir().unwrap();
    fake_gh(dir.path(), FAKE_TOKEN);
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let host = HostEnv::empty().with_var("PATH", &path);
    let gh_cli = GhCli::new(CommandRunner::new(host.clone()), host.search_path());
    let from_gh = Arc::new(GhToken::new(gh_cli, dir.path(), "github.com"));
    let chain = TokenChain::new().then(from_gh.clone());
    assert_eq!(chain.token().await.unwrap().expose(), FAKE_TOKEN);
    assert_eq!(chain.token().await.unwrap().expose(), FAKE_TOKEN);
    let calls = || {
        std::fs::read_to_string(dir.path().join("calls"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(calls(), 1, "cached");
    chain.invalidate();
    chain.token().await.unwrap();
    assert_eq!(calls(), 2, "asked again after invalidation");

    // A variable's token comes first.
    let chain = TokenChain::new()
        .then(Arc::new(StaticToken::new("from-GH_TOKEN")))
        .then(from_gh);
    assert_eq!(chain.token().await.unwrap().expose(), "from-GH_TOKEN");

    // The adapter uses gh's token against the fake.
    let fake = FakeGitHub::start().await;
    let gh_cli = GhCli::new(CommandRunner::new(host.clone()), host.search_path());
    let gh = GitHub::new(
        fake.url(),
        Arc::new(GhToken::new(gh_cli, dir.path(), "github.com")),
    )
    .unwrap();
    assert_eq!(gh.account().await.unwrap().login, "octocat");
}
