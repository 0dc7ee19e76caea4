//! [`Integrations`]: the tracker and forge services of one project, built once from its
//! workbench and handed to the server.
//!
//! Each service (Jira, Linear, Kiket, Kizuna, Kite) keeps its section of
//! `.openkit/integrations.json` through the shared [`IntegrationsStore`], talks to its
//! service through an [`crate::api::ApiClient`] over the shared `reqwest` client, and
//! registers its issue source in the workbench's issue sources once configured. The
//! endpoints that are not given at setup (Linear's GraphQL API, Atlassian's OAuth
//! servers) come from [`Endpoints`], read from the host environment by the composition.

use std::sync::Arc;

use openkit_core::integrations::IntegrationsStore;
use openkit_core::{HostEnv, Workbench};

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
        let context = Arc::new(IntegrationContext {
            workbench,
            store,
            client: crate::api::default_client(),
            endpoints,
        });
        let jira = crate::jira::JiraService::new(Arc::clone(&context));
        let linear = crate::linear::LinearService::new(Arc::clone(&context));
        Integrations {
            context,
            jira,
            linear,
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

    /// What the services share.
    pub fn context(&self) -> &Arc<IntegrationContext> {
        &self.context
    }
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
}
