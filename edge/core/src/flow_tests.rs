//! Whole requests through the router against the in-memory ports: each RFC rule the endpoints
//! promise, checked on status, body, headers and stored state.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::http::{Method, Request, Response};
use crate::testing::{Harness, TEST_ADMIN_TOKEN};

const ORIGIN: &str = "https://auth.test";

pub(crate) fn body(resp: &Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
}

pub(crate) fn admin(h: &Harness, method: Method, path: &str, json: Option<Value>) -> Response {
    let mut req = Request::new(method, ORIGIN, path)
        .with_header("authorization", &format!("Bearer {TEST_ADMIN_TOKEN}"));
    if let Some(j) = json {
        req = req
            .with_header("content-type", "application/json")
            .with_body(j.to_string());
    }
    h.send(req)
}

pub(crate) fn form(path: &str, body: &str) -> Request {
    Request::new(Method::Post, ORIGIN, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_owned())
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A harness with scopes `read` and `write` and one confidential client allowed `read`.
pub(crate) fn setup() -> (Harness, String, String) {
    let h = Harness::default();
    for name in ["read", "write"] {
        let r = admin(
            &h,
            Method::Post,
            "/admin/v1/scopes",
            Some(json!({"name": name, "description": format!("{name} things")})),
        );
        assert_eq!(r.status, 201);
    }
    let r = admin(
        &h,
        Method::Post,
        "/admin/v1/clients",
        Some(
            json!({"name": "svc", "grant_types": ["client_credentials"], "scopes": ["read"], "redirect_uris": [], "public": false, "audiences": ["https://api.test"], "claims": {"roles": ["reader"]}}),
        ),
    );
    assert_eq!(r.status, 201, "{:?}", body(&r));
    let b = body(&r);
    (
        h,
        b["client_id"].as_str().unwrap().to_owned(),
        b["client_secret"].as_str().unwrap().to_owned(),
    )
}

pub(crate) fn token(h: &Harness, id: &str, secret: &str, extra: &str) -> Response {
    h.send(
        form(
            "/oauth/token",
            &format!("grant_type=client_credentials{extra}"),
        )
        .with_header("authorization", &basic(id, secret)),
    )
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn client_credentials_issues_an_rfc9068_token() {
    let (h, id, secret) = setup();
    let r = token(&h, &id, &secret, "&scope=read");
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let b = body(&r);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["scope"], "read");
    let c = claims_of(b["access_token"].as_str().unwrap());
    assert_eq!(c["iss"], ORIGIN);
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["aud"], "https://api.test");
    assert_eq!(c["roles"], json!(["reader"]));
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
}

#[test]
fn client_secret_post_works_too() {
    let (h, id, secret) = setup();
    let r = h.send(form(
        "/oauth/token",
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    ));
    assert_eq!(r.status, 200);
}

#[test]
fn unknown_client_and_wrong_secret_answer_identically() {
    let (h, id, secret) = setup();
    let wrong = token(&h, &id, &format!("{secret}x"), "");
    let unknown = token(&h, "nobody", &secret, "");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.status, 401);
    assert_eq!(body(&wrong)["error"], "invalid_client");
    assert!(wrong
        .header_value("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
}

#[test]
fn two_authentication_methods_are_refused() {
    let (h, id, secret) = setup();
    let r = token(&h, &id, &secret, &format!("&client_secret={secret}"));
    assert_eq!(
        (r.status, body(&r)["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[test]
fn secret_in_query_string_is_refused() {
    let (h, id, secret) = setup();
    let mut req = form(
        "/oauth/token",
        &format!("grant_type=client_credentials&client_id={id}"),
    );
    req.query = Some(format!("client_secret={secret}"));
    let r = h.send(req);
    assert_eq!(r.status, 400);
}

#[test]
fn disallowed_scope_and_resource_are_refused() {
    let (h, id, secret) = setup();
    let r = token(&h, &id, &secret, "&scope=write");
    assert_eq!(
        (r.status, body(&r)["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let r = token(&h, &id, &secret, "&resource=https%3A%2F%2Fevil.test");
    assert_eq!(
        (r.status, body(&r)["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

#[test]
fn unsupported_grant_type_and_missing_grant_type() {
    let (h, id, secret) = setup();
    let r = h.send(
        form("/oauth/token", "grant_type=urn:x").with_header("authorization", &basic(&id, &secret)),
    );
    assert_eq!(body(&r)["error"], "unsupported_grant_type");
    let r = h.send(form("/oauth/token", "").with_header("authorization", &basic(&id, &secret)));
    assert_eq!(body(&r)["error"], "invalid_request");
}

#[test]
fn json_body_get_and_oversized_body_are_refused_without_5xx() {
    let (h, id, secret) = setup();
    let r = h.send(
        Request::new(Method::Post, ORIGIN, "/oauth/token")
            .with_header("content-type", "application/json")
            .with_header("authorization", &basic(&id, &secret))
            .with_body(r#"{"grant_type":"client_credentials"}"#),
    );
    assert_eq!(
        (r.status, body(&r)["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = h.send(Request::new(Method::Get, ORIGIN, "/oauth/token"));
    assert_eq!(r.status, 405);
    let mut big = form("/oauth/token", "grant_type=client_credentials");
    big.body_too_large = true;
    assert_eq!(h.send(big).status, 413);
}

#[test]
fn revoked_token_is_inactive_everywhere() {
    let (h, id, secret) = setup();
    let at = body(&token(&h, &id, &secret, ""))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let verify = || {
        h.send(
            Request::new(Method::Post, ORIGIN, "/verify")
                .with_header("authorization", &format!("Bearer {at}")),
        )
    };
    assert_eq!(verify().status, 200);
    let introspect = || {
        h.send(
            form("/oauth/introspect", &format!("token={at}"))
                .with_header("authorization", &basic(&id, &secret)),
        )
    };
    assert_eq!(body(&introspect())["active"], true);
    let r = h.send(
        form(
            "/oauth/revoke",
            &format!("token={at}&token_type_hint=access_token"),
        )
        .with_header("authorization", &basic(&id, &secret)),
    );
    assert_eq!(r.status, 200);
    let r = verify();
    assert_eq!(r.status, 401);
    assert!(r
        .header_value("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(body(&introspect()), json!({"active": false}));
    assert!(h.storage.0.borrow().keys().any(|k| k.starts_with("audit:")));
}

#[test]
fn verify_without_token_has_no_error_attribute() {
    let h = Harness::default();
    let r = h.send(Request::new(Method::Post, ORIGIN, "/verify"));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"portcullis\"")
    );
}

#[test]
fn expired_token_fails_verification() {
    let (h, id, secret) = setup();
    let at = body(&token(&h, &id, &secret, ""))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.advance(3600 + 60);
    let r = h.send(
        Request::new(Method::Post, ORIGIN, "/verify")
            .with_header("authorization", &format!("Bearer {at}")),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn admin_requires_the_admin_token() {
    let h = Harness::default();
    for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let mut req = Request::new(Method::Get, ORIGIN, "/admin/v1/clients");
        if let Some(a) = auth {
            req = req.with_header("authorization", a);
        }
        let r = h.send(req);
        assert_eq!(r.status, 401);
    }
}

#[test]
fn reads_never_show_a_secret_or_its_hash() {
    let (h, id, secret) = setup();
    let list = admin(&h, Method::Get, "/admin/v1/clients", None);
    let one = admin(&h, Method::Get, &format!("/admin/v1/clients/{id}"), None);
    assert_eq!(one.status, 200);
    assert_eq!(one.header_value("etag"), Some("\"1\""));
    for r in [&list, &one] {
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains(&secret));
        assert!(!text.contains("secret_hashes"));
    }
    assert_eq!(body(&list)["clients"][0]["client_id"], id.as_str());
    let audit: String = h
        .storage
        .0
        .borrow()
        .iter()
        .filter(|(k, _)| k.starts_with("audit:"))
        .map(|(_, v)| v.clone())
        .collect();
    assert!(!audit.contains(&secret));
}

#[test]
fn bad_admin_bodies_name_the_field_and_change_nothing() {
    let (h, _, _) = setup();
    let cases = [
        (
            json!({"name": "x", "grant_types": ["client_credentials"], "bogus": 1}),
            400,
        ),
        (
            json!({"name": "x", "grant_types": "client_credentials"}),
            400,
        ),
        (json!({"name": "x", "grant_types": ["teleport"]}), 400),
        (
            json!({"name": "x", "grant_types": ["client_credentials"], "scopes": ["nope"]}),
            422,
        ),
        (
            json!({"name": "svc", "grant_types": ["client_credentials"]}),
            409,
        ),
        (
            json!({"name": "p", "grant_types": ["client_credentials"], "public": true}),
            422,
        ),
    ];
    for (case, status) in cases {
        let r = admin(&h, Method::Post, "/admin/v1/clients", Some(case.clone()));
        assert_eq!(r.status, status, "{case} -> {:?}", body(&r));
        assert!(body(&r)["error_description"].is_string());
    }
    let r = admin(
        &h,
        Method::Post,
        "/admin/v1/clients",
        Some(json!({"name": "x", "grant_types": [1]})),
    );
    assert_eq!(body(&r)["field"], "grant_types[0]");
    let list = admin(&h, Method::Get, "/admin/v1/clients", None);
    assert_eq!(body(&list)["clients"].as_array().unwrap().len(), 1);
    let r = admin(
        &h,
        Method::Post,
        "/admin/v1/scopes",
        Some(json!({"name": "read"})),
    );
    assert_eq!(r.status, 409);
}

#[test]
fn metadata_and_jwks_describe_the_server() {
    let (h, _, _) = setup();
    let m = body(&h.send(Request::new(
        Method::Get,
        ORIGIN,
        "/.well-known/oauth-authorization-server",
    )));
    assert_eq!(m["issuer"], ORIGIN);
    assert_eq!(m["token_endpoint"], "https://auth.test/oauth/token");
    assert_eq!(m["scopes_supported"], json!(["read", "write"]));
    let jwks = body(&h.send(Request::new(Method::Get, ORIGIN, "/.well-known/jwks.json")));
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][2]["kty"], "RSA");
}

#[test]
fn disabled_client_is_invalid_client() {
    let (h, id, secret) = setup();
    let key = crate::authority::client_key(&id);
    let raw = h.kv.0.borrow().get(&key).cloned().unwrap();
    let mut rec: Value = serde_json::from_str(&raw).unwrap();
    rec["disabled"] = json!(true);
    h.kv.0.borrow_mut().insert(key, rec.to_string());
    h.caches.forget_client(&id);
    assert_eq!(token(&h, &id, &secret, "").status, 401);
}

#[test]
fn rate_limits_answer_429_with_retry_after_and_are_audited_once() {
    let (h, id, secret) = setup();
    h.limits.budget.set(Some(2));
    assert_eq!(token(&h, &id, &secret, "").status, 200);
    assert_eq!(token(&h, &id, &secret, "").status, 200);
    let r = token(&h, &id, &secret, "");
    assert_eq!(r.status, 429);
    assert_eq!(r.header_value("retry-after"), Some("60"));
    assert_eq!(body(&r)["error"], "temporarily_unavailable");
    assert_eq!(token(&h, &id, &secret, "").status, 429);
    let trips = h
        .storage
        .0
        .borrow()
        .iter()
        .filter(|(k, v)| k.starts_with("audit:") && v.contains("ratelimit.trip"))
        .count();
    assert_eq!(trips, 1);
}

#[test]
fn wrong_secrets_do_not_spend_the_clients_budget() {
    let (h, id, secret) = setup();
    h.limits.budget.set(Some(3));
    for _ in 0..2 {
        assert_eq!(token(&h, &id, "wrong", "").status, 401);
    }
    // The address has one request left; the client's budget is untouched by the failures.
    assert_eq!(token(&h, &id, &secret, "").status, 200);
}
