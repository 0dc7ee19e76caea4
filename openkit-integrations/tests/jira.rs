//! The Jira service against the fake Jira (site, OAuth gateway and authorization
//! server): setup checks credentials before saving, search paging, transitions,
//! comments, ADF both ways, errors as Jira sends them, rate limits, timeouts, the
//! attachment proxy's confinement, saving issue data, and OAuth with token refresh.

use std::sync::Arc;
use std::time::Duration;

use openkit_core::integrations::{AutoCleanup, DataLifecycle, SaveOn};
use openkit_core::issues::{IssueId, SourceId};
use openkit_core::testing::TestRepo;
use openkit_core::{Composition, DomainError, Workbench};
use openkit_integrations::Integrations;
use openkit_integrations::hub::Endpoints;
use openkit_integrations::jira::JiraService;
use openkit_integrations::secret::Secret;
use openkit_integrations::testing_jira::{
    AUTH_CODE, AttachmentRedirect, CLIENT_ID, CLIENT_SECRET, EMAIL, FakeIssue, FakeJira, Fault,
    TOKEN,
};
use openkit_integrations::tracker::SettingsPatch;
use serde_json::json;

struct Setup {
    repo: TestRepo,
    workbench: Arc<Workbench>,
    integrations: Integrations,
    fake: FakeJira,
}

impl Setup {
    fn jira(&self) -> &Arc<JiraService> {
        self.integrations.jira()
    }
}

async fn setup() -> Setup {
    let fake = FakeJira::start().await;
    let repo = TestRepo::new();
    let workbench = Composition::new(repo.paths(), repo.host_env())
        .build()
        .unwrap();
    let endpoints = Endpoints {
        linear_api: format!("{}/graphql", fake.url()),
        atlassian_auth: fake.url().to_string(),
        atlassian_api: fake.url().to_string(),
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
    s.jira()
        .setup(s.fake.url(), EMAIL, Secret::new(TOKEN))
        .await
        .unwrap();
    s
}

#[tokio::test]
async fn setup_checks_the_credentials_before_saving_and_registers_the_source() {
    let s = setup().await;
    let jira = SourceId::new("jira").unwrap();
    assert!(s.workbench.issue_sources().find(&jira).is_none());
    assert_eq!(
        s.jira().issues(None).await.unwrap_err().code(),
        "JIRA_NOT_CONFIGURED"
    );
    let err = s
        .jira()
        .setup(s.fake.url(), EMAIL, Secret::new("wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "JIRA_CONNECTION_FAILED");
    assert!(
        err.to_string()
            .starts_with("Connection failed: Jira rejected the credentials"),
        "{err}"
    );
    assert!(
        !s.repo
            .paths()
            .openkit_dir()
            .join("integrations.json")
            .exists()
    );
    let err = s
        .jira()
        .setup("http://jira.example.com", EMAIL, Secret::new(TOKEN))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "JIRA_CONNECTION_FAILED");

    s.jira()
        .setup(&format!("{}/", s.fake.url()), EMAIL, Secret::new(TOKEN))
        .await
        .unwrap();
    assert!(s.workbench.issue_sources().find(&jira).is_some());
    let status = s.jira().status().unwrap();
    assert!(status.configured);
    assert_eq!(status.email.as_deref(), Some(EMAIL));
    assert_eq!(status.domain.as_deref(), Some("127.0.0.1"));
    assert_eq!(status.display_name.as_deref(), Some("Dev Eloper"));
    let file =
        std::fs::read_to_string(s.repo.paths().openkit_dir().join("integrations.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(saved["jira"]["authMethod"], "api-token");
    assert_eq!(saved["jira"]["apiToken"]["token"], TOKEN);
    assert!(format!("{:?}", s.jira().section().unwrap()).contains("REDACTED"));
    assert!(!format!("{:?}", s.jira().section().unwrap()).contains(TOKEN));
    assert_eq!(s.jira().verify().await.map(|r| r.is_ok()), Some(true));

    s.jira().disconnect().unwrap();
    assert!(s.workbench.issue_sources().find(&jira).is_none());
    assert!(s.jira().verify().await.is_none());
}

#[tokio::test]
async fn assigned_issues_page_through_next_page_tokens() {
    let s = configured().await;
    for n in 1..=230 {
        s.fake
            .add_issue(&format!("PROJ-{n}"), &format!("Issue number {n}"));
    }
    s.fake.add(FakeIssue {
        assigned_to_me: false,
        ..fake_issue("PROJ-900", "Someone else's")
    });
    s.fake.update("PROJ-7", |i| i.status = "Done".into());
    let issues = s.jira().issues(None).await.unwrap();
    assert_eq!(issues.len(), 229);
    assert_eq!(issues[0].key, "PROJ-230", "newest first");
    assert!(
        issues
            .iter()
            .all(|i| i.key != "PROJ-7" && i.key != "PROJ-900")
    );
    let searches = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.uri == "/rest/api/3/search/jql")
        .count();
    assert_eq!(searches, 3);
    assert!(issues[0].url.ends_with("/browse/PROJ-230"));
    // The source's `assigned()` is the same list, and `peek` knows them afterwards.
    let source = s
        .workbench
        .issue_sources()
        .get(&SourceId::new("jira").unwrap())
        .unwrap();
    let assigned = source.assigned().await.unwrap();
    assert_eq!(assigned.len(), 229);
    assert_eq!(
        source
            .peek(&IssueId::new("PROJ-1").unwrap())
            .unwrap()
            .status,
        "To Do"
    );
    // Text queries are quoted JQL.
    let found = s.jira().issues(Some("number 22\"")).await.unwrap();
    assert!(found.is_empty());
    let found = s.jira().issues(Some("number 229")).await.unwrap();
    assert_eq!(found.len(), 1);
}

fn fake_issue(key: &str, summary: &str) -> FakeIssue {
    FakeIssue {
        key: key.into(),
        summary: summary.into(),
        status: "To Do".into(),
        assigned_to_me: true,
        priority: "Medium".into(),
        issue_type: "Task".into(),
        labels: vec!["backend".into()],
        description: json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Fix it", "marks": [{"type": "strong"}]}]}
        ]}),
        comments: Vec::new(),
        attachments: Vec::new(),
        updated: 0,
    }
}

#[tokio::test]
async fn detail_renders_adf_and_writes_go_back_as_adf() {
    let s = configured().await;
    s.fake.add(fake_issue("PROJ-1", "Login breaks"));
    let issue = s.jira().issue("PROJ-1", false).await.unwrap();
    assert_eq!(issue.description, "**Fix it**");
    assert_eq!(issue.summary.labels, vec!["backend"]);

    let comment = s
        .jira()
        .add_comment("PROJ-1", "On it.\nToday.")
        .await
        .unwrap();
    assert_eq!(comment.body, "On it.\nToday.");
    assert_eq!(
        s.fake.issue("PROJ-1").unwrap().comments[0].body["content"][0]["content"][1]["type"],
        "hardBreak"
    );
    s.jira()
        .edit_comment("PROJ-1", &comment.id, "Edited")
        .await
        .unwrap();
    assert_eq!(
        s.jira().issue("PROJ-1", false).await.unwrap().comments[0].body,
        "Edited"
    );
    s.jira()
        .delete_comment("PROJ-1", &comment.id)
        .await
        .unwrap();
    assert!(s.fake.issue("PROJ-1").unwrap().comments.is_empty());
    assert_eq!(
        s.jira()
            .delete_comment("PROJ-1", "999")
            .await
            .unwrap_err()
            .code(),
        "UPSTREAM_NOT_FOUND"
    );
    assert_eq!(
        s.jira()
            .delete_comment("PROJ-1", "../1")
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );

    s.jira()
        .set_summary("PROJ-1", "Login really breaks")
        .await
        .unwrap();
    s.jira()
        .set_description("PROJ-1", "Steps\n\nMore")
        .await
        .unwrap();
    s.jira().set_priority("PROJ-1", "High").await.unwrap();
    s.jira().set_type("PROJ-1", "bug").await.unwrap();
    let now = s.fake.issue("PROJ-1").unwrap();
    assert_eq!(
        (
            now.summary.as_str(),
            now.priority.as_str(),
            now.issue_type.as_str()
        ),
        ("Login really breaks", "High", "Bug")
    );
    assert_eq!(
        s.jira().issue("PROJ-1", false).await.unwrap().description,
        "Steps\n\nMore"
    );
    let err = s.jira().set_priority("PROJ-1", "Urgent").await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_REJECTED");
    assert!(
        err.to_string().contains("Specify a valid priority"),
        "{err}"
    );
    assert_eq!(
        s.jira()
            .set_type("PROJ-1", "Epic")
            .await
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    assert_eq!(
        s.jira().issue("PROJ-404", false).await.unwrap_err().code(),
        "UPSTREAM_NOT_FOUND"
    );
    assert_eq!(
        s.jira().issue("../etc", false).await.unwrap_err().code(),
        "INVALID_ISSUE_KEY"
    );
}

#[tokio::test]
async fn statuses_move_through_transitions_by_name() {
    let s = configured().await;
    s.fake.add_issue("PROJ-1", "One");
    let options = s.jira().issue_status_options("PROJ-1").await.unwrap();
    assert_eq!(options.len(), 3);
    assert_eq!(
        s.jira().transition("PROJ-1", "in progress").await.unwrap(),
        "In Progress"
    );
    assert_eq!(s.fake.issue("PROJ-1").unwrap().status, "In Progress");
    let err = s.jira().transition("PROJ-1", "Shipped").await.unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    assert!(
        err.to_string()
            .contains("available: To Do, In Review, Done"),
        "{err}"
    );
    // Through the issue source, as the automation does.
    let source = s
        .workbench
        .issue_sources()
        .get(&SourceId::new("jira").unwrap())
        .unwrap();
    source
        .update_status(&IssueId::new("PROJ-1").unwrap(), "In Review")
        .await
        .unwrap();
    assert_eq!(s.fake.issue("PROJ-1").unwrap().status, "In Review");
    let issue = source.get(&IssueId::new("PROJ-1").unwrap()).await.unwrap();
    assert_eq!(issue.summary.status, "In Review");
    assert_eq!(
        source
            .get(&IssueId::new("PROJ-2").unwrap())
            .await
            .unwrap_err()
            .code(),
        "ISSUE_NOT_FOUND"
    );

    assert_eq!(
        s.jira().project_status_options().await.unwrap_err().code(),
        "JIRA_NO_DEFAULT_PROJECT"
    );
    s.jira()
        .update_config(Some(Some("PROJ".into())), &SettingsPatch::default())
        .unwrap();
    assert_eq!(
        s.jira().project_status_options().await.unwrap(),
        vec!["To Do", "In Progress", "In Review", "Done"]
    );
    assert_eq!(s.jira().priorities().await.unwrap().len(), 3);
    assert_eq!(s.jira().type_options("PROJ-1").await.unwrap()[1].1, "Bug");
}

#[tokio::test]
async fn errors_rate_limits_and_slow_answers() {
    let s = configured().await;
    s.fake.add_issue("PROJ-1", "One");
    s.fake.fail_next(Fault::RateLimited { retry_after: 30 });
    let err = s.jira().issues(None).await.unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_RATE_LIMITED");
    assert_eq!(err.context(), vec![("retryAfter", "30".to_string())]);
    // The gate stays closed: nothing is sent until the wait is over.
    let before = s.fake.requests().len();
    assert_eq!(
        s.jira().issues(None).await.unwrap_err().code(),
        "UPSTREAM_RATE_LIMITED"
    );
    assert_eq!(s.fake.requests().len(), before);

    let s = configured().await;
    s.fake.fail_next(Fault::Status {
        status: 401,
        message: "Token revoked".into(),
    });
    let err = s.jira().issues(None).await.unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("UPSTREAM_UNAUTHORIZED", openkit_core::ErrorKind::Upstream)
    );
    s.fake.fail_next(Fault::Status {
        status: 500,
        message: "boom".into(),
    });
    assert_eq!(
        s.jira().issues(None).await.unwrap_err().code(),
        "UPSTREAM_FAILED"
    );
    // A hanging Jira is cut off by the request timeout (20 s).
    s.fake.fail_next(Fault::Slow(Duration::from_secs(60)));
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), s.jira().issues(None)).await;
    let err = result
        .expect("bounded by the client's timeout")
        .unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_UNREACHABLE");
    assert!(started.elapsed() < Duration::from_secs(29));
}

#[tokio::test]
async fn the_attachment_proxy_stays_on_the_site() {
    let s = configured().await;
    s.fake.add_issue("PROJ-1", "One");
    let id = s
        .fake
        .attach("PROJ-1", "shot.png", "image/png", b"\x89PNG data");
    let url = format!("{}/rest/api/3/attachment/content/{id}", s.fake.url());
    let content = s.jira().attachment(&url).await.unwrap();
    assert_eq!(content.content_type, "image/png");
    assert_eq!(content.bytes, b"\x89PNG data");
    assert!(
        s.fake
            .requests()
            .iter()
            .any(|r| r.uri == format!("/rest/api/3/attachment/content/{id}?redirect=false"))
    );
    for bad in [
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("{}/rest/api/3/myself", s.fake.url()),
        "file:///etc/passwd".to_string(),
        "gopher://127.0.0.1/".to_string(),
    ] {
        assert_eq!(
            s.jira().attachment(&bad).await.unwrap_err().code(),
            "ATTACHMENT_URL_REFUSED",
            "{bad}"
        );
    }
    // A redirect to another host is refused, not followed.
    s.fake.set_attachment_redirect(AttachmentRedirect::Always(
        "http://127.0.0.2:1/steal".into(),
    ));
    assert_eq!(
        s.jira().attachment(&url).await.unwrap_err().code(),
        "ATTACHMENT_URL_REFUSED"
    );
}

#[tokio::test]
async fn viewing_saves_issue_data_and_cleanup_keeps_linked_issues() {
    let s = configured().await;
    s.fake.add(fake_issue("PROJ-1", "Saved on view"));
    s.fake
        .attach("PROJ-1", "log.txt", "text/plain", b"log line");
    let dir = s.repo.paths().issues_dir().join("jira").join("PROJ-1");
    s.jira().issue("PROJ-1", true).await.unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("issue.json")).unwrap()).unwrap();
    assert_eq!(saved["key"], "PROJ-1");
    assert_eq!(saved["summary"], "Saved on view");
    assert_eq!(saved["description"], "**Fix it**");
    // The attachment arrives in the background.
    let file = dir.join("attachments").join("log.txt");
    for _ in 0..100 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"log line");
    let again = s.jira().issue("PROJ-1", true).await.unwrap();
    assert!(again.attachments[0].local_path.is_some());

    // saveOn: never writes nothing.
    let patch = SettingsPatch {
        data_lifecycle: Some(DataLifecycle {
            save_on: SaveOn::Never,
            auto_cleanup: AutoCleanup {
                enabled: true,
                statuses: vec!["Done".into()],
                after_days: None,
                on_worktree_removed: false,
            },
        }),
        ..Default::default()
    };
    s.jira().update_config(None, &patch).unwrap();
    s.fake.add_issue("PROJ-2", "Not saved");
    s.jira().issue("PROJ-2", true).await.unwrap();
    assert!(
        !s.repo
            .paths()
            .issues_dir()
            .join("jira")
            .join("PROJ-2")
            .exists()
    );

    // Cleanup (run by the list) removes a done issue's data, unless linked.
    s.fake.add_issue("PROJ-3", "Linked");
    let linked = openkit_core::issues::IssueRef::parse("jira", "PROJ-3").unwrap();
    openkit_core::issues::SavedIssues::new(s.repo.paths())
        .save(&linked, &json!({"status": "Done"}))
        .unwrap();
    s.workbench.notes().link(&linked, Some("PROJ-3")).unwrap();
    std::fs::write(
        dir.join("issue.json"),
        serde_json::to_vec(&json!({"key": "PROJ-1", "status": "Done"})).unwrap(),
    )
    .unwrap();
    s.jira().issues(None).await.unwrap();
    for _ in 0..100 {
        if !dir.join("issue.json").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!dir.join("issue.json").exists());
    assert!(linked.dir(&s.repo.paths()).join("issue.json").exists());
}

#[tokio::test]
async fn oauth_checks_state_and_refreshes_tokens_before_expiry() {
    let s = setup().await;
    let url = s
        .jira()
        .start_oauth(
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
            "http://localhost:4040/api/jira/oauth/callback",
        )
        .unwrap();
    let parsed = reqwest::Url::parse(&url).unwrap();
    assert_eq!(parsed.path(), "/authorize");
    let state = parsed
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert!(state.len() >= 32);
    // A forged state is refused and nothing is saved.
    let err = s
        .jira()
        .finish_oauth(AUTH_CODE, "forged")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "JIRA_OAUTH_FAILED");
    assert!(s.jira().section().unwrap().is_none());
    s.jira().finish_oauth(AUTH_CODE, &state).await.unwrap();
    // The state is single use.
    assert_eq!(
        s.jira()
            .finish_oauth(AUTH_CODE, &state)
            .await
            .unwrap_err()
            .code(),
        "JIRA_OAUTH_FAILED"
    );
    let status = s.jira().status().unwrap();
    assert_eq!(status.auth_method, Some("oauth"));
    s.fake.add_issue("PROJ-1", "Via OAuth");
    assert_eq!(s.jira().issues(None).await.unwrap().len(), 1);
    assert!(s.fake.requests().iter().any(|r| {
        r.uri
            .starts_with("/ex/jira/cloud-1234/rest/api/3/search/jql")
            && r.auth.as_deref() == Some("Bearer")
    }));
    assert_eq!(s.fake.refreshes(), 0);

    // Tokens that expire within a minute are refreshed first (and the rotated refresh
    // token saved).
    s.fake.set_token_lifetime(30);
    let url = s
        .jira()
        .start_oauth(
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
            "http://localhost:4040/cb",
        )
        .unwrap();
    let state = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .unwrap();
    s.jira().finish_oauth(AUTH_CODE, &state).await.unwrap();
    s.fake.set_token_lifetime(3600);
    assert_eq!(s.jira().issues(None).await.unwrap().len(), 1);
    assert_eq!(s.fake.refreshes(), 1);
    let saved = s.jira().section().unwrap().unwrap();
    match saved.auth {
        openkit_integrations::jira::JiraAuth::OAuth { oauth } => {
            assert_eq!(oauth.access_token.expose(), s.fake.access_token());
        }
        other => panic!("not oauth: {other:?}"),
    }
    assert_eq!(s.jira().issues(None).await.unwrap().len(), 1);
    assert_eq!(
        s.fake.refreshes(),
        1,
        "a fresh token is not refreshed again"
    );
}
