//! `/api/perf`: on-demand CPU and memory monitoring.
//!
//! Two ways to mount the same endpoints: the handlers [`snapshots`], [`current`] and
//! [`stream`] on [`AppState`] (what the server's router uses; streams end on shutdown),
//! or the self-contained [`router`] over a bare [`PerfMonitor`] (embedders, tests).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use openkit_core::perf::{PerfMonitor, PerfSnapshot};

use crate::state::AppState;
use crate::wire::perf::{PerfCurrent, PerfEvent, PerfSnapshots, snapshot_list};

/// Interval of the keep-alive comments on the stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The perf endpoints over `monitor` alone, state applied: `GET /api/perf`,
/// `GET /api/perf/current`, `GET /api/perf/stream`. Do not merge it into a router that
/// already has these routes (axum panics on duplicate routes).
pub fn router(monitor: Arc<PerfMonitor>) -> Router {
    Router::new()
        .route(
            "/api/perf",
            get(|State(m): State<Arc<PerfMonitor>>| async move { snapshots_body(&m) }),
        )
        .route(
            "/api/perf/current",
            get(|State(m): State<Arc<PerfMonitor>>| async move { current_body(&m) }),
        )
        .route(
            "/api/perf/stream",
            get(|State(m): State<Arc<PerfMonitor>>| async move {
                event_stream(&m, std::future::pending())
            }),
        )
        .with_state(monitor)
}

/// `GET /api/perf`: `{ "snapshots": PerfSnapshot[] }`, oldest first.
#[utoipa::path(
    get,
    path = "/api/perf",
    tag = "perf",
    summary = "The kept performance samples",
    responses(
        (status = 200, description = "Samples, oldest first", body = PerfSnapshots),
    )
)]
pub async fn snapshots(State(state): State<AppState>) -> Json<PerfSnapshots> {
    snapshots_body(state.perf())
}

/// `GET /api/perf/current`: `{ "snapshot": PerfSnapshot | null }`.
#[utoipa::path(
    get,
    path = "/api/perf/current",
    tag = "perf",
    summary = "The latest performance sample",
    responses(
        (status = 200, description = "The latest sample, or null", body = PerfCurrent),
    )
)]
pub async fn current(State(state): State<AppState>) -> Json<PerfCurrent> {
    current_body(state.perf())
}

/// `GET /api/perf/stream`: SSE, `perf-history` first, then one `perf-snapshot` per
/// sample. Sampling runs while at least one stream is open; a client that falls behind
/// skips ahead; the stream ends when the server shuts down.
#[utoipa::path(
    get,
    path = "/api/perf/stream",
    tag = "perf",
    summary = "Live performance samples (SSE)",
    description = "`perf-history` first, then one `perf-snapshot` per sample; each `data:` \
        line is one `PerfEvent`. Sampling runs only while a stream is open.",
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = PerfEvent),
    )
)]
pub async fn stream(State(state): State<AppState>) -> Response {
    let mut shutdown = state.shutdown();
    event_stream(state.perf(), async move {
        crate::routes::events::server_stopping(&mut shutdown).await;
    })
}

fn snapshots_body(monitor: &PerfMonitor) -> Json<PerfSnapshots> {
    Json(PerfSnapshots {
        snapshots: snapshot_list(&monitor.snapshots()),
    })
}

fn current_body(monitor: &PerfMonitor) -> Json<PerfCurrent> {
    Json(PerfCurrent {
        snapshot: monitor.current().map(|s| s.as_ref().into()),
    })
}

fn perf_event(event: &PerfEvent) -> Event {
    Event::default().data(serde_json::to_string(event).expect("perf events serialize"))
}

fn snapshot_event(snapshot: &PerfSnapshot) -> Event {
    perf_event(&PerfEvent::Snapshot {
        snapshot: snapshot.into(),
    })
}

type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The SSE response. The subscription lives inside the body stream: when the client
/// disconnects, hyper drops the body, the subscription guard drops, and sampling stops
/// once no stream is left.
fn event_stream(
    monitor: &PerfMonitor,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Response {
    let sub = monitor.subscribe();
    let history = perf_event(&PerfEvent::History {
        snapshots: snapshot_list(&sub.history),
    });
    let stop: Stop = Box::pin(stop);
    let live = futures_util::stream::unfold((sub, stop), |(mut sub, mut stop)| async move {
        // `next` skips snapshots missed by lagging behind; it never blocks the sampler.
        let snapshot = tokio::select! {
            snapshot = sub.next() => snapshot?,
            () = &mut stop => return None,
        };
        Some((Ok(snapshot_event(&snapshot)), (sub, stop)))
    });
    let events: Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(futures_util::StreamExt::chain(
            futures_util::stream::once(async move { Ok(history) }),
            live,
        ));
    (
        [(header::CONNECTION, "keep-alive")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use openkit_core::perf::{
        LIVE_BUFFER, NoProcesses, ProcessSource, StaticProcesses, TrackedWorktree,
    };
    use serde_json::{Value, json};
    use tower::ServiceExt;

    const WAIT: Duration = Duration::from_secs(10);

    fn monitor(source: Arc<dyn ProcessSource>, interval: Duration) -> Arc<PerfMonitor> {
        Arc::new(PerfMonitor::new(source, interval))
    }

    async fn get_json(app: &Router, path: &str) -> Value {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let bytes = tokio::time::timeout(WAIT, response.into_body().collect())
            .await
            .expect("body within the timeout")
            .unwrap()
            .to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Reads SSE events (`data:` payloads as JSON) from a response body.
    struct Events {
        body: Body,
        buffer: String,
    }

    impl Events {
        async fn open(app: &Router) -> (Events, axum::http::HeaderMap) {
            let response = app
                .clone()
                .oneshot(
                    Request::get("/api/perf/stream")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let headers = response.headers().clone();
            let events = Events {
                body: response.into_body(),
                buffer: String::new(),
            };
            (events, headers)
        }

        async fn next(&mut self) -> Value {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let raw: String = self.buffer.drain(..end + 2).collect();
                    let data: String = raw
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(str::trim_start)
                        .collect();
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    return serde_json::from_str(&data).unwrap();
                }
                let frame = tokio::time::timeout(WAIT, self.body.frame())
                    .await
                    .expect("an SSE frame within the timeout")
                    .expect("stream still open")
                    .unwrap();
                if let Ok(data) = frame.into_data() {
                    self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
        }
    }

    async fn until(what: &str, mut ok: impl FnMut() -> bool) {
        tokio::time::timeout(WAIT, async {
            while !ok() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"));
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[tokio::test]
    async fn list_and_current_have_the_reference_shape() {
        let source = Arc::new(StaticProcesses::new(vec![TrackedWorktree {
            worktree_id: "wt-1".into(),
            dev_server_pid: None,
            agent_session_pids: vec![std::process::id()],
        }]));
        let monitor = monitor(source, Duration::from_secs(3600));
        let app = router(Arc::clone(&monitor));

        assert_eq!(
            get_json(&app, "/api/perf").await,
            json!({ "snapshots": [] })
        );
        assert_eq!(
            get_json(&app, "/api/perf/current").await,
            json!({ "snapshot": null })
        );
        assert!(!monitor.is_sampling(), "plain GETs do not start sampling");

        monitor.sample_once().await.unwrap();
        monitor.sample_once().await.unwrap();
        let all = get_json(&app, "/api/perf").await;
        assert_eq!(all["snapshots"].as_array().unwrap().len(), 2);
        let current = get_json(&app, "/api/perf/current").await;
        let snap = &current["snapshot"];
        assert_eq!(snap, &all["snapshots"][1]);
        assert_eq!(keys(snap), ["timestamp", "server", "system", "worktrees"]);
        assert_eq!(keys(&snap["server"]), ["pid", "name", "cpu", "memory"]);
        assert_eq!(snap["server"]["pid"], std::process::id());
        assert_eq!(
            keys(&snap["system"]),
            ["totalCpu", "totalMemory", "processCount"]
        );
        let wt = &snap["worktrees"][0];
        assert_eq!(
            keys(wt),
            [
                "worktreeId",
                "devServer",
                "childProcesses",
                "agentSessions",
                "totalCpu",
                "totalMemory"
            ]
        );
        assert_eq!(wt["worktreeId"], "wt-1");
        assert_eq!(wt["devServer"], Value::Null);
        if cfg!(target_os = "linux") {
            assert!(snap["server"]["memory"].as_u64().unwrap() > 0);
            assert_eq!(wt["agentSessions"][0]["pid"], std::process::id());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stream_sends_history_then_snapshots_and_stops_sampling_on_disconnect() {
        let monitor = monitor(Arc::new(NoProcesses), Duration::from_millis(50));
        let app = router(Arc::clone(&monitor));
        monitor.sample_once().await.unwrap();

        let (mut events, headers) = Events::open(&app).await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::CONNECTION], "keep-alive");

        let history = events.next().await;
        assert_eq!(history["type"], "perf-history");
        assert_eq!(history["snapshots"].as_array().unwrap().len(), 1);
        let first = events.next().await;
        assert_eq!(first["type"], "perf-snapshot");
        assert_eq!(first["snapshot"]["server"]["pid"], std::process::id());
        let second = events.next().await;
        assert_eq!(second["type"], "perf-snapshot");
        assert!(monitor.is_sampling());
        assert_eq!(monitor.subscribers(), 1);

        // The client goes away: the body is dropped, and sampling stops.
        drop(events);
        until("sampling stops", || !monitor.is_sampling()).await;
        assert_eq!(monitor.subscribers(), 0);
        let settled = monitor.snapshots().len();
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(monitor.snapshots().len(), settled);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lagging_client_skips_ahead_without_blocking_the_sampler() {
        let source = Arc::new(StaticProcesses::default());
        // Only the stream's first sample comes from the task; the test drives the rest.
        let monitor = monitor(source.clone(), Duration::from_secs(3600));
        let app = router(Arc::clone(&monitor));
        let (mut events, _) = Events::open(&app).await;
        assert_eq!(events.next().await["type"], "perf-history");
        assert_eq!(events.next().await["type"], "perf-snapshot");

        // The client reads nothing while many samples are taken: none of them waits.
        let pushed = LIVE_BUFFER * 3;
        source.set(vec![TrackedWorktree {
            worktree_id: "old".into(),
            ..TrackedWorktree::default()
        }]);
        tokio::time::timeout(WAIT, async {
            for _ in 0..pushed {
                monitor.sample_once().await.unwrap();
            }
        })
        .await
        .expect("the sampler never waits for a client");
        source.set(vec![TrackedWorktree {
            worktree_id: "last".into(),
            ..TrackedWorktree::default()
        }]);
        monitor.sample_once().await.unwrap();

        let mut received = 0;
        loop {
            let event = events.next().await;
            assert_eq!(event["type"], "perf-snapshot");
            received += 1;
            if event["snapshot"]["worktrees"][0]["worktreeId"] == "last" {
                break;
            }
        }
        assert!(
            received <= LIVE_BUFFER,
            "skipped ahead: {received} of {}",
            pushed + 1
        );
    }
}
