//! The wire layer: every JSON body the API reads or writes, as Rust types.
//!
//! Handlers never serialize core types directly: they map them into these types
//! (`From<&CoreType>`), so the JSON shape of the API is decided here and nowhere else, and
//! the OpenAPI document (`GET /api/openapi.json`, see [`crate::openapi`]) is derived from
//! the same types. One module per area, mirroring `routes/`.
//!
//! Core types keep their own serde derives (files on disk, the CLI), but carry no API-only
//! fields and no schema derives.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

pub mod activity;
pub mod agent_rules;
pub mod agents;
pub mod config;
pub mod custom_agents;
pub mod devservers;
pub mod events;
pub mod git;
pub mod github;
pub mod hooks;
pub mod instance;
pub mod integrations;
pub mod jira;
pub mod kiket;
pub mod kite;
pub mod kizuna;
pub mod linear;
pub mod local_config;
pub mod logs;
pub mod mcp;
pub mod mcp_servers;
pub mod ngrok;
pub mod notes;
pub mod open;
pub mod perf;
pub mod plugins;
pub mod registry;
pub mod rules;
pub mod skills;
pub mod tasks;
pub mod terminals;
pub mod tracker;
pub mod worktrees;

/// The literal `true` (the `success` field of a successful response).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct True;

impl Serialize for True {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl PartialSchema for True {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([true]))
            .into()
    }
}

impl ToSchema for True {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SuccessTrue")
    }
}

/// The literal `false` (the `success` field of the error envelope and of a failed
/// discovery).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct False;

impl Serialize for False {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(false)
    }
}

impl PartialSchema for False {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([false]))
            .into()
    }
}

impl ToSchema for False {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SuccessFalse")
    }
}

/// `{ "success": true }`: an operation that has nothing else to report.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Success {
    /// Always `true`.
    pub success: True,
}

impl Success {
    /// The body.
    pub const fn new() -> Self {
        Success { success: True }
    }
}

/// The error envelope every endpoint answers failures with.
///
/// `{ "success": false, "error": "<sentence>", "code": "<UPPER_SNAKE>" }`, plus context
/// some errors carry (`worktreeId` of a conflicting worktree, `deleteOpId` of a failed
/// delete, `ports`/`logs` of a discovery that could not start).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: False,
    /// A human sentence.
    pub error: String,
    /// Stable machine-readable code: `UPPER_SNAKE`, or the reference's own lowercase
    /// codes where it names them (the gateway's `pair_invalid`, `unauthenticated`, ...).
    #[schema(
        pattern = "^([A-Z][A-Z0-9_]*|[a-z][a-z0-9_]*)$",
        example = "WORKTREE_NOT_FOUND"
    )]
    pub code: String,
    /// Canonical id of the worktree an error is about (`WORKTREE_EXISTS`).
    #[serde(rename = "worktreeId", skip_serializing_if = "Option::is_none")]
    pub worktree_id: Option<String>,
    /// Id of the failed delete operation, to find it in the ops log.
    #[serde(rename = "deleteOpId", skip_serializing_if = "Option::is_none")]
    pub delete_op_id: Option<String>,
    /// Further context fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
