//! DPoP proofs (RFC 9449 §4): parsing and checking one proof JWT against the request it came
//! with, and the stateless server nonces of §8.
//!
//! A proof passes when it is at most [`MAX_PROOF_LEN`] bytes of compact JWS with no member
//! named twice and no `crit` ([`crate::tokens`]'s structural checks), `typ` `dpop+jwt`, an
//! `alg` of [`JWS_ALG_NAMES`], a public `jwk` header (no private member) of a type that fits the
//! `alg`, a valid signature under that key, a `jti`, `htm` equal to the request's method, `htu`
//! equal to its URL without query and fragment (after RFC 3986 normalisation), an `iat` no older
//! than [`MAX_PROOF_AGE`] seconds and no further in the future than the leeway, and, when a
//! token is presented with it, `ath` equal to the token's SHA-256. Whether its `jti` was seen
//! before is the caller's to ask ([`Proof::replay_key`]), as is which key the token is bound to.
//!
//! Nonces are a MAC of a time slot of [`NONCE_SLOT`] seconds under a key derived from
//! `KEY_ENCRYPTION_KEY`: the current and the previous slot's nonce are accepted, so a nonce
//! works for at least [`NONCE_SLOT`] and at most twice that, and no state is kept.

use serde::Deserialize;

use crate::api::Algorithm;
use crate::crypto::{sha256_b64, Secrets};
use crate::gateway::issuers::{has_private_member, ExternalKey};
use crate::http::Method;
use crate::tokens::{parse_untrusted, to_secs};
use crate::uri::normalized_target;

/// The `alg` names accepted for proofs and client assertions, as metadata lists them:
/// `Ed25519` is RFC 9864's fully specified name for `EdDSA` over Ed25519 (what oauth4webapi
/// sends).
pub const JWS_ALG_NAMES: [&str; 4] = ["ES256", "EdDSA", "Ed25519", "RS256"];

/// The algorithm an accepted `alg` name stands for.
pub fn jws_alg(name: &str) -> Option<Algorithm> {
    match name {
        "ES256" => Some(Algorithm::ES256),
        "EdDSA" | "Ed25519" => Some(Algorithm::EdDSA),
        "RS256" => Some(Algorithm::RS256),
        _ => None,
    }
}
/// Longest proof accepted, bytes (an RSA-4096 `jwk` fits).
pub const MAX_PROOF_LEN: usize = 4096;
/// Oldest a proof's `iat` may be, seconds (plus the leeway); also how long its `jti` is kept.
pub const MAX_PROOF_AGE: u64 = 60;
/// Longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;
/// Seconds one server nonce slot lasts.
pub const NONCE_SLOT: u64 = 300;

/// Why a proof was refused: [`ProofError::reason`] is the `error_description` of
/// `invalid_dpop_proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    Missing,
    Malformed,
    Type,
    Algorithm,
    Key,
    Signature,
    Jti,
    Method,
    Url,
    Time,
    TokenHash,
    Replayed,
    WrongKey,
    Repeated,
}

impl ProofError {
    /// Why, for the caller.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "a DPoP proof is required",
            Self::Malformed => "the DPoP proof is not a well-formed JWT",
            Self::Type => "the DPoP proof's typ must be dpop+jwt",
            Self::Algorithm => "the DPoP proof's alg is not supported",
            Self::Key => "the DPoP proof's jwk is not a usable public key",
            Self::Signature => "the DPoP proof's signature is not valid",
            Self::Jti => "the DPoP proof has no usable jti",
            Self::Method => "the DPoP proof's htm is not the request's method",
            Self::Url => "the DPoP proof's htu is not the request's URL",
            Self::Time => "the DPoP proof's iat is too old or in the future",
            Self::TokenHash => "the DPoP proof's ath is not the access token's hash",
            Self::Replayed => "the DPoP proof was already used",
            Self::WrongKey => "the DPoP proof is for another key than the access token's",
            Self::Repeated => "send one DPoP header",
        }
    }
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// What a proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub method: Method,
    /// The request's URL (its query and fragment are ignored).
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub token: Option<&'a str>,
    pub now: u64,
    pub leeway: u64,
}

/// A proof that passed [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The JWK SHA-256 thumbprint of its key (RFC 7638).
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
    pub nonce: Option<String>,
}

impl Proof {
    /// The key under which the proof's use is recorded: a hash of its key and `jti`.
    pub fn replay_key(&self) -> String {
        sha256_b64(format!("dpop\n{}\n{}", self.jkt, self.jti).as_bytes())
    }

    /// Until when (seconds) its `jti` must be remembered: past that, its `iat` is too old.
    pub fn remember_until(&self, leeway: u64) -> u64 {
        self.iat + MAX_PROOF_AGE + 2 * leeway
    }
}

#[derive(Deserialize)]
struct ProofClaims {
    #[serde(default)]
    jti: String,
    #[serde(default)]
    htm: String,
    #[serde(default)]
    htu: String,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks `proof` (the `DPoP` header's value) against `expect`, signature included.
pub async fn verify(
    proof: &str,
    expect: &Expected<'_>,
    signatures: &dyn crate::ports::Signatures,
) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::Malformed);
    }
    let untrusted = parse_untrusted(proof).map_err(|_| ProofError::Malformed)?;
    let header = untrusted.header();
    if !header
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(ProofError::Type);
    }
    let alg = jws_alg(untrusted.algorithm()).ok_or(ProofError::Algorithm)?;
    let jwk = header.other_fields.jwk.as_ref().ok_or(ProofError::Key)?;
    if has_private_member(jwk) || !jwk.is_object() {
        return Err(ProofError::Key);
    }
    let key = ExternalKey::from_jwk(jwk)
        .filter(|k| k.fits(alg))
        .ok_or(ProofError::Key)?;
    key.check_signature(alg, proof, &untrusted, signatures, "dpop")
        .await
        .map_err(|_| ProofError::Signature)?;
    let claims = untrusted
        .deserialize_claims_unchecked::<ProofClaims>()
        .map_err(|_| ProofError::Malformed)?;
    let iat = to_secs(claims.issued_at).ok_or(ProofError::Time)?;
    let c = claims.custom;
    if c.jti.is_empty() || c.jti.len() > MAX_JTI_LEN {
        return Err(ProofError::Jti);
    }
    if c.htm != expect.method.as_str() {
        return Err(ProofError::Method);
    }
    let same_url = normalized_target(&c.htu)
        .zip(normalized_target(expect.url))
        .is_some_and(|(a, b)| a == b);
    if !same_url {
        return Err(ProofError::Url);
    }
    if iat + MAX_PROOF_AGE + expect.leeway < expect.now || iat > expect.now + expect.leeway {
        return Err(ProofError::Time);
    }
    if let Some(token) = expect.token {
        if c.ath.as_deref() != Some(sha256_b64(token.as_bytes()).as_str()) {
            return Err(ProofError::TokenHash);
        }
    }
    Ok(Proof {
        jkt: key.thumbprint(),
        jti: c.jti,
        iat,
        nonce: c.nonce,
    })
}

/// The server nonce of the slot `now` falls in.
pub fn nonce(secrets: &Secrets, now: u64) -> String {
    nonce_of_slot(secrets, now / NONCE_SLOT)
}

fn nonce_of_slot(secrets: &Secrets, slot: u64) -> String {
    format!(
        "{slot}.{}",
        secrets.nonce_mac(format!("dpop-nonce:{slot}").as_bytes())
    )
}

/// Whether `nonce` is the current or the previous slot's nonce.
pub fn nonce_is_fresh(secrets: &Secrets, nonce: &str, now: u64) -> bool {
    let current = now / NONCE_SLOT;
    let Some(slot) = nonce
        .split_once('.')
        .and_then(|(s, _)| s.parse::<u64>().ok())
    else {
        return false;
    };
    (slot == current || slot + 1 == current)
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            nonce.as_bytes(),
            nonce_of_slot(secrets, slot).as_bytes(),
        ))
}

/// The `algs` parameter of a DPoP challenge (RFC 9449 §7.1).
pub fn algs() -> String {
    JWS_ALG_NAMES.join(" ")
}

#[cfg(test)]
mod tests;
