//! The remote gateway's domain: pairing tokens, signed sessions with scopes, the session
//! list, and rate limits for pairing attempts. The HTTP side (the gateway listener, its
//! proxy into the API) lives in `openkit-http`; this module decides who is signed in.
//!
//! - **Pairing**: a one-time token of 24 random bytes (base64url), kept only as its
//!   SHA-256, valid for 90 s and consumed by its first use, right or wrong moment.
//! - **Sessions**: a token `v1.<claims>.<HMAC-SHA256>` ([`token`]) naming a session id,
//!   the project, the user, the [`Scope`] and the expiry (cookie 8 h, bearer 15 min). A
//!   token is valid only while its session is in this project's session list
//!   (`~/.openkit/gateway/sessions-<project id>.json`), so logout and revoke take
//!   effect at once; rotating the signing key empties the list and invalidates every
//!   token.
//! - **Project id**: the first 12 hex digits of SHA-1 of the absolute project directory.
//! - Every new session is an activity (`gateway_login`), so the desktop sees it.

mod clock;
mod next;
mod rate;
mod scope;
pub mod token;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use clock::{Clock, ManualClock, SystemClock};
pub use next::sanitize_next;
pub use rate::{RateDecision, RateLimiter, RateLimits};
pub use scope::Scope;
use token::{Claims, SigningKey};

use crate::error::{DomainError, ErrorKind, IoFailure};
use crate::events::{ActivityCategory, ActivityNotice, EventSink, Severity, WorkbenchEvent};
use crate::paths::Paths;
use crate::persist::{self, PersistError};

/// The project a gateway serves, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    /// First 12 hex digits of SHA-1 of the absolute project directory.
    pub id: String,
    /// The project directory's name.
    pub name: String,
}

impl ProjectRef {
    /// The project at `root`.
    pub fn of(root: &Path) -> Self {
        let absolute = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        ProjectRef {
            id: project_id(&absolute),
            name: root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// The project id of the absolute directory `dir`.
pub fn project_id(dir: &Path) -> String {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(dir.as_os_str().as_encoded_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// How a session is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// The `ok_session` cookie of a browser that opened a pairing link (8 h).
    Cookie,
    /// A bearer token from the exchange (15 min).
    Bearer,
}

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// Session id (random).
    pub id: String,
    /// The paired user's id (one per pairing).
    pub user_id: String,
    /// What the session may do.
    pub scope: Scope,
    /// Cookie or bearer.
    pub kind: SessionKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The client address that paired, as the tunnel reported it.
    pub client: String,
}

/// A pairing just started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// The one-time token (only ever shown here).
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// A session created by redeeming a pairing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    /// The signed session token.
    pub token: String,
    /// The session.
    pub record: SessionRecord,
    /// The sanitised `next` the pairing was started with.
    pub next: String,
}

/// Lifetimes and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewaySettings {
    /// How long a pairing token works (90 s).
    pub pairing_ttl: Duration,
    /// Lifetime of a cookie session (8 h).
    pub cookie_ttl: Duration,
    /// Lifetime of a bearer session (15 min).
    pub bearer_ttl: Duration,
    /// Pairing attempt limits.
    pub rate: RateLimits,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            pairing_ttl: Duration::from_secs(90),
            cookie_ttl: Duration::from_secs(8 * 3600),
            bearer_ttl: Duration::from_secs(15 * 60),
            rate: RateLimits::default(),
        }
    }
}

/// The most pairings waiting at once; the oldest is dropped beyond it.
const MAX_PENDING: usize = 32;

/// The longest pairing token looked at (a real one is 32 characters).
const MAX_PAIRING_TOKEN: usize = 128;

/// A failure of the gateway's domain.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The pairing token is unknown, expired or already used.
    #[error("The pairing token is invalid, expired or already used")]
    PairInvalid,
    /// Too many pairing attempts.
    #[error("Too many pairing attempts; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until an attempt may succeed.
        retry_after_secs: u64,
    },
    /// No valid session.
    #[error("Sign in through a pairing link first")]
    Unauthenticated,
    /// The session is for another project.
    #[error("This session is not for project {project}")]
    ProjectForbidden {
        /// The project asked for.
        project: String,
    },
    /// The session's scope is too small.
    #[error("A {has} session cannot do this ({needs} access needed)")]
    ScopeForbidden {
        /// The session's scope.
        has: &'static str,
        /// The scope needed.
        needs: &'static str,
    },
    /// No session with this id.
    #[error("No gateway session {id}")]
    SessionNotFound {
        /// The id asked for.
        id: String,
    },
    /// Reading or writing the key or the session list failed.
    #[error(transparent)]
    Storage(#[from] IoFailure),
    /// The session list does not parse.
    #[error(transparent)]
    Corrupt(#[from] PersistError),
}

impl DomainError for GatewayError {
    fn kind(&self) -> ErrorKind {
        match self {
            GatewayError::PairInvalid => ErrorKind::InvalidInput,
            GatewayError::RateLimited { .. } => ErrorKind::RateLimited,
            GatewayError::Unauthenticated => ErrorKind::Unauthenticated,
            GatewayError::ProjectForbidden { .. } | GatewayError::ScopeForbidden { .. } => {
                ErrorKind::Forbidden
            }
            GatewayError::SessionNotFound { .. } => ErrorKind::NotFound,
            GatewayError::Storage(_) => ErrorKind::Internal,
            GatewayError::Corrupt(e) => e.kind(),
        }
    }

    /// The reference's codes (`pair_invalid`, `pair_rate_limited`, `unauthenticated`,
    /// `project_forbidden`) and this area's own, in the same lowercase style.
    fn code(&self) -> &'static str {
        match self {
            GatewayError::PairInvalid => "pair_invalid",
            GatewayError::RateLimited { .. } => "pair_rate_limited",
            GatewayError::Unauthenticated => "unauthenticated",
            GatewayError::ProjectForbidden { .. } => "project_forbidden",
            GatewayError::ScopeForbidden { .. } => "scope_forbidden",
            GatewayError::SessionNotFound { .. } => "session_not_found",
            GatewayError::Storage(_) => "gateway_storage_failed",
            GatewayError::Corrupt(e) => e.code(),
        }
    }
}

struct Pending {
    expires_at: DateTime<Utc>,
    scope: Scope,
    next: String,
}

#[derive(Default)]
struct GatewayState {
    key: Option<Arc<SigningKey>>,
    pending: HashMap<[u8; 32], Pending>,
    sessions: Option<Vec<SessionRecord>>,
}

#[derive(Serialize, Deserialize, Default)]
struct SessionsFile {
    sessions: Vec<SessionRecord>,
}

/// The gateway's sign-in state for one project.
pub struct Gateway {
    project: ProjectRef,
    key_file: PathBuf,
    sessions_file: PathBuf,
    settings: GatewaySettings,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    limiter: RateLimiter,
    state: Mutex<GatewayState>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// The gateway of the project at `paths`, its key and session list under the global
    /// `~/.openkit/gateway/`, announcing sign-ins to `events`. Nothing is read until it
    /// is needed.
    pub fn new(
        paths: &Paths,
        events: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        settings: GatewaySettings,
    ) -> Self {
        let project = ProjectRef::of(paths.project_root());
        let dir = paths.global_dir().join("gateway");
        Gateway {
            key_file: dir.join("signing-key"),
            sessions_file: dir.join(format!("sessions-{}.json", project.id)),
            project,
            settings,
            clock,
            events,
            limiter: RateLimiter::new(settings.rate),
            state: Mutex::new(GatewayState::default()),
        }
    }

    /// The project served.
    pub fn project(&self) -> &ProjectRef {
        &self.project
    }

    /// Lifetimes and limits.
    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GatewayState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(&self, state: &mut GatewayState) -> Result<Arc<SigningKey>, GatewayError> {
        if let Some(key) = &state.key {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(SigningKey::load_or_create(&self.key_file)?);
        state.key = Some(Arc::clone(&key));
        Ok(key)
    }

    /// The live sessions (expired ones dropped), loaded on first use.
    fn sessions<'a>(
        &self,
        state: &'a mut GatewayState,
    ) -> Result<&'a mut Vec<SessionRecord>, GatewayError> {
        if state.sessions.is_none() {
            let file: Option<SessionsFile> = persist::read_json(&self.sessions_file)?;
            state.sessions = Some(file.unwrap_or_default().sessions);
        }
        let now = self.clock.now();
        let sessions = state.sessions.as_mut().expect("loaded above");
        sessions.retain(|s| s.expires_at > now);
        Ok(sessions)
    }

    fn save(&self, sessions: &[SessionRecord]) -> Result<(), GatewayError> {
        if let Some(dir) = self.sessions_file.parent() {
            token::create_private_dir(dir)?;
        }
        let file = SessionsFile {
            sessions: sessions.to_vec(),
        };
        persist::write_json(&self.sessions_file, &file)?;
        Ok(())
    }

    /// Counts a pairing attempt by `client` (the address the tunnel reported).
    pub fn attempt(&self, client: &str) -> RateDecision {
        self.limiter.attempt(client, self.clock.now())
    }

    /// Starts a pairing: a one-time token for a session of `scope`, sending the browser
    /// to `next` (sanitised) afterwards.
    pub fn start_pairing(&self, scope: Scope, next: Option<&str>) -> (Pairing, String) {
        let now = self.clock.now();
        let token = token::encode(&token::random_bytes::<24>());
        let expires_at = now + chrono_duration(self.settings.pairing_ttl);
        let next = sanitize_next(next);
        let mut state = self.lock();
        state.pending.retain(|_, p| p.expires_at > now);
        if state.pending.len() >= MAX_PENDING
            && let Some(oldest) = state
                .pending
                .iter()
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(k, _)| *k)
        {
            state.pending.remove(&oldest);
        }
        state.pending.insert(
            token::sha256(token.as_bytes()),
            Pending {
                expires_at,
                scope,
                next: next.clone(),
            },
        );
        (
            Pairing {
                token,
                expires_at,
                expires_in: self.settings.pairing_ttl.as_secs(),
            },
            next,
        )
    }

    /// Redeems a pairing token (once: it is gone whatever happens next) for a new session
    /// of `kind`, paired from `client`. Announces the sign-in.
    pub fn redeem(
        &self,
        pairing_token: &str,
        kind: SessionKind,
        client: &str,
    ) -> Result<IssuedSession, GatewayError> {
        if pairing_token.is_empty() || pairing_token.len() > MAX_PAIRING_TOKEN {
            return Err(GatewayError::PairInvalid);
        }
        let now = self.clock.now();
        let mut state = self.lock();
        let pending = state
            .pending
            .remove(&token::sha256(pairing_token.as_bytes()))
            .ok_or(GatewayError::PairInvalid)?;
        if pending.expires_at <= now {
            return Err(GatewayError::PairInvalid);
        }
        let key = self.key(&mut state)?;
        let ttl = match kind {
            SessionKind::Cookie => self.settings.cookie_ttl,
            SessionKind::Bearer => self.settings.bearer_ttl,
        };
        let record = SessionRecord {
            id: token::encode(&token::random_bytes::<16>()),
            user_id: format!("paired-{}", uuid::Uuid::new_v4()),
            scope: pending.scope,
            kind,
            created_at: now,
            expires_at: now + chrono_duration(ttl),
            client: client.chars().take(64).collect(),
        };
        let sessions = self.sessions(&mut state)?;
        sessions.push(record.clone());
        let snapshot = sessions.clone();
        self.save(&snapshot)?;
        drop(state);
        let token = key.sign(&Claims {
            sid: record.id.clone(),
            pid: self.project.id.clone(),
            uid: record.user_id.clone(),
            scp: record.scope,
            exp: record.expires_at.timestamp(),
        });
        self.events
            .publish(WorkbenchEvent::Activity(ActivityNotice {
                category: ActivityCategory::System,
                event_type: "gateway_login".to_string(),
                severity: Severity::Warning,
                title: format!(
                    "A device signed in through the remote gateway ({} access, {})",
                    record.scope.as_str(),
                    match kind {
                        SessionKind::Cookie => "browser",
                        SessionKind::Bearer => "bearer token",
                    }
                ),
                detail: Some(format!("From {}; session {}", record.client, record.id)),
                worktree_id: None,
            }));
        Ok(IssuedSession {
            token,
            record,
            next: pending.next,
        })
    }

    /// The session `token` belongs to, if it is signed by the current key, unexpired,
    /// for this project and still listed.
    pub fn authenticate(&self, token: &str) -> Result<SessionRecord, GatewayError> {
        let mut state = self.lock();
        let key = self.key(&mut state)?;
        let claims = key.verify(token).ok_or(GatewayError::Unauthenticated)?;
        if claims.exp <= self.clock.now().timestamp() {
            return Err(GatewayError::Unauthenticated);
        }
        if claims.pid != self.project.id {
            return Err(GatewayError::ProjectForbidden {
                project: self.project.id.clone(),
            });
        }
        self.sessions(&mut state)?
            .iter()
            .find(|s| s.id == claims.sid)
            .cloned()
            .ok_or(GatewayError::Unauthenticated)
    }

    /// Ends the session of `token`, if it has one.
    pub fn logout(&self, token: &str) -> Result<(), GatewayError> {
        match self.authenticate(token) {
            Ok(session) => self.revoke(&session.id),
            Err(_) => Ok(()),
        }
    }

    /// The live sessions, oldest first.
    pub fn list_sessions(&self) -> Result<Vec<SessionRecord>, GatewayError> {
        let mut state = self.lock();
        Ok(self.sessions(&mut state)?.clone())
    }

    /// Ends session `id`.
    pub fn revoke(&self, id: &str) -> Result<(), GatewayError> {
        let mut state = self.lock();
        let sessions = self.sessions(&mut state)?;
        let before = sessions.len();
        sessions.retain(|s| s.id != id);
        if sessions.len() == before {
            return Err(GatewayError::SessionNotFound { id: id.to_string() });
        }
        let snapshot = sessions.clone();
        self.save(&snapshot)
    }

    /// Replaces the signing key: every session token ever issued stops working, the
    /// session list is emptied and waiting pairings are dropped.
    pub fn rotate_key(&self) -> Result<(), GatewayError> {
        let mut state = self.lock();
        let key = SigningKey::create(&self.key_file)?;
        state.key = Some(Arc::new(key));
        state.pending.clear();
        state.sessions = Some(Vec::new());
        self.save(&[])
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests;
