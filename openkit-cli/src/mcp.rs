//! `openkit mcp`: OpenKit's MCP server over stdio, for an agent started in a worktree.
//!
//! The tools live in the running server (`/mcp`, see `openkit_http::mcp`); this command
//! only carries MCP messages between stdio and that endpoint (rmcp's stdio transport on
//! one side, its streamable HTTP client transport on the other), telling the server the
//! session's scope: the worktree the command was started in
//! (`X-OpenKit-Scope: <worktree id>`, `root` in the main checkout).

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use rmcp::RoleServer;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, Transport};

use crate::agent::worktree_of;
use crate::client::ServerClient;
use crate::commands::project_paths;

/// The header naming the session's worktree (`openkit_http::mcp::SCOPE_HEADER`).
const SCOPE_HEADER: &str = "x-openkit-scope";

/// The scope of a session started in `cwd`: its worktree, the main checkout (`root`)
/// outside one, nothing with `all`.
fn scope(paths: &openkit_core::Paths, cwd: &Path, all: bool) -> Option<String> {
    (!all).then(|| worktree_of(paths, cwd).unwrap_or_else(|| "root".into()))
}

/// Bridges stdio to the running server's `/mcp` until either side ends.
pub async fn serve_stdio(cwd: &Path, all: bool) -> anyhow::Result<ExitCode> {
    let paths = project_paths(cwd)?;
    let server = ServerClient::find(&paths)?;
    let mut headers = HashMap::new();
    if let Some(scope) = scope(&paths, cwd, all) {
        headers.insert(
            http::HeaderName::from_static(SCOPE_HEADER),
            http::HeaderValue::from_str(&scope)
                .with_context(|| format!("the worktree id {scope:?} cannot be sent"))?,
        );
    }
    // Loopback only: no proxy, no TLS.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("building the HTTP client")?;
    let config =
        StreamableHttpClientTransportConfig::with_uri(server.url("/mcp")).custom_headers(headers);
    let mut upstream = StreamableHttpClientTransport::with_client(client, config);
    // Pipes (how MCP clients start servers) are read on the reactor, so a pending read
    // never holds up the exit when the server side ends first.
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let mut agent = AsyncRwTransport::<RoleServer, _, _>::new_server(stdin, stdout);
    let outcome = loop {
        tokio::select! {
            from_agent = agent.receive() => match from_agent {
                Some(message) => {
                    if let Err(e) = upstream.send(message).await {
                        break Err(anyhow!("the OpenKit server refused the MCP session: {e}"));
                    }
                }
                None => break Ok(()),
            },
            from_server = upstream.receive() => match from_server {
                Some(message) => agent
                    .send(message)
                    .await
                    .context("writing to standard output")?,
                None => break Err(anyhow!("the OpenKit server closed the MCP session")),
            },
        }
    };
    let _ = upstream.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_is_the_worktree_started_in() {
        let repo = openkit_core::testing::TestRepo::new();
        let paths = repo.paths();
        let inside = paths.worktrees_dir().join("login").join("src");
        std::fs::create_dir_all(&inside).unwrap();
        assert_eq!(scope(&paths, &inside, false).as_deref(), Some("login"));
        assert_eq!(
            scope(&paths, paths.project_root(), false).as_deref(),
            Some("root")
        );
        assert_eq!(scope(&paths, &inside, true), None);
    }
}
