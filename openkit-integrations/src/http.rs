//! HTTP concerns every adapter shares: rate-limit and `Retry-After` headers, the
//! rate-limit gate that keeps an adapter from sending while a limit is in force, and
//! `Link` paging.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// The longest an adapter waits on a rate limit's word (a bogus reset far in the future
/// must not silence it for a day).
pub const MAX_WAIT: Duration = Duration::from_secs(60 * 60);
/// How long to wait after a rate-limit answer that says nothing about when to retry
/// (GitHub's advice for secondary limits: at least a minute).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// `Retry-After` in seconds (the HTTP-date form is not used by the APIs we talk to).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_WAIT))
}

/// `x-ratelimit-remaining`.
pub fn remaining(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-ratelimit-remaining")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Time until `x-ratelimit-reset` (epoch seconds), at least one second.
pub fn until_reset(headers: &HeaderMap) -> Option<Duration> {
    let reset: u64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)).min(MAX_WAIT))
}

/// The wait a response imposes before the next request: `Retry-After` when present,
/// else the reset time when no request is left; `None` when requests may continue.
pub fn imposed_wait(headers: &HeaderMap) -> Option<Duration> {
    retry_after(headers).or_else(|| {
        (remaining(headers) == Some(0)).then(|| until_reset(headers).unwrap_or(DEFAULT_WAIT))
    })
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// No request before a moment: set from rate-limit answers, checked before each send.
#[derive(Debug, Default)]
pub struct RateGate(Mutex<Option<Instant>>);

impl RateGate {
    /// How long requests must still wait, if at all.
    pub fn closed_for(&self) -> Option<Duration> {
        let until = (*self.0.lock().unwrap_or_else(|e| e.into_inner()))?;
        until.checked_duration_since(Instant::now())
    }

    /// Closes the gate for `wait` (never shortens an existing closure).
    pub fn close_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut gate = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if gate.is_none_or(|current| current < until) {
            *gate = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn link_next() {
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#,
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?page=2")
        );
        let last = headers(&[(
            "link",
            r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=1>; rel="first""#,
        )]);
        assert_eq!(next_link(&last), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn waits_from_headers() {
        assert_eq!(
            imposed_wait(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            imposed_wait(&headers(&[("x-ratelimit-remaining", "12")])),
            None
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let wait = imposed_wait(&headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &(now + 30).to_string()),
        ]))
        .unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28));
        let far = imposed_wait(&headers(&[("retry-after", "999999")])).unwrap();
        assert_eq!(far, MAX_WAIT);
    }

    #[test]
    fn the_gate_never_shortens() {
        let gate = RateGate::default();
        assert_eq!(gate.closed_for(), None);
        gate.close_for(Duration::from_secs(60));
        gate.close_for(Duration::from_secs(1));
        assert!(gate.closed_for().unwrap() > Duration::from_secs(50));
    }
}
