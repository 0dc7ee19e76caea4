//! The SSE stream read as a real stream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{Api, PORT};

pub struct Sse {
    body: Body,
    buffer: String,
    /// The stream's path; every event is validated against its documented schema.
    path: String,
}

#[derive(Debug)]
pub struct Frame {
    id: Option<String>,
    pub data: Value,
}

impl Sse {
    async fn open(api: &Api, last_event_id: Option<&str>) -> Sse {
        Sse::open_at(api, "/api/events", last_event_id).await
    }

    pub async fn open_at(api: &Api, path: &str, last_event_id: Option<&str>) -> Sse {
        let mut req = Request::get(path).header(header::HOST, format!("localhost:{PORT}"));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = api
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Sse {
            body: response.into_body(),
            buffer: String::new(),
            path: path.split('?').next().unwrap_or(path).to_string(),
        }
    }

    /// The next data frame (keep-alive comments are skipped).
    pub async fn next(&mut self) -> Frame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data).unwrap();
                crate::openapi::validate_event(&self.path, &data);
                return Frame { id, data };
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .expect("an SSE frame within 10 s")
                .expect("stream open")
                .unwrap();
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    /// Skips frames until one of type `kind`.
    async fn until(&mut self, kind: &str) -> Frame {
        for _ in 0..5000 {
            let frame = self.next().await;
            if frame.data["type"] == kind {
                return frame;
            }
        }
        panic!("no {kind} frame");
    }
}

#[tokio::test]
async fn snapshot_then_live_events_with_ids() {
    let api = Api::new();
    api.post(
        "/api/activity",
        json!({ "category": "agent", "type": "before", "title": "before" }),
    )
    .await;
    let mut sse = Sse::open(&api, None).await;
    let worktrees = sse.next().await;
    assert_eq!(worktrees.data["type"], "worktrees");
    assert_eq!(worktrees.data["worktrees"][0]["id"], "root");
    let history = sse.next().await;
    assert_eq!(history.data["type"], "activity-history");
    assert_eq!(history.data["events"][0]["type"], "before");
    let ops = sse.next().await;
    assert_eq!(ops.data["type"], "ops-log-history");
    assert!(worktrees.id.is_some() && history.id == worktrees.id);

    api.post(
        "/api/activity",
        json!({ "category": "agent", "type": "live", "title": "live" }),
    )
    .await;
    let live = sse.until("activity").await;
    assert_eq!(live.data["event"]["type"], "live");
    assert_ne!(live.id, worktrees.id);

    api.post("/api/worktrees", json!({ "branch": "feature/streamed" }))
        .await;
    let listed = loop {
        let frame = sse.until("worktrees").await;
        if frame.data["worktrees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == "streamed")
        {
            break frame;
        }
    };
    assert!(listed.id.is_some());
}

#[tokio::test]
async fn last_event_id_replays_exactly_what_was_missed() {
    let api = Api::new();
    let mut sse = Sse::open(&api, None).await;
    sse.until("ops-log-history").await;
    api.post(
        "/api/activity",
        json!({ "category": "agent", "type": "one", "title": "1" }),
    )
    .await;
    let one = sse.until("activity").await;
    drop(sse);

    // Missed while disconnected.
    for t in ["two", "three"] {
        api.post(
            "/api/activity",
            json!({ "category": "agent", "type": t, "title": t }),
        )
        .await;
    }
    let mut resumed = Sse::open(&api, one.id.as_deref()).await;
    let mut types = Vec::new();
    while types.len() < 2 {
        let frame = resumed.next().await;
        assert_ne!(
            frame.data["type"], "activity-history",
            "a resumed client gets no snapshot"
        );
        if frame.data["type"] == "activity" {
            types.push(frame.data["event"]["type"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(types, ["two", "three"]);

    // An id from another server process (or too old) gets a fresh snapshot.
    let mut stale = Sse::open(&api, Some("deadbeef-3")).await;
    assert_eq!(stale.next().await.data["type"], "worktrees");
    assert_eq!(stale.next().await.data["type"], "activity-history");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_resynced_not_buffered() {
    let api = Api::new();
    let mut slow = Sse::open(&api, None).await;
    slow.until("ops-log-history").await;
    // Far more events than the bus channel holds, while the client reads nothing.
    let backbone = api.backbone.clone();
    tokio::task::spawn_blocking(move || {
        for i in 0..3000 {
            let e = openkit_core::logs::ActivityEvent::new(
                openkit_core::events::ActivityCategory::Agent,
                "flood",
                openkit_core::events::Severity::Info,
                &format!("{i}"),
            );
            backbone.record_activity(e).unwrap();
        }
    })
    .await
    .unwrap();
    // The client catches up through a fresh snapshot instead of 3000 queued events.
    let snapshot = slow.until("activity-history").await;
    assert_eq!(snapshot.data["events"].as_array().unwrap().len(), 50);
    assert_eq!(snapshot.data["events"][49]["title"], "2999");
}

/// The worktree list carries each worktree's linked issue and its status; a link or a
/// status written through the task and notes routes reaches the stream as a new list (the
/// dashboard shows the list it is sent, nothing else refreshes it).
#[tokio::test]
async fn links_and_issue_statuses_reach_the_stream() {
    let api = Api::new();
    let mut sse = Sse::open(&api, None).await;
    sse.until("worktrees").await;
    let (status, _) = api
        .post("/api/tasks", json!({ "title": "Stream the links" }))
        .await;
    assert!(status.is_success());
    let (status, body) = api
        .post("/api/tasks/LOCAL-1/create-worktree", json!({}))
        .await;
    assert!(status.is_success(), "{body}");

    // Waits for a list in which LOCAL-1 is linked and has the issue status `value`.
    async fn until_listed(sse: &mut Sse, value: &str) {
        loop {
            let frame = sse.until("worktrees").await;
            let entry = frame.data["worktrees"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["id"] == "LOCAL-1")
                .cloned();
            if entry
                .is_some_and(|w| w["localIssueId"] == "LOCAL-1" && w["localIssueStatus"] == value)
            {
                return;
            }
        }
    }
    until_listed(&mut sse, "todo").await;

    let (status, body) = api
        .call(
            axum::http::Method::PATCH,
            "/api/tasks/LOCAL-1",
            Some(json!({ "status": "done" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until_listed(&mut sse, "done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_sessions_reach_the_stream_when_they_start_and_end() {
    let api = Api::new();
    api.create("feature/agent-stream").await;
    let mut sse = Sse::open(&api, None).await;
    sse.until("worktrees").await;
    let (_, created) = api
        .post(
            "/api/worktrees/agent-stream/terminals",
            json!({ "scope": "codex", "startupCommand": "sleep 60" }),
        )
        .await;
    let session = created["sessionId"].as_str().unwrap().to_string();
    // Waits for a list whose `agent-stream` entry has `sessions` agent sessions.
    async fn until_sessions(sse: &mut Sse, sessions: usize) -> Value {
        loop {
            let frame = sse.until("worktrees").await;
            let entry = frame.data["worktrees"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["id"] == "agent-stream")
                .cloned()
                .unwrap_or(Value::Null);
            let listed = entry["agentSessions"].as_array().map_or(0, Vec::len);
            if listed == sessions {
                return entry;
            }
        }
    }
    let entry = until_sessions(&mut sse, 1).await;
    assert_eq!(entry["agentSessions"][0]["sessionId"], session.as_str());
    assert_eq!(entry["agentSessions"][0]["state"], "starting");
    let (status, _) = api
        .call(
            axum::http::Method::DELETE,
            &format!("/api/terminals/{session}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    until_sessions(&mut sse, 0).await;
}
