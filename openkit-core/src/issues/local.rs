//! Local tasks as an issue source: the first [`IssueSource`], over the
//! [`LocalTasks`] store.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    Capabilities, Issue, IssueAttachment, IssueError, IssueId, IssueRef, IssueSource, IssueSummary,
    NewIssue, SourceId,
};
use crate::config::ConfigStore;
use crate::tasks::{Attachment, LocalTasks, Task, TaskError, TaskFields, TaskStatus};

/// The `local` source: tasks under `.openkit/issues/local/`. Lists, reads, creates (with
/// the configured `localIssuePrefix`), changes status and takes attachments; it has no
/// comments.
#[derive(Debug)]
pub struct LocalIssues {
    source: SourceId,
    tasks: Arc<LocalTasks>,
    config: ConfigStore,
}

impl LocalIssues {
    /// The source over `tasks`; `config` gives the id prefix of new tasks.
    pub fn new(tasks: Arc<LocalTasks>, config: ConfigStore) -> Self {
        LocalIssues {
            source: SourceId::local(),
            tasks,
            config,
        }
    }

    /// The task store.
    pub fn tasks(&self) -> &Arc<LocalTasks> {
        &self.tasks
    }

    fn issue_ref(&self, id: &str) -> Result<IssueRef, IssueError> {
        IssueRef::local(id)
    }

    /// The port's error for a task error: "not found" names the issue, bad input stays
    /// bad input, anything else keeps the store's own code.
    fn error(&self, id: &str, e: TaskError) -> IssueError {
        match e {
            TaskError::NotFound => match self.issue_ref(id) {
                Ok(issue) => IssueError::NotFound(issue),
                Err(invalid) => invalid,
            },
            other => input_or_adapter(other),
        }
    }

    /// Runs blocking store work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&LocalTasks) -> T + Send + 'static,
    ) -> T {
        let tasks = Arc::clone(&self.tasks);
        match tokio::task::spawn_blocking(move || f(&tasks)).await {
            Ok(out) => out,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}

fn input_or_adapter(e: TaskError) -> IssueError {
    match e {
        TaskError::Invalid(reason) => IssueError::Invalid(reason),
        other => IssueError::adapter(other),
    }
}

fn summary(task: &Task) -> Result<IssueSummary, IssueError> {
    Ok(IssueSummary {
        issue: IssueRef::local(&task.id)?,
        title: task.title.clone(),
        status: task.status.as_str().to_string(),
        url: None,
    })
}

fn attachment(a: Attachment) -> IssueAttachment {
    IssueAttachment {
        filename: a.filename,
        mime_type: a.mime_type,
        size: Some(a.size),
        local_path: Some(a.local_path),
        url: None,
    }
}

fn detail(task: &Task, attachments: Vec<Attachment>) -> Result<Issue, IssueError> {
    Ok(Issue {
        summary: summary(task)?,
        description: task.description.clone(),
        comments: Vec::new(),
        attachments: attachments.into_iter().map(attachment).collect(),
    })
}

#[async_trait]
impl IssueSource for LocalIssues {
    fn source(&self) -> &SourceId {
        &self.source
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL.without(Capabilities::COMMENT)
    }

    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let tasks = self.blocking(|t| t.list()).await;
        tasks.iter().map(summary).collect()
    }

    async fn get(&self, id: &IssueId) -> Result<Issue, IssueError> {
        let key = id.as_str().to_string();
        let found = self
            .blocking(move |t| {
                let task = t.get(&key)?;
                let attachments = t.attachments(&key)?;
                Ok::<_, TaskError>((task, attachments))
            })
            .await;
        let (task, attachments) = found.map_err(|e| self.error(id.as_str(), e))?;
        detail(&task, attachments)
    }

    async fn create(&self, issue: NewIssue) -> Result<Issue, IssueError> {
        let prefix = self
            .config
            .load_or_default()
            .map_err(IssueError::adapter)?
            .local_issue_prefix;
        let fields = TaskFields {
            title: Some(issue.title),
            description: Some(issue.description),
            labels: Some(issue.labels),
            ..TaskFields::default()
        };
        let task = self
            .blocking(move |t| t.create(&prefix, fields))
            .await
            .map_err(input_or_adapter)?;
        detail(&task, Vec::new())
    }

    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let status = TaskStatus::parse(status).map_err(|e| self.error(id.as_str(), e))?;
        let key = id.as_str().to_string();
        let task = self
            .blocking(move |t| {
                t.update(
                    &key,
                    TaskFields {
                        status: Some(status),
                        ..TaskFields::default()
                    },
                )
            })
            .await
            .map_err(|e| self.error(id.as_str(), e))?;
        summary(&task)
    }

    async fn add_attachment(
        &self,
        id: &IssueId,
        filename: &str,
        bytes: &[u8],
    ) -> Result<IssueAttachment, IssueError> {
        let (key, name, bytes) = (
            id.as_str().to_string(),
            filename.to_string(),
            bytes.to_vec(),
        );
        let stored = self
            .blocking(move |t| t.add_attachment(&key, &name, &bytes))
            .await
            .map_err(|e| self.error(id.as_str(), e))?;
        Ok(attachment(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DomainError;
    use crate::paths::Paths;

    fn source() -> (tempfile::TempDir, LocalIssues) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), dir.path().join("g"));
        let tasks = Arc::new(LocalTasks::new(paths.clone()));
        (dir, LocalIssues::new(tasks, ConfigStore::new(paths)))
    }

    #[tokio::test]
    async fn local_tasks_through_the_port() {
        let (dir, src) = source();
        assert_eq!(src.source().as_str(), "local");
        let caps = src.capabilities();
        assert!(caps.contains(Capabilities::CREATE | Capabilities::UPDATE_STATUS));
        assert!(!caps.contains(Capabilities::COMMENT));

        let created = src
            .create(NewIssue {
                title: "Add login".into(),
                description: "Email and password".into(),
                labels: vec!["ui".into()],
            })
            .await
            .unwrap();
        let id = created.summary.issue.id.clone();
        assert_eq!(id.as_str(), "LOCAL-1");
        assert_eq!(created.summary.status, "todo");

        let listed = src.list().await.unwrap();
        assert_eq!(listed, vec![created.summary.clone()]);

        let moved = src.update_status(&id, "in-progress").await.unwrap();
        assert_eq!(moved.status, "in-progress");
        let err = src.update_status(&id, "later").await.unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");

        let stored = src.add_attachment(&id, "shot.png", b"png").await.unwrap();
        assert_eq!(stored.mime_type, "image/png");
        let issue = src.get(&id).await.unwrap();
        assert_eq!(issue.description, "Email and password");
        assert_eq!(issue.summary.status, "in-progress");
        assert_eq!(issue.attachments.len(), 1);
        assert!(
            issue.attachments[0]
                .local_path
                .as_ref()
                .unwrap()
                .starts_with(dir.path())
        );

        let missing = IssueId::new("LOCAL-9").unwrap();
        let err = src.get(&missing).await.unwrap_err();
        assert_eq!(err.code(), "ISSUE_NOT_FOUND");
        assert_eq!(err.to_string(), "Issue local/LOCAL-9 not found");
        let err = src.add_comment(&id, "hi").await.unwrap_err();
        assert_eq!(err.code(), "ISSUE_OPERATION_UNSUPPORTED");
        let err = src
            .create(NewIssue {
                title: " ".into(),
                ..NewIssue::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
    }

    #[tokio::test]
    async fn create_uses_the_configured_prefix() {
        let (dir, src) = source();
        crate::persist::write_json(
            &dir.path().join(".openkit/config.json"),
            &serde_json::json!({"localIssuePrefix": "TASK"}),
        )
        .unwrap();
        let issue = src
            .create(NewIssue {
                title: "x".into(),
                ..NewIssue::default()
            })
            .await
            .unwrap();
        assert_eq!(issue.summary.issue.id.as_str(), "TASK-1");
    }
}
