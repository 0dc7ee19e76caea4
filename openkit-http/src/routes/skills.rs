//! `/api/skills`: the skills registry, its deployment (links) to the agents' skills
//! directories, scan/import, and installs through `npx skills add`.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::logs::ActivityEvent;
use openkit_core::registry::deploy::ScanMode;
use openkit_core::registry::skills::{SkillInstall, find_npx};
use openkit_core::registry::{RegistryError, Scope, Tool};
use serde_json::json;

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::registry::{AgentScopeRequest, Imported, Placement, ScanRequest};
use crate::wire::skills::{
    CreateSkillRequest, DiscoveredSkill, ImportSkillsRequest, InstallSkillRequest, NpxAvailable,
    SkillCreated, SkillDeployment, SkillDeploymentStatus, SkillList, SkillResponse,
    SkillScanResult, SkillSummary, SkillsInstalled, UpdateSkillRequest,
};
use crate::wire::{ErrorBody, Success, True};

use super::mcp_servers::tool_and_scope;

/// `GET /api/skills`
#[utoipa::path(
    get,
    path = "/api/skills",
    tag = "skills",
    summary = "List the skills of the registry",
    responses((status = 200, description = "Skills by name", body = SkillList))
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<SkillList>> {
    let skills = state.on_registries(|r| r.skills().list()).await?;
    Ok(Json(SkillList {
        skills: skills.into_iter().map(SkillSummary::from).collect(),
    }))
}

/// `GET /api/skills/deployment-status`
#[utoipa::path(
    get,
    path = "/api/skills/deployment-status",
    tag = "skills",
    summary = "Where every skill is present, read from the agents' skills directories",
    responses((status = 200, description = "Skill name → in registry, agent → global/project", body = SkillDeploymentStatus))
)]
pub async fn deployment_status(
    State(state): State<AppState>,
) -> ApiResult<Json<SkillDeploymentStatus>> {
    let status = state.on_registries(|r| r.skills().status()).await?;
    Ok(Json(SkillDeploymentStatus {
        status: status
            .into_iter()
            .map(|(name, s)| {
                let agents = s
                    .agents
                    .into_iter()
                    .map(|(tool, p)| (tool.as_str().to_string(), Placement::from(p)))
                    .collect();
                (
                    name,
                    SkillDeployment {
                        in_registry: s.in_registry,
                        agents,
                    },
                )
            })
            .collect(),
    }))
}

/// `GET /api/skills/npx-available`
#[utoipa::path(
    get,
    path = "/api/skills/npx-available",
    tag = "skills",
    summary = "Whether `npx` (for `npx skills add`) is on the server's PATH",
    responses((status = 200, description = "Availability", body = NpxAvailable))
)]
pub async fn npx_available(State(state): State<AppState>) -> Json<NpxAvailable> {
    Json(NpxAvailable {
        available: find_npx(&state.workbench().host().search_path()).is_some(),
    })
}

/// `GET /api/skills/:name`
#[utoipa::path(
    get,
    path = "/api/skills/{name}",
    tag = "skills",
    summary = "A skill with its SKILL.md, frontmatter, reference.md and examples.md",
    params(("name" = String, Path, description = "Skill name")),
    responses(
        (status = 200, description = "The skill", body = SkillResponse),
        (status = 404, description = "`Skill not found` (`SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<SkillResponse>> {
    let skill = state.on_registries(move |r| r.skills().get(&name)).await?;
    Ok(Json(SkillResponse {
        skill: skill.into(),
    }))
}

/// `POST /api/skills`
#[utoipa::path(
    post,
    path = "/api/skills",
    tag = "skills",
    summary = "Create a skill",
    request_body = CreateSkillRequest,
    responses(
        (status = 200, description = "The new skill", body = SkillCreated),
        (status = 400, description = "No usable name (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
        (status = 409, description = "`Skill \"<name>\" already exists` (`SKILL_EXISTS`)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateSkillRequest>,
) -> ApiResult<Json<SkillCreated>> {
    let skill = state
        .on_registries(move |r| r.skills().create(body.into()))
        .await?;
    Ok(Json(SkillCreated {
        success: True,
        skill: skill.into(),
    }))
}

/// `PATCH /api/skills/:name`
#[utoipa::path(
    patch,
    path = "/api/skills/{name}",
    tag = "skills",
    summary = "Change a skill's files (frontmatter merged key by key)",
    params(("name" = String, Path, description = "Skill name")),
    request_body = UpdateSkillRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 404, description = "`Skill not found` (`SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateSkillRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| r.skills().update(&name, body.into()))
        .await?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/skills/:name`
#[utoipa::path(
    delete,
    path = "/api/skills/{name}",
    tag = "skills",
    summary = "Delete a skill and its links in every agent's skills directory",
    params(("name" = String, Path, description = "Skill name")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 404, description = "`Skill not found` (`SKILL_NOT_FOUND`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| r.skills().delete(&name))
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/skills/:name/deploy`
#[utoipa::path(
    post,
    path = "/api/skills/{name}/deploy",
    tag = "skills",
    summary = "Link a skill into an agent's skills directory",
    params(("name" = String, Path, description = "Skill name")),
    request_body = AgentScopeRequest,
    responses(
        (status = 200, description = "Linked", body = Success),
        (status = 400, description = "Unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Skill not found` (`SKILL_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Something else is in the way (`FOREIGN_DEPLOYMENT`)", body = ErrorBody),
        (status = 503, description = "A global deployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn deploy(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<AgentScopeRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
            r.skills().deploy(&name, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/skills/:name/undeploy`
#[utoipa::path(
    post,
    path = "/api/skills/{name}/undeploy",
    tag = "skills",
    summary = "Remove a skill's link from an agent's skills directory",
    params(("name" = String, Path, description = "Skill name")),
    request_body = AgentScopeRequest,
    responses(
        (status = 200, description = "Not linked there any more", body = Success),
        (status = 400, description = "Unknown agent (`UNKNOWN_TOOL`) or scope (`UNKNOWN_SCOPE`)", body = ErrorBody),
        (status = 404, description = "`Skill not found` (`SKILL_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "What is there is not OpenKit's link (`FOREIGN_DEPLOYMENT`)", body = ErrorBody),
        (status = 503, description = "A global undeployment without a home directory (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn undeploy(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<AgentScopeRequest>,
) -> ApiResult<Json<Success>> {
    state
        .on_registries(move |r| {
            let (tool, scope) = tool_and_scope(body.agent.as_deref(), body.scope.as_deref())?;
            r.skills().undeploy(&name, tool, scope)
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `POST /api/skills/scan`
#[utoipa::path(
    post,
    path = "/api/skills/scan",
    tag = "skills",
    summary = "Find skill directories (project, folder or device; bounded in depth and time)",
    request_body = ScanRequest,
    responses(
        (status = 200, description = "Skill directories found", body = SkillScanResult),
        (status = 400, description = "Unknown mode or a bad `scanPath` (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
    )
)]
pub async fn scan(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ScanRequest>,
) -> ApiResult<Json<SkillScanResult>> {
    let found = state
        .on_registries(move |r| r.skills().scan(&ScanMode::try_from(body)?))
        .await?;
    Ok(Json(SkillScanResult {
        discovered: found.into_iter().map(DiscoveredSkill::from).collect(),
    }))
}

/// `POST /api/skills/import`
#[utoipa::path(
    post,
    path = "/api/skills/import",
    tag = "skills",
    summary = "Copy discovered skills into the registry (names already there are skipped)",
    request_body = ImportSkillsRequest,
    responses(
        (status = 200, description = "The names imported", body = Imported),
        (status = 400, description = "A name or directory is not usable (`INVALID_REGISTRY_ENTRY`)", body = ErrorBody),
    )
)]
pub async fn import(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ImportSkillsRequest>,
) -> ApiResult<Json<Imported>> {
    let skills = body
        .skills
        .into_iter()
        .map(|s| (s.name, PathBuf::from(s.skill_path)))
        .collect();
    let imported = state
        .on_registries(move |r| r.skills().import(skills))
        .await?;
    Ok(Json(Imported {
        success: True,
        imported,
    }))
}

fn install_activity(
    state: &AppState,
    kind: &str,
    severity: Severity,
    title: String,
    repo: &str,
    detail: Option<String>,
) {
    let mut event = ActivityEvent::new(ActivityCategory::System, kind, severity, &title);
    event.detail = detail;
    event.metadata = Some(json!({ "repo": repo }));
    if let Err(e) = state.backbone().record_activity(event) {
        tracing::warn!("could not record activity: {e}");
    }
}

/// `POST /api/skills/install`
#[utoipa::path(
    post,
    path = "/api/skills/install",
    tag = "skills",
    summary = "Install skills from a repository with `npx skills add`",
    description = "Progress is reported as activity events (`skill_install_started`, \
        `skill_installed`, `skill_install_failed`); the command is recorded in the ops log.",
    request_body = InstallSkillRequest,
    responses(
        (status = 200, description = "The skill names that appeared in the agents' skills directories", body = SkillsInstalled),
        (status = 400, description = "A bad repo, skill, agent or scope (`INVALID_REGISTRY_ENTRY`, `UNKNOWN_TOOL`, `UNKNOWN_SCOPE`), or the install failed (`SKILL_INSTALL_FAILED`)", body = ErrorBody),
        (status = 503, description = "No `npx` on PATH (`NPX_NOT_AVAILABLE`), it could not start or timed out (`COMMAND_UNAVAILABLE`, `COMMAND_TIMED_OUT`), or no home directory for a global install (`HOME_NOT_SET`)", body = ErrorBody),
    )
)]
pub async fn install(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InstallSkillRequest>,
) -> ApiResult<Json<SkillsInstalled>> {
    let repo = body.repo.unwrap_or_default();
    let agents = body
        .agents
        .unwrap_or_default()
        .iter()
        .map(|a| Tool::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = Scope::parse(body.scope.as_deref().unwrap_or("project"))?;
    let request = SkillInstall {
        repo: repo.clone(),
        skill: body.skill.filter(|s| !s.trim().is_empty()),
        agents,
        scope,
    };
    request.check()?;
    let npx = find_npx(&state.workbench().host().search_path()).ok_or(RegistryError::NpxMissing)?;
    install_activity(
        &state,
        "skill_install_started",
        Severity::Info,
        format!("Installing skills from {repo}"),
        &repo,
        None,
    );
    let registries = state.registries();
    match registries
        .skills()
        .install(state.workbench().git().runner(), &npx, request)
        .await
    {
        Ok(installed) => {
            install_activity(
                &state,
                "skill_installed",
                Severity::Success,
                format!(
                    "Installed {} from {repo}",
                    if installed.is_empty() {
                        "nothing new".to_string()
                    } else {
                        installed.join(", ")
                    }
                ),
                &repo,
                None,
            );
            Ok(Json(SkillsInstalled {
                success: True,
                installed,
            }))
        }
        Err(err) => {
            install_activity(
                &state,
                "skill_install_failed",
                Severity::Error,
                format!("Installing skills from {repo} failed"),
                &repo,
                Some(err.to_string()),
            );
            Err(err.into())
        }
    }
}
