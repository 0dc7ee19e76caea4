//! Linear's GraphQL API: one `POST` per operation at
//! [`crate::hub::Endpoints::linear_api`], the personal API key as the whole
//! `Authorization` header, and GraphQL errors mapped to [`UpstreamError`]s (an
//! authentication error is the service's 401, `Entity not found` its 404, `RATELIMITED`
//! its 429), so callers see Linear's failures like any other service's.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::{ApiClient, UpstreamError};

/// Issue fields every listing asks for.
pub const ISSUE_FIELDS: &str = "id identifier title priority priorityLabel url updatedAt \
    state { id name type color } assignee { name displayName } labels { nodes { name } } \
    team { id key name }";

/// Sends `query` with `variables`; returns `data`. `what` names the resource for a
/// "not found".
pub async fn call(
    api: &ApiClient,
    query: &str,
    variables: Value,
    what: &str,
) -> Result<Value, UpstreamError> {
    let request = api
        .request_url(Method::POST, api.base().clone())
        .json(&json!({"query": query, "variables": variables}));
    let answer: Value = match api.json(request, what).await {
        Ok(answer) => answer,
        Err(UpstreamError::Rejected { code, message, .. })
            if code.as_deref() == Some("AUTHENTICATION_ERROR") =>
        {
            return Err(UpstreamError::Unauthorized {
                service: "Linear",
                message: Some(message),
            });
        }
        Err(UpstreamError::Rejected { code, .. }) if code.as_deref() == Some("RATELIMITED") => {
            return Err(UpstreamError::RateLimited {
                service: "Linear",
                retry_after: Duration::from_secs(60),
            });
        }
        Err(other) => return Err(other),
    };
    if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
        let first = &errors[0];
        let raw = first["message"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let message = first["extensions"]["userPresentableMessage"]
            .as_str()
            .or_else(|| first["message"].as_str())
            .unwrap_or("GraphQL error")
            .to_string();
        let code = first["extensions"]["code"].as_str().map(str::to_string);
        return Err(match code.as_deref() {
            Some("AUTHENTICATION_ERROR") => UpstreamError::Unauthorized {
                service: "Linear",
                message: Some(message),
            },
            Some("FORBIDDEN") => UpstreamError::Forbidden {
                service: "Linear",
                message,
            },
            Some("RATELIMITED") => UpstreamError::RateLimited {
                service: "Linear",
                retry_after: Duration::from_secs(60),
            },
            _ if raw.contains("not found")
                || message.to_ascii_lowercase().contains("not found") =>
            {
                UpstreamError::NotFound {
                    service: "Linear",
                    what: what.to_string(),
                }
            }
            _ => UpstreamError::Rejected {
                service: "Linear",
                status: 200,
                message,
                code,
            },
        });
    }
    match answer.get("data") {
        Some(data) if !data.is_null() => Ok(data.clone()),
        _ => Err(UpstreamError::InvalidResponse {
            service: "Linear",
            message: "no data in the answer".into(),
        }),
    }
}
