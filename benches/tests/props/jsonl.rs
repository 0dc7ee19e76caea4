//! Properties of the JSONL log reader, shared by the `jsonl_log` fuzz target
//! (`fuzz/fuzz_targets/jsonl_log.rs` includes this file) and its proptest twin
//! (`benches/tests/fuzz_twins.rs`). Violations panic.
//!
//! Depends only on `openkit_core`, `serde_json` and `tempfile`.

use openkit_core::logs::{JsonlStore, Level, OpStatus, OpsLogEvent};

/// What a correct reader returns for `bytes`: every newline-terminated line that parses as
/// an ops-log event, in file order. An unterminated last line (torn by a crash) is not a
/// record yet.
pub fn expected_records(bytes: &[u8]) -> Vec<OpsLogEvent> {
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &bytes[..end],
        None => return Vec::new(),
    };
    complete
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect()
}

fn everything(store: &JsonlStore<OpsLogEvent>) -> Vec<OpsLogEvent> {
    store
        .query(None, |_| true, |_| true, |_| true, usize::MAX)
        .expect("querying a readable log")
}

/// Writes `data` as an ops log, then checks that:
/// - a query returns exactly the complete lines that parse, oldest first, and a limited
///   query the newest of them;
/// - an append (through a second store, as another process would) keeps every existing
///   byte, never glues onto a torn line, and the first store's index catches up to
///   exactly the records of the new file, the appended one last.
pub fn log_bytes(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("ops-log.jsonl");
    std::fs::write(&path, data).expect("writing the log");

    let reader = JsonlStore::<OpsLogEvent>::new(&path);
    let expected = expected_records(data);
    assert_eq!(everything(&reader), expected, "records of {data:?}");
    assert_eq!(reader.len().expect("len"), expected.len());
    let newest = reader
        .query(None, |_| true, |_| true, |_| true, 2)
        .expect("a limited query");
    assert_eq!(newest, expected[expected.len().saturating_sub(2)..]);

    let mut appended = OpsLogEvent::new("fuzz", "append", "after", Level::Info, OpStatus::Info);
    appended.id = "fuzz-appended".into();
    JsonlStore::<OpsLogEvent>::new(&path)
        .append(&appended)
        .expect("appending");
    let bytes = std::fs::read(&path).expect("reading the log back");
    assert!(bytes.starts_with(data), "an append rewrote existing bytes");
    let after = everything(&reader);
    assert_eq!(after, expected_records(&bytes));
    assert_eq!(
        after.last(),
        Some(&appended),
        "the appended record is the newest"
    );
    assert!(after.len() > expected.len());
}
