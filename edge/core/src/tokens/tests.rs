//! Unit tests of `tokens`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_compact::AlgorithmSignature;

use super::*;
use crate::api::KeyAlg;
use crate::testing::NativeSignatures;

const ISS: &str = "https://auth.example";

fn keys_of(alg: KeyAlg) -> LoadedKeys {
    crate::testing::loaded_keys(alg)
}

fn keys() -> LoadedKeys {
    keys_of(KeyAlg::EdDSA)
}

fn sign_t(keys: &LoadedKeys, claims: AccessClaims, iat: u64, ttl: u64) -> String {
    futures::executor::block_on(sign(keys, claims, iat, ttl, &NativeSignatures::default())).unwrap()
}

fn verify_t(
    token: &str,
    keys: &LoadedKeys,
    expect: &Expectations<'_>,
) -> Result<Verified, TokenError> {
    futures::executor::block_on(verify(token, keys, &NativeSignatures::default(), expect))
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
        cnf: None,
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
    assert_eq!(header["kid"], keys.signer.kid.as_str());
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
            keys.signer.kid
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
                keys.signer.kid
            ),
            TokenError::Type,
        ),
        (
            &*format!(
                r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}","crit":["exp"]}}"#,
                keys.signer.kid
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
        keys.signer.kid
    ));
    assert_eq!(
        verify_t(&format!("{header}.{rest}"), &keys, &expect(1000)),
        Err(TokenError::Algorithm)
    );
}

/// `header.claims.signature` signed with our current Ed25519 key over the raw JSON texts.
fn sign_raw(keys: &LoadedKeys, header: &str, claims: &str) -> String {
    let SigningKey::Ed25519(seed) = &keys.signer.key else {
        panic!("an EdDSA key set");
    };
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = ed25519_compact::KeyPair::from_seed(*seed)
        .sk
        .sign(input.as_bytes(), None);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_bytes()))
}

#[test]
fn duplicate_keys_in_header_or_claims_are_refused_despite_a_valid_signature() {
    let keys = keys();
    let kid = keys.signer.kid.as_str();
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
