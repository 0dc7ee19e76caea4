//! `.openkit/hooks.json`: `{steps: [...], skills: [...]}` (see COMPAT), typed, and the
//! store that reads and changes it.
//!
//! Unknown fields (of the file and of each entry) are kept. A file that does not parse is
//! reported (`CORRUPT_FILE`) and never overwritten; every change validates the whole
//! result before it is written atomically.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::HooksError;
use crate::paths::Paths;
use crate::persist;

/// When a step or skill applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Before an agent starts implementing.
    PreImplementation,
    /// After an agent finished implementing (the default).
    PostImplementation,
    /// When the step's condition holds (the agent decides).
    Custom,
    /// Only when someone runs it.
    OnDemand,
    /// Automatically after a worktree was created.
    WorktreeCreated,
    /// Automatically after a worktree was removed.
    WorktreeRemoved,
}

impl Trigger {
    /// Every trigger, in the order the reference lists them.
    pub const ALL: [Trigger; 6] = [
        Trigger::PreImplementation,
        Trigger::PostImplementation,
        Trigger::Custom,
        Trigger::OnDemand,
        Trigger::WorktreeCreated,
        Trigger::WorktreeRemoved,
    ];

    /// The wire and file name (`post-implementation`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PreImplementation => "pre-implementation",
            Trigger::PostImplementation => "post-implementation",
            Trigger::Custom => "custom",
            Trigger::OnDemand => "on-demand",
            Trigger::WorktreeCreated => "worktree-created",
            Trigger::WorktreeRemoved => "worktree-removed",
        }
    }

    /// Parses a trigger name exactly; anything else is `INVALID_HOOK_TRIGGER`.
    pub fn parse(value: &str) -> Result<Self, HooksError> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| HooksError::UnknownTrigger {
                value: value.to_string(),
            })
    }

    /// Whether OpenKit runs it by itself on a worktree's creation or removal.
    pub fn is_lifecycle(self) -> bool {
        matches!(self, Trigger::WorktreeCreated | Trigger::WorktreeRemoved)
    }

    /// Whether an agent is expected to run or report it before its work leaves the
    /// worktree (flow compliance): pre- and post-implementation.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Trigger::PreImplementation | Trigger::PostImplementation
        )
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A shell command OpenKit runs.
    Command,
    /// An instruction for agents, never executed.
    Prompt,
}

impl StepKind {
    /// `command` or `prompt`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Command => "command",
            StepKind::Prompt => "prompt",
        }
    }
}

fn yes() -> bool {
    true
}

/// The default timeout of a command step.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest timeout a step may set (seconds).
pub const MAX_STEP_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// One step of `hooks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStep {
    /// Stable id (`step-...`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The shell command (command steps; empty for prompt steps).
    #[serde(default)]
    pub command: String,
    /// `command` (the default when absent) or `prompt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StepKind>,
    /// The instruction of a prompt step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Whether it runs (default true; always written, as the original UI expects).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When it applies; absent means post-implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// When it applies, in words (custom steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_title: Option<String>,
    /// Timeout in seconds (default 120). An OpenKit addition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HookStep {
    /// Its kind: `command` unless it says `prompt`.
    pub fn kind(&self) -> StepKind {
        self.kind.unwrap_or(StepKind::Command)
    }

    /// Its trigger: post-implementation unless it says otherwise.
    pub fn trigger(&self) -> Trigger {
        self.trigger.unwrap_or(Trigger::PostImplementation)
    }

    /// How long it may run.
    pub fn timeout(&self) -> Duration {
        self.timeout
            .map_or(DEFAULT_STEP_TIMEOUT, Duration::from_secs)
    }

    /// Whether OpenKit runs it for `trigger`: enabled command steps of that trigger.
    pub fn runs_on(&self, trigger: Trigger) -> bool {
        self.enabled && self.kind() == StepKind::Command && self.trigger() == trigger
    }
}

/// A registry skill referenced by `hooks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookSkill {
    /// The skill's name in `~/.openkit/skills/`.
    pub skill_name: String,
    /// Whether agents are asked to use it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When it applies; absent means post-implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// When it applies, in words (custom skills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A short title of the condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_title: Option<String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HookSkill {
    /// Its trigger: post-implementation unless it says otherwise.
    pub fn trigger(&self) -> Trigger {
        self.trigger.unwrap_or(Trigger::PostImplementation)
    }

    /// The key of its `hookSkills` override in notes: `<trigger>:<skill>`.
    pub fn override_key(&self) -> String {
        format!("{}:{}", self.trigger(), self.skill_name)
    }

    fn is(&self, name: &str, trigger: Option<Trigger>) -> bool {
        self.skill_name == name && trigger.is_none_or(|t| t == self.trigger())
    }
}

/// The whole `hooks.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksConfig {
    /// Command and prompt steps.
    #[serde(default)]
    pub steps: Vec<HookStep>,
    /// Registry skills by trigger.
    #[serde(default)]
    pub skills: Vec<HookSkill>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HooksConfig {
    /// Checks the rules and normalises: step ids and names are non-empty and ids unique;
    /// a command step has a command, a prompt step a prompt; a timeout is 1 s to 24 h;
    /// a skill imported twice into the same trigger is kept once (the first).
    pub fn validated(mut self) -> Result<Self, HooksError> {
        let invalid = |reason: String| Err(HooksError::Invalid { reason });
        let mut ids = std::collections::HashSet::new();
        for step in &mut self.steps {
            step.id = step.id.trim().to_string();
            step.name = step.name.trim().to_string();
            if step.id.is_empty() {
                return invalid("Every hook step needs an id".into());
            }
            if !ids.insert(step.id.clone()) {
                return invalid(format!("Two hook steps have the id \"{}\"", step.id));
            }
            if step.name.is_empty() {
                return invalid(format!("Hook step \"{}\" needs a name", step.id));
            }
            match step.kind() {
                StepKind::Command if step.command.trim().is_empty() => {
                    return invalid(format!("Command step \"{}\" needs a command", step.id));
                }
                StepKind::Prompt if step.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) => {
                    return invalid(format!("Prompt step \"{}\" needs a prompt", step.id));
                }
                _ => {}
            }
            if let Some(t) = step.timeout
                && !(1..=MAX_STEP_TIMEOUT_SECS).contains(&t)
            {
                return invalid(format!(
                    "The timeout of step \"{}\" must be between 1 and {MAX_STEP_TIMEOUT_SECS} seconds",
                    step.id
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut skills = Vec::with_capacity(self.skills.len());
        for mut skill in self.skills {
            skill.skill_name = skill.skill_name.trim().to_string();
            if skill.skill_name.is_empty() {
                return invalid("Every hook skill needs a skillName".into());
            }
            if seen.insert((skill.skill_name.clone(), skill.trigger())) {
                skills.push(skill);
            }
        }
        self.skills = skills;
        Ok(self)
    }

    /// The step with `id`.
    pub fn step(&self, id: &str) -> Result<&HookStep, HooksError> {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| HooksError::StepNotFound { id: id.to_string() })
    }
}

/// A step to add.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewStep {
    /// Display name.
    pub name: String,
    /// `command` (default) or `prompt`.
    pub kind: Option<StepKind>,
    /// The command (command steps).
    pub command: Option<String>,
    /// The instruction (prompt steps).
    pub prompt: Option<String>,
    /// When it applies (default post-implementation).
    pub trigger: Option<Trigger>,
    /// The condition, in words.
    pub condition: Option<String>,
    /// Whether it runs (default true).
    pub enabled: Option<bool>,
    /// Timeout in seconds (default 120).
    pub timeout: Option<u64>,
}

/// Fields of a step to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepPatch {
    /// New name.
    pub name: Option<String>,
    /// New command.
    pub command: Option<String>,
    /// New instruction.
    pub prompt: Option<String>,
    /// New kind.
    pub kind: Option<StepKind>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New trigger.
    pub trigger: Option<Trigger>,
    /// New condition (an empty one clears it).
    pub condition: Option<String>,
    /// New timeout in seconds.
    pub timeout: Option<u64>,
}

/// A `hookSkills` override in an issue's notes (`"<trigger>:<skill>"` →
/// `inherit|enable|disable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkillOverride {
    /// As `hooks.json` says.
    Inherit,
    /// On for this issue.
    Enable,
    /// Off for this issue.
    Disable,
}

impl SkillOverride {
    /// Parses `inherit`, `enable` or `disable`.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "inherit" => SkillOverride::Inherit,
            "enable" => SkillOverride::Enable,
            "disable" => SkillOverride::Disable,
            _ => return None,
        })
    }

    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillOverride::Inherit => "inherit",
            SkillOverride::Enable => "enable",
            SkillOverride::Disable => "disable",
        }
    }
}

/// Reads and changes `.openkit/hooks.json`; read-modify-write cycles are serialised.
#[derive(Debug)]
pub struct HooksStore {
    file: PathBuf,
    lock: Mutex<()>,
}

impl HooksStore {
    /// The store of the project at `paths`.
    pub fn new(paths: &Paths) -> Self {
        HooksStore {
            file: paths.openkit_dir().join("hooks.json"),
            lock: Mutex::new(()),
        }
    }

    /// The configuration (empty when there is no file).
    pub fn load(&self) -> Result<HooksConfig, HooksError> {
        Ok(persist::read_json::<HooksConfig>(&self.file)?.unwrap_or_default())
    }

    /// Applies `change`, validates the result and writes it.
    pub fn update(
        &self,
        change: impl FnOnce(&mut HooksConfig) -> Result<(), HooksError>,
    ) -> Result<HooksConfig, HooksError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut config = self.load()?;
        change(&mut config)?;
        let config = config.validated()?;
        persist::write_json(&self.file, &config)?;
        Ok(config)
    }

    /// Replaces the whole configuration (validated first). Unknown top-level fields of
    /// the file are kept unless `config` brings its own.
    pub fn save(&self, config: HooksConfig) -> Result<HooksConfig, HooksError> {
        self.update(|current| {
            let extra = std::mem::take(&mut current.extra);
            *current = config;
            if current.extra.is_empty() {
                current.extra = extra;
            }
            Ok(())
        })
    }

    /// Adds a step with a fresh id.
    pub fn add_step(&self, new: NewStep) -> Result<HooksConfig, HooksError> {
        let step = HookStep {
            id: format!("step-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            name: new.name,
            command: new.command.unwrap_or_default(),
            kind: new.kind,
            prompt: new.prompt,
            enabled: new.enabled.unwrap_or(true),
            trigger: new.trigger,
            condition: new.condition.filter(|c| !c.trim().is_empty()),
            condition_title: None,
            timeout: new.timeout,
            extra: Map::new(),
        };
        self.update(|c| {
            c.steps.push(step);
            Ok(())
        })
    }

    /// Changes the fields `patch` names of step `id`.
    pub fn update_step(&self, id: &str, patch: StepPatch) -> Result<HooksConfig, HooksError> {
        self.update(|c| {
            let step = c
                .steps
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or_else(|| HooksError::StepNotFound { id: id.to_string() })?;
            if let Some(v) = patch.name {
                step.name = v;
            }
            if let Some(v) = patch.command {
                step.command = v;
            }
            if let Some(v) = patch.prompt {
                step.prompt = Some(v);
            }
            if let Some(v) = patch.kind {
                step.kind = Some(v);
            }
            if let Some(v) = patch.enabled {
                step.enabled = v;
            }
            if let Some(v) = patch.trigger {
                step.trigger = Some(v);
            }
            if let Some(v) = patch.condition {
                step.condition = Some(v).filter(|c| !c.trim().is_empty());
            }
            if let Some(v) = patch.timeout {
                step.timeout = Some(v);
            }
            Ok(())
        })
    }

    /// Removes step `id`.
    pub fn delete_step(&self, id: &str) -> Result<HooksConfig, HooksError> {
        self.update(|c| {
            let before = c.steps.len();
            c.steps.retain(|s| s.id != id);
            if c.steps.len() == before {
                return Err(HooksError::StepNotFound { id: id.to_string() });
            }
            Ok(())
        })
    }

    /// References skill `name` for `trigger` (default post-implementation); importing it
    /// again into the same trigger keeps one entry.
    pub fn import_skill(
        &self,
        name: &str,
        trigger: Option<Trigger>,
        condition: Option<String>,
    ) -> Result<HooksConfig, HooksError> {
        let trigger = trigger.unwrap_or(Trigger::PostImplementation);
        self.update(|c| {
            if !c.skills.iter().any(|s| s.is(name, Some(trigger))) {
                c.skills.push(HookSkill {
                    skill_name: name.to_string(),
                    enabled: true,
                    trigger: Some(trigger),
                    condition: condition.filter(|c| !c.trim().is_empty()),
                    condition_title: None,
                    extra: Map::new(),
                });
            }
            Ok(())
        })
    }

    /// Enables or disables skill `name` in `trigger` (every trigger it is in when none is
    /// named).
    pub fn toggle_skill(
        &self,
        name: &str,
        enabled: bool,
        trigger: Option<Trigger>,
    ) -> Result<HooksConfig, HooksError> {
        self.update(|c| {
            let mut found = false;
            for skill in c.skills.iter_mut().filter(|s| s.is(name, trigger)) {
                skill.enabled = enabled;
                found = true;
            }
            found
                .then_some(())
                .ok_or_else(|| HooksError::SkillNotFound {
                    name: name.to_string(),
                    trigger,
                })
        })
    }

    /// Removes skill `name` from `trigger` (from every trigger when none is named).
    pub fn remove_skill(
        &self,
        name: &str,
        trigger: Option<Trigger>,
    ) -> Result<HooksConfig, HooksError> {
        self.update(|c| {
            let before = c.skills.len();
            c.skills.retain(|s| !s.is(name, trigger));
            if c.skills.len() == before {
                return Err(HooksError::SkillNotFound {
                    name: name.to_string(),
                    trigger,
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainError;

    fn store() -> (tempfile::TempDir, HooksStore) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("global"));
        (dir, HooksStore::new(&paths))
    }

    fn command(name: &str, cmd: &str) -> NewStep {
        NewStep {
            name: name.into(),
            command: Some(cmd.into()),
            ..Default::default()
        }
    }

    proptest::proptest! {
        /// Validation keeps exactly the first entry of every skill and trigger, in order.
        #[test]
        fn every_skill_is_kept_once_per_trigger(
            entries in proptest::collection::vec((0usize..4, proptest::option::of(0usize..6)), 0..30),
        ) {
            let skills: Vec<HookSkill> = entries
                .iter()
                .map(|(name, trigger)| HookSkill {
                    skill_name: format!("skill-{name}"),
                    enabled: true,
                    trigger: trigger.map(|t| Trigger::ALL[t]),
                    condition: None,
                    condition_title: None,
                    extra: Map::new(),
                })
                .collect();
            let config = HooksConfig { skills: skills.clone(), ..Default::default() }
                .validated()
                .unwrap();
            let mut seen = std::collections::HashSet::new();
            let expected: Vec<&HookSkill> = skills
                .iter()
                .filter(|s| seen.insert((s.skill_name.clone(), s.trigger())))
                .collect();
            let kept: Vec<&HookSkill> = config.skills.iter().collect();
            proptest::prop_assert_eq!(kept, expected);
        }
    }

    #[test]
    fn steps_are_added_changed_and_removed_and_unknown_ones_are_404() {
        let (_dir, store) = store();
        assert_eq!(store.load().unwrap(), HooksConfig::default());
        let config = store.add_step(command("Lint", "make lint")).unwrap();
        let id = config.steps[0].id.clone();
        assert!(id.starts_with("step-"));
        assert_eq!(config.steps[0].trigger(), Trigger::PostImplementation);
        assert_eq!(config.steps[0].timeout(), DEFAULT_STEP_TIMEOUT);
        let config = store
            .update_step(
                &id,
                StepPatch {
                    enabled: Some(false),
                    trigger: Some(Trigger::PreImplementation),
                    timeout: Some(5),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(!config.steps[0].enabled);
        assert_eq!(config.steps[0].trigger(), Trigger::PreImplementation);
        assert_eq!(config.steps[0].timeout(), Duration::from_secs(5));
        assert_eq!(store.load().unwrap(), config, "written to the file");
        let missing = store
            .update_step("step-nope", StepPatch::default())
            .unwrap_err();
        assert_eq!(missing.code(), "HOOK_STEP_NOT_FOUND");
        assert_eq!(
            store.delete_step("step-nope").unwrap_err().code(),
            "HOOK_STEP_NOT_FOUND"
        );
        assert!(store.delete_step(&id).unwrap().steps.is_empty());
    }

    #[test]
    fn invalid_steps_are_refused_before_anything_is_written() {
        let (_dir, store) = store();
        let empty = store.add_step(command("Lint", "  ")).unwrap_err();
        assert_eq!(empty.code(), "INVALID_HOOKS_CONFIG");
        let prompt = NewStep {
            name: "Review".into(),
            kind: Some(StepKind::Prompt),
            ..Default::default()
        };
        assert_eq!(
            store.add_step(prompt).unwrap_err().code(),
            "INVALID_HOOKS_CONFIG"
        );
        let slow = NewStep {
            timeout: Some(0),
            ..command("Slow", "true")
        };
        assert_eq!(
            store.add_step(slow).unwrap_err().code(),
            "INVALID_HOOKS_CONFIG"
        );
        assert_eq!(store.load().unwrap(), HooksConfig::default());
        assert_eq!(
            Trigger::parse("post").unwrap_err().code(),
            "INVALID_HOOK_TRIGGER"
        );
    }

    #[test]
    fn a_skill_is_kept_once_per_trigger_and_toggled_or_removed_per_trigger() {
        let (_dir, store) = store();
        store.import_skill("review", None, None).unwrap();
        store
            .import_skill("review", Some(Trigger::PostImplementation), None)
            .unwrap();
        let config = store
            .import_skill("review", Some(Trigger::PreImplementation), None)
            .unwrap();
        assert_eq!(config.skills.len(), 2, "{config:?}");
        let config = store
            .toggle_skill("review", false, Some(Trigger::PreImplementation))
            .unwrap();
        let enabled: Vec<_> = config
            .skills
            .iter()
            .map(|s| (s.trigger(), s.enabled))
            .collect();
        assert_eq!(
            enabled,
            [
                (Trigger::PostImplementation, true),
                (Trigger::PreImplementation, false)
            ]
        );
        let missing = store
            .toggle_skill("review", true, Some(Trigger::Custom))
            .unwrap_err();
        assert_eq!(missing.code(), "HOOK_SKILL_NOT_FOUND");
        let config = store
            .remove_skill("review", Some(Trigger::PostImplementation))
            .unwrap();
        assert_eq!(config.skills.len(), 1);
        assert!(store.remove_skill("other", None).is_err());
        // A whole config with a duplicate keeps the first.
        let mut dup = config.clone();
        dup.skills.push(dup.skills[0].clone());
        assert_eq!(store.save(dup).unwrap().skills.len(), 1);
    }

    #[test]
    fn the_file_format_is_the_originals_and_unknown_fields_are_kept() {
        let (dir, store) = store();
        let file = dir.path().join(".openkit/hooks.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            r#"{"steps":[{"id":"s1","name":"Types","command":"pnpm check","color":"red"},
                {"id":"s2","name":"Review","command":"","kind":"prompt","prompt":"Review it","enabled":false,"trigger":"custom","condition":"db changes"}],
               "skills":[{"skillName":"review-changes","enabled":true}],"version":2}"#,
        )
        .unwrap();
        let config = store.load().unwrap();
        assert_eq!(config.steps[0].kind(), StepKind::Command);
        assert_eq!(config.steps[0].extra["color"], "red");
        assert_eq!(config.steps[1].kind(), StepKind::Prompt);
        assert!(!config.steps[1].runs_on(Trigger::Custom));
        assert_eq!(
            config.skills[0].override_key(),
            "post-implementation:review-changes"
        );
        store.update(|_| Ok(())).unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(written["version"], 2);
        assert_eq!(written["steps"][0]["color"], "red");
        assert_eq!(written["steps"][1]["enabled"], false);
        assert_eq!(
            written["steps"][0]["enabled"], true,
            "the default is written"
        );

        std::fs::write(&file, "{not json").unwrap();
        assert_eq!(store.load().unwrap_err().code(), "CORRUPT_FILE");
        assert!(store.add_step(command("x", "true")).is_err());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{not json",
            "never overwritten"
        );
    }
}
