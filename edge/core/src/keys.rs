//! Signing keys: generation, sealing at rest, rotation states and the JWKS (RFC 7517).
//!
//! Each key has its own algorithm: Ed25519 (`EdDSA`, RFC 8037; the default, signed in wasm by
//! `jwt-compact`) or ECDSA P-256 (`ES256`, generated and used through the runtime's WebCrypto,
//! see [`crate::ports::Signatures`]) for access tokens, and RSA (`RS256`, WebCrypto too) for
//! OpenID Connect ID tokens. The set holds two families, each with its own states: the
//! access-token family (`EdDSA`/`ES256`) and the ID-token family (`RS256`); a rotation or a
//! revocation moves both, or the revoked key's, the same way. Keys are generated inside the authority and stored sealed with
//! AES-256-GCM under a key derived from `KEY_ENCRYPTION_KEY`, bound to their `kid`. A key set
//! holds one `current` key (signs), one `next` key (published before it signs) and `retired`
//! keys (published until the last token they signed has expired). The `kid` is the key's
//! RFC 7638 thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, SecretKey, Seed};
use serde::{Deserialize, Serialize};

use crate::api::{KeyAlg, KeyState, PublicJwk};
use crate::crypto::{sha256_b64, Secrets};
use crate::lifetimes::MAX_ACCESS_TOKEN_TTL;
use crate::ports::{CryptoError, Rng, Signatures};

/// A signing key as stored: public part in clear, private part sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub alg: KeyAlg,
    pub state: KeyState,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
    /// After this instant the key is dropped from the JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The public key's JWK `x` (base64url); for an RSA key, its modulus `n`.
    pub x: String,
    /// The public key's JWK `y` (P-256 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The public exponent `e` (RSA only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
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
    #[error("no such key")]
    NoSuchKey,
    #[error("signing key generation failed")]
    Generation,
}

/// The private half of a current key, unsealed.
pub enum SigningKey {
    /// The private seed (RFC 8032 §5.1.5), handed to the runtime.
    Ed25519(Seed),
    /// PKCS #8 DER, handed to WebCrypto.
    P256(Vec<u8>),
    /// PKCS #8 DER, handed to WebCrypto.
    Rsa(Vec<u8>),
}

/// A public key, ours or a trusted issuer's, as the [`Signatures`] port checks it: P-256 and
/// RSA keys as their JWK members (base64url), which is what WebCrypto imports; an Ed25519 key
/// as its 32 bytes.
pub enum VerifyingKey {
    Ed25519([u8; 32]),
    P256 { x: String, y: String },
    Rsa { n: String, e: String },
}

impl VerifyingKey {
    /// The one algorithm the key checks.
    pub fn alg(&self) -> KeyAlg {
        match self {
            Self::Ed25519(_) => KeyAlg::EdDSA,
            Self::P256 { .. } => KeyAlg::ES256,
            Self::Rsa { .. } => KeyAlg::RS256,
        }
    }

    /// Whether `signature` over `signed` holds under this key, checked by the runtime
    /// (`cache_key` names the imported key there). An `EdDSA` or `ES256` signature that is not
    /// 64 bytes fails without asking; a failure of the runtime fails the signature.
    pub async fn verifies(
        &self,
        signatures: &dyn Signatures,
        cache_key: &str,
        signed: &[u8],
        signature: &[u8],
    ) -> bool {
        let checked = match self {
            Self::Ed25519(key) if signature.len() == 64 => {
                signatures
                    .verify_ed25519(cache_key, key, signed, signature)
                    .await
            }
            Self::P256 { x, y } if signature.len() == 64 => {
                signatures.verify(cache_key, x, y, signed, signature).await
            }
            Self::Rsa { n, e } => {
                signatures
                    .verify_rs256(cache_key, n, e, signed, signature)
                    .await
            }
            _ => return false,
        };
        checked.unwrap_or(false)
    }
}

/// The types of JWS a key signs (the header's `typ`, RFC 7515 §4.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsType {
    /// An access token, `at+jwt` (RFC 9068 §2.1).
    AccessToken,
    /// An OpenID Connect ID token, `JWT`.
    IdToken,
}

impl JwsType {
    /// The `typ` header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "at+jwt",
            Self::IdToken => "JWT",
        }
    }
}

/// A current key, unsealed, with its `kid` and algorithm.
pub struct Signer {
    pub kid: String,
    pub alg: KeyAlg,
    pub key: SigningKey,
    /// The base64url JWS header (`alg`, `kid`, `typ`) for each [`JwsType`], in its order:
    /// encoded once when the key is loaded, not for every token.
    headers: [String; 2],
}

impl Signer {
    /// The base64url JWS header of a `typ` token signed by this key.
    pub fn encoded_header(&self, typ: JwsType) -> &str {
        &self.headers[typ as usize]
    }
}

/// The key set an isolate uses: the loaded keys and the key-set version they came from (the
/// verified-token cache is keyed by it).
pub struct KeysInUse {
    pub version: u64,
    pub loaded: LoadedKeys,
}

/// The key set ready for use: the unsealed signing key, parsed verifying keys, and the JWKS
/// document pre-serialised.
pub struct LoadedKeys {
    /// The access-token family's current key.
    pub signer: Signer,
    /// The ID-token family's current key (`RS256`); absent from a key set made before it
    /// existed, until the authority adds it ([`KeySet::ensure_id_family`]).
    pub id_signer: Option<Signer>,
    /// Published keys by `kid`, with when each was retired (if it was).
    verifying: Vec<(String, VerifyingKey, Option<u64>)>,
    pub jwks: String,
}

impl LoadedKeys {
    /// The verifying key for `kid`, if the key set publishes it, with its retirement time.
    pub fn verifying_key(&self, kid: &str) -> Option<(&VerifyingKey, Option<u64>)> {
        self.verifying
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, key, retired)| (key, *retired))
    }
}

#[derive(Serialize)]
struct Jwks {
    keys: Vec<PublicJwk>,
}

impl StoredKey {
    async fn generate(
        alg: KeyAlg,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
        state: KeyState,
    ) -> Result<Self, CryptoError> {
        let (x, y, e, private) = match alg {
            KeyAlg::EdDSA => {
                let mut seed = [0u8; 32];
                rng.fill(&mut seed);
                let pair = KeyPair::from_seed(Seed::new(seed));
                (
                    URL_SAFE_NO_PAD.encode(pair.pk.as_ref()),
                    None,
                    None,
                    pair.sk.to_vec(),
                )
            }
            KeyAlg::ES256 => {
                let pair = signatures.generate().await?;
                (pair.x, Some(pair.y), None, pair.pkcs8)
            }
            KeyAlg::RS256 => {
                let pair = signatures.generate_rs256().await?;
                (pair.n, None, Some(pair.e), pair.pkcs8)
            }
        };
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let thumbprint_input = match (&y, &e) {
            (Some(y), _) => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            (None, Some(e)) => format!(r#"{{"e":"{e}","kty":"RSA","n":"{x}"}}"#),
            (None, None) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        let kid = sha256_b64(thumbprint_input.as_bytes());
        let sealed_private = secrets.seal(rng, &kid, &private);
        Ok(Self {
            kid,
            alg,
            state,
            created_at: now,
            retired_at: None,
            expires_at: None,
            x,
            y,
            e,
            sealed_private,
        })
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> PublicJwk {
        let (kty, crv) = match self.alg {
            KeyAlg::EdDSA => ("OKP", Some("Ed25519")),
            KeyAlg::ES256 => ("EC", Some("P-256")),
            KeyAlg::RS256 => ("RSA", None),
        };
        let rsa = self.alg == KeyAlg::RS256;
        PublicJwk {
            kty: kty.into(),
            crv: crv.map(Into::into),
            x: (!rsa).then(|| self.x.clone()),
            y: self.y.clone(),
            n: rsa.then(|| self.x.clone()),
            e: self.e.clone(),
            kid: self.kid.clone(),
            alg: self.alg.as_str().into(),
            use_: "sig".into(),
        }
    }

    fn verifying_key(&self) -> Option<VerifyingKey> {
        match self.alg {
            KeyAlg::EdDSA => {
                let raw = URL_SAFE_NO_PAD.decode(&self.x).ok()?;
                <[u8; 32]>::try_from(raw.as_slice())
                    .ok()
                    .map(VerifyingKey::Ed25519)
            }
            KeyAlg::ES256 => Some(VerifyingKey::P256 {
                x: self.x.clone(),
                y: self.y.clone()?,
            }),
            KeyAlg::RS256 => Some(VerifyingKey::Rsa {
                n: self.x.clone(),
                e: self.e.clone()?,
            }),
        }
    }

    /// Whether the key belongs to the access-token family (else the ID-token family).
    fn in_access_family(&self) -> bool {
        self.alg.signs_access_tokens()
    }

    /// The private key, unsealed.
    fn signer(&self, secrets: &Secrets) -> Result<Signer, KeyError> {
        let unseal_err = || KeyError::Unseal(self.kid.clone());
        let raw = secrets
            .open(&self.kid, &self.sealed_private)
            .map_err(|_| unseal_err())?;
        let key = match self.alg {
            KeyAlg::EdDSA => SigningKey::Ed25519(
                SecretKey::from_slice(&raw)
                    .map_err(|_| unseal_err())?
                    .seed(),
            ),
            KeyAlg::ES256 => SigningKey::P256(raw),
            KeyAlg::RS256 => SigningKey::Rsa(raw),
        };
        let header = |typ: JwsType| {
            let json = serde_json::json!({ "alg": self.alg.as_str(), "kid": self.kid, "typ": typ.as_str() });
            URL_SAFE_NO_PAD.encode(json.to_string())
        };
        Ok(Signer {
            kid: self.kid.clone(),
            alg: self.alg,
            key,
            headers: [header(JwsType::AccessToken), header(JwsType::IdToken)],
        })
    }

    fn is_published(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|exp| exp > now)
    }
}

impl KeySet {
    /// A fresh key set whose access-token family is of algorithm `alg` (`EdDSA` or `ES256`):
    /// a `current` key and a `next` key in each family.
    pub async fn generate(
        alg: KeyAlg,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
    ) -> Result<Self, CryptoError> {
        let mut set = Self {
            keys: vec![
                StoredKey::generate(alg, secrets, rng, signatures, now, KeyState::Current).await?,
                StoredKey::generate(alg, secrets, rng, signatures, now, KeyState::Next).await?,
            ],
            version: 1,
        };
        set.ensure_id_family(secrets, rng, signatures, now).await?;
        set.version = 1;
        Ok(set)
    }

    /// Whether the set has its ID-token family (a set made before ID tokens existed has not).
    pub fn has_id_family(&self) -> bool {
        self.keys
            .iter()
            .any(|k| !k.in_access_family() && k.state == KeyState::Current)
    }

    /// Adds the `RS256` ID-token family (`current` and `next`) when the set lacks it.
    pub async fn ensure_id_family(
        &mut self,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
    ) -> Result<(), CryptoError> {
        if self.has_id_family() {
            return Ok(());
        }
        for state in [KeyState::Current, KeyState::Next] {
            let key =
                StoredKey::generate(KeyAlg::RS256, secrets, rng, signatures, now, state).await?;
            self.keys.push(key);
        }
        self.version += 1;
        Ok(())
    }

    /// Rotation without downtime, in both families: `next` becomes `current`, `current`
    /// retires until every token it could have signed has expired, a new `next` is made (in
    /// the access-token family of algorithm `alg`, default the old `next`'s), and expired keys
    /// are dropped.
    pub async fn rotate(
        &mut self,
        alg: Option<KeyAlg>,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
    ) -> Result<(), CryptoError> {
        self.keys.retain(|k| k.is_published(now));
        self.rotate_family(true, alg, secrets, rng, signatures, now)
            .await?;
        if self.has_id_family() {
            self.rotate_family(false, None, secrets, rng, signatures, now)
                .await?;
        } else {
            self.ensure_id_family(secrets, rng, signatures, now).await?;
        }
        self.version += 1;
        Ok(())
    }

    /// Rotates one family (`access`: the access-token family, else the ID-token family).
    async fn rotate_family(
        &mut self,
        access: bool,
        alg: Option<KeyAlg>,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
    ) -> Result<(), CryptoError> {
        let ours = |k: &StoredKey| k.in_access_family() == access;
        let default = if access {
            KeyAlg::default()
        } else {
            KeyAlg::RS256
        };
        let next_alg = alg.unwrap_or_else(|| {
            self.keys
                .iter()
                .find(|k| ours(k) && k.state == KeyState::Next)
                .map_or(default, |k| k.alg)
        });
        let fresh =
            StoredKey::generate(next_alg, secrets, rng, signatures, now, KeyState::Next).await?;
        let replacement = if self
            .keys
            .iter()
            .any(|k| ours(k) && k.state == KeyState::Next)
        {
            None
        } else {
            Some(
                StoredKey::generate(next_alg, secrets, rng, signatures, now, KeyState::Current)
                    .await?,
            )
        };
        for key in self.keys.iter_mut().filter(|k| ours(k)) {
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
        self.keys.extend(replacement);
        self.keys.push(fresh);
        Ok(())
    }

    /// Revokes key `kid` outright (a compromise): it leaves the set and the JWKS at once. A
    /// revoked `current` key is replaced by rotation first (the `next` key, already
    /// published, signs from now on); a revoked `next` key is replaced by a fresh one.
    pub async fn revoke(
        &mut self,
        kid: &str,
        secrets: &Secrets,
        rng: &dyn Rng,
        signatures: &dyn Signatures,
        now: u64,
    ) -> Result<(), KeyError> {
        let (state, access) = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| (k.state, k.in_access_family()))
            .ok_or(KeyError::NoSuchKey)?;
        let generation = |_| KeyError::Generation;
        match state {
            KeyState::Current => {
                self.keys.retain(|k| k.is_published(now));
                self.rotate_family(access, None, secrets, rng, signatures, now)
                    .await
                    .map_err(generation)?;
            }
            KeyState::Next => {
                let alg = self.keys.iter().find(|k| k.kid == kid).map(|k| k.alg);
                let fresh = StoredKey::generate(
                    alg.unwrap_or_default(),
                    secrets,
                    rng,
                    signatures,
                    now,
                    KeyState::Next,
                )
                .await
                .map_err(generation)?;
                self.keys.push(fresh);
            }
            KeyState::Retired => {}
        }
        self.keys.retain(|k| k.kid != kid);
        self.version += 1;
        Ok(())
    }

    /// Unseals the current keys and parses the published ones.
    pub fn load(&self, secrets: &Secrets, now: u64) -> Result<LoadedKeys, KeyError> {
        let current = |access: bool| {
            self.keys
                .iter()
                .find(|k| k.state == KeyState::Current && k.in_access_family() == access)
        };
        let signer = current(true)
            .ok_or(KeyError::NoCurrentKey)?
            .signer(secrets)?;
        let id_signer = current(false).map(|k| k.signer(secrets)).transpose()?;
        let published: Vec<&StoredKey> = self.keys.iter().filter(|k| k.is_published(now)).collect();
        let verifying = published
            .iter()
            .filter_map(|k| Some((k.kid.clone(), k.verifying_key()?, k.retired_at)))
            .collect();
        let jwks = Jwks {
            keys: published.iter().map(|k| k.public_jwk()).collect(),
        };
        Ok(LoadedKeys {
            signer,
            id_signer,
            verifying,
            jwks: serde_json::to_string(&jwks).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests;
