//! [`KizunaApi`]: Kizuna's REST API (`<baseUrl>/api/v1`) for one repository, over the
//! shared [`ApiClient`] (bearer token to the base origin only, timeouts, the rate-limit
//! gate fed by `Retry-After` and `X-RateLimit-*`, Kizuna's error envelope read into
//! [`UpstreamError`]s with its code kept).

use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::{
    Agent, Issue, IssuePatch, MergeRequest, MergeResult, NewAgent, NewIssue, NewPipeline, NewPull,
    Pipeline, Pull, RegisteredAgent, Repository,
};
use crate::api::{self, ApiClient, Auth, UpstreamError, segment};
use crate::http;
use crate::secret::Secret;

/// The service's display name in messages.
pub const SERVICE: &str = "Kizuna";
/// The API's path below the base URL given at setup.
pub const API_PATH: &str = "/api/v1";
/// Items asked for per page (the reference's `per_page`).
pub const PER_PAGE: u32 = 100;
/// The most pages one listing follows (100 per page: 10,000 items).
pub const MAX_PAGES: usize = 100;

/// Kizuna's API for the repository `org/repo`.
#[derive(Debug)]
pub struct KizunaApi {
    api: ApiClient,
    root: Url,
    org: String,
    repo: String,
}

impl KizunaApi {
    /// The API at `base_url` (the service's root, e.g. `https://kizuna.example.com`;
    /// `/api/v1` is appended) with `token`, for `org/repo`.
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        token: Secret,
        org: &str,
        repo: &str,
    ) -> Result<Self, UpstreamError> {
        let root = api::check_base_url(SERVICE, base_url)?;
        let api_base = format!("{}{API_PATH}", root.as_str().trim_end_matches('/'));
        Ok(KizunaApi {
            api: ApiClient::new(client, SERVICE, &api_base, Auth::Bearer(token))?,
            root,
            org: org.to_string(),
            repo: repo.to_string(),
        })
    }

    /// The service's root URL (as given at setup, checked).
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The repository.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}{rest}",
            segment(&self.org),
            segment(&self.repo)
        )
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, UpstreamError> {
        self.api
            .json(self.api.request(Method::GET, path), what)
            .await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, UpstreamError> {
        self.api
            .json(self.api.request(method, path).json(body), what)
            .await
    }

    /// Every item of a listing: the first page at `path` (with `per_page`), then each
    /// `Link: rel="next"` (relative targets resolved against the page's URL; a target
    /// on another origin gets no credentials), at most [`MAX_PAGES`].
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<Vec<T>, UpstreamError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = self
            .api
            .url(&format!("{path}{separator}per_page={PER_PAGE}"));
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = self
                .api
                .send(self.api.request_url(Method::GET, url.clone()), what)
                .await?;
            let next = http::next_link(response.headers()).and_then(|t| url.join(&t).ok());
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.api.unreachable(&e))?;
            let page: Vec<T> =
                serde_json::from_slice(&bytes).map_err(|e| UpstreamError::InvalidResponse {
                    service: SERVICE,
                    message: e.to_string(),
                })?;
            items.extend(page);
            match next {
                Some(next) if next != url => url = next,
                _ => return Ok(items),
            }
        }
        Ok(items)
    }

    /// `GET /repos/:org/:repo`: the check behind setup and verify.
    pub async fn repository(&self) -> Result<Repository, UpstreamError> {
        let what = format!("Repository {}/{}", self.org, self.repo);
        self.get(&self.repo_path(""), &what).await
    }

    /// `GET /repos/:org/:repo/issues?state=...&labels=a,b`, every page.
    pub async fn issues(
        &self,
        state: &str,
        labels: &[String],
    ) -> Result<Vec<Issue>, UpstreamError> {
        let mut path = self.repo_path(&format!("/issues?state={}", segment(state)));
        if !labels.is_empty() {
            let labels: Vec<String> = labels.iter().map(|l| segment(l)).collect();
            path.push_str(&format!("&labels={}", labels.join(",")));
        }
        self.all_pages(&path, "Issues").await
    }

    /// `GET /repos/:org/:repo/issues/:number`.
    pub async fn issue(&self, number: u64) -> Result<Issue, UpstreamError> {
        self.get(
            &self.repo_path(&format!("/issues/{number}")),
            &format!("Issue #{number}"),
        )
        .await
    }

    /// `POST /repos/:org/:repo/issues`.
    pub async fn create_issue(&self, issue: &NewIssue<'_>) -> Result<Issue, UpstreamError> {
        self.send(Method::POST, &self.repo_path("/issues"), issue, "Issues")
            .await
    }

    /// `PATCH /repos/:org/:repo/issues/:number`.
    pub async fn update_issue(
        &self,
        number: u64,
        patch: &IssuePatch,
    ) -> Result<Issue, UpstreamError> {
        self.send(
            Method::PATCH,
            &self.repo_path(&format!("/issues/{number}")),
            patch,
            &format!("Issue #{number}"),
        )
        .await
    }

    /// `GET /repos/:org/:repo/pulls?state=all`, every page.
    pub async fn pulls(&self) -> Result<Vec<Pull>, UpstreamError> {
        self.all_pages(&self.repo_path("/pulls?state=all"), "Pull requests")
            .await
    }

    /// `GET /repos/:org/:repo/pulls/:number`.
    pub async fn pull(&self, number: u64) -> Result<Pull, UpstreamError> {
        self.get(
            &self.repo_path(&format!("/pulls/{number}")),
            &format!("Pull request #{number}"),
        )
        .await
    }

    /// `POST /repos/:org/:repo/pulls`.
    pub async fn create_pull(&self, pull: &NewPull<'_>) -> Result<Pull, UpstreamError> {
        self.send(
            Method::POST,
            &self.repo_path("/pulls"),
            pull,
            "Pull requests",
        )
        .await
    }

    /// `POST /repos/:org/:repo/pulls/:number/merge`.
    pub async fn merge_pull(
        &self,
        number: u64,
        method: Option<&str>,
    ) -> Result<MergeResult, UpstreamError> {
        self.send(
            Method::POST,
            &self.repo_path(&format!("/pulls/{number}/merge")),
            &MergeRequest { method },
            &format!("Pull request #{number}"),
        )
        .await
    }

    /// `GET /repos/:org/:repo/pipelines?ref=<branch>`, every page.
    pub async fn pipelines(&self, branch: &str) -> Result<Vec<Pipeline>, UpstreamError> {
        let path = self.repo_path(&format!("/pipelines?ref={}", segment(branch)));
        let all: Vec<Pipeline> = self.all_pages(&path, "Pipelines").await?;
        // A server that ignores the filter must not make us touch other branches' runs.
        Ok(all.into_iter().filter(|p| p.git_ref == branch).collect())
    }

    /// `POST /repos/:org/:repo/pipelines` on `branch`.
    pub async fn trigger_pipeline(&self, branch: &str) -> Result<Pipeline, UpstreamError> {
        self.send(
            Method::POST,
            &self.repo_path("/pipelines"),
            &NewPipeline { git_ref: branch },
            "Pipelines",
        )
        .await
    }

    /// `POST /repos/:org/:repo/pipelines/:id/cancel`.
    pub async fn cancel_pipeline(&self, id: u64) -> Result<Pipeline, UpstreamError> {
        self.send(
            Method::POST,
            &self.repo_path(&format!("/pipelines/{id}/cancel")),
            &serde_json::json!({}),
            &format!("Pipeline {id}"),
        )
        .await
    }

    /// `GET /agents`, every page.
    pub async fn agents(&self) -> Result<Vec<Agent>, UpstreamError> {
        self.all_pages("/agents", "Agents").await
    }

    /// `POST /agents`: the agent and its token (returned this once).
    pub async fn register_agent(
        &self,
        agent: &NewAgent<'_>,
    ) -> Result<RegisteredAgent, UpstreamError> {
        self.send(Method::POST, "/agents", agent, "Agents").await
    }
}
