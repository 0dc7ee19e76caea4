//! Hooks: the project's `hooks.json` (`/api/hooks/...`) and each worktree's runs,
//! results, reports, effective configuration and flow compliance
//! (`/api/worktrees/:id/hooks/...`).
//!
//! A run answers as it starts (status `running`); its progress comes as `hook-update`
//! events on `/api/events` and from `.../hooks/status`, or, with `?wait=true`, the answer
//! is the finished run. A single step (`.../hooks/run/:stepId`) is answered when it ended.
//! Steps that passed on the worktree's current tree are not run again unless
//! `?force=true`.

use axum::Json;
use axum::extract::State;

use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::hooks::{
    AddStepRequest, AvailableHookSkill, AvailableHookSkills, EffectiveHooksConfig, HookFlow,
    HookReportRequest, HookReported, HookStatus, HooksCancelled, HooksConfig, HooksConfigInput,
    HooksConfigSaved, ImportHookSkillRequest, PipelineRun, RunHooksRequest, RunParams,
    SkillOverrideRequest, StepResult, ToggleHookSkillRequest, TriggerParams, UpdateStepRequest,
    trigger,
};
use crate::wire::{ErrorBody, True};
use openkit_core::hooks::{SkillOverride, Trigger};

/// `GET /api/hooks/config`
#[utoipa::path(
    get,
    path = "/api/hooks/config",
    tag = "hooks",
    summary = "The hooks configuration (steps and skills)",
    responses(
        (status = 200, description = "The configuration (empty when there is no hooks.json)", body = HooksConfig),
        (status = 409, description = "hooks.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn get_config(State(state): State<AppState>) -> ApiResult<Json<HooksConfig>> {
    let config = state.workbench().hooks().store().load()?;
    Ok(Json((&config).into()))
}

/// `PUT /api/hooks/config`
#[utoipa::path(
    put,
    path = "/api/hooks/config",
    tag = "hooks",
    summary = "Save the whole hooks configuration",
    request_body = HooksConfigInput,
    responses(
        (status = 200, description = "The saved configuration", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`) or a broken rule (`INVALID_HOOKS_CONFIG`)", body = ErrorBody),
        (status = 409, description = "hooks.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn put_config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<HooksConfigInput>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let config = state.workbench().hooks().store().save(body.into_core()?)?;
    Ok(Json((&config).into()))
}

/// `POST /api/hooks/steps`
#[utoipa::path(
    post,
    path = "/api/hooks/steps",
    tag = "hooks",
    summary = "Add a command or prompt step",
    request_body = AddStepRequest,
    responses(
        (status = 200, description = "The configuration with the new step", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`), no name or command/prompt (`INVALID_HOOKS_CONFIG`)", body = ErrorBody),
        (status = 409, description = "hooks.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn add_step(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AddStepRequest>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let config = state
        .workbench()
        .hooks()
        .store()
        .add_step(body.into_core()?)?;
    Ok(Json((&config).into()))
}

/// `PATCH /api/hooks/steps/:stepId`
#[utoipa::path(
    patch,
    path = "/api/hooks/steps/{stepId}",
    tag = "hooks",
    summary = "Change fields of a step",
    params(("stepId" = String, Path, description = "Step id")),
    request_body = UpdateStepRequest,
    responses(
        (status = 200, description = "The configuration", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`) or a broken rule (`INVALID_HOOKS_CONFIG`)", body = ErrorBody),
        (status = 404, description = "No such step (`HOOK_STEP_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "hooks.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn update_step(
    State(state): State<AppState>,
    ApiPath(step_id): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateStepRequest>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let config = state
        .workbench()
        .hooks()
        .store()
        .update_step(&step_id, body.into_core()?)?;
    Ok(Json((&config).into()))
}

/// `DELETE /api/hooks/steps/:stepId`
#[utoipa::path(
    delete,
    path = "/api/hooks/steps/{stepId}",
    tag = "hooks",
    summary = "Remove a step",
    params(("stepId" = String, Path, description = "Step id")),
    responses(
        (status = 200, description = "The configuration", body = HooksConfigSaved),
        (status = 404, description = "No such step (`HOOK_STEP_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "hooks.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn delete_step(
    State(state): State<AppState>,
    ApiPath(step_id): ApiPath<String>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let config = state.workbench().hooks().store().delete_step(&step_id)?;
    Ok(Json((&config).into()))
}

/// `POST /api/hooks/skills/import`
#[utoipa::path(
    post,
    path = "/api/hooks/skills/import",
    tag = "hooks",
    summary = "Reference a registry skill in a trigger (kept once per skill and trigger)",
    request_body = ImportHookSkillRequest,
    responses(
        (status = 200, description = "The configuration", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`)", body = ErrorBody),
        (status = 404, description = "No such skill in the registry (`SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn import_skill(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ImportHookSkillRequest>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let trigger = trigger(body.trigger.as_deref())?;
    let name = body.skill_name.trim().to_string();
    // A skill that is not in the registry is 404 `SKILL_NOT_FOUND`.
    let lookup = name.clone();
    state
        .on_registries(move |r| r.skills().get(&lookup).map(|_| ()))
        .await?;
    let config = state
        .workbench()
        .hooks()
        .store()
        .import_skill(&name, trigger, body.condition)?;
    Ok(Json((&config).into()))
}

/// `GET /api/hooks/skills/available`
#[utoipa::path(
    get,
    path = "/api/hooks/skills/available",
    tag = "hooks",
    summary = "The skills of the registry (~/.openkit/skills/) that can be imported",
    responses((status = 200, description = "Skills by name", body = AvailableHookSkills))
)]
pub async fn available_skills(
    State(state): State<AppState>,
) -> ApiResult<Json<AvailableHookSkills>> {
    let skills = state.on_registries(|r| r.skills().list()).await?;
    Ok(Json(AvailableHookSkills {
        available: skills
            .into_iter()
            .map(|s| AvailableHookSkill {
                name: s.name,
                display_name: s.display_name,
                description: s.description,
            })
            .collect(),
    }))
}

/// `PATCH /api/hooks/skills/:name`
#[utoipa::path(
    patch,
    path = "/api/hooks/skills/{name}",
    tag = "hooks",
    summary = "Enable or disable a skill (in one trigger, or in every trigger it is in)",
    params(("name" = String, Path, description = "Skill name")),
    request_body = ToggleHookSkillRequest,
    responses(
        (status = 200, description = "The configuration", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`)", body = ErrorBody),
        (status = 404, description = "The skill is not in the hooks (`HOOK_SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn toggle_skill(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<ToggleHookSkillRequest>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let trigger = trigger(body.trigger.as_deref())?;
    let config = state
        .workbench()
        .hooks()
        .store()
        .toggle_skill(&name, body.enabled, trigger)?;
    Ok(Json((&config).into()))
}

/// `DELETE /api/hooks/skills/:name`
#[utoipa::path(
    delete,
    path = "/api/hooks/skills/{name}",
    tag = "hooks",
    summary = "Remove a skill from the hooks (from one trigger, or from every trigger)",
    params(("name" = String, Path, description = "Skill name"), TriggerParams),
    responses(
        (status = 200, description = "The configuration", body = HooksConfigSaved),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`)", body = ErrorBody),
        (status = 404, description = "The skill is not in the hooks (`HOOK_SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn remove_skill(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<TriggerParams>,
) -> ApiResult<Json<HooksConfigSaved>> {
    let trigger = trigger(query.trigger.as_deref())?;
    let config = state
        .workbench()
        .hooks()
        .store()
        .remove_skill(&name, trigger)?;
    Ok(Json((&config).into()))
}

/// `POST /api/worktrees/:id/hooks/run`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/hooks/run",
    tag = "hooks",
    summary = "Run the enabled command steps of a trigger in a worktree, in parallel",
    description = "Each step runs as `sh -c <command>` in the worktree (as written in \
        hooks.json, never with request data), `FORCE_COLOR=0`, with its timeout (120 s by \
        default). Steps that passed on the current tree with the same command are taken \
        from the cache unless `force=true`. Answers as the run starts (or, with \
        `wait=true`, when it ended); progress comes as `hook-update` events.",
    params(("id" = String, Path, description = "Worktree id"), RunParams),
    request_body(content = RunHooksRequest, description = "Optional: `trigger` (default post-implementation)"),
    responses(
        (status = 200, description = "The run", body = PipelineRun),
        (status = 400, description = "An unknown trigger (`INVALID_HOOK_TRIGGER`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A run is going on in this worktree (`HOOKS_ALREADY_RUNNING`), the worktree is being created (`WORKTREE_BUSY`) or the id is ambiguous", body = ErrorBody),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RunParams>,
    JsonBody(body): JsonBody<RunHooksRequest>,
) -> ApiResult<Json<PipelineRun>> {
    let trigger = trigger(body.trigger.as_deref())?.unwrap_or(Trigger::PostImplementation);
    let (started, handle) = state
        .workbench()
        .run_hooks(&id, trigger, query.force.unwrap_or(false))
        .await?;
    if query.wait.unwrap_or(false) {
        let finished = handle.await.map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                format!("the hook run failed: {e}"),
            )
        })?;
        return Ok(Json((&finished).into()));
    }
    Ok(Json((&started).into()))
}

/// `POST /api/worktrees/:id/hooks/run/:stepId`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/hooks/run/{stepId}",
    tag = "hooks",
    summary = "Run one command step in a worktree and answer with its result",
    params(
        ("id" = String, Path, description = "Worktree id"),
        ("stepId" = String, Path, description = "Step id"),
        RunParams,
    ),
    responses(
        (status = 200, description = "The step's result", body = StepResult),
        (status = 400, description = "A prompt step (`HOOK_STEP_NOT_RUNNABLE`)", body = ErrorBody),
        (status = 404, description = "No such worktree or step (`WORKTREE_NOT_FOUND`, `HOOK_STEP_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "A run is going on in this worktree (`HOOKS_ALREADY_RUNNING`) or the id is ambiguous", body = ErrorBody),
    )
)]
pub async fn run_step(
    State(state): State<AppState>,
    ApiPath((id, step_id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<RunParams>,
) -> ApiResult<Json<StepResult>> {
    let result = state
        .workbench()
        .run_hook_step(&id, &step_id, query.force.unwrap_or(false))
        .await?;
    Ok(Json((&result).into()))
}

/// `DELETE /api/worktrees/:id/hooks/run`
#[utoipa::path(
    delete,
    path = "/api/worktrees/{id}/hooks/run",
    tag = "hooks",
    summary = "Cancel the running pipeline of a worktree (its steps' processes are killed)",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Whether a run was cancelled, and how it ended", body = HooksCancelled),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The id is ambiguous (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HooksCancelled>> {
    let run = state.workbench().cancel_hooks(&id).await?;
    Ok(Json(HooksCancelled {
        success: True,
        cancelled: run.is_some(),
        run: run.as_ref().map(PipelineRun::from),
    }))
}

/// `GET /api/worktrees/:id/hooks/status`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/hooks/status",
    tag = "hooks",
    summary = "The latest hook run of a worktree, the latest result per step and the skill reports",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "`status` is `null` before the first run", body = HookStatus),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The id is ambiguous, or hooks-run.json does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HookStatus>> {
    let (_, file) = state.workbench().hook_results(&id).await?;
    Ok(Json((&file).into()))
}

/// `POST /api/worktrees/:id/hooks/report`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/hooks/report",
    tag = "hooks",
    summary = "Report a skill's result from an agent (or, with `stepId`, a step the agent ran itself)",
    params(("id" = String, Path, description = "Worktree id")),
    request_body = HookReportRequest,
    responses(
        (status = 200, description = "Recorded", body = HookReported),
        (status = 400, description = "Neither `skillName` nor `stepId` (`INVALID_HOOKS_CONFIG`) or an unknown trigger (`INVALID_HOOK_TRIGGER`)", body = ErrorBody),
        (status = 404, description = "No such worktree or step", body = ErrorBody),
        (status = 409, description = "The id is ambiguous or the worktree is being created", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<HookReportRequest>,
) -> ApiResult<Json<HookReported>> {
    let trigger = trigger(body.trigger.as_deref())?.unwrap_or(Trigger::PostImplementation);
    let workbench = state.workbench();
    let step_id = body
        .step_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let step_result = match (step_id, body.skill_name.as_deref()) {
        (Some(step), _) => Some(
            workbench
                .report_hook_step(&id, step, body.success, body.summary)
                .await?,
        ),
        (None, Some(skill)) => {
            workbench
                .report_hook_skill(
                    &id,
                    skill,
                    trigger,
                    body.success,
                    body.summary,
                    body.content,
                )
                .await?;
            None
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "INVALID_HOOKS_CONFIG",
                "Name what is reported: \"skillName\" (a skill) or \"stepId\" (a step)",
            ));
        }
    };
    Ok(Json(HookReported {
        success: True,
        step_result: step_result.as_ref().map(StepResult::from),
    }))
}

/// `GET /api/worktrees/:id/hooks/effective-config`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/hooks/effective-config",
    tag = "hooks",
    summary = "What applies to this worktree: the steps, and the skills with the linked issue's hookSkills overrides",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "The effective configuration", body = EffectiveHooksConfig),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The id is ambiguous, or a file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn effective_config(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EffectiveHooksConfig>> {
    let config = state.workbench().hook_effective_config(&id).await?;
    Ok(Json((&config).into()))
}

/// `PATCH /api/worktrees/:id/hooks/skills/:name`
#[utoipa::path(
    patch,
    path = "/api/worktrees/{id}/hooks/skills/{name}",
    tag = "hooks",
    summary = "Override a skill for this worktree's issue (its notes' hookSkills)",
    params(
        ("id" = String, Path, description = "Worktree id"),
        ("name" = String, Path, description = "Skill name"),
    ),
    request_body = SkillOverrideRequest,
    responses(
        (status = 200, description = "The effective configuration", body = EffectiveHooksConfig),
        (status = 400, description = "A bad override value (`INVALID_INPUT`), an unknown trigger (`INVALID_HOOK_TRIGGER`), or a worktree without an issue (`INVALID_HOOKS_CONFIG`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The id is ambiguous, or a file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn override_skill(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<SkillOverrideRequest>,
) -> ApiResult<Json<EffectiveHooksConfig>> {
    let value = SkillOverride::parse(body.r#override.trim()).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_INPUT",
            "\"override\" must be \"inherit\", \"enable\" or \"disable\"",
        )
    })?;
    let trigger = trigger(body.trigger.as_deref())?.unwrap_or(Trigger::PostImplementation);
    let config = state
        .workbench()
        .set_hook_skill_override(&id, &name, trigger, value)
        .await?;
    Ok(Json((&config).into()))
}

/// `GET /api/worktrees/:id/hooks/flow`
#[utoipa::path(
    get,
    path = "/api/worktrees/{id}/hooks/flow",
    tag = "hooks",
    summary = "Flow compliance: which required steps and skills this worktree has not yet run, passed or reported",
    params(("id" = String, Path, description = "Worktree id")),
    responses(
        (status = 200, description = "Every required item and where it is", body = HookFlow),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "The id is ambiguous, or a file does not parse (`CORRUPT_FILE`)", body = ErrorBody),
    )
)]
pub async fn flow(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HookFlow>> {
    let flow = state.workbench().hook_flow(&id).await?;
    Ok(Json((&flow).into()))
}
