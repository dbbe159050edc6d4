//! Secret material and the primitives built on it.
//!
//! The worker holds two secrets: `ADMIN_TOKEN` and `KEY_ENCRYPTION_KEY` (32 bytes, base64).
//! Every other key is derived from the latter with HKDF-SHA256 (RFC 5869) under its own label:
//! the pepper that keys client-secret hashes, the AES-256-GCM key that seals signing keys at
//! rest, the HMAC key that signs browser session cookies and CSRF tokens, the HMAC key of DPoP
//! server nonces, and the salt under
//! which a refresh token derives the key that seals its rotation's answer for a retry
//! ([`Secrets::seal_for_token`]). Comparisons of secrets are constant-time ([`subtle`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ports::Rng;

type HmacSha256 = Hmac<Sha256>;

/// The worker's configuration secrets were missing or malformed.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("ADMIN_TOKEN must be at least 16 characters")]
    AdminToken,
    #[error("KEY_ENCRYPTION_KEY must be 32 bytes, base64-encoded")]
    KeyEncryptionKey,
}

/// A sealed blob could not be opened (wrong key, wrong label or tampered).
#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened")]
pub struct OpenError;

/// The worker's secrets and the keys derived from them. Has no `Debug`: nothing prints it.
pub struct Secrets {
    admin_token_digest: [u8; 32],
    admin_fingerprint: String,
    pepper: [u8; 32],
    wrap_key: Aes256Gcm,
    session_key: [u8; 32],
    retry_salt: [u8; 32],
    nonce_key: [u8; 32],
}

impl Secrets {
    /// Builds the secrets from the two worker secrets.
    pub fn new(admin_token: &str, key_encryption_key_b64: &str) -> Result<Self, SecretsError> {
        if admin_token.len() < 16 {
            return Err(SecretsError::AdminToken);
        }
        let kek = STANDARD
            .decode(key_encryption_key_b64.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or(SecretsError::KeyEncryptionKey)?;
        let hk = Hkdf::<Sha256>::new(Some(b"portcullis/v1"), &kek);
        let mut pepper = [0u8; 32];
        let mut wrap = [0u8; 32];
        hk.expand(b"client-secret-pepper", &mut pepper)
            .map_err(|_| SecretsError::KeyEncryptionKey)?;
        hk.expand(b"signing-key-wrap", &mut wrap)
            .map_err(|_| SecretsError::KeyEncryptionKey)?;
        let mut session_key = [0u8; 32];
        hk.expand(b"session-cookie-mac", &mut session_key)
            .map_err(|_| SecretsError::KeyEncryptionKey)?;
        let mut retry_salt = [0u8; 32];
        hk.expand(b"refresh-retry-salt", &mut retry_salt)
            .map_err(|_| SecretsError::KeyEncryptionKey)?;
        let mut nonce_key = [0u8; 32];
        hk.expand(b"dpop-nonce-mac", &mut nonce_key)
            .map_err(|_| SecretsError::KeyEncryptionKey)?;
        let admin_token_digest: [u8; 32] = Sha256::digest(admin_token.as_bytes()).into();
        let admin_fingerprint = format!("admin:{}", hex(&admin_token_digest[..4]));
        Ok(Self {
            admin_token_digest,
            admin_fingerprint,
            pepper,
            wrap_key: Aes256Gcm::new(&wrap.into()),
            session_key,
            retry_salt,
            nonce_key,
        })
    }

    /// Whether `presented` is the admin token (constant time over digests, so length leaks
    /// nothing either).
    pub fn is_admin_token(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.admin_token_digest).into()
    }

    /// A short, non-reversible name for the admin token, used as the actor in audit entries.
    pub fn admin_fingerprint(&self) -> &str {
        &self.admin_fingerprint
    }

    /// The keyed hash under which a client secret is stored.
    pub fn hash_client_secret(&self, secret: &str) -> SecretHash {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.pepper).expect("HMAC takes any key length");
        mac.update(secret.as_bytes());
        SecretHash(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA256 of `data` under the session key (session cookies, CSRF tokens), base64url.
    pub fn session_mac(&self, data: &[u8]) -> String {
        mac_b64(&self.session_key, data)
    }

    /// HMAC-SHA256 of `data` under the DPoP nonce key (RFC 9449 §8 server nonces), base64url.
    pub fn nonce_mac(&self, data: &[u8]) -> String {
        mac_b64(&self.nonce_key, data)
    }

    /// Whether `mac` is [`Secrets::session_mac`] of `data` (constant time).
    pub fn session_mac_matches(&self, data: &[u8], mac: &str) -> bool {
        self.session_mac(data)
            .as_bytes()
            .ct_eq(mac.as_bytes())
            .into()
    }

    /// Seals `plaintext` with AES-256-GCM, bound to `label`; returns base64url(nonce ‖ ct).
    pub fn seal(&self, rng: &dyn Rng, label: &str, plaintext: &[u8]) -> String {
        seal_with(&self.wrap_key, rng, label, plaintext)
    }

    /// Opens what [`Secrets::seal`] sealed under the same label.
    pub fn open(&self, label: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        open_with(&self.wrap_key, label, sealed)
    }

    /// Seals `plaintext` under a key that only the holder of `token` can derive: HKDF-SHA256
    /// with `token` as input key material and a salt derived from `KEY_ENCRYPTION_KEY`. What
    /// storage keeps of a token is its SHA-256 ([`crate::crypto::token_hash`]), from which
    /// this key cannot be derived, so storage alone never opens it.
    pub fn seal_for_token(&self, rng: &dyn Rng, token: &str, plaintext: &[u8]) -> String {
        seal_with(&self.token_key(token), rng, TOKEN_SEAL_LABEL, plaintext)
    }

    /// Opens what [`Secrets::seal_for_token`] sealed under the same token.
    pub fn open_for_token(&self, token: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        open_with(&self.token_key(token), TOKEN_SEAL_LABEL, sealed)
    }

    fn token_key(&self, token: &str) -> Aes256Gcm {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.retry_salt), token.as_bytes())
            .expand(TOKEN_SEAL_LABEL.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Aes256Gcm::new(&key.into())
    }
}

/// HMAC-SHA256 of `data` under `key`, base64url.
fn mac_b64(key: &[u8; 32], data: &[u8]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The HKDF info and AEAD associated data of [`Secrets::seal_for_token`].
const TOKEN_SEAL_LABEL: &str = "refresh-retry-seal";

/// AES-256-GCM under `cipher` with a random nonce, bound to `label`; base64url(nonce ‖ ct).
fn seal_with(cipher: &Aes256Gcm, rng: &dyn Rng, label: &str, plaintext: &[u8]) -> String {
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: label.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of a short buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    URL_SAFE_NO_PAD.encode(out)
}

/// Opens what [`seal_with`] sealed under the same cipher and label.
fn open_with(cipher: &Aes256Gcm, label: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| OpenError)?;
    if raw.len() < 12 + 16 {
        return Err(OpenError);
    }
    let (nonce, ct) = raw.split_at(12);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: label.as_bytes(),
            },
        )
        .map_err(|_| OpenError)
}

/// A keyed hash of a client secret. No `Display`; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Constant-time comparison.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The stored form (base64url).
    pub fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the stored form.
    pub fn from_stored(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        Some(Self(raw.try_into().ok()?))
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// `n` random bytes as base64url without padding.
pub fn random_token(rng: &dyn Rng, n: usize) -> String {
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256, base64url.
pub fn sha256_b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

/// Whether `value` has the form of a base64url SHA-256 digest (a PKCE challenge, a JWK
/// thumbprint): 43 base64url characters.
pub fn is_sha256_b64(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored in place of a code or refresh token.
pub fn token_hash(token: &str) -> String {
    sha256_b64(token.as_bytes())
}

#[cfg(test)]
mod tests;
