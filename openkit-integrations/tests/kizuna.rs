//! The Kizuna adapter against the fake Kizuna server: setup validation, `Link` paging,
//! filters, the issue source, pull requests as a code host, merge refusals, pipelines,
//! agent tokens stored once, Kizuna's error envelope and rate limits.

use std::sync::Arc;
use std::time::Duration;

use openkit_core::codehost::{CodeHostKind, PrState};
use openkit_core::issues::{IssueId, SourceId};
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, ErrorKind, Workbench};
use openkit_integrations::Integrations;
use openkit_integrations::kizuna::{IssueQuery, KizunaSetup, wire::IssuePatch};
use openkit_integrations::secret::Secret;
use openkit_integrations::testing_kizuna::{
    FAKE_KIZUNA_TOKEN, FAKE_ORG, FAKE_REPO, FakeKizuna, KizunaFault,
};
use serde_json::{Value, json};

struct Fixture {
    repo: TestRepo,
    workbench: Arc<Workbench>,
    integrations: Integrations,
    fake: FakeKizuna,
}

async fn fixture() -> Fixture {
    let repo = TestRepo::new();
    let workbench = repo.composition().build().unwrap();
    let integrations = Integrations::new(Arc::clone(&workbench));
    let fake = FakeKizuna::start().await;
    Fixture {
        repo,
        workbench,
        integrations,
        fake,
    }
}

fn setup_for(fake: &FakeKizuna, token: &str) -> KizunaSetup {
    KizunaSetup {
        base_url: fake.url().to_string(),
        token: Secret::new(token),
        org: FAKE_ORG.into(),
        repo: FAKE_REPO.into(),
    }
}

async fn configured() -> Fixture {
    let f = fixture().await;
    f.integrations
        .kizuna()
        .setup(setup_for(&f.fake, FAKE_KIZUNA_TOKEN))
        .await
        .unwrap();
    f
}

fn integrations_file(f: &Fixture) -> Value {
    let path = f.repo.root().join(".openkit/integrations.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn setup_is_validated_before_anything_is_saved() {
    let f = fixture().await;
    let kizuna = f.integrations.kizuna();
    let err = kizuna
        .setup(setup_for(&f.fake, "kzn_wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "KIZUNA_CONNECTION_FAILED");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .starts_with("Connection failed: Kizuna rejected the credentials"),
        "{err}"
    );
    assert!(!err.to_string().contains("kzn_wrong"));
    let mut unknown = setup_for(&f.fake, FAKE_KIZUNA_TOKEN);
    unknown.repo = "nope".into();
    let err = kizuna.setup(unknown).await.unwrap_err();
    assert_eq!(err.code(), "KIZUNA_CONNECTION_FAILED");
    let mut plain = setup_for(&f.fake, FAKE_KIZUNA_TOKEN);
    plain.base_url = "http://kizuna.example.com".into();
    assert_eq!(
        kizuna.setup(plain).await.unwrap_err().code(),
        "INVALID_BASE_URL"
    );
    let mut bad_org = setup_for(&f.fake, FAKE_KIZUNA_TOKEN);
    bad_org.org = "a/b".into();
    assert_eq!(
        kizuna.setup(bad_org).await.unwrap_err().code(),
        "INVALID_INPUT"
    );
    assert!(!f.repo.root().join(".openkit/integrations.json").exists());
    assert!(!kizuna.status().unwrap().configured);
    assert_eq!(kizuna.verify().await.map(|r| r.is_ok()), None);

    kizuna
        .setup(setup_for(&f.fake, FAKE_KIZUNA_TOKEN))
        .await
        .unwrap();
    let status = kizuna.status().unwrap();
    assert!(status.configured && !status.code_host);
    assert_eq!(status.org.as_deref(), Some(FAKE_ORG));
    assert_eq!(integrations_file(&f)["kizuna"]["token"], FAKE_KIZUNA_TOKEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.repo.root().join(".openkit/integrations.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(matches!(kizuna.verify().await, Some(Ok(()))));
    // Every request went to /api/v1 with the bearer token.
    assert!(
        f.fake
            .requests()
            .iter()
            .all(|r| r.uri.starts_with("/api/v1/repos/acme/") && r.authorized)
    );
    assert!(
        f.workbench
            .issue_sources()
            .find(&SourceId::new("kizuna").unwrap())
            .is_some()
    );
    assert!(kizuna.delete_credentials().unwrap());
    assert!(
        f.workbench
            .issue_sources()
            .find(&SourceId::new("kizuna").unwrap())
            .is_none()
    );
    assert_eq!(
        kizuna
            .issues(&IssueQuery::default())
            .await
            .unwrap_err()
            .code(),
        "KIZUNA_NOT_CONFIGURED"
    );
}

#[tokio::test]
async fn issues_follow_link_pages_and_filters() {
    let f = configured().await;
    f.fake.set_max_per_page(2);
    for n in 0..5 {
        let labels: &[&str] = if n % 2 == 0 { &["bug"] } else { &["feature"] };
        f.fake.add_issue(&format!("Issue {n}"), labels, &[]);
    }
    let kizuna = f.integrations.kizuna();
    let all = kizuna.issues(&IssueQuery::default()).await.unwrap();
    assert_eq!(all.len(), 5);
    let pages: Vec<String> = f
        .fake
        .requests()
        .iter()
        .filter(|r| r.uri.contains("/issues"))
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(
        pages,
        vec![
            "/api/v1/repos/acme/widgets/issues?state=open&per_page=100",
            "/api/v1/repos/acme/widgets/issues?state=open&per_page=100&page=2",
            "/api/v1/repos/acme/widgets/issues?state=open&per_page=100&page=3",
        ]
    );
    let bugs = kizuna
        .issues(&IssueQuery {
            labels: vec!["bug".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(bugs.len(), 3);
    let found = kizuna
        .issues(&IssueQuery {
            query: Some("issue 3".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|i| i.number).collect::<Vec<_>>(), vec![4]);
    kizuna
        .update_issue(
            1,
            IssuePatch {
                state: Some("closed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let closed = kizuna
        .issues(&IssueQuery {
            state: Some("closed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(
        kizuna
            .issues(&IssueQuery {
                state: Some("weird".into()),
                ..Default::default()
            })
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    let missing = kizuna.issue(99).await.unwrap_err();
    assert_eq!(
        (missing.code(), missing.kind()),
        ("UPSTREAM_NOT_FOUND", ErrorKind::NotFound)
    );
}

#[tokio::test]
async fn the_issue_source_lists_assigned_issues_and_opens_or_closes() {
    let f = configured().await;
    f.fake.add_issue("Mine", &[], &["alice"]);
    f.fake.add_issue("Theirs", &[], &["bob"]);
    let source = f
        .workbench
        .issue_sources()
        .get(&SourceId::new("kizuna").unwrap())
        .unwrap();
    assert!(
        source.assigned().await.unwrap().is_empty(),
        "no assignee configured"
    );
    let mut patch = serde_json::Map::new();
    patch.insert("assignee".into(), json!("Alice"));
    patch.insert("refreshIntervalMinutes".into(), json!(10));
    f.integrations.kizuna().update_config(patch).unwrap();
    let assigned = source.assigned().await.unwrap();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].title, "Mine");
    assert_eq!(assigned[0].issue.id.as_str(), "1");
    let status = f.integrations.kizuna().status().unwrap();
    assert_eq!(status.settings.refresh_interval_minutes, 10);

    let id = IssueId::new("1").unwrap();
    let closed = source.update_status(&id, "Closed").await.unwrap();
    assert_eq!(closed.status, "closed");
    assert_eq!(
        source
            .update_status(&id, "In Progress")
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    assert_eq!(
        source.add_comment(&id, "hi").await.unwrap_err().code(),
        "ISSUE_OPERATION_UNSUPPORTED"
    );
    let issue = source.get(&id).await.unwrap();
    assert_eq!(issue.description, "Body of Mine");

    let mut bad = serde_json::Map::new();
    bad.insert("refreshIntervalMinutes".into(), json!(0));
    assert_eq!(
        f.integrations
            .kizuna()
            .update_config(bad)
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    let mut unknown = serde_json::Map::new();
    unknown.insert("token".into(), json!("x"));
    assert_eq!(
        f.integrations
            .kizuna()
            .update_config(unknown)
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
}

#[tokio::test]
async fn drafts_and_closed_pulls_are_not_merged() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    let draft = f.fake.add_pull("feature/draft", true);
    let err = kizuna.merge_pull(draft, None).await.unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("KIZUNA_PR_DRAFT", ErrorKind::Conflict)
    );
    assert!(err.to_string().contains("is a draft"), "{err}");
    assert!(
        !f.fake.requests().iter().any(|r| r.uri.ends_with("/merge")),
        "a draft is refused before Kizuna is asked"
    );
    let open = f.fake.add_pull("feature/ready", false);
    let merged = kizuna.merge_pull(open, Some("squash")).await.unwrap();
    assert_eq!(merged.state, "merged");
    let fake_pull = f
        .fake
        .pulls()
        .into_iter()
        .find(|p| p.number == open)
        .unwrap();
    assert_eq!(fake_pull.merge_method.as_deref(), Some("squash"));
    assert_eq!(
        kizuna.merge_pull(open, None).await.unwrap_err().code(),
        "KIZUNA_PR_NOT_OPEN"
    );
    assert_eq!(
        kizuna
            .merge_pull(open, Some("ff"))
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
}

#[tokio::test]
async fn the_code_host_opens_and_lists_pull_requests() {
    let f = configured().await;
    // Plugged in, but only used when the project names it.
    assert!(f.workbench.active_code_host().is_err());
    std::fs::write(
        f.repo.root().join(".openkit/config.json"),
        r#"{"codeHost": "kizuna"}"#,
    )
    .unwrap();
    let (kind, host) = f.workbench.active_code_host().unwrap();
    assert_eq!(kind, CodeHostKind::Kizuna);
    let repo = host.repository().unwrap();
    assert_eq!(repo.full_name(), "acme/widgets");
    let pr = host
        .create_pull_request(
            &repo,
            &openkit_core::codehost::NewPullRequest {
                title: "T".into(),
                body: None,
                head: "feature/x".into(),
                base: "main".into(),
                draft: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(pr.state, PrState::Draft);
    assert!(pr.url.ends_with("/acme/widgets/pulls/1001"), "{}", pr.url);
    // A duplicate is Kizuna's VALIDATION_ERROR, kept as the upstream code.
    let dup = host
        .create_pull_request(
            &repo,
            &openkit_core::codehost::NewPullRequest {
                title: "T".into(),
                body: None,
                head: "feature/x".into(),
                base: "main".into(),
                draft: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "UPSTREAM_REJECTED");
    assert!(
        dup.context()
            .contains(&("upstreamCode", "VALIDATION_ERROR".into()))
    );
    f.integrations.kizuna().delete_credentials().unwrap();
    assert_eq!(
        f.workbench.active_code_host().err().unwrap().code(),
        "KIZUNA_NOT_CONFIGURED"
    );
}

#[tokio::test]
async fn pipelines_trigger_cancel_and_refuse_finished_ones() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    let (_, pipeline) = kizuna.trigger_pipeline("root").await.unwrap();
    assert_eq!(pipeline.status, "pending");
    assert_eq!(pipeline.git_ref, "main");
    f.fake.add_pipeline("other", "running");
    let (_, branch, listed) = kizuna.pipelines("root").await.unwrap();
    assert_eq!(branch, "main");
    assert_eq!(listed.len(), 1);
    let canceled = kizuna.cancel_pipeline(pipeline.id).await.unwrap();
    assert_eq!(canceled.status, "canceled");
    let again = kizuna.cancel_pipeline(pipeline.id).await.unwrap_err();
    assert_eq!(again.code(), "UPSTREAM_REJECTED");
    assert!(
        again.to_string().contains("Pipeline is not running"),
        "{again}"
    );
    assert!(
        again
            .context()
            .contains(&("upstreamCode", "VALIDATION_ERROR".into()))
    );
    assert_eq!(
        kizuna.pipelines("nope").await.unwrap_err().code(),
        "WORKTREE_NOT_FOUND"
    );
}

#[tokio::test]
async fn rate_limits_are_honoured_and_nothing_is_sent_meanwhile() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    f.fake
        .fail_next(KizunaFault::RateLimited { retry_after: 30 });
    let err = kizuna.issue(1).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.context().contains(&("retryAfter", "30".into())));
    let sent = f.fake.requests().len();
    let err = kizuna.issue(1).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    assert_eq!(f.fake.requests().len(), sent, "nothing sent while limited");
}

#[tokio::test]
async fn a_spent_budget_stops_requests_until_the_reset() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    f.fake.add_issue("x", &[], &[]);
    f.fake.fail_next(KizunaFault::Exhausted {
        reset_in: Duration::from_secs(120),
    });
    // The answer itself is fine; the next request is not sent.
    assert_eq!(kizuna.issue(1).await.unwrap().title, "x");
    let sent = f.fake.requests().len();
    let err = kizuna.issue(1).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    let wait: u64 = err
        .context()
        .into_iter()
        .find(|(k, _)| *k == "retryAfter")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!((100..=120).contains(&wait), "{wait}");
    assert_eq!(f.fake.requests().len(), sent);
}

#[tokio::test]
async fn a_failing_kizuna_is_an_upstream_error_with_its_code() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    f.fake.fail_next(KizunaFault::Status {
        status: 403,
        code: "FORBIDDEN".into(),
        message: "Insufficient permissions: issues:write".into(),
    });
    let err = kizuna.issue(1).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_FORBIDDEN");
    assert!(err.to_string().contains("issues:write"), "{err}");
    f.fake
        .fail_next(KizunaFault::Slow(Duration::from_millis(50)));
    f.fake.add_issue("x", &[], &[]);
    assert_eq!(kizuna.issue(1).await.unwrap().title, "x");
}

#[tokio::test]
async fn agent_tokens_are_stored_once_and_never_shown() {
    let f = configured().await;
    let kizuna = f.integrations.kizuna();
    let agent = kizuna
        .register_agent("openkit-widgets", Some("OpenKit's agents"))
        .await
        .unwrap();
    let token = f.fake.agents()[0].token.clone();
    assert!(!format!("{agent:?}").contains(&token));
    let stored = integrations_file(&f);
    assert_eq!(stored["kizuna"]["agents"][0]["token"], token.as_str());
    assert_eq!(stored["kizuna"]["agents"][0]["id"], agent.id.as_str());
    let listed = kizuna.agents().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].secret_stored);
    assert!(!format!("{listed:?}").contains(&token));
    let status = kizuna.status().unwrap();
    assert_eq!(status.registered_agents, 1);
    assert!(!format!("{status:?}").contains(&token));
    assert_eq!(
        kizuna
            .register_agent("openkit-widgets", None)
            .await
            .unwrap_err()
            .code(),
        "UPSTREAM_REJECTED"
    );
    assert_eq!(
        kizuna.register_agent("  ", None).await.unwrap_err().code(),
        "INVALID_INPUT"
    );
    // A second setup of the same server keeps the stored agent.
    kizuna
        .setup(setup_for(&f.fake, FAKE_KIZUNA_TOKEN))
        .await
        .unwrap();
    assert_eq!(
        integrations_file(&f)["kizuna"]["agents"][0]["token"],
        token.as_str()
    );
}

#[tokio::test]
async fn a_configured_section_is_plugged_in_at_start() {
    let f = configured().await;
    // A second hub over the same project (a server restart) finds the section.
    let workbench = f.repo.composition().build().unwrap();
    let again = Integrations::new(Arc::clone(&workbench));
    assert!(again.kizuna().status().unwrap().configured);
    assert!(
        workbench
            .issue_sources()
            .find(&SourceId::new("kizuna").unwrap())
            .is_some()
    );
}
