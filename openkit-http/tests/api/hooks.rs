//! Hooks through the router: `hooks.json` CRUD, runs (waited for, cached, forced,
//! single steps, cancelled), status, reports, effective configuration, flow compliance
//! and `hook-update` events. Every response is validated against the OpenAPI document
//! by the harness.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::events::Sse;
use crate::harness::{Api, assert_error};

/// Creates a worktree through the API and returns its id.
async fn worktree(api: &Api, branch: &str) -> String {
    let body = api.create(branch).await;
    body["worktree"]["id"].as_str().unwrap().to_string()
}

/// Writes a skill into the isolated registry (`~/.openkit/skills/<name>/SKILL.md`).
fn registry_skill(api: &Api, name: &str, description: &str) {
    let dir = api.repo.home().join(".openkit/skills").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: {description}\n---\nDo it.\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn the_configuration_is_managed_step_by_step_and_skill_by_skill() {
    let api = Api::new();
    let (status, empty) = api.get("/api/hooks/config").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, json!({ "steps": [], "skills": [] }));

    let (status, added) = api
        .post(
            "/api/hooks/steps",
            json!({ "name": "Type check", "command": "pnpm check:types", "kind": "command" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let step_id = added["config"]["steps"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    insta::assert_json_snapshot!("hooks_step_added", added, { ".config.steps[].id" => "[step-id]" });
    let (_, prompt) = api
        .post(
            "/api/hooks/steps",
            json!({ "name": "Architecture review", "kind": "prompt", "prompt": "List the risks.", "trigger": "custom", "condition": "the schema changed" }),
        )
        .await;
    assert_eq!(prompt["config"]["steps"][1]["kind"], "prompt");

    let (status, patched) = api
        .call(
            Method::PATCH,
            &format!("/api/hooks/steps/{step_id}"),
            Some(json!({ "enabled": false, "trigger": "pre-implementation", "timeout": 30 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            &patched["config"]["steps"][0]["enabled"],
            &patched["config"]["steps"][0]["trigger"],
            &patched["config"]["steps"][0]["timeout"]
        ),
        (&json!(false), &json!("pre-implementation"), &json!(30))
    );

    // Bad input: unknown step 404, unknown trigger 400, a broken rule 400.
    assert_error(
        &api.call(
            Method::PATCH,
            "/api/hooks/steps/step-nope",
            Some(json!({ "enabled": true })),
        )
        .await,
        StatusCode::NOT_FOUND,
        "HOOK_STEP_NOT_FOUND",
    );
    assert_error(
        &api.call(Method::DELETE, "/api/hooks/steps/step-nope", None)
            .await,
        StatusCode::NOT_FOUND,
        "HOOK_STEP_NOT_FOUND",
    );
    assert_error(
        &api.post(
            "/api/hooks/steps",
            json!({ "name": "x", "command": "true", "trigger": "whenever" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOK_TRIGGER",
    );
    assert_error(
        &api.post("/api/hooks/steps", json!({ "name": "x" })).await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOKS_CONFIG",
    );

    // Skills come from the registry, once per skill and trigger.
    registry_skill(&api, "review-changes", "Reviews the diff");
    let (_, available) = api.get("/api/hooks/skills/available").await;
    assert_eq!(
        available,
        json!({ "available": [{ "name": "review-changes", "displayName": "review-changes", "description": "Reviews the diff" }] })
    );
    assert_error(
        &api.post(
            "/api/hooks/skills/import",
            json!({ "skillName": "no-such-skill" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "SKILL_NOT_FOUND",
    );
    for trigger in [
        "post-implementation",
        "post-implementation",
        "pre-implementation",
    ] {
        let (status, body) = api
            .post(
                "/api/hooks/skills/import",
                json!({ "skillName": "review-changes", "trigger": trigger }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, config) = api.get("/api/hooks/config").await;
    assert_eq!(config["skills"].as_array().unwrap().len(), 2, "{config}");
    let (status, toggled) = api
        .call(
            Method::PATCH,
            "/api/hooks/skills/review-changes",
            Some(json!({ "enabled": false, "trigger": "pre-implementation" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("hooks_skill_toggled", toggled["config"]["skills"]);
    assert_error(
        &api.call(
            Method::PATCH,
            "/api/hooks/skills/other",
            Some(json!({ "enabled": true })),
        )
        .await,
        StatusCode::NOT_FOUND,
        "HOOK_SKILL_NOT_FOUND",
    );
    assert_error(
        &api.call(
            Method::DELETE,
            "/api/hooks/skills/review-changes?trigger=later",
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOK_TRIGGER",
    );
    let (status, removed) = api
        .call(
            Method::DELETE,
            "/api/hooks/skills/review-changes?trigger=pre-implementation",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["config"]["skills"].as_array().unwrap().len(), 1);

    // The whole configuration at once.
    let (status, saved) = api
        .call(
            Method::PUT,
            "/api/hooks/config",
            Some(json!({
                "steps": [{ "id": "lint", "name": "Lint", "command": "make lint" }],
                "skills": [{ "skillName": "a" }, { "skillName": "a", "trigger": "post-implementation" }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("hooks_config_saved", saved);
    assert_error(
        &api.call(
            Method::PUT,
            "/api/hooks/config",
            Some(json!({ "steps": [{ "id": "x", "name": "X", "command": "true", "trigger": "sometimes" }] })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOK_TRIGGER",
    );
    let (status, deleted) = api
        .call(Method::DELETE, "/api/hooks/steps/lint", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["config"]["steps"], json!([]));
}

/// Replaces timestamps, durations, ids and tree hashes of a run with placeholders.
fn stable(mut run: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match key.as_str() {
                        "id" | "startedAt" | "completedAt" | "durationMs" | "treeHash"
                        | "reportedAt" => *value = json!(format!("[{key}]")),
                        _ => walk(value),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut run);
    run
}

#[tokio::test]
async fn a_worktree_runs_its_steps_reports_and_shows_its_flow() {
    let api = Api::new();
    let (status, _) = api
        .call(
            Method::PUT,
            "/api/hooks/config",
            Some(json!({
                "steps": [
                    { "id": "check", "name": "Check", "command": "echo checked" },
                    { "id": "broken", "name": "Broken", "command": "echo nope >&2; exit 2", "trigger": "on-demand" },
                    { "id": "plan", "name": "Plan", "kind": "prompt", "prompt": "Plan it", "trigger": "pre-implementation" }
                ],
                "skills": [{ "skillName": "review", "enabled": true }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = worktree(&api, "feature/hooks").await;
    let base = format!("/api/worktrees/{id}/hooks");
    let mut sse = Sse::open_at(&api, "/api/events", None).await;

    let (_, status) = api.get(&format!("{base}/status")).await;
    assert_eq!(
        status,
        json!({ "status": null, "stepResults": [], "skillReports": [] })
    );

    // The default trigger, waited for.
    let (code, run) = api.post(&format!("{base}/run?wait=true"), json!({})).await;
    assert_eq!(code, StatusCode::OK, "{run}");
    insta::assert_json_snapshot!("hooks_run_completed", stable(run.clone()));
    // Live: the run's updates, each validated against the documented event schema.
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("completed") {
        let frame = sse.next().await;
        if frame.data["type"] == "hook-update" {
            assert_eq!(frame.data["worktreeId"], id.as_str());
            seen.push(frame.data["run"]["status"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, ["running", "completed"]);

    // Unchanged tree: taken from the cache; forced: run again.
    let (_, cached) = api.post(&format!("{base}/run?wait=true"), json!({})).await;
    assert_eq!(cached["steps"][0]["cached"], true);
    let (_, forced) = api
        .post(&format!("{base}/run?wait=true&force=true"), json!({}))
        .await;
    assert_eq!(forced["steps"][0]["cached"], false);

    // Another trigger, and one step alone.
    let (_, demand) = api
        .post(
            &format!("{base}/run?wait=true"),
            json!({ "trigger": "on-demand" }),
        )
        .await;
    assert_eq!(demand["status"], "failed");
    let (code, single) = api.post(&format!("{base}/run/broken"), json!({})).await;
    assert_eq!(code, StatusCode::OK);
    insta::assert_json_snapshot!("hooks_step_result", stable(single));
    assert_error(
        &api.post(&format!("{base}/run/plan"), json!({})).await,
        StatusCode::BAD_REQUEST,
        "HOOK_STEP_NOT_RUNNABLE",
    );
    assert_error(
        &api.post(&format!("{base}/run"), json!({ "trigger": "later" }))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOK_TRIGGER",
    );
    assert_error(
        &api.post("/api/worktrees/nope/hooks/run", json!({})).await,
        StatusCode::NOT_FOUND,
        "WORKTREE_NOT_FOUND",
    );

    // Flow: the skill is not reported yet.
    let (_, flow) = api.get(&format!("{base}/flow")).await;
    insta::assert_json_snapshot!("hooks_flow_missing_skill", flow, { ".treeHash" => "[treeHash]", ".worktreeId" => "[id]" });
    let (code, reported) = api
        .post(
            &format!("{base}/report"),
            json!({ "skillName": "review", "trigger": "post-implementation", "success": true, "summary": "No critical issues found" }),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(reported, json!({ "success": true }));
    assert_error(
        &api.post(&format!("{base}/report"), json!({ "success": true }))
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOKS_CONFIG",
    );
    let (_, flow) = api.get(&format!("{base}/flow")).await;
    assert_eq!(flow["complete"], true, "{flow}");

    let (_, status) = api.get(&format!("{base}/status")).await;
    assert_eq!(
        status["status"]["steps"][0]["stepId"], "broken",
        "the latest run"
    );
    assert_eq!(status["stepResults"].as_array().unwrap().len(), 2);
    assert_eq!(
        status["skillReports"][0]["summary"],
        "No critical issues found"
    );

    // Effective configuration, and an override kept in the linked issue's notes.
    let (_, effective) = api.get(&format!("{base}/effective-config")).await;
    insta::assert_json_snapshot!("hooks_effective_config", effective, { ".worktreeId" => "[id]" });
    assert_error(
        &api.call(
            Method::PATCH,
            &format!("{base}/skills/review"),
            Some(json!({ "override": "disable" })),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_HOOKS_CONFIG",
    );
    let (code, task) = api.post("/api/tasks", json!({ "title": "Hooked" })).await;
    assert!(code.is_success(), "{task}");
    let task_id = task["task"]["id"].as_str().unwrap().to_string();
    api.workbench
        .notes()
        .link(
            &openkit_core::issues::IssueRef::local(&task_id).unwrap(),
            Some(&id),
        )
        .unwrap();
    let (code, overridden) = api
        .call(
            Method::PATCH,
            &format!("{base}/skills/review"),
            Some(json!({ "override": "disable", "trigger": "post-implementation" })),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{overridden}");
    assert_eq!(overridden["skills"][0]["enabled"], false);
    assert_eq!(overridden["skills"][0]["override"], "disable");
    let (_, notes) = api.get(&format!("/api/notes/local/{task_id}")).await;
    assert_eq!(
        notes["hookSkills"],
        json!({ "post-implementation:review": "disable" })
    );

    // Nothing to cancel.
    let (code, cancelled) = api.call(Method::DELETE, &format!("{base}/run"), None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(cancelled, json!({ "success": true, "cancelled": false }));
}

#[tokio::test]
async fn a_running_pipeline_is_cancelled_through_the_api() {
    let api = Api::new();
    api.call(
        Method::PUT,
        "/api/hooks/config",
        Some(json!({ "steps": [{ "id": "long", "name": "Long", "command": "echo started; sleep 300" }] })),
    )
    .await;
    let id = worktree(&api, "feature/cancel").await;
    let base = format!("/api/worktrees/{id}/hooks");
    let (code, started) = api.post(&format!("{base}/run"), json!({})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(started["status"], "running");
    assert_error(
        &api.post(&format!("{base}/run"), json!({})).await,
        StatusCode::CONFLICT,
        "HOOKS_ALREADY_RUNNING",
    );
    // Let the step print before it is stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, cancelled) = api.call(Method::DELETE, &format!("{base}/run"), None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(cancelled["cancelled"], true);
    assert_eq!(cancelled["run"]["status"], "cancelled");
    assert_eq!(cancelled["run"]["steps"][0]["status"], "cancelled");
    let (_, status) = api.get(&format!("{base}/status")).await;
    assert_eq!(status["status"]["status"], "cancelled");
}
