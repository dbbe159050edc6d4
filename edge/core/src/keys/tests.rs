//! Unit tests of `keys`.

use super::*;
use crate::testing::{NativeSignatures, SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

/// This thread's crypto fakes: every key set of a test draws its RSA keys from one instance,
/// so they differ.
fn signatures() -> &'static NativeSignatures {
    thread_local! {
        static SIGNATURES: &'static NativeSignatures = Box::leak(Box::default());
    }
    SIGNATURES.with(|s| *s)
}

fn generate(alg: KeyAlg, secrets: &Secrets, rng: &SeqRng, now: u64) -> KeySet {
    futures::executor::block_on(KeySet::generate(alg, secrets, rng, signatures(), now)).unwrap()
}

#[test]
fn private_keys_are_sealed_and_unseal_with_the_right_kek() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let set = generate(KeyAlg::EdDSA, &secrets, &SeqRng::default(), 100);
    let loaded = set.load(&secrets, 100).unwrap();
    assert_eq!(loaded.signer.kid, set.keys[0].kid);
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
    let set = generate(KeyAlg::EdDSA, &secrets, &SeqRng::default(), 100);
    let loaded = set.load(&secrets, 100).unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&loaded.jwks).unwrap();
    // Two access-token keys and the two RS256 ID-token keys.
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    assert_eq!(jwks["keys"][2]["kty"], "RSA");
    assert!(jwks["keys"][2]["n"].is_string() && jwks["keys"][2]["e"] == "AQAB");
    assert!(!loaded.jwks.contains("sealed"));
    assert!(!loaded.jwks.contains("\"d\""));
}

#[test]
fn rotation_promotes_next_and_keeps_retired_until_expiry() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let rng = SeqRng::default();
    let mut set = generate(KeyAlg::EdDSA, &secrets, &rng, 100);
    let (old_current, old_next) = (set.keys[0].kid.clone(), set.keys[1].kid.clone());
    futures::executor::block_on(set.rotate(Some(KeyAlg::ES256), &secrets, &rng, signatures(), 200))
        .unwrap();
    let next = |alg: KeyAlg| {
        set.keys
            .iter()
            .filter(|k| k.state == KeyState::Next && k.alg == alg)
            .count()
    };
    assert_eq!((next(KeyAlg::ES256), next(KeyAlg::RS256)), (1, 1));
    let loaded = set.load(&secrets, 200).unwrap();
    assert_eq!(loaded.signer.kid, old_next);
    assert!(loaded.verifying_key(&old_current).is_some());
    let later = 200 + MAX_ACCESS_TOKEN_TTL + 121;
    assert!(set
        .load(&secrets, later)
        .unwrap()
        .verifying_key(&old_current)
        .is_none());
}

#[test]
fn a_revoked_key_leaves_the_jwks_and_the_next_key_signs() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let rng = SeqRng::default();
    let mut set = generate(KeyAlg::EdDSA, &secrets, &rng, 100);
    let (current, next) = (set.keys[0].kid.clone(), set.keys[1].kid.clone());
    futures::executor::block_on(set.revoke(&current, &secrets, &rng, signatures(), 200)).unwrap();
    let loaded = set.load(&secrets, 200).unwrap();
    assert_eq!(loaded.signer.kid, next);
    assert!(loaded.verifying_key(&current).is_none());
    assert!(!loaded.jwks.contains(&current));
    assert_eq!(set.keys.len(), 4, "a fresh next key is published");
    assert!(matches!(
        futures::executor::block_on(set.revoke(&current, &secrets, &rng, signatures(), 200)),
        Err(KeyError::NoSuchKey)
    ));
}

#[test]
fn a_retired_key_reports_when_it_retired() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let rng = SeqRng::default();
    let mut set = generate(KeyAlg::EdDSA, &secrets, &rng, 100);
    let old = set.keys[0].kid.clone();
    futures::executor::block_on(set.rotate(None, &secrets, &rng, signatures(), 200)).unwrap();
    let loaded = set.load(&secrets, 200).unwrap();
    assert_eq!(loaded.verifying_key(&old).map(|(_, r)| r), Some(Some(200)));
}

#[test]
fn es256_keys_publish_ec_jwks_with_thumbprint_kids() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let set = generate(KeyAlg::ES256, &secrets, &SeqRng::default(), 100);
    let loaded = set.load(&secrets, 100).unwrap();
    assert_eq!(loaded.signer.alg, KeyAlg::ES256);
    let jwks: serde_json::Value = serde_json::from_str(&loaded.jwks).unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(key["y"].is_string());
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["kid"].as_str().unwrap().len(), 43);
}
