//! Hook pipelines against real worktrees and real commands: pass, fail, timeouts, huge
//! output, daemonising steps, cancel, the result cache, lifecycle triggers and two
//! worktrees at once.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openkit_core::backbone::FeedEvent;
use openkit_core::hooks::run::RunFile;
use openkit_core::hooks::{
    FlowState, HooksConfig, PipelineRun, RunStatus, SkillOverride, StepStatus, Trigger,
};
use openkit_core::issues::IssueRef;
use openkit_core::testing::TestRepo;
use openkit_core::{DomainError, Workbench};
use serde_json::json;

use crate::{create, within, workbench};

/// Writes `.openkit/hooks.json`.
fn hooks(repo: &TestRepo, config: serde_json::Value) {
    repo.write(".openkit/hooks.json", &config.to_string());
}

/// Whether `pid` is a live (not zombie) process.
fn alive(pid: u32) -> bool {
    openkit_core::perf::proc::stat(pid).is_some_and(|s| !s.zombie)
}

/// The pid a step wrote to `file`, waiting for it to appear.
async fn pid_in(file: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `pid` is gone.
async fn until_dead(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} outlived its step");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(wb: &Arc<Workbench>, id: &str, trigger: Trigger, force: bool) -> PipelineRun {
    let (_, handle) = within(wb.run_hooks(id, trigger, force))
        .await
        .expect("the run starts");
    within(handle).await.expect("the run task")
}

/// The first and last line of a step's output as nanosecond timestamps (`date +%s%N`).
fn span(step: &openkit_core::hooks::StepResult) -> (u128, u128) {
    let stamps: Vec<u128> = step
        .output
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    (stamps[0], *stamps.last().unwrap())
}

/// The two steps ran at the same time: each started before the other ended.
fn assert_overlap(a: &openkit_core::hooks::StepResult, b: &openkit_core::hooks::StepResult) {
    let (a, b) = (span(a), span(b));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the steps did not overlap: {a:?} {b:?}"
    );
}

fn step<'a>(run: &'a PipelineRun, id: &str) -> &'a openkit_core::hooks::StepResult {
    run.steps
        .iter()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("no step {id} in {run:?}"))
}

#[tokio::test]
async fn steps_run_in_parallel_pass_or_fail_by_exit_code_and_are_persisted() {
    let repo = TestRepo::new();
    hooks(
        &repo,
        json!({ "steps": [
            { "id": "ok", "name": "Passes", "command": "echo out; sleep 0.2; echo err >&2; sleep 0.2; test \"$FORCE_COLOR\" = 0 && echo \"$OPENKIT_HOOK_TRIGGER $OPENKIT_WORKTREE_ID\"" },
            { "id": "bad", "name": "Fails", "command": "echo broken; exit 3" },
            { "id": "slow", "name": "Slow", "command": "date +%s%N; sleep 1; date +%s%N" },
            { "id": "slow2", "name": "Slow too", "command": "date +%s%N; sleep 1; date +%s%N" },
            { "id": "off", "name": "Disabled", "command": "exit 1", "enabled": false },
            { "id": "pre", "name": "Other trigger", "command": "exit 1", "trigger": "pre-implementation" },
            { "id": "ask", "name": "Prompt", "kind": "prompt", "prompt": "Review it" }
        ]}),
    );
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/a", Some("a")).await;
    let mut events = wb.backbone().bus().subscribe(None).receiver;

    let (initial, handle) = within(wb.run_hooks("a", Trigger::PostImplementation, false))
        .await
        .unwrap();
    assert_eq!(initial.status, RunStatus::Running);
    let ids: Vec<&str> = initial.steps.iter().map(|s| s.step_id.as_str()).collect();
    assert_eq!(
        ids,
        ["ok", "bad", "slow", "slow2"],
        "enabled command steps of the trigger"
    );
    assert!(
        initial
            .steps
            .iter()
            .all(|s| s.status == StepStatus::Running)
    );
    let finished = within(handle).await.unwrap();
    assert_overlap(step(&finished, "slow"), step(&finished, "slow2"));
    assert_eq!(finished.status, RunStatus::Failed);
    let ok = step(&finished, "ok");
    assert_eq!(ok.status, StepStatus::Passed);
    assert_eq!(ok.exit_code, Some(0));
    assert_eq!(ok.output, "out\nerr\npost-implementation a\n");
    let bad = step(&finished, "bad");
    assert_eq!((bad.status, bad.exit_code), (StepStatus::Failed, Some(3)));
    assert_eq!(bad.output, "broken\n");
    assert!(finished.tree_hash.is_some());

    // Persisted in the worktree, and announced live.
    let file = RunFile::read(&wt.path).unwrap();
    assert_eq!(file.latest.as_ref(), Some(&finished));
    assert_eq!(file.last_results.len(), 4);
    let porcelain = repo.git_in(&wt.path, ["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        !porcelain.contains("hooks-run.json"),
        "never committed: {porcelain}"
    );
    let status = wb.hook_status("a").await.unwrap().unwrap();
    assert_eq!(status.id, finished.id);
    let mut updates = Vec::new();
    while let Ok(item) = events.try_recv() {
        if let FeedEvent::HookUpdate(u) = &item.event {
            updates.push(u.run.as_ref().unwrap().status);
        }
    }
    assert_eq!(updates.first(), Some(&RunStatus::Running));
    assert_eq!(updates.last(), Some(&RunStatus::Failed));
    assert_eq!(updates.len(), 5, "start, then one per step: {updates:?}");

    // A prompt step is never executed; an unknown one is 404.
    let prompt = wb.run_hook_step("a", "ask", false).await.unwrap_err();
    assert_eq!(prompt.code(), "HOOK_STEP_NOT_RUNNABLE");
    let missing = wb.run_hook_step("a", "nope", false).await.unwrap_err();
    assert_eq!(missing.code(), "HOOK_STEP_NOT_FOUND");
    // A single step runs whatever its trigger says.
    let pre = within(wb.run_hook_step("a", "pre", false)).await.unwrap();
    assert_eq!(pre.status, StepStatus::Failed);
}

#[tokio::test]
async fn a_timeout_stops_the_step_and_the_daemons_it_started() {
    let repo = TestRepo::new();
    let marks = tempfile::tempdir().unwrap();
    let daemon = marks.path().join("daemon.pid");
    let child = marks.path().join("child.pid");
    let left = marks.path().join("left.pid");
    hooks(
        &repo,
        json!({ "steps": [
            // A daemon that leaves the process group, then a foreground wait.
            { "id": "hang", "name": "Hangs", "timeout": 2, "command": format!(
                "setsid sh -c 'echo $$ > {d}; exec sleep 300' >/dev/null 2>&1 & while [ ! -s {d} ]; do sleep 0.05; done; sh -c 'echo $$ > {}; exec sleep 300'",
                child.display(), d = daemon.display()) },
            // A step that exits as soon as its daemon runs (wrote its pid), leaving it behind.
            { "id": "leaves", "name": "Leaves a daemon", "command": format!(
                "setsid sh -c 'echo $$ > {l}; exec sleep 300' >/dev/null 2>&1 & while [ ! -s {l} ]; do sleep 0.05; done",
                l = left.display()) }
        ]}),
    );
    let wb = workbench(&repo);
    create(&wb, "feature/t", Some("t")).await;
    let started = Instant::now();
    let finished = run(&wb, "t", Trigger::PostImplementation, false).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let hang = step(&finished, "hang");
    assert_eq!(hang.status, StepStatus::Failed);
    assert!(hang.timed_out);
    assert!(
        hang.output.ends_with(
            "[openkit] timed out after 2 s; the step and every process it started were stopped"
        ),
        "{}",
        hang.output
    );
    assert_eq!(step(&finished, "leaves").status, StepStatus::Passed);
    for file in [&daemon, &child, &left] {
        until_dead(pid_in(file).await).await;
    }
}

#[tokio::test]
async fn huge_output_is_bounded_with_a_marker() {
    let repo = TestRepo::new();
    hooks(
        &repo,
        json!({ "steps": [
            { "id": "loud", "name": "Loud", "command": "i=0; while [ $i -lt 20000 ]; do echo \"line $i of a very chatty build step\"; i=$((i+1)); done; echo last-line" }
        ]}),
    );
    let wb = workbench(&repo);
    create(&wb, "feature/l", Some("l")).await;
    let finished = run(&wb, "l", Trigger::PostImplementation, false).await;
    let loud = step(&finished, "loud");
    assert_eq!(loud.status, StepStatus::Passed);
    assert!(loud.truncated);
    assert!(
        loud.output
            .starts_with("[openkit] output truncated: the first "),
        "{}",
        &loud.output[..200]
    );
    assert!(
        loud.output.ends_with("last-line\n"),
        "the newest output is kept"
    );
    assert!(loud.output.len() <= openkit_core::hooks::runner::OUTPUT_LIMIT + 200);
}

#[tokio::test]
async fn a_passing_step_is_cached_by_tree_until_the_tree_changes_or_forced() {
    let repo = TestRepo::new();
    let counter = tempfile::tempdir().unwrap();
    let runs = counter.path().join("runs");
    hooks(
        &repo,
        json!({ "steps": [
            { "id": "count", "name": "Counts", "command": format!("echo run >> {}", runs.display()) },
            { "id": "fail", "name": "Fails", "command": "exit 1" }
        ]}),
    );
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/c", Some("c")).await;
    let count = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let first = run(&wb, "c", Trigger::PostImplementation, false).await;
    assert!(!step(&first, "count").cached);
    assert_eq!(count(), 1);

    let second = run(&wb, "c", Trigger::PostImplementation, false).await;
    assert!(step(&second, "count").cached, "same tree: not run again");
    assert_eq!(step(&second, "count").status, StepStatus::Passed);
    assert!(!step(&second, "fail").cached, "a failure is never cached");
    assert_eq!(count(), 1);

    std::fs::write(wt.path.join("README.md"), "changed\n").unwrap();
    let third = run(&wb, "c", Trigger::PostImplementation, false).await;
    assert!(!step(&third, "count").cached, "a tracked edit: run again");
    assert_eq!(count(), 2);

    std::fs::write(wt.path.join("new-file.txt"), "untracked\n").unwrap();
    run(&wb, "c", Trigger::PostImplementation, false).await;
    assert_eq!(count(), 3, "an untracked file counts");

    run(&wb, "c", Trigger::PostImplementation, true).await;
    assert_eq!(count(), 4, "force runs it again");

    // A changed command is not the same check.
    let mut config: HooksConfig = wb.hooks().store().load().unwrap();
    config.steps[0].command.push_str(" # v2");
    wb.hooks().store().save(config).unwrap();
    run(&wb, "c", Trigger::PostImplementation, false).await;
    assert_eq!(count(), 5);
}

#[tokio::test]
async fn cancel_kills_the_running_steps_and_their_daemons() {
    let repo = TestRepo::new();
    let marks = tempfile::tempdir().unwrap();
    let fg = marks.path().join("fg.pid");
    let daemon = marks.path().join("daemon.pid");
    hooks(
        &repo,
        json!({ "steps": [
            { "id": "long", "name": "Long", "command": format!(
                "setsid sh -c 'echo $$ > {}; exec sleep 300' >/dev/null 2>&1 & sh -c 'echo $$ > {}; exec sleep 300'",
                daemon.display(), fg.display()) },
            { "id": "quick", "name": "Quick", "command": "true" }
        ]}),
    );
    let wb = workbench(&repo);
    create(&wb, "feature/x", Some("x")).await;
    let (_, handle) = within(wb.run_hooks("x", Trigger::PostImplementation, false))
        .await
        .unwrap();
    let (fg_pid, daemon_pid) = (pid_in(&fg).await, pid_in(&daemon).await);
    assert!(alive(fg_pid) && alive(daemon_pid));
    let again = wb.run_hooks("x", Trigger::PostImplementation, false).await;
    assert_eq!(again.unwrap_err().code(), "HOOKS_ALREADY_RUNNING");

    let cancelled = within(wb.cancel_hooks("x"))
        .await
        .unwrap()
        .expect("a run was cancelled");
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert_eq!(step(&cancelled, "long").status, StepStatus::Cancelled);
    assert_eq!(step(&cancelled, "quick").status, StepStatus::Passed);
    assert_eq!(within(handle).await.unwrap(), cancelled);
    until_dead(fg_pid).await;
    until_dead(daemon_pid).await;
    assert!(
        wb.cancel_hooks("x").await.unwrap().is_none(),
        "nothing runs now"
    );
    // The worktree is free again.
    let next = run(&wb, "x", Trigger::OnDemand, false).await;
    assert_eq!(next.status, RunStatus::Completed);
    assert!(next.steps.is_empty());
}

#[tokio::test]
async fn two_worktrees_run_at_once_without_interference() {
    let repo = TestRepo::new();
    hooks(
        &repo,
        json!({ "steps": [ { "id": "where", "name": "Where", "command": "date +%s%N; sleep 1; pwd; echo \"$OPENKIT_WORKTREE_ID\"; date +%s%N" } ]}),
    );
    let wb = workbench(&repo);
    let a = create(&wb, "feature/one", Some("one")).await;
    let b = create(&wb, "feature/two", Some("two")).await;
    let (ra, rb) = tokio::join!(
        run(&wb, "one", Trigger::PostImplementation, false),
        run(&wb, "two", Trigger::PostImplementation, false)
    );
    assert_overlap(step(&ra, "where"), step(&rb, "where"));
    for (run, wt) in [(&ra, &a), (&rb, &b)] {
        assert_eq!(run.status, RunStatus::Completed);
        let lines: Vec<&str> = step(run, "where").output.lines().collect();
        assert_eq!(lines[1..3], [wt.path.display().to_string(), wt.id.clone()]);
        assert_eq!(RunFile::read(&wt.path).unwrap().latest.unwrap().id, run.id);
    }
}

#[tokio::test]
async fn lifecycle_triggers_run_on_create_and_delete_and_a_failure_never_blocks_the_delete() {
    let repo = TestRepo::new();
    let marks = tempfile::tempdir().unwrap();
    let removed = marks.path().join("removed.txt");
    hooks(
        &repo,
        json!({ "steps": [
            { "id": "made", "name": "Created", "trigger": "worktree-created",
              "command": "echo \"$OPENKIT_HOOK_TRIGGER|$OPENKIT_WORKTREE_ID|$OPENKIT_WORKTREE_PATH|$(pwd)\" > created.txt" },
            { "id": "gone", "name": "Removed", "trigger": "worktree-removed",
              "command": format!("echo \"$OPENKIT_HOOK_TRIGGER|$OPENKIT_WORKTREE_ID|$OPENKIT_WORKTREE_PATH|$(pwd)\" > {}; exit 7", removed.display()) }
        ]}),
    );
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/life", Some("life")).await;
    let created = std::fs::read_to_string(wt.path.join("created.txt")).unwrap();
    let path = wt.path.display().to_string();
    assert_eq!(
        created.trim(),
        format!("worktree-created|life|{path}|{path}")
    );
    let file = RunFile::read(&wt.path).unwrap();
    assert_eq!(file.latest.unwrap().trigger, Trigger::WorktreeCreated);

    let mut events = wb.backbone().bus().subscribe(None).receiver;
    let report = within(wb.delete_worktree("life"))
        .await
        .expect("the delete succeeds");
    assert_eq!(report.worktree_id, "life");
    assert!(!wt.path.exists());
    let finished = loop {
        let item = within(events.recv()).await.unwrap();
        if let FeedEvent::HookUpdate(u) = &item.event
            && let Some(run) = &u.run
            && run.status != RunStatus::Running
        {
            break run.clone();
        }
    };
    assert_eq!(finished.trigger, Trigger::WorktreeRemoved);
    assert_eq!(finished.status, RunStatus::Failed);
    assert_eq!(step(&finished, "gone").exit_code, Some(7));
    let line = std::fs::read_to_string(&removed).unwrap();
    assert_eq!(
        line.trim(),
        format!("worktree-removed|life|{path}|{}", repo.root().display())
    );
    // The failure reaches the activity feed.
    let failed = loop {
        let item = within(events.recv()).await.unwrap();
        if let FeedEvent::Activity(e) = &item.event
            && e.event_type == "hooks_failed"
        {
            break e.clone();
        }
    };
    assert_eq!(failed.worktree_id.as_deref(), Some("life"));
    assert_eq!(failed.detail.as_deref(), Some("Failed: Removed"));
}

#[tokio::test]
async fn reports_overrides_and_flow_compliance() {
    let repo = TestRepo::new();
    hooks(
        &repo,
        json!({
            "steps": [
                { "id": "test", "name": "Tests", "command": "true" },
                { "id": "plan", "name": "Plan", "kind": "prompt", "prompt": "Plan", "trigger": "pre-implementation" },
                { "id": "demand", "name": "On demand", "command": "true", "trigger": "on-demand" }
            ],
            "skills": [
                { "skillName": "review", "enabled": true },
                { "skillName": "security", "enabled": false, "trigger": "pre-implementation" }
            ]
        }),
    );
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/f", Some("f")).await;
    let states = |flow: &openkit_core::hooks::FlowCompliance| -> Vec<(String, FlowState)> {
        flow.items.iter().map(|i| (i.id.clone(), i.state)).collect()
    };
    let flow = wb.hook_flow("f").await.unwrap();
    assert_eq!(
        states(&flow),
        [
            ("test".into(), FlowState::Missing),
            ("review".into(), FlowState::Missing)
        ]
    );
    assert!(!flow.complete());

    // The issue linked to the worktree turns the disabled skill on.
    let issue = IssueRef::local("LOCAL-9").unwrap();
    wb.notes().link(&issue, Some("f")).unwrap();
    let effective = wb
        .set_hook_skill_override(
            "f",
            "security",
            Trigger::PreImplementation,
            SkillOverride::Enable,
        )
        .await
        .unwrap();
    let security = effective
        .skills
        .iter()
        .find(|s| s.skill.skill_name == "security")
        .unwrap();
    assert!(security.enabled && !security.skill.enabled);
    let notes = wb.notes().get(&issue).unwrap();
    assert_eq!(
        notes.extra["hookSkills"],
        json!({ "pre-implementation:security": "enable" })
    );

    run(&wb, "f", Trigger::PostImplementation, false).await;
    wb.report_hook_skill(
        "f",
        "review",
        Trigger::PostImplementation,
        true,
        Some("fine".into()),
        None,
    )
    .await
    .unwrap();
    wb.report_hook_skill(
        "f",
        "security",
        Trigger::PreImplementation,
        false,
        None,
        None,
    )
    .await
    .unwrap();
    let flow = wb.hook_flow("f").await.unwrap();
    assert_eq!(
        states(&flow),
        [
            ("test".into(), FlowState::Done),
            ("review".into(), FlowState::Done),
            ("security".into(), FlowState::Failed)
        ]
    );
    // An edit makes the passed step stale; reporting it (the agent ran it) makes it done.
    std::fs::write(wt.path.join("README.md"), "edited\n").unwrap();
    assert_eq!(
        wb.hook_flow("f").await.unwrap().items[0].state,
        FlowState::Stale
    );
    wb.report_hook_step("f", "test", true, Some("ran it myself".into()))
        .await
        .unwrap();
    assert_eq!(
        wb.hook_flow("f").await.unwrap().items[0].state,
        FlowState::Done
    );

    // Back to inherit: the skill is off again and no longer required.
    wb.set_hook_skill_override(
        "f",
        "security",
        Trigger::PreImplementation,
        SkillOverride::Inherit,
    )
    .await
    .unwrap();
    let flow = wb.hook_flow("f").await.unwrap();
    assert!(flow.complete(), "{flow:?}");
    assert!(
        !wb.notes()
            .get(&issue)
            .unwrap()
            .extra
            .contains_key("hookSkills")
    );
}

#[tokio::test]
async fn deleting_a_worktree_stops_its_running_hooks() {
    let repo = TestRepo::new();
    let marks = tempfile::tempdir().unwrap();
    let fg = marks.path().join("fg.pid");
    hooks(
        &repo,
        json!({ "steps": [{ "id": "long", "name": "Long", "command": format!(
            "sh -c 'echo $$ > {}; exec sleep 300'", fg.display()) }] }),
    );
    let wb = workbench(&repo);
    let wt = create(&wb, "feature/d", Some("d")).await;
    let (_, handle) = within(wb.run_hooks("d", Trigger::PostImplementation, false))
        .await
        .unwrap();
    let pid = pid_in(&fg).await;
    let rename = wb
        .rename_worktree(
            "d",
            openkit_core::RenameWorktree {
                name: Some("e".into()),
                branch: None,
            },
        )
        .await;
    assert_eq!(
        rename.unwrap_err().code(),
        "WORKTREE_BUSY",
        "no rename under running hooks"
    );
    within(wb.delete_worktree("d"))
        .await
        .expect("the delete succeeds");
    until_dead(pid).await;
    assert_eq!(within(handle).await.unwrap().status, RunStatus::Cancelled);
    assert!(!wt.path.exists());
}
