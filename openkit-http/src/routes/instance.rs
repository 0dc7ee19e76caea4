//! `/api/instance`: which server a client is talking to (a UI shows the project's name
//! and tells two servers apart).

use axum::Json;
use axum::extract::State;

use crate::state::AppState;
use crate::wire::True;
use crate::wire::instance::Instance;

/// `GET /api/instance`
#[utoipa::path(
    get,
    path = "/api/instance",
    tag = "meta",
    summary = "The project this server serves, its version and process",
    responses((status = 200, description = "This server", body = Instance))
)]
pub async fn instance(State(state): State<AppState>) -> Json<Instance> {
    let root = state.workbench().paths().project_root();
    Json(Instance {
        success: True,
        project_name: root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        project_dir: root.to_string_lossy().into_owned(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        port: state.inner.policy.port(),
    })
}
