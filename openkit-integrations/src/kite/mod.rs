//! Kite, the agent event relay: [`KiteService`].
//!
//! - Outbound: activity events of the chosen categories and types become CloudEvents 1.0
//!   (`id` = the activity's id, `type` = `dev.openkit.activity.<category>.<type>`,
//!   `subject` = the worktree id) queued in the durable [`outbox::Outbox`]
//!   (`.openkit/kite-outbox.jsonl`) and delivered to `/hooks/<team_id>/<source>/<token>`
//!   in order, with backoff on 429 (its `Retry-After`), 5xx and unreachable; an event
//!   leaves the outbox only once Kite took it (or refused it for good), so a restart or a
//!   Kite outage loses nothing and the stable id lets Kite drop a repeat.
//! - Agent messages: sent with `from` = the project's agent name after the 64 KiB check;
//!   received by polling `GET /events` with a `since` cursor persisted in
//!   `.openkit/kite-inbox.json`. Each message to this agent becomes one activity event
//!   whose id is derived from Kite's event id, so it is recorded once even across a
//!   crash between recording and saving the cursor.
//! - The team's outbound webhook config passes through; its secret is never returned.
//!
//! The background work (forwarding, delivery, polling) runs on the runtime the service
//! was created on, and ends when the service is dropped.

pub mod client;
pub mod outbox;

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use openkit_core::backbone::FeedEvent;
use openkit_core::error::{DomainError, ErrorKind, IoFailure};
use openkit_core::events::{ActivityCategory, Severity};
use openkit_core::integrations::{IntegrationsError, UpdateError};
use openkit_core::logs::{ActivityEvent, ActivityQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use crate::api::UpstreamError;
use crate::hub::IntegrationContext;
use crate::secret::Secret;

pub use client::{
    KiteApi, KiteEvent, MAX_MESSAGE_BYTES, MESSAGE_TYPE, MessageReceipt, OutgoingMessage,
    WebhookConfig,
};
pub use outbox::Outbox;

/// The section of `integrations.json`.
pub const SECTION: &str = "kite";
/// The inbox cursor file under `.openkit/`.
pub const INBOX_FILE: &str = "kite-inbox.json";
/// How often `GET /events` is polled when not configured otherwise.
pub const DEFAULT_POLL_SECONDS: u64 = 15;
/// Activity types of inbound messages (never forwarded back to Kite).
pub const MESSAGE_ACTIVITY: &str = "kite_message";
/// Activity categories that can be forwarded.
pub const CATEGORIES: [&str; 3] = ["agent", "worktree", "system"];
/// The shortest and longest waits between delivery attempts after a failure.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Event ids of received messages remembered beside the cursor.
const SEEN_KEPT: usize = 1000;

/// What `integrations.json` keeps for Kite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KiteSection {
    /// The service root (`https://api.getkite.sh`).
    pub base_url: String,
    /// The API key (bearer).
    pub api_key: Secret,
    /// The team (`team_id` on every bearer call).
    pub team_id: String,
    /// The ingest source name.
    pub source: String,
    /// The ingest hook token.
    pub hook_token: Secret,
    /// Whether activity is forwarded.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Categories forwarded (empty: all).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Activity types forwarded (`type` or `category.type`; empty: all).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// This project's agent name (`from` of messages); the project's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Seconds between polls of `GET /events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_seconds: Option<u64>,
}

fn yes() -> bool {
    true
}

/// `POST /api/kite/setup`.
#[derive(Debug, Clone)]
pub struct KiteSetup {
    /// The service root.
    pub base_url: String,
    /// The API key.
    pub api_key: Secret,
    /// The team.
    pub team_id: String,
    /// The ingest source.
    pub source: String,
    /// The ingest hook token.
    pub hook_token: Secret,
}

/// `PATCH /api/kite/config`: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct KiteConfigChange {
    /// Forwarding on or off.
    pub enabled: Option<bool>,
    /// Categories forwarded.
    pub categories: Option<Vec<String>>,
    /// Event types forwarded.
    pub event_types: Option<Vec<String>>,
    /// The agent name (`Some(None)`: the project's name).
    pub agent_name: Option<Option<String>>,
    /// Seconds between polls (at least 1).
    pub poll_interval_seconds: Option<u64>,
}

/// What `GET /api/kite/status` reports (never a credential).
#[derive(Debug, Clone, PartialEq)]
pub struct KiteStatus {
    /// Whether a section exists.
    pub configured: bool,
    /// The service root.
    pub base_url: Option<String>,
    /// The team.
    pub team_id: Option<String>,
    /// The ingest source.
    pub source: Option<String>,
    /// This project's agent name.
    pub agent_name: String,
    /// Forwarding on.
    pub enabled: bool,
    /// Categories forwarded.
    pub categories: Vec<String>,
    /// Event types forwarded.
    pub event_types: Vec<String>,
    /// Seconds between polls.
    pub poll_interval_seconds: u64,
    /// Events waiting in the outbox.
    pub pending: usize,
    /// Events delivered since start.
    pub delivered: u64,
    /// The last delivery failure, if the last attempt failed.
    pub last_delivery_error: Option<String>,
    /// The inbox cursor.
    pub inbox_since: Option<String>,
    /// Messages received since start.
    pub received: u64,
}

/// A message to send (`POST /api/kite/messages`).
#[derive(Debug, Clone)]
pub struct MessageDraft {
    /// The receiving agent.
    pub to: String,
    /// Text.
    pub body: String,
    /// Thread.
    pub thread_id: Option<String>,
    /// The message answered.
    pub reply_to_id: Option<String>,
}

/// A failed Kite operation.
#[derive(Debug, thiserror::Error)]
pub enum KiteError {
    /// No section in `integrations.json`.
    #[error("Kite is not configured: POST /api/kite/setup first")]
    NotConfigured,
    /// Setup could not use the API; nothing was saved.
    #[error("Connection failed: {0}")]
    ConnectionFailed(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The message's JSON body is over Kite's 64 KiB limit; it was not sent.
    #[error("The message is {size} bytes as JSON; Kite takes at most 65536")]
    MessageTooLarge {
        /// The body's size.
        size: usize,
    },
    /// The call failed in Kite's terms.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// `integrations.json` could not be read or written.
    #[error(transparent)]
    Store(#[from] IntegrationsError),
    /// A local file could not be written.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

impl<E: Into<KiteError>> From<UpdateError<E>> for KiteError {
    fn from(e: UpdateError<E>) -> Self {
        match e {
            UpdateError::Store(s) => KiteError::Store(s),
            UpdateError::Rejected(r) => r.into(),
        }
    }
}

impl DomainError for KiteError {
    fn kind(&self) -> ErrorKind {
        match self {
            KiteError::NotConfigured
            | KiteError::ConnectionFailed(_)
            | KiteError::Invalid(_)
            | KiteError::MessageTooLarge { .. } => ErrorKind::InvalidInput,
            KiteError::Upstream(e) => e.kind(),
            KiteError::Store(e) => e.kind(),
            KiteError::Io(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            KiteError::NotConfigured => "KITE_NOT_CONFIGURED",
            KiteError::ConnectionFailed(_) => "KITE_CONNECTION_FAILED",
            KiteError::Invalid(_) => "INVALID_INPUT",
            KiteError::MessageTooLarge { .. } => "KITE_MESSAGE_TOO_LARGE",
            KiteError::Upstream(e) => e.code(),
            KiteError::Store(e) => e.code(),
            KiteError::Io(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            KiteError::MessageTooLarge { size } => vec![
                ("size", size.to_string()),
                ("limit", MAX_MESSAGE_BYTES.to_string()),
            ],
            KiteError::Upstream(e) => e.context(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Connection {
    section: KiteSection,
    api: KiteApi,
}

/// The inbox cursor file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboxState {
    since: Option<String>,
    #[serde(default)]
    seen: VecDeque<String>,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: u64,
    received: u64,
    last_delivery_error: Option<String>,
    /// Delivery attempts failed in a row (the backoff grows with it).
    failures: u32,
    /// The inbox cursor as last saved.
    inbox_since: Option<String>,
}

#[derive(Debug)]
struct Inner {
    context: Arc<IntegrationContext>,
    connection: RwLock<Option<Arc<Connection>>>,
    outbox: Outbox,
    inbox_path: PathBuf,
    inbox: tokio::sync::Mutex<(InboxState, HashSet<String>)>,
    counters: Mutex<Counters>,
    /// Wakes the delivery (a new event, a new configuration).
    deliver_wake: Notify,
    /// Wakes the poller (a new configuration).
    poll_wake: Notify,
}

/// Kite for one project.
#[derive(Debug)]
pub struct KiteService {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for KiteService {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Events Kite took.
    pub delivered: usize,
    /// Events Kite refused for good (dropped, reported in the ops log).
    pub refused: usize,
    /// Events still waiting.
    pub pending: usize,
    /// How long to wait before the next attempt, when the pass stopped on a failure.
    pub retry_in: Option<Duration>,
}

impl KiteService {
    /// The service of the project in `context`. Inside a Tokio runtime it starts its
    /// background work at once (forwarding activity into the outbox, delivering the
    /// outbox, polling messages); each part idles while Kite is not configured.
    pub fn new(context: Arc<IntegrationContext>) -> Arc<Self> {
        let openkit_dir = context.workbench.paths().openkit_dir();
        let mut inbox_state: InboxState =
            openkit_core::persist::read_json(&openkit_dir.join(INBOX_FILE))
                .ok()
                .flatten()
                .unwrap_or_default();
        while inbox_state.seen.len() > SEEN_KEPT {
            inbox_state.seen.pop_front();
        }
        let mut seen: HashSet<String> = inbox_state.seen.iter().cloned().collect();
        // Messages recorded just before a crash that kept the cursor from being saved.
        if let Ok(recent) = context
            .workbench
            .backbone()
            .activity()
            .query(&ActivityQuery {
                since: None,
                category: Some(ActivityCategory::Agent),
                limit: SEEN_KEPT,
            })
        {
            seen.extend(
                recent
                    .iter()
                    .filter_map(|e| e.id.strip_prefix(MESSAGE_ID_PREFIX))
                    .map(str::to_string),
            );
        }
        let counters = Counters {
            inbox_since: inbox_state.since.clone(),
            ..Counters::default()
        };
        let inner = Arc::new(Inner {
            outbox: Outbox::open(openkit_dir.join(outbox::FILE_NAME)),
            inbox_path: openkit_dir.join(INBOX_FILE),
            inbox: tokio::sync::Mutex::new((inbox_state, seen)),
            counters: Mutex::new(counters),
            connection: RwLock::new(None),
            deliver_wake: Notify::new(),
            poll_wake: Notify::new(),
            context,
        });
        if let Ok(Some(section)) = inner.context.store.section::<KiteSection>(SECTION)
            && let Ok(connection) = connect(&inner.context, &section)
        {
            *inner.connection.write().unwrap_or_else(|e| e.into_inner()) =
                Some(Arc::new(connection));
        }
        let tasks = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => vec![
                runtime.spawn(forward(Arc::clone(&inner))).abort_handle(),
                runtime
                    .spawn(deliver_loop(Arc::clone(&inner)))
                    .abort_handle(),
                runtime.spawn(poll_loop(Arc::clone(&inner))).abort_handle(),
            ],
            Err(_) => Vec::new(),
        };
        Arc::new(KiteService { inner, tasks })
    }

    /// What the status endpoint shows.
    pub fn status(&self) -> Result<KiteStatus, KiteError> {
        let section = self.inner.context.store.section::<KiteSection>(SECTION)?;
        let counters = self
            .inner
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let since = counters.inbox_since.clone();
        let agent_name = self.inner.agent_name(section.as_ref());
        let pending = self.inner.outbox.len();
        Ok(match section {
            None => KiteStatus {
                configured: false,
                base_url: None,
                team_id: None,
                source: None,
                agent_name,
                enabled: false,
                categories: Vec::new(),
                event_types: Vec::new(),
                poll_interval_seconds: DEFAULT_POLL_SECONDS,
                pending,
                delivered: counters.delivered,
                last_delivery_error: counters.last_delivery_error.clone(),
                inbox_since: since,
                received: counters.received,
            },
            Some(s) => KiteStatus {
                configured: true,
                base_url: Some(s.base_url),
                team_id: Some(s.team_id),
                source: Some(s.source),
                agent_name,
                enabled: s.enabled,
                categories: s.categories,
                event_types: s.event_types,
                poll_interval_seconds: s.poll_interval_seconds.unwrap_or(DEFAULT_POLL_SECONDS),
                pending,
                delivered: counters.delivered,
                last_delivery_error: counters.last_delivery_error.clone(),
                inbox_since: since,
                received: counters.received,
            },
        })
    }

    /// Checks the credentials with a read call (`GET /webhook-config`; "none configured"
    /// counts as working), then saves them. Forwarding settings of an earlier setup are
    /// kept.
    pub async fn setup(&self, setup: KiteSetup) -> Result<(), KiteError> {
        let source = setup.source.trim().to_ascii_lowercase();
        let valid_source = !source.is_empty()
            && source.len() <= 64
            && source
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_source {
            return Err(KiteError::Invalid(
                "source must be 1-64 letters, digits or hyphens".into(),
            ));
        }
        let team_id = setup.team_id.trim().to_string();
        if team_id.is_empty() {
            return Err(KiteError::Invalid("teamId is required".into()));
        }
        if setup.api_key.is_empty() || setup.hook_token.is_empty() {
            return Err(KiteError::Invalid(
                "apiKey and hookToken are required".into(),
            ));
        }
        let previous = self
            .inner
            .context
            .store
            .section::<KiteSection>(SECTION)
            .ok()
            .flatten();
        let section = KiteSection {
            base_url: setup.base_url.trim().trim_end_matches('/').to_string(),
            api_key: setup.api_key,
            team_id,
            source,
            hook_token: setup.hook_token,
            enabled: previous.as_ref().is_none_or(|p| p.enabled),
            categories: previous
                .as_ref()
                .map(|p| p.categories.clone())
                .unwrap_or_default(),
            event_types: previous
                .as_ref()
                .map(|p| p.event_types.clone())
                .unwrap_or_default(),
            agent_name: previous.as_ref().and_then(|p| p.agent_name.clone()),
            poll_interval_seconds: previous.and_then(|p| p.poll_interval_seconds),
        };
        let connection = connect(&self.inner.context, &section)
            .map_err(|e| KiteError::ConnectionFailed(e.to_string()))?;
        connection
            .api
            .webhook_config()
            .await
            .map_err(|e| KiteError::ConnectionFailed(e.to_string()))?;
        self.inner.context.store.put_section(SECTION, &section)?;
        self.inner.install(Some(connection));
        Ok(())
    }

    /// Changes forwarding, the agent name or the poll interval.
    pub fn update_config(&self, change: KiteConfigChange) -> Result<KiteStatus, KiteError> {
        let updated = self
            .inner
            .context
            .store
            .update_section::<KiteSection, KiteError>(SECTION, |current| {
                let mut section = current.ok_or(KiteError::NotConfigured)?;
                if let Some(enabled) = change.enabled {
                    section.enabled = enabled;
                }
                if let Some(categories) = change.categories {
                    let categories: Vec<String> = categories
                        .into_iter()
                        .map(|c| c.trim().to_ascii_lowercase())
                        .filter(|c| !c.is_empty())
                        .collect();
                    if let Some(bad) = categories
                        .iter()
                        .find(|c| !CATEGORIES.contains(&c.as_str()))
                    {
                        return Err(KiteError::Invalid(format!(
                            "Unknown category \"{bad}\": use agent, worktree or system"
                        )));
                    }
                    section.categories = categories;
                }
                if let Some(types) = change.event_types {
                    section.event_types = types
                        .into_iter()
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect();
                }
                if let Some(name) = change.agent_name {
                    section.agent_name =
                        name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
                }
                if let Some(secs) = change.poll_interval_seconds {
                    if secs == 0 {
                        return Err(KiteError::Invalid(
                            "pollIntervalSeconds must be at least 1".into(),
                        ));
                    }
                    section.poll_interval_seconds = Some(secs);
                }
                Ok(Some(section))
            })?;
        if let Some(section) = updated {
            let connection = connect(&self.inner.context, &section)?;
            self.inner.install(Some(connection));
        }
        self.status()
    }

    /// Removes the credentials; forwarding and polling stop (the outbox is kept for a
    /// later setup).
    pub fn delete_credentials(&self) -> Result<(), KiteError> {
        self.inner.context.store.remove_section(SECTION)?;
        self.inner.install(None);
        Ok(())
    }

    /// Whether the configured credentials still work; `None` when not configured.
    pub async fn verify(&self) -> Option<Result<(), UpstreamError>> {
        let connection = self.inner.connection()?;
        Some(connection.api.webhook_config().await.map(|_| ()))
    }

    /// Sends an agent message from this project's agent. The JSON body is checked
    /// against Kite's 64 KiB limit before anything is sent.
    pub async fn send_message(&self, draft: MessageDraft) -> Result<MessageReceipt, KiteError> {
        let connection = self.inner.connection().ok_or(KiteError::NotConfigured)?;
        let to = draft.to.trim().to_string();
        if to.is_empty() {
            return Err(KiteError::Invalid("to is required".into()));
        }
        let message = OutgoingMessage {
            from: self.inner.agent_name(Some(&connection.section)),
            to,
            body: draft.body,
            thread_id: draft.thread_id.filter(|t| !t.is_empty()),
            reply_to_id: draft.reply_to_id.filter(|t| !t.is_empty()),
        };
        let size = message.body_bytes().len();
        if size > MAX_MESSAGE_BYTES {
            return Err(KiteError::MessageTooLarge { size });
        }
        Ok(connection.api.send_message(&message).await?)
    }

    /// The team's outbound webhook config (`None`: none active).
    pub async fn webhook_config(&self) -> Result<Option<WebhookConfig>, KiteError> {
        let connection = self.inner.connection().ok_or(KiteError::NotConfigured)?;
        Ok(connection.api.webhook_config().await?)
    }

    /// Creates or replaces the team's outbound webhook; the answer has no secret.
    pub async fn put_webhook_config(
        &self,
        url: &str,
        secret: &Secret,
        event_types: &[String],
    ) -> Result<WebhookConfig, KiteError> {
        let connection = self.inner.connection().ok_or(KiteError::NotConfigured)?;
        if url.trim().is_empty() || secret.is_empty() {
            return Err(KiteError::Invalid("url and secret are required".into()));
        }
        Ok(connection
            .api
            .put_webhook_config(url.trim(), secret, event_types)
            .await?)
    }

    /// Deactivates the team's outbound webhook.
    pub async fn delete_webhook_config(&self) -> Result<(), KiteError> {
        let connection = self.inner.connection().ok_or(KiteError::NotConfigured)?;
        Ok(connection.api.delete_webhook_config().await?)
    }

    /// Delivers what the outbox holds, oldest first, until it is empty or a failure
    /// says to wait (what the background delivery runs; tests call it directly).
    pub async fn deliver_pending(&self) -> DeliveryReport {
        self.inner.deliver_pending().await
    }

    /// Polls `GET /events` once (every page after the cursor); returns how many new
    /// messages became activity events.
    pub async fn poll_messages(&self) -> Result<usize, KiteError> {
        self.inner.poll_messages().await
    }

    /// Queues an activity event for Kite as the forwarder does (when forwarding is on
    /// and the filters let it through); whether it was queued.
    pub fn offer(&self, event: &ActivityEvent) -> Result<bool, KiteError> {
        self.inner.offer(event)
    }

    /// Events waiting in the outbox.
    pub fn pending(&self) -> usize {
        self.inner.outbox.len()
    }
}

fn connect(context: &IntegrationContext, section: &KiteSection) -> Result<Connection, KiteError> {
    let api = KiteApi::new(
        context.client.clone(),
        &section.base_url,
        &section.api_key,
        &section.team_id,
        &section.source,
        &section.hook_token,
    )?;
    Ok(Connection {
        section: section.clone(),
        api,
    })
}

/// Activity ids of received messages: `kite-msg-<Kite event id>`.
const MESSAGE_ID_PREFIX: &str = "kite-msg-";

/// The CloudEvent of an activity event.
pub fn cloud_event(event: &ActivityEvent, project: &str) -> Value {
    let category = event.category.as_str();
    let mut ce = serde_json::json!({
        "specversion": "1.0",
        "id": event.id,
        "source": format!("/openkit/{}", crate::api::segment(project)),
        "type": format!("dev.openkit.activity.{category}.{}", event.event_type),
        "time": event.timestamp,
        "datacontenttype": "application/json",
        "data": {
            "category": category,
            "type": event.event_type,
            "severity": serde_json::to_value(event.severity).unwrap_or(Value::Null),
            "title": event.title,
            "detail": event.detail,
            "worktreeId": event.worktree_id,
            "projectName": event.project_name,
            "metadata": event.metadata,
        }
    });
    if let Some(worktree) = &event.worktree_id {
        ce["subject"] = Value::String(worktree.clone());
    }
    ce
}

impl Inner {
    fn connection(&self) -> Option<Arc<Connection>> {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn install(&self, connection: Option<Connection>) {
        *self.connection.write().unwrap_or_else(|e| e.into_inner()) = connection.map(Arc::new);
        self.deliver_wake.notify_one();
        self.poll_wake.notify_one();
    }

    fn project_name(&self) -> String {
        self.context
            .workbench
            .paths()
            .project_root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into())
    }

    fn agent_name(&self, section: Option<&KiteSection>) -> String {
        section
            .and_then(|s| s.agent_name.clone())
            .unwrap_or_else(|| self.project_name())
    }

    fn offer(&self, event: &ActivityEvent) -> Result<bool, KiteError> {
        let Some(connection) = self.connection() else {
            return Ok(false);
        };
        let section = &connection.section;
        let category = event.category.as_str();
        let chosen = section.enabled
            && event.event_type != MESSAGE_ACTIVITY
            && (section.categories.is_empty() || section.categories.iter().any(|c| c == category))
            && (section.event_types.is_empty()
                || section.event_types.iter().any(|t| {
                    *t == event.event_type || *t == format!("{category}.{}", event.event_type)
                }));
        if !chosen {
            return Ok(false);
        }
        let queued = self.outbox.push(cloud_event(event, &self.project_name()))?;
        if queued {
            self.deliver_wake.notify_one();
        }
        Ok(queued)
    }

    async fn deliver_pending(&self) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        while let Some(event) = self.outbox.front() {
            let Some(connection) = self.connection() else {
                break;
            };
            let id = event["id"].as_str().unwrap_or_default().to_string();
            match connection.api.ingest(&event).await {
                Ok(()) => {
                    let _ = self.outbox.remove(&id);
                    report.delivered += 1;
                    let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
                    c.delivered += 1;
                    c.last_delivery_error = None;
                    c.failures = 0;
                }
                // Kite will never take this event (malformed, too large): drop it so the
                // rest can go, and say so.
                Err(
                    e @ UpstreamError::Rejected {
                        status: 400 | 413 | 422,
                        ..
                    },
                ) => {
                    let _ = self.outbox.remove(&id);
                    report.refused += 1;
                    self.report_refusal(&id, &e);
                }
                Err(e) => {
                    let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
                    c.failures = c.failures.saturating_add(1);
                    let backoff = BACKOFF_MIN * 2u32.saturating_pow((c.failures - 1).min(6));
                    let wait = e.retry_after().unwrap_or(backoff.min(BACKOFF_MAX));
                    c.last_delivery_error = Some(e.to_string());
                    report.retry_in = Some(wait);
                    break;
                }
            }
        }
        if let Err(e) = self.outbox.flush() {
            tracing::warn!("kite outbox: {e}");
        }
        report.pending = self.outbox.len();
        report
    }

    fn report_refusal(&self, id: &str, error: &UpstreamError) {
        let mut event = openkit_core::logs::OpsLogEvent::new(
            "kite",
            "outbox.refused",
            &format!("Kite refused activity event {id} for good; it was dropped: {error}"),
            openkit_core::logs::Level::Warning,
            openkit_core::logs::OpStatus::Failed,
        );
        event.metadata = Some(serde_json::json!({ "eventId": id, "code": error.code() }));
        self.context.workbench.backbone().enqueue_ops(event);
    }

    async fn poll_messages(&self) -> Result<usize, KiteError> {
        let connection = self.connection().ok_or(KiteError::NotConfigured)?;
        let me = self.agent_name(Some(&connection.section));
        let mut inbox = self.inbox.lock().await;
        let mut received = 0;
        loop {
            let since = inbox.0.since.clone();
            let events = connection.api.events(since.as_deref(), 100).await?;
            let full = events.len() >= 100;
            for event in &events {
                let (state, seen) = &mut *inbox;
                state.since = Some(event.cursor());
                if seen.contains(&event.event_id) {
                    continue;
                }
                let ce = &event.event;
                let data = &ce["data"];
                let is_mine = ce["type"].as_str() == Some(MESSAGE_TYPE)
                    && data["to"].as_str() == Some(me.as_str())
                    && data["from"].as_str() != Some(me.as_str());
                if !is_mine {
                    continue;
                }
                self.record_message(event)?;
                seen.insert(event.event_id.clone());
                state.seen.push_back(event.event_id.clone());
                while state.seen.len() > SEEN_KEPT {
                    if let Some(old) = state.seen.pop_front() {
                        seen.remove(&old);
                    }
                }
                received += 1;
            }
            if !events.is_empty() {
                openkit_core::persist::write_json(&self.inbox_path, &inbox.0)?;
                self.counters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .inbox_since = inbox.0.since.clone();
            }
            if !full {
                break;
            }
        }
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .received += received as u64;
        Ok(received)
    }

    fn record_message(&self, event: &KiteEvent) -> Result<(), KiteError> {
        let data = &event.event["data"];
        let from = data["from"].as_str().unwrap_or("an agent");
        let body = data["body"].as_str().unwrap_or_default();
        let mut activity = ActivityEvent::new(
            ActivityCategory::Agent,
            MESSAGE_ACTIVITY,
            Severity::Info,
            &format!("Message from {from}"),
        );
        activity.id = format!("{MESSAGE_ID_PREFIX}{}", event.event_id);
        activity.detail = Some(body.chars().take(4000).collect());
        activity.group_key = data["thread_id"].as_str().map(|t| format!("kite:{t}"));
        activity.metadata = Some(serde_json::json!({
            "kiteEventId": event.event_id,
            "messageId": event.event["id"],
            "from": data["from"],
            "to": data["to"],
            "threadId": data["thread_id"],
            "replyToId": data["reply_to_id"],
        }));
        self.context
            .workbench
            .backbone()
            .record_activity(activity)?;
        Ok(())
    }
}

/// Activity from the bus into the outbox. A forwarder that falls behind the bus reads
/// what it missed back from the activity log (the outbox drops ids it already holds).
async fn forward(inner: Arc<Inner>) {
    let backbone = Arc::clone(inner.context.workbench.backbone());
    let mut subscription = backbone.bus().subscribe(None);
    // Nothing from before the forwarder started is read back.
    let mut last: Option<String> = Some(openkit_core::logs::now_iso());
    loop {
        match subscription.receiver.recv().await {
            Ok(item) => {
                if let FeedEvent::Activity(event) = &item.event {
                    last = Some(format!("{}:{}", event.timestamp, event.id));
                    if let Err(e) = inner.offer(event) {
                        tracing::warn!("kite outbox: {e}");
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!("kite forwarder lagged the event bus by {missed} events");
                let since = last
                    .as_deref()
                    .and_then(|c| openkit_core::logs::parse_since(c).ok());
                let log = Arc::clone(&backbone);
                let missed = tokio::task::spawn_blocking(move || {
                    log.activity().query(&ActivityQuery {
                        since,
                        category: None,
                        limit: 10_000,
                    })
                })
                .await;
                if let Ok(Ok(events)) = missed {
                    for event in &events {
                        last = Some(format!("{}:{}", event.timestamp, event.id));
                        let _ = inner.offer(event);
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// The outbox to Kite, with backoff.
async fn deliver_loop(inner: Arc<Inner>) {
    loop {
        let report = inner.deliver_pending().await;
        match report.retry_in {
            Some(wait) => tokio::time::sleep(wait).await,
            None => {
                // Woken by a new event or a new configuration; a periodic look anyway.
                let _ =
                    tokio::time::timeout(Duration::from_secs(30), inner.deliver_wake.notified())
                        .await;
            }
        }
    }
}

/// Inbound messages.
async fn poll_loop(inner: Arc<Inner>) {
    loop {
        let interval = match inner.connection() {
            Some(connection) => {
                if let Err(e) = inner.poll_messages().await {
                    tracing::debug!("kite poll: {e}");
                }
                connection
                    .section
                    .poll_interval_seconds
                    .unwrap_or(DEFAULT_POLL_SECONDS)
            }
            None => DEFAULT_POLL_SECONDS,
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(interval.max(1)),
            inner.poll_wake.notified(),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_events_name_category_type_and_subject() {
        let mut event = ActivityEvent::new(
            ActivityCategory::Worktree,
            "creation_completed",
            Severity::Success,
            "Created",
        );
        event.worktree_id = Some("PROJ-1".into());
        let ce = cloud_event(&event, "demo");
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["id"], Value::String(event.id.clone()));
        assert_eq!(
            ce["type"],
            "dev.openkit.activity.worktree.creation_completed"
        );
        assert_eq!(ce["subject"], "PROJ-1");
        assert_eq!(ce["source"], "/openkit/demo");
        assert_eq!(
            cloud_event(&event, "my project")["source"],
            "/openkit/my%20project"
        );
        assert_eq!(ce["data"]["severity"], "success");
    }

    #[test]
    fn oversized_messages_are_refused_with_their_size() {
        let e = KiteError::MessageTooLarge { size: 70_000 };
        assert_eq!(e.code(), "KITE_MESSAGE_TOO_LARGE");
        assert_eq!(
            e.context(),
            vec![("size", "70000".into()), ("limit", "65536".into())]
        );
    }
}
