//! Issue sources as a port: local tasks, Jira, Linear, GitHub issues, Kiket, Kizuna, ...
//!
//! An issue is named by an [`IssueRef`]: a [`SourceId`] (the tracker, and the directory
//! `.openkit/issues/<source>/`) and an [`IssueId`] (the issue's key, and the directory
//! below it). Both are validated when they are made, so an `IssueRef` is always one
//! directory two levels inside `.openkit/issues/` ([`IssueRef::dir`]); nothing else turns
//! an issue id into a path.
//!
//! A tracker is an [`IssueSource`] registered by name in the project's [`IssueSources`]
//! (the composition registers local tasks, [`LocalIssues`]; tracker adapters register
//! theirs). Notes, rules, task context and the issue linked to a worktree work for every
//! source the registry accepts: the built-in names ([`BUILTIN_SOURCES`], valid even
//! before their adapter is configured, so their notes stay readable) plus every
//! registered one. The [`LinkIndex`] maps worktrees to their linked issue for the
//! worktree list without reading every `notes.json` on each request.

mod index;
mod local;
mod registry;
pub mod saved;

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::paths::Paths;

pub use index::{DEFAULT_TTL, LinkIndex, LinkedIssue};
pub use local::LocalIssues;
pub use registry::IssueSources;
pub use saved::SavedIssues;

/// Source names that are always valid for notes and rules, configured or not (their
/// adapters register when set up); `local` is registered by the default composition.
pub const BUILTIN_SOURCES: [&str; 6] = ["github", "jira", "kiket", "kizuna", "linear", "local"];

/// Longest accepted source name.
pub const MAX_SOURCE_LEN: usize = 32;
/// Longest accepted issue id.
pub const MAX_ISSUE_ID_LEN: usize = 128;

/// A failed issue operation, or an issue name that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The source name is malformed, or not one notes and rules accept (neither built in
    /// nor registered).
    #[error("Unknown source \"{0}\": use a registered issue source (jira, linear, local, ...)")]
    InvalidSource(String),
    /// The issue id cannot name a directory.
    #[error("Invalid issue id \"{0}\"")]
    InvalidId(String),
    /// No adapter is registered under this name.
    #[error("No issue source \"{0}\" is registered")]
    UnknownSource(String),
    /// The source has no such issue.
    #[error("Issue {0} not found")]
    NotFound(IssueRef),
    /// The source cannot do this (a read-only tracker, or no comments on local tasks).
    #[error("Issue source \"{source_id}\" does not support {operation}")]
    Unsupported {
        /// The source.
        source_id: SourceId,
        /// What was asked (`creating issues`, `comments`, ...).
        operation: &'static str,
    },
    /// Bad input for the source (an unknown status, an empty title).
    #[error("{0}")]
    Invalid(String),
    /// The adapter failed; its own kind and code are kept.
    #[error("{0}")]
    Adapter(Box<dyn DomainError>),
}

impl IssueError {
    /// Wraps an adapter's own error, keeping its kind and code.
    pub fn adapter(error: impl DomainError) -> Self {
        IssueError::Adapter(Box::new(error))
    }
}

impl DomainError for IssueError {
    fn kind(&self) -> ErrorKind {
        match self {
            IssueError::InvalidSource(_)
            | IssueError::InvalidId(_)
            | IssueError::Unsupported { .. }
            | IssueError::Invalid(_) => ErrorKind::InvalidInput,
            IssueError::UnknownSource(_) | IssueError::NotFound(_) => ErrorKind::NotFound,
            IssueError::Adapter(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            IssueError::InvalidSource(_) => "INVALID_SOURCE",
            IssueError::InvalidId(_) => "INVALID_ISSUE_ID",
            IssueError::UnknownSource(_) => "UNKNOWN_ISSUE_SOURCE",
            IssueError::NotFound(_) => "ISSUE_NOT_FOUND",
            IssueError::Unsupported { .. } => "ISSUE_OPERATION_UNSUPPORTED",
            IssueError::Invalid(_) => "INVALID_INPUT",
            IssueError::Adapter(e) => e.code(),
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            IssueError::Adapter(e) => e.context(),
            _ => Vec::new(),
        }
    }
}

/// The name of an issue source (`jira`, `local`, ...): 1 to 32 lowercase ASCII letters,
/// digits and dashes, starting with a letter or digit and not ending with a dash. It is
/// the directory `.openkit/issues/<source>/` and the suffix of per-source rule scripts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SourceId(String);

impl SourceId {
    /// Validates a source name.
    pub fn new(name: &str) -> Result<Self, IssueError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_SOURCE_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            Ok(SourceId(name.to_string()))
        } else {
            Err(IssueError::InvalidSource(name.to_string()))
        }
    }

    /// `local`: the project's own tasks.
    pub fn local() -> Self {
        SourceId("local".into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a name in [`BUILTIN_SOURCES`].
    pub fn is_builtin(&self) -> bool {
        BUILTIN_SOURCES.contains(&self.0.as_str())
    }

    /// True for `local`.
    pub fn is_local(&self) -> bool {
        self.0 == "local"
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SourceId {
    type Err = IssueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceId::new(s)
    }
}

impl<'de> Deserialize<'de> for SourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourceId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The key of an issue within its source (`LOCAL-7`, `PROJ-123`): 1 to 128 ASCII letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit, never containing `..`. So it
/// has no separator, no NUL and is never `.` or `..`: always one path component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IssueId(String);

impl IssueId {
    /// Validates an issue id.
    pub fn new(id: &str) -> Result<Self, IssueError> {
        let ok = !id.is_empty()
            && id.len() <= MAX_ISSUE_ID_LEN
            && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !id.contains("..");
        if ok {
            Ok(IssueId(id.to_string()))
        } else {
            Err(IssueError::InvalidId(id.to_string()))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for IssueId {
    type Err = IssueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IssueId::new(s)
    }
}

impl<'de> Deserialize<'de> for IssueId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IssueId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// One issue of one source. Ordered by source, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IssueRef {
    /// The tracker.
    pub source: SourceId,
    /// The key within it.
    pub id: IssueId,
}

impl IssueRef {
    /// An issue of `source`.
    pub fn new(source: SourceId, id: IssueId) -> Self {
        IssueRef { source, id }
    }

    /// Validates both parts (syntax only; whether the source is accepted is the
    /// registry's call, [`IssueSources::issue`]).
    pub fn parse(source: &str, id: &str) -> Result<Self, IssueError> {
        Ok(IssueRef {
            source: SourceId::new(source)?,
            id: IssueId::new(id)?,
        })
    }

    /// A local task.
    pub fn local(id: &str) -> Result<Self, IssueError> {
        Ok(IssueRef {
            source: SourceId::local(),
            id: IssueId::new(id)?,
        })
    }

    /// `.openkit/issues/<source>/<id>`: the only way an issue becomes a path.
    pub fn dir(&self, paths: &Paths) -> PathBuf {
        paths
            .issues_dir()
            .join(self.source.as_str())
            .join(self.id.as_str())
    }
}

impl fmt::Display for IssueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.id)
    }
}

/// What a source can do; a read-only source has only [`Capabilities::READ_ONLY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    /// Listing issues.
    pub const LIST: Capabilities = Capabilities(1);
    /// Reading one issue.
    pub const GET: Capabilities = Capabilities(1 << 1);
    /// Creating issues.
    pub const CREATE: Capabilities = Capabilities(1 << 2);
    /// Changing an issue's status.
    pub const UPDATE_STATUS: Capabilities = Capabilities(1 << 3);
    /// Adding comments.
    pub const COMMENT: Capabilities = Capabilities(1 << 4);
    /// Adding attachments.
    pub const ATTACH: Capabilities = Capabilities(1 << 5);
    /// Listing and reading only.
    pub const READ_ONLY: Capabilities = Capabilities(Self::LIST.0 | Self::GET.0);
    /// Everything.
    pub const ALL: Capabilities = Capabilities(0b11_1111);

    /// Both sets together.
    pub const fn with(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }

    /// This set without `other`.
    pub const fn without(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & !other.0)
    }

    /// True when every capability of `other` is in this set.
    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when the source can change nothing.
    pub const fn is_read_only(self) -> bool {
        !self.contains(Self::CREATE)
            && !self.contains(Self::UPDATE_STATUS)
            && !self.contains(Self::COMMENT)
            && !self.contains(Self::ATTACH)
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        self.with(rhs)
    }
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Who wrote it.
    pub author: String,
    /// When (as the tracker gave it).
    pub created: String,
    /// Text.
    pub body: String,
}

/// A file attached to an issue: on disk (local tasks, cached tracker files) or at a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueAttachment {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Where it is on disk, when it is.
    pub local_path: Option<PathBuf>,
    /// Where the tracker serves it, when it does.
    pub url: Option<String>,
}

/// An issue as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueSummary {
    /// Which issue.
    pub issue: IssueRef,
    /// Title.
    pub title: String,
    /// Status as the tracker names it (`todo`, `In Progress`, ...).
    pub status: String,
    /// Link to the issue in its tracker.
    pub url: Option<String>,
}

/// An issue with everything agents read about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// Identity, title, status, link.
    #[serde(flatten)]
    pub summary: IssueSummary,
    /// Description (Markdown or the tracker's text).
    pub description: String,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// Attached files.
    pub attachments: Vec<IssueAttachment>,
}

/// Fields of a new issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewIssue {
    /// Title (required).
    pub title: String,
    /// Description.
    pub description: String,
    /// Labels.
    pub labels: Vec<String>,
}

/// An issue tracker. Implementations are registered in [`IssueSources`]; a source says
/// what it supports with [`IssueSource::capabilities`], and the writes it does not
/// support answer [`IssueError::Unsupported`] (the default of each write method).
#[async_trait]
pub trait IssueSource: Send + Sync + 'static {
    /// The name it is registered under.
    fn source(&self) -> &SourceId;

    /// What it can do.
    fn capabilities(&self) -> Capabilities;

    /// Its issues (those it offers to work on).
    async fn list(&self) -> Result<Vec<IssueSummary>, IssueError>;

    /// The open issues assigned to the user: what the background refresh watches for
    /// new arrivals. By default, every issue [`IssueSource::list`] offers.
    async fn assigned(&self) -> Result<Vec<IssueSummary>, IssueError> {
        self.list().await
    }

    /// One issue with description, comments and attachments.
    async fn get(&self, id: &IssueId) -> Result<Issue, IssueError>;

    /// Creates an issue.
    async fn create(&self, issue: NewIssue) -> Result<Issue, IssueError> {
        let _ = issue;
        Err(self.unsupported("creating issues"))
    }

    /// Changes an issue's status to `status` (as the tracker names it).
    async fn update_status(&self, id: &IssueId, status: &str) -> Result<IssueSummary, IssueError> {
        let _ = (id, status);
        Err(self.unsupported("changing the status"))
    }

    /// Adds a comment.
    async fn add_comment(&self, id: &IssueId, body: &str) -> Result<Comment, IssueError> {
        let _ = (id, body);
        Err(self.unsupported("comments"))
    }

    /// Adds an attachment.
    async fn add_attachment(
        &self,
        id: &IssueId,
        filename: &str,
        bytes: &[u8],
    ) -> Result<IssueAttachment, IssueError> {
        let _ = (id, filename, bytes);
        Err(self.unsupported("attachments"))
    }

    /// What the source already knows about an issue, without waiting: an in-memory
    /// cache, never the network or a directory scan. The worktree list calls it for
    /// every linked issue of this source, so it must be cheap; `None` (the default)
    /// leaves the status and URL to the issue's cached `issue.json`.
    fn peek(&self, id: &IssueId) -> Option<IssueSummary> {
        let _ = id;
        None
    }

    /// The error for an operation this source does not support.
    fn unsupported(&self, operation: &'static str) -> IssueError {
        IssueError::Unsupported {
            source_id: self.source().clone(),
            operation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn source_names() {
        for ok in ["jira", "local", "kizuna", "my-tracker", "t2", "2t"] {
            assert_eq!(SourceId::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "Jira", "-x", "x-", "a/b", "..", ".", "a.b", "a_b", "a b", "a\0b", "ä",
        ] {
            let err = SourceId::new(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_SOURCE", "{bad:?}");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
        assert!(SourceId::new(&"a".repeat(MAX_SOURCE_LEN)).is_ok());
        assert!(SourceId::new(&"a".repeat(MAX_SOURCE_LEN + 1)).is_err());
        assert!(SourceId::new("jira").unwrap().is_builtin());
        assert!(!SourceId::new("acme").unwrap().is_builtin());
        assert!(SourceId::local().is_local());
    }

    #[test]
    fn issue_ids() {
        for ok in ["LOCAL-7", "PROJ-123", "a", "1.2_3", "x.y"] {
            assert!(IssueId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "..", ".", "../x", "a/b", "a\\b", "a\0b", ".hidden", "-x", "a..b",
        ] {
            assert_eq!(IssueId::new(bad).unwrap_err().code(), "INVALID_ISSUE_ID");
        }
        assert!(IssueId::new(&"a".repeat(MAX_ISSUE_ID_LEN + 1)).is_err());
    }

    #[test]
    fn refs_serialize_as_plain_strings_and_validate_on_read() {
        let r = IssueRef::parse("jira", "PROJ-1").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json, serde_json::json!({"source": "jira", "id": "PROJ-1"}));
        assert_eq!(serde_json::from_value::<IssueRef>(json).unwrap(), r);
        assert!(
            serde_json::from_value::<IssueRef>(serde_json::json!({"source": "jira", "id": "../x"}))
                .is_err()
        );
        assert_eq!(r.to_string(), "jira/PROJ-1");
    }

    #[test]
    fn capabilities() {
        let c = Capabilities::READ_ONLY;
        assert!(c.is_read_only() && c.contains(Capabilities::GET));
        assert!(!c.contains(Capabilities::CREATE));
        let c = c | Capabilities::CREATE;
        assert!(!c.is_read_only() && c.contains(Capabilities::CREATE));
        assert!(Capabilities::ALL.contains(c));
        assert!(
            !Capabilities::ALL
                .without(Capabilities::COMMENT)
                .contains(Capabilities::COMMENT)
        );
    }

    proptest! {
        /// Whatever a client sends, an `IssueRef` that validates is exactly two plain
        /// components below the issues directory.
        #[test]
        fn refs_never_leave_the_issues_dir(source in "\\PC{0,40}", id in "\\PC{0,140}") {
            let paths = Paths::new("/project", "/global");
            if let Ok(r) = IssueRef::parse(&source, &id) {
                let dir = r.dir(&paths);
                let rest = dir.strip_prefix(paths.issues_dir()).expect("inside the issues dir");
                let parts: Vec<_> = rest.components().collect();
                prop_assert_eq!(parts.len(), 2);
                for part in parts {
                    prop_assert!(matches!(part, std::path::Component::Normal(_)));
                }
                prop_assert!(!id.contains('/') && !id.contains('\0') && !id.contains(".."));
            }
        }

        /// The same for names made of the allowed characters only, where most validate.
        #[test]
        fn plausible_refs_stay_inside(source in "[a-z0-9./-]{0,12}", id in "[A-Za-z0-9._/-]{0,20}") {
            let paths = Paths::new("/project", "/global");
            if let Ok(r) = IssueRef::parse(&source, &id) {
                let dir = r.dir(&paths);
                let issues_dir = paths.issues_dir();
                prop_assert_eq!(dir.parent().and_then(|p| p.parent()), Some(issues_dir.as_path()));
                prop_assert_eq!(dir.file_name().and_then(|n| n.to_str()), Some(id.as_str()));
                prop_assert!(id != "." && id != "..");
            }
        }
    }
}
