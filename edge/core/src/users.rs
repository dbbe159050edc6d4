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

use crate::api::{NewUser, Profile, User, UserPatch};
use crate::crypto::random_token;
use crate::error::ApiError;
use crate::ports::Rng;
use crate::uri::split_http_uri;

/// PBKDF2 iterations for new hashes; see the module docs for the measurement behind it.
pub const PBKDF2_ROUNDS: u32 = 100_000;
/// Shortest accepted password (NIST SP 800-63B §3.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest accepted username.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest accepted profile name (`name`, `given_name`, `family_name`).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest accepted email address (RFC 5321 §4.5.3.1.3 path limit less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// The KV key under which the login path finds a user: the lower-cased username.
pub fn user_login_key(username: &str) -> String {
    format!("user-login:{}", username.to_lowercase())
}

/// The KV key under which the UserInfo endpoint and ID tokens find a user's profile claims
/// (never the password hash): by user id, the access token's `sub`.
pub fn user_profile_key(id: &str) -> String {
    format!("user-profile:{id}")
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
        let profile = new.profile();
        check_profile(&profile)?;
        Ok(Self {
            user: User {
                id: random_token(rng, 12),
                username: new.username,
                profile,
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
        let removes_email = patch.email.as_deref() == Some("");
        let p = &mut next.user.profile;
        for (field, value) in [
            (&mut p.name, patch.name),
            (&mut p.given_name, patch.given_name),
            (&mut p.family_name, patch.family_name),
            (&mut p.email, patch.email),
            (&mut p.locale, patch.locale),
            (&mut p.picture, patch.picture),
        ] {
            if let Some(value) = value {
                *field = (!value.is_empty()).then_some(value);
            }
        }
        if patch.email_verified.is_some() {
            p.email_verified = patch.email_verified;
        }
        // A removed email takes its verification with it.
        if removes_email {
            p.email_verified = None;
        }
        check_profile(&next.user.profile)?;
        next.user.updated_at = now;
        Ok(next)
    }
}

/// The profile rules (OIDC Core §5.1): names of 1 to [`MAX_NAME_CHARS`] characters without
/// control characters, an `email` of the `local@domain` shape, `email_verified` only with an
/// `email`, a BCP 47-shaped `locale` (`en`, `fr-CA`, `zh-Hant-TW`) and an `https` `picture`.
pub fn check_profile(p: &Profile) -> Result<(), ApiError> {
    for (field, value) in [
        ("name", &p.name),
        ("given_name", &p.given_name),
        ("family_name", &p.family_name),
    ] {
        if let Some(v) = value {
            let chars = v.chars().count();
            if chars == 0
                || chars > MAX_NAME_CHARS
                || v.trim() != v
                || v.chars().any(char::is_control)
            {
                return Err(ApiError::invalid(
                    field,
                    format!("must be 1 to {MAX_NAME_CHARS} characters, without control characters or surrounding spaces"),
                ));
            }
        }
    }
    if let Some(email) = &p.email {
        if !is_email(email) {
            return Err(ApiError::invalid(
                "email",
                "not an email address (local@domain)",
            ));
        }
    }
    if p.email_verified.is_some() && p.email.is_none() {
        return Err(ApiError::invalid("email_verified", "needs an email"));
    }
    if let Some(locale) = &p.locale {
        if !is_locale(locale) {
            return Err(ApiError::invalid(
                "locale",
                "not a BCP 47 language tag (e.g. en, fr-CA)",
            ));
        }
    }
    if let Some(picture) = &p.picture {
        let https =
            split_http_uri(picture).is_ok_and(|(scheme, _)| scheme.eq_ignore_ascii_case("https"));
        if !https {
            return Err(ApiError::invalid(
                "picture",
                "must be an absolute https URL",
            ));
        }
    }
    Ok(())
}

/// An address of the RFC 5322 `addr-spec` shape: one `@`, a local part of at most 64 printable
/// characters, a domain of dot-separated labels of letters, digits and hyphens.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let printable = |c: char| c.is_ascii_graphic() && !"@()<>[]\\,;:\"".contains(c);
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    email.len() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && local.len() <= 64
        && local.chars().all(printable)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.contains('.')
        && domain.split('.').all(label)
}

/// A language tag of the BCP 47 shape (RFC 5646 §2.1): a primary subtag of 2 to 8 letters,
/// then subtags of 1 to 8 letters or digits, separated by `-`.
fn is_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
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
