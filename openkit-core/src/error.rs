//! The error model shared by every area of the domain.
//!
//! Each area has its own `thiserror` enum carrying context (`NotFound { id }`,
//! `Ambiguous { id, matches }`, ...). Every such enum implements [`DomainError`], so a
//! frontend can map an error to a transport status once, from its [`ErrorKind`], and
//! show clients its stable [`DomainError::code`].

use std::fmt;

/// What kind of failure an error is, independent of the area it comes from.
///
/// Frontends map a kind to their own status (HTTP: 404, 400, 409, ...) in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing named by the caller does not exist.
    NotFound,
    /// The caller's input is malformed or violates a rule.
    InvalidInput,
    /// The request conflicts with the current state (exists already, ambiguous, busy).
    Conflict,
    /// Credentials are missing or were rejected.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// Too many requests; try later.
    RateLimited,
    /// An external service failed.
    Upstream,
    /// A dependency (a tool, a file) is not available right now.
    Unavailable,
    /// A bug or an unexpected local failure (I/O, git misbehaving).
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Upstream => "upstream failure",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal error",
        };
        f.write_str(name)
    }
}

/// An error of the domain: it knows its kind, its stable code, and any extra
/// machine-readable context a client needs (for example the canonical `worktreeId`).
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    /// The kind, used by frontends to pick a status.
    fn kind(&self) -> ErrorKind;

    /// A stable `UPPER_SNAKE` code, shown to clients.
    fn code(&self) -> &'static str;

    /// Extra fields for clients, as `(camelCaseName, value)` pairs.
    fn context(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A failure of the local environment (file system, a child process) with the
/// action that failed. Used inside area errors as their `Internal` case.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {source}")]
pub struct IoFailure {
    /// What was being done, e.g. "reading /repo/.openkit/config.json".
    pub action: String,
    /// The underlying I/O error.
    #[source]
    pub source: std::io::Error,
}

impl IoFailure {
    /// Wraps `source` with a description of what was being done.
    pub fn new(action: impl Into<String>, source: std::io::Error) -> Self {
        IoFailure {
            action: action.into(),
            source,
        }
    }
}

impl DomainError for IoFailure {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }

    fn code(&self) -> &'static str {
        "IO_ERROR"
    }
}
