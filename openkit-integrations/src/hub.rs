//! [`Integrations`]: the tracker and forge services of one project, built once from its
//! workbench and handed to the server.
//!
//! Each service (Jira, Linear, Kiket, Kizuna, Kite) keeps its section of
//! `.openkit/integrations.json` through the shared [`IntegrationsStore`], talks to its
//! service through an [`crate::api::ApiClient`] over the shared `reqwest` client, and
//! registers its issue source in the workbench's issue sources once configured. The
//! endpoints that are not given at setup (Linear's GraphQL API, Atlassian's OAuth
//! servers) come from [`Endpoints`], read from the host environment by the composition.
//!
//! The hub also runs what works for every tracker: the background refresh of assigned
//! issues ([`Integrations::start_background`], core's [`TrackerRefresh`] over every
//! registered source with a section) and the connection checks of
//! `GET /api/integrations/verify` ([`Integrations::verify_all`]).

use std::sync::Arc;

use openkit_core::integrations::IntegrationsStore;
use openkit_core::trackers::{RefreshLoop, TrackerRefresh};
use openkit_core::{HostEnv, Workbench};

use crate::verify::{self, Check, CheckFuture, Verifiers, VerifyReport};

/// Linear's GraphQL API.
pub const LINEAR_API_URL: &str = "https://api.linear.app/graphql";
/// Atlassian's OAuth 2.0 (3LO) authorization server.
pub const ATLASSIAN_AUTH_URL: &str = "https://auth.atlassian.com";
/// Atlassian's API gateway for OAuth apps (`/oauth/token/accessible-resources`,
/// `/ex/jira/<cloudId>/...`).
pub const ATLASSIAN_API_URL: &str = "https://api.atlassian.com";

/// Where services whose URL is not given at setup live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Linear's GraphQL endpoint (`OPENKIT_LINEAR_API_URL`).
    pub linear_api: String,
    /// Atlassian's authorization server (`OPENKIT_ATLASSIAN_AUTH_URL`).
    pub atlassian_auth: String,
    /// Atlassian's API gateway (`OPENKIT_ATLASSIAN_API_URL`).
    pub atlassian_api: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            linear_api: LINEAR_API_URL.into(),
            atlassian_auth: ATLASSIAN_AUTH_URL.into(),
            atlassian_api: ATLASSIAN_API_URL.into(),
        }
    }
}

impl Endpoints {
    /// The defaults, each overridden by its variable in `host` when set and not blank.
    pub fn from_host(host: &HostEnv) -> Self {
        let pick = |name: &str, default: &str| {
            host.var_str(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        Endpoints {
            linear_api: pick("OPENKIT_LINEAR_API_URL", LINEAR_API_URL),
            atlassian_auth: pick("OPENKIT_ATLASSIAN_AUTH_URL", ATLASSIAN_AUTH_URL),
            atlassian_api: pick("OPENKIT_ATLASSIAN_API_URL", ATLASSIAN_API_URL),
        }
    }
}

/// What every integration service of a project shares.
#[derive(Debug)]
pub struct IntegrationContext {
    /// The project's workbench (issue sources, notes, worktrees, activity).
    pub workbench: Arc<Workbench>,
    /// `.openkit/integrations.json`.
    pub store: Arc<IntegrationsStore>,
    /// The HTTP client every adapter sends through ([`crate::api::default_client`]).
    pub client: reqwest::Client,
    /// Endpoints not given at setup.
    pub endpoints: Endpoints,
}

/// The integration services of one project.
#[derive(Debug, Clone)]
pub struct Integrations {
    context: Arc<IntegrationContext>,
    jira: Arc<crate::jira::JiraService>,
    linear: Arc<crate::linear::LinearService>,
    kizuna: Arc<crate::kizuna::KizunaService>,
    kiket: Arc<crate::kiket::KiketService>,
    kite: Arc<crate::kite::KiteService>,
    /// Checks registered at runtime and the time limit of `verify_all`.
    verifiers: Arc<Verifiers>,
    /// The background refresh of every configured tracker's assigned issues.
    refresh: Arc<TrackerRefresh>,
}

/// The background work of [`Integrations::start_background`]; dropping it stops it.
#[derive(Debug)]
pub struct IntegrationsBackground {
    _refresh: RefreshLoop,
}

impl Integrations {
    /// The services of `workbench`'s project, with endpoints from its host environment.
    pub fn new(workbench: Arc<Workbench>) -> Self {
        let endpoints = Endpoints::from_host(workbench.host());
        Integrations::with_endpoints(workbench, endpoints)
    }

    /// The services of `workbench`'s project, with the given endpoints.
    pub fn with_endpoints(workbench: Arc<Workbench>, endpoints: Endpoints) -> Self {
        let store = Arc::new(IntegrationsStore::new(workbench.paths()));
        let refresh = Arc::new(TrackerRefresh::new(
            Arc::clone(&workbench),
            Arc::clone(&store),
        ));
        let context = Arc::new(IntegrationContext {
            workbench,
            store,
            client: crate::api::default_client(),
            endpoints,
        });
        let kizuna = Arc::new(crate::kizuna::KizunaService::new(Arc::clone(&context)));
        let kiket = crate::kiket::KiketService::new(Arc::clone(&context));
        let kite = crate::kite::KiteService::new(Arc::clone(&context));
        let jira = crate::jira::JiraService::new(Arc::clone(&context));
        let linear = crate::linear::LinearService::new(Arc::clone(&context));
        Integrations {
            context,
            jira,
            linear,
            kizuna,
            kiket,
            kite,
            verifiers: Arc::default(),
            refresh,
        }
    }

    /// Jira Cloud.
    pub fn jira(&self) -> &Arc<crate::jira::JiraService> {
        &self.jira
    }

    /// Linear.
    pub fn linear(&self) -> &Arc<crate::linear::LinearService> {
        &self.linear
    }

    /// Kizuna.
    pub fn kizuna(&self) -> &crate::kizuna::KizunaService {
        &self.kizuna
    }

    /// Kiket.
    pub fn kiket(&self) -> &crate::kiket::KiketService {
        &self.kiket
    }

    /// Kite.
    pub fn kite(&self) -> &crate::kite::KiteService {
        &self.kite
    }

    /// What the services share.
    pub fn context(&self) -> &Arc<IntegrationContext> {
        &self.context
    }

    /// Starts the background work of the integrations: the refresh of every configured
    /// tracker's assigned issues (new issues announced, agents auto-started; see
    /// [`openkit_core::trackers`]), checked every [`openkit_core::trackers::TICK`].
    /// Stops when the returned value is dropped (`openkit serve` drops it on shutdown).
    pub fn start_background(&self) -> IntegrationsBackground {
        IntegrationsBackground {
            _refresh: self.refresh.spawn(openkit_core::trackers::TICK),
        }
    }

    /// The background refresh of assigned issues (a tick can be run on demand).
    pub fn refresh(&self) -> &Arc<TrackerRefresh> {
        &self.refresh
    }

    /// Checks every integration's connection in parallel (`GET /api/integrations/verify`),
    /// each bounded by [`Verifiers::timeout`]; `None` for an integration that is not
    /// configured.
    pub async fn verify_all(&self) -> VerifyReport {
        let workbench = &self.context.workbench;
        let mut checks: Vec<(String, CheckFuture<'_>)> = vec![
            ("github".into(), Box::pin(github_check(workbench))),
            ("jira".into(), verify::upstream(self.jira().verify())),
            ("linear".into(), verify::upstream(self.linear().verify())),
            ("kizuna".into(), verify::upstream(self.kizuna().verify())),
            ("kiket".into(), verify::upstream(self.kiket().verify())),
            ("kite".into(), verify::upstream(self.kite().verify())),
        ];
        checks.extend(self.verifiers.checks());
        verify::run(checks, self.verifiers.timeout()).await
    }

    /// Checks registered at runtime (services outside the hub, tests' fakes) and the time
    /// limit of [`Integrations::verify_all`].
    pub fn verifiers(&self) -> &Verifiers {
        &self.verifiers
    }
}

/// GitHub's part of the verification: the code host, else `gh`.
async fn github_check(workbench: &Workbench) -> Option<Check> {
    let check = workbench.verify_github().await?;
    Some(Check {
        ok: check.ok,
        error: check.error,
        code: check.code.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_come_from_the_host_environment() {
        assert_eq!(
            Endpoints::from_host(&HostEnv::empty()),
            Endpoints::default()
        );
        let host = HostEnv::empty()
            .with_var("OPENKIT_LINEAR_API_URL", "http://127.0.0.1:9/graphql")
            .with_var("OPENKIT_ATLASSIAN_AUTH_URL", "  ");
        let endpoints = Endpoints::from_host(&host);
        assert_eq!(endpoints.linear_api, "http://127.0.0.1:9/graphql");
        assert_eq!(endpoints.atlassian_auth, ATLASSIAN_AUTH_URL);
    }

    #[tokio::test]
    async fn the_background_refresh_polls_configured_trackers_until_dropped() {
        use openkit_core::testing::{MemoryIssues, TestRepo};
        let repo = TestRepo::new();
        let tracker = Arc::new(MemoryIssues::new("acme"));
        let workbench = repo
            .composition()
            .issue_source(Arc::clone(&tracker) as _)
            .build()
            .unwrap();
        let integrations = Integrations::new(workbench);
        // Not configured: never asked.
        let background = integrations.start_background();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(tracker.assigned_calls(), 0);
        drop(background);

        integrations
            .context()
            .store
            .put_section("acme", &serde_json::json!({ "refreshIntervalMinutes": 1 }))
            .unwrap();
        let background = integrations.start_background();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while tracker.assigned_calls() == 0 {
            assert!(std::time::Instant::now() < deadline, "never polled");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(background);
        // A tick on demand: the first poll happened, so the next is not due yet.
        let report = integrations.refresh().tick(std::time::Instant::now()).await;
        assert!(report.polled.is_empty());
        assert_eq!(tracker.assigned_calls(), 1);
    }

    #[tokio::test]
    async fn verify_all_bounds_every_check() {
        use openkit_core::testing::TestRepo;
        let repo = TestRepo::new();
        // No code host and no `gh` on PATH: GitHub is not configured.
        let workbench =
            openkit_core::Composition::new(repo.paths(), repo.host_env().with_var("PATH", ""))
                .build()
                .unwrap();
        let integrations = Integrations::new(workbench);
        integrations
            .verifiers()
            .set_timeout(std::time::Duration::from_millis(300));
        integrations
            .verifiers()
            .register("jira", Arc::new(|| Box::pin(async { Some(Check::ok()) })));
        integrations
            .verifiers()
            .register("linear", Arc::new(|| Box::pin(std::future::pending())));
        let started = std::time::Instant::now();
        let report = integrations.verify_all().await;
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(report.get("github"), None);
        assert_eq!(report.get("jira"), Some(&Check::ok()));
        assert_eq!(report.get("linear"), Some(&Check::timed_out()));
    }
}
