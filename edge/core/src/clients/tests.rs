//! Unit tests of `clients`.

use super::*;
use crate::testing::{catalogue_of, SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

fn catalogue() -> Vec<Scope> {
    catalogue_of(&["read", "write"])
}

fn new_client() -> NewClient {
    NewClient {
        name: "svc".into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["read".into()],
        ..NewClient::default()
    }
}

fn register(new: NewClient) -> Result<(ClientRecord, Option<String>), ApiError> {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    ClientRecord::register(new, &catalogue(), &secrets, &SeqRng::default(), 1000)
}

#[test]
fn confidential_client_gets_a_256_bit_secret_stored_only_hashed() {
    let (record, secret) = register(new_client()).unwrap();
    let secret = secret.unwrap();
    assert_eq!(secret.len(), 43);
    let stored = serde_json::to_string(&record).unwrap();
    assert!(!stored.contains(&secret));
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    assert!(record.secret_matches(&secrets, &secret, 2000));
    assert!(!record.secret_matches(&secrets, &secret[..42], 2000));
    assert!(!record.secret_matches(&secrets, &format!("{secret}x"), 2000));
}

#[test]
fn expired_secret_no_longer_matches() {
    let (mut record, secret) = register(new_client()).unwrap();
    record.client.secrets[0].expires_at = Some(1500);
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    assert!(record.secret_matches(&secrets, secret.as_deref().unwrap(), 1499));
    assert!(!record.secret_matches(&secrets, secret.as_deref().unwrap(), 1500));
}

#[test]
fn rotation_keeps_at_most_two_secrets_and_the_old_one_until_its_expiry() {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    let (mut record, first) = register(new_client()).unwrap();
    let first = first.unwrap();
    let second = new_secret(&SeqRng::default());
    record.rotate_secret(secrets.hash_client_secret(&second).to_stored(), 2000, 2100);
    assert!(record.secret_matches(&secrets, &first, 2099));
    assert!(!record.secret_matches(&secrets, &first, 2100));
    assert!(record.secret_matches(&secrets, &second, 2100));
    let third = format!("{second}3");
    record.rotate_secret(secrets.hash_client_secret(&third).to_stored(), 2050, 9000);
    assert_eq!(record.secret_hashes.len(), 2);
    assert_eq!(record.client.secrets.len(), 2);
    assert!(!record.secret_matches(&secrets, &first, 2050));
    assert!(record.secret_matches(&secrets, &second, 8999));
    assert!(record.secret_matches(&secrets, &third, 9000));
    record.rotate_secret(secrets.hash_client_secret(&first).to_stored(), 3000, 3000);
    assert_eq!(
        record.client.secrets.len(),
        1,
        "expiry 0 drops the previous secret"
    );
}

#[test]
fn patch_is_validated_like_a_registration_and_type_cannot_change() {
    let (record, _) = register(new_client()).unwrap();
    let err = record
        .patched(
            ClientPatch {
                public: Some(true),
                ..ClientPatch::default()
            },
            &catalogue(),
            5,
        )
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("public"));
    let err = record
        .patched(
            ClientPatch {
                scopes: Some(vec!["nope".into()]),
                ..ClientPatch::default()
            },
            &catalogue(),
            5,
        )
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("scopes[0]"));
    let next = record
        .patched(
            ClientPatch {
                name: Some(" renamed ".into()),
                disabled: Some(true),
                ..ClientPatch::default()
            },
            &catalogue(),
            5,
        )
        .unwrap();
    assert_eq!(
        (next.client.name.as_str(), next.client.disabled),
        ("renamed", true)
    );
    assert_eq!(next.client.scopes, record.client.scopes);
    assert_eq!(next.secret_hashes, record.secret_hashes);
}

#[test]
fn public_client_cannot_use_client_credentials() {
    let err = register(NewClient {
        public: true,
        ..new_client()
    })
    .unwrap_err();
    assert_eq!(
        (err.status, err.field.as_deref()),
        (422, Some("grant_types"))
    );
}

#[test]
fn unknown_scope_is_refused_by_field() {
    let err = register(NewClient {
        scopes: vec!["read".into(), "admin".into()],
        ..new_client()
    })
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("scopes[1]"));
}

#[test]
fn reserved_claims_cannot_be_overridden() {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), "root".into());
    let err = register(NewClient {
        claims,
        ..new_client()
    })
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("claims.sub"));
}

#[test]
fn redirect_uri_rules() {
    assert!(check_redirect_uri("https://app.example/cb").is_ok());
    assert!(check_redirect_uri("http://127.0.0.1:8080/cb").is_ok());
    assert!(check_redirect_uri("http://[::1]/cb").is_ok());
    assert!(check_redirect_uri("http://app.example/cb").is_err());
    assert!(check_redirect_uri("https://app.example/cb#x").is_err());
    assert!(check_redirect_uri("/cb").is_err());
    assert!(check_redirect_uri("https://good@evil.example/cb").is_err());
    assert!(check_redirect_uri("javascript://x").is_err());
    // Only loopback IP literals and `localhost`; a DNS name that looks like one is not.
    assert!(check_redirect_uri("http://127.0.0.2/cb").is_ok());
    assert!(check_redirect_uri("http://localhost:3000/cb").is_ok());
    assert!(check_redirect_uri("http://127.evil.example/cb").is_err());
    assert!(check_redirect_uri("http://127.0.0.1.evil.example/cb").is_err());
    assert!(check_redirect_uri("http://[::2]/cb").is_err());
}

#[test]
fn scope_token_syntax() {
    assert!(is_scope_token("read:all"));
    assert!(!is_scope_token("a b"));
    assert!(!is_scope_token("quote\""));
    assert!(!is_scope_token(""));
}
