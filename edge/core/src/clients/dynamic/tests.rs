//! Unit tests of `clients::dynamic`: the policy's rules and RFC 7591 metadata under it.

use super::*;
use crate::testing::{catalogue_of, SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

fn catalogue() -> Vec<Scope> {
    catalogue_of(&["mcp", "admin"])
}

fn policy() -> RegistrationPolicy {
    RegistrationPolicy {
        enabled: true,
        scopes: vec!["mcp".into()],
        ..RegistrationPolicy::default()
    }
}

fn make(meta: ClientMetadata) -> Result<(ClientRecord, Option<String>), RegistrationError> {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap();
    meta.into_client(
        Registration::Dynamic,
        &policy(),
        &catalogue(),
        (&secrets, &SeqRng::default()),
        1000,
    )
}

fn cli() -> ClientMetadata {
    ClientMetadata {
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        token_endpoint_auth_method: Some("none".into()),
        ..ClientMetadata::default()
    }
}

#[test]
fn the_policy_is_off_by_default_and_both_mechanisms_follow_enabled() {
    let off = RegistrationPolicy::default();
    assert!(!off.dynamic() && !off.metadata_documents());
    assert_eq!(off.client_ttl, 90 * 86_400);
    assert!(policy().dynamic() && policy().metadata_documents());
    let only_dcr = RegistrationPolicy {
        client_id_metadata_documents: false,
        ..policy()
    };
    assert!(only_dcr.dynamic() && !only_dcr.metadata_documents());
    validate_policy(&policy(), &catalogue()).unwrap();
}

#[test]
fn defaults_are_a_code_client_with_every_policy_scope() {
    let (record, secret) = make(cli()).unwrap();
    let c = &record.client;
    assert!(c.public && secret.is_none());
    assert_eq!(c.grant_types, [GrantType::AuthorizationCode]);
    assert_eq!(c.scopes, ["mcp"]);
    assert_eq!(c.registration, Some(Registration::Dynamic));
    assert_eq!(c.name, UNNAMED);
    assert_eq!(cli().auth_method(), Ok(TokenAuthMethod::None));
    assert_eq!(
        ClientMetadata::default().auth_method(),
        Ok(TokenAuthMethod::ClientSecretBasic)
    );
}

#[test]
fn a_confidential_registration_gets_a_secret() {
    let meta = ClientMetadata {
        token_endpoint_auth_method: None,
        redirect_uris: vec!["https://app.example.com/cb".into()],
        ..cli()
    };
    let (record, secret) = make(meta).unwrap();
    assert!(!record.client.public);
    assert_eq!(secret.unwrap().len(), 43);
}

#[test]
fn scopes_grants_and_methods_outside_the_policy_are_invalid_client_metadata() {
    for meta in [
        ClientMetadata {
            scope: Some("mcp admin".into()),
            ..cli()
        },
        ClientMetadata {
            grant_types: Some(vec!["password".into()]),
            ..cli()
        },
        ClientMetadata {
            token_endpoint_auth_method: Some("private_key_jwt".into()),
            ..cli()
        },
        ClientMetadata {
            response_types: Some(vec!["code".into(), "token".into()]),
            ..cli()
        },
    ] {
        assert_eq!(
            make(meta.clone()).unwrap_err().code(),
            "invalid_client_metadata",
            "{meta:?}"
        );
    }
}

#[test]
fn redirect_uris_are_https_loopback_or_private_use_schemes() {
    for ok in [
        "https://app.example.com/cb",
        "http://127.0.0.1:51004/cb",
        "http://[::1]/cb",
        "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect",
    ] {
        let meta = ClientMetadata {
            redirect_uris: vec![ok.into()],
            ..cli()
        };
        assert!(make(meta).is_ok(), "{ok}");
    }
    for bad in [
        "http://app.example.com/cb",
        "myapp:/cb",
        "https://a.example/cb#f",
        "/cb",
    ] {
        let meta = ClientMetadata {
            redirect_uris: vec![bad.into()],
            ..cli()
        };
        assert_eq!(
            make(meta).unwrap_err().code(),
            "invalid_redirect_uri",
            "{bad}"
        );
    }
}
