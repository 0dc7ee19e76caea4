//! GitHub (and GitHub Enterprise) as core's [`CodeHost`], over its REST API.
//!
//! - The base URL is injected (`https://api.github.com`, or `https://<ghe>/api/v3`); the
//!   token comes from a [`TokenSource`] and is sent only to that base URL's origin (a
//!   `Link` to another origin is refused), marked sensitive, and never put into an
//!   error or a log.
//! - Pull requests: `GET /repos/{o}/{r}/pulls?state=all&sort=updated&direction=desc&
//!   per_page=100`, following `Link: rel="next"`. The first page is conditional
//!   (`If-None-Match` with the last `ETag`): sorted by update time, any change reaches
//!   page one, so a `304` means nothing changed, and GitHub does not count it against
//!   the rate limit. Pages stop once they reach what the caller already knows.
//! - Rate limits: `Retry-After`, or `x-ratelimit-remaining: 0` with
//!   `x-ratelimit-reset`, close a [`RateGate`]; while it is closed no request is sent
//!   and callers get `GITHUB_RATE_LIMITED` with the wait.
//! - Every request is bounded (connect 5 s, whole request 20 s by default).

mod token;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openkit_core::codehost::{
    Account, CodeHost, CodeHostError, CreatedRepository, ListPulls, NewPullRequest, NewRepository,
    PullRequest, PullRequestList, RepoSlug,
};
use reqwest::header::{ACCEPT, AUTHORIZATION, ETAG, HeaderValue, IF_NONE_MATCH, USER_AGENT};
use reqwest::{Method, StatusCode};

use crate::http::{self, RateGate};

pub use token::{GhToken, Secret, StaticToken, TokenChain, TokenSource};

/// GitHub's public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The most pages one listing reads (100 pull requests each).
pub const MAX_PAGES: usize = 50;
/// The default time limit of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The GitHub adapter.
pub struct GitHub {
    client: reqwest::Client,
    base: String,
    name: String,
    tokens: Arc<dyn TokenSource>,
    gate: RateGate,
    max_pages: usize,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The host `gh` and web URLs use for an API base URL: `github.com` for
/// `api.github.com`, the host itself for GitHub Enterprise (`https://ghe/api/v3`).
pub fn web_host(api_url: &str) -> String {
    let host = api_url
        .split_once("://")
        .map_or(api_url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "api.github.com" | "" => "github.com".into(),
        _ => host,
    }
}

impl GitHub {
    /// An adapter for the API at `base_url` with its own client (rustls, connect
    /// timeout 5 s, request timeout 20 s).
    pub fn new(base_url: &str, tokens: Arc<dyn TokenSource>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(DEFAULT_TIMEOUT)
            .build()?;
        Ok(GitHub::with_client(client, base_url, tokens))
    }

    /// An adapter over a given client (its timeouts apply).
    pub fn with_client(
        client: reqwest::Client,
        base_url: &str,
        tokens: Arc<dyn TokenSource>,
    ) -> Self {
        let base = base_url.trim_end_matches('/').to_string();
        let host = web_host(&base);
        let name = if host == "github.com" {
            "GitHub".to_string()
        } else {
            format!("GitHub ({host})")
        };
        GitHub {
            client,
            base,
            name,
            tokens,
            gate: RateGate::default(),
            max_pages: MAX_PAGES,
        }
    }

    /// Reads at most `pages` pages per listing.
    pub fn with_max_pages(mut self, pages: usize) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    fn unreachable(&self, err: &reqwest::Error) -> CodeHostError {
        let message = if err.is_timeout() {
            format!(
                "no answer from {} in time",
                origin_of(&self.base).unwrap_or(&self.base)
            )
        } else if err.is_connect() {
            format!(
                "could not connect to {}",
                origin_of(&self.base).unwrap_or(&self.base)
            )
        } else {
            // Without the URL: it could carry a query a user pasted.
            err.without_url_ref()
        };
        CodeHostError::Unreachable {
            host: self.name.clone(),
            message,
        }
    }

    /// Sends one request (to `url`, which must be on the base URL's origin) with the
    /// token; maps every failure to a [`CodeHostError`] and closes the gate on rate
    /// limits. `what` names the resource for a 404.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<serde_json::Value>,
        validator: Option<&str>,
        what: &str,
    ) -> Result<reqwest::Response, CodeHostError> {
        if let Some(wait) = self.gate.closed_for() {
            return Err(CodeHostError::RateLimited {
                host: self.name.clone(),
                retry_after: wait,
            });
        }
        if origin_of(url) != origin_of(&self.base) {
            return Err(CodeHostError::Failed {
                host: self.name.clone(),
                status: None,
                message: "a paging link pointed to another host; not followed".into(),
            });
        }
        let token = self.tokens.token().await.ok_or(CodeHostError::NoToken {
            host: self.name.clone(),
        })?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                CodeHostError::Unauthorized {
                    host: self.name.clone(),
                    message: "the token contains characters a header cannot carry".into(),
                }
            })?;
        auth.set_sensitive(true);
        let mut request = self
            .client
            .request(method, url)
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header(USER_AGENT, concat!("openkit/", env!("CARGO_PKG_VERSION")));
        if let Some(v) = validator.and_then(|v| HeaderValue::from_str(v).ok()) {
            request = request.header(IF_NONE_MATCH, v);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let imposed = http::imposed_wait(&headers);
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            if let Some(wait) = imposed {
                // The last request of the window: the next must wait for the reset.
                self.gate.close_for(wait);
            }
            return Ok(response);
        }
        let text = tokio::time::timeout(DEFAULT_TIMEOUT, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = wire::error_message(&text, status);
        let host = self.name.clone();
        Err(match status {
            StatusCode::UNAUTHORIZED => {
                self.tokens.invalidate();
                CodeHostError::Unauthorized { host, message }
            }
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
                if imposed.is_some()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || message.to_ascii_lowercase().contains("rate limit") =>
            {
                let wait = imposed.unwrap_or(http::DEFAULT_WAIT);
                self.gate.close_for(wait);
                CodeHostError::RateLimited {
                    host,
                    retry_after: wait,
                }
            }
            StatusCode::FORBIDDEN => CodeHostError::Forbidden { host, message },
            StatusCode::NOT_FOUND => CodeHostError::NotFound {
                host,
                what: what.to_string(),
                message,
            },
            StatusCode::UNPROCESSABLE_ENTITY => CodeHostError::Validation { host, message },
            _ => CodeHostError::Failed {
                host,
                status: Some(status.as_u16()),
                message,
            },
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, CodeHostError> {
        let status = response.status().as_u16();
        response.json().await.map_err(|e| CodeHostError::Failed {
            host: self.name.clone(),
            status: Some(status),
            message: if e.is_decode() {
                format!("unexpected answer: {}", e.without_url_ref())
            } else {
                self.unreachable(&e).to_string()
            },
        })
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

/// `reqwest::Error`'s message without its URL.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(&format!(" for url ({url})"), "");
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}

#[async_trait]
impl CodeHost for GitHub {
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn account(&self) -> Result<Account, CodeHostError> {
        let url = format!("{}/user", self.base);
        let response = self
            .send(Method::GET, &url, None, None, "signed-in user")
            .await?;
        let user: wire::User = self.json(response).await?;
        Ok(Account { login: user.login })
    }

    async fn create_repository(
        &self,
        repo: &NewRepository,
    ) -> Result<CreatedRepository, CodeHostError> {
        let url = format!("{}/user/repos", self.base);
        let body = serde_json::json!({ "name": repo.name, "private": repo.private });
        let response = self
            .send(Method::POST, &url, Some(body), None, "user")
            .await?;
        let created: wire::Repository = self.json(response).await?;
        Ok(CreatedRepository {
            full_name: created.full_name,
            url: created.html_url,
            clone_url: created.clone_url,
        })
    }

    async fn create_pull_request(
        &self,
        repo: &RepoSlug,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, CodeHostError> {
        let url = format!("{}/repos/{}/{}/pulls", self.base, repo.owner, repo.name);
        let mut body = serde_json::json!({
            "title": pr.title,
            "head": pr.head,
            "base": pr.base,
            "draft": pr.draft,
        });
        if let Some(text) = &pr.body {
            body["body"] = serde_json::Value::String(text.clone());
        }
        let what = format!("repository {}", repo.full_name());
        let response = self
            .send(Method::POST, &url, Some(body), None, &what)
            .await?;
        let created: wire::Pull = self.json(response).await?;
        Ok(created.into())
    }

    async fn list_pull_requests(
        &self,
        repo: &RepoSlug,
        query: ListPulls<'_>,
    ) -> Result<PullRequestList, CodeHostError> {
        let what = format!("repository {}", repo.full_name());
        let mut url = format!(
            "{}/repos/{}/{}/pulls?state=all&sort=updated&direction=desc&per_page=100",
            self.base, repo.owner, repo.name
        );
        let mut pulls = Vec::new();
        let mut validator = None;
        for page in 0..self.max_pages {
            let conditional = if page == 0 { query.validator } else { None };
            let response = self
                .send(Method::GET, &url, None, conditional, &what)
                .await?;
            if response.status() == StatusCode::NOT_MODIFIED {
                return Ok(PullRequestList::NotModified);
            }
            if page == 0 {
                validator = response
                    .headers()
                    .get(ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
            }
            let next = http::next_link(response.headers());
            let batch: Vec<wire::Pull> = self.json(response).await?;
            let reached_known = query.known_until.is_some_and(|known| {
                batch
                    .iter()
                    .any(|p| p.updated_at.as_deref().is_some_and(|at| at <= known))
            });
            pulls.extend(batch.into_iter().map(PullRequest::from));
            match next {
                Some(next) if !reached_known => url = next,
                _ => break,
            }
        }
        Ok(PullRequestList::Fresh { pulls, validator })
    }

    fn credentials_changed(&self) {
        self.tokens.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert_eq!(web_host("https://api.github.com"), "github.com");
        assert_eq!(
            web_host("https://GHE.example.com/api/v3/"),
            "ghe.example.com"
        );
        assert_eq!(web_host("http://127.0.0.1:4567"), "127.0.0.1");
        assert_eq!(
            origin_of("http://127.0.0.1:4567/repos/a/b?page=2"),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(
            origin_of("https://api.github.com"),
            Some("https://api.github.com")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
