//! Kizuna's JSON, as this adapter reads and writes it.
//!
//! The public reference (`kizuna-rest-api.txt`) names the endpoints, paging, filters,
//! the error envelope and the rate-limit headers, but not the fields of each resource.
//! The fields below are the ones this adapter relies on, in the reference's own style
//! (`snake_case`, as in `per_page`); everything else a server sends is ignored, and
//! optional fields default, so a richer answer still reads.

use serde::{Deserialize, Serialize};

/// `GET /repos/:org/:repo`.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// `org/repo`.
    #[serde(default)]
    pub full_name: Option<String>,
    /// The repository's default branch.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// An issue (`/repos/:org/:repo/issues[/:number]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Issue {
    /// Its number in the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Label names.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Assignees' logins.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// The author's login.
    #[serde(default)]
    pub author: Option<String>,
    /// Its web page.
    #[serde(default)]
    pub url: Option<String>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last changed (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `POST /repos/:org/:repo/issues`.
#[derive(Debug, Clone, Serialize)]
pub struct NewIssue<'a> {
    /// Title.
    pub title: &'a str,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// Labels.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub labels: &'a [String],
}

/// `PATCH /repos/:org/:repo/issues/:number`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssuePatch {
    /// New title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `open` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The labels, replaced as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// The assignees, replaced as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignees: Option<Vec<String>>,
}

impl IssuePatch {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == IssuePatch::default()
    }
}

/// A pull request (`/repos/:org/:repo/pulls[/:number]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Pull {
    /// Its number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// `open`, `closed` or `merged`.
    pub state: String,
    /// Opened as a draft (cannot be merged).
    #[serde(default)]
    pub draft: bool,
    /// Branch it merges from.
    pub head: String,
    /// Branch it merges into.
    pub base: String,
    /// Its web page.
    #[serde(default)]
    pub url: Option<String>,
    /// Last changed (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `POST /repos/:org/:repo/pulls`.
#[derive(Debug, Clone, Serialize)]
pub struct NewPull<'a> {
    /// Title.
    pub title: &'a str,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// Branch to merge from.
    pub head: &'a str,
    /// Branch to merge into.
    pub base: &'a str,
    /// Open as a draft.
    pub draft: bool,
}

/// `POST /repos/:org/:repo/pulls/:number/merge`.
#[derive(Debug, Clone, Serialize)]
pub struct MergeRequest<'a> {
    /// `merge`, `squash` or `rebase`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
}

/// The answer to a merge.
#[derive(Debug, Clone, Deserialize)]
pub struct MergeResult {
    /// True when merged.
    #[serde(default)]
    pub merged: bool,
    /// The merge commit.
    #[serde(default)]
    pub sha: Option<String>,
}

/// A pipeline (`/repos/:org/:repo/pipelines[/:id]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Pipeline {
    /// Its id.
    pub id: u64,
    /// The branch (or ref) it runs on.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `pending`, `running`, `success`, `failed` or `canceled`.
    pub status: String,
    /// The commit.
    #[serde(default)]
    pub sha: Option<String>,
    /// Its web page.
    #[serde(default)]
    pub url: Option<String>,
    /// Created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last changed (ISO-8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Pipeline {
    /// Still pending or running (so it can be canceled).
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "pending" | "running")
    }
}

/// `POST /repos/:org/:repo/pipelines`.
#[derive(Debug, Clone, Serialize)]
pub struct NewPipeline<'a> {
    /// The branch to run on.
    #[serde(rename = "ref")]
    pub git_ref: &'a str,
}

/// An agent (`/agents[/:id]`); the token is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Agent {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: Option<String>,
    /// `active`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Registered (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `POST /agents`.
#[derive(Debug, Clone, Serialize)]
pub struct NewAgent<'a> {
    /// Its name.
    pub name: &'a str,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

/// The answer to `POST /agents`: the agent and its token, returned this once.
#[derive(Deserialize)]
pub struct RegisteredAgent {
    /// The agent.
    #[serde(flatten)]
    pub agent: Agent,
    /// The agent token (the reference's "agent tokens" come from registration).
    pub token: crate::secret::Secret,
}
