//! The one error envelope every endpoint answers with, and extractors whose rejections
//! use it.
//!
//! `{ "success": false, "error": "<sentence>", "code": "<UPPER_SNAKE>" }` plus the extra
//! fields a domain error carries (for example `worktreeId`, `deleteOpId`).

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use openkit_core::{DomainError, ErrorKind};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::wire::{ErrorBody, False};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    code: &'static str,
    extra: Map<String, Value>,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code,
            extra: Map::new(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// Adds a field to the envelope.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The envelope this error answers with.
    pub fn into_body(self) -> ErrorBody {
        let mut extra = self.extra;
        let mut take = |key: &str| match extra.get(key) {
            Some(Value::String(_)) => match extra.remove(key) {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        };
        let worktree_id = take("worktreeId");
        let delete_op_id = take("deleteOpId");
        ErrorBody {
            success: False,
            error: self.message,
            code: self.code.to_string(),
            worktree_id,
            delete_op_id,
            extra,
        }
    }
}

/// The status for a domain error: by kind, except where the API reference fixes another.
fn status_for(err: &dyn DomainError) -> StatusCode {
    // The reference answers a duplicate worktree with 400 (create and rename), not 409.
    if err.code() == "WORKTREE_EXISTS" {
        return StatusCode::BAD_REQUEST;
    }
    // A Kite message over Kite's 64 KiB limit, refused before sending.
    if err.code() == "KITE_MESSAGE_TOO_LARGE" {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    // The reference answers a missing `claude` CLI with 501.
    if err.code() == "CLAUDE_CLI_UNAVAILABLE" {
        return StatusCode::NOT_IMPLEMENTED;
    }
    match err.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl<E: DomainError> From<E> for ApiError {
    fn from(err: E) -> Self {
        let status = status_for(&err);
        let mut message = err.to_string();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            let request_id = uuid::Uuid::new_v4().simple().to_string();
            let mut chain = message.clone();
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(request_id, code = err.code(), "internal error: {chain}");
            message = format!("{message} (request {request_id})");
        }
        let mut api = ApiError {
            status,
            message,
            code: err.code(),
            extra: Map::new(),
        };
        for (key, value) in err.context() {
            api.extra.insert(key.to_string(), Value::String(value));
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        // A rate limit says when to come back, in the header clients look at too.
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| self.extra.get("retryAfter").and_then(Value::as_str))
            .flatten()
            .and_then(|secs| axum::http::HeaderValue::from_str(secs).ok());
        let mut response = (status, axum::Json(self.into_body())).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs);
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON request body: exactly one JSON value (trailing data is `INVALID_JSON`); an
/// empty body reads as `{}`; every rejection uses the envelope. The content type is
/// checked before routing ([`crate::security`]: a body must be declared JSON, an empty
/// one may declare nothing), so this extractor does not look at it.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e: BytesRejection| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "PAYLOAD_TOO_LARGE",
                            "Request body is too large",
                        )
                    } else {
                        ApiError::bad_request(
                            "INVALID_BODY",
                            format!("Could not read the request body: {e}"),
                        )
                    }
                })?;
        let slice: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let mut de = serde_json::Deserializer::from_slice(slice);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = if inner.is_syntax() || inner.is_eof() {
                format!("Malformed JSON body: {inner}")
            } else if path == "." {
                format!("Invalid request body: {inner}")
            } else {
                format!("Invalid request body at \"{path}\": {inner}")
            };
            ApiError::bad_request("INVALID_JSON", message)
        })?;
        // One JSON value and nothing after it (whitespace aside): `{"a":1} xyz` is not a
        // body, whatever the value before the trailing data says.
        de.end().map_err(|e| {
            ApiError::bad_request("INVALID_JSON", format!("Malformed JSON body: {e}"))
        })?;
        Ok(JsonBody(value))
    }
}

/// Path parameters, rejecting with the envelope.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request("INVALID_PATH", e.body_text()))
    }
}

/// Query parameters, rejecting with the envelope.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request("INVALID_QUERY", e.body_text()))
    }
}

/// Answers unknown routes.
pub async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("NOT_FOUND", format!("No route for {method} {}", uri.path()))
}

/// Answers known routes called with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Turns a handler panic into a 500 envelope (the panic is a bug; it is logged).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(request_id, "handler panicked: {detail}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        format!("Internal error (request {request_id})"),
    )
    .into_response()
}
