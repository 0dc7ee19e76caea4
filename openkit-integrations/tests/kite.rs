//! The Kite service against the fake Kite (written from Kite's REST API reference):
//! setup, the durable outbox (Kite down, restarts, retries, no duplicates), forwarding
//! filters, agent messages both ways (exactly once across restarts), webhook config.

use std::sync::Arc;
use std::time::Duration;

use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::{ActivityEvent, ActivityQuery};
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, Workbench};
use openkit_integrations::Integrations;
use openkit_integrations::kite::{KiteConfigChange, KiteSetup, MessageDraft};
use openkit_integrations::secret::Secret;
use openkit_integrations::testing_kite::{
    FAKE_API_KEY, FAKE_HOOK_TOKEN, FAKE_TEAM, FakeKite, Fault, Permission,
};

fn setup_for(fake: &FakeKite) -> KiteSetup {
    KiteSetup {
        base_url: fake.url().to_string(),
        api_key: Secret::new(FAKE_API_KEY),
        team_id: FAKE_TEAM.into(),
        source: "openkit".into(),
        hook_token: Secret::new(FAKE_HOOK_TOKEN),
    }
}

struct Fixture {
    repo: TestRepo,
    workbench: Arc<Workbench>,
    integrations: Option<Integrations>,
    fake: FakeKite,
}

async fn configured() -> Fixture {
    let repo = TestRepo::new();
    let workbench = repo.composition().build().unwrap();
    let integrations = Integrations::new(Arc::clone(&workbench));
    let fake = FakeKite::start().await;
    integrations.kite().setup(setup_for(&fake)).await.unwrap();
    Fixture {
        repo,
        workbench,
        integrations: Some(integrations),
        fake,
    }
}

impl Fixture {
    /// The server restarted: a new workbench and services over the same project.
    fn kite(&self) -> &openkit_integrations::kite::KiteService {
        self.integrations.as_ref().expect("running").kite()
    }

    /// The old services stop before the new ones open the same files.
    fn restart(&mut self) {
        self.integrations = None;
        self.workbench = self.repo.composition().build().unwrap();
        self.integrations = Some(Integrations::new(Arc::clone(&self.workbench)));
    }
}

fn activity(category: ActivityCategory, kind: &str) -> ActivityEvent {
    ActivityEvent::new(category, kind, Severity::Info, &format!("{kind} happened"))
}

fn messages(workbench: &Workbench) -> Vec<ActivityEvent> {
    workbench
        .backbone()
        .activity()
        .query(&ActivityQuery {
            since: None,
            category: None,
            limit: 1000,
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "kite_message")
        .collect()
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn setup_is_validated_with_a_read_call() {
    let repo = TestRepo::new();
    let workbench = repo.composition().build().unwrap();
    let integrations = Integrations::new(Arc::clone(&workbench));
    let fake = FakeKite::start().await;
    let kite = integrations.kite();
    let mut bad = setup_for(&fake);
    bad.api_key = Secret::new("nope");
    let err = kite.setup(bad).await.unwrap_err();
    assert_eq!(err.code(), "KITE_CONNECTION_FAILED");
    assert!(err.to_string().starts_with("Connection failed: "), "{err}");
    let mut other_team = setup_for(&fake);
    other_team.team_id = "team-2".into();
    assert_eq!(
        kite.setup(other_team).await.unwrap_err().code(),
        "KITE_CONNECTION_FAILED"
    );
    let mut bad_source = setup_for(&fake);
    bad_source.source = "no spaces".into();
    assert_eq!(
        kite.setup(bad_source).await.unwrap_err().code(),
        "INVALID_INPUT"
    );
    assert!(!kite.status().unwrap().configured);
    // Every bearer call named the team.
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.uri.starts_with("/api/v1/"))
            .all(|r| r.uri.contains("team_id="))
    );
    kite.setup(setup_for(&fake)).await.unwrap();
    let status = kite.status().unwrap();
    assert!(status.configured && status.enabled);
    assert_eq!(status.team_id.as_deref(), Some(FAKE_TEAM));
    assert!(matches!(kite.verify().await, Some(Ok(()))));
    kite.delete_credentials().unwrap();
    assert!(kite.verify().await.is_none());
}

#[tokio::test]
async fn activity_is_forwarded_as_cloud_events_in_the_background() {
    let f = configured().await;
    let mut event = activity(ActivityCategory::Worktree, "creation_completed");
    event.worktree_id = Some("PROJ-1".into());
    f.workbench
        .backbone()
        .record_activity(event.clone())
        .unwrap();
    let ours = || {
        f.fake
            .ingested()
            .into_iter()
            .find(|e| e["id"] == serde_json::json!(event.id))
    };
    until("the event reaches Kite", || ours().is_some()).await;
    let ce = &ours().unwrap();
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["id"], serde_json::json!(event.id));
    assert_eq!(
        ce["type"],
        "dev.openkit.activity.worktree.creation_completed"
    );
    assert_eq!(ce["subject"], "PROJ-1");
    assert!(ce["time"].is_string() && ce["source"].is_string());
    until("the outbox empties", || f.kite().pending() == 0).await;
    // The hook was called on Kite's ingest path, without the bearer key in the URL.
    assert!(f.fake.requests().iter().any(|r| r.uri
        == format!("/hooks/{FAKE_TEAM}/openkit/{FAKE_HOOK_TOKEN}")
        && r.status == 202));
}

#[tokio::test]
async fn filters_choose_what_is_forwarded() {
    let f = configured().await;
    let kite = f.kite();
    kite.update_config(KiteConfigChange {
        categories: Some(vec!["agent".into()]),
        event_types: Some(vec!["agent_finished".into(), "agent.phase".into()]),
        ..Default::default()
    })
    .unwrap();
    assert!(
        !kite
            .offer(&activity(ActivityCategory::Worktree, "agent_finished"))
            .unwrap()
    );
    assert!(
        !kite
            .offer(&activity(ActivityCategory::Agent, "other"))
            .unwrap()
    );
    assert!(
        kite.offer(&activity(ActivityCategory::Agent, "agent_finished"))
            .unwrap()
    );
    assert!(
        kite.offer(&activity(ActivityCategory::Agent, "phase"))
            .unwrap()
    );
    // Messages that came from Kite are never sent back.
    assert!(
        !kite
            .offer(&activity(ActivityCategory::Agent, "kite_message"))
            .unwrap()
    );
    kite.update_config(KiteConfigChange {
        enabled: Some(false),
        ..Default::default()
    })
    .unwrap();
    assert!(
        !kite
            .offer(&activity(ActivityCategory::Agent, "agent_finished"))
            .unwrap()
    );
    let err = kite
        .update_config(KiteConfigChange {
            categories: Some(vec!["weather".into()]),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
}

#[tokio::test]
async fn the_outbox_survives_a_restart_while_kite_is_down_and_sends_each_event_once() {
    let mut f = configured().await;
    f.fake.set_down(true);
    let events: Vec<ActivityEvent> = (0..3)
        .map(|n| activity(ActivityCategory::Agent, &format!("step_{n}")))
        .collect();
    for e in &events {
        assert!(f.kite().offer(e).unwrap());
    }
    let report = f.kite().deliver_pending().await;
    assert_eq!((report.delivered, report.pending), (0, 3));
    assert!(report.retry_in.is_some());
    let outbox = f.workbench.paths().openkit_dir().join("kite-outbox.jsonl");
    assert_eq!(std::fs::read_to_string(&outbox).unwrap().lines().count(), 3);

    f.restart();
    assert_eq!(f.kite().pending(), 3);
    f.fake.set_down(false);
    until("the outbox drains after the restart", || {
        f.fake.ingested().len() == 3
    })
    .await;
    let ids: Vec<String> = f
        .fake
        .ingested()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, expected, "in order, each once");
    until("the outbox is empty", || f.kite().pending() == 0).await;
    assert_eq!(std::fs::read_to_string(&outbox).unwrap().trim(), "");

    // A crash between Kite's answer and the outbox rewrite sends the event again: the
    // stable id lets Kite drop the repeat.
    let line = serde_json::to_string(&openkit_integrations::kite::cloud_event(
        &events[0], "whatever",
    ))
    .unwrap();
    std::fs::write(&outbox, format!("{line}\n")).unwrap();
    f.restart();
    until("the repeat is acknowledged", || f.fake.duplicates() == 1).await;
    assert_eq!(f.fake.ingested().len(), 3);
}

#[tokio::test]
async fn delivery_backs_off_on_rate_limits_and_drops_what_kite_refuses_for_good() {
    let f = configured().await;
    let kite = f.kite();
    // An event Kite will never take (too large for the plan) is dropped and reported,
    // so the events behind it still go.
    f.fake.fail_next(Fault::Status {
        status: 413,
        message: "Event exceeds the plan's payload limit".into(),
    });
    kite.offer(&activity(ActivityCategory::System, "huge"))
        .unwrap();
    let next = activity(ActivityCategory::System, "next");
    kite.offer(&next).unwrap();
    until("the next event arrives", || f.fake.ingested().len() == 1).await;
    assert_eq!(f.fake.ingested()[0]["id"], serde_json::json!(next.id));
    let ops = f.workbench.backbone().ops();
    until("the refusal is in the ops log", || {
        ops.query(&openkit_core::logs::OpsQuery {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .any(|e| e.action == "outbox.refused")
    })
    .await;

    // A 429: its Retry-After is waited, and nothing is sent before it has passed.
    f.fake.fail_next(Fault::RateLimited { retry_after: 30 });
    kite.offer(&activity(ActivityCategory::System, "one"))
        .unwrap();
    until("the limit was met", || {
        f.fake.requests().iter().any(|r| r.status == 429)
    })
    .await;
    let sent = f.fake.requests().len();
    let report = kite.deliver_pending().await;
    assert_eq!(report.delivered, 0);
    let wait = report.retry_in.unwrap();
    assert!(
        wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    assert_eq!(kite.pending(), 1);
    assert_eq!(
        f.fake.requests().len(),
        sent,
        "sent while the limit was in force"
    );
    assert!(kite.status().unwrap().last_delivery_error.is_some());
}

#[tokio::test]
async fn messages_are_checked_for_size_and_sent_from_the_projects_agent() {
    let f = configured().await;
    let kite = f.kite();
    kite.update_config(KiteConfigChange {
        agent_name: Some(Some("openkit-demo".into())),
        ..Default::default()
    })
    .unwrap();
    let receipt = kite
        .send_message(MessageDraft {
            to: "agent-alpha".into(),
            body: "Results attached".into(),
            thread_id: Some("t-1".into()),
            reply_to_id: None,
        })
        .await
        .unwrap();
    assert_eq!(receipt.from, "openkit-demo");
    assert_eq!(receipt.to, "agent-alpha");
    let before = f.fake.requests().len();
    let err = kite
        .send_message(MessageDraft {
            to: "agent-alpha".into(),
            body: "x".repeat(64 * 1024),
            thread_id: None,
            reply_to_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "KITE_MESSAGE_TOO_LARGE");
    let after: Vec<_> = f.fake.requests()[before..]
        .iter()
        .filter(|r| r.uri.contains("/agents/messages"))
        .cloned()
        .collect();
    assert!(after.is_empty(), "an oversized message was sent: {after:?}");
    f.fake.set_permission(Permission::Read);
    let err = kite
        .send_message(MessageDraft {
            to: "agent-alpha".into(),
            body: "hi".into(),
            thread_id: None,
            reply_to_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "UPSTREAM_FORBIDDEN");
}

#[tokio::test]
async fn inbound_messages_become_activity_exactly_once_across_restarts() {
    let mut f = configured().await;
    let me = f.kite().status().unwrap().agent_name;
    // Drain whatever the background poller sees first, then inject.
    f.kite().poll_messages().await.unwrap();
    f.fake
        .inject_message("agent-alpha", &me, "Can you review PR 12?");
    f.fake
        .inject_message("agent-alpha", "someone-else", "not for us");
    f.fake.inject_message("agent-beta", &me, "Build is green");
    until("both messages arrive", || messages(&f.workbench).len() == 2).await;
    assert_eq!(f.kite().poll_messages().await.unwrap(), 0);
    let got = messages(&f.workbench);
    assert_eq!(got[0].title, "Message from agent-alpha");
    assert_eq!(got[0].detail.as_deref(), Some("Can you review PR 12?"));
    assert_eq!(got[0].category, ActivityCategory::Agent);
    let cursor = f.workbench.paths().openkit_dir().join("kite-inbox.json");
    assert!(std::fs::read_to_string(&cursor).unwrap().contains("since"));

    f.restart();
    assert_eq!(f.kite().poll_messages().await.unwrap(), 0);
    // A lost cursor (a crash before it was saved) does not record a message twice.
    std::fs::remove_file(&cursor).unwrap();
    f.restart();
    assert_eq!(f.kite().poll_messages().await.unwrap(), 0);
    assert_eq!(messages(&f.workbench).len(), 2);
    f.fake.inject_message("agent-alpha", &me, "One more");
    f.kite().poll_messages().await.unwrap();
    assert_eq!(messages(&f.workbench).len(), 3);
}

#[tokio::test]
async fn webhook_config_passes_through_without_the_secret() {
    let f = configured().await;
    let kite = f.kite();
    assert_eq!(kite.webhook_config().await.unwrap(), None);
    let config = kite
        .put_webhook_config(
            "https://example.com/kite-events",
            &Secret::new("shared-delivery-secret"),
            &["com.kite.agent.message".to_string()],
        )
        .await
        .unwrap();
    assert_eq!(config.url, "https://example.com/kite-events");
    assert_eq!(
        f.fake.webhook_secret().as_deref(),
        Some("shared-delivery-secret")
    );
    let read = kite.webhook_config().await.unwrap().unwrap();
    assert_eq!(read.event_types, ["com.kite.agent.message"]);
    assert!(!format!("{read:?}").contains("shared-delivery-secret"));
    kite.delete_webhook_config().await.unwrap();
    assert_eq!(kite.webhook_config().await.unwrap(), None);
    assert_eq!(
        kite.delete_webhook_config().await.unwrap_err().code(),
        "UPSTREAM_NOT_FOUND"
    );
}
