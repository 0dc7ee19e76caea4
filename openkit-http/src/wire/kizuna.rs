//! Kizuna: the bodies of `/api/kizuna/*`. No type here ever holds a token: setup takes
//! one in, nothing gives one out (agent tokens included).

use std::path::PathBuf;

use openkit_integrations::kizuna::wire::{Agent, Issue, IssuePatch, Pipeline, Pull};
use openkit_integrations::kizuna::{KizunaStatus as CoreStatus, ListedAgent};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::True;

/// `GET /api/kizuna/status`: the connection (never the token) and the settings every
/// tracker shares, as the reference's Jira and Linear status payloads show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaStatus {
    /// Kizuna is set up.
    pub configured: bool,
    /// The service's root URL.
    #[schema(required = true)]
    pub base_url: Option<String>,
    /// Organisation.
    #[schema(required = true)]
    pub org: Option<String>,
    /// Repository.
    #[schema(required = true)]
    pub repo: Option<String>,
    /// The login whose open issues the background refresh watches.
    #[schema(required = true)]
    pub assignee: Option<String>,
    /// The project's `codeHost` (`.openkit/config.json`) is `kizuna`: pull requests go
    /// to Kizuna.
    pub code_host_selected: bool,
    /// Agents registered through OpenKit whose tokens it holds.
    pub registered_agents: usize,
    /// Minutes between background refreshes of assigned issues.
    pub refresh_interval_minutes: u32,
    /// When issue data is saved and cleaned up (`{saveOn, autoCleanup}`).
    #[schema(value_type = Object)]
    pub data_lifecycle: Value,
    /// Agent started for a newly assigned issue.
    #[schema(required = true)]
    pub auto_start_agent: Option<String>,
    /// The original's switch for starting Claude on a new issue.
    pub auto_start_claude_on_new_issue: bool,
    /// Start the agent without permission prompts.
    pub auto_start_claude_skip_permissions: bool,
    /// Focus the started terminal.
    pub auto_start_claude_focus_terminal: bool,
    /// Move the issue when its agent starts.
    pub auto_update_issue_status_on_agent_start: bool,
    /// The status it moves to (`open` or `closed` on Kizuna).
    #[schema(required = true)]
    pub auto_update_issue_status_name: Option<String>,
}

impl From<CoreStatus> for KizunaStatus {
    fn from(s: CoreStatus) -> Self {
        let settings = s.settings;
        KizunaStatus {
            configured: s.configured,
            base_url: s.base_url,
            org: s.org,
            repo: s.repo,
            assignee: s.assignee,
            code_host_selected: s.code_host,
            registered_agents: s.registered_agents,
            refresh_interval_minutes: settings.refresh_interval_minutes,
            data_lifecycle: serde_json::to_value(&settings.data_lifecycle).unwrap_or_default(),
            auto_start_agent: settings.auto_start_agent,
            auto_start_claude_on_new_issue: settings.auto_start_claude_on_new_issue,
            auto_start_claude_skip_permissions: settings.auto_start_claude_skip_permissions,
            auto_start_claude_focus_terminal: settings.auto_start_claude_focus_terminal,
            auto_update_issue_status_on_agent_start: settings
                .auto_update_issue_status_on_agent_start,
            auto_update_issue_status_name: settings.auto_update_issue_status_name,
        }
    }
}

/// `POST /api/kizuna/setup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaSetupRequest {
    /// The service's root (`https://kizuna.example.com`; `/api/v1` is appended).
    /// `http://` only for loopback hosts.
    pub base_url: String,
    /// An API token (Settings → API Tokens).
    pub token: String,
    /// Organisation.
    pub org: String,
    /// Repository.
    pub repo: String,
}

/// `PATCH /api/kizuna/config`: only the fields given change.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KizunaConfigRequest {
    /// The login whose open issues the background refresh watches (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Minutes between refreshes (at least 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_interval_minutes: Option<u32>,
    /// `{saveOn: view|worktree-creation|never, autoCleanup {...}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data_lifecycle: Option<Value>,
    /// `claude`, `codex`, `gemini` or `opencode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_agent: Option<String>,
    /// Start Claude on a new issue (the original's switch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_claude_on_new_issue: Option<bool>,
    /// Without permission prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_claude_skip_permissions: Option<bool>,
    /// Focus the started terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_claude_focus_terminal: Option<bool>,
    /// Move the issue when its agent starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_update_issue_status_on_agent_start: Option<bool>,
    /// The status it moves to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_update_issue_status_name: Option<String>,
}

impl KizunaConfigRequest {
    /// The fields given, by their wire names.
    pub fn into_patch(self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

/// `GET /api/kizuna/issues` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KizunaIssuesParams {
    /// Words that must all appear in the title or body.
    pub query: Option<String>,
    /// `open` (default), `closed` or `all`.
    pub state: Option<String>,
    /// Comma-separated labels that must all be present.
    pub labels: Option<String>,
}

/// A Kizuna issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaIssue {
    /// Its number (the issue id for notes and tasks).
    pub number: u64,
    /// `#<number>`.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    #[schema(required = true)]
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignees' logins.
    pub assignees: Vec<String>,
    /// The author's login.
    #[schema(required = true)]
    pub author: Option<String>,
    /// Its web page.
    #[schema(required = true)]
    pub url: Option<String>,
    /// Created (ISO-8601).
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// Last changed (ISO-8601).
    #[schema(required = true)]
    pub updated_at: Option<String>,
}

impl From<Issue> for KizunaIssue {
    fn from(i: Issue) -> Self {
        KizunaIssue {
            identifier: format!("#{}", i.number),
            number: i.number,
            title: i.title,
            body: i.body,
            state: i.state,
            labels: i.labels,
            assignees: i.assignees,
            author: i.author,
            url: i.url,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// `GET /api/kizuna/issues`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaIssueList {
    /// The issues, as Kizuna orders them.
    pub issues: Vec<KizunaIssue>,
}

/// `GET /api/kizuna/issues/:number`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaIssueResponse {
    /// The issue.
    pub issue: KizunaIssue,
}

/// `PATCH /api/kizuna/issues/:number`: only the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KizunaIssuePatchRequest {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: Option<String>,
    /// The labels (replaced as a whole).
    pub labels: Option<Vec<String>>,
    /// The assignees' logins (replaced as a whole).
    pub assignees: Option<Vec<String>>,
}

impl From<KizunaIssuePatchRequest> for IssuePatch {
    fn from(p: KizunaIssuePatchRequest) -> Self {
        IssuePatch {
            title: p.title,
            body: p.body,
            state: p.state,
            labels: p.labels,
            assignees: p.assignees,
        }
    }
}

/// `PATCH /api/kizuna/issues/:number` (200).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaIssueUpdated {
    /// Always `true`.
    pub success: True,
    /// The issue as Kizuna now has it.
    pub issue: KizunaIssue,
}

/// `POST /api/kizuna/task`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct KizunaTaskRequest {
    /// The issue's number.
    pub number: u64,
    /// Branch to use instead of the branch-name rule's.
    pub branch: Option<String>,
}

/// `POST /api/kizuna/task` (201 created, 200 reused), as the reference's Jira task.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaTaskResponse {
    /// Always `true`.
    pub success: True,
    /// The worktree's canonical id (`kizuna-<number>` when created).
    pub worktree_id: String,
    /// Its checkout.
    #[schema(value_type = String)]
    pub worktree_path: PathBuf,
    /// An existing worktree was reused.
    pub reused_existing: bool,
}

/// `POST /api/kizuna/pulls/:number/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KizunaMergeRequest {
    /// `merge` (default), `squash` or `rebase`.
    pub method: Option<String>,
}

/// `POST /api/kizuna/pulls/:number/merge` (200).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaMergeResponse {
    /// Always `true`.
    pub success: True,
    /// The pull request.
    pub number: u64,
    /// Its state now (`merged`).
    pub state: String,
    /// The branch it merged from.
    pub head_branch: String,
    /// Its web page.
    #[schema(required = true)]
    pub url: Option<String>,
}

impl From<Pull> for KizunaMergeResponse {
    fn from(p: Pull) -> Self {
        KizunaMergeResponse {
            success: True,
            number: p.number,
            state: p.state,
            head_branch: p.head,
            url: p.url,
        }
    }
}

/// A pipeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaPipeline {
    /// Its id.
    pub id: u64,
    /// The branch it runs on.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `pending`, `running`, `success`, `failed` or `canceled`.
    pub status: String,
    /// The commit.
    #[schema(required = true)]
    pub sha: Option<String>,
    /// Its web page.
    #[schema(required = true)]
    pub url: Option<String>,
    /// Created (ISO-8601).
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// Last changed (ISO-8601).
    #[schema(required = true)]
    pub updated_at: Option<String>,
}

impl From<Pipeline> for KizunaPipeline {
    fn from(p: Pipeline) -> Self {
        KizunaPipeline {
            id: p.id,
            git_ref: p.git_ref,
            status: p.status,
            sha: p.sha,
            url: p.url,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `GET /api/kizuna/worktrees/:id/pipelines`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaPipelineList {
    /// The worktree's canonical id.
    pub worktree_id: String,
    /// Its branch.
    pub branch: String,
    /// The branch's pipelines, newest first.
    pub pipelines: Vec<KizunaPipeline>,
}

/// A pipeline triggered or canceled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaPipelineResponse {
    /// Always `true`.
    pub success: True,
    /// The pipeline.
    pub pipeline: KizunaPipeline,
}

/// `POST /api/kizuna/agents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KizunaAgentRequest {
    /// The agent's name in Kizuna.
    pub name: String,
    /// What it is.
    pub description: Option<String>,
}

/// An agent (its token is never part of it).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KizunaAgent {
    /// Kizuna's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Kizuna's status of it.
    #[schema(required = true)]
    pub status: Option<String>,
    /// Registered (ISO-8601).
    #[schema(required = true)]
    pub created_at: Option<String>,
    /// OpenKit holds its token (registered through OpenKit).
    pub secret_stored: bool,
}

impl KizunaAgent {
    /// An agent, saying whether OpenKit holds its token.
    pub fn new(a: Agent, secret_stored: bool) -> Self {
        KizunaAgent {
            id: a.id,
            name: a.name,
            description: a.description,
            status: a.status,
            created_at: a.created_at,
            secret_stored,
        }
    }
}

impl From<ListedAgent> for KizunaAgent {
    fn from(a: ListedAgent) -> Self {
        KizunaAgent::new(a.agent, a.secret_stored)
    }
}

/// `GET /api/kizuna/agents`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaAgentList {
    /// Kizuna's agents.
    pub agents: Vec<KizunaAgent>,
}

/// `POST /api/kizuna/agents` (201): the token Kizuna returned is stored, not shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KizunaAgentResponse {
    /// Always `true`.
    pub success: True,
    /// The registered agent.
    pub agent: KizunaAgent,
}
