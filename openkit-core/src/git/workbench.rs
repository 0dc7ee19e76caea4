//! The workbench's git operations on a worktree: diff, file contents, commit, push, and
//! the agent git policy ([`Workbench::authorize_git`]).
//!
//! Worktree ids resolve like every other worktree route (exact, then unique
//! case-insensitive). libgit2 work runs on the blocking pool; commit and push hold the
//! worktree's lock (so they never interleave with a rename or delete of it) and mark the
//! checkout as changing for the status engine.

use crate::events::{ActivityNotice, Severity};
use crate::git::changes::{self, CommitOutcome, PushOutcome};
use crate::git::confine::TreePath;
use crate::git::diff::{self, Against, ChangeStatus, ChangedFile, FileContents, FileRequest};
use crate::git::op_error::GitOpError;
use crate::git::policy::{self, Actor, GitAction, IssuePolicy};
use crate::issues::SourceId;
use crate::rules::{CommitInput, RuleStore};
use crate::status::Changing;
use crate::workbench::Workbench;
use crate::worktree::WorktreeInfo;

/// The changed files of a worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeDiff {
    /// The configured base branch.
    pub base_branch: String,
    /// The changed files, by path.
    pub files: Vec<ChangedFile>,
}

/// A request for both sides of one file (raw request values, validated by the call).
#[derive(Debug, Clone, Default)]
pub struct DiffFileQuery {
    /// The file, relative to the worktree.
    pub path: String,
    /// Its status (default `modified`).
    pub status: Option<String>,
    /// Compare with the base branch instead of HEAD.
    pub include_committed: bool,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, GitOpError> + Send + 'static,
) -> Result<T, GitOpError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| GitOpError::Task(e.to_string()))?
}

impl Workbench {
    /// The changed files of worktree `id`: uncommitted changes (untracked included), or
    /// with `include_committed` everything since the branch left the base branch.
    pub async fn worktree_diff(
        &self,
        id: &str,
        include_committed: bool,
    ) -> Result<WorktreeDiff, GitOpError> {
        let worktree = self.worktree(id).await?;
        let base_branch = self.base_branch();
        let base = base_branch.clone();
        let files = blocking(move || {
            let repo = diff::open(&worktree.path, &worktree.id)?;
            let against = if include_committed {
                Against::Base(&base)
            } else {
                Against::Head
            };
            diff::changed_files(&repo, against)
        })
        .await?;
        Ok(WorktreeDiff { base_branch, files })
    }

    /// Both sides of one changed file of worktree `id` (paths confined to the worktree,
    /// each side at most [`diff::MAX_FILE_BYTES`]).
    pub async fn worktree_diff_file(
        &self,
        id: &str,
        query: DiffFileQuery,
    ) -> Result<FileContents, GitOpError> {
        let request = FileRequest {
            path: TreePath::parse(&query.path)?,
            old_path: query
                .old_path
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(TreePath::parse)
                .transpose()?,
            status: ChangeStatus::parse(query.status.as_deref().unwrap_or("modified"))?,
        };
        let worktree = self.worktree(id).await?;
        let base = self.base_branch();
        blocking(move || {
            let repo = diff::open(&worktree.path, &worktree.id)?;
            let against = if query.include_committed {
                Against::Base(&base)
            } else {
                Against::Head
            };
            diff::file_contents(&repo, &worktree.path, against, &request)
        })
        .await
    }

    /// Decides whether `actor` may do `action` in worktree `id` and returns the resolved
    /// worktree. Humans always may; an agent only in its own worktree and only when the
    /// linked issue's `gitPolicy` (over the local-config defaults) allows it
    /// (`AGENT_GIT_POLICY_DENIED`, `AGENT_SCOPE_MISMATCH` otherwise).
    pub async fn authorize_git(
        &self,
        actor: &Actor,
        id: &str,
        action: GitAction,
    ) -> Result<WorktreeInfo, GitOpError> {
        let worktree = self.worktree(id).await?;
        if !actor.is_agent() {
            return Ok(worktree);
        }
        let local = self.config().load_local()?;
        let issue = self.notes().linked_issue(&worktree.id);
        let notes = issue.as_ref().map(|i| self.notes().get(i)).transpose()?;
        let label = issue.as_ref().map(|i| format!("{}/{}", i.source, i.id));
        policy::decide(
            actor,
            action,
            &worktree.id,
            IssuePolicy {
                issue: label.as_deref(),
                policy: notes.as_ref().and_then(|n| n.git_policy.as_ref()),
            },
            &local,
        )?;
        Ok(worktree)
    }

    /// The commit message after the project's commit-message rule (the linked issue's
    /// source script, else the generic one; the message unchanged without a script or
    /// when it fails).
    async fn apply_commit_rule(&self, worktree: &str, message: &str) -> String {
        let issue = self.notes().linked_issue(worktree);
        let rules = RuleStore::new(self.paths().clone())
            .with_sources(std::sync::Arc::clone(self.issue_sources()));
        let source: Option<SourceId> = issue.as_ref().map(|i| i.source.clone());
        let input = CommitInput {
            message: message.to_string(),
            issue_id: issue.map(|i| i.id.to_string()).unwrap_or_default(),
        };
        let fallback = message.to_string();
        tokio::task::spawn_blocking(move || rules.commit_message(source.as_ref(), &input))
            .await
            .ok()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .unwrap_or(fallback)
    }

    /// Commits every change of worktree `id` (`git add -A`, untracked files included;
    /// hooks run) with `message` after the commit-message rule. Refused for agents the
    /// policy denies.
    pub async fn commit_worktree(
        &self,
        actor: &Actor,
        id: &str,
        message: &str,
    ) -> Result<CommitOutcome, GitOpError> {
        let message = message.trim();
        if message.is_empty() {
            return Err(GitOpError::EmptyMessage);
        }
        let worktree = self.authorize_git(actor, id, GitAction::Commit).await?;
        let message = self.apply_commit_rule(&worktree.id, message).await;
        let _guard = self.lock_worktree(&worktree.id).await;
        let _changing = self.mark_changing(&worktree.path);
        let outcome =
            changes::commit_all(self.git(), &worktree.path, &worktree.id, &message).await?;
        let short: String = outcome.commit.chars().take(7).collect();
        let subject = outcome.message.lines().next().unwrap_or_default();
        self.notify(Some(
            ActivityNotice::worktree(
                "git_committed",
                Severity::Success,
                &worktree.id,
                format!("Committed {short} in {}: {subject}", worktree.id),
            )
            .with_detail(format!("by {actor}")),
        ));
        Ok(outcome)
    }

    /// Pushes the branch of worktree `id` (setting its upstream on the first push).
    /// Refused for agents the policy denies.
    pub async fn push_worktree(&self, actor: &Actor, id: &str) -> Result<PushOutcome, GitOpError> {
        let worktree = self.authorize_git(actor, id, GitAction::Push).await?;
        let _guard = self.lock_worktree(&worktree.id).await;
        let _changing = self.mark_changing(&worktree.path);
        let outcome = changes::push_branch(self.git(), &worktree.path, &worktree.id).await?;
        self.notify(Some(
            ActivityNotice::worktree(
                "git_pushed",
                Severity::Success,
                &worktree.id,
                format!("Pushed {} to {}", outcome.branch, outcome.upstream),
            )
            .with_detail(format!("by {actor}")),
        ));
        Ok(outcome)
    }

    fn mark_changing(&self, checkout: &std::path::Path) -> Option<Changing> {
        self.status_engine().map(|engine| engine.changing(checkout))
    }
}
