//! The Linear service against the fake Linear GraphQL API: setup checks the key before
//! saving, cursor paging of assigned issues, statuses by team, edits and comments,
//! GraphQL errors, rate limits, the upload proxy's confinement and saved issue data.

use std::sync::Arc;
use std::time::Duration;

use openkit_core::issues::{IssueId, SourceId};
use openkit_core::testing::TestRepo;
use openkit_core::{Composition, DomainError, Workbench};
use openkit_integrations::Integrations;
use openkit_integrations::hub::Endpoints;
use openkit_integrations::linear::LinearService;
use openkit_integrations::secret::Secret;
use openkit_integrations::testing_linear::{API_KEY, FakeIssue, FakeLinear, Fault};
use openkit_integrations::tracker::SettingsPatch;

struct Setup {
    repo: TestRepo,
    workbench: Arc<Workbench>,
    integrations: Integrations,
    fake: FakeLinear,
}

impl Setup {
    fn linear(&self) -> &Arc<LinearService> {
        self.integrations.linear()
    }
}

async fn setup() -> Setup {
    let fake = FakeLinear::start().await;
    let repo = TestRepo::new();
    let workbench = Composition::new(repo.paths(), repo.host_env())
        .build()
        .unwrap();
    let endpoints = Endpoints {
        linear_api: fake.api_url(),
        ..Endpoints::default()
    };
    let integrations = Integrations::with_endpoints(Arc::clone(&workbench), endpoints);
    Setup {
        repo,
        workbench,
        integrations,
        fake,
    }
}

async fn configured() -> Setup {
    let s = setup().await;
    s.linear().setup(Secret::new(API_KEY)).await.unwrap();
    s
}

#[tokio::test]
async fn setup_checks_the_key_before_saving() {
    let s = setup().await;
    assert_eq!(
        s.linear().issues(None).await.unwrap_err().code(),
        "LINEAR_NOT_CONFIGURED"
    );
    let err = s
        .linear()
        .setup(Secret::new("lin_api_wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LINEAR_CONNECTION_FAILED");
    assert!(
        err.to_string()
            .starts_with("Connection failed: Linear rejected the credentials"),
        "{err}"
    );
    assert!(
        !s.repo
            .paths()
            .openkit_dir()
            .join("integrations.json")
            .exists()
    );
    s.linear().setup(Secret::new(API_KEY)).await.unwrap();
    let status = s.linear().status().unwrap();
    assert!(status.configured);
    assert_eq!(status.display_name.as_deref(), Some("Lin Ear"));
    let linear = SourceId::new("linear").unwrap();
    assert!(s.workbench.issue_sources().find(&linear).is_some());
    assert_eq!(s.linear().verify().await.map(|r| r.is_ok()), Some(true));
    s.linear().disconnect().unwrap();
    assert!(s.workbench.issue_sources().find(&linear).is_none());
    assert!(s.linear().verify().await.is_none());
}

#[tokio::test]
async fn assigned_issues_page_through_cursors() {
    let s = configured().await;
    for n in 1..=250 {
        s.fake.add_issue(&format!("ENG-{n}"), &format!("Task {n}"));
    }
    s.fake.update("ENG-3", |i| i.state = "Done".into());
    s.fake.update("ENG-4", |i| i.assigned_to_me = false);
    let issues = s.linear().issues(None).await.unwrap();
    assert_eq!(issues.len(), 248);
    assert_eq!(issues[0].identifier, "ENG-250", "the last updated first");
    assert!(
        issues
            .iter()
            .all(|i| i.identifier != "ENG-3" && i.identifier != "ENG-4")
    );
    let pages = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("issues"))
        .count();
    assert_eq!(pages, 3);
    let found = s.linear().issues(Some("task 249")).await.unwrap();
    assert_eq!(found.len(), 1);
    let source = s
        .workbench
        .issue_sources()
        .get(&SourceId::new("linear").unwrap())
        .unwrap();
    assert_eq!(source.assigned().await.unwrap().len(), 248);
    assert_eq!(
        source.peek(&IssueId::new("ENG-1").unwrap()).unwrap().status,
        "Todo"
    );
}

#[tokio::test]
async fn statuses_edits_and_comments() {
    let s = configured().await;
    s.fake.add(FakeIssue {
        id: String::new(),
        identifier: "ENG-1".into(),
        title: "Crash on save".into(),
        description: "## Steps\n- save".into(),
        state: "Todo".into(),
        priority: 1,
        assigned_to_me: true,
        labels: vec!["bug".into()],
        comments: vec![],
        attachments: vec![],
        updated: 0,
    });
    s.fake.add_issue("OPS-1", "Other team");
    let issue = s.linear().issue("ENG-1", false).await.unwrap();
    assert_eq!(issue.description, "## Steps\n- save");
    assert_eq!(issue.summary.priority_label, "Urgent");
    assert_eq!(issue.summary.team_key.as_deref(), Some("ENG"));

    let options = s.linear().issue_status_options("ENG-1").await.unwrap();
    assert_eq!(options.len(), 5);
    assert_eq!(options[2].name, "In Progress");
    // Without a default team, every team's names once.
    assert_eq!(s.linear().status_options().await.unwrap().len(), 5);
    s.linear()
        .update_config(Some(Some("ENG".into())), &SettingsPatch::default())
        .unwrap();
    assert_eq!(
        s.linear().status_options().await.unwrap()[0].state_type,
        "backlog"
    );
    assert_eq!(
        s.linear().priority_options().await.unwrap()[1],
        (1, "Urgent".into())
    );

    assert_eq!(
        s.linear().set_status("ENG-1", "in progress").await.unwrap(),
        "In Progress"
    );
    assert_eq!(s.fake.issue("ENG-1").unwrap().state, "In Progress");
    assert_eq!(
        s.linear()
            .set_status("ENG-1", "Shipped")
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    s.linear()
        .set_title("ENG-1", "Crash on save fixed")
        .await
        .unwrap();
    s.linear().set_description("ENG-1", "Done.").await.unwrap();
    let now = s.fake.issue("ENG-1").unwrap();
    assert_eq!(
        (now.title.as_str(), now.description.as_str()),
        ("Crash on save fixed", "Done.")
    );

    let id = s.linear().add_comment("ENG-1", "Taking it").await.unwrap();
    s.linear()
        .edit_comment("ENG-1", &id, "Took it")
        .await
        .unwrap();
    assert_eq!(
        s.linear().issue("ENG-1", false).await.unwrap().comments[0].body,
        "Took it"
    );
    s.linear().delete_comment("ENG-1", &id).await.unwrap();
    assert_eq!(
        s.linear()
            .delete_comment("ENG-1", &id)
            .await
            .unwrap_err()
            .code(),
        "UPSTREAM_NOT_FOUND"
    );
    assert_eq!(
        s.linear().issue("ENG-404", false).await.unwrap_err().code(),
        "UPSTREAM_NOT_FOUND"
    );
    let source = s
        .workbench
        .issue_sources()
        .get(&SourceId::new("linear").unwrap())
        .unwrap();
    assert_eq!(
        source
            .get(&IssueId::new("ENG-404").unwrap())
            .await
            .unwrap_err()
            .code(),
        "ISSUE_NOT_FOUND"
    );
    source
        .update_status(&IssueId::new("ENG-1").unwrap(), "Done")
        .await
        .unwrap();
    assert_eq!(s.fake.issue("ENG-1").unwrap().state, "Done");
}

#[tokio::test]
async fn errors_and_rate_limits() {
    let s = configured().await;
    s.fake.fail_next(Fault::RateLimited { retry_after: 25 });
    let err = s.linear().issues(None).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    assert_eq!(err.context(), vec![("retryAfter", "25".to_string())]);
    let s = configured().await;
    s.fake.fail_next(Fault::Status {
        status: 401,
        message: "revoked".into(),
    });
    assert_eq!(
        s.linear().issues(None).await.unwrap_err().code(),
        "UPSTREAM_UNAUTHORIZED"
    );
    s.fake.fail_next(Fault::Status {
        status: 500,
        message: "boom".into(),
    });
    assert_eq!(
        s.linear().issues(None).await.unwrap_err().code(),
        "UPSTREAM_FAILED"
    );
    s.fake.fail_next(Fault::Slow(Duration::from_secs(60)));
    let result = tokio::time::timeout(Duration::from_secs(30), s.linear().issues(None)).await;
    assert_eq!(
        result.expect("bounded").unwrap_err().code(),
        "UPSTREAM_UNREACHABLE"
    );
}

#[tokio::test]
async fn uploads_are_proxied_and_saved_only_from_the_upload_host() {
    let s = configured().await;
    s.fake.add_issue("ENG-1", "With a file");
    let url = s
        .fake
        .upload("ENG-1", "design.png", "image/png", b"PNGDATA");
    let file = s.linear().attachment(&url).await.unwrap();
    assert_eq!(
        (file.content_type.as_str(), file.bytes.as_slice()),
        ("image/png", &b"PNGDATA"[..])
    );
    for bad in [
        "https://evil.invalid/uploads/1/x.png",
        "file:///etc/passwd",
        "http://127.0.0.1:1/uploads/x",
    ] {
        assert_eq!(
            s.linear().attachment(bad).await.unwrap_err().code(),
            "ATTACHMENT_URL_REFUSED",
            "{bad}"
        );
    }
    // Viewing saves issue.json and the upload.
    s.linear().issue("ENG-1", true).await.unwrap();
    let dir = s.repo.paths().issues_dir().join("linear").join("ENG-1");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("issue.json")).unwrap()).unwrap();
    assert_eq!(saved["identifier"], "ENG-1");
    assert_eq!(saved["state"]["name"], "Todo");
    assert_eq!(saved["status"], "Todo");
    assert_eq!(saved["title"], "With a file");
    let file = dir.join("attachments").join("design.png");
    for _ in 0..100 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::read(file).unwrap(), b"PNGDATA");
    s.fake.redirect_uploads("https://elsewhere.invalid/x");
    assert_eq!(
        s.linear().attachment(&url).await.unwrap_err().code(),
        "ATTACHMENT_URL_REFUSED"
    );
}
