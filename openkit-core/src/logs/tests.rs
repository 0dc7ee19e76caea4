//! Tests of the JSONL stores: torn lines, concurrent writers, cursors, retention.

use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::events::{ActivityCategory, Severity};

fn event_at(ts: &str, id: &str, category: ActivityCategory) -> ActivityEvent {
    let mut e = ActivityEvent::new(category, "t", Severity::Info, id);
    e.timestamp = ts.to_string();
    e.id = id.to_string();
    e
}

fn ids(events: &[ActivityEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.clone()).collect()
}

fn all(log: &ActivityLog) -> Vec<ActivityEvent> {
    log.query(&ActivityQuery {
        limit: usize::MAX,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn torn_last_line_is_skipped_and_the_next_append_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activity.jsonl");
    let log = ActivityLog::new(&path);
    log.append(&event_at(
        "2026-01-01T00:00:00.000Z",
        "a",
        ActivityCategory::Agent,
    ))
    .unwrap();
    // A crash in the middle of a write.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(br#"{"id":"torn","timesta"#)
        .unwrap();
    assert_eq!(ids(&all(&log)), ["a"]);
    log.append(&event_at(
        "2026-01-01T00:00:01.000Z",
        "b",
        ActivityCategory::Agent,
    ))
    .unwrap();
    assert_eq!(ids(&all(&log)), ["a", "b"]);
    // A fresh reader (restart) agrees, and garbage lines in the middle are skipped.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"not json\n")
        .unwrap();
    log.append(&event_at(
        "2026-01-01T00:00:02.000Z",
        "c",
        ActivityCategory::Agent,
    ))
    .unwrap();
    assert_eq!(ids(&all(&ActivityLog::new(&path))), ["a", "b", "c"]);
}

#[test]
fn appends_by_another_process_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activity.jsonl");
    let mine = ActivityLog::new(&path);
    let theirs = ActivityLog::new(&path);
    mine.append(&event_at(
        "2026-01-01T00:00:00.000Z",
        "1",
        ActivityCategory::Agent,
    ))
    .unwrap();
    assert_eq!(all(&mine).len(), 1);
    theirs
        .append(&event_at(
            "2026-01-01T00:00:01.000Z",
            "2",
            ActivityCategory::System,
        ))
        .unwrap();
    assert_eq!(ids(&all(&mine)), ["1", "2"]);
    // The other process applies retention (rewrites the file): the index rebuilds.
    theirs
        .apply_retention(
            Retention {
                retention_days: None,
                max_size_mb: Some(1e-9),
            },
            0,
        )
        .unwrap();
    assert!(all(&mine).is_empty());
}

#[test]
fn concurrent_writers_never_interleave_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops-log.jsonl");
    std::thread::scope(|s| {
        for w in 0..4 {
            let path = path.clone();
            s.spawn(move || {
                let log = OpsLog::new(&path);
                for i in 0..200 {
                    let mut e = OpsLogEvent::new(
                        "test",
                        "write",
                        &"x".repeat(500),
                        Level::Info,
                        OpStatus::Info,
                    );
                    e.id = format!("{w}-{i}");
                    log.append(&e).unwrap();
                }
            });
        }
    });
    let log = OpsLog::new(&path);
    let events = log
        .query(&OpsQuery {
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 800);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<OpsLogEvent>(l).is_ok())
    );
}

#[test]
fn filters_limits_and_cursors() {
    let dir = tempfile::tempdir().unwrap();
    let log = ActivityLog::new(dir.path().join("a.jsonl"));
    let ts = "2026-01-01T00:00:00.000Z";
    for (i, cat) in [
        ActivityCategory::Agent,
        ActivityCategory::System,
        ActivityCategory::Agent,
        ActivityCategory::Agent,
    ]
    .into_iter()
    .enumerate()
    {
        // Four events sharing one timestamp.
        log.append(&event_at(ts, &format!("e{i}"), cat)).unwrap();
    }
    log.append(&event_at(
        "2026-01-01T00:00:05.000Z",
        "late",
        ActivityCategory::Worktree,
    ))
    .unwrap();
    let q = |since: Option<&str>, category, limit| {
        ids(&log
            .query(&ActivityQuery {
                since: since.map(|s| parse_since(s).unwrap()),
                category,
                limit,
            })
            .unwrap())
    };
    assert_eq!(q(None, None, 2), ["e3", "late"]);
    assert_eq!(
        q(None, Some(ActivityCategory::Agent), 10),
        ["e0", "e2", "e3"]
    );
    assert_eq!(q(Some(ts), None, 10), ["late"]);
    // With the id of the last event seen, events sharing its timestamp are not lost.
    assert_eq!(q(Some(&format!("{ts}:e1")), None, 10), ["e2", "e3", "late"]);
    assert_eq!(
        q(Some(&format!("{ts}:e1")), Some(ActivityCategory::Agent), 10),
        ["e2", "e3"]
    );
    // An id that is gone falls back to the timestamp.
    assert_eq!(q(Some(&format!("{ts}:gone")), None, 10), ["late"]);
}

#[test]
fn ops_filters() {
    let dir = tempfile::tempdir().unwrap();
    let log = OpsLog::new(dir.path().join("o.jsonl"));
    let mut a = OpsLogEvent::new(
        "http",
        "request",
        "GET /api/worktrees",
        Level::Debug,
        OpStatus::Succeeded,
    );
    a.id = "a".into();
    let mut b = OpsLogEvent::new(
        "git",
        "command.run",
        "git worktree add",
        Level::Warning,
        OpStatus::Failed,
    );
    b.id = "b".into();
    b.command = Some(CommandInfo {
        command: "git".into(),
        args: vec!["worktree".into(), "add".into(), "--magic".into()],
        cwd: None,
        pid: None,
        exit_code: Some(1),
        signal: None,
        duration_ms: Some(3),
        stdout: None,
        stderr: None,
    });
    log.append(&a).unwrap();
    log.append(&b).unwrap();
    let q = |query: OpsQuery| -> Vec<String> {
        log.query(&OpsQuery {
            limit: 100,
            ..query
        })
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
    };
    assert_eq!(
        q(OpsQuery {
            level: Some(Level::Warning),
            ..Default::default()
        }),
        ["b"]
    );
    assert_eq!(
        q(OpsQuery {
            status: Some(OpStatus::Succeeded),
            ..Default::default()
        }),
        ["a"]
    );
    assert_eq!(
        q(OpsQuery {
            source: Some("HT".into()),
            ..Default::default()
        }),
        ["a"]
    );
    assert_eq!(
        q(OpsQuery {
            search: Some("--MAGIC".into()),
            ..Default::default()
        }),
        ["b"]
    );
    assert_eq!(
        q(OpsQuery {
            search: Some("nothing".into()),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
}

#[test]
fn retention_preview_matches_apply() {
    let dir = tempfile::tempdir().unwrap();
    let log = ActivityLog::new(dir.path().join("a.jsonl"));
    for day in 1..=9 {
        log.append(&event_at(
            &format!("2026-01-0{day}T00:00:00.000Z"),
            &format!("d{day}"),
            ActivityCategory::Agent,
        ))
        .unwrap();
    }
    let now = parse_ts("2026-01-10T00:00:00.000Z").unwrap();
    let policy = Retention {
        retention_days: Some(3.0),
        max_size_mb: None,
    };
    let before = std::fs::read(log.store().path()).unwrap();
    let preview = log.store().retention_impact(policy, now).unwrap();
    assert_eq!(preview.entries_to_remove, 6);
    assert_eq!(preview.current_entries, 9);
    assert_eq!(preview.current_bytes, before.len() as u64);
    assert_eq!(
        std::fs::read(log.store().path()).unwrap(),
        before,
        "a preview writes nothing"
    );
    let applied = log.apply_retention(policy, now).unwrap();
    assert_eq!(applied, preview);
    assert_eq!(ids(&all(&log)), ["d7", "d8", "d9"]);
    assert_eq!(
        std::fs::metadata(log.store().path()).unwrap().len(),
        preview.current_bytes - preview.bytes_to_remove
    );
}

fn ops_event(id: &str, message: &str) -> OpsLogEvent {
    let mut e = OpsLogEvent::new("test", "write", message, Level::Info, OpStatus::Info);
    e.id = id.to_string();
    e
}

fn all_ops(log: &OpsLog) -> Vec<OpsLogEvent> {
    log.query(&OpsQuery {
        limit: usize::MAX,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn queued_records_are_read_back_in_order_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops-log.jsonl");
    let log = OpsLog::new(&path);
    std::thread::scope(|s| {
        for w in 0..4 {
            let log = &log;
            s.spawn(move || {
                for i in 0..500 {
                    let e = ops_event(&format!("{w}-{i}"), &"x".repeat(300));
                    assert_eq!(log.enqueue(std::sync::Arc::new(e)), Enqueued::Queued);
                }
            });
        }
    });
    // A query waits for what was queued before it: a process reads its own writes.
    let events = all_ops(&log);
    assert_eq!(events.len(), 2000);
    for w in 0..4 {
        let mine: Vec<&str> = events
            .iter()
            .map(|e| e.id.as_str())
            .filter(|id| id.starts_with(&format!("{w}-")))
            .collect();
        let expected: Vec<String> = (0..500).map(|i| format!("{w}-{i}")).collect();
        assert_eq!(mine, expected, "each writer's records keep their order");
    }
    // A direct append lands after everything queued before it.
    log.enqueue(std::sync::Arc::new(ops_event("queued", "q")));
    log.append(&ops_event("direct", "d")).unwrap();
    let ids: Vec<String> = all_ops(&log).into_iter().map(|e| e.id).collect();
    assert_eq!(&ids[ids.len() - 2..], ["queued", "direct"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<OpsLogEvent>(l).is_ok())
    );
    assert!(log.store().take_losses().is_empty());
}

#[test]
fn dropping_a_store_writes_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activity.jsonl");
    let log = ActivityLog::new(&path);
    for i in 0..300 {
        log.enqueue(std::sync::Arc::new(event_at(
            "2026-01-01T00:00:00.000Z",
            &format!("e{i}"),
            ActivityCategory::System,
        )));
    }
    drop(log);
    let events = all(&ActivityLog::new(&path));
    assert_eq!(events.len(), 300);
    assert_eq!(events[299].id, "e299");
}

#[test]
fn queued_appends_never_glue_onto_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops-log.jsonl");
    std::fs::write(&path, br#"{"id":"torn","timesta"#).unwrap();
    let log = OpsLog::new(&path);
    log.enqueue(std::sync::Arc::new(ops_event("a", "after the crash")));
    let ids: Vec<String> = all_ops(&log).into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["a"]);
}

#[test]
fn a_full_queue_drops_after_a_short_wait_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops-log.jsonl");
    let log = OpsLog::new(&path);
    // Another process holds the log's lock: the writer cannot write, the queue fills up.
    let lock = std::fs::File::create(dir.path().join("ops-log.jsonl.lock")).unwrap();
    lock.lock().unwrap();
    let mut queued = 0u64;
    let mut dropped = 0u64;
    let mut waited = std::time::Duration::ZERO;
    for i in 0..super::writer::QUEUE_CAPACITY * 4 {
        let started = std::time::Instant::now();
        match log.enqueue(std::sync::Arc::new(ops_event(&format!("r{i}"), "m"))) {
            Enqueued::Queued => queued += 1,
            Enqueued::Dropped => {
                dropped += 1;
                waited = started.elapsed();
                if dropped == 3 {
                    break;
                }
            }
            Enqueued::WrittenInline => panic!("the writer thread runs"),
        }
    }
    assert_eq!(dropped, 3, "a full queue drops");
    assert!(queued >= super::writer::QUEUE_CAPACITY as u64);
    assert!(
        waited >= super::writer::FULL_WAIT,
        "it waits for room first"
    );
    let losses = log.store().take_losses();
    assert_eq!(losses.dropped, 3);
    assert_eq!(losses.failed, 0);
    assert!(log.store().take_losses().is_empty(), "taking resets");
    lock.unlock().unwrap();
    assert_eq!(
        all_ops(&log).len() as u64,
        queued,
        "everything queued is written"
    );
}

#[test]
fn prune_reports_why_records_went() {
    let dir = tempfile::tempdir().unwrap();
    let log = ActivityLog::new(dir.path().join("a.jsonl"));
    for day in 1..=9 {
        let mut e = event_at(
            &format!("2026-01-0{day}T00:00:00.000Z"),
            &format!("d{day}"),
            ActivityCategory::Agent,
        );
        e.title = "y".repeat(1000);
        log.append(&e).unwrap();
    }
    let line = std::fs::metadata(log.store().path()).unwrap().len() / 9;
    let now = parse_ts("2026-01-10T00:00:00.000Z").unwrap();
    // Age keeps d7..d9 (3 lines); the size cap keeps 2 of them.
    let report = log
        .store()
        .prune(
            Retention {
                retention_days: Some(3.0),
                max_size_mb: Some((2 * line + line / 2) as f64 / (1024.0 * 1024.0)),
            },
            now,
        )
        .unwrap();
    assert_eq!(report.removed_by_age, 6);
    assert_eq!(report.removed_by_size, 1);
    assert_eq!(report.impact.entries_to_remove, 7);
    assert_eq!(report.remaining_entries(), 2);
    assert_eq!(
        report.remaining_bytes(),
        std::fs::metadata(log.store().path()).unwrap().len()
    );
    assert_eq!(ids(&all(&log)), ["d8", "d9"]);
    let again = log
        .store()
        .prune(
            Retention {
                retention_days: Some(3.0),
                max_size_mb: None,
            },
            now,
        )
        .unwrap();
    assert!(again.is_empty());
}

fn nine_days(log: &ActivityLog) -> i64 {
    for day in 1..=9 {
        log.append(&event_at(
            &format!("2026-01-0{day}T00:00:00.000Z"),
            &format!("d{day}"),
            ActivityCategory::Agent,
        ))
        .unwrap();
    }
    parse_ts("2026-01-10T00:00:00.000Z").unwrap()
}

const THREE_DAYS: Retention = Retention {
    retention_days: Some(3.0),
    max_size_mb: None,
};

#[test]
fn appends_during_a_prune_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = ActivityLog::new(&path);
    let now = nine_days(&log);
    // Another process appends while the kept records are being copied.
    let other = ActivityLog::new(&path);
    let report = log
        .store()
        .prune_with(THREE_DAYS, now, || {
            other
                .append(&event_at(
                    "2026-01-10T00:00:00.000Z",
                    "d10",
                    ActivityCategory::Agent,
                ))
                .unwrap();
        })
        .unwrap();
    assert_eq!(ids(&all(&log)), ["d7", "d8", "d9", "d10"]);
    assert_eq!(ids(&all(&other)), ["d7", "d8", "d9", "d10"]);
    assert_eq!(report.removed_by_age, 6);
    assert_eq!(report.remaining_entries(), 4);
    assert_eq!(
        report.remaining_bytes(),
        std::fs::metadata(&path).unwrap().len()
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".openkit-tmp")),
        "no temporary file is left behind"
    );
}

#[test]
fn a_prune_gives_way_to_another_process_that_replaced_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = ActivityLog::new(&path);
    let now = nine_days(&log);
    let other = ActivityLog::new(&path);
    let report = log
        .store()
        .prune_with(THREE_DAYS, now, || {
            // The other process keeps only the newest line.
            let size = std::fs::metadata(&path).unwrap().len() as f64;
            other
                .apply_retention(
                    Retention {
                        retention_days: None,
                        max_size_mb: Some(size / 9.0 * 1.5 / (1024.0 * 1024.0)),
                    },
                    now,
                )
                .unwrap();
        })
        .unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(ids(&all(&log)), ["d9"], "the other process's result stands");
}

proptest! {
    #[test]
    fn jsonl_round_trip(titles in proptest::collection::vec("\\PC{0,40}", 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let log = ActivityLog::new(dir.path().join("a.jsonl"));
        let mut written = Vec::new();
        for (i, title) in titles.iter().enumerate() {
            let mut e = ActivityEvent::new(ActivityCategory::Agent, "t", Severity::Info, title);
            e.id = format!("id-{i}");
            e.detail = Some(format!("{title}\n\"quoted\""));
            log.append(&e).unwrap();
            written.push(e);
        }
        prop_assert_eq!(all(&ActivityLog::new(dir.path().join("a.jsonl"))), written);
    }

    #[test]
    fn retention_keeps_a_newest_suffix(
        sizes in proptest::collection::vec(0usize..300, 1..40),
        days in proptest::option::of(0.5f64..40.0),
        cap_kb in proptest::option::of(1.0f64..20.0),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log = ActivityLog::new(dir.path().join("a.jsonl"));
        let base = parse_ts("2026-01-01T00:00:00.000Z").unwrap();
        for (i, size) in sizes.iter().enumerate() {
            let ts = chrono::DateTime::from_timestamp_millis(base + i as i64 * 86_400_000).unwrap();
            let mut e = event_at(&ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), &format!("{i:03}"), ActivityCategory::Agent);
            e.title = "x".repeat(*size);
            log.append(&e).unwrap();
        }
        let now = base + sizes.len() as i64 * 86_400_000;
        let policy = Retention { retention_days: days, max_size_mb: cap_kb.map(|k| k / 1024.0) };
        log.apply_retention(policy, now).unwrap();
        let kept = ids(&all(&log));
        let n = sizes.len();
        // Never drops a newer event while keeping an older one: the kept ids are a suffix.
        let expected_suffix: Vec<String> = (n - kept.len()..n).map(|i| format!("{i:03}")).collect();
        prop_assert_eq!(&kept, &expected_suffix);
        if let Some(kb) = cap_kb {
            prop_assert!(std::fs::metadata(log.store().path()).map_or(0, |m| m.len()) as f64 <= kb * 1024.0);
        }
    }
}
