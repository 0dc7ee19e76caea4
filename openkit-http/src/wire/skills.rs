//! `/api/skills`: the skills registry.

use std::collections::BTreeMap;

use openkit_core::registry::skills::{
    DiscoveredSkill as CoreDiscovered, NewSkill, SkillDetail as CoreDetail, SkillPatch,
    SkillSummary as CoreSummary,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::True;
use super::registry::Placement;

/// A skill in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillSummary {
    /// Its directory name.
    pub name: String,
    /// Frontmatter `name`, else the directory name.
    pub display_name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Its directory in the registry.
    pub path: String,
}

impl From<CoreSummary> for SkillSummary {
    fn from(s: CoreSummary) -> Self {
        SkillSummary {
            name: s.name,
            display_name: s.display_name,
            description: s.description,
            path: s.path.display().to_string(),
        }
    }
}

/// `GET /api/skills`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillList {
    /// By name.
    pub skills: Vec<SkillSummary>,
}

/// A skill with its files.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillDetail {
    /// Name, display name, description, path.
    #[serde(flatten)]
    pub summary: SkillSummary,
    /// The whole `SKILL.md`.
    pub skill_md: String,
    /// Its YAML frontmatter as an object.
    #[schema(value_type = Object)]
    pub frontmatter: Map<String, Value>,
    /// There is a `reference.md`.
    pub has_reference: bool,
    /// `reference.md`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_md: Option<String>,
    /// There is an `examples.md`.
    pub has_examples: bool,
    /// `examples.md`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples_md: Option<String>,
}

impl From<CoreDetail> for SkillDetail {
    fn from(d: CoreDetail) -> Self {
        SkillDetail {
            summary: d.summary.into(),
            skill_md: d.skill_md,
            frontmatter: d.frontmatter,
            has_reference: d.reference_md.is_some(),
            reference_md: d.reference_md,
            has_examples: d.examples_md.is_some(),
            examples_md: d.examples_md,
        }
    }
}

/// `GET /api/skills/:name`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillResponse {
    /// The skill.
    pub skill: SkillDetail,
}

/// `POST /api/skills`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillCreated {
    /// Always `true`.
    pub success: True,
    /// The new skill.
    pub skill: SkillSummary,
}

/// Body of `POST /api/skills`: only `name` is required; the other fields become
/// frontmatter keys of `SKILL.md` (`allowed-tools`, `argument-hint`, ...), and
/// `instructions` its body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSkillRequest {
    /// Name (slugged into the directory name).
    pub name: Option<String>,
    /// What it does.
    pub description: Option<String>,
    /// `allowed-tools`.
    pub allowed_tools: Option<String>,
    /// `context`.
    pub context: Option<String>,
    /// `agent`.
    pub agent: Option<String>,
    /// `model`.
    pub model: Option<String>,
    /// `argument-hint`.
    pub argument_hint: Option<String>,
    /// `disable-model-invocation` (written when `true`).
    pub disable_model_invocation: Option<bool>,
    /// `user-invocable` (written when `false`).
    pub user_invocable: Option<bool>,
    /// `mode` (written when `true`).
    pub mode: Option<bool>,
    /// The Markdown body of `SKILL.md`.
    pub instructions: Option<String>,
}

impl From<CreateSkillRequest> for NewSkill {
    fn from(b: CreateSkillRequest) -> Self {
        let mut frontmatter: Vec<(String, Value)> = Vec::new();
        for (key, value) in [
            ("description", b.description),
            ("allowed-tools", b.allowed_tools),
            ("context", b.context),
            ("agent", b.agent),
            ("model", b.model),
            ("argument-hint", b.argument_hint),
        ] {
            if let Some(v) = value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                frontmatter.push((key.into(), Value::String(v)));
            }
        }
        // Booleans only where they differ from the agents' defaults.
        for (key, value, default) in [
            (
                "disable-model-invocation",
                b.disable_model_invocation,
                false,
            ),
            ("user-invocable", b.user_invocable, true),
            ("mode", b.mode, false),
        ] {
            if let Some(v) = value.filter(|v| *v != default) {
                frontmatter.push((key.into(), Value::Bool(v)));
            }
        }
        NewSkill {
            name: b.name.unwrap_or_default(),
            frontmatter,
            instructions: b.instructions,
        }
    }
}

/// Body of `PATCH /api/skills/:name`: all optional; `frontmatter` without `skillMd` is
/// merged into the existing `SKILL.md` (`null` removes a key); an empty `referenceMd` or
/// `examplesMd` deletes that file.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSkillRequest {
    /// The whole new `SKILL.md`.
    pub skill_md: Option<String>,
    /// New `reference.md`.
    pub reference_md: Option<String>,
    /// New `examples.md`.
    pub examples_md: Option<String>,
    /// Frontmatter keys to merge.
    #[schema(value_type = Option<Object>)]
    pub frontmatter: Option<Map<String, Value>>,
}

impl From<UpdateSkillRequest> for SkillPatch {
    fn from(b: UpdateSkillRequest) -> Self {
        SkillPatch {
            skill_md: b.skill_md,
            reference_md: b.reference_md,
            examples_md: b.examples_md,
            frontmatter: b.frontmatter,
        }
    }
}

/// One skill of `GET /api/skills/deployment-status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillDeployment {
    /// The registry has it (else it was only found in an agent's directory).
    pub in_registry: bool,
    /// Agent → presence per scope.
    pub agents: BTreeMap<String, Placement>,
}

/// `GET /api/skills/deployment-status`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillDeploymentStatus {
    /// Skill name → deployment.
    pub status: BTreeMap<String, SkillDeployment>,
}

/// A skill directory found by a scan.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredSkill {
    /// Its name.
    pub name: String,
    /// Frontmatter `name`, else the directory name.
    pub display_name: String,
    /// Frontmatter `description`.
    pub description: String,
    /// Its directory.
    pub skill_path: String,
    /// The registry has a skill of this name.
    pub already_in_registry: bool,
}

impl From<CoreDiscovered> for DiscoveredSkill {
    fn from(d: CoreDiscovered) -> Self {
        DiscoveredSkill {
            name: d.name,
            display_name: d.display_name,
            description: d.description,
            skill_path: d.skill_path.display().to_string(),
            already_in_registry: d.already_in_registry,
        }
    }
}

/// `POST /api/skills/scan`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillScanResult {
    /// Skill directories found.
    pub discovered: Vec<DiscoveredSkill>,
}

/// One skill of `POST /api/skills/import`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSkill {
    /// The name it gets in the registry.
    pub name: String,
    /// Its directory (with a `SKILL.md`).
    pub skill_path: String,
}

/// Body of `POST /api/skills/import`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ImportSkillsRequest {
    /// The skills to copy in.
    #[serde(default)]
    pub skills: Vec<ImportSkill>,
}

/// Body of `POST /api/skills/install`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InstallSkillRequest {
    /// `owner/repo` or a git URL.
    pub repo: Option<String>,
    /// One skill of the repository (all when absent).
    pub skill: Option<String>,
    /// Agents to install for (default `["claude"]`).
    pub agents: Option<Vec<String>>,
    /// `global` or `project` (default).
    pub scope: Option<String>,
}

/// `POST /api/skills/install`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkillsInstalled {
    /// Always `true`.
    pub success: True,
    /// Skill names that appeared in the agents' skills directories.
    pub installed: Vec<String>,
}

/// `GET /api/skills/npx-available`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpxAvailable {
    /// `npx` is on the server's PATH.
    pub available: bool,
}
