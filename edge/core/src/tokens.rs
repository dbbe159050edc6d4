//! Access tokens: RFC 9068 JWTs, modelled and parsed with `jwt-compact`; every signature is
//! made and checked through the [`Signatures`] port (the runtime's WebCrypto in the worker).
//!
//! Issuing: header `typ: at+jwt`, `kid`, `alg` (the current key's: `EdDSA` by default, or
//! `ES256`); claims `iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`, `scope` plus
//! the client's custom claims. Verifying (RFC 9068 §4, RFC 8725): a size cap, an algorithm
//! allow-list (`EdDSA`, `ES256`: never `none`, never HMAC) that must also match the key the
//! `kid` names, `typ`, no `crit`, no member named twice in the header or claims, the
//! signature, then `iss`, `exp`, `nbf` and `iat` with a leeway. Embedded `jwk`, `jku` and `x5u`
//! headers are ignored: only our own keys verify. The same JWS signing and key checks serve
//! OpenID Connect ID tokens ([`sign_jws`], [`verify_id_token`]; their claims are the ID-token
//! service's).

use std::collections::HashSet;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jwt_compact::{Claims, UntrustedToken};
use serde::de::DeserializeOwned;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::api::KeyAlg;
use crate::keys::{JwsType, LoadedKeys, Signer, SigningKey, VerifyingKey};
use crate::ports::{CryptoError, Signatures};

/// Longest token accepted for verification.
pub const MAX_TOKEN_LEN: usize = 8192;
/// Default clock leeway in seconds.
pub const DEFAULT_LEEWAY: u64 = 60;

/// `aud`: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` is among the audiences.
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Self::One(a) => a == aud,
            Self::Many(all) => all.iter().any(|a| a == aud),
        }
    }
}

/// The claims of a Portcullis access token besides the time claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Per-client custom claims.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.1); absent on a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim of a DPoP-bound token (RFC 7800 §3.1, RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the proof key, base64url.
    pub jkt: String,
}

/// A verified token: its claims and timestamps, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: AccessClaims,
    pub iat: u64,
    pub exp: u64,
    pub nbf: Option<u64>,
    pub kid: String,
    /// When the signing key was retired, if it was: it vouches only for tokens issued
    /// before then (plus the leeway).
    pub key_retired_at: Option<u64>,
}

impl Verified {
    /// Every claim as one JSON object (the `/verify` and introspection payload).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = match serde_json::to_value(&self.claims) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        out.insert("iat".into(), self.iat.into());
        out.insert("exp".into(), self.exp.into());
        out
    }
}

/// Why a token was refused. The caller answers `invalid_token` for all of them; the variant
/// only goes to logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token too large")]
    TooLarge,
    #[error("token malformed")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("wrong token type")]
    Type,
    #[error("unknown critical header")]
    Critical,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("issued in the future")]
    IssuedInFuture,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("revoked")]
    Revoked,
    #[error("issued after its key was retired")]
    RetiredKey,
}

/// Header fields we read beyond jwt-compact's own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ExtraHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crit: Option<Value>,
    /// A DPoP proof's public key (RFC 9449 §4.2); read only there, ignored in any token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jwk: Option<Value>,
}

/// The structural checks every token passes before its key is looked up, ours or a trusted
/// issuer's: the size cap, three base64url parts of JSON, no member named twice in the header
/// or the claims, and no `crit` (we understand no extension, RFC 7515 §4.1.11).
pub(crate) fn parse_untrusted(token: &str) -> Result<UntrustedToken<'_, ExtraHeader>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLarge);
    }
    let untrusted =
        UntrustedToken::<ExtraHeader>::try_from(token).map_err(|_| TokenError::Malformed)?;
    for part in token.split('.').take(2) {
        let json = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::Malformed)?;
        if serde_json::from_slice::<UniqueKeys>(&json).is_err() {
            return Err(TokenError::Malformed);
        }
    }
    if untrusted.header().other_fields.crit.is_some() {
        return Err(TokenError::Critical);
    }
    Ok(untrusted)
}

/// A JSON value in which no object names a member twice. RFC 7515 §5.2 and RFC 7519 §4 let a
/// parser either refuse duplicates or keep the last one; serde does both (it refuses a
/// struct's field named twice but keeps the last of a map's, such as our custom claims), so
/// what one reader of a token sees could differ from another's. We refuse them all.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Self;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Self>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(de::Error::custom("a member is named twice"));
            }
            map.next_value::<Self>()?;
        }
        Ok(self)
    }
}

fn to_datetime(secs: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

pub(crate) fn to_secs(t: Option<DateTime<Utc>>) -> Option<u64> {
    t.and_then(|t| u64::try_from(t.timestamp()).ok())
}

/// Signs an access token with the current key.
pub async fn sign(
    keys: &LoadedKeys,
    claims: AccessClaims,
    iat: u64,
    ttl: u64,
    signatures: &dyn Signatures,
) -> Result<String, CryptoError> {
    let full = timed(claims, iat, ttl);
    sign_jws(&keys.signer, JwsType::AccessToken, &full, signatures).await
}

/// `claims` valid `ttl` seconds from `iat`, as jwt-compact signs them.
pub(crate) fn timed<T>(claims: T, iat: u64, ttl: u64) -> Claims<T> {
    let mut full = Claims::new(claims);
    full.issued_at = to_datetime(iat);
    full.expiration = to_datetime(iat + ttl);
    full
}

/// Signs `claims` as a compact JWS (RFC 7515 §7.1) of type `typ` under `signer` (its header
/// encoded once, when the key was loaded), through the [`Signatures`] port (in the worker, the
/// runtime's WebCrypto for every algorithm).
pub(crate) async fn sign_jws<T: Serialize>(
    signer: &Signer,
    typ: JwsType,
    claims: &Claims<T>,
    signatures: &dyn Signatures,
) -> Result<String, CryptoError> {
    let kid = signer.kid.as_str();
    // WebCrypto signs asynchronously, which jwt-compact's `Algorithm` cannot express: the
    // compact serialisation is assembled here.
    let claims = serde_json::to_vec(claims).map_err(|e| CryptoError(e.to_string()))?;
    let header = signer.encoded_header(typ);
    // The header, the claims and a signature of up to 256 bytes (RS256), each base64url.
    let mut token = String::with_capacity(header.len() + (claims.len() + 258) * 4 / 3 + 2);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let message = token.as_bytes();
    let signature = match &signer.key {
        SigningKey::Ed25519(seed) => signatures.sign_ed25519(kid, &seed[..], message),
        SigningKey::P256(pkcs8) => signatures.sign(kid, pkcs8, message),
        SigningKey::Rsa(pkcs8) => signatures.sign_rs256(kid, pkcs8, message),
    }
    .await?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// What verification checks besides the signature.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    /// Checked when given.
    pub audience: Option<&'a str>,
    pub now: u64,
    pub leeway: u64,
}

/// Verifies a token against our keys and `expect`.
pub async fn verify(
    token: &str,
    keys: &LoadedKeys,
    signatures: &dyn Signatures,
    expect: &Expectations<'_>,
) -> Result<Verified, TokenError> {
    let verified = verify_signature(token, keys, signatures).await?;
    check_claims(&verified, expect)?;
    Ok(verified)
}

/// The expensive half of verification: size, structure, header rules and the signature.
/// Its result depends only on the token and the key set, so it may be cached; the claims must
/// still pass [`check_claims`] on every use.
pub async fn verify_signature(
    token: &str,
    keys: &LoadedKeys,
    signatures: &dyn Signatures,
) -> Result<Verified, TokenError> {
    let untrusted = parse_untrusted(token)?;
    let alg = KeyAlg::parse(untrusted.algorithm()).ok_or(TokenError::Algorithm)?;
    let header = untrusted.header();
    let typ = header.token_type.as_deref().unwrap_or_default();
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(TokenError::Type);
    }
    // An ID-token key (RS256) never vouches for an access token.
    if !alg.signs_access_tokens() {
        return Err(TokenError::Algorithm);
    }
    let kid = header.key_id.as_deref().ok_or(TokenError::UnknownKey)?;
    let (key, key_retired_at) = keys.verifying_key(kid).ok_or(TokenError::UnknownKey)?;
    let claims =
        checked_claims::<AccessClaims>(token, &untrusted, alg, kid, key, signatures).await?;
    Ok(Verified {
        exp: to_secs(claims.expiration).ok_or(TokenError::Malformed)?,
        iat: to_secs(claims.issued_at).ok_or(TokenError::Malformed)?,
        nbf: to_secs(claims.not_before),
        claims: claims.custom,
        kid: kid.to_owned(),
        key_retired_at,
    })
}

/// The claims of `token`, once its signature holds under our key `key` (named `kid`) for the
/// header's algorithm `alg`, which must be the key's: no algorithm confusion.
async fn checked_claims<T: DeserializeOwned>(
    token: &str,
    untrusted: &UntrustedToken<'_, ExtraHeader>,
    alg: KeyAlg,
    kid: &str,
    key: &VerifyingKey,
    signatures: &dyn Signatures,
) -> Result<Claims<T>, TokenError> {
    if key.alg() != alg {
        return Err(TokenError::Algorithm);
    }
    let signed = token.rsplit_once('.').map_or("", |(s, _)| s).as_bytes();
    if !key
        .verifies(signatures, kid, signed, untrusted.signature_bytes())
        .await
    {
        return Err(TokenError::Signature);
    }
    untrusted
        .deserialize_claims_unchecked::<T>()
        .map_err(|_| TokenError::Malformed)
}

/// Verifies the signature of one of our own ID tokens (`typ` `JWT` or none, any of our
/// published keys) and answers its claims; the caller checks them. Time claims are not
/// checked: an `id_token_hint` may have expired (OIDC Core §3.1.2.1, RP-Initiated Logout
/// §2).
pub async fn verify_id_token<T: DeserializeOwned>(
    token: &str,
    keys: &LoadedKeys,
    signatures: &dyn Signatures,
) -> Result<T, TokenError> {
    let untrusted = parse_untrusted(token)?;
    let alg = KeyAlg::parse(untrusted.algorithm()).ok_or(TokenError::Algorithm)?;
    let header = untrusted.header();
    if !header
        .token_type
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(TokenError::Type);
    }
    let kid = header.key_id.as_deref().ok_or(TokenError::UnknownKey)?;
    let (key, _) = keys.verifying_key(kid).ok_or(TokenError::UnknownKey)?;
    Ok(
        checked_claims::<T>(token, &untrusted, alg, kid, key, signatures)
            .await?
            .custom,
    )
}

/// The cheap half: `exp`, `nbf`, `iat` with the leeway, `iss`, and `aud` when expected.
pub fn check_claims(v: &Verified, expect: &Expectations<'_>) -> Result<(), TokenError> {
    if expect.now >= v.exp.saturating_add(expect.leeway) {
        return Err(TokenError::Expired);
    }
    if v.nbf.is_some_and(|nbf| nbf > expect.now + expect.leeway) {
        return Err(TokenError::NotYetValid);
    }
    if v.iat > expect.now + expect.leeway {
        return Err(TokenError::IssuedInFuture);
    }
    if v.key_retired_at
        .is_some_and(|retired| v.iat > retired + expect.leeway)
    {
        return Err(TokenError::RetiredKey);
    }
    if v.claims.iss != expect.issuer {
        return Err(TokenError::Issuer);
    }
    if expect
        .audience
        .is_some_and(|aud| !v.claims.aud.contains(aud))
    {
        return Err(TokenError::Audience);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
