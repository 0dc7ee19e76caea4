use axum::http::StatusCode;
use serde_json::Value;

use crate::events::Sse;
use crate::harness::Api;

#[tokio::test]
async fn perf_is_sampled_while_a_stream_is_open() {
    let api = Api::new();
    let (status, body) = api.get("/api/perf").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["snapshots"], serde_json::json!([]));
    let (_, current) = api.get("/api/perf/current").await;
    assert_eq!(current["snapshot"], Value::Null);

    let mut stream = Sse::open_at(&api, "/api/perf/stream", None).await;
    let history = stream.next().await;
    assert_eq!(history.data["type"], "perf-history");
    let live = stream.next().await;
    assert_eq!(live.data["type"], "perf-snapshot");
    let server = &live.data["snapshot"]["server"];
    assert_eq!(server["pid"], std::process::id());
    assert!(server["memory"].as_u64().unwrap() > 0);
    assert!(
        live.data["snapshot"]["system"]["processCount"]
            .as_u64()
            .unwrap()
            >= 1
    );

    let (_, current) = api.get("/api/perf/current").await;
    assert_eq!(current["snapshot"]["server"]["pid"], std::process::id());
    let (_, all) = api.get("/api/perf").await;
    assert!(!all["snapshots"].as_array().unwrap().is_empty());
}
