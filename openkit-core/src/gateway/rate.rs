//! Rate limits for pairing attempts: a fixed window per client address and one for
//! everyone together, so neither one address nor many can guess at tokens quickly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Attempts allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address.
    pub per_client: u32,
    /// For all clients together.
    pub global: u32,
    /// The window both counts are kept over.
    pub window: Duration,
}

impl Default for RateLimits {
    /// 10 attempts per address and 30 in all per minute.
    fn default() -> Self {
        RateLimits {
            per_client: 10,
            global: 30,
            window: Duration::from_secs(60),
        }
    }
}

/// The answer to one attempt, with what a client is told about its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the attempt may go ahead.
    pub allowed: bool,
    /// The limit that applies to this client (the stricter of the two).
    pub limit: u32,
    /// Attempts left in the current window.
    pub remaining: u32,
    /// Until the window that decides resets (whole seconds, at least 1).
    pub reset_after_secs: u64,
}

/// The most client windows kept; older ones are dropped first when it is reached.
const MAX_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: DateTime<Utc>,
    count: u32,
}

impl Window {
    fn current(&mut self, now: DateTime<Utc>, window: Duration) {
        if now
            .signed_duration_since(self.start)
            .to_std()
            .unwrap_or_default()
            >= window
            || now < self.start
        {
            *self = Window {
                start: now,
                count: 0,
            };
        }
    }

    fn reset_after(&self, now: DateTime<Utc>, window: Duration) -> u64 {
        let elapsed = now
            .signed_duration_since(self.start)
            .to_std()
            .unwrap_or_default();
        let left = window.saturating_sub(elapsed);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }
}

/// Counts attempts per client address and globally.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    state: Mutex<(Window, HashMap<String, Window>)>,
}

impl RateLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            limits,
            state: Mutex::new((
                Window {
                    start: DateTime::<Utc>::MIN_UTC,
                    count: 0,
                },
                HashMap::new(),
            )),
        }
    }

    /// Counts one attempt by `client` at `now` and says whether it may go ahead. A refused
    /// attempt is not counted against the global window, so one noisy address cannot
    /// lock everyone out for longer than its own window.
    pub fn attempt(&self, client: &str, now: DateTime<Utc>) -> RateDecision {
        let window = self.limits.window;
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (global, clients) = &mut *guard;
        global.current(now, window);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(client) {
            clients.retain(|_, w| {
                now.signed_duration_since(w.start)
                    .to_std()
                    .unwrap_or_default()
                    < window
            });
            if clients.len() >= MAX_CLIENTS
                && let Some(oldest) = clients
                    .iter()
                    .min_by_key(|(_, w)| w.start)
                    .map(|(k, _)| k.clone())
            {
                clients.remove(&oldest);
            }
        }
        let own = clients.entry(client.to_string()).or_insert(Window {
            start: now,
            count: 0,
        });
        own.current(now, window);
        let client_left = self.limits.per_client.saturating_sub(own.count);
        let global_left = self.limits.global.saturating_sub(global.count);
        let allowed = client_left > 0 && global_left > 0;
        if allowed {
            own.count += 1;
            global.count += 1;
        }
        // Report the window that decides: the one with fewer attempts left.
        let (limit, left, deciding) = if global_left < client_left {
            (self.limits.global, global_left, *global)
        } else {
            (self.limits.per_client, client_left, *own)
        };
        RateDecision {
            allowed,
            limit,
            remaining: if allowed { left - 1 } else { 0 },
            reset_after_secs: deciding.reset_after(now, window).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_client_is_limited_within_its_window_and_free_after_it() {
        let limiter = RateLimiter::new(RateLimits {
            per_client: 3,
            global: 100,
            window: Duration::from_secs(60),
        });
        for n in 0..3 {
            let d = limiter.attempt("1.2.3.4", at(n));
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining), (3, 2 - n as u32));
        }
        let refused = limiter.attempt("1.2.3.4", at(10));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_after_secs, 50);
        // Another address is not affected.
        assert!(limiter.attempt("5.6.7.8", at(10)).allowed);
        // The window passes.
        assert!(limiter.attempt("1.2.3.4", at(60)).allowed);
    }

    #[test]
    fn the_global_limit_holds_across_addresses() {
        let limiter = RateLimiter::new(RateLimits {
            per_client: 10,
            global: 4,
            window: Duration::from_secs(60),
        });
        for n in 0..4 {
            assert!(limiter.attempt(&format!("10.0.0.{n}"), at(0)).allowed);
        }
        let d = limiter.attempt("10.0.0.99", at(1));
        assert!(!d.allowed);
        assert_eq!((d.limit, d.reset_after_secs), (4, 59));
        assert!(limiter.attempt("10.0.0.99", at(61)).allowed);
    }

    #[test]
    fn many_addresses_do_not_grow_memory_without_bound() {
        let limiter = RateLimiter::new(RateLimits {
            per_client: 1,
            global: u32::MAX,
            window: Duration::from_secs(60),
        });
        for n in 0..(MAX_CLIENTS + 50) {
            limiter.attempt(&n.to_string(), at(0));
        }
        assert!(limiter.state.lock().unwrap().1.len() <= MAX_CLIENTS);
    }
}
