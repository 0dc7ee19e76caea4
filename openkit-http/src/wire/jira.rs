//! `/api/jira/*` bodies.

use openkit_integrations::jira::{
    JiraAttachment, JiraComment, JiraIssue, JiraIssueSummary, JiraStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::True;
use crate::wire::tracker::{TrackerSettingsDto, TrackerSettingsPatch};

/// `GET /api/jira/status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraStatusBody {
    /// Whether credentials are saved.
    pub configured: bool,
    /// `api-token` or `oauth` (`null` when not configured).
    pub auth_method: Option<String>,
    /// The project `status-options` lists.
    pub default_project_key: Option<String>,
    /// The account's e-mail (API token).
    pub email: Option<String>,
    /// The site's host (`yoursite.atlassian.net`).
    pub domain: Option<String>,
    /// The user's display name.
    pub display_name: Option<String>,
    /// Tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsDto,
}

impl From<&JiraStatus> for JiraStatusBody {
    fn from(s: &JiraStatus) -> Self {
        JiraStatusBody {
            configured: s.configured,
            auth_method: s.auth_method.map(str::to_string),
            default_project_key: s.default_project_key.clone(),
            email: s.email.clone(),
            domain: s.domain.clone(),
            display_name: s.display_name.clone(),
            settings: (&s.settings).into(),
        }
    }
}

/// `POST /api/jira/setup`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraSetupRequest {
    /// The site (`https://yoursite.atlassian.net`; `http://` only for loopback hosts).
    pub base_url: String,
    /// The account's e-mail.
    pub email: String,
    /// An API token.
    pub token: String,
}

/// `PATCH /api/jira/config`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraConfigRequest {
    /// The default project's key, or `null` to clear it.
    #[serde(default, deserialize_with = "crate::wire::tracker::present")]
    #[schema(value_type = Option<String>)]
    pub default_project_key: Option<Option<String>>,
    /// Tracker settings.
    #[serde(flatten)]
    pub settings: TrackerSettingsPatch,
}

/// One status name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraStatusName {
    /// The name.
    pub name: String,
}

/// `GET /api/jira/status-options`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraProjectStatusOptions {
    /// The default project's statuses.
    pub options: Vec<JiraStatusName>,
}

/// `PATCH /api/jira/issues/:key/status`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraStatusRequest {
    /// The target status (case-insensitive).
    pub status_name: String,
}

/// `PATCH /api/jira/issues/:key/priority`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraPriorityRequest {
    /// The priority's name.
    pub priority_name: String,
}

/// `PATCH /api/jira/issues/:key/type`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraTypeRequest {
    /// The issue type's name.
    pub type_name: String,
}

/// `PATCH /api/jira/issues/:key/description`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct JiraDescriptionRequest {
    /// Markdown or plain text (sent to Jira as ADF).
    pub description: String,
}

/// `PATCH /api/jira/issues/:key/summary`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct JiraSummaryRequest {
    /// One line.
    pub summary: String,
}

/// A listed issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraIssueItem {
    /// `PROJ-123`.
    pub key: String,
    /// Title.
    pub summary: String,
    /// Status name.
    pub status: String,
    /// Priority name.
    pub priority: Option<String>,
    /// Issue type name.
    #[serde(rename = "type")]
    pub issue_type: Option<String>,
    /// Assignee's display name.
    pub assignee: Option<String>,
    /// Last update.
    pub updated: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// The issue in Jira.
    pub url: String,
}

impl From<&JiraIssueSummary> for JiraIssueItem {
    fn from(i: &JiraIssueSummary) -> Self {
        JiraIssueItem {
            key: i.key.clone(),
            summary: i.summary.clone(),
            status: i.status.clone(),
            priority: i.priority.clone(),
            issue_type: i.issue_type.clone(),
            assignee: i.assignee.clone(),
            updated: i.updated.clone(),
            labels: i.labels.clone(),
            url: i.url.clone(),
        }
    }
}

/// `GET /api/jira/issues`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraIssueList {
    /// Issues assigned to the user and not done, newest update first.
    pub issues: Vec<JiraIssueItem>,
}

/// A comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraCommentItem {
    /// Comment id.
    pub id: String,
    /// Author.
    pub author: String,
    /// Markdown (rendered from ADF).
    pub body: String,
    /// Created.
    pub created: String,
    /// Last update.
    pub updated: Option<String>,
}

impl From<&JiraComment> for JiraCommentItem {
    fn from(c: &JiraComment) -> Self {
        JiraCommentItem {
            id: c.id.clone(),
            author: c.author.clone(),
            body: c.body.clone(),
            created: c.created.clone(),
            updated: c.updated.clone(),
        }
    }
}

/// An attachment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraAttachmentItem {
    /// Attachment id.
    pub id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Bytes.
    pub size: Option<u64>,
    /// Jira's content URL: fetch it through `GET /api/jira/attachment?url=`.
    pub url: String,
    /// The saved copy, when downloaded.
    pub local_path: Option<String>,
}

impl From<&JiraAttachment> for JiraAttachmentItem {
    fn from(a: &JiraAttachment) -> Self {
        JiraAttachmentItem {
            id: a.id.clone(),
            filename: a.filename.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            url: a.url.clone(),
            local_path: a.local_path.clone(),
        }
    }
}

/// An issue's detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraIssueDetail {
    /// What lists show.
    #[serde(flatten)]
    pub summary: JiraIssueItem,
    /// Markdown (rendered from ADF).
    pub description: String,
    /// Reporter.
    pub reporter: Option<String>,
    /// Created.
    pub created: Option<String>,
    /// Comments, oldest first.
    pub comments: Vec<JiraCommentItem>,
    /// Attachments.
    pub attachments: Vec<JiraAttachmentItem>,
}

/// `GET /api/jira/issues/:key`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JiraIssueResponse {
    /// The issue.
    pub issue: JiraIssueDetail,
}

impl From<&JiraIssue> for JiraIssueResponse {
    fn from(i: &JiraIssue) -> Self {
        JiraIssueResponse {
            issue: JiraIssueDetail {
                summary: (&i.summary).into(),
                description: i.description.clone(),
                reporter: i.reporter.clone(),
                created: i.created.clone(),
                comments: i.comments.iter().map(Into::into).collect(),
                attachments: i.attachments.iter().map(Into::into).collect(),
            },
        }
    }
}

/// `POST /api/jira/task`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraTaskRequest {
    /// The issue's key.
    pub issue_key: String,
    /// A branch name (default: the branch-name rule for `jira`).
    #[serde(default)]
    pub branch: Option<String>,
}

/// `POST /api/jira/oauth/start`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraOAuthStartRequest {
    /// The OAuth 2.0 (3LO) app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The app's callback URL, which must lead to `GET /api/jira/oauth/callback`.
    pub redirect_uri: String,
}

/// The URL to open to sign in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JiraOAuthStart {
    /// Always `true`.
    pub success: True,
    /// Atlassian's authorization URL (with a one-time `state`).
    pub authorize_url: String,
}

/// `GET /api/jira/oauth/callback` query.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JiraOAuthCallback {
    /// The authorization code.
    #[serde(default)]
    pub code: String,
    /// The `state` of the authorization URL.
    #[serde(default)]
    pub state: String,
}
