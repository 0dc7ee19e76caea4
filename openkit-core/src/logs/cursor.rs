//! Parsing `since` cursors and timestamps.

use chrono::{DateTime, SecondsFormat, Utc};

use super::jsonl::Cursor;

/// The current time as the logs write it: ISO-8601 UTC with milliseconds.
pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds since the epoch of an ISO-8601 timestamp.
pub fn parse_ts(value: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Parses a `since` cursor: `<iso>` or `<iso>:<id>` (the id of the last event the client
/// has, so events sharing its timestamp are not lost).
pub fn parse_since(value: &str) -> Result<Cursor, String> {
    if let Some(ts_ms) = parse_ts(value) {
        return Ok(Cursor::After { ts_ms });
    }
    // The timestamp itself contains colons: split at each colon after the seconds and
    // take the first split whose left part is a timestamp.
    for (i, _) in value.match_indices(':').skip(2) {
        let (ts, id) = (&value[..i], &value[i + 1..]);
        if let Some(ts_ms) = parse_ts(ts)
            && !id.is_empty()
        {
            return Ok(Cursor::AfterId {
                ts_ms,
                id: id.to_string(),
            });
        }
    }
    Err(format!(
        "Invalid since \"{value}\": expected an ISO-8601 timestamp, optionally followed by \":<event id>\""
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        assert_eq!(
            parse_since("2026-01-02T03:04:05.678Z").unwrap(),
            Cursor::After {
                ts_ms: 1_767_323_045_678
            }
        );
        assert_eq!(
            parse_since("2026-01-02T03:04:05.678Z:abc-1").unwrap(),
            Cursor::AfterId {
                ts_ms: 1_767_323_045_678,
                id: "abc-1".into()
            }
        );
        assert_eq!(
            parse_since("2026-01-02T03:04:05+01:00:x:y").unwrap(),
            Cursor::AfterId {
                ts_ms: 1_767_319_445_000,
                id: "x:y".into()
            }
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-02T03:04:05Z:",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
