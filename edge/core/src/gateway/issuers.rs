//! Trusted external issuers: validation of their configuration, their JWKS (RFC 7517) fetched
//! through the [`HttpClient`](crate::ports::HttpClient) port and cached in the isolate, and
//! verification of their tokens (RFC 7519, RFC 8725).
//!
//! Signatures: `EdDSA`, `RS256` (2048-bit minimum) and `ES256` through the runtime's WebCrypto
//! ([`Signatures`](crate::ports::Signatures) port), because pure-Rust RSA and P-256 would double
//! the worker's size and every one of them is slower in wasm. Only the issuer's
//! allow-listed algorithms are accepted, the header `alg` must match
//! the key's type (and the JWK's own `alg` when it names one), and `none` and HMAC cannot be
//! configured at all. An unknown `kid` refetches the JWKS at most once per cool-down, so a
//! flood of made-up key ids cannot hammer the issuer. Only access tokens pass: the header
//! `typ` must be one of the entry's `token_types` (`at+jwt` and `JWT` by default; none counts as
//! `JWT`), and a token with an ID token's `nonce` or `at_hash` claim is refused (OIDC Core §2).

use std::collections::HashMap;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::{Claims, UntrustedToken};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::{Algorithm, TrustedIssuer};
use crate::crypto::sha256_b64;
use crate::error::ApiError;
use crate::keys::VerifyingKey;
use crate::ports::{Failure, HttpClient, Signatures};
use crate::tokens::{
    check_claims, parse_untrusted, to_secs, AccessClaims, Audience, Confirmation, Expectations,
    ExtraHeader, TokenError, Verified,
};
use crate::uri::is_jwks_uri;

/// Most trusted issuers.
pub const MAX_ISSUERS: usize = 50;
/// Largest JWKS document read.
pub const MAX_JWKS_LEN: usize = 64 * 1024;
/// How long fetched keys are used before they are refreshed.
pub const JWKS_TTL_MS: u64 = 10 * 60 * 1000;
/// Default least time between two fetches of one issuer's JWKS.
pub const DEFAULT_JWKS_COOLDOWN_SECS: u64 = 30;

/// Least RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS: usize = 256;

/// One usable key of a JWKS (see [`parse_jwks`]).
pub struct ExternalKey {
    kid: String,
    /// The JWK's own `alg`, when it names one.
    alg: Option<String>,
    material: VerifyingKey,
}

impl ExternalKey {
    /// Parses one public JWK (RFC 7517 §4) of a usable type: RSA of 2048 bits or more, EC
    /// P-256, OKP Ed25519, not of another `use`. A key without `kid` gets an empty one.
    pub fn from_jwk(jwk: &Value) -> Option<Self> {
        parse_key(jwk)
    }

    /// Its `kid` (empty when the JWK names none).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether the key can check `alg`: its type fits, and its own `alg`, when it names one,
    /// is `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        let family = self.material.alg().as_str() == alg.as_str();
        family && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    /// The key's JWK SHA-256 thumbprint (RFC 7638 §3), base64url: the required members in
    /// lexicographic order, each re-encoded canonically.
    pub fn thumbprint(&self) -> String {
        let canonical = |member: &str| {
            URL_SAFE_NO_PAD.encode(URL_SAFE_NO_PAD.decode(member).unwrap_or_default())
        };
        let json = match &self.material {
            VerifyingKey::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                canonical(e),
                canonical(n)
            ),
            VerifyingKey::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                canonical(x),
                canonical(y)
            ),
            VerifyingKey::Ed25519(k) => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(k)
            ),
        };
        sha256_b64(json.as_bytes())
    }

    /// Checks the signature of `token` (parsed as `untrusted`) under `alg` with this key,
    /// through the [`Signatures`] port (`cache_key` and the key's public member name the
    /// imported key there). The claims are not checked.
    pub(crate) async fn check_signature(
        &self,
        alg: Algorithm,
        token: &str,
        untrusted: &UntrustedToken<'_, ExtraHeader>,
        signatures: &dyn Signatures,
        cache_key: &str,
    ) -> Result<(), TokenError> {
        if self.material.alg().as_str() != alg.as_str() {
            return Err(TokenError::Algorithm);
        }
        // One `kid` may name other keys after a refetch: the public member tells them apart.
        let cache_key = match &self.material {
            VerifyingKey::Rsa { n, .. } => format!("{cache_key}#{n}"),
            VerifyingKey::P256 { x, .. } => format!("{cache_key}#{x}"),
            VerifyingKey::Ed25519(k) => format!("{cache_key}#{}", URL_SAFE_NO_PAD.encode(k)),
        };
        let signed = token.rsplit_once('.').map_or("", |(s, _)| s).as_bytes();
        if self
            .material
            .verifies(signatures, &cache_key, signed, untrusted.signature_bytes())
            .await
        {
            Ok(())
        } else {
            Err(TokenError::Signature)
        }
    }
}

/// Whether a JWK holds a private or symmetric member (RFC 7518 §6.2.2, §6.3.2, §6.4): a key
/// that must never be sent.
pub fn has_private_member(jwk: &Value) -> bool {
    ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
        .iter()
        .any(|m| jwk.get(m).is_some())
}

/// An issuer's keys as last fetched.
struct JwksEntry {
    keys: Rc<Vec<ExternalKey>>,
    /// When the last fetch was attempted (successful or not): the cool-down's start.
    attempted_ms: u64,
    /// When the keys must be refreshed.
    fresh_until_ms: u64,
}

/// Fetched JWKS documents by `jwks_uri`.
#[derive(Default)]
pub struct JwksCache(std::cell::RefCell<HashMap<String, JwksEntry>>);

/// Checks the issuer list; the error names the first field at fault.
pub fn validate(issuers: &[TrustedIssuer]) -> Result<(), ApiError> {
    if issuers.len() > MAX_ISSUERS {
        return Err(ApiError::invalid("issuers", "at most 50 issuers"));
    }
    for (i, t) in issuers.iter().enumerate() {
        let field = |name: &str| format!("issuers[{i}].{name}");
        if t.issuer.is_empty() || t.issuer.len() > 2048 {
            return Err(ApiError::invalid(&field("issuer"), "1 to 2048 characters"));
        }
        if issuers[..i].iter().any(|o| o.issuer == t.issuer) {
            return Err(ApiError::invalid(&field("issuer"), "listed twice"));
        }
        if !is_jwks_uri(&t.jwks_uri) {
            return Err(ApiError::invalid(
                &field("jwks_uri"),
                "must be an https:// URL (http:// only on loopback)",
            ));
        }
        if t.audiences.is_empty() || t.audiences.iter().any(|a| a.is_empty() || a.len() > 2048) {
            return Err(ApiError::invalid(
                &field("audiences"),
                "at least one audience, each 1 to 2048 characters",
            ));
        }
        if t.algorithms.is_empty() {
            return Err(ApiError::invalid(
                &field("algorithms"),
                "at least one of RS256, ES256, EdDSA",
            ));
        }
        if t.token_types.is_empty()
            || t.token_types.len() > 8
            || t.token_types.iter().any(|m| !is_media_type(m))
        {
            return Err(ApiError::invalid(
                &field("token_types"),
                "1 to 8 media types such as at+jwt or JWT",
            ));
        }
    }
    Ok(())
}

/// Whether `value` is a media type name as `typ` carries it (RFC 6838 §4.2 characters, an
/// optional `type/` part).
fn is_media_type(value: &str) -> bool {
    (1..=127).contains(&value.len())
        && value.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        })
        && value.matches('/').count() <= 1
}

/// `typ` as compared: lower case, without `application/` (RFC 7515 §4.1.9).
fn token_type(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// The claims read from an external token beyond the time claims.
#[derive(Deserialize)]
struct ExternalClaims {
    iss: String,
    #[serde(default)]
    sub: String,
    aud: Audience,
    #[serde(default)]
    jti: String,
    /// RFC 9068 `client_id`, else `OpenID` `azp`.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    /// RFC 8693 `scope`, else Okta-style `scp` (an array).
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Vec<String>>,
    /// Present only in ID tokens: such a token is refused.
    #[serde(default)]
    nonce: Option<Value>,
    #[serde(default)]
    at_hash: Option<Value>,
    /// RFC 9449 §6.1: the key a DPoP-bound token is bound to.
    #[serde(default)]
    cnf: Option<Confirmation>,
}

fn parse_key(jwk: &Value) -> Option<ExternalKey> {
    let kid = match jwk.get("kid") {
        Some(kid) => kid.as_str()?.to_owned(),
        None => String::new(),
    };
    if jwk
        .get("use")
        .and_then(Value::as_str)
        .is_some_and(|u| u != "sig")
    {
        return None;
    }
    let alg = jwk.get("alg").and_then(Value::as_str).map(str::to_owned);
    let member = |name: &str| -> Option<String> {
        let value = jwk.get(name)?.as_str()?;
        URL_SAFE_NO_PAD.decode(value).ok().map(|_| value.to_owned())
    };
    let decoded_len = |name: &str| {
        member(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .map(|v| v.len())
    };
    let material = match jwk.get("kty")?.as_str()? {
        "RSA" => {
            let n = member("n")?;
            let significant = URL_SAFE_NO_PAD
                .decode(&n)
                .ok()?
                .iter()
                .skip_while(|b| **b == 0)
                .count();
            if significant < MIN_RSA_MODULUS {
                return None;
            }
            VerifyingKey::Rsa { n, e: member("e")? }
        }
        "EC" if jwk.get("crv")?.as_str()? == "P-256" => {
            if decoded_len("x")? != 32 || decoded_len("y")? != 32 {
                return None;
            }
            VerifyingKey::P256 {
                x: member("x")?,
                y: member("y")?,
            }
        }
        "OKP" if jwk.get("crv")?.as_str()? == "Ed25519" => {
            // What jwt-compact's `JsonWebKey` accepts, without linking its deserializer: `x`,
            // and `d` unless absent or null, in unpadded base64url; `x` of 32 bytes.
            let bytes = |value: &Value| Base64UrlUnpadded::decode_vec(value.as_str()?).ok();
            if jwk
                .get("d")
                .is_some_and(|d| !d.is_null() && bytes(d).is_none())
            {
                return None;
            }
            VerifyingKey::Ed25519(bytes(jwk.get("x")?)?.try_into().ok()?)
        }
        _ => return None,
    };
    Some(ExternalKey { kid, alg, material })
}

/// The usable signing keys of a JWKS document (RFC 7517 §5): keys of another use, type or
/// curve, RSA moduli under 2048 bits and malformed members are skipped; `None` when the
/// document is not a JWKS at all.
pub fn parse_jwks(body: &str) -> Option<Vec<ExternalKey>> {
    keys_of(&serde_json::from_str(body).ok()?)
}

/// The usable signing keys of a parsed JWKS document (see [`parse_jwks`]).
pub fn keys_of(doc: &Value) -> Option<Vec<ExternalKey>> {
    Some(
        doc.get("keys")?
            .as_array()?
            .iter()
            .filter_map(parse_key)
            .collect(),
    )
}

/// Where a JWKS is published and whose it is (a trusted issuer, a `private_key_jwt` client),
/// for the log.
#[derive(Debug, Clone, Copy)]
pub struct KeySource<'a> {
    pub jwks_uri: &'a str,
    pub owner: &'a str,
}

/// The keys published at `source`, fetching the JWKS through `http` when it is stale or lacks
/// `kid` and the cool-down (`cooldown` ms since the last attempt) allows. An unreachable JWKS
/// keeps its last keys; why a fetch failed goes to `report`.
pub async fn key_set(
    cache: &JwksCache,
    http: &dyn HttpClient,
    now: u64,
    cooldown: u64,
    source: KeySource<'_>,
    kid: &str,
    report: impl FnOnce(Failure),
) -> Rc<Vec<ExternalKey>> {
    let (keys, may_fetch) = match cache.0.borrow().get(source.jwks_uri) {
        Some(e) => {
            let usable = e.fresh_until_ms > now && e.keys.iter().any(|k| k.kid == kid);
            (
                Some(Rc::clone(&e.keys)),
                !usable && now >= e.attempted_ms.saturating_add(cooldown),
            )
        }
        None => (None, true),
    };
    if !may_fetch {
        return keys.unwrap_or_default();
    }
    if keys.is_some() {
        // A refetch: count the attempt before awaiting it, so that tokens with unknown kids
        // arriving while it is in flight do not start fetches of their own (they are judged
        // on the keys at hand). The very first fetch of an isolate is not gated: every
        // request needs its answer.
        if let Some(e) = cache.0.borrow_mut().get_mut(source.jwks_uri) {
            e.attempted_ms = now;
        }
    }
    let failed = |why: Failure| -> Option<Rc<Vec<ExternalKey>>> {
        report(why.during(&format!("fetching the JWKS of {}", source.owner)));
        None
    };
    let fetched = match http.get(source.jwks_uri, MAX_JWKS_LEN).await {
        Ok((200, body)) => match parse_jwks(&body) {
            Some(keys) => Some(Rc::new(keys)),
            None => failed(Failure::new("fetch", "no usable key set")),
        },
        Ok((status, _)) => failed(Failure::new("fetch", &format!("answered {status}"))),
        Err(e) => failed(e.into()),
    };
    let mut map = cache.0.borrow_mut();
    let entry = map
        .entry(source.jwks_uri.to_owned())
        .or_insert_with(|| JwksEntry {
            keys: Rc::default(),
            attempted_ms: now,
            fresh_until_ms: 0,
        });
    entry.attempted_ms = now;
    if let Some(keys) = fetched {
        entry.keys = keys;
        entry.fresh_until_ms = now + JWKS_TTL_MS;
    }
    Rc::clone(&entry.keys)
}

/// A token of a trusted issuer that passed the structural checks of [`parse_untrusted`] (size,
/// no member named twice, no `crit`) and names one of the issuer's allowed algorithms and a
/// `kid`: what is needed to pick its key. Nothing in it is trusted yet.
pub struct ExternalToken<'t> {
    token: &'t str,
    untrusted: UntrustedToken<'t, ExtraHeader>,
    alg: Algorithm,
    issuer: &'t TrustedIssuer,
}

impl<'t> ExternalToken<'t> {
    /// Parses `token` for `issuer`.
    pub fn parse(issuer: &'t TrustedIssuer, token: &'t str) -> Result<Self, TokenError> {
        let untrusted = parse_untrusted(token)?;
        let alg = issuer
            .algorithms
            .iter()
            .copied()
            .find(|a| a.as_str() == untrusted.algorithm())
            .ok_or(TokenError::Algorithm)?;
        if untrusted
            .header()
            .key_id
            .as_deref()
            .is_none_or(str::is_empty)
        {
            return Err(TokenError::UnknownKey);
        }
        let typ = token_type(untrusted.header().token_type.as_deref().unwrap_or("JWT"));
        if !issuer.token_types.iter().any(|t| token_type(t) == typ) {
            return Err(TokenError::Type);
        }
        Ok(Self {
            token,
            untrusted,
            alg,
            issuer,
        })
    }

    /// The header's `kid` (present: [`parse`](Self::parse) checked it).
    pub fn kid(&self) -> &str {
        self.untrusted
            .header()
            .key_id
            .as_deref()
            .unwrap_or_default()
    }

    /// Verifies the token against `keys` (the issuer's JWKS): a key with the `kid` whose type
    /// fits the algorithm (and whose own `alg`, when it names one, is the header's), the
    /// signature, the time claims with the leeway and `iss` per `expect`, `aud` among the
    /// issuer's audiences (and equal to `expect.audience` when the route names one).
    pub async fn verify(
        &self,
        keys: &[ExternalKey],
        signatures: &dyn Signatures,
        expect: &Expectations<'_>,
    ) -> Result<Verified, TokenError> {
        let (alg, kid, untrusted) = (self.alg, self.kid(), &self.untrusted);
        let key = keys
            .iter()
            .find(|k| k.kid == kid && k.fits(alg))
            .ok_or(TokenError::UnknownKey)?;
        key.check_signature(
            alg,
            self.token,
            untrusted,
            signatures,
            &format!("{}#{kid}", self.issuer.jwks_uri),
        )
        .await?;
        let claims: Claims<ExternalClaims> = untrusted
            .deserialize_claims_unchecked()
            .map_err(|_| TokenError::Malformed)?;
        let custom = claims.custom;
        if custom.nonce.is_some() || custom.at_hash.is_some() {
            return Err(TokenError::Type);
        }
        let scope = match (custom.scope, custom.scp) {
            (Some(s), _) => s,
            (None, Some(list)) => list.join(" "),
            (None, None) => String::new(),
        };
        let verified = Verified {
            exp: to_secs(claims.expiration).ok_or(TokenError::Malformed)?,
            iat: to_secs(claims.issued_at).unwrap_or(0),
            nbf: to_secs(claims.not_before),
            claims: AccessClaims {
                iss: custom.iss,
                sub: custom.sub,
                aud: custom.aud,
                jti: custom.jti,
                client_id: custom.client_id.or(custom.azp).unwrap_or_default(),
                scope,
                extra: Map::new(),
                cnf: custom.cnf,
            },
            kid: kid.to_owned(),
            key_retired_at: None,
        };
        check_claims(&verified, expect)?;
        if !self
            .issuer
            .audiences
            .iter()
            .any(|a| verified.claims.aud.contains(a))
        {
            return Err(TokenError::Audience);
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_jwks_are_accepted_as_jwt_compact_accepts_them() {
        let x = URL_SAFE_NO_PAD.encode([9u8; 32]);
        let short = URL_SAFE_NO_PAD.encode([9u8; 31]);
        let cases = [
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": x}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": x, "d": null}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": x, "d": x}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": x, "d": "!"}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": x, "d": 7}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": short}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": format!("{x}=")}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519", "x": 7}),
            serde_json::json!({"kid": "a", "kty": "OKP", "crv": "Ed25519"}),
        ];
        for jwk in cases {
            let by_jwt_compact = serde_json::from_value::<jwt_compact::jwk::JsonWebKey<'_>>(
                jwk.clone(),
            )
            .ok()
            .and_then(|k| {
                <jwt_compact::alg::Ed25519 as jwt_compact::Algorithm>::VerifyingKey::try_from(&k)
                    .ok()
            });
            let ours = parse_key(&jwk).map(|k| k.material);
            match (ours, by_jwt_compact) {
                (Some(VerifyingKey::Ed25519(a)), Some(b)) => assert_eq!(a[..], b[..], "{jwk}"),
                (None, None) => {}
                _ => panic!("{jwk} parsed differently"),
            }
        }
    }
}
