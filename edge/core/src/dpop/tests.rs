use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, Seed};
use serde_json::{json, Value};

use super::*;
use crate::testing::NativeSignatures;

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://api.test/things";

fn key(seed: u8) -> KeyPair {
    KeyPair::from_seed(Seed::new([seed; 32]))
}

fn jwk(k: &KeyPair) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(*k.pk)})
}

/// A compact JWS of `header` and `claims` signed by `k` (`EdDSA`).
fn sign(k: &KeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = k.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(*sig))
}

fn header(k: &KeyPair) -> Value {
    json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk(k)})
}

fn claims() -> Value {
    json!({"jti": "j1", "htm": "GET", "htu": URL, "iat": NOW,
           "ath": sha256_b64(b"the-token")})
}

fn expected() -> Expected<'static> {
    Expected {
        method: Method::Get,
        url: URL,
        token: Some("the-token"),
        now: NOW,
        leeway: 5,
    }
}

fn check(proof: &str, expect: &Expected<'_>) -> Result<Proof, ProofError> {
    futures::executor::block_on(verify(proof, expect, &NativeSignatures::default()))
}

/// `claims()` with `member` set to `value` (removed when null).
fn with(member: &str, value: Value) -> Value {
    let mut c = claims();
    if value.is_null() {
        c.as_object_mut().unwrap().remove(member);
    } else {
        c[member] = value;
    }
    c
}

#[test]
fn a_valid_proof_names_its_key_by_rfc_7638_thumbprint() {
    let k = key(1);
    let proof = check(&sign(&k, &header(&k), &claims()), &expected()).unwrap();
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(*k.pk)
    );
    assert_eq!(proof.jkt, sha256_b64(canonical.as_bytes()));
    assert_eq!(proof.jti, "j1");
    // The fully specified name (RFC 9864) is the same algorithm.
    let mut h = header(&k);
    h["alg"] = json!("Ed25519");
    assert_eq!(
        check(&sign(&k, &h, &claims()), &expected()).unwrap().jkt,
        proof.jkt
    );
}

#[test]
fn rfc_7638_example_thumbprint() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let key = ExternalKey::from_jwk(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn htu_is_compared_without_query_and_after_normalisation() {
    let k = key(1);
    for htu in [
        "https://API.test/things?x=1",
        "https://api.test:443/things#frag",
    ] {
        let proof = sign(&k, &header(&k), &with("htu", json!(htu)));
        assert!(check(&proof, &expected()).is_ok(), "{htu}");
    }
}

/// Proofs by `k` whose header breaks one rule each, with the error each must get.
fn broken_headers(k: &KeyPair) -> Vec<(Value, ProofError)> {
    let x = URL_SAFE_NO_PAD.encode(*k.pk);
    // A well-formed private member (what a careless client would send).
    let d = URL_SAFE_NO_PAD.encode([1u8; 32]);
    let private = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "d": d});
    vec![
        (
            json!({"typ": "JWT", "alg": "EdDSA", "jwk": jwk(k)}),
            ProofError::Type,
        ),
        (json!({"alg": "EdDSA", "jwk": jwk(k)}), ProofError::Type),
        (
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk(k)}),
            ProofError::Algorithm,
        ),
        (
            json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk(k)}),
            ProofError::Algorithm,
        ),
        (json!({"typ": "dpop+jwt", "alg": "EdDSA"}), ProofError::Key),
        (
            json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": private}),
            ProofError::Key,
        ),
        (
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(k)}),
            ProofError::Key,
        ),
        (
            json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk(k), "crit": ["x"]}),
            ProofError::Malformed,
        ),
    ]
}

/// Claims that break one rule each, with the error each must get.
fn broken_claims() -> Vec<(Value, ProofError)> {
    vec![
        (with("jti", Value::Null), ProofError::Jti),
        (with("jti", json!("x".repeat(257))), ProofError::Jti),
        (with("htm", json!("POST")), ProofError::Method),
        (
            with("htu", json!("https://api.test/other")),
            ProofError::Url,
        ),
        (
            with("htu", json!("http://api.test/things")),
            ProofError::Url,
        ),
        (
            with("iat", json!(NOW - MAX_PROOF_AGE - 6)),
            ProofError::Time,
        ),
        (with("iat", json!(NOW + 6)), ProofError::Time),
        (with("iat", Value::Null), ProofError::Time),
        (with("ath", Value::Null), ProofError::TokenHash),
        (
            with("ath", json!(sha256_b64(b"another"))),
            ProofError::TokenHash,
        ),
    ]
}

#[test]
fn each_rule_refuses_on_its_own() {
    let (k, other) = (key(1), key(2));
    for (h, want) in broken_headers(&k) {
        assert_eq!(
            check(&sign(&k, &h, &claims()), &expected()),
            Err(want),
            "{h}"
        );
    }
    for (c, want) in broken_claims() {
        assert_eq!(
            check(&sign(&k, &header(&k), &c), &expected()),
            Err(want),
            "{c}"
        );
    }
    let by_other = sign(&other, &header(&k), &claims());
    assert_eq!(check(&by_other, &expected()), Err(ProofError::Signature));
    assert_eq!(check("not.a.jwt", &expected()), Err(ProofError::Malformed));
    let long = "a".repeat(MAX_PROOF_LEN + 1);
    assert_eq!(check(&long, &expected()), Err(ProofError::Malformed));
}

#[test]
fn the_edges_of_the_iat_window_pass() {
    let k = key(1);
    for iat in [NOW - MAX_PROOF_AGE - 5, NOW + 5] {
        assert!(check(
            &sign(&k, &header(&k), &with("iat", json!(iat))),
            &expected()
        )
        .is_ok());
    }
}

#[test]
fn a_proof_without_a_token_needs_no_ath() {
    let k = key(1);
    let expect = Expected {
        token: None,
        ..expected()
    };
    assert!(check(&sign(&k, &header(&k), &with("ath", Value::Null)), &expect).is_ok());
}

#[test]
fn replay_keys_differ_by_key_and_jti_and_are_kept_past_the_window() {
    let p = |jkt: &str, jti: &str| Proof {
        jkt: jkt.into(),
        jti: jti.into(),
        iat: NOW,
        nonce: None,
    };
    assert_ne!(p("a", "1").replay_key(), p("b", "1").replay_key());
    assert_ne!(p("a", "1").replay_key(), p("a", "2").replay_key());
    assert!(p("a", "1").remember_until(5) >= NOW + MAX_PROOF_AGE + 5);
}

#[test]
fn nonces_last_one_to_two_slots_and_cannot_be_forged() {
    let secrets = Secrets::new(
        "0123456789abcdef",
        &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
    )
    .unwrap();
    let start = NOW - NOW % NONCE_SLOT;
    let n = nonce(&secrets, start);
    assert!(nonce_is_fresh(&secrets, &n, start));
    assert!(nonce_is_fresh(&secrets, &n, start + 2 * NONCE_SLOT - 1));
    assert!(!nonce_is_fresh(&secrets, &n, start + 2 * NONCE_SLOT));
    let slot = start / NONCE_SLOT;
    assert!(!nonce_is_fresh(&secrets, &format!("{slot}.forged"), start));
    assert!(!nonce_is_fresh(&secrets, "garbage", start));
    let next = nonce(&secrets, start + NONCE_SLOT);
    assert!(
        !nonce_is_fresh(&secrets, &next, start),
        "a future slot's nonce"
    );
}
