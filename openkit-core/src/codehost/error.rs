//! Failures of a code host, mapped to kinds and stable codes.

use std::time::Duration;

use crate::error::{DomainError, ErrorKind};

use super::CodeHostKind;

/// A code host call that failed.
///
/// Everything the host itself refused (its 401, 403, 404, 422, rate limits, 5xx) or that
/// never reached it is an [`ErrorKind::Upstream`] failure: a client of OpenKit sees 502
/// with a code saying what went wrong upstream, never a 401 of OpenKit's own. Messages
/// carry the host's own words where it gave some, never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeHostError {
    /// No code host is plugged into this workbench.
    #[error("GitHub is not configured for this server (no code host was plugged in at start-up)")]
    NotConfigured,
    /// The project's configured code host (`codeHost` in `config.json`) is not set up in
    /// this server (Kizuna before `POST /api/kizuna/setup`).
    #[error(
        "{} is the project's code host (codeHost in .openkit/config.json) but it is not set up: POST /api/{}/setup first",
        .kind.display_name(), .kind.as_str()
    )]
    HostNotSetUp {
        /// The configured host.
        kind: CodeHostKind,
    },
    /// A failure an adapter describes in its own terms (its kind and stable code kept,
    /// e.g. Kizuna's `UPSTREAM_REJECTED` with the service's own error code).
    #[error("{message}")]
    Service {
        /// What kind of failure.
        kind: ErrorKind,
        /// The adapter's stable code.
        code: &'static str,
        /// The message (the service's words, never a credential).
        message: String,
        /// How long to wait before sending again (a rate limit).
        retry_after: Option<Duration>,
        /// The service's own error code, when it gave one.
        upstream_code: Option<String>,
    },
    /// No credentials could be found.
    #[error(
        "not signed in to {host}: set GH_TOKEN or GITHUB_TOKEN, or log in with `gh auth login` (POST /api/github/login)"
    )]
    NoToken {
        /// The host's name.
        host: String,
    },
    /// The host rejected the credentials (its 401).
    #[error("{host} rejected the credentials: {message}")]
    Unauthorized {
        /// The host's name.
        host: String,
        /// The host's message.
        message: String,
    },
    /// The host refused the operation (its 403 that is not a rate limit).
    #[error("{host} refused the request: {message}")]
    Forbidden {
        /// The host's name.
        host: String,
        /// The host's message.
        message: String,
    },
    /// The repository (or what was asked for) does not exist or is not visible with
    /// these credentials (its 404).
    #[error("{host} has no {what} (or the credentials cannot see it): {message}")]
    NotFound {
        /// The host's name.
        host: String,
        /// What was looked for, e.g. `repository acme/widgets`.
        what: String,
        /// The host's message.
        message: String,
    },
    /// The host rejected the request's content (its 422), with its explanation.
    #[error("{host} rejected the request: {message}")]
    Validation {
        /// The host's name.
        host: String,
        /// The host's message and the details of each error it listed.
        message: String,
    },
    /// A rate limit is in force; nothing is sent until it ends.
    #[error("{host} rate limit reached; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// The host's name.
        host: String,
        /// How long until requests may be sent again.
        retry_after: Duration,
    },
    /// The host could not be reached, or did not answer in time.
    #[error("{host} is unreachable: {message}")]
    Unreachable {
        /// The host's name.
        host: String,
        /// What failed (connect, timeout), without the credentials.
        message: String,
    },
    /// The host failed (5xx) or answered something unexpected.
    #[error("{host} failed{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Failed {
        /// The host's name.
        host: String,
        /// The status, when there was a response.
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
}

impl DomainError for CodeHostError {
    fn kind(&self) -> ErrorKind {
        match self {
            CodeHostError::NotConfigured => ErrorKind::Unavailable,
            CodeHostError::NoToken { .. } | CodeHostError::HostNotSetUp { .. } => {
                ErrorKind::InvalidInput
            }
            CodeHostError::Service { kind, .. } => *kind,
            _ => ErrorKind::Upstream,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            CodeHostError::NotConfigured => "GITHUB_NOT_CONFIGURED",
            CodeHostError::HostNotSetUp { kind } => match kind {
                CodeHostKind::GitHub => "GITHUB_NOT_CONFIGURED",
                CodeHostKind::Kizuna => "KIZUNA_NOT_CONFIGURED",
            },
            CodeHostError::Service { code, .. } => code,
            CodeHostError::NoToken { .. } => "GITHUB_NOT_AUTHENTICATED",
            CodeHostError::Unauthorized { .. } => "GITHUB_UNAUTHORIZED",
            CodeHostError::Forbidden { .. } => "GITHUB_FORBIDDEN",
            CodeHostError::NotFound { .. } => "GITHUB_NOT_FOUND",
            CodeHostError::Validation { .. } => "GITHUB_VALIDATION_FAILED",
            CodeHostError::RateLimited { .. } => "GITHUB_RATE_LIMITED",
            CodeHostError::Unreachable { .. } => "GITHUB_UNREACHABLE",
            CodeHostError::Failed { .. } => "GITHUB_FAILED",
        }
    }

    fn context(&self) -> Vec<(&'static str, String)> {
        match self {
            CodeHostError::RateLimited { retry_after, .. } => {
                vec![("retryAfter", retry_after.as_secs().max(1).to_string())]
            }
            CodeHostError::Service {
                retry_after,
                upstream_code,
                ..
            } => retry_after
                .map(|wait| ("retryAfter", wait.as_secs().max(1).to_string()))
                .into_iter()
                .chain(upstream_code.clone().map(|c| ("upstreamCode", c)))
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl CodeHostError {
    /// How long a rate limit asks to wait, when this is one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CodeHostError::RateLimited { retry_after, .. } => Some(*retry_after),
            CodeHostError::Service { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_failures_are_never_our_own_401() {
        let host = || "GitHub".to_string();
        let all = [
            CodeHostError::Unauthorized {
                host: host(),
                message: "Bad credentials".into(),
            },
            CodeHostError::Forbidden {
                host: host(),
                message: "Resource not accessible by integration".into(),
            },
            CodeHostError::NotFound {
                host: host(),
                what: "repository acme/widgets".into(),
                message: "Not Found".into(),
            },
            CodeHostError::Validation {
                host: host(),
                message: "Validation Failed".into(),
            },
            CodeHostError::RateLimited {
                host: host(),
                retry_after: Duration::from_millis(200),
            },
            CodeHostError::Unreachable {
                host: host(),
                message: "connection refused".into(),
            },
        ];
        for e in &all {
            assert_eq!(e.kind(), ErrorKind::Upstream, "{e}");
            assert!(e.code().starts_with("GITHUB_"));
        }
        assert_eq!(all[4].context(), vec![("retryAfter", "1".to_string())]);
        assert_eq!(
            all[4].to_string(),
            "GitHub rate limit reached; retry in 1 s"
        );
    }
}
