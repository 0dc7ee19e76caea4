//! The parts of GitHub's JSON the adapter reads.

use openkit_core::codehost::{PrState, PullRequest};
use reqwest::StatusCode;
use serde::Deserialize;

/// `GET /user`.
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub(crate) login: String,
}

/// `POST /user/repos` (201).
#[derive(Debug, Deserialize)]
pub(crate) struct Repository {
    pub(crate) full_name: String,
    pub(crate) html_url: String,
    pub(crate) clone_url: String,
}

/// One pull request of a listing, or a created one.
#[derive(Debug, Deserialize)]
pub(crate) struct Pull {
    number: u64,
    html_url: String,
    /// `open` or `closed`.
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    pub(crate) updated_at: Option<String>,
    head: Head,
}

#[derive(Debug, Deserialize)]
struct Head {
    #[serde(rename = "ref")]
    branch: String,
    #[serde(default)]
    repo: Option<HeadRepo>,
}

#[derive(Debug, Deserialize)]
struct HeadRepo {
    full_name: String,
}

impl From<Pull> for PullRequest {
    fn from(p: Pull) -> Self {
        let state = if p.merged_at.is_some() {
            PrState::Merged
        } else if p.state == "closed" {
            PrState::Closed
        } else if p.draft == Some(true) {
            PrState::Draft
        } else {
            PrState::Open
        };
        PullRequest {
            number: p.number,
            url: p.html_url,
            state,
            head_branch: p.head.branch,
            head_repo: p.head.repo.map(|r| r.full_name),
            updated_at: p.updated_at,
        }
    }
}

/// GitHub's error body: `{"message": ..., "errors": [...], "documentation_url": ...}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: String,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// GitHub's message for a failed request, with the details of each listed error
/// (`A pull request already exists for acme:feature.`); the status text when the body
/// says nothing.
pub(crate) fn error_message(body: &str, status: StatusCode) -> String {
    let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) else {
        return status
            .canonical_reason()
            .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_string);
    };
    let details: Vec<String> = parsed
        .errors
        .iter()
        .filter_map(|e| match e {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => o
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .or_else(|| {
                    let field = o.get("field")?.as_str()?;
                    let code = o.get("code")?.as_str()?;
                    Some(format!("{field} is {code}"))
                }),
            _ => None,
        })
        .collect();
    if details.is_empty() {
        parsed.message
    } else {
        format!("{}: {}", parsed.message, details.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_from_draft_and_merged_at() {
        let pull = |state: &str, draft: bool, merged: Option<&str>| -> PullRequest {
            serde_json::from_value::<Pull>(serde_json::json!({
                "number": 7,
                "html_url": "https://github.com/acme/w/pull/7",
                "state": state,
                "draft": draft,
                "merged_at": merged,
                "updated_at": "2024-05-01T10:00:00Z",
                "head": {"ref": "feature/x", "repo": {"full_name": "acme/w"}},
            }))
            .unwrap()
            .into()
        };
        assert_eq!(pull("open", false, None).state, PrState::Open);
        assert_eq!(pull("open", true, None).state, PrState::Draft);
        assert_eq!(pull("closed", false, None).state, PrState::Closed);
        assert_eq!(
            pull("closed", false, Some("2024-05-01T10:00:00Z")).state,
            PrState::Merged
        );
        assert_eq!(pull("open", false, None).head_branch, "feature/x");
    }

    #[test]
    fn messages_with_details() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:feature."}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"422"}"#;
        assert_eq!(
            error_message(body, StatusCode::UNPROCESSABLE_ENTITY),
            "Validation Failed: A pull request already exists for acme:feature."
        );
        let field = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}"#;
        assert_eq!(
            error_message(field, StatusCode::UNPROCESSABLE_ENTITY),
            "Validation Failed: head is invalid"
        );
        assert_eq!(
            error_message("<html>", StatusCode::BAD_GATEWAY),
            "Bad Gateway"
        );
    }
}
