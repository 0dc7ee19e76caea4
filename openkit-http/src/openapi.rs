//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json`.
//!
//! It is generated, never written by hand: every handler carries a `#[utoipa::path]`
//! annotation (method, path, parameters, request body, responses), the bodies are the
//! [`crate::wire`] types (`ToSchema`), and the route table in `lib.rs` registers each
//! handler together with its annotation (utoipa-axum's `routes!`), so a route cannot be
//! served without being documented, nor documented under another path or method.
//!
//! Responses every operation can give whatever its handler does are added here, once:
//! `403` (the Host/Origin/fetch-site/Referer checks run before routing) and `500` (a bug,
//! including a handler panic). Operations that read a JSON body also get `400` (malformed
//! JSON, trailing data or wrong types) and `413` (body over the limit); state-changing
//! operations (`POST`, `PUT`, `PATCH`, `DELETE`) get `415` (a body that is not declared
//! JSON, checked before routing); operations with path or query parameters get `400`
//! (parameters that do not decode). All of them use the one [`ErrorBody`] schema.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

use crate::wire::ErrorBody;
use crate::wire::terminals::{TerminalResize, TerminalServerMessage};

/// The static part of the document: info, tags and the shared error schema. Paths come
/// from the route table.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "OpenKit API",
        description = "The local REST API of an OpenKit workbench server (127.0.0.1). \
            Every failure answers with the `ErrorBody` envelope.",
        license(name = "MIT"),
    ),
    // The error envelope, and the WebSocket messages of `/api/terminals/{id}/ws`, which
    // no HTTP body refers to.
    components(schemas(ErrorBody, TerminalServerMessage, TerminalResize)),
    tags(
        (name = "worktrees", description = "Worktree lifecycle"),
        (name = "git", description = "Diff, commit and push of a worktree"),
        (name = "open", description = "Opening worktrees in local apps"),
        (name = "agent-rules", description = "CLAUDE.md and AGENTS.md"),
        (name = "config", description = "Project configuration, detection and setup"),
        (name = "rules", description = "Branch-name and commit-message rules"),
        (name = "local-config", description = "Machine-local settings"),
        (name = "activity", description = "The activity feed"),
        (name = "logs", description = "The operational log"),
        (name = "events", description = "Server-sent events"),
        (name = "devservers", description = "Dev servers and ports"),
        (name = "terminals", description = "Terminal sessions"),
        (name = "perf", description = "Performance monitoring"),
        (name = "agents", description = "Agent CLIs and sessions"),
        (name = "notes", description = "Per-issue notes, todos and git policy"),
        (name = "tasks", description = "Local tasks and attachments"),
        (name = "github", description = "GitHub: status, login, repositories, pull requests"),
        (name = "integrations", description = "Checks of every integration's connection"),
        (name = "jira", description = "Jira Cloud: setup (API token or OAuth 2.0), issues, transitions, comments, attachments, task worktrees"),
        (name = "linear", description = "Linear: setup (API key), issues, workflow states, comments, uploads, task worktrees"),
        (name = "kiket", description = "Kiket: issues, workflows and transitions, webhooks, SLA events"),
        (name = "kite", description = "Kite: activity forwarded as CloudEvents, agent messages, webhook config"),
        (name = "kizuna", description = "Kizuna: setup, issues and their worktrees, merging pull requests, pipelines, agents"),
        (name = "mcp-servers", description = "The MCP servers registry and its deployment to agents"),
        (name = "skills", description = "The skills registry and its deployment to agents"),
        (name = "custom-agents", description = "Custom agents of the registry and their deployment to agents"),
        (name = "plugins", description = "Claude Code plugins, marketplaces and plugin agents"),
        (name = "hooks", description = "Hook pipelines: checks and agent skills per worktree"),
        (name = "ngrok", description = "Ngrok Connect: the tunnel to the remote gateway, pairing and gateway sessions"),
        (name = "meta", description = "This document"),
        (name = "mcp", description = "The MCP server for agents (streamable HTTP)"),
    )
)]
pub(crate) struct ApiDoc;

/// The base document the route table adds its paths to.
pub(crate) fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// The complete document: every route of [`crate::router`] with its operations.
pub fn document() -> OpenApi {
    let (_, mut doc) = crate::api_routes().split_for_parts();
    add_common_responses(&mut doc);
    doc
}

static DOCUMENT_JSON: LazyLock<String> = LazyLock::new(|| {
    document()
        .to_json()
        .expect("the OpenAPI document serializes")
});

/// `GET /api/openapi.json`
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This OpenAPI 3.1 document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of every route", body = Object),
    )
)]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT_JSON.as_str(),
    )
        .into_response()
}

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
        .into()
}

fn add_response(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| error_response(description));
}

/// Each operation of a path, with whether its method changes state.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, &mut item.get),
        (true, &mut item.put),
        (true, &mut item.post),
        (true, &mut item.delete),
        (false, &mut item.options),
        (false, &mut item.head),
        (true, &mut item.patch),
        (false, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(mutation, operation)| operation.as_mut().map(|o| (mutation, o)))
}

/// Adds the responses that do not depend on the handler (see the module docs).
fn add_common_responses(doc: &mut OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for item in doc.paths.paths.values_mut() {
        for (mutation, operation) in operations_mut(item) {
            if operation.request_body.is_some() {
                add_response(
                    operation,
                    "400",
                    "Malformed JSON, trailing data or wrong types (`INVALID_JSON`)",
                );
                add_response(
                    operation,
                    "413",
                    "Request body too large (`PAYLOAD_TOO_LARGE`)",
                );
            }
            if mutation {
                add_response(
                    operation,
                    "415",
                    "A body not declared `application/json` (or `multipart/form-data` on \
                     uploads), or a non-empty body without `Content-Type` \
                     (`UNSUPPORTED_MEDIA_TYPE`)",
                );
            }
            let params = operation.parameters.as_deref().unwrap_or_default();
            let in_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
            let in_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
            if in_path {
                add_response(
                    operation,
                    "400",
                    "A path parameter does not decode (`INVALID_PATH`)",
                );
            }
            if in_query {
                add_response(
                    operation,
                    "400",
                    "A query parameter does not decode (`INVALID_QUERY`)",
                );
            }
            add_response(
                operation,
                "403",
                "Host, Origin or a request from another site not allowed (`FORBIDDEN_HOST`, \
                 `FORBIDDEN_ORIGIN`, `FORBIDDEN_CROSS_SITE`, `FORBIDDEN_REFERER`)",
            );
            add_response(
                operation,
                "500",
                "Internal error (a bug; the message carries a request id)",
            );
        }
    }
}
