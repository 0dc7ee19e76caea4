//! The live status engine seen through the API: a change made by another process shows
//! in `GET /api/worktrees` and as a `worktrees` event on the stream, with no request
//! asking for it.

use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::events::Sse;
use crate::harness::Api;

#[tokio::test]
async fn a_write_from_another_process_reaches_the_list_and_the_stream() {
    let api = Api::new();
    let created = api.create("feature/watched").await;
    let path = created["worktree"]["path"].as_str().unwrap().to_string();
    let engine = api.workbench.status_engine().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !engine.is_live() {
        assert!(Instant::now() < deadline, "the engine never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut sse = Sse::open_at(&api, "/api/events", None).await;
    // Skip the connect snapshot (worktrees, activity history, ops history).
    for _ in 0..3 {
        sse.next().await;
    }

    std::process::Command::new("sh")
        .args(["-c", "echo change > edited.txt"])
        .current_dir(&path)
        .status()
        .unwrap();

    let dirty_in = |list: &serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == "watched" && w["hasUncommitted"] == serde_json::Value::Bool(true))
    };
    loop {
        let frame = sse.next().await;
        if frame.data["type"] == "worktrees" && dirty_in(&frame.data["worktrees"]) {
            break;
        }
    }
    let (status, body) = api.get("/api/worktrees").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dirty_in(&body["worktrees"]), "{body}");
}
