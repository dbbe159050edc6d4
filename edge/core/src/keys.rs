//! Signing keys: generation, sealing at rest, rotation states and the JWKS (RFC 7517).
//!
//! Keys are Ed25519 (`EdDSA`, RFC 8037), generated inside the authority from the runtime's
//! random source, and stored sealed with AES-256-GCM under a key derived from
//! `KEY_ENCRYPTION_KEY`, bound to their `kid`. A key set holds one `current` key (signs), one
//! `next` key (published before it signs) and `retired` keys (published until the last token
//! they signed has expired). The `kid` is the key's RFC 7638 thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, PublicKey, SecretKey, Seed};
use serde::{Deserialize, Serialize};

use crate::clients::MAX_ACCESS_TOKEN_TTL;
use crate::crypto::{sha256_b64, Secrets};
use crate::ports::Rng;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signs new tokens.
    Current,
    /// Verifies tokens it signed until `expires_at`.
    Retired,
}

/// A signing key as stored: public part in clear, private part sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
    /// After this instant the key is dropped from the JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The Ed25519 public key, base64url (the JWK `x`).
    pub x: String,
    sealed_private: String,
}

/// The whole key set, versioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    pub keys: Vec<StoredKey>,
    pub version: u64,
}

/// The stored key set could not be turned into usable keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key set has no current key")]
    NoCurrentKey,
    #[error("key {0} could not be unsealed")]
    Unseal(String),
}

/// The key set ready for use: the decrypted signing key, parsed verifying keys, and the JWKS
/// document pre-serialised.
pub struct LoadedKeys {
    pub signing_kid: String,
    pub signing_key: SecretKey,
    verifying: Vec<(String, PublicKey)>,
    pub jwks: String,
}

impl LoadedKeys {
    /// The verifying key for `kid`, if the key set publishes it.
    pub fn verifying_key(&self, kid: &str) -> Option<&PublicKey> {
        self.verifying
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key)
    }
}

#[derive(Serialize)]
struct Jwk<'a> {
    kty: &'static str,
    crv: &'static str,
    x: &'a str,
    kid: &'a str,
    alg: &'a str,
    #[serde(rename = "use")]
    use_: &'static str,
}

#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<Jwk<'a>>,
}

impl StoredKey {
    fn generate(secrets: &Secrets, rng: &dyn Rng, now: u64, state: KeyState) -> Self {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let pair = KeyPair::from_seed(Seed::new(seed));
        let x = URL_SAFE_NO_PAD.encode(pair.pk.as_ref());
        // RFC 7638 §3.2: members in lexicographic order, no whitespace.
        let kid = sha256_b64(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#).as_bytes());
        let sealed_private = secrets.seal(rng, &kid, pair.sk.as_ref());
        Self {
            kid,
            alg: "EdDSA".into(),
            state,
            created_at: now,
            retired_at: None,
            expires_at: None,
            x,
            sealed_private,
        }
    }

    fn public_key(&self) -> Option<PublicKey> {
        let raw = URL_SAFE_NO_PAD.decode(&self.x).ok()?;
        PublicKey::from_slice(&raw).ok()
    }
}

impl KeySet {
    /// A fresh key set: a `current` key and a `next` key.
    pub fn generate(secrets: &Secrets, rng: &dyn Rng, now: u64) -> Self {
        Self {
            keys: vec![
                StoredKey::generate(secrets, rng, now, KeyState::Current),
                StoredKey::generate(secrets, rng, now, KeyState::Next),
            ],
            version: 1,
        }
    }

    /// Rotation without downtime: `next` becomes `current`, `current` retires until every token
    /// it could have signed has expired, a new `next` is made, and expired keys are dropped.
    pub fn rotate(&mut self, secrets: &Secrets, rng: &dyn Rng, now: u64) {
        self.keys
            .retain(|k| k.expires_at.is_none_or(|exp| exp > now));
        for key in &mut self.keys {
            match key.state {
                KeyState::Current => {
                    key.state = KeyState::Retired;
                    key.retired_at = Some(now);
                    key.expires_at = Some(now + MAX_ACCESS_TOKEN_TTL + 120);
                }
                KeyState::Next => key.state = KeyState::Current,
                KeyState::Retired => {}
            }
        }
        if !self.keys.iter().any(|k| k.state == KeyState::Current) {
            self.keys
                .push(StoredKey::generate(secrets, rng, now, KeyState::Current));
        }
        self.keys
            .push(StoredKey::generate(secrets, rng, now, KeyState::Next));
        self.version += 1;
    }

    /// Unseals the current key and parses the published ones.
    pub fn load(&self, secrets: &Secrets, now: u64) -> Result<LoadedKeys, KeyError> {
        let current = self
            .keys
            .iter()
            .find(|k| k.state == KeyState::Current)
            .ok_or(KeyError::NoCurrentKey)?;
        let raw = secrets
            .open(&current.kid, &current.sealed_private)
            .map_err(|_| KeyError::Unseal(current.kid.clone()))?;
        let signing_key =
            SecretKey::from_slice(&raw).map_err(|_| KeyError::Unseal(current.kid.clone()))?;
        let published: Vec<&StoredKey> = self
            .keys
            .iter()
            .filter(|k| k.expires_at.is_none_or(|exp| exp > now))
            .collect();
        let verifying = published
            .iter()
            .filter_map(|k| Some((k.kid.clone(), k.public_key()?)))
            .collect();
        let jwks = Jwks {
            keys: published
                .iter()
                .map(|k| Jwk {
                    kty: "OKP",
                    crv: "Ed25519",
                    x: &k.x,
                    kid: &k.kid,
                    alg: &k.alg,
                    use_: "sig",
                })
                .collect(),
        };
        Ok(LoadedKeys {
            signing_kid: current.kid.clone(),
            signing_key,
            verifying,
            jwks: serde_json::to_string(&jwks).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

    #[test]
    fn private_keys_are_sealed_and_unseal_with_the_right_kek() {
        let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
        let set = KeySet::generate(&secrets, &SeqRng::default(), 100);
        let loaded = set.load(&secrets, 100).unwrap();
        assert_eq!(loaded.signing_kid, set.keys[0].kid);
        let other = Secrets::new(
            TEST_ADMIN_TOKEN,
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        )
        .unwrap();
        assert!(set.load(&other, 100).is_err());
    }

    #[test]
    fn jwks_publishes_next_and_current_without_private_parts() {
        let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
        let set = KeySet::generate(&secrets, &SeqRng::default(), 100);
        let loaded = set.load(&secrets, 100).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(&loaded.jwks).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(!loaded.jwks.contains("sealed"));
        assert!(!loaded.jwks.contains("\"d\""));
    }

    #[test]
    fn rotation_promotes_next_and_keeps_retired_until_expiry() {
        let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
        let rng = SeqRng::default();
        let mut set = KeySet::generate(&secrets, &rng, 100);
        let (old_current, old_next) = (set.keys[0].kid.clone(), set.keys[1].kid.clone());
        set.rotate(&secrets, &rng, 200);
        let loaded = set.load(&secrets, 200).unwrap();
        assert_eq!(loaded.signing_kid, old_next);
        assert!(loaded.verifying_key(&old_current).is_some());
        let later = 200 + MAX_ACCESS_TOKEN_TTL + 121;
        assert!(set
            .load(&secrets, later)
            .unwrap()
            .verifying_key(&old_current)
            .is_none());
    }
}
