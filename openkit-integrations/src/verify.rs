//! `GET /api/integrations/verify`: every integration's connection checked in parallel,
//! each bounded in time.
//!
//! A check is a future answering `None` (not configured) or a [`Check`]. The hub lists one
//! per service ([`crate::Integrations::verify_all`]): a tracker service's
//! `verify() -> Option<Result<(), UpstreamError>>` plugs in with [`upstream`], one line.
//! [`run`] awaits them all together; one that has not answered within the timeout
//! ([`VERIFY_TIMEOUT`]) is `{ok: false, error: "timed out"}`, so the whole answer never
//! takes longer than that, whatever a service does. Checks can also be registered at
//! runtime ([`Verifiers::register`]: services outside the hub, and tests' fakes); a
//! registered check replaces the hub's one of the same name.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openkit_core::DomainError;

use crate::api::UpstreamError;

/// How long `verify` waits for any one service.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(8);

/// One integration's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The connection works.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// The stable code of the failure, when there is one.
    pub code: Option<String>,
}

impl Check {
    /// A working connection.
    pub fn ok() -> Self {
        Check {
            ok: true,
            error: None,
            code: None,
        }
    }

    /// A failed one.
    pub fn failed(error: impl Into<String>, code: Option<&str>) -> Self {
        Check {
            ok: false,
            error: Some(error.into()),
            code: code.map(str::to_string),
        }
    }

    /// A service that did not answer in time.
    pub fn timed_out() -> Self {
        Check::failed("timed out", Some("VERIFY_TIMED_OUT"))
    }
}

impl From<Result<(), UpstreamError>> for Check {
    fn from(result: Result<(), UpstreamError>) -> Self {
        match result {
            Ok(()) => Check::ok(),
            Err(e) => Check::failed(e.to_string(), Some(e.code())),
        }
    }
}

/// A check in flight: `None` when its integration is not configured.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Option<Check>> + Send + 'a>>;

/// A tracker service's `verify()` as a check.
pub fn upstream<'a>(
    verify: impl Future<Output = Option<Result<(), UpstreamError>>> + Send + 'a,
) -> CheckFuture<'a> {
    Box::pin(async move { verify.await.map(Check::from) })
}

/// Every integration's check, by name (`None`: not configured).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport(BTreeMap<String, Option<Check>>);

impl VerifyReport {
    /// The check of `name`; `None` when it is not configured or was not checked.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.0.get(name).and_then(Option::as_ref)
    }

    /// Every name checked, with its result.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&Check>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_ref()))
    }
}

/// Runs `checks` concurrently, each bounded by `timeout`. A later check of a name
/// replaces an earlier one (the earlier one is not run).
pub async fn run(checks: Vec<(String, CheckFuture<'_>)>, timeout: Duration) -> VerifyReport {
    let mut unique: BTreeMap<String, CheckFuture<'_>> = BTreeMap::new();
    for (name, check) in checks {
        unique.insert(name, check);
    }
    let bounded = unique.into_iter().map(|(name, check)| async move {
        let result = match tokio::time::timeout(timeout, check).await {
            Ok(result) => result,
            Err(_) => Some(Check::timed_out()),
        };
        (name, result)
    });
    VerifyReport(
        futures_util::future::join_all(bounded)
            .await
            .into_iter()
            .collect(),
    )
}

/// A check registered at runtime: called afresh for every verification.
pub type Verifier = Arc<dyn Fn() -> CheckFuture<'static> + Send + Sync>;

/// Checks registered at runtime, and the time limit of a verification.
pub struct Verifiers {
    registered: Mutex<Vec<(String, Verifier)>>,
    timeout: Mutex<Duration>,
}

impl std::fmt::Debug for Verifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifiers")
            .field("registered", &self.names())
            .field("timeout", &self.timeout())
            .finish()
    }
}

impl Default for Verifiers {
    fn default() -> Self {
        Verifiers {
            registered: Mutex::new(Vec::new()),
            timeout: Mutex::new(VERIFY_TIMEOUT),
        }
    }
}

impl Verifiers {
    /// Registers `check` under `name`, replacing an earlier one of that name.
    pub fn register(&self, name: &str, check: Verifier) {
        let mut registered = self.registered.lock().unwrap_or_else(|e| e.into_inner());
        registered.retain(|(n, _)| n != name);
        registered.push((name.to_string(), check));
    }

    /// The registered names.
    pub fn names(&self) -> Vec<String> {
        self.registered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A fresh run of every registered check.
    pub fn checks(&self) -> Vec<(String, CheckFuture<'static>)> {
        self.registered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, check)| (name.clone(), check()))
            .collect()
    }

    /// How long a verification waits for any one service.
    pub fn timeout(&self) -> Duration {
        *self.timeout.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets that limit.
    pub fn set_timeout(&self, timeout: Duration) {
        *self.timeout.lock().unwrap_or_else(|e| e.into_inner()) = timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, check: CheckFuture<'static>) -> (String, CheckFuture<'static>) {
        (name.to_string(), check)
    }

    #[tokio::test]
    async fn checks_run_in_parallel_and_a_hung_one_times_out() {
        let started = std::time::Instant::now();
        let report = run(
            vec![
                named("ok", Box::pin(async { Some(Check::ok()) })),
                named(
                    "failing",
                    upstream(async {
                        Some(Err(UpstreamError::Unauthorized {
                            service: "Jira",
                            message: None,
                        }))
                    }),
                ),
                named(
                    "slow",
                    Box::pin(async {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        Some(Check::ok())
                    }),
                ),
                named(
                    "slower",
                    Box::pin(async {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        Some(Check::ok())
                    }),
                ),
                named("hanging", Box::pin(std::future::pending())),
                named("unconfigured", Box::pin(async { None })),
            ],
            Duration::from_millis(400),
        )
        .await;
        let elapsed = started.elapsed();
        // Bounded by the timeout, and the two slow checks overlapped.
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(report.get("ok"), Some(&Check::ok()));
        let failing = report.get("failing").unwrap();
        assert!(!failing.ok);
        assert_eq!(failing.code.as_deref(), Some("UPSTREAM_UNAUTHORIZED"));
        assert_eq!(
            failing.error.as_deref(),
            Some("Jira rejected the credentials")
        );
        assert_eq!(report.get("slow"), Some(&Check::ok()));
        assert_eq!(report.get("hanging"), Some(&Check::timed_out()));
        assert_eq!(
            report.get("hanging").unwrap().error.as_deref(),
            Some("timed out")
        );
        assert_eq!(report.get("unconfigured"), None);
        assert_eq!(report.iter().count(), 6);
    }

    #[tokio::test]
    async fn a_registered_check_replaces_one_of_the_same_name() {
        let verifiers = Verifiers::default();
        assert_eq!(verifiers.timeout(), VERIFY_TIMEOUT);
        verifiers.register("jira", Arc::new(|| Box::pin(async { Some(Check::ok()) })));
        verifiers.register(
            "jira",
            Arc::new(|| Box::pin(async { Some(Check::failed("down", None)) })),
        );
        assert_eq!(verifiers.names(), vec!["jira"]);
        let mut checks = vec![named("jira", Box::pin(async { Some(Check::ok()) }))];
        checks.extend(verifiers.checks());
        let report = run(checks, Duration::from_secs(1)).await;
        assert_eq!(report.get("jira"), Some(&Check::failed("down", None)));
    }
}
