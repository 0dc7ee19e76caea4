//! A worktree for a local task: reuse the one named after the task, or create one on the
//! branch the naming rule gives, and link it in the task's notes. One flow for
//! `POST /api/tasks/:id/create-worktree` and the MCP tool `create_worktree_for_issue`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{DomainError, ErrorKind};
use crate::issues::{IssueError, IssueRef};
use crate::notes::NotesError;
use crate::rules::{BranchInput, RuleStore};
use crate::tasks::TaskError;
use crate::workbench::{CreateWorktree, Workbench};
use crate::worktree::{WorktreeError, WorktreeInfo};

/// What [`Workbench::create_worktree_for_task`] did.
#[derive(Debug)]
pub enum TaskWorktree {
    /// A worktree with the task's id existed; it is now linked to the task.
    Reused {
        /// Its canonical id.
        worktree_id: String,
        /// Its checkout.
        worktree_path: PathBuf,
    },
    /// A new worktree was created and linked (`creating` while its install runs).
    Created {
        /// The worktree as listed after linking.
        worktree: Box<WorktreeInfo>,
    },
}

/// Why a task's worktree could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TaskWorktreeError {
    /// The task is unknown or unreadable.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// Listing or creating the worktree failed.
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    /// The link could not be written.
    #[error(transparent)]
    Notes(#[from] NotesError),
    /// The task id is not a valid issue id.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

impl DomainError for TaskWorktreeError {
    fn kind(&self) -> ErrorKind {
        match self {
            TaskWorktreeError::Task(e) => e.kind(),
            TaskWorktreeError::Worktree(e) => e.kind(),
            TaskWorktreeError::Notes(e) => e.kind(),
            TaskWorktreeError::Issue(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            TaskWorktreeError::Task(e) => e.code(),
            TaskWorktreeError::Worktree(e) => e.code(),
            TaskWorktreeError::Notes(e) => e.code(),
            TaskWorktreeError::Issue(e) => e.code(),
        }
    }
    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            TaskWorktreeError::Task(e) => e.context(),
            TaskWorktreeError::Worktree(e) => e.context(),
            TaskWorktreeError::Notes(e) => e.context(),
            TaskWorktreeError::Issue(e) => e.context(),
        }
    }
}

impl Workbench {
    /// The worktree of local task `task_id`: an existing worktree whose id is the task's
    /// (case-insensitive) is reused, else one is created with the task's id on `branch`
    /// (blank or `None`: the branch-name rule for local tasks, over the task's id and
    /// title). Either way the task's notes link it afterwards.
    pub async fn create_worktree_for_task(
        self: &Arc<Self>,
        task_id: &str,
        branch: Option<String>,
    ) -> Result<TaskWorktree, TaskWorktreeError> {
        let task = self.tasks().get(task_id)?;
        let issue = IssueRef::local(&task.id)?;
        self.create_worktree_for_issue(&issue, &task.title, branch)
            .await
    }

    /// The worktree of any source's issue (a tracker's `task` endpoints, auto-started
    /// agents): an existing worktree named after the issue (its id made a valid worktree
    /// id, compared case-insensitively) is reused, else one is created on `branch`
    /// (blank or `None`: the branch-name rule of the issue's source over its id and
    /// `title`). Either way the issue's notes link the worktree afterwards.
    pub async fn create_worktree_for_issue(
        self: &Arc<Self>,
        issue: &IssueRef,
        title: &str,
        branch: Option<String>,
    ) -> Result<TaskWorktree, TaskWorktreeError> {
        let worktree_id = worktree_id_for(issue);
        let worktrees = self.list_worktrees().await?;
        if let Some(existing) = worktrees
            .iter()
            .find(|w| !w.is_root && w.id.eq_ignore_ascii_case(&worktree_id))
        {
            self.notes().link(issue, Some(&existing.id))?;
            return Ok(TaskWorktree::Reused {
                worktree_id: existing.id.clone(),
                worktree_path: existing.path.clone(),
            });
        }
        let branch = match branch
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty())
        {
            Some(branch) => branch,
            None => {
                let rules = RuleStore::new(self.paths().clone())
                    .with_sources(Arc::clone(self.issue_sources()));
                let input = BranchInput {
                    issue_id: issue.id.as_str().to_string(),
                    name: title.to_string(),
                    r#type: "feature".into(),
                };
                let source = issue.source.clone();
                // The rule runs in a sandboxed script engine: off the async workers.
                tokio::task::spawn_blocking(move || rules.branch_name(Some(&source), &input))
                    .await
                    .map_err(|e| {
                        WorktreeError::Io(crate::error::IoFailure::new(
                            "running the branch-name rule",
                            std::io::Error::other(e.to_string()),
                        ))
                    })?
            }
        };
        let created = self
            .create_worktree(CreateWorktree {
                branch,
                id: Some(worktree_id),
                name: None,
            })
            .await?;
        self.notes().link(issue, Some(&created.worktree.id))?;
        // Listed again, so the answer shows the link just written.
        let worktree = self
            .worktree(&created.worktree.id)
            .await
            .unwrap_or(created.worktree);
        Ok(TaskWorktree::Created {
            worktree: Box::new(worktree),
        })
    }
}

/// The worktree id an issue's worktree gets: the issue's id (`PROJ-123`, `ENG-7`,
/// `LOCAL-3`) with every character a worktree id cannot hold made a `-`, and a source
/// prefix for ids that do not start with a letter or digit or are bare numbers (`42` of
/// a forge becomes `kizuna-42`, so two forges' issue 42 do not share a worktree).
pub fn worktree_id_for(issue: &IssueRef) -> String {
    let id: String = issue
        .id
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-');
    if id.is_empty() || id.chars().all(|c| c.is_ascii_digit()) {
        format!("{}-{}", issue.source.as_str(), id)
            .trim_end_matches('-')
            .to_string()
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worktree_ids_for_issues() {
        let id = |source: &str, id: &str| worktree_id_for(&IssueRef::parse(source, id).unwrap());
        assert_eq!(id("jira", "PROJ-123"), "PROJ-123");
        assert_eq!(id("local", "LOCAL-7"), "LOCAL-7");
        assert_eq!(id("kizuna", "42"), "kizuna-42");
        assert_eq!(id("kiket", "web.12"), "web-12");
    }
}
