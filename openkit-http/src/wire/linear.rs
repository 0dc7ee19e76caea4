//! `/api/linear/*` bodies.

use openkit_integrations::linear::{
    LinearAttachment, LinearComment, LinearIssue, LinearIssueSummary, LinearState, LinearStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::tracker::{TrackerSettingsDto, TrackerSettingsPatch};

/// `GET /api/linear/status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearStatusBody {
    /// Whether an API key is saved.
    pub configured: bool,
    /// The team `status-options` lists.
    pub default_team_key: Option<String>,
    /// The user's name.
    pub display_name: Option<String>,
    /// Tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsDto,
}

impl From<&LinearStatus> for LinearStatusBody {
    fn from(s: &LinearStatus) -> Self {
        LinearStatusBody {
            configured: s.configured,
            default_team_key: s.default_team_key.clone(),
            display_name: s.display_name.clone(),
            settings: (&s.settings).into(),
        }
    }
}

/// `POST /api/linear/setup`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearSetupRequest {
    /// A personal API key (`lin_api_...`).
    pub api_key: String,
}

/// `PATCH /api/linear/config`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearConfigRequest {
    /// The default team's key, or `null` to clear it.
    #[serde(default, deserialize_with = "crate::wire::tracker::present")]
    #[schema(value_type = Option<String>)]
    pub default_team_key: Option<Option<String>>,
    /// Tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsPatch,
}

/// A workflow state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearStateItem {
    /// Name.
    pub name: String,
    /// `backlog`, `unstarted`, `started`, `completed`, `canceled`, `triage`.
    #[serde(rename = "type")]
    pub state_type: String,
    /// Colour.
    pub color: String,
}

impl From<&LinearState> for LinearStateItem {
    fn from(s: &LinearState) -> Self {
        LinearStateItem {
            name: s.name.clone(),
            state_type: s.state_type.clone(),
            color: s.color.clone(),
        }
    }
}

/// `{ options: [{ name, type, color }] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearStatusOptions {
    /// The states, in workflow order.
    pub options: Vec<LinearStateItem>,
}

impl From<&[LinearState]> for LinearStatusOptions {
    fn from(states: &[LinearState]) -> Self {
        LinearStatusOptions {
            options: states.iter().map(Into::into).collect(),
        }
    }
}

/// A priority.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearPriorityOption {
    /// 0 (none) to 4 (low).
    pub value: u8,
    /// `Urgent`, `High`, ...
    pub label: String,
}

/// `{ options: [{ value, label }] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearPriorityOptions {
    /// The priorities.
    pub options: Vec<LinearPriorityOption>,
}

/// `PATCH /api/linear/issues/:identifier/status`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearStatusRequest {
    /// A state of the issue's team (case-insensitive).
    pub status_name: String,
}

/// `PATCH /api/linear/issues/:identifier/description`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LinearDescriptionRequest {
    /// Markdown.
    pub description: String,
}

/// `PATCH /api/linear/issues/:identifier/title`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LinearTitleRequest {
    /// The title.
    pub title: String,
}

/// A listed issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearIssueItem {
    /// Linear's id.
    pub id: String,
    /// `TEAM-123`.
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Workflow state.
    pub state: LinearStateItem,
    /// 0 (none) to 4 (low).
    pub priority: u8,
    /// `Urgent`, `High`, ...
    pub priority_label: String,
    /// Assignee's name.
    pub assignee: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// The issue in Linear.
    pub url: String,
    /// Last update.
    pub updated_at: Option<String>,
    /// The team's key.
    pub team_key: Option<String>,
}

impl From<&LinearIssueSummary> for LinearIssueItem {
    fn from(i: &LinearIssueSummary) -> Self {
        LinearIssueItem {
            id: i.id.clone(),
            identifier: i.identifier.clone(),
            title: i.title.clone(),
            state: (&i.state).into(),
            priority: i.priority,
            priority_label: i.priority_label.clone(),
            assignee: i.assignee.clone(),
            labels: i.labels.clone(),
            url: i.url.clone(),
            updated_at: i.updated_at.clone(),
            team_key: i.team_key.clone(),
        }
    }
}

/// `GET /api/linear/issues`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearIssueList {
    /// Open issues assigned to the user, newest update first.
    pub issues: Vec<LinearIssueItem>,
}

/// A comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearCommentItem {
    /// Comment id.
    pub id: String,
    /// Author.
    pub author: String,
    /// Markdown.
    pub body: String,
    /// Created.
    pub created_at: String,
}

impl From<&LinearComment> for LinearCommentItem {
    fn from(c: &LinearComment) -> Self {
        LinearCommentItem {
            id: c.id.clone(),
            author: c.author.clone(),
            body: c.body.clone(),
            created_at: c.created_at.clone(),
        }
    }
}

/// An attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearAttachmentItem {
    /// Attachment id.
    pub id: String,
    /// Title.
    pub title: String,
    /// URL (uploads: fetch through `GET /api/linear/attachment?url=`).
    pub url: String,
    /// The saved copy, when downloaded.
    pub local_path: Option<String>,
}

impl From<&LinearAttachment> for LinearAttachmentItem {
    fn from(a: &LinearAttachment) -> Self {
        LinearAttachmentItem {
            id: a.id.clone(),
            title: a.title.clone(),
            url: a.url.clone(),
            local_path: a.local_path.clone(),
        }
    }
}

/// An issue's detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearIssueDetail {
    /// What lists show.
    #[serde(flatten)]
    pub summary: LinearIssueItem,
    /// Markdown.
    pub description: String,
    /// Created.
    pub created_at: Option<String>,
    /// Comments, oldest first.
    pub comments: Vec<LinearCommentItem>,
    /// Attachments.
    pub attachments: Vec<LinearAttachmentItem>,
}

/// `GET /api/linear/issues/:identifier`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinearIssueResponse {
    /// The issue.
    pub issue: LinearIssueDetail,
}

impl From<&LinearIssue> for LinearIssueResponse {
    fn from(i: &LinearIssue) -> Self {
        LinearIssueResponse {
            issue: LinearIssueDetail {
                summary: (&i.summary).into(),
                description: i.description.clone(),
                created_at: i.created_at.clone(),
                comments: i.comments.iter().map(Into::into).collect(),
                attachments: i.attachments.iter().map(Into::into).collect(),
            },
        }
    }
}

/// `POST /api/linear/task`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LinearTaskRequest {
    /// The issue's identifier (`TEAM-123`).
    pub identifier: String,
    /// A branch name (default: the branch-name rule for `linear`).
    #[serde(default)]
    pub branch: Option<String>,
}
