//! Linear: [`LinearService`], the project's Linear connection (GraphQL).
//!
//! The personal API key lives in the `linear` section of `.openkit/integrations.json`
//! ([`LinearSection`]); setup checks it (`viewer`) before saving. Issues assigned to the
//! user come from `issues(filter: { assignee: { isMe: { eq: true } } ... })`, paged with
//! `first`/`after` and `pageInfo { hasNextPage endCursor }`; statuses are the issue
//! team's `workflowStates`; writes are `issueUpdate`, `commentCreate`, `commentUpdate`
//! and `commentDelete`. Descriptions and comments are Markdown already.
//!
//! The service is core's `IssueSource` for `linear` (registered once configured) and
//! saves viewed issues under `.openkit/issues/linear/<IDENTIFIER>/` as its
//! `dataLifecycle` says. The attachment proxy fetches only Linear's upload host
//! (`https://uploads.linear.app`; the API's own origin when the API is not Linear's
//! public one, as in tests) and follows no redirect.

pub mod graphql;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use openkit_core::error::{DomainError, ErrorKind, IoFailure};
use openkit_core::integrations::{IntegrationsError, SaveOn, TrackerSettings, UpdateError};
use openkit_core::issues::{
    Capabilities, Comment, Issue, IssueAttachment, IssueError, IssueId, IssueRef, IssueSource,
    IssueSummary, SavedIssues, SourceId,
};
use reqwest::header::{AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{ApiClient, Auth, UpstreamError};
use crate::hub::IntegrationContext;
use crate::secret::Secret;
use crate::tracker::SettingsPatch;
use graphql::ISSUE_FIELDS;

/// The section of `integrations.json` and the issue source name.
pub const SECTION: &str = "linear";
/// Linear's upload host (files in descriptions and comments).
pub const UPLOADS_URL: &str = "https://uploads.linear.app";
/// Issues per page.
pub const PAGE_SIZE: usize = 100;
/// The most issues one listing returns.
pub const MAX_LISTED: usize = 1000;
/// The largest attachment passed on or saved (50 MiB).
pub const MAX_ATTACHMENT: u64 = 50 * 1024 * 1024;
/// The longest a whole listing (all its pages) may take.
pub const LIST_DEADLINE: Duration = Duration::from_secs(60);
/// The whole-request timeout of Linear calls.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The `linear` section of `integrations.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearSection {
    /// The personal API key (`lin_api_...`).
    pub api_key: Secret,
    /// The user's name as Linear gave it at setup.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The team whose statuses `status-options` lists.
    #[serde(default)]
    pub default_team_key: Option<String>,
    /// What is done with fetched issues.
    #[serde(flatten)]
    pub settings: TrackerSettings,
}

/// A failed Linear operation.
#[derive(Debug, thiserror::Error)]
pub enum LinearError {
    /// No `linear` section.
    #[error("Linear is not configured: set it up first")]
    NotConfigured,
    /// Setup could not sign in.
    #[error("Connection failed: {0}")]
    ConnectionFailed(UpstreamError),
    /// Linear answered with an error.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// An identifier that cannot be one.
    #[error("Invalid issue identifier \"{0}\"")]
    InvalidIdentifier(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The attachment URL is not one the proxy fetches.
    #[error("Refused attachment URL: {0}")]
    AttachmentRefused(String),
    /// `integrations.json` could not be read or written.
    #[error(transparent)]
    Store(#[from] IntegrationsError),
    /// Saving issue data failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for LinearError {
    fn kind(&self) -> ErrorKind {
        match self {
            LinearError::NotConfigured
            | LinearError::ConnectionFailed(_)
            | LinearError::InvalidIdentifier(_)
            | LinearError::Invalid(_)
            | LinearError::AttachmentRefused(_) => ErrorKind::InvalidInput,
            LinearError::Upstream(e) => e.kind(),
            LinearError::Store(e) => e.kind(),
            LinearError::Io(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            LinearError::NotConfigured => "LINEAR_NOT_CONFIGURED",
            LinearError::ConnectionFailed(_) => "LINEAR_CONNECTION_FAILED",
            LinearError::Upstream(e) => e.code(),
            LinearError::InvalidIdentifier(_) => "INVALID_ISSUE_KEY",
            LinearError::Invalid(_) => "INVALID_INPUT",
            LinearError::AttachmentRefused(_) => "ATTACHMENT_URL_REFUSED",
            LinearError::Store(e) => e.code(),
            LinearError::Io(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            LinearError::Upstream(e) | LinearError::ConnectionFailed(e) => e.context(),
            _ => Vec::new(),
        }
    }
}

fn update_error(e: UpdateError<LinearError>) -> LinearError {
    match e {
        UpdateError::Store(e) => LinearError::Store(e),
        UpdateError::Rejected(e) => e,
    }
}

/// What `GET /api/linear/status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearStatus {
    /// Whether an API key is saved.
    pub configured: bool,
    /// The default team.
    pub default_team_key: Option<String>,
    /// The user's name.
    pub display_name: Option<String>,
    /// Tracker settings.
    pub settings: TrackerSettings,
}

/// A workflow state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearState {
    /// State id.
    #[serde(skip)]
    pub id: String,
    /// Name (`In Progress`).
    pub name: String,
    /// `backlog`, `unstarted`, `started`, `completed`, `canceled`, `triage`.
    #[serde(rename = "type")]
    pub state_type: String,
    /// Colour (`#f2c94c`).
    pub color: String,
}

/// An issue as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearIssueSummary {
    /// Linear's id (a UUID).
    pub id: String,
    /// `TEAM-123`.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Workflow state.
    pub state: LinearState,
    /// 0 (none) to 4 (low).
    pub priority: u8,
    /// `Urgent`, `High`, ...
    pub priority_label: String,
    /// Assignee's name.
    pub assignee: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// The issue in Linear.
    pub url: String,
    /// Last update.
    pub updated_at: Option<String>,
    /// The team's key.
    pub team_key: Option<String>,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearComment {
    /// Comment id.
    pub id: String,
    /// Author's name.
    pub author: String,
    /// Markdown.
    pub body: String,
    /// Created.
    pub created_at: String,
}

/// A link attached to an issue (a pull request, a document, an uploaded file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearAttachment {
    /// Attachment id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Where it is.
    pub url: String,
    /// The saved copy, when downloaded.
    pub local_path: Option<String>,
}

/// An issue with everything about it; also the shape of its saved `issue.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearIssue {
    /// What lists show.
    #[serde(flatten)]
    pub summary: LinearIssueSummary,
    /// Markdown.
    pub description: String,
    /// Created.
    pub created_at: Option<String>,
    /// Comments, oldest first.
    pub comments: Vec<LinearComment>,
    /// Attachments.
    pub attachments: Vec<LinearAttachment>,
}

/// An attachment's bytes from the proxy.
#[derive(Debug, Clone)]
pub struct LinearFile {
    /// `Content-Type`.
    pub content_type: String,
    /// `Content-Disposition`, if sent.
    pub disposition: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
struct Connection {
    key: Secret,
    api: ApiClient,
    uploads: ApiClient,
}

/// The project's Linear connection.
#[derive(Debug)]
pub struct LinearService {
    ctx: Arc<IntegrationContext>,
    source: SourceId,
    connection: Mutex<Option<Arc<Connection>>>,
    seen: crate::tracker::SeenIssues,
}

impl LinearService {
    /// The service of the project behind `ctx`; registers its issue source when the
    /// `linear` section exists.
    pub fn new(ctx: Arc<IntegrationContext>) -> Arc<Self> {
        let service = Arc::new(LinearService {
            ctx,
            source: SourceId::new(SECTION).expect("valid source name"),
            connection: Mutex::new(None),
            seen: Default::default(),
        });
        if service.ctx.store.has_section(SECTION).unwrap_or(false) {
            service.register();
        }
        service
    }

    fn register(self: &Arc<Self>) {
        self.ctx
            .workbench
            .issue_sources()
            .register(Arc::clone(self) as Arc<dyn IssueSource>);
    }

    fn saved(&self) -> SavedIssues {
        SavedIssues::new(self.ctx.workbench.paths().clone())
    }

    /// The `linear` section, if configured.
    pub fn section(&self) -> Result<Option<LinearSection>, LinearError> {
        Ok(self.ctx.store.section::<LinearSection>(SECTION)?)
    }

    fn configured(&self) -> Result<LinearSection, LinearError> {
        self.section()?.ok_or(LinearError::NotConfigured)
    }

    /// The status payload.
    pub fn status(&self) -> Result<LinearStatus, LinearError> {
        Ok(match self.section()? {
            Some(s) => LinearStatus {
                configured: true,
                default_team_key: s.default_team_key,
                display_name: s.display_name,
                settings: s.settings,
            },
            None => LinearStatus {
                configured: false,
                default_team_key: None,
                display_name: None,
                settings: TrackerSettings::default(),
            },
        })
    }

    fn clients(&self, key: &Secret) -> Result<Connection, UpstreamError> {
        let auth = Auth::Header {
            name: AUTHORIZATION,
            value: key.clone(),
        };
        let api = ApiClient::new(
            self.ctx.client.clone(),
            "Linear",
            &self.ctx.endpoints.linear_api,
            auth.clone(),
        )?
        .with_timeout(TIMEOUT);
        let uploads_base = if api.base().host_str() == Some("api.linear.app") {
            UPLOADS_URL.to_string()
        } else {
            api.base().origin().ascii_serialization()
        };
        let uploads = ApiClient::new(self.ctx.client.clone(), "Linear", &uploads_base, auth)?
            .with_timeout(TIMEOUT);
        Ok(Connection {
            key: key.clone(),
            api,
            uploads,
        })
    }

    fn connect(&self) -> Result<Arc<Connection>, LinearError> {
        let section = self.configured()?;
        let mut guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = guard.as_ref().filter(|c| c.key == section.api_key) {
            return Ok(Arc::clone(c));
        }
        let connection = Arc::new(self.clients(&section.api_key)?);
        *guard = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Checks the API key against Linear (`viewer`) and saves it (keeping the settings
    /// of an earlier setup); nothing is written when Linear refuses it.
    pub async fn setup(self: &Arc<Self>, api_key: Secret) -> Result<(), LinearError> {
        {
            if api_key.is_empty() {
                return Err(LinearError::Invalid("apiKey is required".into()));
            }
            let connection = self
                .clients(&api_key)
                .map_err(LinearError::ConnectionFailed)?;
            let data = graphql::call(
                &connection.api,
                "query Viewer { viewer { id name displayName email } }",
                json!({}),
                "The current user",
            )
            .await
            .map_err(LinearError::ConnectionFailed)?;
            let name = data["viewer"]["name"]
                .as_str()
                .or_else(|| data["viewer"]["displayName"].as_str())
                .map(str::to_string);
            self.ctx
                .store
                .update_section::<LinearSection, LinearError>(SECTION, |current| {
                    Ok(Some(match current {
                        Some(mut s) => {
                            s.api_key = api_key;
                            s.display_name = name;
                            s
                        }
                        None => LinearSection {
                            api_key,
                            display_name: name,
                            default_team_key: None,
                            settings: TrackerSettings::default(),
                        },
                    }))
                })
                .map_err(update_error)?;
            *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.register();
            Ok(())
        }
    }

    /// Changes the default team and tracker settings.
    pub fn update_config(
        &self,
        default_team_key: Option<Option<String>>,
        patch: &SettingsPatch,
    ) -> Result<(), LinearError> {
        self.ctx
            .store
            .update_section::<LinearSection, LinearError>(SECTION, |current| {
                let mut section = current.ok_or(LinearError::NotConfigured)?;
                patch
                    .apply(&mut section.settings)
                    .map_err(LinearError::Invalid)?;
                if let Some(key) = default_team_key {
                    section.default_team_key =
                        key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
                }
                Ok(Some(section))
            })
            .map_err(update_error)?;
        Ok(())
    }

    /// Removes the API key (and the settings with it) and unregisters the source.
    pub fn disconnect(&self) -> Result<(), LinearError> {
        self.ctx.store.remove_section(SECTION)?;
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.ctx.workbench.issue_sources().unregister(&self.source);
        Ok(())
    }

    /// Whether the saved key still works: `None` when not configured.
    pub async fn verify(&self) -> Option<Result<(), UpstreamError>> {
        let connection = match self.connect() {
            Ok(c) => c,
            Err(LinearError::NotConfigured) => return None,
            Err(LinearError::Upstream(e)) => return Some(Err(e)),
            Err(other) => {
                return Some(Err(UpstreamError::InvalidResponse {
                    service: "Linear",
                    message: other.to_string(),
                }));
            }
        };
        Some(
            graphql::call(
                &connection.api,
                "query Viewer { viewer { id } }",
                json!({}),
                "The current user",
            )
            .await
            .map(drop),
        )
    }

    fn identifier(&self, identifier: &str) -> Result<IssueRef, LinearError> {
        let id = IssueId::new(identifier.trim())
            .map_err(|_| LinearError::InvalidIdentifier(identifier.into()))?;
        Ok(IssueRef::new(self.source.clone(), id))
    }

    /// Open issues (not completed or canceled) assigned to the user, newest update
    /// first; with `query`, those whose title or description contains it.
    pub async fn issues(
        &self,
        query: Option<&str>,
    ) -> Result<Vec<LinearIssueSummary>, LinearError> {
        let connection = self.connect()?;
        let mut filter = json!({
            "assignee": {"isMe": {"eq": true}},
            "state": {"type": {"nin": ["completed", "canceled"]}},
        });
        if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
            filter["or"] = json!([
                {"title": {"containsIgnoreCase": q}},
                {"description": {"containsIgnoreCase": q}},
            ]);
        }
        let gql = format!(
            "query AssignedIssues($filter: IssueFilter, $first: Int, $after: String) {{ \
             issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {{ \
             nodes {{ {ISSUE_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let pages = async {
            let mut issues = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let data = graphql::call(
                    &connection.api,
                    &gql,
                    json!({"filter": filter, "first": PAGE_SIZE, "after": after}),
                    "Issues",
                )
                .await?;
                let page = &data["issues"];
                let nodes = page["nodes"].as_array().cloned().unwrap_or_default();
                let empty = nodes.is_empty();
                issues.extend(nodes.iter().filter_map(summary_of));
                let next = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
                if page["pageInfo"]["hasNextPage"] != true
                    || empty
                    || issues.len() >= MAX_LISTED
                    || next.is_none()
                    || next == after
                {
                    break;
                }
                after = next;
            }
            Ok::<_, UpstreamError>(issues)
        };
        let mut issues = tokio::time::timeout(LIST_DEADLINE, pages)
            .await
            .map_err(|_| UpstreamError::Unreachable {
                service: "Linear",
                message: format!("the listing took longer than {}s", LIST_DEADLINE.as_secs()),
            })??;
        issues.truncate(MAX_LISTED);
        self.remember(&issues);
        if let Ok(section) = self.configured() {
            let rule = section.settings.data_lifecycle.auto_cleanup;
            if rule.enabled {
                let saved = self.saved();
                let source = self.source.clone();
                tokio::task::spawn_blocking(move || saved.cleanup(&source, &rule));
            }
        }
        Ok(issues)
    }

    fn remember(&self, issues: &[LinearIssueSummary]) {
        self.seen
            .remember(issues.iter().filter_map(|i| self.core_summary(i)));
    }

    /// An issue as core's issue sources name it (`None` for an identifier that cannot be
    /// an id).
    fn core_summary(&self, issue: &LinearIssueSummary) -> Option<IssueSummary> {
        Some(IssueSummary {
            issue: IssueRef::new(self.source.clone(), IssueId::new(&issue.identifier).ok()?),
            title: issue.title.clone(),
            status: issue.state.name.clone(),
            url: Some(issue.url.clone()),
        })
    }

    async fn fetch(&self, identifier: &str) -> Result<LinearIssue, LinearError> {
        let issue_ref = self.identifier(identifier)?;
        let connection = self.connect()?;
        let gql = format!(
            "query Issue($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} description createdAt \
             comments(first: 250) {{ nodes {{ id body createdAt user {{ name displayName }} }} }} \
             attachments(first: 100) {{ nodes {{ id title url }} }} }} }}"
        );
        let data = graphql::call(
            &connection.api,
            &gql,
            json!({"id": issue_ref.id.as_str()}),
            &format!("Issue {identifier}"),
        )
        .await?;
        if data["issue"].is_null() {
            return Err(UpstreamError::NotFound {
                service: "Linear",
                what: format!("Issue {identifier}"),
            }
            .into());
        }
        let issue = detail_of(&data["issue"]).ok_or_else(|| UpstreamError::InvalidResponse {
            service: "Linear",
            message: "the issue has no identifier".into(),
        })?;
        self.remember(std::slice::from_ref(&issue.summary));
        Ok(issue)
    }

    /// One issue with its comments and attachments. `viewed`: asked for by a viewer
    /// (`saveOn: view` saves it and downloads its uploaded files in the background).
    pub async fn issue(
        self: &Arc<Self>,
        identifier: &str,
        viewed: bool,
    ) -> Result<LinearIssue, LinearError> {
        let mut issue = self.fetch(identifier).await?;
        let issue_ref = self.identifier(&issue.summary.identifier)?;
        let saved = self.saved();
        for a in &mut issue.attachments {
            let name = file_name(&a.title, &a.url);
            if saved.has_attachment(&issue_ref, &name, None) {
                a.local_path = Some(
                    saved
                        .attachment_path(&issue_ref, &name)
                        .display()
                        .to_string(),
                );
            }
        }
        if viewed && self.configured()?.settings.data_lifecycle.save_on == SaveOn::View {
            self.save(&issue)?;
        }
        Ok(issue)
    }

    /// Saves `issue` for its new worktree unless the settings say never.
    pub fn save_for_worktree(self: &Arc<Self>, issue: &LinearIssue) -> Result<(), LinearError> {
        match self.configured()?.settings.data_lifecycle.save_on {
            SaveOn::Never => Ok(()),
            SaveOn::View | SaveOn::WorktreeCreation => self.save(issue),
        }
    }

    /// Writes `issue.json` (the issue, with its state's name also as `status`) and
    /// downloads the attachments on Linear's upload host in the background.
    pub fn save(self: &Arc<Self>, issue: &LinearIssue) -> Result<(), LinearError> {
        let issue_ref = self.identifier(&issue.summary.identifier)?;
        // The saved shape names the state's name `status`, as every source's
        // `issue.json` does (task context and the worktree list read it).
        let mut saved = serde_json::to_value(issue).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut saved {
            map.insert("status".into(), json!(issue.summary.state.name));
        }
        self.saved().save(&issue_ref, &saved)?;
        let connection = self.connect()?;
        let pending: Vec<LinearAttachment> = issue
            .attachments
            .iter()
            .filter(|a| a.local_path.is_none())
            .filter(|a| Url::parse(&a.url).is_ok_and(|u| connection.uploads.same_origin(&u)))
            .cloned()
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let saved = service.saved();
            for a in pending {
                match service.attachment(&a.url).await {
                    Ok(file) => {
                        if let Err(e) = saved.save_attachment(
                            &issue_ref,
                            &file_name(&a.title, &a.url),
                            &file.bytes,
                        ) {
                            tracing::warn!(issue = %issue_ref, error = %e, "saving a Linear attachment");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(issue = %issue_ref, error = %e, "downloading a Linear attachment")
                    }
                }
            }
        });
        Ok(())
    }

    async fn states(&self, team_key: Option<&str>) -> Result<Vec<LinearState>, LinearError> {
        let connection = self.connect()?;
        let filter = match team_key {
            Some(key) => json!({"team": {"key": {"eq": key}}}),
            None => json!({}),
        };
        let data = graphql::call(
            &connection.api,
            "query States($filter: WorkflowStateFilter) { workflowStates(filter: $filter, first: 250) { nodes { id name type color position } } }",
            json!({"filter": filter}),
            "Workflow states",
        )
        .await?;
        let mut nodes: Vec<&Value> = data["workflowStates"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        nodes.sort_by(|a, b| {
            let p = |v: &Value| v["position"].as_f64().unwrap_or(0.0);
            p(a).total_cmp(&p(b))
        });
        let mut states: Vec<LinearState> = Vec::new();
        for node in nodes {
            if let Some(state) = state_of(node)
                && (team_key.is_some() || !states.iter().any(|s| s.name == state.name))
            {
                states.push(state);
            }
        }
        Ok(states)
    }

    /// Workflow states of the default team (all teams' names once each without one).
    pub async fn status_options(&self) -> Result<Vec<LinearState>, LinearError> {
        let team = self.configured()?.default_team_key;
        self.states(team.as_deref()).await
    }

    /// Workflow states of an issue's team.
    pub async fn issue_status_options(
        &self,
        identifier: &str,
    ) -> Result<Vec<LinearState>, LinearError> {
        let issue = self.fetch(identifier).await?;
        let team = issue.summary.team_key.clone();
        self.states(team.as_deref()).await
    }

    /// Priorities (`issuePriorityValues`): `(value, label)`.
    pub async fn priority_options(&self) -> Result<Vec<(u8, String)>, LinearError> {
        let connection = self.connect()?;
        let data = graphql::call(
            &connection.api,
            "query Priorities { issuePriorityValues { priority label } }",
            json!({}),
            "Priorities",
        )
        .await?;
        Ok(data["issuePriorityValues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    u8::try_from(p["priority"].as_u64()?).ok()?,
                    p["label"].as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// Moves an issue to the state `name` (case-insensitive) of its team; returns the
    /// state's name.
    pub async fn set_status(&self, identifier: &str, name: &str) -> Result<String, LinearError> {
        let name = required(name, "statusName")?;
        let issue = self.fetch(identifier).await?;
        let states = self.states(issue.summary.team_key.as_deref()).await?;
        let Some(state) = states.iter().find(|s| s.name.eq_ignore_ascii_case(&name)) else {
            let names: Vec<&str> = states.iter().map(|s| s.name.as_str()).collect();
            return Err(LinearError::Invalid(format!(
                "\"{name}\" is not a status of {identifier}'s team (available: {})",
                names.join(", ")
            )));
        };
        self.update(&issue.summary.id, json!({"stateId": state.id}))
            .await?;
        self.seen.set_status(&issue.summary.identifier, &state.name);
        Ok(state.name.clone())
    }

    /// Replaces the description (Markdown).
    pub async fn set_description(
        &self,
        identifier: &str,
        description: &str,
    ) -> Result<(), LinearError> {
        let issue = self.identifier(identifier)?;
        self.update(issue.id.as_str(), json!({"description": description}))
            .await
    }

    /// Replaces the title.
    pub async fn set_title(&self, identifier: &str, title: &str) -> Result<(), LinearError> {
        let title = required(title, "title")?;
        let issue = self.identifier(identifier)?;
        self.update(issue.id.as_str(), json!({"title": title}))
            .await
    }

    async fn update(&self, id: &str, input: Value) -> Result<(), LinearError> {
        let connection = self.connect()?;
        let data = graphql::call(
            &connection.api,
            "mutation Update($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { success } }",
            json!({"id": id, "input": input}),
            &format!("Issue {id}"),
        )
        .await?;
        success(&data["issueUpdate"])
    }

    /// Adds a comment (Markdown); returns its id.
    pub async fn add_comment(&self, identifier: &str, body: &str) -> Result<String, LinearError> {
        let body = required(body, "comment")?;
        let issue = self.identifier(identifier)?;
        let connection = self.connect()?;
        let data = graphql::call(
            &connection.api,
            "mutation Comment($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id } } }",
            json!({"input": {"issueId": issue.id.as_str(), "body": body}}),
            &format!("Issue {identifier}"),
        )
        .await?;
        success(&data["commentCreate"])?;
        Ok(data["commentCreate"]["comment"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Replaces a comment's text.
    pub async fn edit_comment(
        &self,
        identifier: &str,
        id: &str,
        body: &str,
    ) -> Result<(), LinearError> {
        self.identifier(identifier)?;
        let id = comment_id(id)?;
        let body = required(body, "comment")?;
        let connection = self.connect()?;
        let data = graphql::call(
            &connection.api,
            "mutation EditComment($id: String!, $input: CommentUpdateInput!) { commentUpdate(id: $id, input: $input) { success } }",
            json!({"id": id, "input": {"body": body}}),
            &format!("Comment {id}"),
        )
        .await?;
        success(&data["commentUpdate"])
    }

    /// Deletes a comment.
    pub async fn delete_comment(&self, identifier: &str, id: &str) -> Result<(), LinearError> {
        self.identifier(identifier)?;
        let id = comment_id(id)?;
        let connection = self.connect()?;
        let data = graphql::call(
            &connection.api,
            "mutation DeleteComment($id: String!) { commentDelete(id: $id) { success } }",
            json!({"id": id}),
            &format!("Comment {id}"),
        )
        .await?;
        success(&data["commentDelete"])
    }

    /// A file on Linear's upload host, fetched with the API key; anything else (other
    /// hosts, other schemes, redirects) is refused.
    pub async fn attachment(&self, url: &str) -> Result<LinearFile, LinearError> {
        let connection = self.connect()?;
        let refused = |why: &str| LinearError::AttachmentRefused(why.to_string());
        let parsed = Url::parse(url.trim()).map_err(|_| refused("not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused("only http(s) URLs are fetched"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refused("credentials do not belong in the URL"));
        }
        if !connection.uploads.same_origin(&parsed) {
            return Err(refused("it is not on Linear's upload host"));
        }
        let uploads = &connection.uploads;
        let mut response = uploads
            .send(uploads.request_url(Method::GET, parsed), "Attachment")
            .await?;
        if response.status().is_redirection() {
            return Err(refused("Linear redirected it elsewhere"));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ATTACHMENT)
        {
            return Err(LinearError::Invalid(
                "The attachment is larger than 50 MiB".into(),
            ));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type =
            header(CONTENT_TYPE).unwrap_or_else(|| "application/octet-stream".into());
        let disposition = header(CONTENT_DISPOSITION);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| uploads.unreachable(&e))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > MAX_ATTACHMENT {
                return Err(LinearError::Invalid(
                    "The attachment is larger than 50 MiB".into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(LinearFile {
            content_type,
            disposition,
            bytes,
        })
    }

    /// The issue for the task flow.
    pub async fn issue_for_task(
        self: &Arc<Self>,
        identifier: &str,
    ) -> Result<(IssueRef, LinearIssue), LinearError> {
        let issue = self.fetch(identifier).await?;
        let issue_ref = self.identifier(&issue.summary.identifier)?;
        Ok((issue_ref, issue))
    }
}

fn success(result: &Value) -> Result<(), LinearError> {
    if result["success"] == true {
        Ok(())
    } else {
        Err(UpstreamError::InvalidResponse {
            service: "Linear",
            message: "the mutation did not succeed".into(),
        }
        .into())
    }
}

fn required(value: &str, field: &str) -> Result<String, LinearError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(LinearError::Invalid(format!("{field} is required")));
    }
    Ok(value.to_string())
}

fn comment_id(id: &str) -> Result<String, LinearError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(LinearError::Invalid(format!("Invalid comment id \"{id}\"")));
    }
    Ok(id.to_string())
}

/// The saved file name of an attachment: its title, else the URL's last segment.
fn file_name(title: &str, url: &str) -> String {
    let from_url = Url::parse(url)
        .ok()
        .and_then(|u| u.path_segments()?.next_back().map(str::to_string))
        .unwrap_or_default();
    if title.trim().is_empty() {
        from_url
    } else {
        title.trim().to_string()
    }
}

fn state_of(v: &Value) -> Option<LinearState> {
    Some(LinearState {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        name: v["name"].as_str()?.to_string(),
        state_type: v["type"].as_str().unwrap_or_default().to_string(),
        color: v["color"].as_str().unwrap_or_default().to_string(),
    })
}

fn name_of(v: &Value) -> Option<String> {
    v["name"]
        .as_str()
        .or_else(|| v["displayName"].as_str())
        .map(str::to_string)
}

/// A listed issue from Linear's JSON.
pub fn summary_of(v: &Value) -> Option<LinearIssueSummary> {
    Some(LinearIssueSummary {
        id: v["id"].as_str().unwrap_or_default().to_string(),
        identifier: v["identifier"].as_str()?.to_string(),
        title: v["title"].as_str().unwrap_or_default().to_string(),
        state: state_of(&v["state"]).unwrap_or(LinearState {
            id: String::new(),
            name: "Unknown".into(),
            state_type: String::new(),
            color: String::new(),
        }),
        priority: v["priority"]
            .as_u64()
            .and_then(|p| u8::try_from(p).ok())
            .unwrap_or(0),
        priority_label: v["priorityLabel"]
            .as_str()
            .unwrap_or("No priority")
            .to_string(),
        assignee: name_of(&v["assignee"]),
        labels: v["labels"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["name"].as_str().map(str::to_string))
            .collect(),
        url: v["url"].as_str().unwrap_or_default().to_string(),
        updated_at: v["updatedAt"].as_str().map(str::to_string),
        team_key: v["team"]["key"].as_str().map(str::to_string),
    })
}

/// An issue's detail from Linear's JSON.
pub fn detail_of(v: &Value) -> Option<LinearIssue> {
    Some(LinearIssue {
        summary: summary_of(v)?,
        description: v["description"].as_str().unwrap_or_default().to_string(),
        created_at: v["createdAt"].as_str().map(str::to_string),
        comments: v["comments"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(LinearComment {
                    id: c["id"].as_str()?.to_string(),
                    author: name_of(&c["user"]).unwrap_or_else(|| "unknown".into()),
                    body: c["body"].as_str().unwrap_or_default().to_string(),
                    created_at: c["createdAt"].as_str().unwrap_or_default().to_string(),
                })
            })
            .collect(),
        attachments: v["attachments"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some(LinearAttachment {
                    id: a["id"].as_str()?.to_string(),
                    title: a["title"].as_str().unwrap_or_default().to_string(),
                    url: a["url"].as_str()?.to_string(),
                    local_path: None,
                })
            })
            .collect(),
    })
}

impl LinearIssue {
    fn to_core(&self, issue: IssueRef) -> Issue {
        Issue {
            summary: IssueSummary {
                issue,
                title: self.summary.title.clone(),
                status: self.summary.state.name.clone(),
                url: Some(self.summary.url.clone()),
            },
            description: self.description.clone(),
            comments: self
                .comments
                .iter()
                .map(|c| Comment {
                    author: c.author.clone(),
                    created: c.created_at.clone(),
                    body: c.body.clone(),
                })
                .collect(),
            attachments: self
                .attachments
                .iter()
                .map(|a| IssueAttachment {
                    filename: file_name(&a.title, &a.url),
                    mime_type: "application/octet-stream".into(),
                    size: None,
                    local_path: a.local_path.as_ref().map(Into::into),
                    url: Some(a.url.clone()),
                })
                .collect(),
        }
    }
}

fn issue_error(e: LinearError) -> IssueError {
    IssueError::adapter(e)
}

#[async_trait]
impl IssueSource for LinearService {
    fn source(&self) -> &SourceId {
        &self.source
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY | Capabilities::UPDATE_STATUS | Capabilities::COMMENT
    }

    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
        self.assigned().await
    }

    async fn assigned(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let issues = self.issues(None).await.map_err(issue_error)?;
        Ok(issues.iter().filter_map(|i| self.core_summary(i)).collect())
    }

    async fn get(&self, id: &IssueId) -> Result<Issue, IssueError> {
        match self.fetch(id.as_str()).await {
            Ok(issue) => Ok(issue.to_core(IssueRef::new(self.source.clone(), id.clone()))),
            Err(LinearError::Upstream(UpstreamError::NotFound { .. })) => Err(
                IssueError::NotFound(IssueRef::new(self.source.clone(), id.clone())),
            ),
            Err(e) => Err(issue_error(e)),
        }
    }

    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let name = self
            .set_status(id.as_str(), status)
            .await
            .map_err(issue_error)?;
        Ok(self
            .seen
            .after_status(IssueRef::new(self.source.clone(), id.clone()), &name))
    }

    async fn add_comment(&self, id: &IssueId, body: &str) -> Result<Comment, IssueError> {
        LinearService::add_comment(self, id.as_str(), body)
            .await
            .map_err(issue_error)?;
        Ok(Comment {
            author: self
                .section()
                .ok()
                .flatten()
                .and_then(|s| s.display_name)
                .unwrap_or_default(),
            created: String::new(),
            body: body.trim().to_string(),
        })
    }

    fn peek(&self, id: &IssueId) -> Option<IssueSummary> {
        self.seen.get(id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_as_compat_describes() {
        let section: LinearSection = serde_json::from_value(json!({
            "apiKey": "lin_api_x", "displayName": "Ann", "defaultTeamKey": "ENG",
            "autoStartAgent": "gemini"
        }))
        .unwrap();
        assert_eq!(section.api_key.expose(), "lin_api_x");
        assert_eq!(section.settings.agent_to_start(), Some("gemini"));
        assert!(!format!("{section:?}").contains("lin_api_x"));
    }

    #[test]
    fn attachment_names() {
        assert_eq!(
            file_name("", "https://uploads.linear.app/a/b/shot.png"),
            "shot.png"
        );
        assert_eq!(
            file_name("Design", "https://uploads.linear.app/a/b"),
            "Design"
        );
    }
}
