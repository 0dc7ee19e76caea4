//! What the tracker routes (Jira, Linear) share: the `task` answer (201 created, 200
//! reused), list errors that still carry an empty list, and proxied attachments.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openkit_core::task_worktree::TaskWorktree;
use serde_json::json;

use crate::error::ApiError;
use crate::wire::tracker::{IssueWorktreeCreated, IssueWorktreeReused};
use crate::wire::{False, True};

/// The answer of `POST /api/<tracker>/task`: 201 with the new worktree, or 200 when an
/// existing one (matched case-insensitively) was linked and reused.
pub(crate) fn task_answer(outcome: TaskWorktree) -> Response {
    match outcome {
        TaskWorktree::Reused {
            worktree_id,
            worktree_path,
        } => (
            StatusCode::OK,
            Json(IssueWorktreeReused {
                success: True,
                worktree_id,
                worktree_path,
                reused_existing: True,
            }),
        )
            .into_response(),
        TaskWorktree::Created { worktree } => (
            StatusCode::CREATED,
            Json(IssueWorktreeCreated {
                success: True,
                worktree_id: worktree.id.clone(),
                worktree_path: worktree.path.clone(),
                reused_existing: False,
            }),
        )
            .into_response(),
    }
}

/// An error of a list endpoint: the envelope plus the empty list under `field`, as the
/// reference shows (`{ issues: [], error }`, `{ options: [], error }`).
pub(crate) fn list_error(field: &str, error: impl Into<ApiError>) -> ApiError {
    error.into().with(field, json!([]))
}

/// A proxied attachment: the tracker's `Content-Type`, the file name from its
/// `Content-Disposition` (else `fallback`), served as local attachments are.
pub(crate) fn proxied_attachment(
    content_type: &str,
    disposition: Option<&str>,
    fallback: &str,
    bytes: Vec<u8>,
) -> Response {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("application/octet-stream")
        .trim()
        .to_ascii_lowercase();
    let filename = disposition
        .and_then(filename_of)
        .unwrap_or_else(|| fallback.to_string());
    crate::routes::tasks::attachment_response(mime, &filename, bytes)
}

/// `filename="..."` of a `Content-Disposition` value, reduced to its last path
/// component.
fn filename_of(disposition: &str) -> Option<String> {
    let start = disposition.find("filename=")? + "filename=".len();
    let rest = &disposition[start..];
    let name = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split(';').next()?.trim(),
    };
    let name = name.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_dispositions() {
        assert_eq!(
            filename_of("attachment; filename=\"a b.png\"").as_deref(),
            Some("a b.png")
        );
        assert_eq!(
            filename_of("inline; filename=x.txt; size=3").as_deref(),
            Some("x.txt")
        );
        assert_eq!(
            filename_of("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(filename_of("attachment"), None);
    }
}
