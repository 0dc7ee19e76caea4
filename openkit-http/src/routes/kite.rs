//! `/api/kite/*`: Kite, the agent event relay: setup and forwarding settings, agent
//! messages, and the team's outbound webhook config (passed through; the secret is never
//! echoed).

use axum::Json;
use axum::extract::State;
use openkit_integrations::kite::{KiteConfigChange, KiteSetup, MessageDraft};
use openkit_integrations::secret::Secret;

use crate::error::{ApiResult, JsonBody};
use crate::state::AppState;
use crate::wire::kite::{
    KiteConfigRequest, KiteMessageRequest, KiteMessageSent, KiteSetupRequest, KiteStatusResponse,
    KiteWebhookConfigRequest, KiteWebhookConfigResponse, KiteWebhookConfigSaved,
    KiteWebhookConfigWire,
};
use crate::wire::{ErrorBody, Success, True};

/// `GET /api/kite/status`
#[utoipa::path(
    get,
    path = "/api/kite/status",
    tag = "kite",
    summary = "Kite's configuration, forwarding settings, outbox and inbox (never a credential)",
    responses(
        (status = 200, description = "The status", body = KiteStatusResponse),
        (status = 409, description = "integrations.json does not parse", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<KiteStatusResponse>> {
    let status = state.integrations().kite().status()?;
    Ok(Json((&status).into()))
}

/// `POST /api/kite/setup`
#[utoipa::path(
    post,
    path = "/api/kite/setup",
    tag = "kite",
    summary = "Configure Kite; the API key is checked with a read call before saving",
    request_body = KiteSetupRequest,
    responses(
        (status = 200, description = "Saved; forwarding and polling start", body = Success),
        (status = 400, description = "`Connection failed: ...` (`KITE_CONNECTION_FAILED`) or an invalid field (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn setup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiteSetupRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kite()
        .setup(KiteSetup {
            base_url: body.base_url,
            api_key: Secret::new(body.api_key),
            team_id: body.team_id,
            source: body.source,
            hook_token: Secret::new(body.hook_token),
        })
        .await?;
    Ok(Json(Success::new()))
}

/// `PATCH /api/kite/config`
#[utoipa::path(
    patch,
    path = "/api/kite/config",
    tag = "kite",
    summary = "Forwarding on or off, which categories and event types, the agent name, the poll interval",
    request_body = KiteConfigRequest,
    responses(
        (status = 200, description = "Saved", body = Success),
        (status = 400, description = "Not configured (`KITE_NOT_CONFIGURED`) or an invalid value (`INVALID_INPUT`)", body = ErrorBody),
    )
)]
pub async fn config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiteConfigRequest>,
) -> ApiResult<Json<Success>> {
    state
        .integrations()
        .kite()
        .update_config(KiteConfigChange {
            enabled: body.enabled,
            categories: body.categories,
            event_types: body.event_types,
            agent_name: body.agent_name,
            poll_interval_seconds: body.poll_interval_seconds,
        })?;
    Ok(Json(Success::new()))
}

/// `DELETE /api/kite/credentials`
#[utoipa::path(
    delete,
    path = "/api/kite/credentials",
    tag = "kite",
    summary = "Disconnect Kite (the outbox is kept for a later setup)",
    responses((status = 200, description = "Removed", body = Success))
)]
pub async fn delete_credentials(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().kite().delete_credentials()?;
    Ok(Json(Success::new()))
}

/// `POST /api/kite/messages`
#[utoipa::path(
    post,
    path = "/api/kite/messages",
    tag = "kite",
    summary = "Send an agent message from this project's agent",
    request_body = KiteMessageRequest,
    responses(
        (status = 200, description = "Kite accepted it", body = KiteMessageSent),
        (status = 400, description = "Not configured or no `to`", body = ErrorBody),
        (status = 413, description = "Over Kite's 64 KiB limit, checked before sending (`KITE_MESSAGE_TOO_LARGE`, with `size` and `limit`)", body = ErrorBody),
        (status = 429, description = "Kite's rate limit (`Retry-After`)", body = ErrorBody),
        (status = 502, description = "Kite failed or refused the key", body = ErrorBody),
    )
)]
pub async fn send_message(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiteMessageRequest>,
) -> ApiResult<Json<KiteMessageSent>> {
    let receipt = state
        .integrations()
        .kite()
        .send_message(MessageDraft {
            to: body.to,
            body: body.body,
            thread_id: body.thread_id,
            reply_to_id: body.reply_to_id,
        })
        .await?;
    Ok(Json(receipt.into()))
}

/// `GET /api/kite/webhook-config`
#[utoipa::path(
    get,
    path = "/api/kite/webhook-config",
    tag = "kite",
    summary = "The team's outbound webhook config (without its secret)",
    responses(
        (status = 200, description = "The config, `null` when none is active", body = KiteWebhookConfigResponse),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 429, description = "Kite's rate limit", body = ErrorBody),
        (status = 502, description = "Kite failed or refused the key", body = ErrorBody),
    )
)]
pub async fn get_webhook_config(
    State(state): State<AppState>,
) -> ApiResult<Json<KiteWebhookConfigResponse>> {
    let config = state.integrations().kite().webhook_config().await?;
    Ok(Json(KiteWebhookConfigResponse {
        config: config.as_ref().map(KiteWebhookConfigWire::from),
    }))
}

/// `PUT /api/kite/webhook-config`
#[utoipa::path(
    put,
    path = "/api/kite/webhook-config",
    tag = "kite",
    summary = "Create or replace the team's outbound webhook (the secret goes to Kite only)",
    request_body = KiteWebhookConfigRequest,
    responses(
        (status = 200, description = "Saved", body = KiteWebhookConfigSaved),
        (status = 400, description = "Missing url or secret, or Kite refused them (`UPSTREAM_REJECTED`)", body = ErrorBody),
        (status = 429, description = "Kite's rate limit", body = ErrorBody),
        (status = 502, description = "Kite failed, or the key lacks write permission", body = ErrorBody),
    )
)]
pub async fn put_webhook_config(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KiteWebhookConfigRequest>,
) -> ApiResult<Json<KiteWebhookConfigSaved>> {
    let config = state
        .integrations()
        .kite()
        .put_webhook_config(&body.url, &Secret::new(body.secret), &body.event_types)
        .await?;
    Ok(Json(KiteWebhookConfigSaved {
        success: True,
        config: KiteWebhookConfigWire::from(&config),
    }))
}

/// `DELETE /api/kite/webhook-config`
#[utoipa::path(
    delete,
    path = "/api/kite/webhook-config",
    tag = "kite",
    summary = "Deactivate the team's outbound webhook",
    responses(
        (status = 200, description = "Deactivated", body = Success),
        (status = 400, description = "Not configured", body = ErrorBody),
        (status = 404, description = "No active config (`UPSTREAM_NOT_FOUND`)", body = ErrorBody),
        (status = 502, description = "Kite failed or refused the key", body = ErrorBody),
    )
)]
pub async fn delete_webhook_config(State(state): State<AppState>) -> ApiResult<Json<Success>> {
    state.integrations().kite().delete_webhook_config().await?;
    Ok(Json(Success::new()))
}
