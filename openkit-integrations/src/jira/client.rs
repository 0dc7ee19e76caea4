//! Jira Cloud REST API v3 calls, over an [`ApiClient`] whose base is the site
//! (`https://<site>.atlassian.net`, API-token auth) or Atlassian's gateway
//! (`https://api.atlassian.com/ex/jira/<cloudId>`, OAuth 2.0).

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiClient, UpstreamError, segment};

/// Issues per search page (Jira caps `maxResults` at 100 for `search/jql` with fields).
pub const PAGE_SIZE: usize = 100;
/// The most issues one listing returns.
pub const MAX_LISTED: usize = 1000;

/// The fields a listing asks for.
pub const LIST_FIELDS: &[&str] = &[
    "summary",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "updated",
    "labels",
];

/// The fields an issue's detail asks for.
pub const DETAIL_FIELDS: &str = "summary,status,priority,issuetype,assignee,reporter,created,updated,labels,description,comment,attachment,project";

/// The authenticated user (`GET /rest/api/3/myself`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    /// Account id.
    #[serde(default)]
    pub account_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// E-mail, when visible.
    #[serde(default)]
    pub email_address: Option<String>,
}

/// A page of `POST /rest/api/3/search/jql`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchPage {
    #[serde(default)]
    issues: Vec<Value>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    is_last: Option<bool>,
}

/// Jira's REST API v3 through `api`.
#[derive(Debug)]
pub struct JiraApi<'a> {
    api: &'a ApiClient,
}

impl<'a> JiraApi<'a> {
    /// Calls through `api`.
    pub fn new(api: &'a ApiClient) -> Self {
        JiraApi { api }
    }

    /// `GET /rest/api/3/myself`.
    pub async fn myself(&self) -> Result<Myself, UpstreamError> {
        self.api
            .json(
                self.api.request(Method::GET, "/rest/api/3/myself"),
                "The current user",
            )
            .await
    }

    /// Every issue `jql` finds (up to [`MAX_LISTED`]), following `nextPageToken`.
    pub async fn search(&self, jql: &str) -> Result<Vec<Value>, UpstreamError> {
        let mut issues = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({
                "jql": jql,
                "maxResults": PAGE_SIZE,
                "fields": LIST_FIELDS,
            });
            if let Some(t) = &token {
                body["nextPageToken"] = Value::String(t.clone());
            }
            let page: SearchPage = self
                .api
                .json(
                    self.api
                        .request(Method::POST, "/rest/api/3/search/jql")
                        .json(&body),
                    "Issue search",
                )
                .await?;
            let empty = page.issues.is_empty();
            issues.extend(page.issues);
            match page.next_page_token {
                Some(next)
                    if page.is_last != Some(true)
                        && !empty
                        && issues.len() < MAX_LISTED
                        && token.as_deref() != Some(next.as_str()) =>
                {
                    token = Some(next)
                }
                _ => break,
            }
        }
        issues.truncate(MAX_LISTED);
        Ok(issues)
    }

    /// `GET /rest/api/3/issue/{key}` with the detail fields.
    pub async fn issue(&self, key: &str) -> Result<Value, UpstreamError> {
        self.api
            .json(
                self.api.request(
                    Method::GET,
                    &format!("/rest/api/3/issue/{}?fields={DETAIL_FIELDS}", segment(key)),
                ),
                &format!("Issue {key}"),
            )
            .await
    }

    /// `GET /rest/api/3/issue/{key}/transitions`: `(transition id, target status name)`.
    pub async fn transitions(&self, key: &str) -> Result<Vec<(String, String)>, UpstreamError> {
        let value: Value = self
            .api
            .json(
                self.api.request(
                    Method::GET,
                    &format!("/rest/api/3/issue/{}/transitions", segment(key)),
                ),
                &format!("Issue {key}"),
            )
            .await?;
        Ok(value["transitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let id = text(&t["id"])?;
                let name = t["to"]["name"]
                    .as_str()
                    .or_else(|| t["name"].as_str())?
                    .to_string();
                Some((id, name))
            })
            .collect())
    }

    /// `POST /rest/api/3/issue/{key}/transitions`.
    pub async fn transition(&self, key: &str, transition_id: &str) -> Result<(), UpstreamError> {
        self.api
            .send(
                self.api
                    .request(
                        Method::POST,
                        &format!("/rest/api/3/issue/{}/transitions", segment(key)),
                    )
                    .json(&json!({"transition": {"id": transition_id}})),
                &format!("Issue {key}"),
            )
            .await
            .map(drop)
    }

    /// `PUT /rest/api/3/issue/{key}` with `fields`.
    pub async fn edit(&self, key: &str, fields: Value) -> Result<(), UpstreamError> {
        self.api
            .send(
                self.api
                    .request(Method::PUT, &format!("/rest/api/3/issue/{}", segment(key)))
                    .json(&json!({"fields": fields})),
                &format!("Issue {key}"),
            )
            .await
            .map(drop)
    }

    /// `GET /rest/api/3/priority/search`: `(id, name)`.
    pub async fn priorities(&self) -> Result<Vec<(String, String)>, UpstreamError> {
        let value: Value = self
            .api
            .json(
                self.api
                    .request(Method::GET, "/rest/api/3/priority/search?maxResults=100"),
                "Priorities",
            )
            .await?;
        Ok(id_names(&value["values"]))
    }

    /// Issue types from `GET /rest/api/3/issue/{key}/editmeta`: `(id, name)`.
    pub async fn edit_types(&self, key: &str) -> Result<Vec<(String, String)>, UpstreamError> {
        let value: Value = self
            .api
            .json(
                self.api.request(
                    Method::GET,
                    &format!("/rest/api/3/issue/{}/editmeta", segment(key)),
                ),
                &format!("Issue {key}"),
            )
            .await?;
        Ok(id_names(&value["fields"]["issuetype"]["allowedValues"]))
    }

    /// Status names of a project's workflows (`GET /rest/api/3/project/{key}/statuses`),
    /// each once, in the order first met.
    pub async fn project_statuses(&self, project: &str) -> Result<Vec<String>, UpstreamError> {
        let value: Value = self
            .api
            .json(
                self.api.request(
                    Method::GET,
                    &format!("/rest/api/3/project/{}/statuses", segment(project)),
                ),
                &format!("Project {project}"),
            )
            .await?;
        let mut names: Vec<String> = Vec::new();
        for issue_type in value.as_array().into_iter().flatten() {
            for status in issue_type["statuses"].as_array().into_iter().flatten() {
                if let Some(name) = status["name"].as_str()
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }

    /// `POST /rest/api/3/issue/{key}/comment`; the new comment's id.
    pub async fn add_comment(&self, key: &str, body: Value) -> Result<Value, UpstreamError> {
        self.api
            .json(
                self.api
                    .request(
                        Method::POST,
                        &format!("/rest/api/3/issue/{}/comment", segment(key)),
                    )
                    .json(&json!({"body": body})),
                &format!("Issue {key}"),
            )
            .await
    }

    /// `PUT /rest/api/3/issue/{key}/comment/{id}`.
    pub async fn edit_comment(
        &self,
        key: &str,
        id: &str,
        body: Value,
    ) -> Result<(), UpstreamError> {
        self.api
            .send(
                self.api
                    .request(
                        Method::PUT,
                        &format!("/rest/api/3/issue/{}/comment/{}", segment(key), segment(id)),
                    )
                    .json(&json!({"body": body})),
                &format!("Comment {id} of {key}"),
            )
            .await
            .map(drop)
    }

    /// `DELETE /rest/api/3/issue/{key}/comment/{id}`.
    pub async fn delete_comment(&self, key: &str, id: &str) -> Result<(), UpstreamError> {
        self.api
            .send(
                self.api.request(
                    Method::DELETE,
                    &format!("/rest/api/3/issue/{}/comment/{}", segment(key), segment(id)),
                ),
                &format!("Comment {id} of {key}"),
            )
            .await
            .map(drop)
    }
}

/// A JSON string or number as text (Jira ids are strings; fakes and old servers send
/// numbers).
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn id_names(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((text(&v["id"])?, v["name"].as_str()?.to_string())))
        .collect()
}

/// `text` quoted for JQL (`"` and `\` escaped).
pub fn jql_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_strings_are_quoted() {
        assert_eq!(jql_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(jql_string("x\ny"), "\"x y\"");
    }
}
