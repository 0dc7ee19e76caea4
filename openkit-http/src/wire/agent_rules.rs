//! Agent rule files: `/api/agent-rules/:fileId`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/agent-rules/:fileId`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRuleContent {
    /// The file exists.
    pub exists: bool,
    /// Its content (empty when it does not exist).
    pub content: String,
}

/// Body of `PUT /api/agent-rules/:fileId`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentRulePutRequest {
    /// The new content.
    pub content: String,
}
