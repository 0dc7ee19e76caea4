//! Kite's REST API (`<baseUrl>/api/v1`, bearer API key, `team_id` on every call) and its
//! ingest endpoint (`<baseUrl>/hooks/<team_id>/<source>/<hook_token>`, no bearer: the
//! token in the path is the credential).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{ApiClient, Auth, UpstreamError, segment};
use crate::secret::Secret;

/// The service's display name.
pub const SERVICE: &str = "Kite";
/// The REST API below the base URL.
pub const API_PATH: &str = "/api/v1";
/// The largest agent message body Kite takes (the JSON body, 64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The CloudEvents type of agent messages.
pub const MESSAGE_TYPE: &str = "com.kite.agent.message";

/// The active outbound webhook of a team (`GET /webhook-config`); Kite never returns
/// the secret.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WebhookConfig {
    /// Its id.
    #[serde(default)]
    pub id: Option<Value>,
    /// The team.
    #[serde(default)]
    pub team_id: Option<String>,
    /// Where Kite delivers.
    #[serde(default)]
    pub url: String,
    /// Whether it is active.
    #[serde(default = "active")]
    pub active: bool,
    /// Event types delivered (empty: all).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn active() -> bool {
    true
}

/// One retained event of `GET /events`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct KiteEvent {
    /// Kite's id of the event.
    pub event_id: String,
    /// When Kite received it (`2026-04-27 12:34:56.789`).
    pub created_at: String,
    /// The CloudEvent.
    #[serde(default)]
    pub event: Value,
}

impl KiteEvent {
    /// The cursor just past this event: `<created_at>:<event_id>`.
    pub fn cursor(&self) -> String {
        format!("{}:{}", self.created_at, self.event_id)
    }
}

#[derive(Deserialize)]
struct EventPage {
    #[serde(default)]
    events: Vec<KiteEvent>,
}

/// An agent message to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutgoingMessage {
    /// The sending agent.
    pub from: String,
    /// The receiving agent.
    pub to: String,
    /// Text.
    pub body: String,
    /// Thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// The message answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
}

impl OutgoingMessage {
    /// The JSON body as sent, for the size check.
    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Kite's answer to an accepted message (202).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct MessageReceipt {
    /// The message id.
    pub id: String,
    /// When Kite took it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Sender.
    #[serde(default)]
    pub from: String,
    /// Receiver.
    #[serde(default)]
    pub to: String,
}

/// Kite's API for one team.
#[derive(Debug)]
pub struct KiteApi {
    api: ApiClient,
    hooks: ApiClient,
    team_id: String,
    hook_path: String,
}

impl KiteApi {
    /// The API at `base_url` (the service root, `https://api.getkite.sh`).
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        api_key: &Secret,
        team_id: &str,
        source: &str,
        hook_token: &Secret,
    ) -> Result<Self, UpstreamError> {
        let root = crate::api::check_base_url(SERVICE, base_url)?;
        let root = root.as_str().trim_end_matches('/').to_string();
        let api = ApiClient::new(
            client.clone(),
            SERVICE,
            &format!("{root}{API_PATH}"),
            Auth::Bearer(api_key.clone()),
        )?;
        let hooks = ApiClient::new(client, SERVICE, &root, Auth::None)?;
        Ok(KiteApi {
            api,
            hooks,
            team_id: team_id.to_string(),
            hook_path: format!(
                "/hooks/{}/{}/{}",
                segment(team_id),
                segment(source),
                segment(hook_token.expose())
            ),
        })
    }

    fn team(&self) -> [(&'static str, &str); 1] {
        [("team_id", self.team_id.as_str())]
    }

    /// The team's active outbound webhook; `None` when it has none (Kite's 404).
    pub async fn webhook_config(&self) -> Result<Option<WebhookConfig>, UpstreamError> {
        let request = self
            .api
            .request(Method::GET, "/webhook-config")
            .query(&self.team());
        match self.api.json(request, "Webhook config").await {
            Ok(config) => Ok(Some(config)),
            Err(UpstreamError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates or replaces the team's outbound webhook.
    pub async fn put_webhook_config(
        &self,
        url: &str,
        secret: &Secret,
        event_types: &[String],
    ) -> Result<WebhookConfig, UpstreamError> {
        let request = self
            .api
            .request(Method::PUT, "/webhook-config")
            .query(&self.team())
            .json(&serde_json::json!({
                "url": url,
                "secret": secret.expose(),
                "event_types": event_types,
            }));
        self.api.json(request, "Webhook config").await
    }

    /// Deactivates the team's outbound webhook.
    pub async fn delete_webhook_config(&self) -> Result<(), UpstreamError> {
        let request = self
            .api
            .request(Method::DELETE, "/webhook-config")
            .query(&self.team());
        self.api.send(request, "Webhook config").await.map(|_| ())
    }

    /// Retained events after `since` (oldest first), at most `limit`.
    pub async fn events(
        &self,
        since: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KiteEvent>, UpstreamError> {
        let mut query = vec![
            ("team_id", self.team_id.clone()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        if let Some(since) = since {
            query.push(("since", since.to_string()));
        }
        let request = self.api.request(Method::GET, "/events").query(&query);
        let page: EventPage = self.api.json(request, "Events").await?;
        Ok(page.events)
    }

    /// Sends an agent message.
    pub async fn send_message(
        &self,
        message: &OutgoingMessage,
    ) -> Result<MessageReceipt, UpstreamError> {
        let request = self
            .api
            .request(Method::POST, "/agents/messages")
            .query(&self.team())
            .json(message);
        self.api.json(request, "Agents").await
    }

    /// Delivers one CloudEvent to the ingest endpoint (structured mode).
    pub async fn ingest(&self, event: &Value) -> Result<(), UpstreamError> {
        let body = serde_json::to_vec(event).unwrap_or_default();
        let request = self
            .hooks
            .request(Method::POST, &self.hook_path)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/cloudevents+json",
            )
            .body(body);
        self.hooks.send(request, "Hook").await.map(|_| ())
    }
}
