//! `/api/kiket/*`: Kiket, an issue tracker with workflows. The shapes follow the
//! reference's Jira section (status with the shared tracker settings, `{success}`
//! answers, `{issues: [], error}` failures of the list, the `task` answer).

use std::path::PathBuf;

use openkit_core::integrations::{AutoCleanup, DataLifecycle, SaveOn, TrackerSettings};
use openkit_integrations::kiket::{
    KiketComment, KiketIssue, KiketStatus, SlaEvent, StatusOption, Workflow,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::wire::{ErrorBody, True};

/// Reads a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn id_text(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// When issue data is saved under `.openkit/issues/kiket/<key>/`, and its cleanup.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataLifecycleWire {
    /// `view`, `worktree-creation` or `never`.
    #[schema(example = "view")]
    pub save_on: String,
    /// Cleanup of saved data.
    pub auto_cleanup: AutoCleanupWire,
}

/// Removal of saved issue data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoCleanupWire {
    /// Whether cleanup runs.
    pub enabled: bool,
    /// Statuses whose issues' data is removed.
    pub statuses: Vec<String>,
    /// Days without a view or refresh before removal.
    pub after_days: Option<u32>,
    /// Remove when the issue's worktree is deleted.
    pub on_worktree_removed: bool,
}

impl From<&DataLifecycle> for DataLifecycleWire {
    fn from(d: &DataLifecycle) -> Self {
        let save_on = match d.save_on {
            SaveOn::View => "view",
            SaveOn::WorktreeCreation => "worktree-creation",
            SaveOn::Never => "never",
        };
        let AutoCleanup {
            enabled,
            statuses,
            after_days,
            on_worktree_removed,
        } = &d.auto_cleanup;
        DataLifecycleWire {
            save_on: save_on.into(),
            auto_cleanup: AutoCleanupWire {
                enabled: *enabled,
                statuses: statuses.clone(),
                after_days: *after_days,
                on_worktree_removed: *on_worktree_removed,
            },
        }
    }
}

/// The tracker settings every tracker's status shows and its config takes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackerSettingsWire {
    /// Minutes between background refreshes of assigned issues.
    pub refresh_interval_minutes: u32,
    /// When issue data is saved, and its cleanup.
    pub data_lifecycle: DataLifecycleWire,
    /// The agent started for a newly assigned issue.
    #[schema(required = true)]
    pub auto_start_agent: Option<String>,
    /// The original's switch for starting Claude on a new issue.
    pub auto_start_claude_on_new_issue: bool,
    /// Start the agent with permission prompts skipped.
    pub auto_start_claude_skip_permissions: bool,
    /// Focus the started terminal.
    pub auto_start_claude_focus_terminal: bool,
    /// Move the issue when its agent starts.
    pub auto_update_issue_status_on_agent_start: bool,
    /// The status it moves to.
    #[schema(required = true)]
    pub auto_update_issue_status_name: Option<String>,
}

impl From<&TrackerSettings> for TrackerSettingsWire {
    fn from(s: &TrackerSettings) -> Self {
        TrackerSettingsWire {
            refresh_interval_minutes: s.refresh_interval_minutes,
            data_lifecycle: (&s.data_lifecycle).into(),
            auto_start_agent: s.auto_start_agent.clone(),
            auto_start_claude_on_new_issue: s.auto_start_claude_on_new_issue,
            auto_start_claude_skip_permissions: s.auto_start_claude_skip_permissions,
            auto_start_claude_focus_terminal: s.auto_start_claude_focus_terminal,
            auto_update_issue_status_on_agent_start: s.auto_update_issue_status_on_agent_start,
            auto_update_issue_status_name: s.auto_update_issue_status_name.clone(),
        }
    }
}

/// Tracker settings fields a config change may carry; the ones given change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackerSettingsPatch {
    /// Minutes between refreshes (at least 1).
    pub refresh_interval_minutes: Option<u32>,
    /// When data is saved, and its cleanup (merged into the current value).
    #[schema(value_type = Option<Object>)]
    pub data_lifecycle: Option<Value>,
    /// The agent to start (`null`: none).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub auto_start_agent: Option<Option<String>>,
    /// Start Claude on a new issue.
    pub auto_start_claude_on_new_issue: Option<bool>,
    /// Skip permission prompts.
    pub auto_start_claude_skip_permissions: Option<bool>,
    /// Focus the started terminal.
    pub auto_start_claude_focus_terminal: Option<bool>,
    /// Move the issue when its agent starts.
    pub auto_update_issue_status_on_agent_start: Option<bool>,
    /// The status it moves to (`null`: none).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub auto_update_issue_status_name: Option<Option<String>>,
}

impl TrackerSettingsPatch {
    /// The given fields as a JSON merge patch over [`TrackerSettings`].
    pub fn into_patch(self) -> Map<String, Value> {
        let mut patch = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                patch.insert(key.to_string(), v);
            }
        };
        put(
            "refreshIntervalMinutes",
            self.refresh_interval_minutes.map(Value::from),
        );
        put("dataLifecycle", self.data_lifecycle);
        put(
            "autoStartAgent",
            self.auto_start_agent
                .map(|a| a.map(Value::String).unwrap_or(Value::Null)),
        );
        put(
            "autoStartClaudeOnNewIssue",
            self.auto_start_claude_on_new_issue.map(Value::Bool),
        );
        put(
            "autoStartClaudeSkipPermissions",
            self.auto_start_claude_skip_permissions.map(Value::Bool),
        );
        put(
            "autoStartClaudeFocusTerminal",
            self.auto_start_claude_focus_terminal.map(Value::Bool),
        );
        put(
            "autoUpdateIssueStatusOnAgentStart",
            self.auto_update_issue_status_on_agent_start
                .map(Value::Bool),
        );
        put(
            "autoUpdateIssueStatusName",
            self.auto_update_issue_status_name
                .map(|a| a.map(Value::String).unwrap_or(Value::Null)),
        );
        patch
    }
}

/// `GET /api/kiket/status`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketStatusResponse {
    /// Whether Kiket is set up.
    pub configured: bool,
    /// The service root.
    #[schema(required = true)]
    pub base_url: Option<String>,
    /// The project.
    #[schema(required = true)]
    pub project_slug: Option<String>,
    /// Whether webhooks can be verified (a secret is set; it is never shown).
    pub webhook_configured: bool,
    /// Who "assigned to me" means for the background refresh (`me` when `null`).
    #[schema(required = true)]
    pub assignee: Option<String>,
    /// The shared tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsWire,
}

impl From<&KiketStatus> for KiketStatusResponse {
    fn from(s: &KiketStatus) -> Self {
        KiketStatusResponse {
            configured: s.configured,
            base_url: s.base_url.clone(),
            project_slug: s.project_slug.clone(),
            webhook_configured: s.webhook_configured,
            assignee: s.assignee.clone(),
            settings: (&s.settings).into(),
        }
    }
}

/// `POST /api/kiket/setup`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketSetupRequest {
    /// The service root (`https://kiket.dev`; `http://` only for loopback hosts).
    pub base_url: String,
    /// A workspace token (sent as `Authorization: Bearer`).
    pub workspace_token: String,
    /// The project's slug.
    pub project_slug: String,
    /// The secret Kiket signs webhooks with.
    pub webhook_secret: Option<String>,
}

/// `PATCH /api/kiket/config`
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketConfigRequest {
    /// Another project.
    pub project_slug: Option<String>,
    /// A new webhook secret (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub webhook_secret: Option<Option<String>>,
    /// Who "assigned to me" means (`null`: `me`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// Shared tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsPatch,
}

/// Query of `GET /api/kiket/issues`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KiketIssuesParams {
    /// Text matched against key and title.
    pub query: Option<String>,
    /// Workflow state key.
    pub state: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Assignee (`me`: the token's owner).
    pub assignee: Option<String>,
}

/// An issue in the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketIssueSummary {
    /// Key (`CORE-42`).
    pub key: String,
    /// Kiket's numeric id, as text.
    #[schema(required = true)]
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Workflow state key.
    pub state: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee.
    #[schema(required = true)]
    pub assignee: Option<String>,
    /// Link to the issue.
    #[schema(required = true)]
    pub url: Option<String>,
    /// Last change.
    #[schema(required = true)]
    pub updated: Option<String>,
}

impl From<&KiketIssue> for KiketIssueSummary {
    fn from(i: &KiketIssue) -> Self {
        KiketIssueSummary {
            key: i.key.clone(),
            id: id_text(&i.id),
            title: i.title.clone(),
            state: i.state.clone(),
            labels: i.labels.clone(),
            assignee: i.assignee_name(),
            url: i.url.clone(),
            updated: i.updated_at.clone(),
        }
    }
}

/// `GET /api/kiket/issues`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketIssueList {
    /// Every matching issue (all pages).
    pub issues: Vec<KiketIssueSummary>,
}

/// A failed `GET /api/kiket/issues`: the envelope plus an empty list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketIssueListError {
    /// Always empty.
    pub issues: Vec<KiketIssueSummary>,
    /// The envelope.
    #[serde(flatten)]
    pub envelope: ErrorBody,
}

/// A comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketCommentWire {
    /// Its id, as text.
    #[schema(required = true)]
    pub id: Option<String>,
    /// Text.
    pub body: String,
    /// Author.
    pub author: String,
    /// When.
    #[schema(required = true)]
    pub created: Option<String>,
}

impl From<&KiketComment> for KiketCommentWire {
    fn from(c: &KiketComment) -> Self {
        KiketCommentWire {
            id: id_text(&c.id),
            body: c.body.clone(),
            author: c.author_name(),
            created: c.created_at.clone(),
        }
    }
}

/// An issue with everything Kiket says about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketIssueDetail {
    /// Key, title, state, labels, assignee, link.
    #[serde(flatten)]
    pub summary: KiketIssueSummary,
    /// Description.
    pub description: String,
    /// Custom fields by name.
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    /// The parent issue.
    #[schema(required = true)]
    pub parent_id: Option<String>,
    /// Comments.
    pub comments: Vec<KiketCommentWire>,
}

impl From<&KiketIssue> for KiketIssueDetail {
    fn from(i: &KiketIssue) -> Self {
        KiketIssueDetail {
            summary: i.into(),
            description: i.description.clone().unwrap_or_default(),
            custom_fields: i.custom_fields.clone(),
            parent_id: id_text(&i.parent_id),
            comments: i.comments.iter().map(KiketCommentWire::from).collect(),
        }
    }
}

/// `GET /api/kiket/issues/:key`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketIssueResponse {
    /// The issue.
    pub issue: KiketIssueDetail,
}

/// `PATCH /api/kiket/issues/:key`
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketIssueUpdate {
    /// The whole new set of labels.
    pub labels: Option<Vec<String>>,
    /// The new assignee (`null` unassigns).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// Custom fields to set.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// A changed issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketIssueUpdated {
    /// Always `true`.
    pub success: True,
    /// The issue as Kiket answers.
    pub issue: KiketIssueDetail,
}

/// `POST /api/kiket/issues/:key/comments`
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct KiketCommentRequest {
    /// Text.
    pub comment: String,
}

/// A comment added.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketCommentAdded {
    /// Always `true`.
    pub success: True,
    /// The comment.
    pub comment: KiketCommentWire,
}

/// A workflow state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketStateWire {
    /// Key (what issues' `state` holds).
    pub key: String,
    /// Display name.
    pub name: String,
    /// `todo`, `in_progress`, `done`, ...
    #[schema(required = true)]
    pub category: Option<String>,
}

/// A workflow transition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketTransitionWire {
    /// Name.
    #[schema(required = true)]
    pub name: Option<String>,
    /// States it leaves from (empty or `*`: any).
    pub from: Vec<String>,
    /// State it leads to.
    pub to: String,
    /// Whether a guard must allow it.
    pub guarded: bool,
}

/// A workflow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketWorkflowWire {
    /// Key.
    #[schema(required = true)]
    pub key: Option<String>,
    /// Name.
    pub name: String,
    /// States.
    pub states: Vec<KiketStateWire>,
    /// Transitions.
    pub transitions: Vec<KiketTransitionWire>,
}

impl From<&Workflow> for KiketWorkflowWire {
    fn from(w: &Workflow) -> Self {
        KiketWorkflowWire {
            key: id_text(&w.key),
            name: w.name.clone(),
            states: w
                .states
                .iter()
                .map(|s| KiketStateWire {
                    key: s.key.clone(),
                    name: s.display().to_string(),
                    category: s.category.clone(),
                })
                .collect(),
            transitions: w
                .transitions
                .iter()
                .map(|t| KiketTransitionWire {
                    name: t.name.clone(),
                    from: t.from.clone(),
                    to: t.to.clone(),
                    guarded: t.guarded,
                })
                .collect(),
        }
    }
}

/// `GET /api/kiket/workflows`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketWorkflows {
    /// The project's workflows.
    pub workflows: Vec<KiketWorkflowWire>,
}

/// A state an issue can move to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketStatusOption {
    /// The state's key.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl From<&StatusOption> for KiketStatusOption {
    fn from(o: &StatusOption) -> Self {
        KiketStatusOption {
            id: o.id.clone(),
            name: o.name.clone(),
        }
    }
}

/// `GET /api/kiket/issues/:key/status-options`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketStatusOptions {
    /// Where the issue can go from its state.
    pub options: Vec<KiketStatusOption>,
}

/// `PATCH /api/kiket/issues/:key/status`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketStatusRequest {
    /// The target state's name or key.
    pub status_name: String,
}

/// A transition made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketStatusChanged {
    /// Always `true`.
    pub success: True,
    /// The issue's state now.
    pub state: String,
}

/// `POST /api/kiket/task`
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketTaskRequest {
    /// The issue.
    pub issue_key: String,
    /// Branch instead of the branch-name rule's.
    pub branch: Option<String>,
}

/// The worktree of an issue (201 created, 200 reused), as the reference's Jira task.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueTaskResponse {
    /// Always `true`.
    pub success: True,
    /// The worktree's canonical id.
    pub worktree_id: String,
    /// Its checkout.
    #[schema(value_type = String)]
    pub worktree_path: PathBuf,
    /// Whether an existing worktree was linked and reused.
    pub reused_existing: bool,
}

/// `POST /api/kiket/webhook`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketWebhookAccepted {
    /// Always `true`.
    pub success: True,
    /// Kiket's event name.
    pub event: String,
    /// The activity recorded (`null`: suppressed by the activity settings, or a
    /// repeated delivery).
    #[schema(required = true)]
    pub activity_id: Option<String>,
    /// Whether this delivery was already received.
    pub duplicate: bool,
}

/// Query of `GET /api/kiket/sla-events`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct KiketSlaParams {
    /// The issue's numeric id.
    pub issue_id: Option<String>,
    /// `imminent`, `breached` or `recovered`.
    pub state: Option<String>,
    /// At most this many.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub limit: Option<String>,
}

/// An SLA alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KiketSlaEvent {
    /// Its id.
    #[schema(required = true)]
    pub id: Option<String>,
    /// `imminent`, `breached` or `recovered`.
    pub state: String,
    /// The issue's id.
    #[schema(required = true)]
    pub issue_id: Option<String>,
    /// The SLA definition.
    #[schema(required = true)]
    pub definition_id: Option<String>,
    /// When.
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// Minutes in the state.
    #[schema(required = true)]
    pub duration_minutes: Option<i64>,
    /// Minutes past the limit.
    #[schema(required = true)]
    pub overdue_minutes: Option<i64>,
}

impl From<&SlaEvent> for KiketSlaEvent {
    fn from(e: &SlaEvent) -> Self {
        KiketSlaEvent {
            id: id_text(&e.id),
            state: e.state.clone(),
            issue_id: id_text(&e.issue_id),
            definition_id: id_text(&e.definition_id),
            created_at: e.created_at.clone(),
            duration_minutes: e.duration_minutes,
            overdue_minutes: e.overdue_minutes,
        }
    }
}

/// `GET /api/kiket/sla-events`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KiketSlaEvents {
    /// SLA alerts of the installation.
    pub events: Vec<KiketSlaEvent>,
}
