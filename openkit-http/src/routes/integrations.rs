//! `GET /api/integrations/verify`: every integration's connection, checked in parallel.

use axum::Json;
use axum::extract::State;

use crate::state::AppState;
use crate::wire::integrations::IntegrationsVerify;

/// `GET /api/integrations/verify`
#[utoipa::path(
    get,
    path = "/api/integrations/verify",
    tag = "integrations",
    summary = "Verify every integration's connection (GitHub, Jira, Linear, Kiket, Kizuna, Kite)",
    description = "The checks run in parallel; each is bounded (8 s), so the answer comes in \
        bounded time even when a service hangs: that one is `{ok: false, error: \"timed out\"}`.",
    responses(
        (status = 200, description = "Each integration's check; `null` when it is not configured", body = IntegrationsVerify),
    )
)]
pub async fn verify(State(state): State<AppState>) -> Json<IntegrationsVerify> {
    Json(IntegrationsVerify::from(
        &state.integrations().verify_all().await,
    ))
}
