//! Kizuna as core's code host (pull requests of the repository given at setup) and the
//! removal follow-up that cancels a deleted worktree's running pipelines.

use std::sync::Arc;

use async_trait::async_trait;
use openkit_core::codehost::{
    Account, CodeHost, CodeHostError, CreatedRepository, ListPulls, NewPullRequest, NewRepository,
    PullRequest, PullRequestList, RepoSlug,
};
use openkit_core::error::{DomainError, ErrorKind};
use openkit_core::removal::{RemovalFollowUp, RemovedWorktree};

use super::wire::NewPull;
use super::{KizunaApi, core_pull, slug};
use crate::api::UpstreamError;

/// A code-host error keeping the adapter's kind and code (and Kizuna's own code).
fn host_error(e: UpstreamError) -> CodeHostError {
    let upstream_code = e
        .context()
        .into_iter()
        .find(|(k, _)| *k == "upstreamCode")
        .map(|(_, v)| v);
    CodeHostError::Service {
        kind: e.kind(),
        code: e.code(),
        message: e.to_string(),
        retry_after: e.retry_after(),
        upstream_code,
    }
}

/// Kizuna's pull requests as a [`CodeHost`], bound to the setup's `org/repo`.
#[derive(Debug)]
pub struct KizunaHost {
    api: Arc<KizunaApi>,
}

impl KizunaHost {
    /// The host over `api`.
    pub fn new(api: Arc<KizunaApi>) -> Self {
        KizunaHost { api }
    }
}

#[async_trait]
impl CodeHost for KizunaHost {
    fn name(&self) -> String {
        format!(
            "Kizuna ({})",
            self.api.root().host_str().unwrap_or_default()
        )
    }

    /// Kizuna documents no "current user" endpoint: the check is a read of the
    /// repository, and the organisation stands for the account.
    async fn account(&self) -> Result<Account, CodeHostError> {
        self.api.repository().await.map_err(host_error)?;
        Ok(Account {
            login: self.api.org().to_string(),
        })
    }

    async fn create_repository(
        &self,
        _repo: &NewRepository,
    ) -> Result<CreatedRepository, CodeHostError> {
        Err(CodeHostError::Service {
            kind: ErrorKind::InvalidInput,
            code: "KIZUNA_UNSUPPORTED",
            message: "Creating repositories through OpenKit is supported on GitHub only".into(),
            retry_after: None,
            upstream_code: None,
        })
    }

    async fn create_pull_request(
        &self,
        _repo: &RepoSlug,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, CodeHostError> {
        let pull = self
            .api
            .create_pull(&NewPull {
                title: &pr.title,
                body: pr.body.as_deref(),
                head: &pr.head,
                base: &pr.base,
                draft: pr.draft,
            })
            .await
            .map_err(host_error)?;
        Ok(core_pull(&self.api, &pull))
    }

    /// Every pull request, every page (Kizuna documents no conditional requests, so
    /// there is no validator).
    async fn list_pull_requests(
        &self,
        _repo: &RepoSlug,
        _query: ListPulls<'_>,
    ) -> Result<PullRequestList, CodeHostError> {
        let mut pulls: Vec<PullRequest> = self
            .api
            .pulls()
            .await
            .map_err(host_error)?
            .iter()
            .map(|p| core_pull(&self.api, p))
            .collect();
        pulls.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        Ok(PullRequestList::Fresh {
            pulls,
            validator: None,
        })
    }

    fn repository(&self) -> Option<RepoSlug> {
        Some(slug(&self.api))
    }
}

/// Cancels the running (pending or running) pipelines of a deleted worktree's branch.
#[derive(Debug)]
pub struct PipelineCanceller {
    api: Arc<KizunaApi>,
}

impl PipelineCanceller {
    /// The follow-up over `api`.
    pub fn new(api: Arc<KizunaApi>) -> Self {
        PipelineCanceller { api }
    }
}

#[async_trait]
impl RemovalFollowUp for PipelineCanceller {
    fn name(&self) -> &str {
        "Kizuna pipelines"
    }

    async fn worktree_removed(&self, removed: &RemovedWorktree) -> Result<Option<String>, String> {
        if removed.branch.is_empty() {
            return Ok(None);
        }
        let running: Vec<u64> = self
            .api
            .pipelines(&removed.branch)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|p| p.is_running())
            .map(|p| p.id)
            .collect();
        if running.is_empty() {
            return Ok(None);
        }
        let mut failures = Vec::new();
        for id in &running {
            if let Err(e) = self.api.cancel_pipeline(*id).await {
                failures.push(format!("pipeline {id}: {e}"));
            }
        }
        if failures.is_empty() {
            Ok(Some(format!(
                "{} running pipeline{} of {} canceled",
                running.len(),
                if running.len() == 1 { "" } else { "s" },
                removed.branch
            )))
        } else {
            Err(failures.join("; "))
        }
    }
}
