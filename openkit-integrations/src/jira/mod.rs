//! Jira Cloud: [`JiraService`], the project's Jira connection (REST API v3).
//!
//! Credentials live in the `jira` section of `.openkit/integrations.json`
//! ([`JiraSection`]): an API token (`authMethod: "api-token"`, basic auth with the
//! e-mail, requests to the site given at setup) or OAuth 2.0 (3LO) (`authMethod:
//! "oauth"`, bearer tokens refreshed before they expire, requests through Atlassian's
//! gateway `/ex/jira/<cloudId>`). Setup checks the credentials (`/rest/api/3/myself`)
//! before saving anything. Descriptions and comments arrive as ADF and are rendered to
//! Markdown ([`adf`]); texts written in OpenKit are sent back as ADF.
//!
//! The service is core's `IssueSource` for `jira` (registered once configured) and
//! saves viewed issues under `.openkit/issues/jira/<KEY>/` as its `dataLifecycle`
//! says. The attachment proxy fetches only Jira's attachment content endpoint on the
//! configured site, with `redirect=false`, and follows no redirect off that origin.

pub mod adf;
pub mod client;
pub mod oauth;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use openkit_core::error::{DomainError, ErrorKind, IoFailure};
use openkit_core::integrations::{IntegrationsError, SaveOn, TrackerSettings, UpdateError};
use openkit_core::issues::{
    Capabilities, Comment, Issue, IssueAttachment, IssueError, IssueId, IssueRef, IssueSource,
    IssueSummary, SavedIssues, SourceId,
};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{ApiClient, Auth, UpstreamError, check_base_url};
use crate::hub::IntegrationContext;
use crate::secret::Secret;
use crate::tracker::SettingsPatch;
use client::{JiraApi, jql_string, text};

/// The section of `integrations.json` and the issue source name.
pub const SECTION: &str = "jira";
/// The largest attachment the proxy passes on or saves (50 MiB).
pub const MAX_ATTACHMENT: u64 = 50 * 1024 * 1024;
/// The whole-request timeout of Jira calls.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a whole listing (all its pages) may take.
pub const LIST_DEADLINE: Duration = Duration::from_secs(60);
/// The JQL of the issues assigned to the user that are not done.
pub const ASSIGNED_JQL: &str =
    "assignee = currentUser() AND statusCategory != Done ORDER BY updated DESC";

/// API-token credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenCredentials {
    /// The site (`https://yoursite.atlassian.net`).
    pub base_url: String,
    /// The account's e-mail.
    pub email: String,
    /// The API token.
    pub token: Secret,
}

/// OAuth 2.0 (3LO) credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthCredentials {
    /// The OAuth app's client id.
    pub client_id: String,
    /// The OAuth app's secret.
    pub client_secret: Secret,
    /// The current access token.
    pub access_token: Secret,
    /// The refresh token (rotating: each refresh returns a new one).
    pub refresh_token: Option<Secret>,
    /// When the access token expires (Unix seconds).
    pub expires_at: u64,
    /// The Jira site's cloud id.
    pub cloud_id: String,
    /// The Jira site's URL (`https://yoursite.atlassian.net`).
    pub site_url: String,
}

/// How OpenKit signs in to Jira.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "authMethod")]
pub enum JiraAuth {
    /// E-mail and API token.
    #[serde(rename = "api-token")]
    ApiToken {
        /// The credentials.
        #[serde(rename = "apiToken")]
        api_token: ApiTokenCredentials,
    },
    /// OAuth 2.0 (3LO).
    #[serde(rename = "oauth")]
    OAuth {
        /// The credentials.
        oauth: OAuthCredentials,
    },
}

/// The `jira` section of `integrations.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraSection {
    /// Credentials.
    #[serde(flatten)]
    pub auth: JiraAuth,
    /// The project whose statuses `status-options` lists.
    #[serde(default)]
    pub default_project_key: Option<String>,
    /// The user's display name, as Jira gave it at setup.
    #[serde(default)]
    pub display_name: Option<String>,
    /// What is done with fetched issues.
    #[serde(flatten)]
    pub settings: TrackerSettings,
}

impl JiraSection {
    /// The site URL (for links to issues).
    pub fn site_url(&self) -> &str {
        match &self.auth {
            JiraAuth::ApiToken { api_token } => &api_token.base_url,
            JiraAuth::OAuth { oauth } => &oauth.site_url,
        }
    }
}

/// A failed Jira operation.
#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    /// No `jira` section.
    #[error("Jira is not configured: set it up first")]
    NotConfigured,
    /// Setup could not sign in.
    #[error("Connection failed: {0}")]
    ConnectionFailed(UpstreamError),
    /// Jira answered with an error.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// An issue key that cannot be one.
    #[error("Invalid issue key \"{0}\"")]
    InvalidKey(String),
    /// Bad input (an empty summary, a status with no transition, ...).
    #[error("{0}")]
    Invalid(String),
    /// `status-options` without a default project.
    #[error("defaultProjectKey is not configured")]
    NoDefaultProject,
    /// The attachment URL is not one the proxy fetches.
    #[error("Refused attachment URL: {0}")]
    AttachmentRefused(String),
    /// The OAuth flow failed (unknown or expired `state`, a refused code).
    #[error("{0}")]
    OAuth(String),
    /// `integrations.json` could not be read or written.
    #[error(transparent)]
    Store(#[from] IntegrationsError),
    /// Saving issue data failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl DomainError for JiraError {
    fn kind(&self) -> ErrorKind {
        match self {
            JiraError::NotConfigured
            | JiraError::ConnectionFailed(_)
            | JiraError::InvalidKey(_)
            | JiraError::Invalid(_)
            | JiraError::NoDefaultProject
            | JiraError::AttachmentRefused(_)
            | JiraError::OAuth(_) => ErrorKind::InvalidInput,
            JiraError::Upstream(e) => e.kind(),
            JiraError::Store(e) => e.kind(),
            JiraError::Io(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            JiraError::NotConfigured => "JIRA_NOT_CONFIGURED",
            JiraError::ConnectionFailed(_) => "JIRA_CONNECTION_FAILED",
            JiraError::Upstream(e) => e.code(),
            JiraError::InvalidKey(_) => "INVALID_ISSUE_KEY",
            JiraError::Invalid(_) => "INVALID_INPUT",
            JiraError::NoDefaultProject => "JIRA_NO_DEFAULT_PROJECT",
            JiraError::AttachmentRefused(_) => "ATTACHMENT_URL_REFUSED",
            JiraError::OAuth(_) => "JIRA_OAUTH_FAILED",
            JiraError::Store(e) => e.code(),
            JiraError::Io(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            JiraError::Upstream(e) | JiraError::ConnectionFailed(e) => e.context(),
            _ => Vec::new(),
        }
    }
}

impl<E: std::fmt::Display> From<UpdateError<E>> for JiraError {
    fn from(e: UpdateError<E>) -> Self {
        match e {
            UpdateError::Store(e) => JiraError::Store(e),
            UpdateError::Rejected(e) => JiraError::Invalid(e.to_string()),
        }
    }
}

/// What `GET /api/jira/status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraStatus {
    /// Whether credentials are saved.
    pub configured: bool,
    /// `api-token` or `oauth`.
    pub auth_method: Option<&'static str>,
    /// The default project.
    pub default_project_key: Option<String>,
    /// The e-mail (API token).
    pub email: Option<String>,
    /// The site's host (`yoursite.atlassian.net`).
    pub domain: Option<String>,
    /// The user's display name.
    pub display_name: Option<String>,
    /// Tracker settings.
    pub settings: TrackerSettings,
}

/// An issue as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraIssueSummary {
    /// `PROJ-123`.
    pub key: String,
    /// Title.
    pub summary: String,
    /// Status name.
    pub status: String,
    /// Priority name.
    pub priority: Option<String>,
    /// Issue type name.
    #[serde(rename = "type")]
    pub issue_type: Option<String>,
    /// Assignee's display name.
    pub assignee: Option<String>,
    /// Last update (as Jira gives it).
    pub updated: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// `<site>/browse/<KEY>`.
    pub url: String,
}

/// A comment, its body rendered to Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraComment {
    /// Comment id.
    pub id: String,
    /// Author's display name.
    pub author: String,
    /// Markdown.
    pub body: String,
    /// Created.
    pub created: String,
    /// Last update.
    pub updated: Option<String>,
}

/// A file attached to an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraAttachment {
    /// Attachment id.
    pub id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Jira's content URL (what `GET /api/jira/attachment?url=` proxies).
    pub url: String,
    /// The saved copy, when downloaded.
    pub local_path: Option<String>,
}

/// An issue with everything about it; also the shape of its saved `issue.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraIssue {
    /// What lists show.
    #[serde(flatten)]
    pub summary: JiraIssueSummary,
    /// The description as Markdown.
    pub description: String,
    /// Reporter's display name.
    pub reporter: Option<String>,
    /// Created.
    pub created: Option<String>,
    /// Comments, oldest first.
    pub comments: Vec<JiraComment>,
    /// Attachments.
    pub attachments: Vec<JiraAttachment>,
}

/// An attachment's bytes from the proxy.
#[derive(Debug, Clone)]
pub struct AttachmentContent {
    /// `Content-Type` as Jira sent it.
    pub content_type: String,
    /// `Content-Disposition` as Jira sent it, if any.
    pub disposition: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A signed-in connection, kept while the credentials are unchanged.
#[derive(Debug)]
struct Connection {
    fingerprint: u64,
    api: ApiClient,
    site: Url,
    /// When an OAuth access token expires (Unix seconds).
    expires_at: Option<u64>,
}

/// The project's Jira connection.
#[derive(Debug)]
pub struct JiraService {
    ctx: Arc<IntegrationContext>,
    source: SourceId,
    connection: Mutex<Option<Arc<Connection>>>,
    /// Serializes OAuth token refreshes.
    refreshing: tokio::sync::Mutex<()>,
    /// Summaries last seen, for `peek`.
    seen: crate::tracker::SeenIssues,
    oauth: oauth::PendingLogins,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl JiraService {
    /// The service of the project behind `ctx`; registers its issue source when the
    /// `jira` section exists.
    pub fn new(ctx: Arc<IntegrationContext>) -> Arc<Self> {
        let service = Arc::new(JiraService {
            ctx,
            source: SourceId::new(SECTION).expect("valid source name"),
            connection: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            seen: Default::default(),
            oauth: oauth::PendingLogins::default(),
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

    /// The `jira` section, if configured.
    pub fn section(&self) -> Result<Option<JiraSection>, JiraError> {
        Ok(self.ctx.store.section::<JiraSection>(SECTION)?)
    }

    fn configured(&self) -> Result<JiraSection, JiraError> {
        self.section()?.ok_or(JiraError::NotConfigured)
    }

    /// The status payload.
    pub fn status(&self) -> Result<JiraStatus, JiraError> {
        let Some(section) = self.section()? else {
            return Ok(JiraStatus {
                configured: false,
                auth_method: None,
                default_project_key: None,
                email: None,
                domain: None,
                display_name: None,
                settings: TrackerSettings::default(),
            });
        };
        let (method, email) = match &section.auth {
            JiraAuth::ApiToken { api_token } => ("api-token", Some(api_token.email.clone())),
            JiraAuth::OAuth { .. } => ("oauth", None),
        };
        Ok(JiraStatus {
            configured: true,
            auth_method: Some(method),
            domain: Url::parse(section.site_url())
                .ok()
                .and_then(|u| u.host_str().map(str::to_string)),
            default_project_key: section.default_project_key,
            email,
            display_name: section.display_name,
            settings: section.settings,
        })
    }

    /// Checks API-token credentials against Jira and saves them (keeping the settings
    /// of an earlier setup); nothing is written when Jira refuses them.
    pub async fn setup(
        self: &Arc<Self>,
        base_url: &str,
        email: &str,
        token: Secret,
    ) -> Result<(), JiraError> {
        let email = email.trim();
        if email.is_empty() || token.is_empty() {
            return Err(JiraError::Invalid("email and token are required".into()));
        }
        let base = check_base_url("Jira", base_url).map_err(JiraError::ConnectionFailed)?;
        let api = ApiClient::new(
            self.ctx.client.clone(),
            "Jira",
            base.as_str(),
            Auth::Basic {
                user: email.to_string(),
                password: token.clone(),
            },
        )?
        .with_timeout(TIMEOUT);
        let me = JiraApi::new(&api)
            .myself()
            .await
            .map_err(JiraError::ConnectionFailed)?;
        let auth = JiraAuth::ApiToken {
            api_token: ApiTokenCredentials {
                base_url: base.as_str().trim_end_matches('/').to_string(),
                email: email.to_string(),
                token,
            },
        };
        self.save_credentials(auth, me.display_name)?;
        Ok(())
    }

    fn save_credentials(
        self: &Arc<Self>,
        auth: JiraAuth,
        display_name: String,
    ) -> Result<(), JiraError> {
        self.ctx
            .store
            .update_section::<JiraSection, JiraError>(SECTION, |current| {
                Ok(Some(match current {
                    Some(mut section) => {
                        section.auth = auth;
                        section.display_name = Some(display_name);
                        section
                    }
                    None => JiraSection {
                        auth,
                        default_project_key: None,
                        display_name: Some(display_name),
                        settings: TrackerSettings::default(),
                    },
                }))
            })
            .map_err(|e| match e {
                UpdateError::Store(e) => JiraError::Store(e),
                UpdateError::Rejected(e) => e,
            })?;
        self.forget_connection();
        self.register();
        Ok(())
    }

    /// Changes the default project and tracker settings.
    pub fn update_config(
        &self,
        default_project_key: Option<Option<String>>,
        patch: &SettingsPatch,
    ) -> Result<(), JiraError> {
        self.ctx
            .store
            .update_section::<JiraSection, JiraError>(SECTION, |current| {
                let mut section = current.ok_or(JiraError::NotConfigured)?;
                patch
                    .apply(&mut section.settings)
                    .map_err(JiraError::Invalid)?;
                if let Some(key) = default_project_key {
                    section.default_project_key =
                        key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
                }
                Ok(Some(section))
            })
            .map_err(|e| match e {
                UpdateError::Store(e) => JiraError::Store(e),
                UpdateError::Rejected(e) => e,
            })?;
        Ok(())
    }

    /// Removes the credentials (and the settings with them) and unregisters the source.
    pub fn disconnect(&self) -> Result<(), JiraError> {
        self.ctx.store.remove_section(SECTION)?;
        self.forget_connection();
        self.ctx.workbench.issue_sources().unregister(&self.source);
        Ok(())
    }

    fn forget_connection(&self) {
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Whether the saved credentials still work: `None` when not configured.
    pub async fn verify(&self) -> Option<Result<(), UpstreamError>> {
        let connection = match self.connect().await {
            Ok(c) => c,
            Err(JiraError::NotConfigured) => return None,
            Err(JiraError::Upstream(e)) => return Some(Err(e)),
            Err(other) => {
                return Some(Err(UpstreamError::InvalidResponse {
                    service: "Jira",
                    message: other.to_string(),
                }));
            }
        };
        Some(JiraApi::new(&connection.api).myself().await.map(drop))
    }

    /// The connection for the saved credentials, refreshing an OAuth token that
    /// expires within a minute.
    async fn connect(&self) -> Result<Arc<Connection>, JiraError> {
        let section = self.configured()?;
        let fingerprint = fingerprint(&section.auth);
        if let Some(c) = self.cached(fingerprint) {
            return Ok(c);
        }
        let section = match &section.auth {
            JiraAuth::OAuth { oauth } if oauth.expires_at <= now_secs() + 60 => {
                let _guard = self.refreshing.lock().await;
                // Another caller may have refreshed while this one waited.
                let current = self.configured()?;
                match &current.auth {
                    JiraAuth::OAuth { oauth } if oauth.expires_at <= now_secs() + 60 => {
                        self.refresh_oauth(oauth).await?
                    }
                    _ => current,
                }
            }
            _ => section,
        };
        let fingerprint = self::fingerprint(&section.auth);
        let (base, auth, expires_at) = match &section.auth {
            JiraAuth::ApiToken { api_token } => (
                api_token.base_url.clone(),
                Auth::Basic {
                    user: api_token.email.clone(),
                    password: api_token.token.clone(),
                },
                None,
            ),
            JiraAuth::OAuth { oauth } => (
                format!(
                    "{}/ex/jira/{}",
                    self.ctx.endpoints.atlassian_api.trim_end_matches('/'),
                    crate::api::segment(&oauth.cloud_id)
                ),
                Auth::Bearer(oauth.access_token.clone()),
                Some(oauth.expires_at),
            ),
        };
        let api =
            ApiClient::new(self.ctx.client.clone(), "Jira", &base, auth)?.with_timeout(TIMEOUT);
        let site = check_base_url("Jira", section.site_url())?;
        let connection = Arc::new(Connection {
            fingerprint,
            api,
            site,
            expires_at,
        });
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&connection));
        Ok(connection)
    }

    fn cached(&self, fingerprint: u64) -> Option<Arc<Connection>> {
        let guard = self.connection.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|c| c.fingerprint == fingerprint)
            .filter(|c| c.expires_at.is_none_or(|t| t > now_secs() + 60))
            .cloned()
    }

    fn key(&self, key: &str) -> Result<IssueRef, JiraError> {
        let id = IssueId::new(key.trim()).map_err(|_| JiraError::InvalidKey(key.into()))?;
        Ok(IssueRef::new(self.source.clone(), id))
    }

    /// Issues assigned to the user and not done; with `query`, those whose text
    /// matches. Also runs the configured cleanup of saved issue data in the background.
    pub async fn issues(&self, query: Option<&str>) -> Result<Vec<JiraIssueSummary>, JiraError> {
        let connection = self.connect().await?;
        let jql = match query.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => format!(
                "assignee = currentUser() AND statusCategory != Done AND text ~ {} ORDER BY updated DESC",
                jql_string(q)
            ),
            None => ASSIGNED_JQL.to_string(),
        };
        let found = tokio::time::timeout(LIST_DEADLINE, JiraApi::new(&connection.api).search(&jql))
            .await
            .map_err(|_| UpstreamError::Unreachable {
                service: "Jira",
                message: format!("the listing took longer than {}s", LIST_DEADLINE.as_secs()),
            })??;
        let issues: Vec<JiraIssueSummary> = found
            .iter()
            .filter_map(|v| summary_of(v, &connection.site))
            .collect();
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

    fn remember(&self, issues: &[JiraIssueSummary]) {
        self.seen
            .remember(issues.iter().filter_map(|i| self.core_summary(i)));
    }

    /// An issue as core's issue sources name it (`None` for a key that cannot be an id).
    fn core_summary(&self, issue: &JiraIssueSummary) -> Option<IssueSummary> {
        Some(IssueSummary {
            issue: IssueRef::new(self.source.clone(), IssueId::new(&issue.key).ok()?),
            title: issue.summary.clone(),
            status: issue.status.clone(),
            url: Some(issue.url.clone()),
        })
    }

    /// One issue with description and comments rendered to Markdown. `viewed`: the
    /// detail was asked for by a viewer (`saveOn: view` saves it and downloads its
    /// attachments in the background).
    pub async fn issue(self: &Arc<Self>, key: &str, viewed: bool) -> Result<JiraIssue, JiraError> {
        let issue_ref = self.key(key)?;
        let connection = self.connect().await?;
        let value = JiraApi::new(&connection.api)
            .issue(issue_ref.id.as_str())
            .await?;
        let mut issue =
            detail_of(&value, &connection.site).ok_or_else(|| UpstreamError::InvalidResponse {
                service: "Jira",
                message: "the issue has no key or fields".into(),
            })?;
        self.remember(std::slice::from_ref(&issue.summary));
        let saved = self.saved();
        let saved_ref = self.key(&issue.summary.key)?;
        for attachment in &mut issue.attachments {
            if saved.has_attachment(&saved_ref, &attachment.filename, attachment.size) {
                attachment.local_path = Some(
                    saved
                        .attachment_path(&saved_ref, &attachment.filename)
                        .display()
                        .to_string(),
                );
            }
        }
        if viewed && self.save_on()? == SaveOn::View {
            self.save(&issue)?;
        }
        Ok(issue)
    }

    fn save_on(&self) -> Result<SaveOn, JiraError> {
        Ok(self.configured()?.settings.data_lifecycle.save_on)
    }

    /// Writes `issue.json` of `issue` and downloads its attachments in the background.
    pub fn save(self: &Arc<Self>, issue: &JiraIssue) -> Result<(), JiraError> {
        let issue_ref = self.key(&issue.summary.key)?;
        self.saved().save(&issue_ref, issue)?;
        let pending: Vec<JiraAttachment> = issue
            .attachments
            .iter()
            .filter(|a| a.local_path.is_none() && a.size.is_none_or(|s| s <= MAX_ATTACHMENT))
            .cloned()
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let saved = service.saved();
            for attachment in pending {
                match service.attachment(&attachment.url).await {
                    Ok(content) => {
                        if let Err(e) =
                            saved.save_attachment(&issue_ref, &attachment.filename, &content.bytes)
                        {
                            tracing::warn!(issue = %issue_ref, error = %e, "saving a Jira attachment");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(issue = %issue_ref, error = %e, "downloading a Jira attachment")
                    }
                }
            }
        });
        Ok(())
    }

    /// Saves `issue` when the settings say to save at worktree creation (or on view,
    /// which a worktree's creation also is).
    pub fn save_for_worktree(self: &Arc<Self>, issue: &JiraIssue) -> Result<(), JiraError> {
        match self.save_on()? {
            SaveOn::Never => Ok(()),
            SaveOn::View | SaveOn::WorktreeCreation => self.save(issue),
        }
    }

    /// Status names of the default project's workflows.
    pub async fn project_status_options(&self) -> Result<Vec<String>, JiraError> {
        let section = self.configured()?;
        let project = section
            .default_project_key
            .filter(|k| !k.trim().is_empty())
            .ok_or(JiraError::NoDefaultProject)?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .project_statuses(&project)
            .await?)
    }

    /// The transitions available for an issue: `(id, target status name)`.
    pub async fn issue_status_options(
        &self,
        key: &str,
    ) -> Result<Vec<(String, String)>, JiraError> {
        let issue = self.key(key)?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .transitions(issue.id.as_str())
            .await?)
    }

    /// Priorities: `(id, name)`.
    pub async fn priorities(&self) -> Result<Vec<(String, String)>, JiraError> {
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api).priorities().await?)
    }

    /// The issue types an issue can be changed to: `(id, name)`.
    pub async fn type_options(&self, key: &str) -> Result<Vec<(String, String)>, JiraError> {
        let issue = self.key(key)?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .edit_types(issue.id.as_str())
            .await?)
    }

    /// Moves an issue to status `name` through the transition leading there
    /// (case-insensitive); returns the status name Jira uses.
    pub async fn transition(&self, key: &str, name: &str) -> Result<String, JiraError> {
        let issue = self.key(key)?;
        let name = required(name, "statusName")?;
        let connection = self.connect().await?;
        let api = JiraApi::new(&connection.api);
        let transitions = api.transitions(issue.id.as_str()).await?;
        let Some((id, target)) = transitions
            .iter()
            .find(|(_, to)| to.eq_ignore_ascii_case(&name))
        else {
            let names: Vec<&str> = transitions.iter().map(|(_, n)| n.as_str()).collect();
            return Err(JiraError::Invalid(format!(
                "No transition of {key} leads to \"{name}\" (available: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        api.transition(issue.id.as_str(), id).await?;
        self.seen.set_status(issue.id.as_str(), target);
        Ok(target.clone())
    }

    /// Sets the priority by name.
    pub async fn set_priority(&self, key: &str, name: &str) -> Result<(), JiraError> {
        let name = required(name, "priorityName")?;
        self.edit(key, json!({"priority": {"name": name}})).await
    }

    /// Sets the issue type by name (one of the types Jira's edit metadata allows).
    pub async fn set_type(&self, key: &str, name: &str) -> Result<(), JiraError> {
        let name = required(name, "typeName")?;
        let types = self.type_options(key).await?;
        let Some((id, _)) = types.iter().find(|(_, n)| n.eq_ignore_ascii_case(&name)) else {
            return Err(JiraError::Invalid(format!(
                "\"{name}\" is not an issue type {key} can have"
            )));
        };
        self.edit(key, json!({"issuetype": {"id": id}})).await
    }

    /// Replaces the description (text, sent as ADF).
    pub async fn set_description(&self, key: &str, description: &str) -> Result<(), JiraError> {
        self.edit(key, json!({"description": adf::from_text(description)}))
            .await
    }

    /// Replaces the summary.
    pub async fn set_summary(&self, key: &str, summary: &str) -> Result<(), JiraError> {
        let summary = required(summary, "summary")?;
        if summary.contains('\n') {
            return Err(JiraError::Invalid("summary must be one line".into()));
        }
        self.edit(key, json!({"summary": summary})).await
    }

    async fn edit(&self, key: &str, fields: Value) -> Result<(), JiraError> {
        let issue = self.key(key)?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .edit(issue.id.as_str(), fields)
            .await?)
    }

    /// Adds a comment; returns it.
    pub async fn add_comment(&self, key: &str, body: &str) -> Result<JiraComment, JiraError> {
        let issue = self.key(key)?;
        let body = required(body, "comment")?;
        let connection = self.connect().await?;
        let value = JiraApi::new(&connection.api)
            .add_comment(issue.id.as_str(), adf::from_text(&body))
            .await?;
        Ok(comment_of(&value).unwrap_or(JiraComment {
            id: String::new(),
            author: String::new(),
            body,
            created: String::new(),
            updated: None,
        }))
    }

    /// Replaces a comment's text.
    pub async fn edit_comment(&self, key: &str, id: &str, body: &str) -> Result<(), JiraError> {
        let issue = self.key(key)?;
        let comment = comment_id(id)?;
        let body = required(body, "comment")?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .edit_comment(issue.id.as_str(), &comment, adf::from_text(&body))
            .await?)
    }

    /// Deletes a comment.
    pub async fn delete_comment(&self, key: &str, id: &str) -> Result<(), JiraError> {
        let issue = self.key(key)?;
        let comment = comment_id(id)?;
        let connection = self.connect().await?;
        Ok(JiraApi::new(&connection.api)
            .delete_comment(issue.id.as_str(), &comment)
            .await?)
    }

    /// An attachment's content, fetched with the credentials. Only Jira's attachment
    /// endpoints on the configured site (or the OAuth gateway) are fetched, always with
    /// `redirect=false`; a redirect is followed once and only on the same origin.
    pub async fn attachment(&self, url: &str) -> Result<AttachmentContent, JiraError> {
        let connection = self.connect().await?;
        let path = attachment_path(url, &connection.site, connection.api.base())?;
        let api = &connection.api;
        let mut response = api
            .send(api.request(Method::GET, &path), "Attachment")
            .await?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .ok_or_else(|| {
                    JiraError::AttachmentRefused("a redirect without a location".into())
                })?;
            if !api.same_origin(&location) {
                return Err(JiraError::AttachmentRefused(
                    "Jira redirected to another host".into(),
                ));
            }
            response = api
                .send(api.request_url(Method::GET, location), "Attachment")
                .await?;
            if response.status().is_redirection() {
                return Err(JiraError::AttachmentRefused("too many redirects".into()));
            }
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ATTACHMENT)
        {
            return Err(JiraError::Invalid(format!(
                "The attachment is larger than {} MiB",
                MAX_ATTACHMENT / 1024 / 1024
            )));
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
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|e| api.unreachable(&e))? {
            if bytes.len() as u64 + chunk.len() as u64 > MAX_ATTACHMENT {
                return Err(JiraError::Invalid(format!(
                    "The attachment is larger than {} MiB",
                    MAX_ATTACHMENT / 1024 / 1024
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(AttachmentContent {
            content_type,
            disposition,
            bytes,
        })
    }

    /// The title of an issue for its worktree, and the issue: for the task flow.
    pub async fn issue_for_task(
        self: &Arc<Self>,
        key: &str,
    ) -> Result<(IssueRef, JiraIssue), JiraError> {
        let issue = self.issue(key, false).await?;
        let issue_ref = self.key(&issue.summary.key)?;
        Ok((issue_ref, issue))
    }
}

fn required(value: &str, field: &str) -> Result<String, JiraError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(JiraError::Invalid(format!("{field} is required")));
    }
    Ok(value.to_string())
}

fn comment_id(id: &str) -> Result<String, JiraError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(JiraError::Invalid(format!("Invalid comment id \"{id}\"")));
    }
    Ok(id.to_string())
}

fn fingerprint(auth: &JiraAuth) -> u64 {
    let mut hasher = DefaultHasher::new();
    match auth {
        JiraAuth::ApiToken { api_token } => (
            "api-token",
            &api_token.base_url,
            &api_token.email,
            api_token.token.expose(),
        )
            .hash(&mut hasher),
        JiraAuth::OAuth { oauth } => {
            ("oauth", &oauth.cloud_id, oauth.access_token.expose()).hash(&mut hasher)
        }
    }
    hasher.finish()
}

/// The API path of an attachment URL the proxy may fetch: Jira's
/// `/rest/api/{2,3}/attachment/{content,thumbnail}/<id>` on the site (or the OAuth
/// gateway's `/ex/jira/<cloudId>/...`), as `/rest/api/3/attachment/<kind>/<id>?redirect=false`.
pub fn attachment_path(url: &str, site: &Url, api_base: &Url) -> Result<String, JiraError> {
    let refused = |why: &str| JiraError::AttachmentRefused(why.to_string());
    let url = Url::parse(url.trim()).map_err(|_| refused("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("only http(s) URLs are fetched"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("credentials do not belong in the URL"));
    }
    let same = |base: &Url| {
        url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
    };
    let path = if same(api_base)
        && url
            .path()
            .starts_with(api_base.path().trim_end_matches('/'))
        && api_base.path() != "/"
        && !api_base.path().is_empty()
    {
        url.path()[api_base.path().trim_end_matches('/').len()..].to_string()
    } else if same(site) {
        url.path().to_string()
    } else {
        return Err(refused("it is not on the configured Jira site"));
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [
            "rest",
            "api",
            "2" | "3",
            "attachment",
            kind @ ("content" | "thumbnail"),
            id,
        ] if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(format!("/rest/api/3/attachment/{kind}/{id}?redirect=false"))
        }
        _ => Err(refused("it is not a Jira attachment")),
    }
}

fn name_of(value: &Value) -> Option<String> {
    value["name"]
        .as_str()
        .or_else(|| value["displayName"].as_str())
        .map(str::to_string)
}

fn browse_url(site: &Url, key: &str) -> String {
    format!(
        "{}/browse/{}",
        site.as_str().trim_end_matches('/'),
        crate::api::segment(key)
    )
}

/// A listed issue from Jira's JSON.
pub fn summary_of(value: &Value, site: &Url) -> Option<JiraIssueSummary> {
    let key = value["key"].as_str()?.to_string();
    let fields = &value["fields"];
    Some(JiraIssueSummary {
        url: browse_url(site, &key),
        summary: fields["summary"].as_str().unwrap_or_default().to_string(),
        status: name_of(&fields["status"]).unwrap_or_else(|| "Unknown".into()),
        priority: name_of(&fields["priority"]),
        issue_type: name_of(&fields["issuetype"]),
        assignee: name_of(&fields["assignee"]),
        updated: fields["updated"].as_str().map(str::to_string),
        labels: fields["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
        key,
    })
}

fn comment_of(value: &Value) -> Option<JiraComment> {
    Some(JiraComment {
        id: text(&value["id"])?,
        author: name_of(&value["author"]).unwrap_or_else(|| "unknown".into()),
        body: adf::to_markdown(&value["body"]),
        created: value["created"].as_str().unwrap_or_default().to_string(),
        updated: value["updated"].as_str().map(str::to_string),
    })
}

/// An issue's detail from Jira's JSON.
pub fn detail_of(value: &Value, site: &Url) -> Option<JiraIssue> {
    let summary = summary_of(value, site)?;
    let fields = &value["fields"];
    Some(JiraIssue {
        description: adf::to_markdown(&fields["description"]),
        reporter: name_of(&fields["reporter"]),
        created: fields["created"].as_str().map(str::to_string),
        comments: fields["comment"]["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(comment_of)
            .collect(),
        attachments: fields["attachment"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some(JiraAttachment {
                    id: text(&a["id"])?,
                    filename: a["filename"].as_str().unwrap_or("attachment").to_string(),
                    mime_type: a["mimeType"]
                        .as_str()
                        .unwrap_or("application/octet-stream")
                        .to_string(),
                    size: a["size"].as_u64(),
                    url: a["content"].as_str()?.to_string(),
                    local_path: None,
                })
            })
            .collect(),
        summary,
    })
}

impl JiraIssue {
    fn to_core(&self, issue: IssueRef) -> Issue {
        Issue {
            summary: IssueSummary {
                issue,
                title: self.summary.summary.clone(),
                status: self.summary.status.clone(),
                url: Some(self.summary.url.clone()),
            },
            description: self.description.clone(),
            comments: self
                .comments
                .iter()
                .map(|c| Comment {
                    author: c.author.clone(),
                    created: c.created.clone(),
                    body: c.body.clone(),
                })
                .collect(),
            attachments: self
                .attachments
                .iter()
                .map(|a| IssueAttachment {
                    filename: a.filename.clone(),
                    mime_type: a.mime_type.clone(),
                    size: a.size,
                    local_path: a.local_path.as_ref().map(Into::into),
                    url: Some(a.url.clone()),
                })
                .collect(),
        }
    }
}

fn issue_error(e: JiraError) -> IssueError {
    IssueError::adapter(e)
}

#[async_trait]
impl IssueSource for JiraService {
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
        let connection = self.connect().await.map_err(issue_error)?;
        let value = JiraApi::new(&connection.api)
            .issue(id.as_str())
            .await
            .map_err(|e| match e {
                UpstreamError::NotFound { .. } => {
                    IssueError::NotFound(IssueRef::new(self.source.clone(), id.clone()))
                }
                other => issue_error(other.into()),
            })?;
        let issue = detail_of(&value, &connection.site).ok_or_else(|| {
            issue_error(JiraError::Upstream(UpstreamError::InvalidResponse {
                service: "Jira",
                message: "the issue has no key or fields".into(),
            }))
        })?;
        Ok(issue.to_core(IssueRef::new(self.source.clone(), id.clone())))
    }

    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let target = self
            .transition(id.as_str(), status)
            .await
            .map_err(issue_error)?;
        Ok(self
            .seen
            .after_status(IssueRef::new(self.source.clone(), id.clone()), &target))
    }

    async fn add_comment(&self, id: &IssueId, body: &str) -> Result<Comment, IssueError> {
        let comment = JiraService::add_comment(self, id.as_str(), body)
            .await
            .map_err(issue_error)?;
        Ok(Comment {
            author: comment.author,
            created: comment.created,
            body: comment.body,
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
        let section: JiraSection = serde_json::from_value(json!({
            "authMethod": "api-token",
            "apiToken": {"baseUrl": "https://x.atlassian.net", "email": "a@b.c", "token": "t"},
            "defaultProjectKey": "PROJ",
            "refreshIntervalMinutes": 7
        }))
        .unwrap();
        assert_eq!(section.settings.refresh_interval_minutes, 7);
        assert_eq!(section.site_url(), "https://x.atlassian.net");
        let back = serde_json::to_value(&section).unwrap();
        assert_eq!(back["authMethod"], "api-token");
        assert_eq!(back["apiToken"]["token"], "t");
        assert_eq!(back["dataLifecycle"]["saveOn"], "view");
    }

    #[test]
    fn attachment_urls_are_confined_to_the_site() {
        let site = Url::parse("https://x.atlassian.net").unwrap();
        let api = Url::parse("https://x.atlassian.net").unwrap();
        let ok = |u: &str| attachment_path(u, &site, &api);
        assert_eq!(
            ok("https://x.atlassian.net/rest/api/3/attachment/content/10001").unwrap(),
            "/rest/api/3/attachment/content/10001?redirect=false"
        );
        assert_eq!(
            ok("https://x.atlassian.net/rest/api/2/attachment/thumbnail/7?redirect=true").unwrap(),
            "/rest/api/3/attachment/thumbnail/7?redirect=false"
        );
        for bad in [
            "https://evil.invalid/rest/api/3/attachment/content/1",
            "http://x.atlassian.net/rest/api/3/attachment/content/1",
            "https://x.atlassian.net:444/rest/api/3/attachment/content/1",
            "file:///etc/passwd",
            "https://user:pw@x.atlassian.net/rest/api/3/attachment/content/1",
            "https://x.atlassian.net/rest/api/3/myself",
            "https://x.atlassian.net/rest/api/3/attachment/content/../../myself",
            "https://x.atlassian.net/rest/api/3/attachment/content/1%2F..",
            "not a url",
        ] {
            assert_eq!(
                ok(bad).unwrap_err().code(),
                "ATTACHMENT_URL_REFUSED",
                "{bad}"
            );
        }
        let gateway = Url::parse("https://api.atlassian.com/ex/jira/abc").unwrap();
        assert_eq!(
            attachment_path(
                "https://api.atlassian.com/ex/jira/abc/rest/api/3/attachment/content/5",
                &site,
                &gateway
            )
            .unwrap(),
            "/rest/api/3/attachment/content/5?redirect=false"
        );
    }
}
