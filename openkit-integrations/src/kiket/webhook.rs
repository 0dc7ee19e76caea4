//! Kiket's webhooks: the HMAC-SHA256 signature check and what each event becomes in the
//! activity feed.
//!
//! Kiket signs the raw body with the installation's webhook secret and sends the hex
//! digest in `X-Kiket-Signature` (optionally `sha256=`-prefixed); the official SDKs also
//! send `X-Kiket-Timestamp` (Unix seconds, milliseconds or RFC 3339), and some sign
//! `<timestamp>.<body>` instead of the body. Both digests are accepted (each needs the
//! secret); a timestamp, when present, must be within [`MAX_SKEW`] of now.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use openkit_core::events::{ActivityCategory, Severity};
use serde_json::Value;

/// How far a webhook's timestamp may be from now.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Why a webhook was not accepted as Kiket's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No webhook secret is configured, so nothing can be verified.
    #[error("no webhook secret is configured for Kiket")]
    NoSecret,
    /// The header is missing.
    #[error("missing X-Kiket-Signature header")]
    Missing,
    /// The signature does not match the body.
    #[error("the X-Kiket-Signature does not match the body")]
    Mismatch,
    /// The timestamp does not parse.
    #[error("X-Kiket-Timestamp is not a Unix time or an RFC 3339 date")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error("X-Kiket-Timestamp is more than 300 s away from now")]
    Expired,
}

/// The hex HMAC-SHA256 of `body` under `secret` (what Kiket sends).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verify_digest(secret: &[u8], message: &[&[u8]], expected: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in message {
        mac.update(part);
    }
    // Constant-time comparison.
    mac.verify_slice(expected).is_ok()
}

/// Parses `X-Kiket-Timestamp`: Unix seconds, Unix milliseconds or RFC 3339; seconds.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(n) = value.parse::<i64>() {
        return Some(if n > 100_000_000_000 { n / 1000 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|d| d.timestamp())
}

/// Checks a webhook: `signature` must be the HMAC of the body (or of
/// `<timestamp>.<body>`), and `timestamp`, when given, within [`MAX_SKEW`] of `now`
/// (Unix seconds).
pub fn verify(
    secret: Option<&str>,
    body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    now: i64,
) -> Result<(), SignatureError> {
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::NoSecret)?;
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::Missing)?;
    let hex_digest = signature.strip_prefix("sha256=").unwrap_or(signature);
    let digest = hex::decode(hex_digest).map_err(|_| SignatureError::Mismatch)?;
    let key = secret.as_bytes();
    let timestamp = timestamp.map(str::trim).filter(|t| !t.is_empty());
    let signed = verify_digest(key, &[body], &digest)
        || timestamp.is_some_and(|t| verify_digest(key, &[t.as_bytes(), b".", body], &digest));
    if !signed {
        return Err(SignatureError::Mismatch);
    }
    if let Some(t) = timestamp {
        let at = parse_timestamp(t).ok_or(SignatureError::BadTimestamp)?;
        if now.abs_diff(at) > MAX_SKEW.as_secs() {
            return Err(SignatureError::Expired);
        }
    }
    Ok(())
}

/// What a webhook becomes in the activity feed.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookActivity {
    /// Kiket's event name (`issue.transitioned`).
    pub event: String,
    /// Category.
    pub category: ActivityCategory,
    /// Activity type (`kiket_issue_transitioned`, `kiket_sla_breached`, ...).
    pub event_type: String,
    /// Severity: a transition is info; SLA imminent a warning, breached an error,
    /// recovered a success.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// More.
    pub detail: Option<String>,
    /// The issue key, when the event names one.
    pub issue_key: Option<String>,
    /// The issue's new state, for transitions.
    pub new_state: Option<String>,
    /// Details kept as metadata.
    pub metadata: Value,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maps a webhook body to its activity; `None` when the body has no `event`.
pub fn activity_for(payload: &Value) -> Option<WebhookActivity> {
    let event = payload["event"].as_str()?.to_string();
    let issue = &payload["issue"];
    let key = text(&issue["key"]);
    let name = key
        .clone()
        .or_else(|| text(&issue["id"]).map(|id| format!("#{id}")));
    let title_of = text(&issue["title"]);
    let label = match (&name, &title_of) {
        (Some(n), Some(t)) => format!("{n} \"{t}\""),
        (Some(n), None) => n.clone(),
        (None, Some(t)) => format!("\"{t}\""),
        (None, None) => "an issue".into(),
    };
    let mut metadata = serde_json::json!({ "event": event });
    if let Some(k) = &key {
        metadata["issueKey"] = Value::String(k.clone());
    }
    if let Some(id) = text(&issue["id"]) {
        metadata["issueId"] = Value::String(id);
    }
    if let Some(url) = text(&issue["url"]) {
        metadata["url"] = Value::String(url);
    }
    let activity = match event.as_str() {
        "issue.transitioned" => {
            let transition = &payload["transition"];
            let from = text(&transition["from"]);
            let to = text(&transition["to"]).or_else(|| text(&issue["state"]));
            let by = text(&transition["performed_by"]);
            metadata["from"] = from.clone().map(Value::String).unwrap_or(Value::Null);
            metadata["to"] = to.clone().map(Value::String).unwrap_or(Value::Null);
            WebhookActivity {
                category: ActivityCategory::System,
                event_type: "kiket_issue_transitioned".into(),
                severity: Severity::Info,
                title: format!(
                    "Kiket {label} moved {} → {}",
                    from.as_deref().unwrap_or("?"),
                    to.as_deref().unwrap_or("?")
                ),
                detail: by.map(|b| format!("by {b}")),
                issue_key: key,
                new_state: to,
                metadata,
                event,
            }
        }
        "workflow.sla_status" => {
            let state = payload["state"].as_str().unwrap_or("unknown").to_string();
            let severity = match state.as_str() {
                "imminent" => Severity::Warning,
                "breached" => Severity::Error,
                "recovered" => Severity::Success,
                _ => Severity::Info,
            };
            let metrics = &payload["metrics"];
            let sla = &payload["sla"];
            let detail = match (
                metrics["duration_minutes"].as_i64(),
                sla["max_duration_minutes"].as_i64(),
            ) {
                (Some(d), Some(max)) => Some(format!("{d} of {max} minutes")),
                _ => None,
            };
            metadata["state"] = Value::String(state.clone());
            metadata["metrics"] = metrics.clone();
            WebhookActivity {
                category: ActivityCategory::System,
                event_type: format!("kiket_sla_{}", slug(&state)),
                severity,
                title: format!("Kiket SLA {state} on {label}"),
                detail,
                issue_key: key,
                new_state: None,
                metadata,
                event,
            }
        }
        other => WebhookActivity {
            category: ActivityCategory::System,
            event_type: format!("kiket_{}", slug(other)),
            severity: Severity::Info,
            title: format!("Kiket {other} on {label}"),
            detail: None,
            issue_key: key,
            new_state: text(&issue["state"]),
            metadata,
            event,
        },
    };
    Some(activity)
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn signatures_of_the_body_verify() {
        let body = br#"{"event":"issue.transitioned"}"#;
        let sig = sign(b"sh_123", body);
        assert_eq!(verify(Some("sh_123"), body, Some(&sig), None, NOW), Ok(()));
        let prefixed = format!("sha256={sig}");
        assert_eq!(
            verify(Some("sh_123"), body, Some(&prefixed), None, NOW),
            Ok(())
        );
        assert_eq!(
            verify(Some("other"), body, Some(&sig), None, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some("sh_123"), b"{}", Some(&sig), None, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some("sh_123"), body, None, None, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(None, body, Some(&sig), None, NOW),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify(Some("sh_123"), body, Some("zz"), None, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn timestamps_must_be_recent() {
        let body = b"{}";
        let sig = sign(b"k", body);
        let at = |t: &str| verify(Some("k"), body, Some(&sig), Some(t), NOW);
        assert_eq!(at(&NOW.to_string()), Ok(()));
        assert_eq!(at(&(NOW - 299).to_string()), Ok(()));
        assert_eq!(at(&(NOW * 1000).to_string()), Ok(()));
        assert_eq!(at(&(NOW - 301).to_string()), Err(SignatureError::Expired));
        assert_eq!(at(&(NOW + 400).to_string()), Err(SignatureError::Expired));
        assert_eq!(at("yesterday"), Err(SignatureError::BadTimestamp));
        let iso = chrono::DateTime::from_timestamp(NOW, 0)
            .unwrap()
            .to_rfc3339();
        assert_eq!(at(&iso), Ok(()));
        // The SDK variant signing `<timestamp>.<body>`.
        let t = NOW.to_string();
        let sig_ts = sign(b"k", format!("{t}.{{}}").as_bytes());
        assert_eq!(
            verify(Some("k"), body, Some(&sig_ts), Some(&t), NOW),
            Ok(())
        );
        assert_eq!(
            verify(Some("k"), body, Some(&sig_ts), None, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn events_map_to_severities() {
        let transition = serde_json::json!({
            "event": "issue.transitioned",
            "issue": {"key": "CORE-42", "title": "Deploy", "state": "in_progress"},
            "transition": {"from": "review", "to": "in_progress", "performed_by": "sasha@example.com"}
        });
        let a = activity_for(&transition).unwrap();
        assert_eq!(a.severity, Severity::Info);
        assert_eq!(a.event_type, "kiket_issue_transitioned");
        assert_eq!(a.issue_key.as_deref(), Some("CORE-42"));
        assert_eq!(a.new_state.as_deref(), Some("in_progress"));
        for (state, severity) in [
            ("imminent", Severity::Warning),
            ("breached", Severity::Error),
            ("recovered", Severity::Success),
        ] {
            let sla = serde_json::json!({
                "event": "workflow.sla_status", "state": state,
                "issue": {"id": 42, "title": "Onboarding"},
                "sla": {"max_duration_minutes": 120}, "metrics": {"duration_minutes": 105}
            });
            let a = activity_for(&sla).unwrap();
            assert_eq!(a.severity, severity, "{state}");
            assert_eq!(a.event_type, format!("kiket_sla_{state}"));
            assert_eq!(a.detail.as_deref(), Some("105 of 120 minutes"));
        }
        assert!(activity_for(&serde_json::json!({"no": "event"})).is_none());
    }

    proptest::proptest! {
        /// Whatever the body and secret, Kiket's signature verifies, and a signature of
        /// any other body or under any other secret does not.
        #[test]
        fn only_the_exact_body_and_secret_verify(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            secret in "[ -~]{1,40}",
            other in "[ -~]{1,40}",
            flip in proptest::num::usize::ANY,
        ) {
            let sig = sign(secret.as_bytes(), &body);
            proptest::prop_assert_eq!(verify(Some(&secret), &body, Some(&sig), None, NOW), Ok(()));
            if other != secret {
                proptest::prop_assert_eq!(
                    verify(Some(&other), &body, Some(&sig), None, NOW),
                    Err(SignatureError::Mismatch)
                );
            }
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip % changed.len();
                changed[i] ^= 0x01;
                proptest::prop_assert_eq!(
                    verify(Some(&secret), &changed, Some(&sig), None, NOW),
                    Err(SignatureError::Mismatch)
                );
            }
        }
    }
}
