//! Test support (feature `testing`): hermetic temporary git repositories.
//!
//! A [`TestRepo`] lives in a temporary directory with its own `HOME`, no global or system
//! git config, fixed author and dates, and optionally a bare `origin`. Use
//! [`TestRepo::composition`] for the workbench and [`TestRepo::env`] for child processes
//! (for example the `openkit` binary) so nothing of the developer's machine leaks in.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command::CommandRunner;
use crate::compose::Composition;
use crate::git::GitCli;
use crate::host::HostEnv;
use crate::paths::Paths;

/// The environment that makes git hermetic and deterministic.
fn hermetic_env(home: &Path) -> Vec<(String, String)> {
    [
        ("HOME", home.to_string_lossy().as_ref()),
        (
            "XDG_CONFIG_HOME",
            home.join(".config").to_string_lossy().as_ref(),
        ),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_AUTHOR_NAME", "OpenKit Test"),
        ("GIT_AUTHOR_EMAIL", "test@openkit.invalid"),
        ("GIT_COMMITTER_NAME", "OpenKit Test"),
        ("GIT_COMMITTER_EMAIL", "test@openkit.invalid"),
        ("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z"),
        ("GIT_TERMINAL_PROMPT", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Options for a [`TestRepo`].
#[derive(Debug, Clone)]
pub struct TestRepoBuilder {
    initial_commit: bool,
    origin: bool,
    branch: String,
    files: Vec<(String, String)>,
}

impl Default for TestRepoBuilder {
    fn default() -> Self {
        TestRepoBuilder {
            initial_commit: true,
            origin: false,
            branch: "main".into(),
            files: vec![("README.md".into(), "# test\n".into())],
        }
    }
}

impl TestRepoBuilder {
    /// Leave the repository without any commit.
    pub fn no_commits(mut self) -> Self {
        self.initial_commit = false;
        self
    }

    /// Add a bare `origin` remote and push the initial branch to it.
    pub fn with_origin(mut self) -> Self {
        self.origin = true;
        self
    }

    /// Name of the initial branch (default `main`).
    pub fn branch(mut self, name: &str) -> Self {
        self.branch = name.into();
        self
    }

    /// A file of the initial commit.
    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.into(), content.into()));
        self
    }

    /// Creates the repository.
    pub fn build(self) -> TestRepo {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let base = dir.path().canonicalize().expect("canonical temp dir");
        let home = base.join("home");
        let root = base.join("repo");
        std::fs::create_dir_all(&home).expect("creating HOME");
        std::fs::create_dir_all(&root).expect("creating repo dir");
        let repo = TestRepo {
            _dir: dir,
            root,
            home,
            origin: None,
        };
        repo.git(["init", "-q", "-b", &self.branch]);
        if self.initial_commit {
            for (path, content) in &self.files {
                repo.write(path, content);
            }
            repo.commit_all("initial commit");
        }
        let mut repo = repo;
        if self.origin {
            let origin = base.join("origin.git");
            repo.git_in(
                &base,
                ["init", "-q", "--bare", "-b", &self.branch, "origin.git"],
            );
            repo.git(["remote", "add", "origin", &origin.to_string_lossy()]);
            if self.initial_commit {
                repo.git(["push", "-q", "-u", "origin", &self.branch]);
                repo.git(["remote", "set-head", "origin", &self.branch]);
            }
            repo.origin = Some(origin);
        }
        repo
    }
}

/// A hermetic temporary git repository, deleted on drop.
#[derive(Debug)]
pub struct TestRepo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    origin: Option<PathBuf>,
}

impl TestRepo {
    /// A repository with one commit on `main`.
    pub fn new() -> Self {
        TestRepo::builder().build()
    }

    /// Options for a repository.
    pub fn builder() -> TestRepoBuilder {
        TestRepoBuilder::default()
    }

    /// The working tree (project root), canonicalised.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The isolated home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The bare origin, when built `with_origin`.
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// Paths for this project, with the global directory under the isolated home.
    pub fn paths(&self) -> Paths {
        Paths::new(&self.root, self.home.join(".openkit"))
    }

    /// The hermetic environment, for child processes.
    pub fn env(&self) -> Vec<(String, String)> {
        hermetic_env(&self.home)
    }

    /// The host environment a workbench over this repository runs with: the hermetic
    /// variables, `SHELL=/bin/sh` and the test process's `PATH` (so `git` and `sh` are
    /// found), and nothing else of the developer's machine.
    pub fn host_env(&self) -> HostEnv {
        HostEnv::from_vars(self.env())
            .with_var("SHELL", "/bin/sh")
            .with_var("PATH", std::env::var_os("PATH").unwrap_or_default())
    }

    /// The composition of this repository's workbench: hermetic host environment and
    /// defaults otherwise; swap what the test needs, then `build()`.
    pub fn composition(&self) -> Composition {
        Composition::new(self.paths(), self.host_env())
    }

    /// A git runner over [`TestRepo::host_env`].
    pub fn git_cli(&self) -> GitCli {
        GitCli::with_runner(CommandRunner::new(self.host_env()))
    }

    /// Runs git in the project root; panics on failure. Returns stdout.
    pub fn git<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.git_in(&self.root, args)
    }

    /// Runs git in `dir`; panics on failure. Returns stdout.
    pub fn git_in<I, S>(&self, dir: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<_> = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        let out = Command::new("git")
            .args(&args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env())
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {:?} failed in {}: {}",
            args,
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes a file below the project root, creating directories.
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("creating dirs");
        std::fs::write(path, content).expect("writing file");
    }

    /// Stages everything and commits in the project root.
    pub fn commit_all(&self, message: &str) {
        self.git(["add", "-A"]);
        self.git(["commit", "-q", "-m", message]);
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::issues::{
    Capabilities, Comment, Issue, IssueAttachment, IssueError, IssueId, IssueRef, IssueSource,
    IssueSummary, NewIssue, SourceId,
};

/// An in-memory issue source for tests and embedders: issues live in a map, nothing
/// touches the disk or the network. Register it with
/// [`Composition::issue_source`](crate::compose::Composition::issue_source).
pub struct MemoryIssues {
    source: SourceId,
    capabilities: Capabilities,
    url_base: String,
    issues: Mutex<BTreeMap<IssueId, Issue>>,
    /// What [`IssueSource::assigned`] answers (scriptable at runtime).
    assignment: Mutex<Assignment>,
    /// Every `update_status` call, in order.
    status_updates: Mutex<Vec<(IssueId, String)>>,
    /// `update_status` fails with this message.
    refuse_status: Mutex<Option<String>>,
}

/// The scripted behaviour of [`MemoryIssues::assigned`].
#[derive(Debug, Default)]
struct Assignment {
    /// `None`: every issue (the trait's default); else these issues.
    ids: Option<std::collections::BTreeSet<IssueId>>,
    /// The next calls fail with this message.
    failure: Option<String>,
    /// The next calls never answer.
    hang: bool,
    /// How often it was called.
    calls: usize,
}

impl std::fmt::Debug for MemoryIssues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryIssues")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MemoryIssues {
    /// An empty source named `source` that supports everything; its issue URLs are
    /// `https://<source>.invalid/<id>`. Panics on an invalid name (a test bug).
    pub fn new(source: &str) -> Self {
        let source = SourceId::new(source).expect("a valid source name");
        MemoryIssues {
            url_base: format!("https://{source}.invalid/"),
            source,
            capabilities: Capabilities::ALL,
            issues: Default::default(),
            assignment: Default::default(),
            status_updates: Default::default(),
            refuse_status: Default::default(),
        }
    }

    /// Assigns issue `id` to the user (adding it with `title` and status `To Do` when it
    /// does not exist). From the first call on, [`IssueSource::assigned`] answers only
    /// the assigned issues. Panics on an invalid id.
    pub fn assign(&self, id: &str, title: &str) {
        let issue_id = IssueId::new(id).expect("a valid issue id");
        if !self.lock().contains_key(&issue_id) {
            let issue = self.issue(id, title, "To Do", "");
            self.insert(issue);
        }
        self.assignment()
            .ids
            .get_or_insert_with(Default::default)
            .insert(issue_id);
    }

    /// Takes issue `id` off the user's assigned issues.
    pub fn unassign(&self, id: &str) {
        if let (Ok(id), Some(ids)) = (IssueId::new(id), self.assignment().ids.as_mut()) {
            ids.remove(&id);
        }
    }

    /// Makes [`IssueSource::assigned`] fail with `message` (`None`: answer again).
    pub fn fail_assigned(&self, message: Option<&str>) {
        self.assignment().failure = message.map(str::to_string);
    }

    /// Makes [`IssueSource::assigned`] never answer (`false`: answer again).
    pub fn hang_assigned(&self, hang: bool) {
        self.assignment().hang = hang;
    }

    /// How often [`IssueSource::assigned`] was called.
    pub fn assigned_calls(&self) -> usize {
        self.assignment().calls
    }

    /// Every `update_status` call so far (issue, status), including refused ones.
    pub fn status_updates(&self) -> Vec<(IssueId, String)> {
        self.status_updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `update_status` fail with `message` (`None`: accept again).
    pub fn refuse_status_updates(&self, message: Option<&str>) {
        *self.refuse_status.lock().unwrap_or_else(|e| e.into_inner()) = message.map(str::to_string);
    }

    fn assignment(&self) -> MutexGuard<'_, Assignment> {
        self.assignment.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Limits what the source supports (e.g. [`Capabilities::READ_ONLY`](crate::issues::Capabilities::READ_ONLY)).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Adds an issue with a title, a status and a description. Panics on an invalid id.
    pub fn with_issue(self, id: &str, title: &str, status: &str, description: &str) -> Self {
        let issue = self.issue(id, title, status, description);
        self.insert(issue);
        self
    }

    /// Adds or replaces an issue.
    pub fn insert(&self, issue: Issue) {
        self.lock().insert(issue.summary.issue.id.clone(), issue);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<IssueId, Issue>> {
        self.issues.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn issue(&self, id: &str, title: &str, status: &str, description: &str) -> Issue {
        let id = IssueId::new(id).expect("a valid issue id");
        Issue {
            summary: IssueSummary {
                url: Some(format!("{}{id}", self.url_base)),
                issue: IssueRef::new(self.source.clone(), id),
                title: title.to_string(),
                status: status.to_string(),
            },
            description: description.to_string(),
            comments: Vec::new(),
            attachments: Vec::new(),
        }
    }

    fn check(&self, needed: Capabilities, operation: &'static str) -> Result<(), IssueError> {
        if self.capabilities.contains(needed) {
            Ok(())
        } else {
            Err(self.unsupported(operation))
        }
    }

    fn with_existing<T>(
        &self,
        id: &IssueId,
        f: impl FnOnce(&mut Issue) -> T,
    ) -> Result<T, IssueError> {
        let mut issues = self.lock();
        match issues.get_mut(id) {
            Some(issue) => Ok(f(issue)),
            None => Err(IssueError::NotFound(IssueRef::new(
                self.source.clone(),
                id.clone(),
            ))),
        }
    }
}

#[async_trait::async_trait]
impl IssueSource for MemoryIssues {
    fn source(&self) -> &SourceId {
        &self.source
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError> {
        self.check(Capabilities::LIST, "listing issues")?;
        Ok(self.lock().values().map(|i| i.summary.clone()).collect())
    }

    async fn assigned(&self) -> Result<Vec<IssueSummary>, IssueError> {
        let hang = {
            let mut assignment = self.assignment();
            assignment.calls += 1;
            if let Some(message) = &assignment.failure {
                return Err(IssueError::Invalid(message.clone()));
            }
            assignment.hang
        };
        if hang {
            std::future::pending::<()>().await;
        }
        let ids = self.assignment().ids.clone();
        let issues = self.lock();
        Ok(issues
            .values()
            .filter(|i| {
                ids.as_ref()
                    .is_none_or(|ids| ids.contains(&i.summary.issue.id))
            })
            .map(|i| i.summary.clone())
            .collect())
    }

    async fn get(&self, id: &IssueId) -> Result<Issue, IssueError> {
        self.check(Capabilities::GET, "reading issues")?;
        self.with_existing(id, |i| i.clone())
    }

    async fn create(&self, new: NewIssue) -> Result<Issue, IssueError> {
        self.check(Capabilities::CREATE, "creating issues")?;
        if new.title.trim().is_empty() {
            return Err(IssueError::Invalid("title is required".into()));
        }
        let number = self.lock().len() + 1;
        let prefix = self.source.as_str().to_ascii_uppercase();
        let issue = self.issue(
            &format!("{prefix}-{number}"),
            &new.title,
            "open",
            &new.description,
        );
        self.insert(issue.clone());
        Ok(issue)
    }

    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        self.check(Capabilities::UPDATE_STATUS, "changing the status")?;
        self.status_updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id.clone(), status.to_string()));
        if let Some(message) = self
            .refuse_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(IssueError::Invalid(message));
        }
        self.with_existing(id, |i| {
            i.summary.status = status.to_string();
            i.summary.clone()
        })
    }

    async fn add_comment(&self, id: &IssueId, body: &str) -> Result<Comment, IssueError> {
        self.check(Capabilities::COMMENT, "comments")?;
        let comment = Comment {
            author: "tester".into(),
            created: "2025-01-01T00:00:00Z".into(),
            body: body.to_string(),
        };
        self.with_existing(id, |i| i.comments.push(comment.clone()))?;
        Ok(comment)
    }

    async fn add_attachment(
        &self,
        id: &IssueId,
        filename: &str,
        bytes: &[u8],
    ) -> Result<IssueAttachment, IssueError> {
        self.check(Capabilities::ATTACH, "attachments")?;
        let attachment = IssueAttachment {
            filename: filename.to_string(),
            mime_type: crate::tasks::mime_for(filename),
            size: Some(bytes.len() as u64),
            local_path: None,
            url: Some(format!("{}{id}/{filename}", self.url_base)),
        };
        self.with_existing(id, |i| i.attachments.push(attachment.clone()))?;
        Ok(attachment)
    }

    fn peek(&self, id: &IssueId) -> Option<IssueSummary> {
        self.lock().get(id).map(|i| i.summary.clone())
    }
}

/// A [`Terminals`](crate::ports::Terminals) port that starts nothing and records every
/// agent session asked for: session ids `session-1`, `session-2`, ...; a live agent
/// session of the same worktree and agent is reused, as the real port does.
#[derive(Debug, Default)]
pub struct RecordingTerminals {
    launches: Mutex<Vec<crate::ports::AgentLaunch>>,
    sessions: Mutex<Vec<(String, String, String)>>,
}

impl RecordingTerminals {
    /// No sessions.
    pub fn new() -> Self {
        RecordingTerminals::default()
    }

    /// Every launch asked for (reused ones too), in order.
    pub fn launches(&self) -> Vec<crate::ports::AgentLaunch> {
        self.launches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait::async_trait]
impl crate::ports::Terminals for RecordingTerminals {
    async fn close_worktree_sessions(&self, worktree_id: &str) -> usize {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let before = sessions.len();
        sessions.retain(|(_, wt, _)| wt != worktree_id);
        before - sessions.len()
    }

    fn active_session(&self, worktree_id: &str, scope: &str) -> Option<String> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, wt, s)| wt == worktree_id && s == scope)
            .map(|(id, _, _)| id.clone())
    }

    fn session_pids(&self, _: &str) -> Vec<u32> {
        Vec::new()
    }

    async fn start_agent_session(
        &self,
        launch: crate::ports::AgentLaunch,
    ) -> Result<crate::ports::AgentSessionStarted, crate::ports::TerminalsError> {
        let scope = launch.agent.command().to_string();
        let worktree = launch.worktree_id.clone();
        self.launches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(launch);
        if let Some(session_id) = self.active_session(&worktree, &scope) {
            return Ok(crate::ports::AgentSessionStarted {
                session_id,
                reused: true,
            });
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let session_id = format!("session-{}", sessions.len() + 1);
        sessions.push((session_id.clone(), worktree, scope));
        Ok(crate::ports::AgentSessionStarted {
            session_id,
            reused: false,
        })
    }
}
