//! Users of the password and authorization-code grants (RFC 6749 §4.1, §4.3): validation of
//! new users and changes, password hashing, and the password check the login page and the
//! password grant call ([`verify_user_password`]).
//!
//! Passwords are hashed with PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) under a 128-bit random salt and
//! stored as a PHC string (`$pbkdf2-sha256$i=…,l=32$salt$hash`), so the cost travels with each
//! hash and can be raised later without breaking stored ones.
//!
//! ## Cost
//!
//! A hash runs in the isolate that serves the request, inside the Workers CPU limit (10 ms on
//! the free plan, 30 s by default on paid plans). Measured in workerd (Miniflare, the built
//! wasm worker, a 2-core machine; `tests/admin.test.mjs` reports it on every run): creating a
//! user (one hash plus an authority round trip) takes a median of 66 ms against 6 ms for
//! creating a scope (the same round trip, no hash), so one hash at [`PBKDF2_ROUNDS`] = 100 000
//! costs about 60 ms of CPU, 0.6 µs per round (104 ms while other builds shared the cores).
//! SHA-256 runs in software: wasm has no SHA instructions.
//!
//! Why 100 000: 60 to 100 ms of CPU per login fits a paid plan's per-request budget with room to
//! spare and is barely noticeable to a person signing in, while OWASP's 600 000 rounds would spend
//! 0.4 to 0.6 s of CPU per login and turn the login endpoint into a cheap way to burn CPU. An
//! offline guess against a stolen hash still costs 100 000 HMAC-SHA256 pairs. A free-plan
//! deployment (10 ms) cannot afford any slow KDF and must lower the constant; the cost is read from
//! each stored hash, so existing hashes keep verifying after a change.
//!
//! Usernames are unique compared case-insensitively (Unicode lower case); the authority keeps
//! them unique and writes each user to KV under its lower-cased name, the login path's key.

use std::fmt;

use pbkdf2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pbkdf2::{Algorithm, Params, Pbkdf2};
use serde::{Deserialize, Serialize};

use crate::api::{NewUser, User, UserPatch};
use crate::crypto::random_token;
use crate::error::ApiError;
use crate::ports::Rng;

/// PBKDF2 iterations for new hashes; see the module docs for the measurement behind it.
pub const PBKDF2_ROUNDS: u32 = 100_000;
/// Shortest accepted password (NIST SP 800-63B §3.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest accepted username.
pub const MAX_USERNAME_CHARS: usize = 64;

/// The KV key under which the login path finds a user: the lower-cased username.
pub fn user_login_key(username: &str) -> String {
    format!("user-login:{}", username.to_lowercase())
}

/// A password hash in PHC string form. No `Display`; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordDigest(String);

impl fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordDigest(..)")
    }
}

impl PasswordDigest {
    /// Hashes `password` under a fresh random salt.
    pub fn new(rng: &dyn Rng, password: &str) -> Self {
        let mut salt = [0u8; 16];
        rng.fill(&mut salt);
        Self(phc_hash(password, &salt))
    }

    /// Whether `password` matches (constant-time comparison of the derived key). A stored
    /// string that does not parse matches nothing.
    pub fn matches(&self, password: &str) -> bool {
        PasswordHash::new(&self.0)
            .is_ok_and(|h| Pbkdf2.verify_password(password.as_bytes(), &h).is_ok())
    }
}

/// PBKDF2-HMAC-SHA256 of `password` under `salt` at [`PBKDF2_ROUNDS`], as a PHC string.
pub(crate) fn phc_hash(password: &str, salt: &[u8]) -> String {
    let params = Params {
        rounds: PBKDF2_ROUNDS,
        output_length: 32,
    };
    // A 16-byte salt always encodes, and these parameters are always accepted.
    SaltString::encode_b64(salt)
        .ok()
        .and_then(|salt| {
            Pbkdf2
                .hash_password_customized(
                    password.as_bytes(),
                    Some(Algorithm::Pbkdf2Sha256.ident()),
                    None,
                    params,
                    &salt,
                )
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
}

/// A user as stored: the public record plus the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    pub password_hash: PasswordDigest,
}

impl UserRecord {
    /// Validates a new user and hashes its password.
    pub fn create(new: NewUser, rng: &dyn Rng, now: u64) -> Result<Self, ApiError> {
        check_username(&new.username)?;
        check_password(&new.password)?;
        Ok(Self {
            user: User {
                id: random_token(rng, 12),
                username: new.username,
                disabled: false,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            password_hash: PasswordDigest::new(rng, &new.password),
        })
    }

    /// The record after `patch` (the authority assigns the next version).
    pub fn patched(&self, patch: UserPatch, rng: &dyn Rng, now: u64) -> Result<Self, ApiError> {
        let mut next = self.clone();
        if let Some(password) = patch.password {
            check_password(&password)?;
            next.password_hash = PasswordDigest::new(rng, &password);
        }
        if let Some(disabled) = patch.disabled {
            next.user.disabled = disabled;
        }
        next.user.updated_at = now;
        Ok(next)
    }
}

fn check_username(name: &str) -> Result<(), ApiError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(ApiError::invalid(
            "username",
            format!("must be 1 to {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid(
            "username",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::invalid(
            "password",
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Whether `id` is a user id the origin's login endpoint may answer: 1 to 256 bytes, no
/// control characters, no surrounding space.
pub fn is_upstream_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.trim() == id && !id.chars().any(char::is_control)
}

#[cfg(test)]
mod tests;
