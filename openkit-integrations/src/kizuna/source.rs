//! Kizuna's issues as core's issue source `kizuna` (ids are issue numbers).

use std::sync::Arc;

use async_trait::async_trait;
use openkit_core::integrations::IntegrationsStore;
use openkit_core::issues::{
    Capabilities, Issue as CoreIssue, IssueError, IssueId, IssueRef, IssueSource, IssueSummary,
    NewIssue as CoreNewIssue, SourceId,
};

use super::wire::{Issue, IssuePatch, NewIssue};
use super::{KizunaApi, KizunaSection, SECTION};

/// The issue source: list and read, create, and open/close as the status change.
/// Kizuna documents no comments endpoint, so comments are not supported.
#[derive(Debug)]
pub struct KizunaIssues {
    source: SourceId,
    api: Arc<KizunaApi>,
    store: Arc<IntegrationsStore>,
}

impl KizunaIssues {
    /// The source over `api`; the assignee to watch is read from `store` on each call.
    pub fn new(api: Arc<KizunaApi>, store: Arc<IntegrationsStore>) -> Self {
        KizunaIssues {
            source: SourceId::new(SECTION).expect("a valid source name"),
            api,
            store,
        }
    }

    fn number(&self, id: &IssueId) -> Result<u64, IssueError> {
        id.as_str()
            .parse()
            .map_err(|_| IssueError::InvalidId(id.to_string()))
    }

    fn summary(&self, issue: &Issue) -> Result<IssueSummary, IssueError> {
        Ok(IssueSummary {
            issue: IssueRef::new(
                self.source.clone(),
                IssueId::new(&issue.number.to_string())?,
            ),
            title: issue.title.clone(),
            status: issue.state.clone(),
            url: issue.url.clone(),
        })
    }

    fn full(&self, issue: &Issue) -> Result<CoreIssue, IssueError> {
        Ok(CoreIssue {
            summary: self.summary(issue)?,
            description: issue.body.clone().unwrap_or_default(),
            comments: Vec::new(),
            attachments: Vec::new(),
        })
    }
}

/// `open` or `closed` from a status name (case-insensitive).
fn state_for(status: &str) -> Option<&'static str> {
    match status.trim().to_ascii_lowercase().as_str() {
        "open" | "reopen" | "reopened" => Some("open"),
        "closed" | "close" => Some("closed"),
        _ => None,
    }
}

#[async_trait]
impl IssueSource for KizunaIssues {
    fn source(&self) -> &SourceId {
        &self.source
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::READ_ONLY | Capabilities::CREATE | Capabilities::UPDATE_STATUS
    }

    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let issues = self
            .api
            .issues("open", &[])
            .await
            .map_err(IssueError::adapter)?;
        issues.iter().map(|i| self.summary(i)).collect()
    }

    /// The open issues assigned to the configured `assignee` (none configured: none).
    async fn assigned(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let assignee = self
            .store
            .section::<KizunaSection>(SECTION)
            .map_err(IssueError::adapter)?
            .and_then(|s| s.assignee);
        let Some(assignee) = assignee else {
            return Ok(Vec::new());
        };
        let issues = self
            .api
            .issues("open", &[])
            .await
            .map_err(IssueError::adapter)?;
        issues
            .iter()
            .filter(|i| {
                i.assignees
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&assignee))
            })
            .map(|i| self.summary(i))
            .collect()
    }

    async fn get(&self, id: &IssueId) -> Result<CoreIssue, IssueError> {
        let issue = self
            .api
            .issue(self.number(id)?)
            .await
            .map_err(IssueError::adapter)?;
        self.full(&issue)
    }

    async fn create(&self, issue: CoreNewIssue) -> Result<CoreIssue, IssueError> {
        if issue.title.trim().is_empty() {
            return Err(IssueError::Invalid("An issue needs a title".into()));
        }
        let created = self
            .api
            .create_issue(&NewIssue {
                title: issue.title.trim(),
                body: Some(issue.description.as_str()).filter(|d| !d.is_empty()),
                labels: &issue.labels,
            })
            .await
            .map_err(IssueError::adapter)?;
        self.full(&created)
    }

    /// `open` or `closed` (Kizuna issues have no other states).
    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let Some(state) = state_for(status) else {
            return Err(IssueError::Invalid(format!(
                "Kizuna issues are open or closed; \"{status}\" is neither"
            )));
        };
        let patch = IssuePatch {
            state: Some(state.into()),
            ..IssuePatch::default()
        };
        let issue = self
            .api
            .update_issue(self.number(id)?, &patch)
            .await
            .map_err(IssueError::adapter)?;
        self.summary(&issue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_open_or_closed() {
        assert_eq!(state_for(" Closed "), Some("closed"));
        assert_eq!(state_for("open"), Some("open"));
        assert_eq!(state_for("In Progress"), None);
    }
}
