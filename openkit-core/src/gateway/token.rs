//! Signed session tokens: `v1.<claims>.<signature>`, both parts base64url without
//! padding, the signature HMAC-SHA256 over `v1.<claims>` with the gateway's signing key.
//! The key is 32 random bytes in `~/.openkit/gateway/signing-key` (mode 0600);
//! replacing it invalidates every token ever issued.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Scope;
use crate::error::IoFailure;

/// The version prefix of every token.
const VERSION: &str = "v1";

/// The longest token looked at (a real one is about 300 bytes).
pub const MAX_TOKEN_LEN: usize = 2048;

/// Length of the signing key.
const KEY_LEN: usize = 32;

/// What a session token says. Short field names keep cookies small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Session id.
    pub sid: String,
    /// Project id the session is for.
    pub pid: String,
    /// The session's user id.
    pub uid: String,
    /// Scope.
    pub scp: Scope,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// The key sessions are signed with.
pub struct SigningKey(HmacSha256);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// `n` bytes from the system's secure random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the system random source is available");
    bytes
}

/// Base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        SigningKey(HmacSha256::new_from_slice(bytes).expect("HMAC takes keys of any length"))
    }

    /// The key stored at `file`, created (32 random bytes, mode 0600, atomically) when
    /// the file is missing or does not hold a key.
    pub fn load_or_create(file: &Path) -> Result<Self, IoFailure> {
        match std::fs::read(file) {
            Ok(bytes) if bytes.len() == KEY_LEN => return Ok(SigningKey::from_bytes(&bytes)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(IoFailure::new(format!("reading {}", file.display()), e)),
        }
        SigningKey::create(file)
    }

    /// A new random key, written to `file` (replacing any old one).
    pub fn create(file: &Path) -> Result<Self, IoFailure> {
        let bytes: [u8; KEY_LEN] = random_bytes();
        if let Some(dir) = file.parent() {
            create_private_dir(dir)?;
        }
        crate::persist::write_atomic(file, &bytes)?;
        set_mode(file, 0o600)?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    /// The token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let body = encode(&serde_json::to_vec(claims).expect("claims serialise"));
        let signed = format!("{VERSION}.{body}");
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        format!("{signed}.{}", encode(&mac.finalize().into_bytes()))
    }

    /// The claims of `token` when its signature is ours (checked in constant time) and
    /// it is well formed; expiry is the caller's to check.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (signed, tag) = token.rsplit_once('.')?;
        let (version, body) = signed.split_once('.')?;
        if version != VERSION {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        mac.verify_slice(&tag).ok()?;
        let json = URL_SAFE_NO_PAD.decode(body).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// SHA-256 of `bytes` (how pairing tokens are kept).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Creates `dir` (mode 0700 when it is new).
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), IoFailure> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| IoFailure::new(format!("creating {}", dir.display()), e))?;
    set_mode(dir, 0o700)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), IoFailure> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| IoFailure::new(format!("restricting {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sid: "s1".into(),
            pid: "0123456789ab".into(),
            uid: "u1".into(),
            scp: Scope::Write,
            exp: 1_800_000_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_and_any_change_breaks_it() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let token = key.sign(&claims());
        assert_eq!(key.verify(&token), Some(claims()));
        // Another key.
        assert_eq!(SigningKey::from_bytes(&[8; 32]).verify(&token), None);
        // Truncated, extended, every single character flipped.
        assert_eq!(key.verify(&token[..token.len() - 1]), None);
        assert_eq!(key.verify(&format!("{token}A")), None);
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            if forged != token {
                assert_eq!(key.verify(&forged), None, "flipped byte {i}");
            }
        }
        // Claims re-signed by nobody: a different body with the old signature.
        let (_, tag) = token.rsplit_once('.').unwrap();
        let mut admin = claims();
        admin.scp = Scope::Admin;
        let body = encode(&serde_json::to_vec(&admin).unwrap());
        assert_eq!(key.verify(&format!("v1.{body}.{tag}")), None);
        for junk in ["", ".", "v1..", "v2.a.b", "v1.a", &"x".repeat(5000)] {
            assert_eq!(key.verify(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_key_file_is_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway/signing-key");
        let key = SigningKey::load_or_create(&file).unwrap();
        let token = key.sign(&claims());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        // Loaded again: the same key.
        assert!(
            SigningKey::load_or_create(&file)
                .unwrap()
                .verify(&token)
                .is_some()
        );
        // Replaced: the old tokens are worthless.
        let rotated = SigningKey::create(&file).unwrap();
        assert!(rotated.verify(&token).is_none());
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
