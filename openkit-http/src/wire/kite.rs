//! `/api/kite/*`: Kite, the agent event relay (forwarding, agent messages, the team's
//! outbound webhook config). No shape here holds a credential or the webhook secret.

use openkit_integrations::kite::{KiteStatus, MessageReceipt, WebhookConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::wire::True;
use crate::wire::kiket::nullable;

/// The outbox of events waiting for Kite.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteOutbox {
    /// Events waiting (kept across restarts in `.openkit/kite-outbox.jsonl`).
    pub pending: usize,
    /// Events delivered since the server started.
    pub delivered: u64,
    /// Why the last attempt failed, if it did.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// Inbound agent messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteInbox {
    /// The `since` cursor of the next poll (`.openkit/kite-inbox.json`).
    #[schema(required = true)]
    pub since: Option<String>,
    /// Messages received since the server started.
    pub received: u64,
}

/// `GET /api/kite/status`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteStatusResponse {
    /// Whether Kite is set up.
    pub configured: bool,
    /// The service root.
    #[schema(required = true)]
    pub base_url: Option<String>,
    /// The team.
    #[schema(required = true)]
    pub team_id: Option<String>,
    /// The ingest source.
    #[schema(required = true)]
    pub source: Option<String>,
    /// This project's agent name (`from` of its messages).
    pub agent_name: String,
    /// Whether activity is forwarded.
    pub enabled: bool,
    /// Activity categories forwarded (empty: all).
    pub categories: Vec<String>,
    /// Activity types forwarded (empty: all).
    pub event_types: Vec<String>,
    /// Seconds between polls of Kite's events.
    pub poll_interval_seconds: u64,
    /// The outbox.
    pub outbox: KiteOutbox,
    /// The inbox.
    pub inbox: KiteInbox,
}

impl From<&KiteStatus> for KiteStatusResponse {
    fn from(s: &KiteStatus) -> Self {
        KiteStatusResponse {
            configured: s.configured,
            base_url: s.base_url.clone(),
            team_id: s.team_id.clone(),
            source: s.source.clone(),
            agent_name: s.agent_name.clone(),
            enabled: s.enabled,
            categories: s.categories.clone(),
            event_types: s.event_types.clone(),
            poll_interval_seconds: s.poll_interval_seconds,
            outbox: KiteOutbox {
                pending: s.pending,
                delivered: s.delivered,
                last_error: s.last_delivery_error.clone(),
            },
            inbox: KiteInbox {
                since: s.inbox_since.clone(),
                received: s.received,
            },
        }
    }
}

/// `POST /api/kite/setup`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteSetupRequest {
    /// The service root (`https://api.getkite.sh`; `http://` only for loopback hosts).
    pub base_url: String,
    /// An API key (bearer).
    pub api_key: String,
    /// The key's team (`team_id` on every call).
    pub team_id: String,
    /// The ingest source (1-64 letters, digits, hyphens).
    pub source: String,
    /// The ingest hook token.
    pub hook_token: String,
}

/// `PATCH /api/kite/config`
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteConfigRequest {
    /// Forwarding on or off.
    pub enabled: Option<bool>,
    /// Activity categories to forward (`agent`, `worktree`, `system`; empty: all).
    pub categories: Option<Vec<String>>,
    /// Activity types to forward (`type` or `category.type`; empty: all).
    pub event_types: Option<Vec<String>>,
    /// The agent name (`null`: the project's name).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub agent_name: Option<Option<String>>,
    /// Seconds between polls of Kite's events (at least 1).
    pub poll_interval_seconds: Option<u64>,
}

/// `POST /api/kite/messages`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteMessageRequest {
    /// The receiving agent.
    pub to: String,
    /// Text (the whole JSON sent to Kite must be at most 64 KiB).
    pub body: String,
    /// Thread.
    pub thread_id: Option<String>,
    /// The message answered.
    pub reply_to_id: Option<String>,
}

/// A message Kite accepted.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteMessageSent {
    /// Always `true`.
    pub success: True,
    /// Kite's message id.
    pub id: String,
    /// When Kite took it.
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// Sender (this project's agent).
    pub from: String,
    /// Receiver.
    pub to: String,
}

impl From<MessageReceipt> for KiteMessageSent {
    fn from(r: MessageReceipt) -> Self {
        KiteMessageSent {
            success: True,
            id: r.id,
            created_at: r.created_at,
            from: r.from,
            to: r.to,
        }
    }
}

/// The team's outbound webhook (the secret is never returned).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteWebhookConfigWire {
    /// Its id.
    #[schema(required = true)]
    pub id: Option<String>,
    /// The team.
    #[schema(required = true)]
    pub team_id: Option<String>,
    /// Where Kite delivers.
    pub url: String,
    /// Whether it is active.
    pub active: bool,
    /// Event types delivered (empty: all).
    pub event_types: Vec<String>,
    /// Created.
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// Updated.
    #[schema(required = true)]
    pub updated_at: Option<String>,
}

impl From<&WebhookConfig> for KiteWebhookConfigWire {
    fn from(c: &WebhookConfig) -> Self {
        KiteWebhookConfigWire {
            id: match &c.id {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            team_id: c.team_id.clone(),
            url: c.url.clone(),
            active: c.active,
            event_types: c.event_types.clone(),
            created_at: c.created_at.clone(),
            updated_at: c.updated_at.clone(),
        }
    }
}

/// `GET /api/kite/webhook-config`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiteWebhookConfigResponse {
    /// The active config; `null` when the team has none.
    #[schema(required = true)]
    pub config: Option<KiteWebhookConfigWire>,
}

/// `PUT /api/kite/webhook-config`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiteWebhookConfigRequest {
    /// Where Kite should deliver.
    pub url: String,
    /// The shared delivery secret (sent to Kite, never returned).
    pub secret: String,
    /// Event types to deliver (empty: all).
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// A webhook config saved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiteWebhookConfigSaved {
    /// Always `true`.
    pub success: True,
    /// The config as Kite answers (without the secret).
    pub config: KiteWebhookConfigWire,
}
