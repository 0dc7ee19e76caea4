//! The pull request of every branch, from one paged listing per refresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{CodeHost, CodeHostError, ListPulls, PullRequest, PullRequestList, RepoSlug};

/// What one refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The host said nothing changed (a `304`, free against the rate limit).
    NotModified,
    /// New data was read; `changed` says whether any branch's pull request differs.
    Fresh {
        /// Some branch's pull request (or its state) differs from before.
        changed: bool,
    },
    /// Nothing was sent: a rate limit or an earlier failure's back-off is in force.
    Waiting,
}

/// Pull requests by head branch for one repository, kept by [`PrStates::refresh`]; the
/// worktree list reads [`PrStates::by_branch`] (an `Arc` clone).
#[derive(Debug, Default)]
pub struct PrStates {
    inner: Mutex<Inner>,
    /// Serialises refreshes (background and on-demand), so two never race on the
    /// validator.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Inner {
    repo: Option<RepoSlug>,
    validator: Option<String>,
    /// Every pull request read, by number.
    pulls: HashMap<u64, PullRequest>,
    /// The newest `updated_at` read: later listings stop once they reach it.
    known_until: Option<String>,
    by_branch: Arc<HashMap<String, PullRequest>>,
    /// No request before this instant (a rate limit, or back-off after a failure).
    not_before: Option<Instant>,
    /// Consecutive failures, for the back-off.
    failures: u32,
    last_error: Option<CodeHostError>,
}

/// The longest back-off after repeated failures (not rate limits, which say how long).
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

impl PrStates {
    /// No pull requests known.
    pub fn new() -> Self {
        PrStates::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pull request of each head branch: an open one (or draft) when there is one,
    /// else the most recently updated.
    pub fn by_branch(&self) -> Arc<HashMap<String, PullRequest>> {
        Arc::clone(&self.lock().by_branch)
    }

    /// The repository the states are of.
    pub fn repo(&self) -> Option<RepoSlug> {
        self.lock().repo.clone()
    }

    /// The failure of the last refresh, if it failed.
    pub fn last_error(&self) -> Option<CodeHostError> {
        self.lock().last_error.clone()
    }

    /// Forgets everything (the project has no GitHub remote any more). True when
    /// something was known.
    pub fn clear(&self) -> bool {
        let mut inner = self.lock();
        let had = !inner.by_branch.is_empty();
        *inner = Inner::default();
        had
    }

    /// Records a pull request just created (so the list shows it before the next
    /// listing); before any listing it makes `repo` the states' repository. True when the
    /// branch's entry changed.
    pub fn insert(&self, repo: &RepoSlug, pr: PullRequest) -> bool {
        let mut inner = self.lock();
        match &inner.repo {
            // Nothing listed yet: the states are now of this repository.
            None => inner.repo = Some(repo.clone()),
            Some(current) if current != repo => return false,
            Some(_) => {}
        }
        inner.pulls.insert(pr.number, pr);
        inner.rebuild(repo)
    }

    /// Reads `repo`'s pull requests from `host` with one paged listing (conditional on
    /// the last validator, and only as far back as needed). While a rate limit or a
    /// back-off is in force nothing is sent ([`RefreshOutcome::Waiting`]).
    pub async fn refresh(
        &self,
        host: &dyn CodeHost,
        repo: &RepoSlug,
    ) -> Result<RefreshOutcome, CodeHostError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let (validator, known_until) = {
            let mut inner = self.lock();
            if inner.repo.as_ref() != Some(repo) {
                *inner = Inner {
                    repo: Some(repo.clone()),
                    ..Inner::default()
                };
            }
            if inner.not_before.is_some_and(|t| Instant::now() < t) {
                return Ok(RefreshOutcome::Waiting);
            }
            (inner.validator.clone(), inner.known_until.clone())
        };
        let result = host
            .list_pull_requests(
                repo,
                ListPulls {
                    validator: validator.as_deref(),
                    known_until: known_until.as_deref(),
                },
            )
            .await;
        let mut inner = self.lock();
        if inner.repo.as_ref() != Some(repo) {
            // Cleared or switched meanwhile: this listing is of no use.
            return Ok(RefreshOutcome::Waiting);
        }
        match result {
            Ok(PullRequestList::NotModified) => {
                inner.succeeded();
                Ok(RefreshOutcome::NotModified)
            }
            Ok(PullRequestList::Fresh { pulls, validator }) => {
                inner.succeeded();
                inner.validator = validator;
                for pr in pulls {
                    if let Some(at) = &pr.updated_at
                        && inner.known_until.as_ref().is_none_or(|k| at > k)
                    {
                        inner.known_until = Some(at.clone());
                    }
                    inner.pulls.insert(pr.number, pr);
                }
                let changed = inner.rebuild(repo);
                Ok(RefreshOutcome::Fresh { changed })
            }
            Err(err) => {
                inner.failures = inner.failures.saturating_add(1);
                let wait = match err.retry_after() {
                    Some(retry_after) => retry_after,
                    // 30 s, 60 s, 120 s, ... up to 15 min.
                    None => (Duration::from_secs(15) * 2u32.saturating_pow(inner.failures.min(6)))
                        .min(MAX_BACKOFF),
                };
                inner.not_before = Some(Instant::now() + wait);
                inner.last_error = Some(err.clone());
                Err(err)
            }
        }
    }
}

impl Inner {
    fn succeeded(&mut self) {
        self.failures = 0;
        self.not_before = None;
        self.last_error = None;
    }

    /// Recomputes the branch map from `pulls`; true when it changed.
    fn rebuild(&mut self, repo: &RepoSlug) -> bool {
        let full = repo.full_name();
        let mut by_branch: HashMap<String, PullRequest> = HashMap::new();
        for pr in self.pulls.values() {
            // A fork's branch of the same name is not ours.
            if !pr
                .head_repo
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(&full))
            {
                continue;
            }
            match by_branch.get(&pr.head_branch) {
                Some(current) if !preferred(pr, current) => {}
                _ => {
                    by_branch.insert(pr.head_branch.clone(), pr.clone());
                }
            }
        }
        if *self.by_branch == by_branch {
            return false;
        }
        self.by_branch = Arc::new(by_branch);
        true
    }
}

/// True when `a` should stand for its branch rather than `b`: an open one over a closed
/// one, then the most recently updated, then the newest.
fn preferred(a: &PullRequest, b: &PullRequest) -> bool {
    (a.state.is_open(), &a.updated_at, a.number) > (b.state.is_open(), &b.updated_at, b.number)
}

#[cfg(test)]
mod tests {
    use super::super::PrState;
    use super::*;

    fn pr(number: u64, branch: &str, state: PrState, updated: &str) -> PullRequest {
        PullRequest {
            number,
            url: format!("https://github.com/acme/w/pull/{number}"),
            state,
            head_branch: branch.into(),
            head_repo: Some("acme/w".into()),
            updated_at: Some(updated.into()),
        }
    }

    #[test]
    fn an_open_pull_request_stands_for_its_branch() {
        let repo = RepoSlug {
            host: "github.com".into(),
            owner: "acme".into(),
            name: "w".into(),
        };
        let mut inner = Inner {
            repo: Some(repo.clone()),
            ..Inner::default()
        };
        for p in [
            pr(1, "a", PrState::Closed, "2024-01-03T00:00:00Z"),
            pr(2, "a", PrState::Open, "2024-01-01T00:00:00Z"),
            pr(3, "b", PrState::Closed, "2024-01-01T00:00:00Z"),
            pr(4, "b", PrState::Merged, "2024-01-02T00:00:00Z"),
            PullRequest {
                head_repo: Some("fork/w".into()),
                ..pr(5, "c", PrState::Open, "2024-01-05T00:00:00Z")
            },
            PullRequest {
                head_repo: None,
                ..pr(6, "d", PrState::Open, "2024-01-05T00:00:00Z")
            },
        ] {
            inner.pulls.insert(p.number, p);
        }
        assert!(inner.rebuild(&repo));
        assert_eq!(inner.by_branch["a"].number, 2);
        assert_eq!(inner.by_branch["b"].number, 4);
        assert!(!inner.by_branch.contains_key("c"), "a fork's branch");
        assert!(
            !inner.by_branch.contains_key("d"),
            "a deleted fork's branch"
        );
        assert!(!inner.rebuild(&repo), "nothing changed");
    }
}
