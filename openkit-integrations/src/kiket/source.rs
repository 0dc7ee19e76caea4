//! [`KiketSource`]: Kiket as core's issue source `kiket` (registered while configured).

use std::sync::Weak;

use async_trait::async_trait;
use openkit_core::issues::{
    Capabilities, Comment, Issue, IssueError, IssueId, IssueRef, IssueSource, IssueSummary,
    SourceId,
};

use super::{IssueFilter, IssueQuery, KiketError, KiketIssue, KiketService, SECTION};

/// Kiket's issues for notes, task context, the worktree list and the background refresh.
/// It keeps the last summary of each issue it saw (for [`IssueSource::peek`]).
pub struct KiketSource {
    service: Weak<KiketService>,
    name: SourceId,
    seen: crate::tracker::SeenIssues,
}

impl std::fmt::Debug for KiketSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KiketSource").finish_non_exhaustive()
    }
}

impl KiketSource {
    pub(super) fn new(service: Weak<KiketService>) -> Self {
        KiketSource {
            service,
            name: SourceId::new(SECTION).expect("a valid source name"),
            seen: Default::default(),
        }
    }

    fn service(&self) -> Result<std::sync::Arc<KiketService>, IssueError> {
        self.service
            .upgrade()
            .ok_or_else(|| IssueError::adapter(KiketError::NotConfigured))
    }

    fn summary(&self, issue: &KiketIssue) -> Option<IssueSummary> {
        let id = IssueId::new(&issue.key).ok()?;
        Some(IssueSummary {
            issue: IssueRef::new(self.name.clone(), id),
            title: issue.title.clone(),
            status: issue.state.clone(),
            url: issue.url.clone(),
        })
    }

    pub(super) fn remember(&self, issues: &[KiketIssue]) {
        self.seen
            .remember(issues.iter().filter_map(|i| self.summary(i)));
    }

    pub(super) fn remember_state(&self, key: &str, state: &str) {
        self.seen.set_status(key, state);
    }

    fn summaries(&self, issues: &[KiketIssue]) -> Vec<IssueSummary> {
        issues.iter().filter_map(|i| self.summary(i)).collect()
    }
}

fn adapter(e: KiketError) -> IssueError {
    IssueError::adapter(e)
}

#[async_trait]
impl IssueSource for KiketSource {
    fn source(&self) -> &SourceId {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY | Capabilities::UPDATE_STATUS | Capabilities::COMMENT
    }

    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let issues = self
            .service()?
            .issues(&IssueQuery::default())
            .await
            .map_err(adapter)?;
        Ok(self.summaries(&issues))
    }

    /// Open issues assigned to the configured assignee (`me` by default): Kiket's
    /// `assignee` filter, without the states the project's workflows call done.
    async fn assigned(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let service = self.service()?;
        let query = IssueQuery {
            query: None,
            filter: IssueFilter {
                assignee: Some(service.assignee().map_err(adapter)?),
                ..Default::default()
            },
        };
        let (issues, workflows) = tokio::join!(service.issues(&query), service.workflows());
        let issues = issues.map_err(adapter)?;
        let workflows = workflows.unwrap_or_default();
        let open: Vec<KiketIssue> = issues
            .into_iter()
            .filter(|i| !KiketService::is_done(&i.state, &workflows))
            .collect();
        Ok(self.summaries(&open))
    }

    async fn get(&self, id: &IssueId) -> Result<Issue, IssueError> {
        let issue = self
            .service()?
            .issue(id.as_str())
            .await
            .map_err(|e| match e {
                KiketError::Upstream(crate::api::UpstreamError::NotFound { .. }) => {
                    IssueError::NotFound(IssueRef::new(self.name.clone(), id.clone()))
                }
                other => adapter(other),
            })?;
        let summary = self
            .summary(&issue)
            .ok_or_else(|| IssueError::InvalidId(issue.key.clone()))?;
        Ok(Issue {
            summary,
            description: issue.description.clone().unwrap_or_default(),
            comments: issue
                .comments
                .iter()
                .map(|c| Comment {
                    author: c.author_name(),
                    created: c.created_at.clone().unwrap_or_default(),
                    body: c.body.clone(),
                })
                .collect(),
            attachments: Vec::new(),
        })
    }

    /// A transition to the state named `status`, as `PATCH .../status` does.
    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let issue = self
            .service()?
            .transition(id.as_str(), status)
            .await
            .map_err(adapter)?;
        self.summary(&issue)
            .ok_or_else(|| IssueError::InvalidId(issue.key.clone()))
    }

    async fn add_comment(&self, id: &IssueId, body: &str) -> Result<Comment, IssueError> {
        let comment = self
            .service()?
            .add_comment(id.as_str(), body)
            .await
            .map_err(adapter)?;
        Ok(Comment {
            author: comment.author_name(),
            created: comment.created_at.clone().unwrap_or_default(),
            body: comment.body,
        })
    }

    fn peek(&self, id: &IssueId) -> Option<IssueSummary> {
        self.seen.get(id.as_str())
    }
}
