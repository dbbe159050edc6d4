//! Whole requests for `private_key_jwt` (RFC 7523) and DPoP (RFC 9449) through the router on the
//! in-memory ports: the token endpoint's nonce, binding and replay rules, and `/verify`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, Seed};
use serde_json::{json, Value};

use crate::crypto::sha256_b64;
use crate::flow_tests::{admin, body, setup};
use crate::http::{Method, Request, Response};
use crate::ports::Clock;
use crate::testing::Harness;

const ORIGIN: &str = "https://auth.test";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn key(seed: u8) -> KeyPair {
    KeyPair::from_seed(Seed::new([seed; 32]))
}

fn jwk(k: &KeyPair) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(*k.pk)})
}

fn sign(k: &KeyPair, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = k.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(*sig))
}

/// A client registered with `private_key_jwt` and the public half of `k`; answers its id.
fn key_client(h: &Harness, k: &KeyPair, dpop_bound: bool) -> String {
    let mut public = jwk(k);
    public["kid"] = json!("k1");
    let r = admin(
        h,
        Method::Post,
        "/admin/v1/clients",
        Some(
            json!({"name": format!("keyed-{dpop_bound}"), "grant_types": ["client_credentials"],
            "scopes": ["read"], "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [public]}, "dpop_bound_access_tokens": dpop_bound}),
        ),
    );
    assert_eq!(r.status, 201, "{:?}", body(&r));
    assert!(body(&r).get("client_secret").is_none());
    body(&r)["client_id"].as_str().unwrap().to_owned()
}

fn assertion(h: &Harness, k: &KeyPair, id: &str, changes: &Value) -> String {
    let now = h.clock.now();
    let mut claims = json!({"iss": id, "sub": id, "aud": ORIGIN, "jti": format!("a-{now}-{changes}"),
        "iat": now, "exp": now + 60});
    for (name, value) in changes.as_object().unwrap() {
        claims[name] = value.clone();
    }
    sign(k, &json!({"alg": "EdDSA", "kid": "k1"}), &claims)
}

fn proof(h: &Harness, k: &KeyPair, htm: &str, url: &str, extra: &Value) -> String {
    let mut claims = json!({"jti": format!("p-{}-{extra}", h.clock.now_ms()), "htm": htm,
        "htu": url, "iat": h.clock.now()});
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    sign(
        k,
        &json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk(k)}),
        &claims,
    )
}

fn token_request(assertion: &str, dpop: Option<&str>) -> Request {
    let mut req = Request::new(Method::Post, ORIGIN, "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
            form_urlencoded::byte_serialize(ASSERTION_TYPE.as_bytes()).collect::<String>()
        ));
    if let Some(p) = dpop {
        req = req.with_header("dpop", p);
    }
    req
}

fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn private_key_jwt_authenticates_once_per_jti_and_only_for_us() {
    let (h, _, _) = setup();
    let k = key(3);
    let id = key_client(&h, &k, false);
    let jwt = assertion(&h, &k, &id, &json!({}));
    let ok = h.send(token_request(&jwt, None));
    assert_eq!(ok.status, 200, "{:?}", body(&ok));
    assert_eq!(
        claims_of(body(&ok)["access_token"].as_str().unwrap())["sub"],
        id
    );
    let replay = h.send(token_request(&jwt, None));
    assert_eq!(
        (replay.status, body(&replay)["error"].clone()),
        (401, json!("invalid_client"))
    );
    let now = h.clock.now();
    for changes in [
        json!({"aud": "https://elsewhere.test"}),
        json!({"iss": "someone"}),
        json!({"exp": now + 301 + 60}),
        json!({"exp": now - 61}),
        json!({"jti": ""}),
    ] {
        let r = h.send(token_request(&assertion(&h, &k, &id, &changes), None));
        assert_eq!(r.status, 401, "{changes}");
    }
    let stranger = key(4);
    let r = h.send(token_request(
        &assertion(&h, &stranger, &id, &json!({})),
        None,
    ));
    assert_eq!(r.status, 401);
    let at_endpoint = json!({"aud": format!("{ORIGIN}/oauth/token")});
    let r = h.send(token_request(&assertion(&h, &k, &id, &at_endpoint), None));
    assert_eq!(r.status, 200);
}

/// Sends a DPoP token request, fetching the nonce first; answers the response.
fn dpop_token(h: &Harness, client: &KeyPair, id: &str, dpop_key: &KeyPair) -> Response {
    let url = format!("{ORIGIN}/oauth/token");
    let first = h.send(token_request(
        &assertion(h, client, id, &json!({"jti": "n1"})),
        Some(&proof(h, dpop_key, "POST", &url, &json!({}))),
    ));
    assert_eq!(first.status, 400);
    assert_eq!(body(&first)["error"], "use_dpop_nonce");
    let nonce = first.header_value("dpop-nonce").unwrap().to_owned();
    h.send(token_request(
        &assertion(h, client, id, &json!({"jti": "n2"})),
        Some(&proof(h, dpop_key, "POST", &url, &json!({"nonce": nonce}))),
    ))
}

#[test]
fn a_secretless_client_gets_a_dpop_bound_token_that_verify_accepts_only_with_its_proof() {
    let (h, _, _) = setup();
    let (client_key, dpop_key) = (key(5), key(6));
    let id = key_client(&h, &client_key, true);
    let without = h.send(token_request(
        &assertion(&h, &client_key, &id, &json!({})),
        None,
    ));
    assert_eq!(body(&without)["error"], "invalid_dpop_proof");
    let r = dpop_token(&h, &client_key, &id, &dpop_key);
    assert_eq!(r.status, 200, "{:?}", body(&r));
    assert_eq!(body(&r)["token_type"], "DPoP");
    let token = body(&r)["access_token"].as_str().unwrap().to_owned();
    let jkt = claims_of(&token)["cnf"]["jkt"].as_str().unwrap().to_owned();
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(*dpop_key.pk)
    );
    assert_eq!(jkt, sha256_b64(canonical.as_bytes()));

    let verify = |scheme: &str, dpop: Option<String>| {
        let mut req = Request::new(Method::Post, ORIGIN, "/verify")
            .with_header("authorization", &format!("{scheme} {token}"));
        if let Some(p) = dpop {
            req = req.with_header("dpop", &p);
        }
        h.send(req)
    };
    let ath = json!({"ath": sha256_b64(token.as_bytes())});
    let url = format!("{ORIGIN}/verify");
    let good = proof(&h, &dpop_key, "POST", &url, &ath);
    assert_eq!(verify("DPoP", Some(good.clone())).status, 200);
    let replayed = verify("DPoP", Some(good));
    assert_eq!(replayed.status, 401);
    let challenge = replayed.header_value("www-authenticate").unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains("error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    let bearer = verify("Bearer", None);
    assert!(bearer
        .header_value("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    let wrong_key = proof(&h, &key(7), "POST", &url, &ath);
    assert_eq!(verify("DPoP", Some(wrong_key)).status, 401);
}
