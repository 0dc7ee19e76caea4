//! The GitHub adapter, plugged into the composition here (the composition root) from the
//! environment: `OPENKIT_GITHUB_API_URL` (default `https://api.github.com`; a GitHub
//! Enterprise `https://<host>/api/v3` works the same), and the token from `GH_TOKEN`, then
//! `GITHUB_TOKEN`, then `gh auth token` (asked when needed, through the command runner).

use std::path::Path;
use std::sync::Arc;

use openkit_core::codehost::gh::GhCli;
use openkit_core::command::CommandRunner;
use openkit_core::{Composition, HostEnv};
use openkit_integrations::github::{
    DEFAULT_API_URL, GhToken, GitHub, StaticToken, TokenChain, web_host,
};

/// The variable naming the API base URL.
pub const API_URL_VAR: &str = "OPENKIT_GITHUB_API_URL";

/// `composition` with the GitHub adapter for the project at `root`, configured from
/// `host`. When the HTTP client cannot be built (no TLS backend), GitHub stays
/// unconfigured and says so.
pub fn plug_in(composition: Composition, host: &HostEnv, root: &Path) -> Composition {
    let api = host.var_str(API_URL_VAR).unwrap_or(DEFAULT_API_URL);
    let mut tokens = TokenChain::new();
    for var in ["GH_TOKEN", "GITHUB_TOKEN"] {
        if let Some(token) = host.var_str(var) {
            tokens = tokens.then(Arc::new(StaticToken::new(token)));
        }
    }
    let gh = GhCli::new(CommandRunner::new(host.clone()), host.search_path());
    tokens = tokens.then(Arc::new(GhToken::new(gh, root, web_host(api))));
    match GitHub::new(api, Arc::new(tokens)) {
        Ok(github) => composition.code_host(Arc::new(github)),
        Err(e) => {
            tracing::warn!("GitHub is unavailable: could not build its HTTP client: {e}");
            composition
        }
    }
}
