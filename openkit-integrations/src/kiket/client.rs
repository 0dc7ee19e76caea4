//! Kiket's extension API (`<baseUrl>/api/v1/ext`) as typed calls: issues (all pages,
//! filters), one issue, field updates, comments, transitions, workflows and SLA events.
//!
//! Every call names the scope Kiket requires for it (the table of the extension API), so
//! a 403 is reported with the scope the workspace token lacks.

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{ApiClient, Auth, Pace, UpstreamError, segment};
use crate::secret::Secret;

/// The service's display name.
pub const SERVICE: &str = "Kiket";
/// Where the extension API lives below the base URL.
pub const API_PATH: &str = "/api/v1/ext";
/// Kiket's documented budget: 600 requests a minute per installation.
pub const RATE_LIMIT_PER_MINUTE: usize = 600;
/// The largest page Kiket serves (`per_page` max 100).
pub const PAGE_SIZE: usize = 100;
/// A listing stops after this many pages whatever Kiket says (100,000 issues).
pub const MAX_PAGES: usize = 1000;

/// The scope each call needs (from the extension API's endpoint table).
pub mod scope {
    /// Listing and reading issues, SLA events.
    pub const READ_ISSUES: &str = "read:issues";
    /// Changing issues and transitions.
    pub const WRITE_ISSUES: &str = "write:issues";
    /// Adding comments.
    pub const WRITE_COMMENTS: &str = "write:comments";
    /// Reading workflows.
    pub const READ_WORKFLOWS: &str = "read:workflows";
}

/// A failed call with the scope it needed.
#[derive(Debug)]
pub struct CallError {
    /// What went wrong.
    pub error: UpstreamError,
    /// The scope the call requires.
    pub scope: &'static str,
}

type CallResult<T> = Result<T, CallError>;

fn needs(scope: &'static str) -> impl Fn(UpstreamError) -> CallError {
    move |error| CallError { error, scope }
}

/// A Kiket issue as the extension API returns it (fields Kiket does not send are empty).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct KiketIssue {
    /// Numeric id (SLA events and webhooks name issues by it).
    #[serde(default)]
    pub id: Option<Value>,
    /// The key (`CORE-42`).
    pub key: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Description (Markdown).
    #[serde(default)]
    pub description: Option<String>,
    /// The workflow state (`in_progress`).
    #[serde(default, alias = "status")]
    pub state: String,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Who it is assigned to (an e-mail, or an object with `email`/`name`).
    #[serde(default)]
    pub assignee: Option<Value>,
    /// Custom fields by name.
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// The parent issue, for hierarchies.
    #[serde(default)]
    pub parent_id: Option<Value>,
    /// Link to the issue in Kiket.
    #[serde(default)]
    pub url: Option<String>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Comments, when the detail includes them.
    #[serde(default)]
    pub comments: Vec<KiketComment>,
}

impl KiketIssue {
    /// The assignee as one string (e-mail, else name).
    pub fn assignee_name(&self) -> Option<String> {
        match self.assignee.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => ["email", "name", "username"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .map(str::to_string),
            _ => None,
        }
    }
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct KiketComment {
    /// Its id.
    #[serde(default)]
    pub id: Option<Value>,
    /// Text.
    #[serde(default)]
    pub body: String,
    /// Who wrote it (an e-mail or an object).
    #[serde(default)]
    pub author: Option<Value>,
    /// When.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl KiketComment {
    /// The author as one string.
    pub fn author_name(&self) -> String {
        match &self.author {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => ["email", "name"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        }
    }
}

/// One state of a workflow.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WorkflowState {
    /// Its key (`in_progress`), what issues' `state` holds.
    #[serde(alias = "id")]
    pub key: String,
    /// Display name (`In Progress`); the key when Kiket gives none.
    #[serde(default)]
    pub name: Option<String>,
    /// `todo`, `in_progress`, `done`, ...
    #[serde(default)]
    pub category: Option<String>,
}

impl WorkflowState {
    /// The display name.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.key)
    }

    /// Whether issues in this state are finished.
    pub fn is_done(&self) -> bool {
        self.category
            .as_deref()
            .is_some_and(|c| matches!(c, "done" | "closed" | "completed" | "cancelled"))
    }
}

/// A transition between states. `from` empty or `*` means any state.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WorkflowTransition {
    /// Its name (`Start work`).
    #[serde(default)]
    pub name: Option<String>,
    /// The states it leaves from (one, several, or `*`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub from: Vec<String>,
    /// The state it leads to.
    pub to: String,
    /// Whether a `workflow.before_transition` guard must allow it.
    #[serde(default)]
    pub guarded: bool,
}

impl WorkflowTransition {
    /// Whether it can be taken from `state`.
    pub fn leaves(&self, state: &str) -> bool {
        self.from.is_empty()
            || self
                .from
                .iter()
                .any(|f| f == "*" || f.eq_ignore_ascii_case(state))
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    })
}

/// A project's workflow: its states and transitions.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Workflow {
    /// Its key.
    #[serde(default, alias = "id")]
    pub key: Option<Value>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// States.
    #[serde(default)]
    pub states: Vec<WorkflowState>,
    /// Transitions.
    #[serde(default)]
    pub transitions: Vec<WorkflowTransition>,
}

/// One SLA alert of `GET /sla/events`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SlaEvent {
    /// Its id.
    #[serde(default)]
    pub id: Option<Value>,
    /// `imminent`, `breached` or `recovered`.
    #[serde(default)]
    pub state: String,
    /// The issue's id.
    #[serde(default)]
    pub issue_id: Option<Value>,
    /// The SLA definition.
    #[serde(default)]
    pub definition_id: Option<Value>,
    /// When it fired.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Minutes the issue has been in its state.
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    /// Minutes past the limit.
    #[serde(default)]
    pub overdue_minutes: Option<i64>,
}

/// Filters of the issue list (Kiket's own query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueFilter {
    /// Workflow state.
    pub state: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
}

/// Filters of `GET /sla/events`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaFilter {
    /// The issue's id.
    pub issue_id: Option<String>,
    /// `imminent`, `breached` or `recovered`.
    pub state: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

/// Fields to change on an issue (`PATCH /issues/:key`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IssueChanges {
    /// New labels (the whole set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// New assignee (`null` unassigns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Option<String>>,
    /// Custom fields to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Map<String, Value>>,
}

impl IssueChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.assignee.is_none() && self.custom_fields.is_none()
    }
}

/// The extension API of one installation.
#[derive(Debug)]
pub struct KiketApi {
    api: ApiClient,
    project: String,
}

/// Kiket wraps single records and lists differently across endpoints (`data`, the
/// resource's name, or bare): this takes whichever is there.
fn unwrap(value: Value, names: &[&str]) -> Value {
    if let Value::Object(mut o) = value {
        for name in names.iter().chain(["data"].iter()) {
            if let Some(inner) = o.remove(*name) {
                return inner;
            }
        }
        return Value::Object(o);
    }
    value
}

impl KiketApi {
    /// The API at `base_url` (the service root, `https://kiket.dev`) for `project`, with
    /// the workspace token and the documented client-side budget.
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        token: &Secret,
        project: &str,
    ) -> Result<Self, UpstreamError> {
        let root = crate::api::check_base_url(SERVICE, base_url)?;
        let base = format!("{}{API_PATH}", root.as_str().trim_end_matches('/'));
        let api = ApiClient::new(client, SERVICE, &base, Auth::Bearer(token.clone()))?
            .with_pace(Pace::new(RATE_LIMIT_PER_MINUTE, Duration::from_secs(60)));
        Ok(KiketApi {
            api,
            project: project.to_string(),
        })
    }

    /// Replaces the client-side budget (tests use a small one).
    pub fn with_pace(mut self, pace: Pace) -> Self {
        self.api = self.api.with_pace(pace);
        self
    }

    /// The project's slug.
    pub fn project(&self) -> &str {
        &self.project
    }

    async fn get_json(&self, path: &str, what: &str, scope: &'static str) -> CallResult<Value> {
        self.api
            .json(self.api.request(Method::GET, path), what)
            .await
            .map_err(needs(scope))
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
        scope: &'static str,
    ) -> CallResult<Value> {
        let request = self.api.request(method, path).json(body);
        let response = self.api.send(request, what).await.map_err(needs(scope))?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| needs(scope)(self.api.unreachable(&e)))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            needs(scope)(UpstreamError::InvalidResponse {
                service: SERVICE,
                message: e.to_string(),
            })
        })
    }

    fn decode<T: serde::de::DeserializeOwned>(value: Value, scope: &'static str) -> CallResult<T> {
        serde_json::from_value(value).map_err(|e| {
            needs(scope)(UpstreamError::InvalidResponse {
                service: SERVICE,
                message: e.to_string(),
            })
        })
    }

    /// Every issue matching `filter`: pages of 100 until a short page.
    pub async fn issues(&self, filter: &IssueFilter) -> CallResult<Vec<KiketIssue>> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut query = vec![
                ("page".to_string(), page.to_string()),
                ("per_page".to_string(), PAGE_SIZE.to_string()),
            ];
            for (name, value) in [
                ("state", &filter.state),
                ("label", &filter.label),
                ("assignee", &filter.assignee),
            ] {
                if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                    query.push((name.to_string(), v.to_string()));
                }
            }
            let request = self.api.request(Method::GET, "/issues").query(&query);
            let value: Value = self
                .api
                .json(request, "Issues")
                .await
                .map_err(needs(scope::READ_ISSUES))?;
            let items: Vec<KiketIssue> =
                Self::decode(unwrap(value, &["issues"]), scope::READ_ISSUES)?;
            let short = items.len() < PAGE_SIZE;
            all.extend(items);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// One issue.
    pub async fn issue(&self, key: &str) -> CallResult<KiketIssue> {
        let value = self
            .get_json(
                &format!("/issues/{}", segment(key)),
                &format!("Issue {key}"),
                scope::READ_ISSUES,
            )
            .await?;
        Self::decode(unwrap(value, &["issue"]), scope::READ_ISSUES)
    }

    /// Changes labels, assignee or custom fields; returns the issue as Kiket answers.
    pub async fn update(&self, key: &str, changes: &IssueChanges) -> CallResult<KiketIssue> {
        let body = serde_json::to_value(changes).unwrap_or_default();
        let value = self
            .send_json(
                Method::PATCH,
                &format!("/issues/{}", segment(key)),
                &body,
                &format!("Issue {key}"),
                scope::WRITE_ISSUES,
            )
            .await?;
        if value.is_null() {
            return self.issue(key).await;
        }
        Self::decode(unwrap(value, &["issue"]), scope::WRITE_ISSUES)
    }

    /// Adds a comment.
    pub async fn comment(&self, key: &str, body: &str) -> CallResult<KiketComment> {
        let value = self
            .send_json(
                Method::POST,
                &format!("/issues/{}/comments", segment(key)),
                &serde_json::json!({ "body": body }),
                &format!("Issue {key}"),
                scope::WRITE_COMMENTS,
            )
            .await?;
        let value = unwrap(value, &["comment"]);
        if value.is_null() {
            return Ok(KiketComment {
                id: None,
                body: body.to_string(),
                author: None,
                created_at: None,
            });
        }
        Self::decode(value, scope::WRITE_COMMENTS)
    }

    /// Triggers the transition of `key` to state `to` (a state key).
    pub async fn transition(&self, key: &str, to: &str) -> CallResult<Option<KiketIssue>> {
        let value = self
            .send_json(
                Method::POST,
                &format!("/issues/{}/transitions", segment(key)),
                &serde_json::json!({ "to": to }),
                &format!("Issue {key}"),
                scope::WRITE_ISSUES,
            )
            .await?;
        let value = unwrap(value, &["issue"]);
        Ok(serde_json::from_value(value).ok())
    }

    /// The project's workflows.
    pub async fn workflows(&self) -> CallResult<Vec<Workflow>> {
        let value = self
            .get_json(
                &format!("/projects/{}/workflows", segment(&self.project)),
                &format!("Project {}", self.project),
                scope::READ_WORKFLOWS,
            )
            .await?;
        match unwrap(value, &["workflows"]) {
            Value::Array(items) => Self::decode(Value::Array(items), scope::READ_WORKFLOWS),
            one @ Value::Object(_) => {
                Ok(vec![Self::decode::<Workflow>(one, scope::READ_WORKFLOWS)?])
            }
            _ => Ok(Vec::new()),
        }
    }

    /// SLA alerts of the installation.
    pub async fn sla_events(&self, filter: &SlaFilter) -> CallResult<Vec<SlaEvent>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(id) = &filter.issue_id {
            query.push(("issue_id", id.clone()));
        }
        if let Some(state) = &filter.state {
            query.push(("state", state.clone()));
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self.api.request(Method::GET, "/sla/events").query(&query);
        let value: Value = self
            .api
            .json(request, "SLA events")
            .await
            .map_err(needs(scope::READ_ISSUES))?;
        Self::decode(unwrap(value, &["events"]), scope::READ_ISSUES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_unwrap_from_any_envelope() {
        let one = serde_json::json!({"data": {"key": "A-1"}});
        assert_eq!(unwrap(one, &["issue"])["key"], "A-1");
        let named = serde_json::json!({"issue": {"key": "A-2"}});
        assert_eq!(unwrap(named, &["issue"])["key"], "A-2");
        let bare = serde_json::json!({"key": "A-3"});
        assert_eq!(unwrap(bare, &["issue"])["key"], "A-3");
    }

    #[test]
    fn transitions_leave_from_their_states() {
        let t: WorkflowTransition =
            serde_json::from_value(serde_json::json!({"from": "todo", "to": "doing"})).unwrap();
        assert!(t.leaves("TODO") && !t.leaves("done"));
        let any: WorkflowTransition =
            serde_json::from_value(serde_json::json!({"from": "*", "to": "todo"})).unwrap();
        assert!(any.leaves("done"));
        let many: WorkflowTransition =
            serde_json::from_value(serde_json::json!({"from": ["a", "b"], "to": "c"})).unwrap();
        assert!(many.leaves("b") && !many.leaves("c"));
    }

    #[test]
    fn assignees_read_as_strings() {
        let issue: KiketIssue = serde_json::from_value(serde_json::json!({
            "key": "A-1", "assignee": {"email": "sasha@example.com"}, "status": "todo"
        }))
        .unwrap();
        assert_eq!(issue.assignee_name().as_deref(), Some("sasha@example.com"));
        assert_eq!(issue.state, "todo");
    }
}
