//! `/api/perf`: on-demand CPU and memory monitoring.

use std::convert::Infallible;
use std::sync::Weak;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use openkit_core::Workbench;
use openkit_core::perf::{ProcessSource, TrackedWorktree};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// The workbench's processes: each running dev server.
pub struct WorkbenchProcesses(pub Weak<Workbench>);

#[async_trait]
impl ProcessSource for WorkbenchProcesses {
    async fn tracked(&self) -> Vec<TrackedWorktree> {
        let Some(workbench) = self.0.upgrade() else {
            return Vec::new();
        };
        workbench
            .list_worktrees()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|w| w.pid.is_some())
            .map(|w| TrackedWorktree {
                worktree_id: w.id,
                dev_server_pid: w.pid,
                agent_session_pids: Vec::new(),
            })
            .collect()
    }
}

/// `GET /api/perf`
pub async fn snapshots(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "snapshots": state.perf().snapshots() }))
}

/// `GET /api/perf/current`
pub async fn current(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "snapshot": state.perf().current() }))
}

/// `GET /api/perf/stream`: the history first, then each new snapshot. Sampling runs while
/// at least one stream is open; a client that falls behind skips ahead.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let sub = state.perf().subscribe();
    let history = Event::default()
        .data(json!({ "type": "perf-history", "snapshots": sub.history }).to_string());
    let shutdown = state.shutdown();
    let live =
        futures_util::stream::unfold((sub, shutdown), |(mut sub, mut shutdown)| async move {
            loop {
                let next = tokio::select! {
                    next = sub.receiver.recv() => next,
                    _ = crate::routes::events::server_stopping(&mut shutdown) => return None,
                };
                match next {
                    Ok(snapshot) => {
                        let event = Event::default().data(
                            json!({ "type": "perf-snapshot", "snapshot": snapshot }).to_string(),
                        );
                        return Some((Ok(event), (sub, shutdown)));
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(history) }),
        live,
    );
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}
