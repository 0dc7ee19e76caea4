use std::sync::Mutex;

use super::*;

#[derive(Default)]
struct Recorder(Mutex<Vec<WorkbenchEvent>>);

impl EventSink for Recorder {
    fn publish(&self, event: WorkbenchEvent) {
        self.0.lock().unwrap().push(event);
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    paths: Paths,
    clock: Arc<ManualClock>,
    events: Arc<Recorder>,
    gateway: Gateway,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("project"), dir.path().join("home/.openkit"));
    let clock = Arc::new(ManualClock::new(
        DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
    ));
    let events = Arc::new(Recorder::default());
    let gateway = Gateway::new(
        &paths,
        Arc::clone(&events) as _,
        Arc::clone(&clock) as _,
        GatewaySettings::default(),
    );
    Fixture {
        _dir: dir,
        paths,
        clock,
        events,
        gateway,
    }
}

#[test]
fn the_project_id_is_twelve_hex_of_sha1_of_the_directory() {
    let id = project_id(Path::new("/home/me/project"));
    assert_eq!(id.len(), 12);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    // A known vector: sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d.
    assert_eq!(project_id(Path::new("abc")), "a9993e364706");
    assert_ne!(id, project_id(Path::new("/home/me/project2")));
}

#[test]
fn a_pairing_token_works_once_and_makes_a_session() {
    let f = fixture();
    let (pairing, next) = f.gateway.start_pairing(Scope::Read, Some("/#/w/x"));
    assert_eq!(next, "/#/w/x");
    assert_eq!(pairing.expires_in, 90);
    assert_eq!(pairing.token.len(), 32, "24 bytes in base64url");
    let issued = f
        .gateway
        .redeem(&pairing.token, SessionKind::Cookie, "203.0.113.9")
        .unwrap();
    assert_eq!(issued.next, "/#/w/x");
    assert_eq!(issued.record.scope, Scope::Read);
    assert_eq!(
        issued.record.expires_at - issued.record.created_at,
        chrono::Duration::hours(8)
    );
    let session = f.gateway.authenticate(&issued.token).unwrap();
    assert_eq!(session, issued.record);
    // Replayed.
    assert!(matches!(
        f.gateway
            .redeem(&pairing.token, SessionKind::Cookie, "203.0.113.9"),
        Err(GatewayError::PairInvalid)
    ));
    // The sign-in is announced.
    let events = f.events.0.lock().unwrap();
    assert!(matches!(
        events.as_slice(),
        [WorkbenchEvent::Activity(a)] if a.event_type == "gateway_login"
            && a.detail.as_deref().is_some_and(|d| d.contains("203.0.113.9"))
    ));
}

#[test]
fn the_token_is_kept_only_as_its_hash() {
    let f = fixture();
    let (pairing, _) = f.gateway.start_pairing(Scope::Write, None);
    let state = f.gateway.lock();
    assert!(
        state
            .pending
            .contains_key(&token::sha256(pairing.token.as_bytes()))
    );
    assert_eq!(state.pending.len(), 1);
}

#[test]
fn an_expired_pairing_token_is_refused_and_consumed() {
    let f = fixture();
    let (pairing, _) = f.gateway.start_pairing(Scope::Write, None);
    f.clock.advance(Duration::from_secs(90));
    assert!(matches!(
        f.gateway.redeem(&pairing.token, SessionKind::Bearer, "a"),
        Err(GatewayError::PairInvalid)
    ));
    for junk in ["", "x", &"A".repeat(5000), &pairing.token[..31]] {
        assert!(matches!(
            f.gateway.redeem(junk, SessionKind::Bearer, "a"),
            Err(GatewayError::PairInvalid)
        ));
    }
}

#[test]
fn sessions_expire_can_be_listed_revoked_and_survive_a_restart() {
    let f = fixture();
    let pair = |scope| f.gateway.start_pairing(scope, None).0.token;
    let bearer = f
        .gateway
        .redeem(&pair(Scope::Write), SessionKind::Bearer, "a")
        .unwrap();
    let cookie = f
        .gateway
        .redeem(&pair(Scope::Admin), SessionKind::Cookie, "b")
        .unwrap();
    assert_eq!(f.gateway.list_sessions().unwrap().len(), 2);
    // A new gateway over the same files (a server restart) knows both.
    let again = Gateway::new(
        &f.paths,
        Arc::new(crate::events::NoEvents),
        Arc::clone(&f.clock) as _,
        GatewaySettings::default(),
    );
    assert_eq!(
        again.authenticate(&cookie.token).unwrap().scope,
        Scope::Admin
    );
    // The bearer session ends after 15 minutes.
    f.clock.advance(Duration::from_secs(15 * 60));
    assert!(matches!(
        f.gateway.authenticate(&bearer.token),
        Err(GatewayError::Unauthenticated)
    ));
    assert_eq!(f.gateway.list_sessions().unwrap().len(), 1);
    // Revoked: gone at once.
    f.gateway.revoke(&cookie.record.id).unwrap();
    assert!(matches!(
        f.gateway.authenticate(&cookie.token),
        Err(GatewayError::Unauthenticated)
    ));
    assert!(matches!(
        f.gateway.revoke(&cookie.record.id),
        Err(GatewayError::SessionNotFound { .. })
    ));
}

#[test]
fn logout_ends_only_its_own_session() {
    let f = fixture();
    let a = f
        .gateway
        .redeem(
            &f.gateway.start_pairing(Scope::Write, None).0.token,
            SessionKind::Cookie,
            "a",
        )
        .unwrap();
    let b = f
        .gateway
        .redeem(
            &f.gateway.start_pairing(Scope::Write, None).0.token,
            SessionKind::Cookie,
            "b",
        )
        .unwrap();
    f.gateway.logout(&a.token).unwrap();
    assert!(f.gateway.authenticate(&a.token).is_err());
    assert!(f.gateway.authenticate(&b.token).is_ok());
    // A forged token logs nobody out and is no error.
    f.gateway.logout("v1.forged.token").unwrap();
    assert!(f.gateway.authenticate(&b.token).is_ok());
}

#[test]
fn rotating_the_key_logs_everyone_out() {
    let f = fixture();
    let s = f
        .gateway
        .redeem(
            &f.gateway.start_pairing(Scope::Write, None).0.token,
            SessionKind::Cookie,
            "a",
        )
        .unwrap();
    let (waiting, _) = f.gateway.start_pairing(Scope::Write, None);
    f.gateway.rotate_key().unwrap();
    assert!(f.gateway.authenticate(&s.token).is_err());
    assert!(f.gateway.list_sessions().unwrap().is_empty());
    assert!(
        f.gateway
            .redeem(&waiting.token, SessionKind::Cookie, "a")
            .is_err()
    );
}

#[test]
fn a_token_of_another_project_signed_with_the_same_key_is_forbidden_here() {
    let f = fixture();
    let other_paths = Paths::new(
        f.paths.project_root().with_file_name("other"),
        f.paths.global_dir(),
    );
    let other = Gateway::new(
        &other_paths,
        Arc::new(crate::events::NoEvents),
        Arc::clone(&f.clock) as _,
        GatewaySettings::default(),
    );
    let theirs = other
        .redeem(
            &other.start_pairing(Scope::Admin, None).0.token,
            SessionKind::Cookie,
            "a",
        )
        .unwrap();
    assert!(other.authenticate(&theirs.token).is_ok());
    assert!(matches!(
        f.gateway.authenticate(&theirs.token),
        Err(GatewayError::ProjectForbidden { .. })
    ));
}

#[test]
fn codes_are_the_references() {
    assert_eq!(GatewayError::PairInvalid.code(), "pair_invalid");
    assert_eq!(
        GatewayError::RateLimited {
            retry_after_secs: 1
        }
        .code(),
        "pair_rate_limited"
    );
    assert_eq!(GatewayError::Unauthenticated.code(), "unauthenticated");
    assert_eq!(
        GatewayError::ProjectForbidden {
            project: "x".into()
        }
        .code(),
        "project_forbidden"
    );
}
