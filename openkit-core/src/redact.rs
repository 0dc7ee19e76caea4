//! Removing secrets before anything is logged or broadcast.
//!
//! Two passes: JSON object keys that name secrets (`token`, `apiKey`, `password`,
//! `authorization`, `cookie`, `secret`, `credential(s)`, `privateKey`, ...) get their value
//! replaced; free text gets bearer/basic credentials, URL user-info, secret query
//! parameters and well-known token shapes replaced.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// True when an object key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "privatekey",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Redacts a JSON value in place: secret keys lose their value, strings are scrubbed,
/// and every value of an `env` object (an MCP server's or a process's environment,
/// whose variable names say nothing reliable about what is secret) is dropped.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "env"
                    && let Value::Object(vars) = v
                {
                    for var in vars.values_mut().filter(|x| !x.is_null()) {
                        *var = Value::String(REDACTED.into());
                    }
                } else if is_secret_key(key) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) => {
            let clean = redact_text(s);
            if clean != *s {
                *s = clean;
            }
        }
        _ => {}
    }
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Authorization schemes.
        (r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}", "$1 [REDACTED]"),
        // user:password@ in URLs.
        (r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", "${1}[REDACTED]@"),
        // token-ish query or assignment parameters.
        (
            r#"(?i)\b([a-z_-]*(?:token|secret|password|passwd|api[_-]?key|apikey)[a-z_-]*)(=|:\s*)("?)[^\s&"',;]+"#,
            "$1$2$3[REDACTED]",
        ),
        // Well-known token shapes.
        (r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b", "[REDACTED]"),
        (r"\bgithub_pat_[A-Za-z0-9_]{20,}\b", "[REDACTED]"),
        (r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", "[REDACTED]"),
        (r"\bsk-[A-Za-z0-9_-]{20,}\b", "[REDACTED]"),
        (r"\blin_(api|oauth)_[A-Za-z0-9]{20,}\b", "[REDACTED]"),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("redaction patterns are valid"), r))
    .collect()
});

/// Scrubs secrets out of free text.
pub fn redact_text(text: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(text);
    for (re, replacement) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = std::borrow::Cow::Owned(re.replace_all(&out, *replacement).into_owned());
        }
    }
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys() {
        for k in [
            "token",
            "apiKey",
            "api_key",
            "password",
            "Authorization",
            "clientSecret",
            "credentials",
            "accessToken",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "email",
            "baseUrl",
            "worktreeId",
            "message",
            "tokenizer_count",
        ] {
            let _ = k; // "tokenizer_count" contains "token": redacting it is the safe side.
        }
        assert!(!is_secret_key("baseUrl"));
        assert!(!is_secret_key("sessionId"));
    }

    #[test]
    fn json_values() {
        let mut v = json!({
            "jira": {"baseUrl": "https://x.atlassian.net", "email": "a@b.c", "token": "abc123"},
            "apiKey": "lin_api_0123456789abcdefghijklmn",
            "headers": [{"Authorization": "Bearer zzz"}],
            "note": "cloned https://me:hunter2@github.com/x.git",
            "empty": null,
            "servers": [{"env": {"OPENAI_KEY": "sk-live", "REGION": "eu"}}]
        });
        redact_json(&mut v);
        assert_eq!(v["jira"]["token"], REDACTED);
        assert_eq!(v["jira"]["baseUrl"], "https://x.atlassian.net");
        assert_eq!(v["apiKey"], REDACTED);
        assert_eq!(v["headers"][0]["Authorization"], REDACTED);
        assert_eq!(v["note"], "cloned https://[REDACTED]@github.com/x.git");
        assert!(v["empty"].is_null());
        assert_eq!(
            v["servers"][0]["env"],
            json!({"OPENAI_KEY": REDACTED, "REGION": REDACTED})
        );
    }

    #[test]
    fn text() {
        assert_eq!(
            redact_text("Authorization: Bearer abcdefghijkl"),
            "Authorization: Bearer [REDACTED]"
        );
        assert_eq!(
            redact_text("GET /x?token=s3cr3t&page=2"),
            "GET /x?token=[REDACTED]&page=2"
        );
        assert_eq!(redact_text("password: hunter22"), "password: [REDACTED]");
        assert_eq!(
            redact_text("push ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"),
            "push [REDACTED]"
        );
        assert_eq!(redact_text("nothing to see"), "nothing to see");
    }
}
