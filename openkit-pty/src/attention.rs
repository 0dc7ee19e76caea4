//! Attention state of agent sessions: each agent session owns core's
//! [`AttentionTracker`], fed with its output, its input, its hooks and a tick every
//! [`TICK`]; every change goes to the manager's listener.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openkit_core::attention::tracker::Transition;
use openkit_core::attention::{
    AgentSession, AttentionChange, AttentionListener, AttentionTracker, Coverage, HookEvent,
};

/// How often quiet screens are re-read.
pub const TICK: Duration = Duration::from_millis(250);

/// The attention part of one agent session.
pub(crate) struct SessionAttention {
    agent: String,
    tracker: AttentionTracker,
    since: String,
    message: Option<String>,
    exit_code: Option<i32>,
}

impl SessionAttention {
    pub(crate) fn new(agent: &str) -> Self {
        SessionAttention {
            agent: agent.to_string(),
            tracker: AttentionTracker::new(Coverage::of(agent)),
            since: openkit_core::logs::now_iso(),
            message: None,
            exit_code: None,
        }
    }

    pub(crate) fn output(&mut self, now: Instant) {
        self.tracker.output(now);
    }

    pub(crate) fn input(&mut self, now: Instant) {
        self.tracker.input(now);
    }

    pub(crate) fn hook(&mut self, event: HookEvent, message: Option<String>) -> Option<Transition> {
        let change = self.tracker.hook(event, Instant::now());
        if change.is_some() {
            self.message = message.filter(|m| !m.trim().is_empty());
            self.since = openkit_core::logs::now_iso();
        }
        change
    }

    pub(crate) fn tick(&mut self, now: Instant, asks: impl FnOnce() -> bool) -> Option<Transition> {
        let change = self.tracker.tick(now, asks);
        if change.is_some() {
            self.message = None;
            self.since = openkit_core::logs::now_iso();
        }
        change
    }

    pub(crate) fn exited(&mut self, code: i32) -> Option<Transition> {
        self.exit_code = Some(code);
        let change = self.tracker.exited();
        if change.is_some() {
            self.message = None;
            self.since = openkit_core::logs::now_iso();
        }
        change
    }

    /// What the worktree list shows.
    pub(crate) fn view(&self, session_id: &str) -> AgentSession {
        let (state, source) = self.tracker.state();
        AgentSession {
            session_id: session_id.to_string(),
            agent: self.agent.clone(),
            state,
            source,
            since: self.since.clone(),
            message: self.message.clone(),
            exit_code: self.exit_code,
        }
    }
}

/// Where changes go; set once the workbench exists.
#[derive(Clone, Default)]
pub(crate) struct Listener(Arc<Mutex<Option<AttentionListener>>>);

impl Listener {
    pub(crate) fn set(&self, listener: AttentionListener) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    /// Passes on a change announced elsewhere (by the holder the sessions live in).
    pub(crate) fn forward(&self, change: AttentionChange) {
        let listener = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(listener) = listener {
            listener(change);
        }
    }

    /// Announces `transition` of `session` (already applied) in `worktree_id`.
    pub(crate) fn announce(
        &self,
        worktree_id: &str,
        session: AgentSession,
        transition: Transition,
    ) {
        let listener = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(listener) = listener {
            listener(AttentionChange {
                worktree_id: worktree_id.to_string(),
                session,
                from: transition.from,
                finished_turn: transition.finished_turn,
            });
        }
    }
}
