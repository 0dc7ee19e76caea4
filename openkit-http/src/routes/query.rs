//! Query-string values shared by the log endpoints.

use openkit_core::logs::{Cursor, parse_since};

use crate::error::{ApiError, ApiResult};

/// Largest `limit` a log query accepts.
pub const MAX_LIMIT: usize = 10_000;

/// Parses `limit` (1..=10000), defaulting to `default`.
pub fn parse_limit(value: Option<&str>, default: usize) -> ApiResult<usize> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n as usize <= MAX_LIMIT => Ok(n as usize),
        _ => Err(ApiError::bad_request(
            "INVALID_LIMIT",
            format!("Invalid limit \"{value}\": use a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}

/// Parses `since` (`<iso>` or `<iso>:<id>`).
pub fn parse_since_param(value: Option<&str>) -> ApiResult<Option<Cursor>> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| parse_since(v).map_err(|e| ApiError::bad_request("INVALID_SINCE", e)))
        .transpose()
}
