//! The Kiket service against the fake Kiket (written from Kiket's extension API docs):
//! setup validation, paging and filters, workflows and guarded transitions, scopes,
//! rate limits, the issue source, and signed webhooks.

use std::sync::Arc;
use std::time::Duration;

use openkit_core::issues::{IssueId, SourceId};
use openkit_core::logs::ActivityQuery;
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, Workbench};
use openkit_integrations::Integrations;
use openkit_integrations::kiket::webhook::sign;
use openkit_integrations::kiket::{
    IssueChanges, IssueFilter, IssueQuery, KiketConfigChange, KiketError, KiketSetup,
};
use openkit_integrations::secret::Secret;
use openkit_integrations::testing_kiket::{
    FAKE_PROJECT, FAKE_TOKEN, FAKE_USER, FakeKiket, Fault, Guard,
};

struct Fixture {
    _repo: TestRepo,
    workbench: Arc<Workbench>,
    integrations: Integrations,
    fake: FakeKiket,
}

async fn fixture() -> Fixture {
    let repo = TestRepo::new();
    let workbench = repo.composition().build().unwrap();
    let integrations = Integrations::new(Arc::clone(&workbench));
    let fake = FakeKiket::start().await;
    Fixture {
        _repo: repo,
        workbench,
        integrations,
        fake,
    }
}

fn setup_for(fake: &FakeKiket, secret: Option<&str>) -> KiketSetup {
    KiketSetup {
        base_url: fake.url().to_string(),
        workspace_token: Secret::new(FAKE_TOKEN),
        project_slug: FAKE_PROJECT.into(),
        webhook_secret: secret.map(Secret::new),
    }
}

async fn configured(secret: Option<&str>) -> Fixture {
    let f = fixture().await;
    f.integrations
        .kiket()
        .setup(setup_for(&f.fake, secret))
        .await
        .unwrap();
    f
}

#[tokio::test]
async fn setup_is_validated_before_anything_is_saved() {
    let f = fixture().await;
    let kiket = f.integrations.kiket();
    assert!(!kiket.status().unwrap().configured);
    let mut bad = setup_for(&f.fake, None);
    bad.workspace_token = Secret::new("wrong");
    let err = kiket.setup(bad).await.unwrap_err();
    assert_eq!(err.code(), "KIKET_CONNECTION_FAILED");
    assert!(err.to_string().starts_with("Connection failed: "), "{err}");
    assert!(!err.to_string().contains("wrong"), "{err}");
    let mut unknown = setup_for(&f.fake, None);
    unknown.project_slug = "nope".into();
    assert_eq!(
        kiket.setup(unknown).await.unwrap_err().code(),
        "KIKET_CONNECTION_FAILED"
    );
    assert!(
        !f.workbench
            .paths()
            .openkit_dir()
            .join("integrations.json")
            .exists()
    );
    // Every request carried the token as a bearer below /api/v1/ext.
    assert!(
        f.fake
            .requests()
            .iter()
            .all(|r| r.uri.starts_with("/api/v1/ext/"))
    );

    kiket.setup(setup_for(&f.fake, Some("sh_1"))).await.unwrap();
    let status = kiket.status().unwrap();
    assert!(status.configured && status.webhook_configured);
    assert_eq!(status.project_slug.as_deref(), Some(FAKE_PROJECT));
    let source = SourceId::new("kiket").unwrap();
    assert!(f.workbench.issue_sources().find(&source).is_some());
    kiket.delete_credentials().unwrap();
    assert!(f.workbench.issue_sources().find(&source).is_none());
    assert_eq!(
        kiket
            .issues(&IssueQuery::default())
            .await
            .unwrap_err()
            .code(),
        "KIKET_NOT_CONFIGURED"
    );
}

#[tokio::test]
async fn every_page_is_fetched_with_at_most_100_per_page() {
    let f = configured(None).await;
    for n in 1..=230 {
        f.fake
            .add_issue(&format!("CORE-{n}"), &format!("Issue {n}"), "todo");
    }
    let issues = f
        .integrations
        .kiket()
        .issues(&IssueQuery::default())
        .await
        .unwrap();
    assert_eq!(issues.len(), 230);
    assert_eq!(issues[229].key, "CORE-230");
    let pages: Vec<String> = f
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.uri.starts_with("/api/v1/ext/issues?"))
        .map(|r| r.uri)
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages.iter().all(|p| p.contains("per_page=100")),
        "{pages:?}"
    );
    assert!(pages[2].contains("page=3"));
}

#[tokio::test]
async fn filters_reach_kiket_and_the_query_filters_text() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-1", "Deploy the release", "todo");
    f.fake.add_issue("CORE-2", "Fix login", "in_progress");
    f.fake.add_issue("CORE-3", "Deploy docs", "in_progress");
    f.fake.update_issue("CORE-3", |i| {
        i["labels"] = serde_json::json!(["docs"]);
        i["assignee"] = serde_json::json!(FAKE_USER);
    });
    let kiket = f.integrations.kiket();
    let by = |filter: IssueFilter, query: Option<&str>| IssueQuery {
        query: query.map(str::to_string),
        filter,
    };
    let keys = |issues: Vec<openkit_integrations::kiket::KiketIssue>| -> Vec<String> {
        issues.into_iter().map(|i| i.key).collect()
    };
    let state = IssueFilter {
        state: Some("in_progress".into()),
        ..Default::default()
    };
    assert_eq!(
        keys(kiket.issues(&by(state, None)).await.unwrap()),
        ["CORE-2", "CORE-3"]
    );
    let label = IssueFilter {
        label: Some("docs".into()),
        ..Default::default()
    };
    assert_eq!(
        keys(kiket.issues(&by(label, None)).await.unwrap()),
        ["CORE-3"]
    );
    let assignee = IssueFilter {
        assignee: Some(FAKE_USER.into()),
        ..Default::default()
    };
    assert_eq!(
        keys(kiket.issues(&by(assignee, None)).await.unwrap()),
        ["CORE-3"]
    );
    assert_eq!(
        keys(
            kiket
                .issues(&by(IssueFilter::default(), Some("deploy")))
                .await
                .unwrap()
        ),
        ["CORE-1", "CORE-3"]
    );
}

#[tokio::test]
async fn transitions_follow_the_workflow_and_a_guard_refusal_is_a_conflict() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-42", "Deploy", "in_progress");
    let kiket = f.integrations.kiket();
    let options: Vec<String> = kiket
        .status_options("CORE-42")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(options, ["Review", "To Do"]);
    let moved = kiket.transition("CORE-42", "review").await.unwrap();
    assert_eq!(moved.state, "review");
    let unknown = kiket.transition("CORE-42", "Shipped").await.unwrap_err();
    assert_eq!(unknown.code(), "KIKET_UNKNOWN_STATUS");
    assert!(unknown.to_string().contains("Done"), "{unknown}");

    f.fake
        .set_guard("done", Some(Guard::Deny("Needs two approvals".into())));
    let refused = kiket.transition("CORE-42", "Done").await.unwrap_err();
    assert_eq!(refused.kind(), openkit_core::ErrorKind::Conflict);
    assert_eq!(refused.code(), "KIKET_TRANSITION_REFUSED");
    assert!(
        refused.to_string().contains("Needs two approvals"),
        "{refused}"
    );
    assert_eq!(
        refused.context(),
        vec![("upstreamCode", "guard_denied".to_string())]
    );
    assert_eq!(f.fake.issue("CORE-42").unwrap()["state"], "review");

    f.fake
        .set_guard("done", Some(Guard::Pending("Waiting for QA".into())));
    let pending = kiket.transition("CORE-42", "Done").await.unwrap_err();
    assert_eq!(pending.code(), "KIKET_TRANSITION_REFUSED");
    assert_eq!(
        pending.context(),
        vec![("upstreamCode", "approval_pending".to_string())]
    );

    f.fake.set_guard("done", None);
    assert_eq!(
        kiket.transition("CORE-42", "Done").await.unwrap().state,
        "done"
    );
}

#[tokio::test]
async fn fields_and_comments_change_in_kiket() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-7", "Onboarding", "todo");
    let kiket = f.integrations.kiket();
    let mut custom = serde_json::Map::new();
    custom.insert("customer".into(), serde_json::json!("acme"));
    let issue = kiket
        .update_issue(
            "CORE-7",
            &IssueChanges {
                labels: Some(vec!["urgent".into()]),
                assignee: Some(Some(FAKE_USER.into())),
                custom_fields: Some(custom),
            },
        )
        .await
        .unwrap();
    assert_eq!(issue.labels, ["urgent"]);
    assert_eq!(issue.assignee_name().as_deref(), Some(FAKE_USER));
    assert_eq!(issue.custom_fields["customer"], "acme");
    assert_eq!(
        kiket
            .update_issue("CORE-7", &IssueChanges::default())
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    let comment = kiket.add_comment("CORE-7", "On it").await.unwrap();
    assert_eq!(comment.body, "On it");
    let detail = kiket.issue("CORE-7").await.unwrap();
    assert_eq!(detail.comments.len(), 1);
    assert_eq!(
        kiket.issue("CORE-404").await.unwrap_err().code(),
        "UPSTREAM_NOT_FOUND"
    );
}

#[tokio::test]
async fn a_missing_scope_is_reported_by_name() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-1", "x", "todo");
    f.fake.set_scopes(&["read:issues", "read:workflows"]);
    let err = f
        .integrations
        .kiket()
        .add_comment("CORE-1", "hello")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "KIKET_MISSING_SCOPE");
    assert!(err.to_string().contains("write:comments"), "{err}");
    assert_eq!(err.context(), vec![("scope", "write:comments".to_string())]);
}

#[tokio::test]
async fn rate_limits_are_honoured() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-1", "x", "todo");
    let kiket = f.integrations.kiket();
    // A short Retry-After is waited out and the request retried.
    f.fake.fail_next(Fault::RateLimited { retry_after: 1 });
    let started = std::time::Instant::now();
    kiket.issue("CORE-1").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A long one is reported with the wait, and nothing is sent until it has passed.
    f.fake.fail_next(Fault::RateLimited { retry_after: 120 });
    let err = kiket.issue("CORE-1").await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    assert_eq!(err.context(), vec![("retryAfter", "120".to_string())]);
    let before = f.fake.requests().len();
    assert_eq!(
        kiket.issue("CORE-1").await.unwrap_err().code(),
        "UPSTREAM_RATE_LIMITED"
    );
    assert_eq!(
        f.fake.requests().len(),
        before,
        "sent while the limit was in force"
    );
}

#[tokio::test]
async fn kiket_down_is_an_upstream_failure() {
    let f = configured(None).await;
    f.fake.set_down(true);
    let err = f.integrations.kiket().workflows().await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_FAILED");
    assert!(matches!(
        f.integrations.kiket().verify().await,
        Some(Err(_))
    ));
    f.fake.set_down(false);
    assert!(matches!(
        f.integrations.kiket().verify().await,
        Some(Ok(()))
    ));
}

#[tokio::test]
async fn the_issue_source_lists_open_assigned_issues_and_transitions() {
    let f = configured(None).await;
    for (key, state) in [("CORE-1", "todo"), ("CORE-2", "done"), ("CORE-3", "review")] {
        f.fake.add_issue(key, key, state);
        f.fake
            .update_issue(key, |i| i["assignee"] = serde_json::json!(FAKE_USER));
    }
    f.fake.add_issue("CORE-4", "someone else's", "todo");
    let source = f
        .workbench
        .issue_sources()
        .get(&SourceId::new("kiket").unwrap())
        .unwrap();
    let assigned: Vec<String> = source
        .assigned()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.issue.id.to_string())
        .collect();
    assert_eq!(assigned, ["CORE-1", "CORE-3"]);
    let id = IssueId::new("CORE-1").unwrap();
    let moved = source.update_status(&id, "In Progress").await.unwrap();
    assert_eq!(moved.status, "in_progress");
    assert_eq!(source.peek(&id).unwrap().status, "in_progress");
    source.add_comment(&id, "started").await.unwrap();
    let issue = source.get(&id).await.unwrap();
    assert_eq!(issue.comments[0].body, "started");
    assert_eq!(
        source
            .get(&IssueId::new("CORE-99").unwrap())
            .await
            .unwrap_err()
            .code(),
        "ISSUE_NOT_FOUND"
    );
}

#[tokio::test]
async fn config_changes_keep_credentials_and_validate_settings() {
    let f = configured(None).await;
    let kiket = f.integrations.kiket();
    let mut settings = serde_json::Map::new();
    settings.insert("refreshIntervalMinutes".into(), serde_json::json!(10));
    settings.insert("autoStartAgent".into(), serde_json::json!("codex"));
    let status = kiket
        .update_config(KiketConfigChange {
            webhook_secret: Some(Some(Secret::new("sh_2"))),
            settings,
            ..Default::default()
        })
        .unwrap();
    assert!(status.webhook_configured);
    assert_eq!(status.settings.refresh_interval_minutes, 10);
    assert_eq!(status.settings.auto_start_agent.as_deref(), Some("codex"));
    let mut bad = serde_json::Map::new();
    bad.insert("refreshIntervalMinutes".into(), serde_json::json!(0));
    let err = kiket
        .update_config(KiketConfigChange {
            settings: bad,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    assert_eq!(
        kiket.status().unwrap().settings.refresh_interval_minutes,
        10
    );
    // The file is private and holds the token; the status never does.
    let raw = std::fs::read_to_string(f.workbench.paths().openkit_dir().join("integrations.json"))
        .unwrap();
    assert!(raw.contains(FAKE_TOKEN));
    assert!(!format!("{:?}", kiket.status().unwrap()).contains(FAKE_TOKEN));
}

#[tokio::test]
async fn signed_webhooks_become_activity_and_bad_ones_change_nothing() {
    let f = configured(Some("sh_secret")).await;
    let kiket = f.integrations.kiket();
    let body = serde_json::to_vec(&serde_json::json!({
        "event": "workflow.sla_status", "state": "breached",
        "issue": {"id": 42, "status": "in_progress", "title": "Onboarding"},
        "sla": {"definition_id": 7, "max_duration_minutes": 120},
        "metrics": {"duration_minutes": 150, "overdue_minutes": 30}
    }))
    .unwrap();
    let activity = |wb: &Workbench| {
        wb.backbone()
            .activity()
            .query(&ActivityQuery {
                since: None,
                category: None,
                limit: 100,
            })
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type.starts_with("kiket_"))
            .collect::<Vec<_>>()
    };
    for (signature, timestamp) in [
        (None, None),
        (Some("deadbeef".to_string()), None),
        (Some(sign(b"other", &body)), None),
        (
            Some(sign(b"sh_secret", &body)),
            Some((chrono::Utc::now().timestamp() - 301).to_string()),
        ),
    ] {
        let err = kiket
            .receive_webhook(&body, signature.as_deref(), timestamp.as_deref())
            .unwrap_err();
        assert!(matches!(err, KiketError::Signature(_)), "{err}");
        assert_eq!(err.code(), "KIKET_INVALID_SIGNATURE");
    }
    assert!(activity(&f.workbench).is_empty());
    let signature = sign(b"sh_secret", &body);
    let now = chrono::Utc::now().timestamp().to_string();
    let outcome = kiket
        .receive_webhook(&body, Some(&signature), Some(&now))
        .unwrap();
    assert!(!outcome.duplicate && outcome.activity_id.is_some());
    // The same delivery again is acknowledged, not recorded twice.
    let again = kiket
        .receive_webhook(&body, Some(&signature), Some(&now))
        .unwrap();
    assert!(again.duplicate);
    let events = activity(&f.workbench);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "kiket_sla_breached");
    assert_eq!(events[0].severity, openkit_core::events::Severity::Error);
}

#[tokio::test]
async fn the_client_side_budget_holds_requests_back_before_kiket_sees_them() {
    use openkit_integrations::api::{Pace, default_client};
    use openkit_integrations::kiket::KiketApi;
    let fake = FakeKiket::start().await;
    let api = KiketApi::new(
        default_client(),
        fake.url(),
        &Secret::new(FAKE_TOKEN),
        FAKE_PROJECT,
    )
    .unwrap()
    .with_pace(Pace::new(3, Duration::from_secs(60)).max_wait(Duration::ZERO));
    for _ in 0..3 {
        api.workflows().await.unwrap();
    }
    let err = api.workflows().await.unwrap_err();
    assert_eq!(err.error.code(), "UPSTREAM_RATE_LIMITED");
    assert!(err.error.retry_after().unwrap() > Duration::from_secs(55));
    assert_eq!(
        fake.requests().len(),
        3,
        "the fourth request was never sent"
    );
    // Kiket's own budget answers 429 with Retry-After; it is reported with the wait.
    let fresh = KiketApi::new(
        default_client(),
        fake.url(),
        &Secret::new(FAKE_TOKEN),
        FAKE_PROJECT,
    )
    .unwrap();
    fake.set_budget(0);
    let err = fresh.workflows().await.unwrap_err();
    assert_eq!(err.error.code(), "UPSTREAM_RATE_LIMITED");
    assert!(err.error.retry_after().unwrap() >= Duration::from_secs(50));
}

#[tokio::test]
async fn issue_data_is_saved_as_the_data_lifecycle_says() {
    let f = configured(None).await;
    f.fake.add_issue("CORE-5", "Saved issue", "todo");
    let kiket = f.integrations.kiket();
    let file = f
        .workbench
        .paths()
        .issues_dir()
        .join("kiket")
        .join("CORE-5")
        .join("issue.json");
    let save_on = |value: &str| {
        let mut settings = serde_json::Map::new();
        settings.insert("dataLifecycle".into(), serde_json::json!({"saveOn": value}));
        kiket
            .update_config(KiketConfigChange {
                settings,
                ..Default::default()
            })
            .unwrap();
    };
    save_on("never");
    kiket.issue("CORE-5").await.unwrap();
    assert!(!file.exists());
    save_on("worktree-creation");
    kiket.issue("CORE-5").await.unwrap();
    assert!(!file.exists());
    let created = kiket.create_task("CORE-5", None).await.unwrap();
    assert!(matches!(
        created,
        openkit_core::task_worktree::TaskWorktree::Created { .. }
    ));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["title"], "Saved issue");
    assert_eq!(saved["status"], "todo");
    // Task context reads the issue through the registered source, saved copy or not.
    let issue = openkit_core::issues::IssueRef::parse("kiket", "CORE-5").unwrap();
    let context = openkit_core::context::task_context(
        f.workbench.notes(),
        f.workbench.paths(),
        &Default::default(),
        &issue,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(context.to_markdown().contains("Saved issue"));
    assert!(context.to_markdown().contains("CORE-5"));
}
