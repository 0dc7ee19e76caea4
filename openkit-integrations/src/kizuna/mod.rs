//! Kizuna: a forge with issues, pull requests, pipelines and agents
//! (`../shared/reference/kizuna-rest-api.txt`), as OpenKit's issue source `kizuna`, as
//! the project's code host when `codeHost` is `kizuna`, and for pipelines and agents.
//!
//! [`KizunaService`] is the hub's service: setup (validated with a read of the
//! repository before anything is saved), status, settings, issues, the issue-to-worktree
//! flow, merging pull requests, pipelines and agent registration. Its section of
//! `integrations.json` ([`KizunaSection`]) holds the base URL, token, organisation and
//! repository, the shared [`TrackerSettings`] and the tokens of registered agents (never
//! shown again once stored). While configured, the service keeps three things plugged
//! into the workbench: its [`IssueSource`](openkit_core::issues::IssueSource)
//! (`source.rs`), its [`CodeHost`](openkit_core::codehost::CodeHost) (`host.rs`; used
//! when the project's `codeHost` says `kizuna`) and a removal follow-up that cancels the
//! running pipelines of a deleted worktree's branch.

pub mod client;
mod host;
mod source;
pub mod wire;

use std::sync::{Arc, RwLock};

use openkit_core::codehost::{CodeHostKind, PrState, PullRequest, RepoSlug};
use openkit_core::error::{DomainError, ErrorKind};
use openkit_core::integrations::{IntegrationsError, SaveOn, TrackerSettings, UpdateError};
use openkit_core::issues::{IssueError, IssueRef, SourceId};
use openkit_core::task_worktree::{TaskWorktree, TaskWorktreeError};
use openkit_core::worktree::WorktreeError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use client::KizunaApi;
pub use host::{KizunaHost, PipelineCanceller};
pub use source::KizunaIssues;
use wire::{Agent, Issue, IssuePatch, NewAgent, Pipeline, Pull};

use crate::api::UpstreamError;
use crate::hub::IntegrationContext;
use crate::secret::Secret;

/// The section of `integrations.json`, the issue source's name and the removal
/// follow-up's key.
pub const SECTION: &str = "kizuna";

/// Kizuna's section of `integrations.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KizunaSection {
    /// The service's root (`https://kizuna.example.com`).
    pub base_url: String,
    /// The API token.
    pub token: Secret,
    /// Organisation.
    pub org: String,
    /// Repository.
    pub repo: String,
    /// The login whose open issues the background refresh watches (Kizuna documents
    /// no "current user" endpoint, so it is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Agents registered through OpenKit, with the token Kizuna returned once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<StoredAgent>,
    /// The settings every tracker shares.
    #[serde(flatten)]
    pub settings: TrackerSettings,
}

/// An agent registered through OpenKit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAgent {
    /// Kizuna's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its agent token (returned by Kizuna once; never shown again).
    pub token: Secret,
}

/// What `POST /api/kizuna/setup` takes.
#[derive(Debug, Clone)]
pub struct KizunaSetup {
    /// The service's root URL.
    pub base_url: String,
    /// The API token.
    pub token: Secret,
    /// Organisation.
    pub org: String,
    /// Repository.
    pub repo: String,
}

/// `GET /api/kizuna/status`.
#[derive(Debug, Clone)]
pub struct KizunaStatus {
    /// Set up.
    pub configured: bool,
    /// The base URL, org and repository (`None` unless configured).
    pub base_url: Option<String>,
    /// Organisation.
    pub org: Option<String>,
    /// Repository.
    pub repo: Option<String>,
    /// The login the background refresh watches.
    pub assignee: Option<String>,
    /// The project's `codeHost` is `kizuna`.
    pub code_host: bool,
    /// Agents registered through OpenKit (their tokens stored).
    pub registered_agents: usize,
    /// The shared tracker settings.
    pub settings: TrackerSettings,
}

/// `GET /api/kizuna/issues` filters.
#[derive(Debug, Clone, Default)]
pub struct IssueQuery {
    /// Words that must appear in the title or body (case-insensitive).
    pub query: Option<String>,
    /// `open` (default), `closed` or `all`.
    pub state: Option<String>,
    /// Labels that must all be present.
    pub labels: Vec<String>,
}

/// An agent as OpenKit lists it.
#[derive(Debug, Clone)]
pub struct ListedAgent {
    /// Kizuna's agent.
    pub agent: Agent,
    /// OpenKit holds its token.
    pub secret_stored: bool,
}

/// A Kizuna operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum KizunaError {
    /// Nothing is set up.
    #[error("Kizuna is not configured: POST /api/kizuna/setup first")]
    NotConfigured,
    /// Setup could not reach or read the repository.
    #[error("Connection failed: {0}")]
    ConnectionFailed(UpstreamError),
    /// A request field is unusable.
    #[error("Invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Merging a draft pull request.
    #[error(
        "Pull request #{number} is a draft: Kizuna does not merge drafts; mark it ready for review first"
    )]
    Draft {
        /// The pull request.
        number: u64,
    },
    /// Merging a pull request that is not open.
    #[error("Pull request #{number} is {state}, not open: nothing to merge")]
    NotOpen {
        /// The pull request.
        number: u64,
        /// Its state.
        state: String,
    },
    /// Pipelines of a worktree without a branch.
    #[error("Worktree \"{id}\" is on a detached HEAD: pipelines run on a branch")]
    DetachedHead {
        /// The worktree.
        id: String,
    },
    /// Kizuna failed or refused.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// `integrations.json` could not be read or written.
    #[error(transparent)]
    Store(#[from] IntegrationsError),
    /// The worktree could not be found.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// The issue's worktree could not be had.
    #[error(transparent)]
    Task(#[from] TaskWorktreeError),
    /// The issue cannot be named.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

impl DomainError for KizunaError {
    fn kind(&self) -> ErrorKind {
        match self {
            KizunaError::NotConfigured
            | KizunaError::ConnectionFailed(_)
            | KizunaError::Invalid { .. }
            | KizunaError::DetachedHead { .. } => ErrorKind::InvalidInput,
            KizunaError::Draft { .. } | KizunaError::NotOpen { .. } => ErrorKind::Conflict,
            KizunaError::Upstream(e) => e.kind(),
            KizunaError::Store(e) => e.kind(),
            KizunaError::Worktree(e) => e.kind(),
            KizunaError::Task(e) => e.kind(),
            KizunaError::Issue(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            KizunaError::NotConfigured => "KIZUNA_NOT_CONFIGURED",
            KizunaError::ConnectionFailed(_) => "KIZUNA_CONNECTION_FAILED",
            KizunaError::Invalid { .. } => "INVALID_INPUT",
            KizunaError::Draft { .. } => "KIZUNA_PR_DRAFT",
            KizunaError::NotOpen { .. } => "KIZUNA_PR_NOT_OPEN",
            KizunaError::DetachedHead { .. } => "DETACHED_HEAD",
            KizunaError::Upstream(e) => e.code(),
            KizunaError::Store(e) => e.code(),
            KizunaError::Worktree(e) => e.code(),
            KizunaError::Task(e) => e.code(),
            KizunaError::Issue(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            KizunaError::ConnectionFailed(e) | KizunaError::Upstream(e) => {
                let mut ctx = e.context();
                if matches!(self, KizunaError::ConnectionFailed(_)) {
                    ctx.push(("upstreamError", e.code().to_string()));
                }
                ctx
            }
            KizunaError::Worktree(e) => e.context(),
            KizunaError::Task(e) => e.context(),
            KizunaError::DetachedHead { id } => vec![("worktreeId", id.clone())],
            _ => Vec::new(),
        }
    }
}

impl<E: Into<KizunaError>> From<UpdateError<E>> for KizunaError {
    fn from(e: UpdateError<E>) -> Self {
        match e {
            UpdateError::Store(e) => KizunaError::Store(e),
            UpdateError::Rejected(e) => e.into(),
        }
    }
}

/// Kizuna for one project (a field of [`crate::Integrations`]).
#[derive(Debug)]
pub struct KizunaService {
    ctx: Arc<IntegrationContext>,
    api: RwLock<Option<Arc<KizunaApi>>>,
}

/// Checks an org or repository name: one path segment of printable ASCII.
fn check_name(field: &'static str, value: &str) -> Result<String, KizunaError> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value != "."
        && value != "..";
    if ok {
        Ok(value.to_string())
    } else {
        Err(KizunaError::Invalid {
            field,
            reason: "use letters, digits, '-', '_' and '.' only".into(),
        })
    }
}

/// A core pull request from Kizuna's.
pub(crate) fn core_pull(api: &KizunaApi, pull: &Pull) -> PullRequest {
    let state = match pull.state.as_str() {
        "merged" => PrState::Merged,
        "closed" => PrState::Closed,
        _ if pull.draft => PrState::Draft,
        _ => PrState::Open,
    };
    PullRequest {
        number: pull.number,
        url: pull.url.clone().unwrap_or_else(|| {
            format!(
                "{}/{}/{}/pulls/{}",
                api.root().as_str().trim_end_matches('/'),
                api.org(),
                api.repo(),
                pull.number
            )
        }),
        state,
        head_branch: pull.head.clone(),
        head_repo: Some(format!("{}/{}", api.org(), api.repo())),
        updated_at: pull.updated_at.clone(),
    }
}

/// The repository a Kizuna API works on, as a code-host slug.
pub(crate) fn slug(api: &KizunaApi) -> RepoSlug {
    RepoSlug {
        host: api
            .root()
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        owner: api.org().to_string(),
        name: api.repo().to_string(),
    }
}

impl KizunaService {
    /// The service; when `integrations.json` has a Kizuna section, its issue source, code
    /// host and pipeline follow-up are plugged in at once.
    pub fn new(ctx: Arc<IntegrationContext>) -> Self {
        let service = KizunaService {
            ctx,
            api: RwLock::new(None),
        };
        match service.ctx.store.section::<KizunaSection>(SECTION) {
            Ok(Some(section)) => match service.api_for(&section) {
                Ok(api) => service.install(api),
                Err(e) => tracing::warn!("Kizuna is configured but unusable: {e}"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}"),
        }
        service
    }

    fn api_for(&self, section: &KizunaSection) -> Result<KizunaApi, UpstreamError> {
        KizunaApi::new(
            self.ctx.client.clone(),
            &section.base_url,
            section.token.clone(),
            &section.org,
            &section.repo,
        )
    }

    fn install(&self, api: KizunaApi) {
        let api = Arc::new(api);
        let wb = &self.ctx.workbench;
        wb.issue_sources().register(Arc::new(KizunaIssues::new(
            Arc::clone(&api),
            Arc::clone(&self.ctx.store),
        )));
        wb.plug_code_host(
            CodeHostKind::Kizuna,
            Some(Arc::new(KizunaHost::new(Arc::clone(&api)))),
        );
        wb.removal_follow_ups().set(
            SECTION,
            Some(Arc::new(PipelineCanceller::new(Arc::clone(&api)))),
        );
        *self.api.write().unwrap_or_else(|e| e.into_inner()) = Some(api);
    }

    fn uninstall(&self) {
        let wb = &self.ctx.workbench;
        if let Ok(source) = SourceId::new(SECTION) {
            wb.issue_sources().unregister(&source);
        }
        wb.plug_code_host(CodeHostKind::Kizuna, None);
        wb.removal_follow_ups().set(SECTION, None);
        *self.api.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The connected API, or [`KizunaError::NotConfigured`].
    pub fn api(&self) -> Result<Arc<KizunaApi>, KizunaError> {
        self.api
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(KizunaError::NotConfigured)
    }

    fn section(&self) -> Result<KizunaSection, KizunaError> {
        self.ctx
            .store
            .section::<KizunaSection>(SECTION)?
            .ok_or(KizunaError::NotConfigured)
    }

    /// `GET /api/kizuna/status`: never the token.
    pub fn status(&self) -> Result<KizunaStatus, KizunaError> {
        let code_host = self.ctx.workbench.code_host_kind() == CodeHostKind::Kizuna;
        Ok(match self.ctx.store.section::<KizunaSection>(SECTION)? {
            Some(s) => KizunaStatus {
                configured: true,
                base_url: Some(s.base_url),
                org: Some(s.org),
                repo: Some(s.repo),
                assignee: s.assignee,
                code_host,
                registered_agents: s.agents.len(),
                settings: s.settings,
            },
            None => KizunaStatus {
                configured: false,
                base_url: None,
                org: None,
                repo: None,
                assignee: None,
                code_host,
                registered_agents: 0,
                settings: TrackerSettings::default(),
            },
        })
    }

    /// `POST /api/kizuna/setup`: checks the input, reads the repository with the token
    /// (any failure is "Connection failed: ..." and nothing is saved), then saves the
    /// section (settings kept; stored agent tokens kept only for the same server) and
    /// plugs the source, code host and pipeline follow-up in.
    pub async fn setup(&self, setup: KizunaSetup) -> Result<(), KizunaError> {
        let org = check_name("org", &setup.org)?;
        let repo = check_name("repo", &setup.repo)?;
        if setup.token.is_empty() {
            return Err(KizunaError::Invalid {
                field: "token",
                reason: "it is empty".into(),
            });
        }
        let root = crate::api::check_base_url(client::SERVICE, &setup.base_url)?;
        let base_url = root.as_str().trim_end_matches('/').to_string();
        let api = KizunaApi::new(
            self.ctx.client.clone(),
            &base_url,
            setup.token.clone(),
            &org,
            &repo,
        )?;
        api.repository()
            .await
            .map_err(KizunaError::ConnectionFailed)?;
        self.ctx
            .store
            .update_section::<KizunaSection, KizunaError>(SECTION, |current| {
                let (settings, assignee, agents) = match current {
                    Some(c) => {
                        let agents = if c.base_url == base_url {
                            c.agents
                        } else {
                            Vec::new()
                        };
                        (c.settings, c.assignee, agents)
                    }
                    None => (TrackerSettings::default(), None, Vec::new()),
                };
                Ok(Some(KizunaSection {
                    base_url: base_url.clone(),
                    token: setup.token.clone(),
                    org: org.clone(),
                    repo: repo.clone(),
                    assignee,
                    agents,
                    settings,
                }))
            })?;
        self.install(api);
        Ok(())
    }

    /// `PATCH /api/kizuna/config`: `assignee` (empty clears it) and any of the shared
    /// tracker settings' fields (`refreshIntervalMinutes`, `dataLifecycle`,
    /// `autoStartAgent`, ...). Unknown fields and invalid values are refused and nothing
    /// is written.
    pub fn update_config(&self, patch: Map<String, Value>) -> Result<(), KizunaError> {
        self.ctx
            .store
            .update_section::<KizunaSection, KizunaError>(SECTION, |current| {
                let mut section = current.ok_or(KizunaError::NotConfigured)?;
                let mut settings = match serde_json::to_value(&section.settings) {
                    Ok(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                for (key, value) in patch {
                    if key == "assignee" {
                        section.assignee = match value {
                            Value::Null => None,
                            Value::String(s) if s.trim().is_empty() => None,
                            Value::String(s) => Some(s.trim().to_string()),
                            _ => {
                                return Err(KizunaError::Invalid {
                                    field: "assignee",
                                    reason: "a login (string) or null".into(),
                                });
                            }
                        };
                    } else if settings.contains_key(&key) {
                        settings.insert(key, value);
                    } else {
                        return Err(KizunaError::Invalid {
                            field: "config",
                            reason: format!("unknown field \"{key}\""),
                        });
                    }
                }
                let settings: TrackerSettings = serde_json::from_value(Value::Object(settings))
                    .map_err(|e| KizunaError::Invalid {
                        field: "config",
                        reason: e.to_string(),
                    })?;
                if settings.refresh_interval_minutes == 0 {
                    return Err(KizunaError::Invalid {
                        field: "refreshIntervalMinutes",
                        reason: "at least 1".into(),
                    });
                }
                if let Some(agent) = settings.agent_to_start()
                    && !openkit_core::config::AGENTS.contains(&agent)
                {
                    return Err(KizunaError::Invalid {
                        field: "autoStartAgent",
                        reason: format!("one of {}", openkit_core::config::AGENTS.join(", ")),
                    });
                }
                section.settings = settings;
                Ok(Some(section))
            })?;
        Ok(())
    }

    /// `DELETE /api/kizuna/credentials`: the section (token, settings, stored agent
    /// tokens) is removed and everything plugged in is unplugged. Whether there was one.
    pub fn delete_credentials(&self) -> Result<bool, KizunaError> {
        let existed = self.ctx.store.remove_section(SECTION)?;
        self.uninstall();
        Ok(existed)
    }

    /// `GET /api/integrations/verify`'s Kizuna part: `None` when not configured.
    pub async fn verify(&self) -> Option<Result<(), UpstreamError>> {
        let api = self.api().ok()?;
        Some(api.repository().await.map(|_| ()))
    }

    /// `GET /api/kizuna/issues`: every page, then the words of `query` matched in title
    /// and body.
    pub async fn issues(&self, query: &IssueQuery) -> Result<Vec<Issue>, KizunaError> {
        let api = self.api()?;
        let state = query.state.as_deref().map(str::trim).unwrap_or("open");
        if !matches!(state, "open" | "closed" | "all") {
            return Err(KizunaError::Invalid {
                field: "state",
                reason: "open, closed or all".into(),
            });
        }
        let issues = api.issues(state, &query.labels).await?;
        let words: Vec<String> = query
            .query
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        Ok(issues
            .into_iter()
            .filter(|issue| {
                let text = format!(
                    "{} {}",
                    issue.title,
                    issue.body.as_deref().unwrap_or_default()
                )
                .to_lowercase();
                words.iter().all(|w| text.contains(w))
            })
            .collect())
    }

    /// `GET /api/kizuna/issues/:number`; saved to `issue.json` when the data lifecycle
    /// saves on view.
    pub async fn issue(&self, number: u64) -> Result<Issue, KizunaError> {
        let issue = self.api()?.issue(number).await?;
        if self.section()?.settings.data_lifecycle.save_on == SaveOn::View {
            self.save_issue(&issue)?;
        }
        Ok(issue)
    }

    /// `PATCH /api/kizuna/issues/:number`.
    pub async fn update_issue(&self, number: u64, patch: IssuePatch) -> Result<Issue, KizunaError> {
        if patch.is_empty() {
            return Err(KizunaError::Invalid {
                field: "body",
                reason: "nothing to change: give title, body, state, labels or assignees".into(),
            });
        }
        if let Some(state) = &patch.state
            && !matches!(state.as_str(), "open" | "closed")
        {
            return Err(KizunaError::Invalid {
                field: "state",
                reason: "open or closed".into(),
            });
        }
        Ok(self.api()?.update_issue(number, &patch).await?)
    }

    /// `POST /api/kizuna/task`: the issue's worktree (reused when one is named after it,
    /// `kizuna-<number>`, else created on `branch` or the branch-name rule's), linked in
    /// its notes; its `issue.json` saved unless the data lifecycle says never.
    pub async fn create_task(
        &self,
        number: u64,
        branch: Option<String>,
    ) -> Result<TaskWorktree, KizunaError> {
        let issue = self.api()?.issue(number).await?;
        if self.section()?.settings.data_lifecycle.save_on != SaveOn::Never {
            self.save_issue(&issue)?;
        }
        let issue_ref = IssueRef::parse(SECTION, &number.to_string())?;
        Ok(self
            .ctx
            .workbench
            .create_worktree_for_issue(&issue_ref, &issue.title, branch)
            .await?)
    }

    /// Writes `.openkit/issues/kizuna/<number>/issue.json` (what the worktree list and
    /// task context read when Kizuna is not asked).
    fn save_issue(&self, issue: &Issue) -> Result<(), KizunaError> {
        let issue_ref = IssueRef::parse(SECTION, &issue.number.to_string())?;
        let dir = issue_ref.dir(self.ctx.workbench.paths());
        let record = serde_json::json!({
            "id": issue.number.to_string(),
            "number": issue.number,
            "title": issue.title,
            "status": issue.state,
            "url": issue.url,
            "description": issue.body,
            "labels": issue.labels,
            "assignees": issue.assignees,
            "updatedAt": issue.updated_at,
        });
        openkit_core::persist::write_json(&dir.join("issue.json"), &record)
            .map_err(|e| KizunaError::Store(e.into()))
    }

    /// `POST /api/kizuna/pulls/:number/merge`: a draft or a pull request that is not
    /// open is refused before Kizuna is asked; a merge the project's code host lists
    /// shows in the worktree list at once.
    pub async fn merge_pull(&self, number: u64, method: Option<&str>) -> Result<Pull, KizunaError> {
        if let Some(m) = method
            && !matches!(m, "merge" | "squash" | "rebase")
        {
            return Err(KizunaError::Invalid {
                field: "method",
                reason: "merge, squash or rebase".into(),
            });
        }
        let api = self.api()?;
        let pull = api.pull(number).await?;
        if pull.state != "open" {
            return Err(KizunaError::NotOpen {
                number,
                state: pull.state,
            });
        }
        if pull.draft {
            return Err(KizunaError::Draft { number });
        }
        api.merge_pull(number, method).await?;
        let merged = api.pull(number).await.unwrap_or_else(|_| Pull {
            state: "merged".into(),
            ..pull
        });
        let wb = &self.ctx.workbench;
        if wb.code_host_kind() == CodeHostKind::Kizuna {
            wb.record_pull_request(CodeHostKind::Kizuna, &slug(&api), core_pull(&api, &merged));
        }
        Ok(merged)
    }

    /// The branch of worktree `id` (canonical id and branch).
    async fn branch_of(&self, id: &str) -> Result<(String, String), KizunaError> {
        let info = self.ctx.workbench.worktree(id).await?;
        if info.branch.is_empty() {
            return Err(KizunaError::DetachedHead { id: info.id });
        }
        Ok((info.id, info.branch))
    }

    /// `GET /api/kizuna/worktrees/:id/pipelines`: the pipelines of the worktree's branch.
    pub async fn pipelines(
        &self,
        id: &str,
    ) -> Result<(String, String, Vec<Pipeline>), KizunaError> {
        let api = self.api()?;
        let (id, branch) = self.branch_of(id).await?;
        let pipelines = api.pipelines(&branch).await?;
        Ok((id, branch, pipelines))
    }

    /// `POST /api/kizuna/worktrees/:id/pipelines`: a pipeline on the worktree's branch.
    pub async fn trigger_pipeline(&self, id: &str) -> Result<(String, Pipeline), KizunaError> {
        let api = self.api()?;
        let (id, branch) = self.branch_of(id).await?;
        Ok((id, api.trigger_pipeline(&branch).await?))
    }

    /// `POST /api/kizuna/pipelines/:id/cancel`.
    pub async fn cancel_pipeline(&self, id: u64) -> Result<Pipeline, KizunaError> {
        Ok(self.api()?.cancel_pipeline(id).await?)
    }

    /// `GET /api/kizuna/agents`: Kizuna's agents, marked when OpenKit holds the token.
    pub async fn agents(&self) -> Result<Vec<ListedAgent>, KizunaError> {
        let agents = self.api()?.agents().await?;
        let stored = self.section()?.agents;
        Ok(agents
            .into_iter()
            .map(|agent| ListedAgent {
                secret_stored: stored.iter().any(|s| s.id == agent.id),
                agent,
            })
            .collect())
    }

    /// `POST /api/kizuna/agents`: registers an agent; the token Kizuna returns this once
    /// goes into `integrations.json` (0600) and nowhere else. If it cannot be stored the
    /// error says so (the agent exists in Kizuna without a usable token).
    pub async fn register_agent(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<Agent, KizunaError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(KizunaError::Invalid {
                field: "name",
                reason: "1 to 100 printable characters".into(),
            });
        }
        let api = self.api()?;
        let registered = api
            .register_agent(&NewAgent {
                name,
                description: description.map(str::trim).filter(|d| !d.is_empty()),
            })
            .await?;
        let agent = registered.agent;
        let token = registered.token;
        self.ctx
            .store
            .update_section::<KizunaSection, KizunaError>(SECTION, |current| {
                let mut section = current.ok_or(KizunaError::NotConfigured)?;
                section.agents.retain(|a| a.id != agent.id);
                section.agents.push(StoredAgent {
                    id: agent.id.clone(),
                    name: agent.name.clone(),
                    token,
                });
                Ok(Some(section))
            })?;
        Ok(agent)
    }
}
