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

#[cfg(test)]
mod tests {
    use openkit_core::DomainError;
    use openkit_core::testing::TestRepo;
    use openkit_integrations::testing::{FAKE_TOKEN, FakeGitHub};

    use super::*;

    async fn status_with(repo: &TestRepo, host: HostEnv) -> openkit_core::codehost::GitHubStatus {
        let composition = Composition::new(repo.paths(), host.clone());
        let wb = plug_in(composition, &host, repo.root()).build().unwrap();
        wb.github_status().await
    }

    #[tokio::test]
    async fn the_environment_configures_the_adapter_and_gh_token_wins() {
        let fake = FakeGitHub::start().await;
        fake.add_repo("acme/widgets");
        let repo = TestRepo::new();
        repo.git(["remote", "add", "origin", "git@github.com:acme/widgets.git"]);
        let no_gh = tempfile::tempdir().unwrap();
        let base = repo
            .host_env()
            .with_var("PATH", no_gh.path())
            .with_var(API_URL_VAR, fake.url());

        let status = status_with(&repo, base.clone().with_var("GITHUB_TOKEN", FAKE_TOKEN)).await;
        assert!(status.configured && status.authenticated, "{status:?}");
        assert_eq!(status.user.as_deref(), Some("octocat"));
        assert_eq!(status.repo.as_deref(), Some("acme/widgets"));

        // GH_TOKEN comes first: a wrong one is what GitHub sees.
        let status = status_with(
            &repo,
            base.clone()
                .with_var("GH_TOKEN", "ghp_NotTheRightTokenNotTheRightToken00")
                .with_var("GITHUB_TOKEN", FAKE_TOKEN),
        )
        .await;
        assert_eq!(
            status.error.as_ref().map(|e| e.code()),
            Some("GITHUB_UNAUTHORIZED")
        );

        // Neither variable and no gh: not signed in, said plainly.
        let status = status_with(&repo, base).await;
        assert!(!status.authenticated);
        assert_eq!(
            status.error.as_ref().map(|e| e.code()),
            Some("GITHUB_NOT_AUTHENTICATED")
        );
        assert!(fake.requests().iter().all(|r| r.uri == "/user"));
    }
}
