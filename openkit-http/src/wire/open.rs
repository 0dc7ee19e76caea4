//! Open targets: `/api/worktrees/:id/open-targets` and `/api/worktrees/:id/open`.

use openkit_core::open_targets::OpenTarget as CoreOpenTarget;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::True;

/// A local app a worktree can be opened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenTarget {
    /// API id (`cursor`, `vscode`, `file-manager`, ...).
    pub target: String,
    /// Human label.
    pub label: String,
}

impl From<&CoreOpenTarget> for OpenTarget {
    fn from(t: &CoreOpenTarget) -> Self {
        OpenTarget {
            target: t.target.to_string(),
            label: t.label.to_string(),
        }
    }
}

/// `GET /api/worktrees/:id/open-targets`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenTargets {
    /// Always `true`.
    pub success: True,
    /// The targets available on this machine, in the server's priority order.
    pub targets: Vec<OpenTarget>,
    /// The persisted choice when available, else the first available target.
    #[schema(required = true)]
    pub selected_target: Option<String>,
}

/// Body of `POST /api/worktrees/:id/open`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenRequest {
    /// `file-manager` (default), `cursor`, `vscode`, `zed`, `intellij`, `webstorm`,
    /// `terminal`, `warp`, `ghostty` or `neovim`.
    pub target: Option<String>,
}
