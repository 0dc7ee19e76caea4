//! `GET /api/integrations/verify`: each integration's connection check.

use openkit_integrations::verify::{Check, VerifyReport};
use serde::Serialize;
use utoipa::ToSchema;

/// One integration's verification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationCheck {
    /// The connection works.
    pub ok: bool,
    /// Why not (`timed out` when the service did not answer in time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl From<&Check> for IntegrationCheck {
    fn from(c: &Check) -> Self {
        IntegrationCheck {
            ok: c.ok,
            error: c.error.clone(),
            code: c.code.clone(),
        }
    }
}

/// `GET /api/integrations/verify`: each integration's check, `null` when it is not
/// configured.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationsVerify {
    /// GitHub (the API with the configured token, else `gh auth status`).
    #[schema(required = true)]
    pub github: Option<IntegrationCheck>,
    /// Jira (an API call with the stored credentials).
    #[schema(required = true)]
    pub jira: Option<IntegrationCheck>,
    /// Linear (a GraphQL query with the stored key).
    #[schema(required = true)]
    pub linear: Option<IntegrationCheck>,
    /// Kiket (additive).
    #[schema(required = true)]
    pub kiket: Option<IntegrationCheck>,
    /// Kizuna (additive).
    #[schema(required = true)]
    pub kizuna: Option<IntegrationCheck>,
    /// Kite (additive).
    #[schema(required = true)]
    pub kite: Option<IntegrationCheck>,
}

impl From<&VerifyReport> for IntegrationsVerify {
    fn from(report: &VerifyReport) -> Self {
        let check = |name: &str| report.get(name).map(IntegrationCheck::from);
        IntegrationsVerify {
            github: check("github"),
            jira: check("jira"),
            linear: check("linear"),
            kiket: check("kiket"),
            kizuna: check("kizuna"),
            kite: check("kite"),
        }
    }
}
