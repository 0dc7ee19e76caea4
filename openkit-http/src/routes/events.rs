//! `GET /api/events`: the resumable server-sent event stream.
//!
//! On connect the client gets the current worktree list, the last 50 activity events and
//! the last 200 ops-log events, then live events. Every event carries an SSE `id`
//! (`<epoch>-<seq>`); a client that reconnects with `Last-Event-ID` gets exactly what it
//! missed, or a fresh snapshot when that is no longer in the replay ring (or the id comes
//! from another server process). A client that falls behind the live channel is resynced
//! with a fresh snapshot; it never blocks the publisher or other clients, and what it can
//! pin in memory is bounded by the bus channel and a small per-client queue.
//!
//! Work is shared between clients ([`FeedCache`]): each bus event is encoded into its SSE
//! frame once, and the connect snapshot is built once and reused by every client that
//! connects while the bus can still replay what happened since it was built. A client
//! costs its queue of shared frames and one task, whatever the number of worktrees.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use openkit_core::backbone::FeedEvent;
use openkit_core::bus::{Resume, Sequenced, Subscription};
use openkit_core::logs::{ActivityQuery, OpsQuery};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::routes::worktrees::ListBody;
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

/// Longest a connect snapshot is reused; later clients get a fresh one.
const SNAPSHOT_REUSE: Duration = Duration::from_secs(2);
/// Encoded live frames kept for the clients that have not sent them yet.
const FRAME_CACHE: usize = 256;
/// Interval of the keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One SSE frame (`id:` and `data:` lines), encoded.
fn frame(id: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_vec(data).expect("wire events serialize");
    encoded_frame(id, &json)
}

/// One SSE frame around `json`, already encoded.
fn encoded_frame(id: &str, json: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(json.len() + id.len() + 16);
    frame.extend_from_slice(b"id: ");
    frame.extend_from_slice(id.as_bytes());
    frame.extend_from_slice(b"\ndata: ");
    frame.extend_from_slice(json);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// What every client of the stream shares: encoded live frames and the last connect
/// snapshot.
#[derive(Default)]
pub struct FeedCache {
    frames: Mutex<VecDeque<(u64, Bytes)>>,
    snapshot: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    /// The `worktrees` event of the last list, encoded once per distinct list.
    worktrees: ListBody,
}

/// A connect snapshot: built from bus sequence `head` on; log events published up to
/// `settled` may be in it already.
struct Snapshot {
    head: u64,
    settled: u64,
    built: Instant,
    frames: Vec<Bytes>,
    /// Ids of the log events it holds, so their live copies are not sent twice.
    seen: HashSet<String>,
}

impl FeedCache {
    /// The frame of a bus item, encoded once for all clients.
    fn live(&self, state: &AppState, item: &Sequenced<FeedEvent>) -> Bytes {
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bytes)) = frames.iter().rev().find(|(seq, _)| *seq == item.seq) {
            return bytes.clone();
        }
        let bytes = frame(
            &state.backbone().bus().event_id(item.seq),
            &feed_event(&item.event),
        );
        if frames.len() >= FRAME_CACHE {
            frames.pop_front();
        }
        frames.push_back((item.seq, bytes.clone()));
        bytes
    }

    /// A snapshot recent enough to start a client from (the caller replays the bus after
    /// its head), or a new one.
    async fn snapshot(&self, state: &AppState, fresh: bool) -> Arc<Snapshot> {
        let mut cached = self.snapshot.lock().await;
        let head = state.backbone().bus().head();
        if !fresh
            && let Some(snapshot) = cached.as_ref()
            && (snapshot.settled == head || snapshot.built.elapsed() < SNAPSHOT_REUSE)
        {
            return Arc::clone(snapshot);
        }
        let snapshot = Arc::new(build_snapshot(state).await);
        *cached = Some(Arc::clone(&snapshot));
        snapshot
    }
}

/// The current worktree list, the last activity and ops-log events.
async fn build_snapshot(state: &AppState) -> Snapshot {
    let bus = state.backbone().bus();
    let head = bus.head();
    let id = bus.event_id(head);
    let mut frames = Vec::with_capacity(3);
    match state.workbench().worktrees().await {
        Ok(list) => {
            let json = state.feed_cache().worktrees.encoded(&list, |list| {
                serde_json::to_vec(&WireEvent::Worktrees {
                    worktrees: worktree_list(list),
                })
                .expect("wire events serialize")
            });
            frames.push(encoded_frame(&id, &json));
        }
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
    frames.push(frame(&id, &WireEvent::activity_history(&activity)));
    frames.push(frame(&id, &WireEvent::ops_log_history(&ops)));
    Snapshot {
        head,
        settled: bus.head(),
        built: Instant::now(),
        frames,
        seen,
    }
}

fn already_sent(event: &FeedEvent, seen: &HashSet<String>) -> bool {
    match event {
        FeedEvent::Activity(e) => seen.contains(&e.id),
        FeedEvent::OpsLog(e) => seen.contains(&e.id),
        FeedEvent::Worktrees(_) | FeedEvent::HookUpdate(_) => false,
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
pub async fn stream(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let bus_last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|id| state.backbone().bus().parse_event_id(id));
    let (tx, rx) = mpsc::channel::<Bytes>(CLIENT_QUEUE);
    tokio::spawn(pump(state, bus_last, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Where a client starts: the frames to send first, the subscription to continue with,
/// and the log-event ids already in those frames.
async fn start(
    state: &AppState,
    last_seen: Option<u64>,
) -> (Vec<Bytes>, Subscription<FeedEvent>, Option<Arc<Snapshot>>) {
    let bus = state.backbone().bus();
    let cache = state.feed_cache();
    if let Some(last) = last_seen {
        let sub = bus.subscribe(Some(last));
        if let Resume::Replay(items) = &sub.resume {
            let frames = items.iter().map(|i| cache.live(state, i)).collect();
            return (frames, sub, None);
        }
    }
    // From a snapshot, then whatever the bus holds after it was built.
    for fresh in [false, true] {
        let snapshot = cache.snapshot(state, fresh).await;
        let sub = bus.subscribe(Some(snapshot.head));
        if let Resume::Replay(items) = &sub.resume
            && (fresh || items.len() <= FRAME_CACHE)
        {
            let mut frames = snapshot.frames.clone();
            frames.extend(
                items
                    .iter()
                    .filter(|i| !already_sent(&i.event, &snapshot.seen))
                    .map(|i| cache.live(state, i)),
            );
            return (frames, sub, Some(snapshot));
        }
    }
    // The bus moved on faster than a snapshot could be built twice: start at its head.
    let snapshot = cache.snapshot(state, true).await;
    (snapshot.frames.clone(), bus.subscribe(None), Some(snapshot))
}

/// Feeds one client until it disconnects or the server shuts down.
///
/// The next bus event is taken only once the client's queue has room for it, so a client
/// that stops reading holds at most its queue of (mostly shared) frames; the bus keeps
/// the rest, and a client that falls behind it is resynced.
async fn pump(state: AppState, last_seen: Option<u64>, tx: mpsc::Sender<Bytes>) {
    let (mut pending, sub, mut snapshot) = start(&state, last_seen).await;
    let mut receiver = sub.receiver;
    let mut shutdown = state.shutdown();
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    loop {
        for frame in pending.drain(..) {
            if tx.send(frame).await.is_err() {
                return; // the client went away
            }
        }
        let permit = tokio::select! {
            permit = tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return, // the client went away
            },
            _ = server_stopping(&mut shutdown) => return,
        };
        let next = tokio::select! {
            next = receiver.recv() => next,
            _ = keep_alive.tick() => {
                permit.send(Bytes::from_static(b":keep-alive\n\n"));
                // Long past the snapshot: stop pinning it.
                snapshot = None;
                continue;
            }
            _ = server_stopping(&mut shutdown) => return,
            _ = tx.closed() => return,
        };
        match next {
            Ok(item) => {
                let repeated = snapshot
                    .as_ref()
                    .is_some_and(|s| item.seq <= s.settled && already_sent(&item.event, &s.seen));
                if !repeated {
                    permit.send(state.feed_cache().live(&state, &item));
                }
                // Past what the snapshot could hold, nothing live can repeat it.
                if snapshot.as_ref().is_some_and(|s| item.seq > s.settled) {
                    snapshot = None;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Too slow: skip ahead to the present with a fresh snapshot.
                drop(permit);
                let (frames, sub, fresh) = start(&state, None).await;
                receiver = sub.receiver;
                snapshot = fresh;
                pending = frames;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecurityPolicy;
    use openkit_core::testing::TestRepo;

    fn state(repo: &TestRepo) -> AppState {
        let workbench = repo.composition().build().expect("composing");
        AppState::new(
            workbench,
            openkit_pty::TerminalManager::new(),
            SecurityPolicy::for_port(4040),
        )
    }

    #[tokio::test]
    async fn clients_share_one_snapshot_and_one_encoding_per_event() {
        let repo = TestRepo::new();
        let state = state(&repo);
        let cache = state.feed_cache();
        let first = cache.snapshot(&state, false).await;
        let second = cache.snapshot(&state, false).await;
        assert!(Arc::ptr_eq(&first, &second), "nothing happened: reused");
        assert_eq!(first.frames.len(), 3);

        let bus = state.backbone().bus();
        bus.publish(FeedEvent::Worktrees(Arc::new(Vec::new())));
        let Resume::Replay(items) = bus.subscribe(Some(first.head)).resume else {
            panic!("the event is in the ring");
        };
        let a = cache.live(&state, &items[0]);
        let b = cache.live(&state, &items[0]);
        assert_eq!(a.as_ptr(), b.as_ptr(), "encoded once, shared");
        assert!(
            std::str::from_utf8(&a)
                .unwrap()
                .contains("\"type\":\"worktrees\"")
        );

        // Something happened, but the snapshot is recent: still shared (the client
        // replays the bus after its head).
        let third = cache.snapshot(&state, false).await;
        assert!(Arc::ptr_eq(&first, &third));
        // A forced rebuild makes a new one that later clients share.
        let fresh = cache.snapshot(&state, true).await;
        assert!(!Arc::ptr_eq(&first, &fresh));
        assert!(Arc::ptr_eq(&fresh, &cache.snapshot(&state, false).await));
    }

    #[tokio::test]
    async fn a_client_starting_from_a_shared_snapshot_gets_what_happened_since() {
        let repo = TestRepo::new();
        let state = state(&repo);
        let snapshot = state.feed_cache().snapshot(&state, false).await;
        state
            .backbone()
            .bus()
            .publish(FeedEvent::Worktrees(Arc::new(Vec::new())));
        let (frames, _sub, from) = start(&state, None).await;
        assert!(Arc::ptr_eq(&snapshot, &from.expect("from a snapshot")));
        assert_eq!(
            frames.len(),
            4,
            "three snapshot frames and the replayed event"
        );
        assert!(
            std::str::from_utf8(&frames[3])
                .unwrap()
                .contains("\"worktrees\":[]")
        );
    }
}
