//! Which processes belong to which worktree: supplied by the embedder (dev-server runner,
//! terminal manager).

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

/// The processes of one worktree to measure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrackedWorktree {
    /// Worktree id.
    pub worktree_id: String,
    /// The dev server's process, if it runs; its descendants become `childProcesses`.
    pub dev_server_pid: Option<u32>,
    /// Agent terminal session processes; each is measured with its process tree.
    pub agent_session_pids: Vec<u32>,
}

/// Tells the monitor which processes belong to which worktree. Called once per sample,
/// with a timeout; a slow source keeps the previous answer.
#[async_trait]
pub trait ProcessSource: Send + Sync {
    /// The current processes per worktree.
    async fn tracked(&self) -> Vec<TrackedWorktree>;
}

/// A source with no worktree processes: only the server is measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProcesses;

#[async_trait]
impl ProcessSource for NoProcesses {
    async fn tracked(&self) -> Vec<TrackedWorktree> {
        Vec::new()
    }
}

/// A source holding a list that the owner replaces with [`StaticProcesses::set`]: for
/// tests, and for embedders that push process changes rather than being asked.
#[derive(Debug, Default)]
pub struct StaticProcesses(Mutex<Vec<TrackedWorktree>>);

impl StaticProcesses {
    /// A source answering `tracked`.
    pub fn new(tracked: Vec<TrackedWorktree>) -> Self {
        StaticProcesses(Mutex::new(tracked))
    }

    /// Replaces the list; the next sample uses it.
    pub fn set(&self, tracked: Vec<TrackedWorktree>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = tracked;
    }

    /// The current list.
    pub fn get(&self) -> Vec<TrackedWorktree> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl ProcessSource for StaticProcesses {
    async fn tracked(&self) -> Vec<TrackedWorktree> {
        self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_source_answers_what_was_set() {
        assert!(NoProcesses.tracked().await.is_empty());
        let source = StaticProcesses::default();
        assert!(source.tracked().await.is_empty());
        let wt = TrackedWorktree {
            worktree_id: "a".into(),
            dev_server_pid: Some(7),
            agent_session_pids: vec![8],
        };
        source.set(vec![wt.clone()]);
        assert_eq!(source.tracked().await, vec![wt]);
        source.set(Vec::new());
        assert!(source.tracked().await.is_empty());
    }
}
