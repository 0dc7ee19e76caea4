//! `/api/github/*` and `POST /api/worktrees/:id/create-pr` (GitHub's part of
//! `GET /api/integrations/verify` is in [`crate::routes::integrations`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openkit_core::git::GitAction;

use crate::error::{ApiPath, ApiResult, JsonBody};
use crate::routes::git::RequestActor;
use crate::state::AppState;
use crate::wire::github::{
    CreatePrRequest, CreatePrResponse, CreateRepoRequest, CreateRepoResponse, GitHubInstall,
    GitHubLogin, GitHubStatus, InitialCommitResponse, PrRefreshResponse,
};
use crate::wire::{ErrorBody, Success, True};

/// `GET /api/github/status`
#[utoipa::path(
    get,
    path = "/api/github/status",
    tag = "github",
    summary = "GitHub CLI, authentication, repository, remote and commits",
    responses(
        (status = 200, description = "The status; `error`/`errorCode` say why `authenticated` is false (`GITHUB_NOT_CONFIGURED`, `GITHUB_NOT_AUTHENTICATED`, `GITHUB_UNAUTHORIZED`, `GITHUB_UNREACHABLE`, `GITHUB_RATE_LIMITED`)", body = GitHubStatus),
    )
)]
pub async fn status(State(state): State<AppState>) -> Json<GitHubStatus> {
    Json(GitHubStatus::from(&state.workbench().github_status().await))
}

/// `POST /api/github/install`
#[utoipa::path(
    post,
    path = "/api/github/install",
    tag = "github",
    summary = "Install the GitHub CLI (Homebrew) and start the device login",
    responses(
        (status = 200, description = "Installed (or already there); the one-time code of the login, `null` if it could not start", body = GitHubInstall),
        (status = 400, description = "No Homebrew: the message says what to install instead (`GH_INSTALL_UNSUPPORTED`); the install failed (`GH_FAILED`)", body = ErrorBody),
        (status = 503, description = "The installer could not run or timed out (`COMMAND_UNAVAILABLE`, `COMMAND_TIMED_OUT`)", body = ErrorBody),
    )
)]
pub async fn install(State(state): State<AppState>) -> ApiResult<Json<GitHubInstall>> {
    let code = state.workbench().github_install().await?;
    Ok(Json(GitHubInstall {
        success: True,
        code,
    }))
}

/// `POST /api/github/login`
#[utoipa::path(
    post,
    path = "/api/github/login",
    tag = "github",
    summary = "Start the GitHub device login through gh",
    responses(
        (status = 200, description = "The one-time code to enter at github.com/login/device; the login completes in the background", body = GitHubLogin),
        (status = 400, description = "gh is not installed (`GH_NOT_INSTALLED`) or printed no code (`GH_FAILED`)", body = ErrorBody),
        (status = 503, description = "gh could not run (`COMMAND_UNAVAILABLE`)", body = ErrorBody),
    )
)]
pub async fn login(State(state): State<AppState>) -> ApiResult<Json<GitHubLogin>> {
    let code = state.workbench().github_login().await?;
    Ok(Json(GitHubLogin {
        success: True,
        code,
    }))
}

/// `POST /api/github/logout`
#[utoipa::path(
    post,
    path = "/api/github/logout",
    tag = "github",
    summary = "Log out of GitHub through gh",
    responses(
        (status = 200, description = "Logged out", body = Success),
        (status = 400, description = "gh is not installed (`GH_NOT_INSTALLED`) or failed (`GH_FAILED`)", body = ErrorBody),
        (status = 503, description = "gh could not run or timed out", body = ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.workbench().github_logout().await?;
    Ok(Json(Success::new()))
}

/// `POST /api/github/initial-commit`
#[utoipa::path(
    post,
    path = "/api/github/initial-commit",
    tag = "github",
    summary = "Commit everything in a repository that has no commits yet",
    responses(
        (status = 200, description = "The initial commit", body = InitialCommitResponse),
        (status = 400, description = "The repository already has commits (`REPO_HAS_COMMITS`)", body = ErrorBody),
        (status = 500, description = "git failed (`GIT_FAILED`, e.g. no author identity configured)", body = ErrorBody),
        (status = 503, description = "git could not run or timed out", body = ErrorBody),
    )
)]
pub async fn initial_commit(
    State(state): State<AppState>,
) -> ApiResult<Json<InitialCommitResponse>> {
    let commit = state.workbench().initial_commit().await?;
    Ok(Json(InitialCommitResponse::from(&commit)))
}

/// `POST /api/github/create-repo`
#[utoipa::path(
    post,
    path = "/api/github/create-repo",
    tag = "github",
    summary = "Create a GitHub repository for the project and set it as origin",
    request_body = CreateRepoRequest,
    responses(
        (status = 200, description = "Created; `origin` set and, with commits, the current branch pushed", body = CreateRepoResponse),
        (status = 400, description = "Not signed in (`GITHUB_NOT_AUTHENTICATED`)", body = ErrorBody),
        (status = 409, description = "The project already has an origin remote (`GITHUB_REMOTE_EXISTS`)", body = ErrorBody),
        (status = 502, description = "GitHub refused or failed (`GITHUB_VALIDATION_FAILED`, `GITHUB_UNAUTHORIZED`, `GITHUB_RATE_LIMITED`, `GITHUB_UNREACHABLE`, ...)", body = ErrorBody),
        (status = 503, description = "No GitHub adapter is configured (`GITHUB_NOT_CONFIGURED`)", body = ErrorBody),
    )
)]
pub async fn create_repo(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateRepoRequest>,
) -> ApiResult<Json<CreateRepoResponse>> {
    let created = state
        .workbench()
        .create_repository(body.private.unwrap_or(true))
        .await?;
    Ok(Json(CreateRepoResponse::from(&created)))
}

/// `POST /api/github/pull-requests/refresh`
#[utoipa::path(
    post,
    path = "/api/github/pull-requests/refresh",
    tag = "github",
    summary = "Refresh every worktree's pull request state now (one paged, conditional listing), then auto-clean",
    responses(
        (status = 200, description = "What the refresh did", body = PrRefreshResponse),
        (status = 400, description = "Not signed in (`GITHUB_NOT_AUTHENTICATED`)", body = ErrorBody),
        (status = 502, description = "GitHub refused or failed (`GITHUB_RATE_LIMITED` with `retryAfter`, `GITHUB_UNREACHABLE`, ...)", body = ErrorBody),
        (status = 503, description = "No GitHub adapter is configured (`GITHUB_NOT_CONFIGURED`)", body = ErrorBody),
    )
)]
pub async fn refresh_pull_requests(
    State(state): State<AppState>,
) -> ApiResult<Json<PrRefreshResponse>> {
    let refresh = state.workbench().refresh_pull_requests().await?;
    Ok(Json(PrRefreshResponse::from(&refresh)))
}

/// `POST /api/worktrees/:id/create-pr`
#[utoipa::path(
    post,
    path = "/api/worktrees/{id}/create-pr",
    tag = "github",
    summary = "Open a pull request from a worktree's (pushed) branch into the base branch",
    params(("id" = String, Path, description = "Worktree id (resolved case-insensitively when unique)")),
    request_body = CreatePrRequest,
    responses(
        (status = 201, description = "Opened", body = CreatePrResponse),
        (status = 403, description = "An agent's git policy does not allow pull requests (`AGENT_GIT_POLICY_DENIED`, `AGENT_SCOPE_MISMATCH`)", body = ErrorBody),
        (status = 400, description = "Invalid `X-OpenKit-Actor` (`INVALID_ACTOR`), empty title (`INVALID_PR_TITLE`), branch not pushed or without upstream (`BRANCH_NOT_PUSHED`), detached HEAD (`DETACHED_HEAD`), no GitHub origin (`GITHUB_NO_REMOTE`, `GITHUB_REMOTE_UNSUPPORTED`), not signed in (`GITHUB_NOT_AUTHENTICATED`)", body = ErrorBody),
        (status = 404, description = "No such worktree (`WORKTREE_NOT_FOUND`)", body = ErrorBody),
        (status = 409, description = "Ambiguous id (`WORKTREE_ID_AMBIGUOUS`)", body = ErrorBody),
        (status = 502, description = "GitHub refused or failed (`GITHUB_VALIDATION_FAILED` with GitHub's message, `GITHUB_UNAUTHORIZED`, `GITHUB_NOT_FOUND`, `GITHUB_RATE_LIMITED`, `GITHUB_UNREACHABLE`, ...)", body = ErrorBody),
        (status = 503, description = "No GitHub adapter is configured (`GITHUB_NOT_CONFIGURED`)", body = ErrorBody),
    )
)]
pub async fn create_pr(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RequestActor(actor): RequestActor,
    JsonBody(body): JsonBody<CreatePrRequest>,
) -> ApiResult<(StatusCode, Json<CreatePrResponse>)> {
    // An agent opens a pull request only where its git policy allows it.
    let worktree = state
        .workbench()
        .authorize_git(&actor, &id, GitAction::CreatePr)
        .await?;
    let pr = state
        .workbench()
        .create_pull_request(
            &worktree.id,
            &body.title,
            body.body.as_deref(),
            body.draft.unwrap_or(false),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatePrResponse::from(&pr))))
}
