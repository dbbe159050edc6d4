use portcullis_core::api::{GrantType, KeyAlg, KeyRotation, NewClient};

use super::*;
use crate::client::AdminApi;
use crate::testing::sample;

/// A confidential client-credentials client on `api`, and its secret.
fn machine(api: &crate::testing::CoreApi) -> (String, String) {
    let created = api
        .create_client(&NewClient {
            name: "try-it".into(),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["read".into()],
            ..NewClient::default()
        })
        .expect("created");
    (
        created.client.client_id,
        created.client_secret.expect("a secret"),
    )
}

fn ask(api: &crate::testing::CoreApi, client_id: &str, secret: &str) -> Result<Value, String> {
    request_token(
        &api.transport,
        &TokenRequest {
            client_id: client_id.to_owned(),
            secret: Some(secret.to_owned()),
            scope: Some("read".into()),
            resources: Vec::new(),
        },
    )
}

#[test]
fn a_token_from_the_real_core_decodes_and_verifies_with_each_signing_algorithm() {
    let api = sample();
    let (client_id, secret) = machine(&api);
    for alg in [None, Some(KeyAlg::ES256)] {
        if alg.is_some() {
            // The new algorithm's key is `next` after one rotation and signs after a second.
            for _ in 0..2 {
                api.rotate_keys(KeyRotation { alg }).expect("rotated");
            }
        }
        let answer = ask(&api, &client_id, &secret).expect("a token");
        let token = answer["access_token"].as_str().expect("a string");
        let decoded = decode(&api.transport, token).expect("decodes");
        assert!(decoded.signature.is_valid(), "{:?}", decoded.signature);
        assert_eq!(decoded.claims["client_id"], client_id.as_str());
        assert_eq!(decoded.header["typ"], "at+jwt");
        let exp = decoded.claims["exp"].as_i64().expect("exp");
        assert!(decoded.usable(exp - 1));
        assert!(!decoded.usable(exp));
        let report = decoded.report(exp - 600);
        assert!(report.contains("expires    in 10 minutes"), "{report}");
        assert!(decoded
            .report(exp + 90)
            .contains("EXPIRED 1 minute 30 seconds ago"));
    }
}

#[test]
fn a_tampered_token_or_an_unknown_key_is_never_called_valid() {
    let api = sample();
    let (client_id, secret) = machine(&api);
    let token = ask(&api, &client_id, &secret).expect("a token")["access_token"]
        .as_str()
        .expect("a string")
        .to_owned();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    claims["scope"] = "read write admin".into();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let forged = decode(&api.transport, &parts.join(".")).expect("decodes");
    assert!(
        matches!(forged.signature, Signature::Invalid { .. }),
        "{:?}",
        forged.signature
    );
    assert!(forged.report(0).contains("INVALID"));

    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).expect("b64")).expect("json");
    header["kid"] = "nobody".into();
    parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
    let unknown = decode(&api.transport, &parts.join(".")).expect("decodes");
    assert_eq!(
        unknown.signature,
        Signature::UnknownKey {
            kid: Some("nobody".into())
        }
    );
    assert!(decode(&api.transport, "not.a-token").is_err());
}

#[test]
fn a_refused_token_request_reads_as_the_servers_oauth_error() {
    let api = sample();
    let (client_id, _) = machine(&api);
    let refused = ask(&api, &client_id, "wrong").expect_err("refused");
    assert!(refused.starts_with("401 invalid_client"), "{refused}");
    assert!(!refused.contains("wrong"), "{refused}");
}

#[test]
fn the_request_form_encodes_the_client_and_names_each_resource() {
    let request = TokenRequest {
        client_id: "a:b".into(),
        secret: Some("s/+".into()),
        scope: Some("read write".into()),
        resources: vec![
            "https://api.example.com/x".into(),
            "https://b.example".into(),
        ],
    };
    let out = request.outgoing();
    let body = out.body.expect("a body");
    assert_eq!(
        body,
        "grant_type=client%5Fcredentials&scope=read%20write&resource=https%3A%2F%2Fapi%2Eexample%2Ecom%2Fx&resource=https%3A%2F%2Fb%2Eexample"
    );
    let auth = &out
        .headers
        .iter()
        .find(|(n, _)| *n == "authorization")
        .expect("basic")
        .1;
    assert_eq!(
        STANDARD
            .decode(auth.trim_start_matches("Basic "))
            .expect("b64"),
        b"a%3Ab:s%2F%2B"
    );
    let public = TokenRequest {
        secret: None,
        ..request
    }
    .outgoing();
    assert!(public.body.expect("a body").ends_with("&client_id=a%3Ab"));
    assert!(public.headers.iter().all(|(n, _)| *n != "authorization"));
}

#[test]
fn durations_read_as_their_two_largest_units() {
    assert_eq!(duration_in_words(0), "0 seconds");
    assert_eq!(duration_in_words(1), "1 second");
    assert_eq!(duration_in_words(552), "9 minutes 12 seconds");
    assert_eq!(duration_in_words(3_600), "1 hour");
    assert_eq!(duration_in_words(86_400 + 300), "1 day");
    assert_eq!(
        duration_in_words(2 * 86_400 + 3 * 3_600 + 59),
        "2 days 3 hours"
    );
}
