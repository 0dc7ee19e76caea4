//! The background refresh of tracker issues against a real repository, an in-memory
//! tracker and a terminals port that records the agent sessions asked for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openkit_core::Workbench;
use openkit_core::integrations::IntegrationsStore;
use openkit_core::issues::IssueId;
use openkit_core::logs::{ActivityEvent, ActivityQuery, Level, OpsLogEvent, OpsQuery};
use openkit_core::testing::{MemoryIssues, RecordingTerminals, TestRepo};
use openkit_core::trackers::TrackerRefresh;
use serde_json::{Value, json};

use crate::within;

const MINUTE: Duration = Duration::from_secs(60);

struct Fixture {
    repo: TestRepo,
    tracker: Arc<MemoryIssues>,
    terminals: Arc<RecordingTerminals>,
    store: Arc<IntegrationsStore>,
    workbench: Arc<Workbench>,
}

impl Fixture {
    /// A workbench with the in-memory tracker `acme` registered and its section set to
    /// `section`.
    fn new(section: Value) -> Self {
        let repo = TestRepo::new();
        let tracker = Arc::new(MemoryIssues::new("acme"));
        let terminals = Arc::new(RecordingTerminals::new());
        let workbench = Fixture::compose(&repo, &tracker, &terminals);
        let store = Arc::new(IntegrationsStore::new(workbench.paths()));
        store.put_section("acme", &section).unwrap();
        Fixture {
            repo,
            tracker,
            terminals,
            store,
            workbench,
        }
    }

    fn compose(
        repo: &TestRepo,
        tracker: &Arc<MemoryIssues>,
        terminals: &Arc<RecordingTerminals>,
    ) -> Arc<Workbench> {
        repo.composition()
            .issue_source(Arc::clone(tracker) as _)
            .terminals(Arc::clone(terminals) as _)
            .build()
            .unwrap()
    }

    fn refresh(&self) -> TrackerRefresh {
        TrackerRefresh::new(Arc::clone(&self.workbench), Arc::clone(&self.store))
    }

    fn events(&self, event_type: &str) -> Vec<ActivityEvent> {
        self.workbench
            .backbone()
            .activity()
            .query(&ActivityQuery {
                since: None,
                category: None,
                limit: 1000,
            })
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }

    fn poll_warnings(&self) -> Vec<OpsLogEvent> {
        self.workbench
            .backbone()
            .ops()
            .query(&OpsQuery {
                since: None,
                level: Some(Level::Warning),
                status: None,
                source: Some("trackers".into()),
                search: None,
                limit: 1000,
            })
            .unwrap()
    }
}

#[tokio::test]
async fn new_issues_are_announced_once_and_get_an_agent_in_a_linked_worktree() {
    let fx = Fixture::new(json!({
        "token": "kept as it is",
        "refreshIntervalMinutes": 5,
        "autoStartAgent": "claude",
        "autoStartClaudeSkipPermissions": true,
        "autoStartClaudeFocusTerminal": true,
        "autoUpdateIssueStatusOnAgentStart": true,
        "autoUpdateIssueStatusName": "In Progress",
    }));
    let refresh = fx.refresh();
    fx.tracker.assign("ACME-1", "Old work");
    let t0 = Instant::now();

    // The first poll records what is assigned already: nothing announced or started.
    let first = within(refresh.tick(t0)).await;
    assert_eq!(first.polled.len(), 1);
    assert!(first.announced.is_empty() && first.started.is_empty());
    assert!(fx.events("issue_assigned").is_empty());

    fx.tracker.assign("ACME-2", "Fix the login");
    // Not due before the interval.
    let early = within(refresh.tick(t0 + MINUTE)).await;
    assert!(early.polled.is_empty());
    assert_eq!(fx.tracker.assigned_calls(), 1);

    let due = within(refresh.tick(t0 + 5 * MINUTE)).await;
    assert_eq!(
        due.announced
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        ["acme/ACME-2"]
    );
    assert_eq!(due.started.len(), 1);

    let assigned = fx.events("issue_assigned");
    assert_eq!(assigned.len(), 1);
    assert_eq!(
        assigned[0].title,
        "ACME-2 was assigned to you: Fix the login"
    );
    assert_eq!(
        assigned[0].metadata,
        Some(json!({
            "source": "acme",
            "issueId": "ACME-2",
            "issueTitle": "Fix the login",
            "issueUrl": "https://acme.invalid/ACME-2",
            "issueStatus": "To Do",
        }))
    );

    // The worktree exists and is linked to the issue.
    let worktree = within(fx.workbench.worktree("ACME-2")).await.unwrap();
    let linked = worktree.linked_issue.expect("the worktree is linked");
    assert_eq!(linked.issue.to_string(), "acme/ACME-2");

    // One agent session, in the worktree, with the skip-permissions flag and the issue
    // as its prompt, marked as an agent's.
    let launches = fx.terminals.launches();
    assert_eq!(launches.len(), 1);
    let launch = &launches[0];
    assert_eq!(launch.worktree_id, "ACME-2");
    assert_eq!(launch.cwd, worktree.path);
    assert!(
        launch.command.starts_with(
            "claude --dangerously-skip-permissions 'Work on acme issue ACME-2: Fix the login."
        ),
        "{}",
        launch.command
    );
    assert_eq!(
        launch.env,
        vec![("OPENKIT_ACTOR".to_string(), "agent:ACME-2".to_string())]
    );
    assert!(
        launch
            .base_env
            .iter()
            .any(|(k, v)| k == "HOME" && v == fx.repo.home().as_os_str())
    );

    // The status moved after the agent started.
    assert_eq!(
        fx.tracker.status_updates(),
        vec![(IssueId::new("ACME-2").unwrap(), "In Progress".to_string())]
    );

    let claimed = fx.events("auto_task_claimed");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].title, "Claude started working on ACME-2");
    assert_eq!(claimed[0].worktree_id.as_deref(), Some("ACME-2"));
    let meta = claimed[0].metadata.as_ref().unwrap();
    assert_eq!(meta["autoClaimed"], true);
    assert_eq!(meta["agent"], "claude");
    assert_eq!(meta["sessionId"], "session-1");
    assert_eq!(meta["focusTerminal"], true);
    assert_eq!(meta["statusUpdatedTo"], "In Progress");

    // Later polls, and a restart, announce nothing again.
    within(refresh.tick(t0 + 10 * MINUTE)).await;
    let restarted = TrackerRefresh::new(
        Fixture::compose(&fx.repo, &fx.tracker, &fx.terminals),
        Arc::clone(&fx.store),
    );
    let after_restart = within(restarted.tick(Instant::now())).await;
    assert_eq!(after_restart.polled.len(), 1);
    assert!(after_restart.announced.is_empty());
    assert_eq!(fx.events("issue_assigned").len(), 1);
    assert_eq!(fx.terminals.launches().len(), 1);
    // The section's other fields were not touched.
    let section: Value = fx.store.section("acme").unwrap().unwrap();
    assert_eq!(section["token"], "kept as it is");
}

#[tokio::test]
async fn failing_polls_warn_back_off_and_recover() {
    let fx = Fixture::new(json!({ "refreshIntervalMinutes": 1 }));
    let refresh = fx.refresh().with_poll_timeout(Duration::from_millis(200));
    let t0 = Instant::now();
    within(refresh.tick(t0)).await;

    fx.tracker.fail_assigned(Some("tracker is down"));
    let failed = within(refresh.tick(t0 + MINUTE)).await;
    assert_eq!(failed.failed.len(), 1);
    // Retries: 1 minute after the first failure, then 2.
    assert!(
        within(refresh.tick(t0 + MINUTE + MINUTE / 2))
            .await
            .failed
            .is_empty()
    );
    assert_eq!(within(refresh.tick(t0 + 2 * MINUTE)).await.failed.len(), 1);
    assert!(
        within(refresh.tick(t0 + 3 * MINUTE))
            .await
            .failed
            .is_empty()
    );
    // A hanging tracker is a failure too, after the poll timeout.
    fx.tracker.fail_assigned(None);
    fx.tracker.hang_assigned(true);
    let hung = within(refresh.tick(t0 + 4 * MINUTE)).await;
    assert_eq!(hung.failed.len(), 1);

    let warnings = fx.poll_warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].message.contains("tracker is down"));
    assert!(warnings[2].message.contains("no answer within 200 ms"));
    // One activity warning per streak of failures.
    let activity = fx.events("issue_refresh_failed");
    assert_eq!(activity.len(), 1);
    assert_eq!(activity[0].detail.as_deref(), Some("tracker is down"));

    // Back: polled again once the delay passed, and new issues are announced.
    fx.tracker.hang_assigned(false);
    fx.tracker.assign("ACME-9", "After the outage");
    let recovered = within(refresh.tick(t0 + 8 * MINUTE)).await;
    assert_eq!(recovered.polled.len(), 1);
    assert_eq!(recovered.announced.len(), 1);
    // No agent is configured: none started.
    assert!(recovered.started.is_empty());
    assert!(fx.terminals.launches().is_empty());
}

#[tokio::test]
async fn configuration_is_read_on_every_tick() {
    let fx = Fixture::new(json!({ "refreshIntervalMinutes": 60 }));
    let refresh = fx.refresh();
    let t0 = Instant::now();
    within(refresh.tick(t0)).await;
    assert!(
        within(refresh.tick(t0 + 2 * MINUTE))
            .await
            .polled
            .is_empty()
    );

    // A shorter interval takes effect at the next tick.
    fx.store
        .put_section("acme", &json!({ "refreshIntervalMinutes": 2 }))
        .unwrap();
    assert_eq!(within(refresh.tick(t0 + 2 * MINUTE)).await.polled.len(), 1);

    // Unconfigured: not polled, and its seen issues are forgotten, so a new configuration
    // starts with a silent first poll.
    fx.tracker.assign("ACME-3", "While unconfigured");
    fx.store.remove_section("acme").unwrap();
    let off = within(refresh.tick(t0 + 10 * MINUTE)).await;
    assert!(off.polled.is_empty());
    fx.store
        .put_section("acme", &json!({ "refreshIntervalMinutes": 2 }))
        .unwrap();
    let again = within(refresh.tick(t0 + 11 * MINUTE)).await;
    assert_eq!(again.polled.len(), 1);
    assert!(again.announced.is_empty());

    // A section that does not parse is a warning, not a crash.
    fx.store
        .put_section("acme", &json!({ "refreshIntervalMinutes": "soon" }))
        .unwrap();
    let bad = within(refresh.tick(t0 + 20 * MINUTE)).await;
    assert_eq!(bad.failed.len(), 1);
}

#[tokio::test]
async fn a_failed_start_or_status_change_is_a_warning() {
    let fx = Fixture::new(json!({
        "autoStartAgent": "nobody",
    }));
    let refresh = fx.refresh();
    let t0 = Instant::now();
    within(refresh.tick(t0)).await;
    fx.tracker.assign("ACME-4", "Unknown agent");
    let report = within(refresh.tick(t0 + 5 * MINUTE)).await;
    assert_eq!(report.announced.len(), 1);
    assert!(report.started.is_empty());
    let failed = fx.events("auto_start_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].metadata.as_ref().unwrap()["code"],
        "UNKNOWN_AGENT"
    );

    // The tracker refuses the status: the agent still runs, the refusal is reported.
    fx.store
        .put_section(
            "acme",
            &json!({
                "autoStartAgent": "gemini",
                "autoUpdateIssueStatusOnAgentStart": true,
                "autoUpdateIssueStatusName": "Doing",
            }),
        )
        .unwrap();
    fx.tracker
        .refuse_status_updates(Some("no transition to Doing"));
    fx.tracker.assign("ACME-5", "Refused status");
    let report = within(refresh.tick(t0 + 10 * MINUTE)).await;
    assert_eq!(report.started.len(), 1);
    let launches = fx.terminals.launches();
    assert!(
        launches[0]
            .command
            .starts_with("gemini -i 'Work on acme issue ACME-5"),
        "{}",
        launches[0].command
    );
    let refused = fx.events("issue_status_update_failed");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].detail.as_deref(), Some("no transition to Doing"));
    let claimed = fx.events("auto_task_claimed");
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed[0].metadata.as_ref().unwrap()["statusUpdatedTo"],
        Value::Null
    );
}

#[tokio::test]
async fn hung_trackers_are_waited_for_together_and_delay_no_other() {
    let repo = TestRepo::new();
    let names = ["acme", "beta", "gamma"];
    let trackers: Vec<Arc<MemoryIssues>> = names
        .iter()
        .map(|n| Arc::new(MemoryIssues::new(n)))
        .collect();
    let mut composition = repo.composition();
    for tracker in &trackers {
        composition = composition.issue_source(Arc::clone(tracker) as _);
    }
    let workbench = composition.build().unwrap();
    let store = Arc::new(IntegrationsStore::new(workbench.paths()));
    for name in names {
        store
            .put_section(name, &json!({ "refreshIntervalMinutes": 1 }))
            .unwrap();
    }
    let timeout = Duration::from_secs(2);
    let refresh = TrackerRefresh::new(workbench, store).with_poll_timeout(timeout);
    let t0 = Instant::now();
    assert_eq!(within(refresh.tick(t0)).await.polled.len(), 3);

    trackers[0].hang_assigned(true);
    trackers[2].hang_assigned(true);
    trackers[1].assign("B-1", "Still arrives");
    let started = Instant::now();
    let report = within(refresh.tick(t0 + MINUTE)).await;
    let elapsed = started.elapsed();
    assert_eq!(
        report.failed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["acme", "gamma"]
    );
    assert_eq!(
        report
            .announced
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        ["beta/B-1"]
    );
    // Both hung polls ran out together, not one after the other.
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(
        elapsed < timeout * 2 - Duration::from_millis(250),
        "{elapsed:?}"
    );
}
