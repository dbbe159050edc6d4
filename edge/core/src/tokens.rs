//! Access tokens: RFC 9068 JWTs, signed and verified with `jwt-compact`.
//!
//! Issuing: header `typ: at+jwt`, `kid`, `alg` (the current key's: `EdDSA` by default, `ES256`
//! through WebCrypto); claims `iss`, `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`, `scope` plus
//! the client's custom claims. Verifying (RFC 9068 §4, RFC 8725): a size cap, an algorithm
//! allow-list (`EdDSA`, `ES256`: never `none`, never HMAC) that must also match the key the
//! `kid` names, `typ`, no `crit`, no member named twice in the header or claims, the
//! signature, then `iss`, `exp`, `nbf` and `iat` with a leeway. Embedded `jwk`, `jku` and `x5u`
//! headers are ignored: only our own keys verify.

use std::collections::HashSet;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt, Claims, Header, UntrustedToken};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::keys::{KeyAlg, LoadedKeys, SigningKey, VerifyingKey};
use crate::ports::{CryptoError, Es256};

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
    es256: &dyn Es256,
) -> Result<String, CryptoError> {
    let mut full = Claims::new(claims);
    full.issued_at = to_datetime(iat);
    full.expiration = to_datetime(iat + ttl);
    let header = Header::empty()
        .with_key_id(keys.signing_kid.as_str())
        .with_token_type("at+jwt");
    match &keys.signing_key {
        SigningKey::Ed25519(key) => Ed25519
            .token(&header, &full, key)
            .map_err(|e| CryptoError(e.to_string())),
        SigningKey::P256(pkcs8) => {
            // WebCrypto signs asynchronously, which jwt-compact's `Algorithm` cannot express:
            // the compact serialisation (RFC 7515 §7.1) is assembled here.
            let header = serde_json::json!({
                "alg": "ES256",
                "kid": keys.signing_kid,
                "typ": "at+jwt",
            });
            let claims = serde_json::to_vec(&full).map_err(|e| CryptoError(e.to_string()))?;
            let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
            token.push('.');
            token.push_str(&URL_SAFE_NO_PAD.encode(claims));
            let signature = es256
                .sign(&keys.signing_kid, pkcs8, token.as_bytes())
                .await?;
            token.push('.');
            token.push_str(&URL_SAFE_NO_PAD.encode(signature));
            Ok(token)
        }
    }
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
    es256: &dyn Es256,
    expect: &Expectations<'_>,
) -> Result<Verified, TokenError> {
    let verified = verify_signature(token, keys, es256).await?;
    check_claims(&verified, expect)?;
    Ok(verified)
}

/// The expensive half of verification: size, structure, header rules and the signature.
/// Its result depends only on the token and the key set, so it may be cached; the claims must
/// still pass [`check_claims`] on every use.
pub async fn verify_signature(
    token: &str,
    keys: &LoadedKeys,
    es256: &dyn Es256,
) -> Result<Verified, TokenError> {
    let untrusted = parse_untrusted(token)?;
    let alg = KeyAlg::parse(untrusted.algorithm()).ok_or(TokenError::Algorithm)?;
    let header = untrusted.header();
    let typ = header.token_type.as_deref().unwrap_or_default();
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(TokenError::Type);
    }
    let kid = header.key_id.as_deref().ok_or(TokenError::UnknownKey)?;
    let (key, key_retired_at) = keys.verifying_key(kid).ok_or(TokenError::UnknownKey)?;
    let claims = match (alg, key) {
        (KeyAlg::EdDSA, VerifyingKey::Ed25519(key)) => {
            Ed25519
                .validator::<AccessClaims>(key)
                .validate(&untrusted)
                .map_err(|e| match e {
                    jwt_compact::ValidationError::MalformedClaims(_) => TokenError::Malformed,
                    _ => TokenError::Signature,
                })?
                .into_parts()
                .1
        }
        (KeyAlg::ES256, VerifyingKey::P256 { x, y }) => {
            let signature = untrusted.signature_bytes();
            let signed = token.rsplit_once('.').map_or("", |(s, _)| s);
            let valid = signature.len() == 64
                && es256
                    .verify(kid, x, y, signed.as_bytes(), signature)
                    .await
                    .unwrap_or(false);
            if !valid {
                return Err(TokenError::Signature);
            }
            untrusted
                .deserialize_claims_unchecked::<AccessClaims>()
                .map_err(|_| TokenError::Malformed)?
        }
        // The header's algorithm must be the key's: no algorithm confusion.
        _ => return Err(TokenError::Algorithm),
    };
    Ok(Verified {
        exp: to_secs(claims.expiration).ok_or(TokenError::Malformed)?,
        iat: to_secs(claims.issued_at).ok_or(TokenError::Malformed)?,
        nbf: to_secs(claims.not_before),
        claims: claims.custom,
        kid: kid.to_owned(),
        key_retired_at,
    })
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
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jwt_compact::{Algorithm, AlgorithmSignature};

    use super::*;
    use crate::crypto::Secrets;
    use crate::keys::KeyAlg;
    use crate::keys::KeySet;
    use crate::testing::{NativeEs256, SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

    const ISS: &str = "https://auth.example";

    fn keys_of(alg: KeyAlg) -> LoadedKeys {
        let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
        futures::executor::block_on(KeySet::generate(
            alg,
            &secrets,
            &SeqRng::default(),
            &NativeEs256,
            0,
        ))
        .unwrap()
        .load(&secrets, 0)
        .unwrap()
    }

    fn keys() -> LoadedKeys {
        keys_of(KeyAlg::EdDSA)
    }

    fn sign_t(keys: &LoadedKeys, claims: AccessClaims, iat: u64, ttl: u64) -> String {
        futures::executor::block_on(sign(keys, claims, iat, ttl, &NativeEs256)).unwrap()
    }

    fn verify_t(
        token: &str,
        keys: &LoadedKeys,
        expect: &Expectations<'_>,
    ) -> Result<Verified, TokenError> {
        futures::executor::block_on(verify(token, keys, &NativeEs256, expect))
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: ISS.into(),
            sub: "c1".into(),
            aud: Audience::One("https://api.example".into()),
            jti: "j1".into(),
            client_id: "c1".into(),
            scope: "read".into(),
            extra: Map::new(),
        }
    }

    fn expect(now: u64) -> Expectations<'static> {
        Expectations {
            issuer: ISS,
            audience: None,
            now,
            leeway: 60,
        }
    }

    fn b64(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    #[test]
    fn signed_token_verifies_with_rfc9068_header() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 3600);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"], keys.signing_kid.as_str());
        let v = verify_t(&token, &keys, &expect(1000)).unwrap();
        assert_eq!(v.claims, claims());
        assert_eq!((v.iat, v.exp), (1000, 4600));
    }

    #[test]
    fn expiry_and_maturity_respect_the_leeway() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 100);
        assert!(verify_t(&token, &keys, &expect(1159)).is_ok());
        assert_eq!(
            verify_t(&token, &keys, &expect(1160)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify_t(&token, &keys, &expect(900)),
            Err(TokenError::IssuedInFuture)
        );
    }

    #[test]
    fn exp_nbf_and_iat_are_judged_exactly_at_the_leeway_edges() {
        let at = |iat, exp, nbf| Verified {
            claims: claims(),
            iat,
            exp,
            nbf,
            kid: "k".into(),
            key_retired_at: None,
        };
        // exp 1000, leeway 60: valid through 1059, expired from 1060.
        assert!(check_claims(&at(900, 1000, None), &expect(1059)).is_ok());
        assert_eq!(
            check_claims(&at(900, 1000, None), &expect(1060)),
            Err(TokenError::Expired)
        );
        // nbf and iat 1060 at now 1000: exactly the leeway ahead passes, a second more fails.
        assert!(check_claims(&at(1060, 2000, Some(1060)), &expect(1000)).is_ok());
        assert_eq!(
            check_claims(&at(1000, 2000, Some(1061)), &expect(1000)),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            check_claims(&at(1061, 2000, None), &expect(1000)),
            Err(TokenError::IssuedInFuture)
        );
    }

    #[test]
    fn a_retired_key_vouches_only_for_tokens_issued_before_it_retired() {
        let at = |iat| Verified {
            claims: claims(),
            iat,
            exp: iat + 3600,
            nbf: None,
            kid: "k".into(),
            key_retired_at: Some(1000),
        };
        // Retired at 1000, leeway 60: issued up to 1060 passes, later was never its token.
        assert!(check_claims(&at(1060), &expect(1100)).is_ok());
        assert_eq!(
            check_claims(&at(1061), &expect(1100)),
            Err(TokenError::RetiredKey)
        );
    }

    #[test]
    fn issuer_and_audience_are_checked() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 100);
        let mut e = expect(1000);
        e.issuer = "https://other.example";
        assert_eq!(verify_t(&token, &keys, &e), Err(TokenError::Issuer));
        let mut e = expect(1000);
        e.audience = Some("https://nope.example");
        assert_eq!(verify_t(&token, &keys, &e), Err(TokenError::Audience));
        e.audience = Some("https://api.example");
        assert!(verify_t(&token, &keys, &e).is_ok());
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 100);
        let payload = token.split('.').nth(1).unwrap();
        for alg in ["none", "None", "NONE", "HS256"] {
            let header = b64(&format!(
                r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#,
                keys.signing_kid
            ));
            let forged = format!("{header}.{payload}.");
            assert_eq!(
                verify_t(&forged, &keys, &expect(1000)),
                Err(TokenError::Algorithm)
            );
        }
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 100);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut c = claims();
        c.scope = "read write admin".into();
        let mut full = Claims::new(c);
        full.issued_at = to_datetime(1000);
        full.expiration = to_datetime(1100);
        parts[1] = b64(&serde_json::to_string(&full).unwrap());
        assert_eq!(
            verify_t(&parts.join("."), &keys, &expect(1000)),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn unknown_kid_wrong_typ_and_crit_are_refused() {
        let keys = keys();
        let token = sign_t(&keys, claims(), 1000, 100);
        let rest = token.split_once('.').unwrap().1;
        let cases = [
            (
                r#"{"alg":"EdDSA","typ":"at+jwt","kid":"../../etc/passwd"}"#,
                TokenError::UnknownKey,
            ),
            (
                &*format!(
                    r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#,
                    keys.signing_kid
                ),
                TokenError::Type,
            ),
            (
                &*format!(
                    r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}","crit":["exp"]}}"#,
                    keys.signing_kid
                ),
                TokenError::Critical,
            ),
        ];
        for (header, want) in cases {
            let forged = format!("{}.{rest}", b64(header));
            assert_eq!(
                verify_t(&forged, &keys, &expect(1000)),
                Err(want),
                "{header}"
            );
        }
    }

    #[test]
    fn garbage_and_oversized_tokens_are_refused() {
        let keys = keys();
        for t in ["", "a.b", "a.b.c", "....", "eyJ.eyJ.sig"] {
            assert!(verify_t(t, &keys, &expect(0)).is_err(), "{t}");
        }
        let big = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(verify_t(&big, &keys, &expect(0)), Err(TokenError::TooLarge));
    }

    #[test]
    fn es256_tokens_sign_and_verify_through_the_port() {
        let keys = keys_of(KeyAlg::ES256);
        let token = sign_t(&keys, claims(), 1000, 3600);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "at+jwt");
        let v = verify_t(&token, &keys, &expect(1000)).unwrap();
        assert_eq!(v.claims, claims());
        let i = token.len() - 10;
        let mut tampered = token.clone();
        let flipped = if &token[i..=i] == "A" { "B" } else { "A" };
        tampered.replace_range(i..=i, flipped);
        assert_eq!(
            verify_t(&tampered, &keys, &expect(1000)),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn header_algorithm_must_match_the_key() {
        let keys = keys_of(KeyAlg::ES256);
        let token = sign_t(&keys, claims(), 1000, 3600);
        let rest = token.split_once('.').unwrap().1;
        let header = b64(&format!(
            r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#,
            keys.signing_kid
        ));
        assert_eq!(
            verify_t(&format!("{header}.{rest}"), &keys, &expect(1000)),
            Err(TokenError::Algorithm)
        );
    }

    /// `header.claims.signature` signed with our current Ed25519 key over the raw JSON texts.
    fn sign_raw(keys: &LoadedKeys, header: &str, claims: &str) -> String {
        let SigningKey::Ed25519(key) = &keys.signing_key else {
            panic!("an EdDSA key set");
        };
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = Ed25519.sign(key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_bytes()))
    }

    #[test]
    fn duplicate_keys_in_header_or_claims_are_refused_despite_a_valid_signature() {
        let keys = keys();
        let kid = keys.signing_kid.as_str();
        let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}"}}"#);
        let claims = r#"{"iss":"https://auth.example","sub":"c1","aud":"https://api.example","jti":"j1","client_id":"c1","scope":"read","iat":1000,"exp":2000"#;
        // The baseline: the same raw signing, no duplicate, verifies.
        let good = sign_raw(&keys, &header, &format!("{claims}}}"));
        assert!(verify_t(&good, &keys, &expect(1000)).is_ok());
        let dup_claims = [
            r#","sub":"admin"}"#,
            r#","exp":99999999}"#,
            r#","scope":"read write admin"}"#,
            r#","roles":["user"],"roles":["admin"]}"#,
            r#","nested":{"a":1,"a":2}}"#,
        ];
        for tail in dup_claims {
            let token = sign_raw(&keys, &header, &format!("{claims}{tail}"));
            assert_eq!(
                verify_t(&token, &keys, &expect(1000)),
                Err(TokenError::Malformed),
                "claims ending {tail}"
            );
        }
        let dup_headers = [
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","typ":"JWT"}}"#),
            format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{kid}","x5u":"a","x5u":"b"}}"#),
        ];
        for header in dup_headers {
            let token = sign_raw(&keys, &header, &format!("{claims}}}"));
            assert_eq!(
                verify_t(&token, &keys, &expect(1000)),
                Err(TokenError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn es256_with_zero_r_and_s_is_refused() {
        let keys = keys_of(KeyAlg::ES256);
        let token = sign_t(&keys, claims(), 1000, 3600);
        let signed = token.rsplit_once('.').unwrap().0;
        let zero = URL_SAFE_NO_PAD.encode([0u8; 64]);
        assert_eq!(
            verify_t(&format!("{signed}.{zero}"), &keys, &expect(1000)),
            Err(TokenError::Signature)
        );
    }
}
