//! Kiket, an issue tracker with workflows: [`KiketService`] (setup, status, config,
//! issues, comments, workflows and transitions, the issue-to-worktree flow, webhooks, SLA
//! events) and the `kiket` issue source it registers.
//!
//! The section `kiket` of `integrations.json` holds the base URL (the service root; the
//! API is `<baseUrl>/api/v1/ext`), the workspace token, the project slug, the optional
//! webhook secret and the shared [`TrackerSettings`]. Requests go through one
//! [`KiketApi`] per configuration, paced to Kiket's documented 600 requests a minute.

pub mod client;
mod source;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use openkit_core::error::{DomainError, ErrorKind};
use openkit_core::integrations::{IntegrationsError, SaveOn, TrackerSettings, UpdateError};
use openkit_core::issues::{IssueError, IssueRef, IssueSource, SourceId};
use openkit_core::logs::ActivityEvent;
use openkit_core::task_worktree::{TaskWorktree, TaskWorktreeError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::UpstreamError;
use crate::hub::IntegrationContext;
use crate::secret::Secret;

pub use client::{
    CallError, IssueChanges, IssueFilter, KiketApi, KiketComment, KiketIssue, SlaEvent, SlaFilter,
    Workflow, WorkflowState, WorkflowTransition,
};
pub use source::KiketSource;

/// The section of `integrations.json` and the issue source's name.
pub const SECTION: &str = "kiket";

/// What `integrations.json` keeps for Kiket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KiketSection {
    /// The service root (`https://kiket.dev`).
    pub base_url: String,
    /// The workspace token (`Authorization: Bearer`).
    pub workspace_token: Secret,
    /// The project (`/projects/:slug/workflows`).
    pub project_slug: String,
    /// The secret Kiket signs webhooks with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<Secret>,
    /// Who "assigned to me" means for the background refresh (`assignee` filter);
    /// `me` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Refresh and automation settings shared by every tracker.
    #[serde(flatten)]
    pub settings: TrackerSettings,
}

/// `POST /api/kiket/setup`.
#[derive(Debug, Clone)]
pub struct KiketSetup {
    /// The service root.
    pub base_url: String,
    /// The workspace token.
    pub workspace_token: Secret,
    /// The project slug.
    pub project_slug: String,
    /// The webhook secret, if webhooks are to be received.
    pub webhook_secret: Option<Secret>,
}

/// `PATCH /api/kiket/config`: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct KiketConfigChange {
    /// Another project.
    pub project_slug: Option<String>,
    /// A new webhook secret (`Some(None)` removes it).
    pub webhook_secret: Option<Option<Secret>>,
    /// Who "assigned to me" means (`Some(None)` resets to `me`).
    pub assignee: Option<Option<String>>,
    /// Tracker settings fields to change (JSON merge patch over the current ones).
    pub settings: Map<String, Value>,
}

/// What `GET /api/kiket/status` reports (never a credential).
#[derive(Debug, Clone, PartialEq)]
pub struct KiketStatus {
    /// Whether a section exists.
    pub configured: bool,
    /// The service root.
    pub base_url: Option<String>,
    /// The project.
    pub project_slug: Option<String>,
    /// Whether webhooks can be verified.
    pub webhook_configured: bool,
    /// The assignee filter of the background refresh.
    pub assignee: Option<String>,
    /// Shared tracker settings.
    pub settings: TrackerSettings,
}

/// Filters of `GET /api/kiket/issues`.
#[derive(Debug, Clone, Default)]
pub struct IssueQuery {
    /// Text matched against key and title (case-insensitive).
    pub query: Option<String>,
    /// Kiket's own filters.
    pub filter: IssueFilter,
}

/// A state an issue can move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusOption {
    /// The state's key.
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// What a verified webhook did.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookOutcome {
    /// Kiket's event name.
    pub event: String,
    /// The activity recorded (`None` when the activity settings suppress it or the
    /// delivery repeats one already received).
    pub activity_id: Option<String>,
    /// Whether this exact delivery was already received within the replay window.
    pub duplicate: bool,
}

/// A failed Kiket operation.
#[derive(Debug, thiserror::Error)]
pub enum KiketError {
    /// No section in `integrations.json`.
    #[error("Kiket is not configured: POST /api/kiket/setup first")]
    NotConfigured,
    /// Setup could not reach or use the API; nothing was saved.
    #[error("Connection failed: {0}")]
    ConnectionFailed(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The status is not one the issue can move to.
    #[error("\"{status}\" is not a state issue {key} can move to (available: {available})")]
    UnknownStatus {
        /// The issue.
        key: String,
        /// What was asked.
        status: String,
        /// What is possible.
        available: String,
    },
    /// A workflow guard (or a pending approval) refused the transition.
    #[error("Kiket refused the transition: {message}")]
    TransitionRefused {
        /// Kiket's message.
        message: String,
        /// Kiket's code.
        code: Option<String>,
    },
    /// The workspace token lacks the scope a call needs (Kiket's 403).
    #[error("Kiket refused the request: the workspace token lacks the scope {scope} ({message})")]
    MissingScope {
        /// The scope.
        scope: &'static str,
        /// Kiket's message.
        message: String,
    },
    /// A webhook whose signature does not verify; nothing was changed.
    #[error("Webhook rejected: {0}")]
    Signature(#[from] webhook::SignatureError),
    /// A verified webhook whose body is not a Kiket event.
    #[error("Invalid webhook payload: {0}")]
    InvalidPayload(String),
    /// The call failed in Kiket's terms.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// `integrations.json` could not be read or written.
    #[error(transparent)]
    Store(#[from] IntegrationsError),
    /// The worktree could not be had.
    #[error(transparent)]
    Task(#[from] TaskWorktreeError),
    /// The issue key cannot name an issue.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Writing the activity failed.
    #[error(transparent)]
    Io(#[from] openkit_core::error::IoFailure),
}

impl From<CallError> for KiketError {
    fn from(e: CallError) -> Self {
        match e.error {
            UpstreamError::Forbidden { message, .. } => KiketError::MissingScope {
                scope: e.scope,
                message,
            },
            other => KiketError::Upstream(other),
        }
    }
}

impl<E: Into<KiketError>> From<UpdateError<E>> for KiketError {
    fn from(e: UpdateError<E>) -> Self {
        match e {
            UpdateError::Store(s) => KiketError::Store(s),
            UpdateError::Rejected(r) => r.into(),
        }
    }
}

impl DomainError for KiketError {
    fn kind(&self) -> ErrorKind {
        match self {
            KiketError::NotConfigured
            | KiketError::ConnectionFailed(_)
            | KiketError::Invalid(_)
            | KiketError::UnknownStatus { .. }
            | KiketError::InvalidPayload(_) => ErrorKind::InvalidInput,
            KiketError::TransitionRefused { .. } => ErrorKind::Conflict,
            KiketError::MissingScope { .. } => ErrorKind::Upstream,
            KiketError::Signature(_) => ErrorKind::Unauthenticated,
            KiketError::Upstream(e) => e.kind(),
            KiketError::Store(e) => e.kind(),
            KiketError::Task(e) => e.kind(),
            KiketError::Issue(e) => e.kind(),
            KiketError::Io(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            KiketError::NotConfigured => "KIKET_NOT_CONFIGURED",
            KiketError::ConnectionFailed(_) => "KIKET_CONNECTION_FAILED",
            KiketError::Invalid(_) => "INVALID_INPUT",
            KiketError::UnknownStatus { .. } => "KIKET_UNKNOWN_STATUS",
            KiketError::TransitionRefused { .. } => "KIKET_TRANSITION_REFUSED",
            KiketError::MissingScope { .. } => "KIKET_MISSING_SCOPE",
            KiketError::Signature(_) => "KIKET_INVALID_SIGNATURE",
            KiketError::InvalidPayload(_) => "KIKET_INVALID_PAYLOAD",
            KiketError::Upstream(e) => e.code(),
            KiketError::Store(e) => e.code(),
            KiketError::Task(e) => e.code(),
            KiketError::Issue(e) => e.code(),
            KiketError::Io(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            KiketError::TransitionRefused {
                code: Some(code), ..
            } => vec![("upstreamCode", code.clone())],
            KiketError::MissingScope { scope, .. } => vec![("scope", scope.to_string())],
            KiketError::Upstream(e) => e.context(),
            KiketError::Task(e) => e.context(),
            _ => Vec::new(),
        }
    }
}

/// The configuration in use and its API client (one per configuration, so the pace is
/// shared by every call).
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) section: KiketSection,
    pub(crate) api: KiketApi,
}

/// Kiket for one project.
#[derive(Debug)]
pub struct KiketService {
    context: Arc<IntegrationContext>,
    connection: RwLock<Option<Arc<Connection>>>,
    /// Signatures of webhooks received within the replay window.
    deliveries: Mutex<HashMap<String, Instant>>,
    source: Arc<KiketSource>,
}

/// The states whose issues count as finished when Kiket gives no category.
const DONE_STATES: [&str; 6] = [
    "done",
    "closed",
    "resolved",
    "cancelled",
    "canceled",
    "completed",
];

impl KiketService {
    /// The service of the project in `context`; when Kiket is configured its issue
    /// source is registered at once.
    pub fn new(context: Arc<IntegrationContext>) -> Arc<Self> {
        let service = Arc::new_cyclic(|weak| KiketService {
            source: Arc::new(KiketSource::new(weak.clone())),
            context,
            connection: RwLock::new(None),
            deliveries: Mutex::new(HashMap::new()),
        });
        if let Ok(Some(section)) = service.context.store.section::<KiketSection>(SECTION)
            && let Ok(connection) = service.connect(&section)
        {
            service.install(Some(connection));
        }
        service
    }

    fn connect(&self, section: &KiketSection) -> Result<Connection, UpstreamError> {
        let api = KiketApi::new(
            self.context.client.clone(),
            &section.base_url,
            &section.workspace_token,
            &section.project_slug,
        )?;
        Ok(Connection {
            section: section.clone(),
            api,
        })
    }

    fn install(&self, connection: Option<Connection>) {
        let registered = connection.is_some();
        *self.connection.write().unwrap_or_else(|e| e.into_inner()) = connection.map(Arc::new);
        let sources = self.context.workbench.issue_sources();
        if registered {
            sources.register(Arc::clone(&self.source) as Arc<dyn IssueSource>);
        } else {
            sources.unregister(&self.source_id());
        }
    }

    pub(crate) fn source_id(&self) -> SourceId {
        SourceId::new(SECTION).expect("a valid source name")
    }

    pub(crate) fn connection(&self) -> Result<Arc<Connection>, KiketError> {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(KiketError::NotConfigured)
    }

    /// The issue source registered as `kiket` while configured.
    pub fn source(&self) -> Arc<KiketSource> {
        Arc::clone(&self.source)
    }

    /// What the status endpoint shows.
    pub fn status(&self) -> Result<KiketStatus, KiketError> {
        let section = self.context.store.section::<KiketSection>(SECTION)?;
        Ok(match section {
            None => KiketStatus {
                configured: false,
                base_url: None,
                project_slug: None,
                webhook_configured: false,
                assignee: None,
                settings: TrackerSettings::default(),
            },
            Some(s) => KiketStatus {
                configured: true,
                base_url: Some(s.base_url),
                project_slug: Some(s.project_slug),
                webhook_configured: s.webhook_secret.is_some_and(|w| !w.is_empty()),
                assignee: s.assignee,
                settings: s.settings,
            },
        })
    }

    /// Checks the credentials against Kiket (the project's workflows and one page of
    /// issues), then saves them and registers the issue source. Settings of an earlier
    /// setup are kept.
    pub async fn setup(&self, setup: KiketSetup) -> Result<(), KiketError> {
        let slug = setup.project_slug.trim().to_string();
        if slug.is_empty() {
            return Err(KiketError::Invalid("projectSlug is required".into()));
        }
        if setup.workspace_token.is_empty() {
            return Err(KiketError::Invalid("workspaceToken is required".into()));
        }
        let previous = self
            .context
            .store
            .section::<KiketSection>(SECTION)
            .ok()
            .flatten();
        let section = KiketSection {
            base_url: setup.base_url.trim().trim_end_matches('/').to_string(),
            workspace_token: setup.workspace_token,
            project_slug: slug,
            webhook_secret: setup.webhook_secret.filter(|s| !s.is_empty()),
            assignee: previous.as_ref().and_then(|p| p.assignee.clone()),
            settings: previous.map(|p| p.settings).unwrap_or_default(),
        };
        let connection = self
            .connect(&section)
            .map_err(|e| KiketError::ConnectionFailed(e.to_string()))?;
        Self::check(&connection.api)
            .await
            .map_err(|e| KiketError::ConnectionFailed(e.to_string()))?;
        self.context.store.put_section(SECTION, &section)?;
        self.install(Some(connection));
        Ok(())
    }

    async fn check(api: &KiketApi) -> Result<(), KiketError> {
        api.workflows().await?;
        Ok(())
    }

    /// Changes the configuration: project, webhook secret, assignee filter, settings.
    pub fn update_config(&self, change: KiketConfigChange) -> Result<KiketStatus, KiketError> {
        let updated = self
            .context
            .store
            .update_section::<KiketSection, KiketError>(SECTION, |current| {
                let mut section = current.ok_or(KiketError::NotConfigured)?;
                if let Some(slug) = change.project_slug {
                    let slug = slug.trim().to_string();
                    if slug.is_empty() {
                        return Err(KiketError::Invalid("projectSlug must not be empty".into()));
                    }
                    section.project_slug = slug;
                }
                if let Some(secret) = change.webhook_secret {
                    section.webhook_secret = secret.filter(|s| !s.is_empty());
                }
                if let Some(assignee) = change.assignee {
                    section.assignee = assignee
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty());
                }
                if !change.settings.is_empty() {
                    section.settings = merge_settings(&section.settings, change.settings)?;
                }
                Ok(Some(section))
            })?;
        if let Some(section) = updated {
            let connection = self
                .connect(&section)
                .map_err(|e| KiketError::Invalid(e.to_string()))?;
            self.install(Some(connection));
        }
        self.status()
    }

    /// Removes the credentials and unregisters the issue source.
    pub fn delete_credentials(&self) -> Result<(), KiketError> {
        self.context.store.remove_section(SECTION)?;
        self.install(None);
        Ok(())
    }

    /// Whether the configured credentials still work; `None` when not configured.
    pub async fn verify(&self) -> Option<Result<(), UpstreamError>> {
        let connection = self.connection().ok()?;
        Some(
            connection
                .api
                .workflows()
                .await
                .map(|_| ())
                .map_err(|e| e.error),
        )
    }

    /// Issues matching `query`, every page.
    pub async fn issues(&self, query: &IssueQuery) -> Result<Vec<KiketIssue>, KiketError> {
        let connection = self.connection()?;
        let mut issues = connection.api.issues(&query.filter).await?;
        if let Some(text) = query
            .query
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let needle = text.to_lowercase();
            issues.retain(|i| {
                i.key.to_lowercase().contains(&needle) || i.title.to_lowercase().contains(&needle)
            });
        }
        self.source.remember(&issues);
        Ok(issues)
    }

    /// One issue (saved to `issue.json` when `dataLifecycle.saveOn` is `view`).
    pub async fn issue(&self, key: &str) -> Result<KiketIssue, KiketError> {
        let issue = self.fetch(key).await?;
        self.save_issue(&issue, SaveOn::View);
        Ok(issue)
    }

    async fn fetch(&self, key: &str) -> Result<KiketIssue, KiketError> {
        let key = checked_key(key)?;
        let issue = self.connection()?.api.issue(&key).await?;
        self.source.remember(std::slice::from_ref(&issue));
        Ok(issue)
    }

    /// Writes `.openkit/issues/kiket/<key>/issue.json` (what task context and the
    /// worktree list read when Kiket is not asked) if the data lifecycle says to save at
    /// `moment`: `view` saves on every view and at worktree creation, `worktree-creation`
    /// only then, `never` not at all. A failure to save is logged, never an error of the
    /// request.
    fn save_issue(&self, issue: &KiketIssue, moment: SaveOn) {
        let Ok(connection) = self.connection() else {
            return;
        };
        let save_on = connection.section.settings.data_lifecycle.save_on;
        let wanted = match (save_on, moment) {
            (SaveOn::Never, _) => false,
            (SaveOn::View, _) => true,
            (SaveOn::WorktreeCreation, m) => m == SaveOn::WorktreeCreation,
        };
        let Ok(reference) = IssueRef::parse(SECTION, &issue.key) else {
            return;
        };
        if !wanted {
            return;
        }
        let record = serde_json::json!({
            "source": SECTION,
            "key": issue.key,
            "title": issue.title,
            "status": issue.state,
            "url": issue.url,
            "description": issue.description.clone().unwrap_or_default(),
            "labels": issue.labels,
            "assignee": issue.assignee_name(),
            "customFields": issue.custom_fields,
            "updated": issue.updated_at,
            "comments": issue.comments.iter().map(|c| serde_json::json!({
                "author": c.author_name(),
                "created": c.created_at.clone().unwrap_or_default(),
                "body": c.body,
            })).collect::<Vec<_>>(),
            "savedAt": openkit_core::logs::now_iso(),
        });
        let paths = self.context.workbench.paths();
        match openkit_core::persist::write_json(&reference.dir(paths).join("issue.json"), &record) {
            Ok(()) => self.context.workbench.notes().index().changed(&reference),
            Err(e) => tracing::warn!("saving Kiket issue {}: {e}", issue.key),
        }
    }

    /// Changes labels, assignee or custom fields.
    pub async fn update_issue(
        &self,
        key: &str,
        changes: &IssueChanges,
    ) -> Result<KiketIssue, KiketError> {
        let key = checked_key(key)?;
        if changes.is_empty() {
            return Err(KiketError::Invalid(
                "Nothing to change: give labels, assignee or customFields".into(),
            ));
        }
        let issue = self.connection()?.api.update(&key, changes).await?;
        self.source.remember(std::slice::from_ref(&issue));
        Ok(issue)
    }

    /// Adds a comment.
    pub async fn add_comment(&self, key: &str, body: &str) -> Result<KiketComment, KiketError> {
        let key = checked_key(key)?;
        if body.trim().is_empty() {
            return Err(KiketError::Invalid("The comment is empty".into()));
        }
        Ok(self.connection()?.api.comment(&key, body).await?)
    }

    /// The project's workflows.
    pub async fn workflows(&self) -> Result<Vec<Workflow>, KiketError> {
        Ok(self.connection()?.api.workflows().await?)
    }

    /// The states `key` can move to from its current state, per the project's workflows.
    pub async fn status_options(&self, key: &str) -> Result<Vec<StatusOption>, KiketError> {
        let connection = self.connection()?;
        let key = checked_key(key)?;
        let (issue, workflows) =
            tokio::join!(connection.api.issue(&key), connection.api.workflows());
        let (issue, workflows) = (issue?, workflows?);
        Ok(options_from(&issue.state, &workflows))
    }

    /// Moves `key` to the state named `status` (its name or key) through the workflow's
    /// transition. A guard's refusal is [`KiketError::TransitionRefused`].
    pub async fn transition(&self, key: &str, status: &str) -> Result<KiketIssue, KiketError> {
        let connection = self.connection()?;
        let key = checked_key(key)?;
        let status = status.trim();
        if status.is_empty() {
            return Err(KiketError::Invalid("statusName is required".into()));
        }
        let (issue, workflows) =
            tokio::join!(connection.api.issue(&key), connection.api.workflows());
        let (issue, workflows) = (issue?, workflows?);
        let options = options_from(&issue.state, &workflows);
        let Some(target) = options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(status) || o.id.eq_ignore_ascii_case(status))
        else {
            return Err(KiketError::UnknownStatus {
                key,
                status: status.to_string(),
                available: if options.is_empty() {
                    "none".into()
                } else {
                    options
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        };
        let moved = match connection.api.transition(&key, &target.id).await {
            Ok(moved) => moved,
            // A workflow guard denying (422) or an approval pending (409): Kiket's word.
            Err(CallError {
                error:
                    UpstreamError::Rejected {
                        status: 409 | 422,
                        message,
                        code,
                        ..
                    },
                ..
            }) => return Err(KiketError::TransitionRefused { message, code }),
            Err(e) => return Err(e.into()),
        };
        let issue = match moved {
            Some(issue) if issue.key == key => issue,
            _ => connection.api.issue(&key).await?,
        };
        self.source.remember(std::slice::from_ref(&issue));
        Ok(issue)
    }

    /// SLA alerts (`GET /sla/events`).
    pub async fn sla_events(&self, filter: &SlaFilter) -> Result<Vec<SlaEvent>, KiketError> {
        Ok(self.connection()?.api.sla_events(filter).await?)
    }

    /// The worktree of issue `key`: the shared issue-to-worktree flow (reuse, branch
    /// rule of source `kiket`, link).
    pub async fn create_task(
        &self,
        key: &str,
        branch: Option<String>,
    ) -> Result<TaskWorktree, KiketError> {
        let issue = self.fetch(key).await?;
        self.save_issue(&issue, SaveOn::WorktreeCreation);
        let reference = IssueRef::parse(SECTION, &issue.key)?;
        Ok(self
            .context
            .workbench
            .create_worktree_for_issue(&reference, &issue.title, branch)
            .await?)
    }

    /// Receives a webhook: verifies its signature (and timestamp) with the configured
    /// secret, then records the activity it stands for. A bad or missing signature
    /// changes nothing; a delivery repeated within the replay window is acknowledged
    /// without a second activity.
    pub fn receive_webhook(
        &self,
        body: &[u8],
        signature: Option<&str>,
        timestamp: Option<&str>,
    ) -> Result<WebhookOutcome, KiketError> {
        let section = self
            .context
            .store
            .section::<KiketSection>(SECTION)?
            .ok_or(KiketError::NotConfigured)?;
        let now = chrono::Utc::now().timestamp();
        webhook::verify(
            section.webhook_secret.as_ref().map(Secret::expose),
            body,
            signature,
            timestamp,
            now,
        )?;
        let payload: Value = serde_json::from_slice(body)
            .map_err(|e| KiketError::InvalidPayload(format!("not JSON: {e}")))?;
        let activity = webhook::activity_for(&payload)
            .ok_or_else(|| KiketError::InvalidPayload("no \"event\" field".into()))?;
        let fingerprint = signature.unwrap_or_default().trim().to_ascii_lowercase();
        {
            let mut seen = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
            seen.retain(|_, at| at.elapsed() <= webhook::MAX_SKEW);
            if seen.contains_key(&fingerprint) {
                return Ok(WebhookOutcome {
                    event: activity.event,
                    activity_id: None,
                    duplicate: true,
                });
            }
            seen.insert(fingerprint.clone(), Instant::now());
        }
        let mut event = ActivityEvent::new(
            activity.category,
            &activity.event_type,
            activity.severity,
            &activity.title,
        );
        event.detail = activity.detail.clone();
        event.metadata = Some(activity.metadata.clone());
        if let Some(key) = &activity.issue_key
            && let Ok(reference) = IssueRef::parse(SECTION, key)
        {
            event.worktree_id = self
                .context
                .workbench
                .notes()
                .get(&reference)
                .ok()
                .and_then(|n| n.linked_worktree_id);
            if event.worktree_id.is_some() {
                event.category = openkit_core::events::ActivityCategory::Worktree;
            }
            if let Some(state) = &activity.new_state {
                self.source.remember_state(key, state);
            }
        }
        let recorded = match self.context.workbench.backbone().record_activity(event) {
            Ok(recorded) => recorded,
            Err(e) => {
                // Not kept: Kiket's retry of this delivery must not count as a repeat.
                self.deliveries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&fingerprint);
                return Err(e.into());
            }
        };
        Ok(WebhookOutcome {
            event: activity.event,
            activity_id: recorded.map(|e| e.id.clone()),
            duplicate: false,
        })
    }

    /// The assignee filter of the background refresh.
    pub(crate) fn assignee(&self) -> Result<String, KiketError> {
        Ok(self
            .connection()?
            .section
            .assignee
            .clone()
            .unwrap_or_else(|| "me".into()))
    }

    /// Whether `state` is a finished state per `workflows` (or its name when Kiket gives
    /// no category).
    pub(crate) fn is_done(state: &str, workflows: &[Workflow]) -> bool {
        let known = workflows
            .iter()
            .flat_map(|w| &w.states)
            .find(|s| s.key.eq_ignore_ascii_case(state));
        match known {
            Some(s) if s.category.is_some() => s.is_done(),
            _ => DONE_STATES.iter().any(|d| d.eq_ignore_ascii_case(state)),
        }
    }
}

/// The states reachable from `state`: targets of the transitions that leave it.
pub fn options_from(state: &str, workflows: &[Workflow]) -> Vec<StatusOption> {
    let mut options: Vec<StatusOption> = Vec::new();
    for workflow in workflows {
        for transition in workflow.transitions.iter().filter(|t| t.leaves(state)) {
            if transition.to.eq_ignore_ascii_case(state) {
                continue;
            }
            let name = workflow
                .states
                .iter()
                .find(|s| s.key.eq_ignore_ascii_case(&transition.to))
                .map(|s| s.display().to_string())
                .unwrap_or_else(|| transition.to.clone());
            if !options.iter().any(|o| o.id == transition.to) {
                options.push(StatusOption {
                    id: transition.to.clone(),
                    name,
                });
            }
        }
    }
    options
}

fn checked_key(key: &str) -> Result<String, KiketError> {
    let key = key.trim();
    openkit_core::issues::IssueId::new(key)?;
    Ok(key.to_string())
}

/// Applies a JSON merge patch to tracker settings, validating the result.
fn merge_settings(
    current: &TrackerSettings,
    patch: Map<String, Value>,
) -> Result<TrackerSettings, KiketError> {
    fn merge(target: &mut Value, patch: Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.insert(k, Value::Null);
                    } else {
                        merge(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p,
        }
    }
    let mut value = serde_json::to_value(current).unwrap_or_default();
    merge(&mut value, Value::Object(patch));
    let settings: TrackerSettings = serde_json::from_value(value)
        .map_err(|e| KiketError::Invalid(format!("Invalid settings: {e}")))?;
    if settings.refresh_interval_minutes < 1 {
        return Err(KiketError::Invalid(
            "refreshIntervalMinutes must be at least 1".into(),
        ));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> Vec<Workflow> {
        serde_json::from_value(serde_json::json!([{
            "key": "default", "name": "Default",
            "states": [
                {"key": "todo", "name": "To Do", "category": "todo"},
                {"key": "in_progress", "name": "In Progress", "category": "in_progress"},
                {"key": "done", "name": "Done", "category": "done"}
            ],
            "transitions": [
                {"from": "todo", "to": "in_progress"},
                {"from": ["in_progress"], "to": "done", "guarded": true},
                {"from": "*", "to": "todo"}
            ]
        }]))
        .unwrap()
    }

    #[test]
    fn options_follow_the_transitions() {
        let names = |state: &str| -> Vec<String> {
            options_from(state, &workflow())
                .into_iter()
                .map(|o| o.name)
                .collect()
        };
        assert_eq!(names("todo"), vec!["In Progress"]);
        assert_eq!(names("in_progress"), vec!["Done", "To Do"]);
        assert!(KiketService::is_done("done", &workflow()));
        assert!(!KiketService::is_done("todo", &workflow()));
        assert!(KiketService::is_done("Closed", &[]));
    }

    #[test]
    fn settings_merge_and_validate() {
        let base = TrackerSettings::default();
        let mut patch = Map::new();
        patch.insert("refreshIntervalMinutes".into(), serde_json::json!(10));
        patch.insert(
            "dataLifecycle".into(),
            serde_json::json!({"autoCleanup": {"enabled": true}}),
        );
        let merged = merge_settings(&base, patch).unwrap();
        assert_eq!(merged.refresh_interval_minutes, 10);
        assert!(merged.data_lifecycle.auto_cleanup.enabled);
        let mut bad = Map::new();
        bad.insert("refreshIntervalMinutes".into(), serde_json::json!(0));
        assert_eq!(
            merge_settings(&base, bad).unwrap_err().code(),
            "INVALID_INPUT"
        );
        let mut wrong = Map::new();
        wrong.insert("autoStartAgent".into(), serde_json::json!(5));
        assert!(merge_settings(&base, wrong).is_err());
    }

    #[test]
    fn a_forbidden_call_names_its_scope() {
        let e: KiketError = CallError {
            error: UpstreamError::Forbidden {
                service: "Kiket",
                message: "insufficient scope".into(),
            },
            scope: client::scope::WRITE_COMMENTS,
        }
        .into();
        assert_eq!(e.code(), "KIKET_MISSING_SCOPE");
        assert!(e.to_string().contains("write:comments"), "{e}");
        assert_eq!(e.context(), vec![("scope", "write:comments".to_string())]);
        let refused = KiketError::TransitionRefused {
            message: "Needs review".into(),
            code: Some("guard_denied".into()),
        };
        assert_eq!(refused.kind(), ErrorKind::Conflict);
    }
}
