//! `GET /api/events`: the resumable server-sent event stream.
//!
//! On connect the client gets the current worktree list, the last 50 activity events and
//! the last 200 ops-log events, then live events. Every event carries an SSE `id`
//! (`<epoch>-<seq>`); a client that reconnects with `Last-Event-ID` gets exactly what it
//! missed, or a fresh snapshot when that is no longer in the replay ring (or the id comes
//! from another server process). A client that falls behind the live channel is resynced
//! with a fresh snapshot; it never blocks the publisher or other clients, and what it can
//! pin in memory is bounded by the bus channel and a small per-client queue.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use openkit_core::backbone::FeedEvent;
use openkit_core::bus::{Resume, Sequenced};
use openkit_core::logs::{ActivityQuery, OpsQuery};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::state::AppState;
use crate::wire::events::FeedEvent as WireEvent;
use crate::wire::worktrees::worktree_list;

/// Activity events sent on connect.
pub const ACTIVITY_HISTORY: usize = 50;
/// Ops-log events sent on connect.
pub const OPS_HISTORY: usize = 200;
/// Events queued per client before the stream waits for it.
const CLIENT_QUEUE: usize = 64;

/// The wire payload of a live bus event.
pub fn feed_event(event: &FeedEvent) -> WireEvent {
    WireEvent::from(event)
}

fn sse(id: &str, data: &impl Serialize) -> Event {
    let json = serde_json::to_string(data).expect("wire events serialize");
    Event::default().id(id).data(json)
}

/// The snapshot a new (or resyncing) client starts from, with the ids it contains so
/// live copies of the same log events are not sent twice.
async fn snapshot(state: &AppState, id: &str) -> (Vec<Event>, HashSet<String>) {
    let mut events = Vec::with_capacity(3);
    match state.workbench().list_worktrees().await {
        Ok(list) => events.push(sse(
            id,
            &WireEvent::Worktrees {
                worktrees: worktree_list(&list),
            },
        )),
        Err(e) => tracing::warn!("event stream: could not list worktrees: {e}"),
    }
    let activity = state
        .on_backbone(|b| {
            b.activity().query(&ActivityQuery {
                limit: ACTIVITY_HISTORY,
                ..Default::default()
            })
        })
        .await
        .unwrap_or_default();
    let ops = state
        .on_backbone(|b| {
            b.ops().query(&OpsQuery {
                limit: OPS_HISTORY,
                ..Default::default()
            })
        })
        .await
        .unwrap_or_default();
    let seen = activity
        .iter()
        .map(|e| e.id.clone())
        .chain(ops.iter().map(|e| e.id.clone()))
        .collect();
    events.push(sse(id, &WireEvent::activity_history(&activity)));
    events.push(sse(id, &WireEvent::ops_log_history(&ops)));
    (events, seen)
}

fn already_sent(event: &FeedEvent, seen: &HashSet<String>) -> bool {
    match event {
        FeedEvent::Activity(e) => seen.contains(&e.id),
        FeedEvent::OpsLog(e) => seen.contains(&e.id),
        FeedEvent::Worktrees(_) => false,
    }
}

/// `GET /api/events`
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    summary = "Live worktree, activity and ops-log events (SSE)",
    description = "A snapshot first (`worktrees`, `activity-history`, `ops-log-history`), then \
        live events. Every event has an SSE id `<epoch>-<seq>`; reconnecting with \
        `Last-Event-ID` replays what was missed, or sends a fresh snapshot when that is no \
        longer possible. Each `data:` line is one `FeedEvent`.",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = WireEvent),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let bus_last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|id| state.backbone().bus().parse_event_id(id));
    let (tx, rx) = mpsc::channel::<Event>(CLIENT_QUEUE);
    tokio::spawn(pump(state, bus_last, tx));
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}

/// Feeds one client until it disconnects or the server shuts down.
async fn pump(state: AppState, last_seen: Option<u64>, tx: mpsc::Sender<Event>) {
    let bus = state.backbone().bus();
    let sub = bus.subscribe(last_seen);
    let mut receiver = sub.receiver;
    let mut seen = HashSet::new();
    let mut shutdown = state.shutdown();
    let mut pending = match sub.resume {
        Resume::Replay(items) => items.iter().map(|item| live_event(&state, item)).collect(),
        Resume::Resync => {
            let (events, ids) = snapshot(&state, &bus.event_id(sub.head)).await;
            seen = ids;
            events
        }
    };
    loop {
        for event in pending.drain(..) {
            if tx.send(event).await.is_err() {
                return; // the client went away
            }
        }
        let next = tokio::select! {
            next = receiver.recv() => next,
            _ = server_stopping(&mut shutdown) => return,
            _ = tx.closed() => return,
        };
        match next {
            Ok(item) => {
                if !already_sent(&item.event, &seen) {
                    pending.push(live_event(&state, &item));
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Too slow: skip ahead to the present with a fresh snapshot.
                receiver = receiver.resubscribe();
                let (events, ids) = snapshot(&state, &bus.event_id(bus.head())).await;
                seen = ids;
                pending = events;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Completes when the server shuts down (never, when nobody can signal it).
pub(crate) async fn server_stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn live_event(state: &AppState, item: &Arc<Sequenced<FeedEvent>>) -> Event {
    sse(
        &state.backbone().bus().event_id(item.seq),
        &feed_event(&item.event),
    )
}
