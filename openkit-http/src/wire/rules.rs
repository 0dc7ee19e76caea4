//! Branch-name and commit-message rules: `/api/config/*-rule` and their `/status`.

use std::collections::BTreeMap;

use openkit_core::rules::{Overrides as CoreOverrides, RuleContent as CoreContent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A rule script.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleContent {
    /// The script, or the built-in rule's text.
    pub content: String,
    /// A script exists for exactly this source (or, without a source, the generic one).
    pub has_override: bool,
}

impl From<&CoreContent> for RuleContent {
    fn from(r: &CoreContent) -> Self {
        RuleContent {
            content: r.content.clone(),
            has_override: r.has_override,
        }
    }
}

/// Which sources have their own script: `jira`, `linear` and `local` always, every other
/// source (`github`, `kiket`, `kizuna`, registered ones) only when it has one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleOverrides {
    /// A Jira-specific script exists.
    pub jira: bool,
    /// A Linear-specific script exists.
    pub linear: bool,
    /// A local-task-specific script exists.
    pub local: bool,
    /// Other sources with their own script (always `true`).
    #[serde(flatten)]
    pub others: BTreeMap<String, bool>,
}

impl From<CoreOverrides> for RuleOverrides {
    fn from(o: CoreOverrides) -> Self {
        RuleOverrides {
            jira: o.has("jira"),
            linear: o.has("linear"),
            local: o.has("local"),
            others: o
                .iter()
                .filter(|(s, has)| *has && !matches!(s.as_str(), "jira" | "linear" | "local"))
                .map(|(s, has)| (s.to_string(), has))
                .collect(),
        }
    }
}

/// `GET .../status`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleStatus {
    /// Per-source scripts.
    pub overrides: RuleOverrides,
}

/// `?source=jira|linear|local|...`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RuleSourceQuery {
    /// `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered source;
    /// absent for the generic rule.
    pub source: Option<String>,
}

/// Body of a rule `PUT`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PutRuleRequest {
    /// The script; empty or `null` deletes the rule.
    pub content: Option<String>,
    /// `jira`, `linear`, `local`, `github`, `kiket`, `kizuna` or a registered source;
    /// absent for the generic rule.
    pub source: Option<String>,
}
