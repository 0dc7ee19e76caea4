//! Jira's OAuth 2.0 (3LO) flow against Atlassian's authorization server
//! ([`crate::hub::Endpoints::atlassian_auth`]): an authorization URL carrying a random
//! `state` remembered for ten minutes, the callback that accepts only a `state` it
//! issued (once), the code exchanged at `/oauth/token`, the site's cloud id from the
//! gateway's `/oauth/token/accessible-resources`, and refreshes of the access token
//! (`grant_type=refresh_token`) before it expires.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use super::{
    JiraAuth, JiraError, JiraSection, JiraService, OAuthCredentials, SECTION, TIMEOUT, now_secs,
};
use crate::api::{ApiClient, Auth, UpstreamError};
use crate::secret::Secret;

/// How long an authorization URL's `state` is accepted.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// The scopes OpenKit asks for.
pub const SCOPES: &str = "read:jira-work write:jira-work read:jira-user offline_access";
/// The most logins waiting for their callback at once.
const MAX_PENDING: usize = 16;

#[derive(Debug)]
struct Pending {
    state: String,
    client_id: String,
    client_secret: Secret,
    redirect_uri: String,
    started: Instant,
}

/// Logins started and waiting for their callback.
#[derive(Debug, Default)]
pub struct PendingLogins(Mutex<Vec<Pending>>);

impl PendingLogins {
    fn add(&self, pending: Pending) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|p| p.started.elapsed() < STATE_TTL);
        if list.len() >= MAX_PENDING {
            list.remove(0);
        }
        list.push(pending);
    }

    fn take(&self, state: &str) -> Option<Pending> {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|p| p.started.elapsed() < STATE_TTL);
        let at = list.iter().position(|p| p.state == state)?;
        Some(list.remove(at))
    }
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    id: String,
    url: String,
}

impl JiraService {
    fn auth_server(&self) -> Result<ApiClient, UpstreamError> {
        Ok(ApiClient::new(
            self.ctx.client.clone(),
            "Atlassian",
            &self.ctx.endpoints.atlassian_auth,
            Auth::None,
        )?
        .with_timeout(TIMEOUT))
    }

    /// Starts a login: the URL to open in a browser. Its `state` is accepted once by
    /// [`JiraService::finish_oauth`] within [`STATE_TTL`].
    pub fn start_oauth(
        &self,
        client_id: &str,
        client_secret: Secret,
        redirect_uri: &str,
    ) -> Result<String, JiraError> {
        let client_id = client_id.trim();
        if client_id.is_empty() || client_secret.is_empty() {
            return Err(JiraError::Invalid(
                "clientId and clientSecret are required".into(),
            ));
        }
        let redirect = Url::parse(redirect_uri.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| JiraError::Invalid("redirectUri must be an http(s) URL".into()))?;
        let server = self.auth_server()?;
        let state = uuid::Uuid::new_v4().simple().to_string();
        let mut url = server.url("/authorize");
        url.query_pairs_mut()
            .append_pair("audience", "api.atlassian.com")
            .append_pair("client_id", client_id)
            .append_pair("scope", SCOPES)
            .append_pair("redirect_uri", redirect.as_str())
            .append_pair("state", &state)
            .append_pair("response_type", "code")
            .append_pair("prompt", "consent");
        self.oauth.add(Pending {
            state,
            client_id: client_id.to_string(),
            client_secret,
            redirect_uri: redirect.to_string(),
            started: Instant::now(),
        });
        Ok(url.to_string())
    }

    /// The callback: checks `state`, exchanges `code`, finds the Jira site and saves
    /// the tokens. Nothing is saved when any step fails.
    pub async fn finish_oauth(self: &Arc<Self>, code: &str, state: &str) -> Result<(), JiraError> {
        let pending = self.oauth.take(state.trim()).ok_or_else(|| {
            JiraError::OAuth("Unknown or expired OAuth state: start the Jira login again".into())
        })?;
        if code.trim().is_empty() {
            return Err(JiraError::OAuth("The callback carries no code".into()));
        }
        let server = self.auth_server()?;
        let tokens: TokenAnswer = server
            .json(
                server.request(Method::POST, "/oauth/token").json(&json!({
                    "grant_type": "authorization_code",
                    "client_id": pending.client_id,
                    "client_secret": pending.client_secret.expose(),
                    "code": code.trim(),
                    "redirect_uri": pending.redirect_uri,
                })),
                "The token endpoint",
            )
            .await
            .map_err(JiraError::ConnectionFailed)?;
        let access = Secret::new(tokens.access_token);
        let gateway = ApiClient::new(
            self.ctx.client.clone(),
            "Atlassian",
            &self.ctx.endpoints.atlassian_api,
            Auth::Bearer(access.clone()),
        )?
        .with_timeout(TIMEOUT);
        let resources: Vec<Resource> = gateway
            .json(
                gateway.request(Method::GET, "/oauth/token/accessible-resources"),
                "Accessible resources",
            )
            .await
            .map_err(JiraError::ConnectionFailed)?;
        let site = resources
            .into_iter()
            .next()
            .ok_or_else(|| JiraError::OAuth("The token gives access to no Jira site".into()))?;
        let credentials = OAuthCredentials {
            client_id: pending.client_id,
            client_secret: pending.client_secret,
            access_token: access.clone(),
            refresh_token: tokens.refresh_token.map(Secret::new),
            expires_at: now_secs() + tokens.expires_in.unwrap_or(3600),
            cloud_id: site.id,
            site_url: site.url.trim_end_matches('/').to_string(),
        };
        let api = ApiClient::new(
            self.ctx.client.clone(),
            "Jira",
            &format!(
                "{}/ex/jira/{}",
                self.ctx.endpoints.atlassian_api.trim_end_matches('/'),
                crate::api::segment(&credentials.cloud_id)
            ),
            Auth::Bearer(access),
        )?
        .with_timeout(TIMEOUT);
        let me = super::client::JiraApi::new(&api)
            .myself()
            .await
            .map_err(JiraError::ConnectionFailed)?;
        self.save_credentials(JiraAuth::OAuth { oauth: credentials }, me.display_name)
    }

    /// Refreshes an expiring access token and saves the new tokens; returns the
    /// updated section.
    pub(super) async fn refresh_oauth(
        &self,
        oauth: &OAuthCredentials,
    ) -> Result<JiraSection, JiraError> {
        let refresh = oauth.refresh_token.clone().ok_or_else(|| {
            JiraError::Upstream(UpstreamError::Unauthorized {
                service: "Jira",
                message: Some(
                    "the OAuth token expired and cannot be refreshed: log in again".into(),
                ),
            })
        })?;
        let server = self.auth_server()?;
        let tokens: TokenAnswer = server
            .json(
                server.request(Method::POST, "/oauth/token").json(&json!({
                    "grant_type": "refresh_token",
                    "client_id": oauth.client_id,
                    "client_secret": oauth.client_secret.expose(),
                    "refresh_token": refresh.expose(),
                })),
                "The token endpoint",
            )
            .await
            .map_err(|e| match e {
                // The authorization server refuses a revoked or expired refresh token
                // with 400/403 `invalid_grant`: the user must sign in again.
                UpstreamError::Rejected { message, .. }
                | UpstreamError::Forbidden { message, .. } => {
                    JiraError::Upstream(UpstreamError::Unauthorized {
                        service: "Jira",
                        message: Some(format!("refreshing the OAuth token failed: {message}")),
                    })
                }
                other => JiraError::Upstream(other),
            })?;
        let updated = self
            .ctx
            .store
            .update_section::<JiraSection, JiraError>(SECTION, |current| {
                let mut section = current.ok_or(JiraError::NotConfigured)?;
                if let JiraAuth::OAuth { oauth } = &mut section.auth {
                    oauth.access_token = Secret::new(tokens.access_token);
                    if let Some(r) = tokens.refresh_token {
                        oauth.refresh_token = Some(Secret::new(r));
                    }
                    oauth.expires_at = now_secs() + tokens.expires_in.unwrap_or(3600);
                }
                Ok(Some(section))
            })
            .map_err(|e| match e {
                openkit_core::integrations::UpdateError::Store(e) => JiraError::Store(e),
                openkit_core::integrations::UpdateError::Rejected(e) => e,
            })?;
        updated.ok_or(JiraError::NotConfigured)
    }
}
