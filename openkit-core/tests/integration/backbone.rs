//! The backbone's logs: `.openkit/.gitignore` on first run, no default pruning of the
//! user's activity history, and every prune reported in the ops log.

use std::io::Write;

use openkit_core::backbone::{Backbone, LogKind};
use openkit_core::config::OPENKIT_GITIGNORE;
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::{ActivityEvent, Level, OpStatus, OpsLogEvent, OpsQuery};
use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use crate::write_config;

const DAY_MS: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a valid instant")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Writes `n` activity lines of about `size` bytes, dated from `start_ms` one minute apart.
fn write_activity(repo: &TestRepo, n: usize, size: usize, start_ms: i64) -> u64 {
    let path = repo.root().join(".openkit/activity.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap(),
    );
    for i in 0..n {
        let mut e = ActivityEvent::new(
            ActivityCategory::Agent,
            "agent_phase",
            Severity::Info,
            "Agent finished a phase",
        );
        e.id = format!("a{start_ms}-{i}");
        e.timestamp = iso(start_ms + i as i64 * 60_000);
        e.detail = Some("d".repeat(size.saturating_sub(200)));
        serde_json::to_writer(&mut out, &e).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    std::fs::metadata(&path).unwrap().len()
}

/// The ops-log records the logs themselves wrote with `action`.
fn log_reports(backbone: &Backbone, action: &str) -> Vec<OpsLogEvent> {
    backbone
        .ops()
        .query(&OpsQuery {
            source: Some("logs".into()),
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn prunes(backbone: &Backbone) -> Vec<OpsLogEvent> {
    log_reports(backbone, "log.prune")
}

fn git_status(repo: &TestRepo) -> String {
    repo.git(["status", "--porcelain", "--untracked-files=all"])
}

#[test]
fn activity_history_is_never_pruned_without_a_user_setting() {
    let repo = TestRepo::new();
    // Older than any age limit and larger than the 20 MB cap OpenKit used to apply.
    let two_years_ago = chrono::Utc::now().timestamp_millis() - 730 * DAY_MS;
    let size = write_activity(&repo, 23_000, 1000, two_years_ago);
    assert!(size > 21 * 1024 * 1024, "{size}");
    let path = repo.root().join(".openkit/activity.jsonl");
    let before = std::fs::read(&path).unwrap();
    // A config without activity limits (other activity settings do not matter).
    write_config(
        &repo,
        json!({ "activity": { "categories": { "agent": true } } }),
    );

    let backbone = Backbone::new(repo.paths());
    let retention = backbone.retention(LogKind::Activity);
    assert_eq!(retention.retention_days, None);
    assert_eq!(retention.max_size_mb, None);
    let now = chrono::Utc::now().timestamp_millis();
    let done = backbone.run_maintenance(true, now);
    assert!(
        done.iter().all(|(kind, _)| *kind != LogKind::Activity),
        "{done:?}"
    );
    drop(backbone); // the maintenance thread's start-up pass is over too
    assert!(
        std::fs::read(&path).unwrap() == before,
        "activity.jsonl is untouched"
    );
}

#[test]
fn configured_activity_retention_prunes_by_age_and_reports_it() {
    let repo = TestRepo::new();
    let now = chrono::Utc::now().timestamp_millis();
    write_activity(&repo, 40, 400, now - 60 * DAY_MS);
    write_activity(&repo, 10, 400, now - DAY_MS);
    write_config(&repo, json!({ "activity": { "retentionDays": 30 } }));

    let backbone = Backbone::new(repo.paths());
    backbone.run_maintenance(true, now);
    let kept = backbone.activity().store().len().unwrap();
    assert_eq!(kept, 10);

    let reports = prunes(&backbone);
    assert_eq!(reports.len(), 1, "one prune, one report: {reports:?}");
    let report = &reports[0];
    assert_eq!(report.level, Level::Info);
    assert_eq!(report.status, OpStatus::Succeeded);
    let meta = report.metadata.as_ref().unwrap();
    assert_eq!(meta["log"], "activity");
    assert_eq!(meta["reasons"], json!(["age"]));
    assert_eq!(meta["retentionDays"], 30.0);
    assert_eq!(meta["removedEntries"], 40);
    assert_eq!(meta["removedByAge"], 40);
    assert_eq!(meta["remainingEntries"], 10);
    let size = std::fs::metadata(repo.root().join(".openkit/activity.jsonl"))
        .unwrap()
        .len();
    assert_eq!(meta["remainingBytes"], size);
    assert!(
        report
            .message
            .starts_with("Pruned activity.jsonl: removed 40 lines")
            && report.message.contains("40 older than 30 days")
            && report.message.contains("10 lines"),
        "{}",
        report.message
    );
}

#[test]
fn configured_activity_size_cap_trims_and_reports_it() {
    let repo = TestRepo::new();
    let now = chrono::Utc::now().timestamp_millis();
    let size = write_activity(&repo, 200, 1000, now - DAY_MS);
    assert!(size > 150 * 1024);
    write_config(&repo, json!({ "activity": { "maxSizeMB": 0.1 } }));

    let backbone = Backbone::new(repo.paths());
    backbone.run_maintenance(false, now);
    let cap = (0.1 * 1024.0 * 1024.0) as u64;
    let left = std::fs::metadata(repo.root().join(".openkit/activity.jsonl"))
        .unwrap()
        .len();
    assert!(left <= cap * 8 / 10, "trimmed to 80 % of the cap: {left}");

    let reports = prunes(&backbone);
    assert_eq!(reports.len(), 1, "{reports:?}");
    let meta = reports[0].metadata.as_ref().unwrap();
    assert_eq!(meta["log"], "activity");
    assert_eq!(meta["reasons"], json!(["size"]));
    assert_eq!(meta["maxSizeMB"], 0.1);
    assert_eq!(meta["removedByAge"], 0);
    assert_eq!(meta["removedBySize"], meta["removedEntries"]);
    assert_eq!(meta["remainingBytes"], left);
    assert_eq!(
        meta["removedBytes"].as_u64().unwrap() + left,
        size,
        "removed + remaining = before"
    );
    // Under the cap now: the next pass leaves it alone and reports nothing.
    assert!(backbone.run_maintenance(false, now).is_empty());
    assert_eq!(prunes(&backbone).len(), 1);
}

#[test]
fn the_ops_log_keeps_seven_days_by_default_and_reports_its_prunes() {
    let repo = TestRepo::new();
    let now = chrono::Utc::now().timestamp_millis();
    let path = repo.root().join(".openkit/ops-log.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = String::new();
    for (i, age_days) in [30, 8, 6, 1].into_iter().enumerate() {
        let mut e = OpsLogEvent::new(
            "git",
            "command.run",
            "git status",
            Level::Debug,
            OpStatus::Succeeded,
        );
        e.id = format!("o{i}");
        e.timestamp = iso(now - age_days * DAY_MS);
        text.push_str(&serde_json::to_string(&e).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();

    let backbone = Backbone::new(repo.paths());
    backbone.run_maintenance(true, now);
    let ids: Vec<String> = backbone
        .ops()
        .query(&OpsQuery {
            source: Some("git".into()),
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["o2", "o3"]);
    let reports = prunes(&backbone);
    assert_eq!(reports.len(), 1, "{reports:?}");
    let meta = reports[0].metadata.as_ref().unwrap();
    assert_eq!(meta["log"], "opsLog");
    assert_eq!(meta["retentionDays"], 7.0);
    assert_eq!(meta["maxSizeMB"], 50.0);
    assert_eq!(meta["removedByAge"], 2);
    assert_eq!(meta["remainingEntries"], 2);
}

#[test]
fn a_manual_retention_is_reported_too() {
    let repo = TestRepo::new();
    let now = chrono::Utc::now().timestamp_millis();
    write_activity(&repo, 5, 300, now - 10 * DAY_MS);
    let backbone = Backbone::new(repo.paths());
    let impact = backbone
        .apply_retention(
            LogKind::Activity,
            openkit_core::logs::Retention {
                retention_days: Some(3.0),
                max_size_mb: None,
            },
            now,
        )
        .unwrap();
    assert_eq!(impact.entries_to_remove, 5);
    let reports = prunes(&backbone);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].metadata.as_ref().unwrap()["removedEntries"], 5);
}

#[test]
fn first_run_ignores_runtime_files_in_git() {
    let repo = TestRepo::new();
    assert_eq!(git_status(&repo), "");
    let backbone = Backbone::new(repo.paths());
    let gitignore = repo.root().join(".openkit/.gitignore");
    assert_eq!(
        std::fs::read_to_string(&gitignore).unwrap(),
        "*\n!.gitignore\n!config.json\n"
    );
    assert_eq!(OPENKIT_GITIGNORE, "*\n!.gitignore\n!config.json\n");
    // Runtime files: both logs (queued and direct appends), their locks, server.json.
    backbone.enqueue_ops(OpsLogEvent::new(
        "http",
        "http.request",
        "GET /api/worktrees -> 200 (1 ms)",
        Level::Debug,
        OpStatus::Succeeded,
    ));
    backbone
        .record_activity(ActivityEvent::new(
            ActivityCategory::System,
            "note",
            Severity::Info,
            "hello",
        ))
        .unwrap()
        .expect("recorded");
    backbone.flush();
    repo.write(
        ".openkit/server.json",
        "{\"url\":\"http://localhost:4040\",\"pid\":1}\n",
    );
    for file in ["activity.jsonl", "ops-log.jsonl", "ops-log.jsonl.lock"] {
        assert!(repo.root().join(".openkit").join(file).exists(), "{file}");
    }
    // Only the file meant to be committed shows (what `init` and commit-setup commit).
    assert_eq!(git_status(&repo), "?? .openkit/.gitignore\n");
    repo.git(["add", ".openkit/.gitignore"]);
    repo.git(["commit", "-q", "-m", "openkit"]);
    assert_eq!(git_status(&repo), "", "a clean status with logs written");
    drop(backbone);
}

#[test]
fn an_existing_gitignore_is_kept() {
    let repo = TestRepo::builder()
        .file(".openkit/.gitignore", "# mine\n*.jsonl\n")
        .build();
    let backbone = Backbone::new(repo.paths());
    backbone
        .record_ops(OpsLogEvent::new(
            "git",
            "command.run",
            "git status",
            Level::Debug,
            OpStatus::Succeeded,
        ))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(repo.root().join(".openkit/.gitignore")).unwrap(),
        "# mine\n*.jsonl\n"
    );
    assert!(
        !openkit_core::config::ensure_openkit_gitignore(&repo.paths()).unwrap(),
        "nothing written over an existing file"
    );
    let status = git_status(&repo);
    assert!(!status.contains("ops-log.jsonl\n"), "{status}");
}

#[test]
fn lost_records_are_reported_in_the_ops_log() {
    let repo = TestRepo::new();
    let backbone = Backbone::new(repo.paths());
    // The activity log cannot be written: its path is a directory.
    std::fs::create_dir_all(repo.root().join(".openkit/activity.jsonl")).unwrap();
    backbone.enqueue_activity(ActivityEvent::new(
        ActivityCategory::System,
        "note",
        Severity::Info,
        "lost",
    ));
    backbone.flush();
    backbone.run_maintenance(false, chrono::Utc::now().timestamp_millis());
    let lost: Vec<Value> = log_reports(&backbone, "log.records_lost")
        .into_iter()
        .map(|e| e.metadata.unwrap())
        .collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0]["log"], "activity");
    assert_eq!(lost[0]["failed"], 1);
    assert!(lost[0]["lastError"].as_str().is_some());
}

#[test]
fn activity_text_is_redacted_when_recorded_queued_or_published() {
    use openkit_core::backbone::FeedEvent;
    use openkit_core::events::{ActivityNotice, EventSink, WorkbenchEvent};

    let repo = TestRepo::new();
    let backbone = Backbone::new(repo.paths());
    let mut live = backbone.bus().subscribe(None).receiver;
    let url = "https://alice:pass@github.com/acme/app.git";
    let token = "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let event = |title: &str| {
        let mut e = ActivityEvent::new(
            ActivityCategory::Agent,
            "agent_note",
            Severity::Info,
            &format!("{title} pushed to {url}"),
        );
        e.detail = Some(format!("used {token}"));
        e
    };
    // Written on the caller, queued for the writer, and a workbench notice (queued too).
    let recorded = backbone.record_activity(event("direct")).unwrap().unwrap();
    let queued = backbone.enqueue_activity(event("queued")).unwrap();
    backbone.publish(WorkbenchEvent::Activity(ActivityNotice {
        category: ActivityCategory::Worktree,
        event_type: "creation_failed".into(),
        severity: Severity::Error,
        title: format!("notice pushed to {url}"),
        detail: Some(format!("used {token}")),
        worktree_id: None,
    }));
    backbone.flush();

    let clean = |title: &str, detail: Option<&str>| {
        assert!(
            !title.contains("pass@") && !title.contains("alice"),
            "{title}"
        );
        assert!(
            title.contains("https://[REDACTED]@github.com/acme/app.git"),
            "{title}"
        );
        assert_eq!(detail, Some("used [REDACTED]"));
    };
    // What the callers got back...
    clean(&recorded.title, recorded.detail.as_deref());
    clean(&queued.title, queued.detail.as_deref());
    // ...what was broadcast...
    let mut broadcast = 0;
    while let Ok(seq) = live.try_recv() {
        if let FeedEvent::Activity(e) = &seq.event {
            clean(&e.title, e.detail.as_deref());
            broadcast += 1;
        }
    }
    assert_eq!(broadcast, 3);
    // ...and what was stored.
    let stored = backbone
        .activity()
        .query(&openkit_core::logs::ActivityQuery {
            since: None,
            category: None,
            limit: usize::MAX,
        })
        .unwrap();
    assert_eq!(stored.len(), 3);
    for e in &stored {
        clean(&e.title, e.detail.as_deref());
    }
    let file = std::fs::read_to_string(repo.root().join(".openkit/activity.jsonl")).unwrap();
    assert!(
        !file.contains("alice:pass") && !file.contains(token),
        "{file}"
    );
}

/// Writes `path` with `modified` as its modification time (now when `None`).
fn leftover(path: &std::path::Path, modified: Option<std::time::SystemTime>) -> std::path::PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"{\"partial\": ").unwrap();
    if let Some(t) = modified {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    path.to_path_buf()
}

#[test]
fn start_up_clears_what_a_crash_left_behind() {
    use openkit_core::tasks::{LocalTasks, TaskFields};

    let repo = TestRepo::new();
    let openkit = repo.root().join(".openkit");
    let local = openkit.join("issues/local");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    let ours = std::process::id();
    let tasks = LocalTasks::new(repo.paths());
    let titled = |t: &str| TaskFields {
        title: Some(t.into()),
        ..Default::default()
    };
    assert_eq!(tasks.create("LOCAL", titled("kept")).unwrap().id, "LOCAL-1");
    // Killed writers: old temp files, one of a dead pid, one alone in a task folder whose
    // id was allocated (the counter was not advanced, as older versions wrote it last).
    let stale = [
        leftover(&openkit.join(".openkit-tmp-q1w2e3"), Some(old)),
        leftover(&openkit.join(".openkit-tmp-999999999-r4t5"), None),
        leftover(&local.join("LOCAL-1/.openkit-tmp-notes1"), Some(old)),
        leftover(&local.join("LOCAL-2/.openkit-tmp-y6u7i8"), Some(old)),
    ];
    // A write in flight, and a checkout that is not ours to clean.
    let kept = [
        leftover(&openkit.join(format!(".openkit-tmp-{ours}-live")), None),
        leftover(&local.join(".openkit-tmp-fresh"), None),
        leftover(&openkit.join("worktrees/w/.openkit-tmp-old"), Some(old)),
    ];
    assert!(matches!(
        tasks.get("LOCAL-2"),
        Err(openkit_core::tasks::TaskError::NotFound)
    ));

    let backbone = Backbone::new(repo.paths());
    for path in &stale {
        assert!(!path.exists(), "{} removed at start", path.display());
    }
    for path in &kept {
        assert!(path.exists(), "{} kept", path.display());
    }
    assert!(
        !local.join("LOCAL-2").exists(),
        "the abandoned allocation is gone"
    );
    assert!(local.join("LOCAL-1/issue.json").exists());
    assert_eq!(
        std::fs::read_to_string(local.join(".counter"))
            .unwrap()
            .trim(),
        "2"
    );
    assert_eq!(
        tasks.create("LOCAL", titled("next")).unwrap().id,
        "LOCAL-3",
        "ids are never reused"
    );
    let cleanup: Vec<OpsLogEvent> = backbone
        .ops()
        .query(&OpsQuery {
            source: Some("startup".into()),
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(cleanup.len(), 1);
    assert_eq!(cleanup[0].action, "startup.cleanup");
    let meta = cleanup[0].metadata.as_ref().unwrap();
    assert_eq!(meta["tempFiles"].as_array().unwrap().len(), 4);
    assert_eq!(meta["abandonedTasks"], json!(["LOCAL-2"]));
    drop(backbone);

    // A clean start finds nothing and reports nothing.
    let again = Backbone::new(repo.paths());
    let reports = again
        .ops()
        .query(&OpsQuery {
            source: Some("startup".into()),
            limit: usize::MAX,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(reports.len(), 1);
}
