//! Follow-ups of a worktree delete: a small port for what a worktree had *elsewhere*
//! that should end with it (Kizuna's running pipelines of its branch).
//!
//! An adapter registers a [`RemovalFollowUp`] under a name in the workbench's
//! [`RemovalFollowUps`] (and removes it when it is unconfigured). After a delete has
//! succeeded, each follow-up runs in its own task: the delete neither waits for it nor
//! fails because of it. What it did, or why it failed, becomes one activity event of the
//! removed worktree (`removal_follow_up`, or `removal_follow_up_failed` as a warning).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::events::{ActivityNotice, EventSink, Severity, WorkbenchEvent};

/// The worktree a delete removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedWorktree {
    /// Its canonical id.
    pub id: String,
    /// The branch it had checked out (kept by the delete); empty for a detached HEAD.
    pub branch: String,
}

/// Something to do elsewhere once a worktree is gone.
#[async_trait]
pub trait RemovalFollowUp: Send + Sync + 'static {
    /// What it does, for the activity feed (`Kizuna pipelines`).
    fn name(&self) -> &str;

    /// Does it: `Ok(Some(summary))` when something was done (`2 running pipelines
    /// canceled`), `Ok(None)` when there was nothing to do, `Err(message)` when it failed
    /// (the message must carry no credential).
    async fn worktree_removed(&self, removed: &RemovedWorktree) -> Result<Option<String>, String>;
}

/// The follow-ups registered in one workbench, by name.
#[derive(Default)]
pub struct RemovalFollowUps(RwLock<BTreeMap<String, Arc<dyn RemovalFollowUp>>>);

impl std::fmt::Debug for RemovalFollowUps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl RemovalFollowUps {
    /// Registers (`Some`) or removes (`None`) the follow-up named `key`.
    pub fn set(&self, key: &str, follow_up: Option<Arc<dyn RemovalFollowUp>>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        match follow_up {
            Some(f) => map.insert(key.to_string(), f),
            None => map.remove(key),
        };
    }

    /// The registered names.
    pub fn names(&self) -> Vec<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Starts every follow-up for `removed`, each in its own task on the current tokio
    /// runtime (none: nothing runs), reporting to `events`. Returns at once.
    pub(crate) fn start(&self, removed: RemovedWorktree, events: Arc<dyn EventSink>) {
        let follow_ups: Vec<Arc<dyn RemovalFollowUp>> = self
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for follow_up in follow_ups {
            let removed = removed.clone();
            let events = Arc::clone(&events);
            runtime.spawn(async move {
                let outcome = follow_up.worktree_removed(&removed).await;
                if let Some(notice) = notice_for(follow_up.name(), &removed, outcome) {
                    events.publish(WorkbenchEvent::Activity(notice));
                }
            });
        }
    }
}

/// The activity event a follow-up's outcome becomes.
fn notice_for(
    name: &str,
    removed: &RemovedWorktree,
    outcome: Result<Option<String>, String>,
) -> Option<ActivityNotice> {
    match outcome {
        Ok(None) => None,
        Ok(Some(summary)) => Some(ActivityNotice::worktree(
            "removal_follow_up",
            Severity::Info,
            &removed.id,
            format!(
                "{name}: {summary} after worktree {} was removed",
                removed.id
            ),
        )),
        Err(message) => Some(
            ActivityNotice::worktree(
                "removal_follow_up_failed",
                Severity::Warning,
                &removed.id,
                format!("{name}: failed after worktree {} was removed", removed.id),
            )
            .with_detail(message),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Recorder(Mutex<Vec<WorkbenchEvent>>);
    impl EventSink for Recorder {
        fn publish(&self, event: WorkbenchEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    struct Fixed(Result<Option<String>, String>);
    #[async_trait]
    impl RemovalFollowUp for Fixed {
        fn name(&self) -> &str {
            "Test"
        }
        async fn worktree_removed(&self, r: &RemovedWorktree) -> Result<Option<String>, String> {
            assert_eq!(r.branch, "feature/x");
            self.0.clone()
        }
    }

    #[tokio::test]
    async fn outcomes_become_activity_and_failures_are_warnings() {
        let follow_ups = RemovalFollowUps::default();
        follow_ups.set("ok", Some(Arc::new(Fixed(Ok(Some("1 canceled".into()))))));
        follow_ups.set("quiet", Some(Arc::new(Fixed(Ok(None)))));
        follow_ups.set("bad", Some(Arc::new(Fixed(Err("unreachable".into())))));
        follow_ups.set("gone", Some(Arc::new(Fixed(Ok(None)))));
        follow_ups.set("gone", None);
        assert_eq!(follow_ups.names(), vec!["bad", "ok", "quiet"]);
        let sink = Arc::new(Recorder(Mutex::new(Vec::new())));
        let removed = RemovedWorktree {
            id: "x".into(),
            branch: "feature/x".into(),
        };
        follow_ups.start(removed, sink.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sink.0.lock().unwrap().len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "follow-ups never reported"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let mut notices: Vec<(String, Severity)> = sink
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                WorkbenchEvent::Activity(n) => Some((n.event_type.clone(), n.severity)),
                _ => None,
            })
            .collect();
        notices.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            notices,
            vec![
                ("removal_follow_up".to_string(), Severity::Info),
                ("removal_follow_up_failed".to_string(), Severity::Warning),
            ]
        );
    }
}
