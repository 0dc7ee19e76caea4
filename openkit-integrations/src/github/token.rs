//! Where the GitHub token comes from: `GH_TOKEN`, then `GITHUB_TOKEN` (values the
//! composition root read from the environment), then `gh auth token`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use openkit_core::codehost::gh::GhCli;

pub use crate::secret::Secret;

/// Something that can hand out the token.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The token, if one is available now.
    async fn token(&self) -> Option<Secret>;

    /// The token was rejected or the login changed: forget any cached value.
    fn invalidate(&self) {}
}

/// A fixed token (from `GH_TOKEN` or `GITHUB_TOKEN`).
#[derive(Debug, Clone)]
pub struct StaticToken(Secret);

impl StaticToken {
    /// A source that always gives `token` (an empty value gives nothing).
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(Secret::new(token))
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Option<Secret> {
        (!self.0.expose().is_empty()).then(|| self.0.clone())
    }
}

/// How long "gh has no token" is believed before asking again (the user may log in from
/// a terminal meanwhile).
const MISS_TTL: Duration = Duration::from_secs(30);

/// The token `gh auth token` prints, cached until invalidated.
pub struct GhToken {
    gh: GhCli,
    cwd: PathBuf,
    host: String,
    cache: tokio::sync::Mutex<Option<(Instant, Option<Secret>)>>,
    /// Set by `invalidate` (a sync call), honoured by the next `token`.
    stale: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for GhToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GhToken")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl GhToken {
    /// Asks `gh` (run in `cwd`) for its token for `host` (`github.com`, or a GitHub
    /// Enterprise host).
    pub fn new(gh: GhCli, cwd: impl Into<PathBuf>, host: impl Into<String>) -> Self {
        GhToken {
            gh,
            cwd: cwd.into(),
            host: host.into(),
            cache: tokio::sync::Mutex::new(None),
            stale: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl TokenSource for GhToken {
    async fn token(&self) -> Option<Secret> {
        let mut cache = self.cache.lock().await;
        if self.stale.swap(false, std::sync::atomic::Ordering::AcqRel) {
            *cache = None;
        }
        match cache.as_ref() {
            Some((_, Some(token))) => return Some(token.clone()),
            Some((at, None)) if at.elapsed() < MISS_TTL => return None,
            _ => {}
        }
        let token = self.gh.token(&self.cwd, &self.host).await.map(Secret::new);
        *cache = Some((Instant::now(), token.clone()));
        token
    }

    fn invalidate(&self) {
        self.stale.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// The first source that has a token.
#[derive(Default)]
pub struct TokenChain(Vec<Arc<dyn TokenSource>>);

impl fmt::Debug for TokenChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenChain({} sources)", self.0.len())
    }
}

impl TokenChain {
    /// No sources.
    pub fn new() -> Self {
        TokenChain::default()
    }

    /// Adds a source, asked after those added before.
    pub fn then(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.0.push(source);
        self
    }
}

#[async_trait]
impl TokenSource for TokenChain {
    async fn token(&self) -> Option<Secret> {
        for source in &self.0 {
            if let Some(token) = source.token().await {
                return Some(token);
            }
        }
        None
    }

    fn invalidate(&self) {
        for source in &self.0 {
            source.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_source_with_a_token_wins_and_debug_hides_it() {
        let chain = TokenChain::new()
            .then(Arc::new(StaticToken::new("")))
            .then(Arc::new(StaticToken::new("ghp_second_source_value")))
            .then(Arc::new(StaticToken::new("third")));
        let token = chain.token().await.unwrap();
        assert_eq!(token.expose(), "ghp_second_source_value");
        assert_eq!(format!("{token:?}"), "Secret([REDACTED])");
        assert_eq!(TokenChain::new().token().await, None);
    }
}
