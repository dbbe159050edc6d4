//! Unit tests of `id_token`.

use super::*;

#[test]
fn at_hash_is_the_left_half_of_the_hash_of_the_signature_algorithm() {
    // OIDC Core §3.1.3.8 with RS256: base64url of the first 16 bytes of SHA-256.
    let sha256 = Sha256::digest(b"token");
    assert_eq!(
        at_hash("token", KeyAlg::RS256),
        URL_SAFE_NO_PAD.encode(&sha256[..16])
    );
    assert_eq!(
        at_hash("token", KeyAlg::ES256),
        at_hash("token", KeyAlg::RS256)
    );
    let sha512 = Sha512::digest(b"token");
    assert_eq!(
        at_hash("token", KeyAlg::EdDSA),
        URL_SAFE_NO_PAD.encode(&sha512[..32])
    );
}

#[test]
fn the_signer_is_the_clients_algorithm_when_held_else_rs256() {
    let keys = crate::testing::loaded_keys(KeyAlg::EdDSA);
    let alg = |wanted| signer(&keys, wanted).map(|s| s.alg);
    assert_eq!(alg(None), Some(KeyAlg::RS256));
    assert_eq!(alg(Some(KeyAlg::RS256)), Some(KeyAlg::RS256));
    assert_eq!(alg(Some(KeyAlg::EdDSA)), Some(KeyAlg::EdDSA));
    assert_eq!(
        alg(Some(KeyAlg::ES256)),
        Some(KeyAlg::RS256),
        "no ES256 key is current"
    );
}
