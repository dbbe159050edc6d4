//! Gateway decisions on the in-memory ports: routing, RFC 6750 refusals, identity headers and
//! trusted external issuers.
#![allow(clippy::needless_pass_by_value)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_compact::alg::{Ed25519, Es256};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions};
use serde_json::{json, Value};

use super::{decide, Decision, Forward};
use crate::flow_tests::{admin, body, setup, token};
use crate::http::{Method, Request, Response};
use crate::testing::Harness;

const ORIGIN: &str = "https://auth.test";
const UPSTREAM: &str = "http://127.0.0.1:9000";
const EXT_ISS: &str = "https://idp.example";
const EXT_JWKS: &str = "https://idp.example/jwks.json";

fn put_routes(h: &Harness, routes: Value) -> Response {
    admin(
        h,
        Method::Put,
        "/admin/v1/routes",
        Some(json!({ "routes": routes })),
    )
}

fn send(h: &Harness, req: Request) -> Decision {
    futures::executor::block_on(decide(&h.context_for(&req), &req))
}

fn refused(d: Decision) -> Response {
    match d {
        Decision::Respond(r) => r,
        Decision::Forward(f) => panic!("forwarded: {f:?}"),
    }
}

/// What the origin is sent: the request's URL and headers once the decision's diff is applied
/// as the adapter applies it (removals, then each `set` replacing the name).
struct Sent {
    url: String,
    headers: Vec<(String, String)>,
}

fn forwarded(h: &Harness, req: Request) -> Sent {
    let Forward {
        url, remove, set, ..
    } = match send(h, req.clone()) {
        Decision::Forward(f) => f,
        Decision::Respond(r) => panic!("refused: {} {:?}", r.status, body(&r)),
    };
    let mut headers: Vec<(String, String)> = req
        .headers
        .into_iter()
        .filter(|(n, _)| !remove.contains(n))
        .collect();
    for (name, value) in set {
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some(kept) => kept.1 = value,
            None => headers.push((name, value)),
        }
    }
    Sent { url, headers }
}

fn header<'f>(f: &'f Sent, name: &str) -> Vec<&'f str> {
    f.headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn get(path: &str) -> Request {
    Request::new(Method::Get, ORIGIN, path)
}

fn bearer(req: Request, token: &str) -> Request {
    req.with_header("authorization", &format!("Bearer {token}"))
}

/// A harness with the standard routes and a `read` token for the test client.
fn gateway() -> (Harness, String) {
    let (h, id, secret) = setup();
    let r = put_routes(
        &h,
        json!([
            {"path": "/public/*", "public": true, "origin": UPSTREAM},
            {"path": "/api/*", "methods": ["GET"], "scopes": ["read"], "origin": UPSTREAM, "audience": "https://api.test"},
            {"path": "/api/*", "methods": ["POST"], "scopes": ["write"], "origin": UPSTREAM, "audience": "https://api.test"},
            {"path": "/either", "scopes": ["read", "write"], "scope_mode": "any", "origin": UPSTREAM, "forward_token": true, "audience": "https://api.test"},
            {"path": "/other-aud/*", "audience": "https://elsewhere.test", "origin": UPSTREAM},
            {"path": "/default-aud/*", "origin": UPSTREAM},
            {"path": "/ext/*", "issuer": EXT_ISS, "scopes": ["read"], "origin": UPSTREAM},
            {"path": "/ext-api/*", "issuer": EXT_ISS, "audience": "https://api.test", "origin": UPSTREAM},
        ]),
    );
    assert_eq!(r.status, 200, "{:?}", body(&r));
    let t = token(&h, &id, &secret, "&scope=read");
    assert_eq!(t.status, 200);
    (h, body(&t)["access_token"].as_str().unwrap().to_owned())
}

#[test]
fn public_route_forwards_without_token_and_strips_spoofed_identity() {
    let (h, _) = gateway();
    let f = forwarded(
        &h,
        get("/public/a?x=1")
            .with_header("X-Portcullis-Subject", "admin")
            .with_header("x-portcullis-scope", "everything")
            .with_header("authorization", "Bearer whatever")
            .with_header("accept", "text/plain"),
    );
    assert_eq!(f.url, "http://127.0.0.1:9000/public/a?x=1");
    assert!(f
        .headers
        .iter()
        .all(|(n, _)| !n.starts_with("x-portcullis-")));
    assert!(header(&f, "authorization").is_empty());
    assert_eq!(header(&f, "accept"), ["text/plain"]);
}

#[test]
fn unrouted_paths_are_denied_and_unrouted_methods_answer_405() {
    let (h, _) = gateway();
    assert_eq!(refused(send(&h, get("/nothing/here"))).status, 404);
    let r = refused(send(&h, Request::new(Method::Delete, ORIGIN, "/api/x")));
    assert_eq!(r.status, 405);
    assert_eq!(r.header_value("allow"), Some("GET, POST"));
    assert_eq!(refused(send(&h, get("/public/..;/api/x"))).status, 400);
    assert_eq!(refused(send(&h, get("/public/%2F../api/x"))).status, 400);
}

#[test]
fn the_route_of_the_canonical_path_decides_and_that_path_is_forwarded() {
    let (h, t) = gateway();
    // Dot segments, merged slashes and letter case cannot walk out of a protected route.
    for sneaky in [
        "/public/%2e%2e/api/x",
        "/public/../api/x",
        "/public//..//api/x",
        "/PUBLIC/../Api/x",
        "/API/x",
        "/api",
        "/api/",
    ] {
        assert_eq!(refused(send(&h, get(sneaky))).status, 401, "{sneaky}");
    }
    let f = forwarded(
        &h,
        bearer(get("/public/%2e%2e//API/./y/../%7Ez/?q=%2e"), &t),
    );
    assert_eq!(f.url, "http://127.0.0.1:9000/API/~z/?q=%2e");
    let f = forwarded(&h, bearer(get("/api"), &t));
    assert_eq!(f.url, "http://127.0.0.1:9000/api");
}

#[test]
fn rerouting_headers_never_reach_the_origin_and_forwarding_headers_are_the_gateways() {
    let (h, _) = gateway();
    let mut req = get("/public/a")
        .with_header("cf-connecting-ip", "203.0.113.9")
        .with_header("accept", "*/*");
    for (name, value) in [
        ("X-Original-URL", "/api/secret"),
        ("x-rewrite-url", "/api/secret"),
        ("X-HTTP-Method-Override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-method-override", "DELETE"),
        ("X-Forwarded-Host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-prefix", "/api"),
        ("x-forwarded-path", "/api/secret"),
        ("forwarded", "host=evil.example"),
        ("x-real-ip", "10.0.0.1"),
    ] {
        req = req.with_header(name, value);
    }
    let f = forwarded(&h, req);
    let names: Vec<&str> = f.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "cf-connecting-ip",
            "accept",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-forwarded-for"
        ]
    );
    assert_eq!(header(&f, "x-forwarded-host"), ["auth.test"]);
    assert_eq!(header(&f, "x-forwarded-proto"), ["https"]);
    assert_eq!(header(&f, "x-forwarded-for"), ["203.0.113.9"]);
}

#[test]
fn portcullis_cookies_stay_with_portcullis() {
    let (h, _) = gateway();
    let f = forwarded(
        &h,
        get("/public/a")
            .with_header(
                "cookie",
                "app=1; __Host-portcullis_session=abc.def; theme=dark",
            )
            .with_header("cookie", "portcullis_session=x.y"),
    );
    assert_eq!(header(&f, "cookie"), ["app=1; theme=dark"]);
}

#[test]
fn missing_token_has_no_error_attribute_and_bad_token_is_invalid_token() {
    let (h, _) = gateway();
    let r = refused(send(&h, get("/api/x")));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"portcullis\"")
    );
    let r = refused(send(&h, bearer(get("/api/x"), "not.a.token")));
    assert_eq!(r.status, 401);
    assert!(r
        .header_value("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
}

#[test]
fn a_verified_request_reads_no_kv_in_the_steady_state() {
    let (h, t) = gateway();
    forwarded(&h, bearer(get("/api/items"), &t));
    let reads = h.kv.2.get();
    for _ in 0..10 {
        forwarded(&h, bearer(get("/api/items"), &t));
    }
    assert_eq!(
        h.kv.2.get(),
        reads,
        "keys, routes and the deny-list come from the isolate"
    );
}

#[test]
fn a_cached_verification_still_meets_each_routes_issuer_audience_and_expiry() {
    let (h, t) = gateway();
    trust_issuer(&h, &[ed_key(1).1]);
    // Verified once: from here on the token is found in the isolate's cache, unparsed.
    forwarded(&h, bearer(get("/api/items"), &t));
    // A route naming another issuer, for the very audience the token holds.
    assert_eq!(refused(send(&h, bearer(get("/ext-api/x"), &t))).status, 401);
    assert_eq!(
        refused(send(&h, bearer(get("/other-aud/x"), &t))).status,
        401
    );
    forwarded(&h, bearer(get("/api/items"), &t));
    h.advance(3600 + 61);
    assert_eq!(refused(send(&h, bearer(get("/api/items"), &t))).status, 401);
}

#[test]
fn verified_token_forwards_identity_and_drops_authorization() {
    let (h, t) = gateway();
    let f = forwarded(
        &h,
        bearer(get("/api/items"), &t).with_header("x-portcullis-client-id", "spoofed"),
    );
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header(&f, "x-portcullis-subject"),
        [claims["sub"].as_str().unwrap()]
    );
    assert_eq!(
        header(&f, "x-portcullis-client-id"),
        [claims["client_id"].as_str().unwrap()]
    );
    assert_eq!(header(&f, "x-portcullis-scope"), ["read"]);
    assert_eq!(header(&f, "x-portcullis-issuer"), [ORIGIN]);
    assert!(header(&f, "authorization").is_empty());
    // `forward_token` keeps it; `any` mode is satisfied by `read` alone.
    let f = forwarded(&h, bearer(get("/either"), &t));
    assert_eq!(
        header(&f, "authorization"),
        [format!("Bearer {t}").as_str()]
    );
}

#[test]
fn missing_scope_is_403_naming_the_scope() {
    let (h, t) = gateway();
    let r = refused(send(
        &h,
        bearer(Request::new(Method::Post, ORIGIN, "/api/x"), &t),
    ));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header_value("www-authenticate"),
        Some("Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"write\"")
    );
    assert_eq!(body(&r)["error"], "insufficient_scope");
}

#[test]
fn wrong_audience_and_expired_tokens_are_invalid() {
    let (h, t) = gateway();
    assert_eq!(
        refused(send(&h, bearer(get("/other-aud/x"), &t))).status,
        401
    );
    // A route that names no audience takes only tokens for Portcullis's own (the issuer).
    assert_eq!(
        refused(send(&h, bearer(get("/default-aud/x"), &t))).status,
        401
    );
    h.advance(3600 + 61);
    assert_eq!(refused(send(&h, bearer(get("/api/x"), &t))).status, 401);
}

#[test]
fn route_table_is_versioned_validated_and_guarded_by_if_match() {
    let (h, _) = gateway();
    let r = admin(&h, Method::Get, "/admin/v1/routes", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("etag"), Some("\"1\""));
    assert_eq!(body(&r)["routes"].as_array().unwrap().len(), 8);
    let bad = put_routes(&h, json!([{"path": "/x", "scopes": ["a b"]}]));
    assert_eq!(
        (bad.status, body(&bad)["field"].clone()),
        (422, json!("routes[0].scopes[0]"))
    );
    let unknown = put_routes(&h, json!([{"path": "/x", "color": "red"}]));
    assert_eq!(unknown.status, 400);
    let stale = h.send(
        Request::new(Method::Put, ORIGIN, "/admin/v1/routes")
            .with_header(
                "authorization",
                &format!("Bearer {}", crate::testing::TEST_ADMIN_TOKEN),
            )
            .with_header("content-type", "application/json")
            .with_header("if-match", "\"7\"")
            .with_body(json!({"routes": []}).to_string()),
    );
    assert_eq!(stale.status, 412);
    let r = admin(&h, Method::Get, "/admin/v1/routes", None);
    assert_eq!(body(&r)["version"], 1);
}

// --- trusted external issuers -------------------------------------------------------------

fn ed_key(seed: u8) -> (ed25519_compact::SecretKey, Value, String) {
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]));
    let kid = format!("ed-{seed}");
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(pair.pk.as_ref())});
    (pair.sk, jwk, kid)
}

fn ext_claims(h: &Harness, aud: &str, scope: &str) -> Claims<Value> {
    let now =
        chrono::DateTime::from_timestamp_millis(i64::try_from(h.clock.0.get()).unwrap()).unwrap();
    Claims::new(
        json!({"iss": EXT_ISS, "sub": "user-7", "aud": [aud], "azp": "ext-app", "scope": scope}),
    )
    .set_duration_and_issuance(
        &TimeOptions::new(chrono::Duration::zero(), move || now),
        chrono::Duration::seconds(300),
    )
}

/// An `EdDSA` token of the external issuer for `https://api.test` with scope `read`, signed by
/// `sk` under `kid`.
fn ext_read_token(h: &Harness, sk: &ed25519_compact::SecretKey, kid: &str) -> String {
    Ed25519
        .token(
            &Header::empty().with_key_id(kid),
            &ext_claims(h, "https://api.test", "read"),
            sk,
        )
        .unwrap()
}

fn trust_issuer(h: &Harness, keys: &[Value]) {
    h.http
        .answers
        .borrow_mut()
        .insert(EXT_JWKS.into(), (200, json!({ "keys": keys }).to_string()));
    let r = admin(
        h,
        Method::Put,
        "/admin/v1/issuers",
        Some(json!({"issuers": [{"issuer": EXT_ISS, "jwks_uri": EXT_JWKS,
            "audiences": ["https://api.test"], "algorithms": ["EdDSA", "ES256"]}]})),
    );
    assert_eq!(r.status, 200, "{:?}", body(&r));
}

#[test]
fn external_issuer_tokens_verify_and_map_azp_to_client_id() {
    let (h, _) = gateway();
    let (sk, jwk, kid) = ed_key(1);
    trust_issuer(&h, &[jwk]);
    let t = Ed25519
        .token(
            &Header::empty().with_key_id(&kid),
            &ext_claims(&h, "https://api.test", "read"),
            &sk,
        )
        .unwrap();
    let f = forwarded(&h, bearer(get("/ext/x"), &t));
    assert_eq!(header(&f, "x-portcullis-subject"), ["user-7"]);
    assert_eq!(header(&f, "x-portcullis-client-id"), ["ext-app"]);
    assert_eq!(header(&f, "x-portcullis-issuer"), [EXT_ISS]);
    // Only on routes that name the issuer: never where Portcullis's own tokens are expected.
    assert_eq!(refused(send(&h, bearer(get("/api/x"), &t))).status, 401);
    // An audience the issuer is not trusted for.
    let t = Ed25519
        .token(
            &Header::empty().with_key_id(&kid),
            &ext_claims(&h, "https://other", "read"),
            &sk,
        )
        .unwrap();
    assert_eq!(
        refused(send(&h, bearer(get("/other-aud/x"), &t))).status,
        401
    );
}

#[test]
fn unknown_kids_refetch_the_jwks_at_most_once_per_cooldown() {
    let (h, _) = gateway();
    let (_, jwk, _) = ed_key(1);
    trust_issuer(&h, std::slice::from_ref(&jwk));
    let (sk2, jwk2, kid2) = ed_key(2);
    let t = ext_read_token(&h, &sk2, &kid2);
    // First sight fetches; the kid is unknown; a flood within the cool-down fetches nothing.
    for _ in 0..20 {
        assert_eq!(refused(send(&h, bearer(get("/ext/x"), &t))).status, 401);
    }
    assert_eq!(h.http.calls.get(), 1);
    // The issuer rotates; after the cool-down the new kid is fetched and accepted.
    h.http.answers.borrow_mut().insert(
        EXT_JWKS.into(),
        (200, json!({ "keys": [jwk, jwk2] }).to_string()),
    );
    h.advance(31);
    let t = ext_read_token(&h, &sk2, &kid2);
    forwarded(&h, bearer(get("/ext/x"), &t));
    assert_eq!(h.http.calls.get(), 2);
}

#[test]
fn concurrent_unknown_kids_share_one_refetch() {
    let (h, _) = gateway();
    let (_, jwk, _) = ed_key(1);
    trust_issuer(&h, std::slice::from_ref(&jwk));
    let (sk2, _, kid2) = ed_key(2);
    let t = ext_read_token(&h, &sk2, &kid2);
    assert_eq!(refused(send(&h, bearer(get("/ext/x"), &t))).status, 401);
    let before = h.http.calls.get();
    h.advance(31);
    h.http.suspends.set(true);
    let ctx = h.context();
    let flood: Vec<Request> = (0..20).map(|_| bearer(get("/ext/x"), &t)).collect();
    let decisions = futures::executor::block_on(futures::future::join_all(
        flood.iter().map(|r| decide(&ctx, r)),
    ));
    assert!(decisions.into_iter().all(|d| refused(d).status == 401));
    assert_eq!(
        h.http.calls.get(),
        before + 1,
        "one fetch for the whole flood"
    );
}

#[test]
fn a_jwks_that_redirects_is_a_failed_fetch_and_keeps_the_keys_at_hand() {
    let (h, _) = gateway();
    let (sk, jwk, kid) = ed_key(1);
    trust_issuer(&h, &[jwk]);
    forwarded(&h, bearer(get("/ext/x"), &ext_read_token(&h, &sk, &kid)));
    // The JWKS moves elsewhere. The HTTP port follows no redirect, so the 302 is the answer,
    // whatever its body holds.
    let (sk2, jwk2, kid2) = ed_key(2);
    h.http.answers.borrow_mut().insert(
        EXT_JWKS.into(),
        (302, json!({ "keys": [jwk2] }).to_string()),
    );
    h.advance(31);
    let t = ext_read_token(&h, &sk2, &kid2);
    assert_eq!(refused(send(&h, bearer(get("/ext/x"), &t))).status, 401);
    assert_eq!(h.http.calls.get(), 2, "the unknown kid refetched the JWKS");
    let logged = h
        .log
        .0
        .borrow()
        .iter()
        .rev()
        .find_map(|e| e.failure.clone());
    assert_eq!(
        logged.map(|f| (f.kind, f.detail)),
        Some((
            "fetch",
            format!("fetching the JWKS of {EXT_ISS}: answered 302")
        )),
        "the failed fetch is logged"
    );
    forwarded(&h, bearer(get("/ext/x"), &ext_read_token(&h, &sk, &kid)));
}

#[test]
fn external_algorithm_confusion_and_zero_signatures_are_refused() {
    let (h, _) = gateway();
    let ec_key = p256_key();
    let (sk, ed_jwk, ed_kid) = ed_key(1);
    let p256_jwk = {
        let mut j =
            serde_json::to_value(jwt_compact::jwk::JsonWebKey::from(ec_key.verifying_key()))
                .unwrap();
        j["kid"] = "ec-1".into();
        j
    };
    trust_issuer(&h, &[ed_jwk, p256_jwk]);
    let claims = ext_claims(&h, "https://api.test", "read");
    let good = Es256
        .token(&Header::empty().with_key_id("ec-1"), &claims, &ec_key)
        .unwrap();
    forwarded(&h, bearer(get("/ext/x"), &good));
    let (head, payload) = good.rsplit_once('.').unwrap().0.split_once('.').unwrap();
    let zero = format!("{head}.{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(refused(send(&h, bearer(get("/ext/x"), &zero))).status, 401);
    // An EdDSA signature presented under an ES256 key id, and HS256 / none headers.
    let ed = Ed25519
        .token(&Header::empty().with_key_id("ec-1"), &claims, &sk)
        .unwrap();
    assert_eq!(refused(send(&h, bearer(get("/ext/x"), &ed))).status, 401);
    for alg in ["HS256", "none", "RS256"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{ed_kid}"}}"#));
        let forged = format!("{header}.{payload}.c2ln");
        assert_eq!(
            refused(send(&h, bearer(get("/ext/x"), &forged))).status,
            401,
            "{alg}"
        );
    }
}

#[test]
fn external_id_tokens_and_unlisted_types_are_refused() {
    let (h, _) = gateway();
    let (sk, jwk, kid) = ed_key(1);
    trust_issuer(&h, &[jwk]);
    let sign = |typ: Option<&str>, extra: Value| {
        let mut claims = ext_claims(&h, "https://api.test", "read");
        for (k, v) in extra.as_object().unwrap() {
            claims.custom[k] = v.clone();
        }
        let mut header = Header::empty().with_key_id(&kid);
        if let Some(typ) = typ {
            header = header.with_token_type(typ);
        }
        Ed25519.token(&header, &claims, &sk).unwrap()
    };
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt"),
        Some("application/AT+JWT"),
    ] {
        forwarded(&h, bearer(get("/ext/x"), &sign(typ, json!({}))));
    }
    for (typ, extra) in [
        (Some("JWT"), json!({"nonce": "n-0S6_WzA2Mj"})),
        (None, json!({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"})),
        (Some("id_token+jwt"), json!({})),
        (Some("dpop+jwt"), json!({})),
    ] {
        let t = sign(typ, extra.clone());
        assert_eq!(
            refused(send(&h, bearer(get("/ext/x"), &t))).status,
            401,
            "{typ:?} {extra}"
        );
    }
}

fn p256_key() -> <Es256 as jwt_compact::Algorithm>::SigningKey {
    <Es256 as jwt_compact::Algorithm>::SigningKey::from_slice(&[7u8; 32]).unwrap()
}

#[test]
fn issuer_list_refuses_hmac_and_none_by_type() {
    let (h, _) = gateway();
    for alg in ["HS256", "none"] {
        let r = admin(
            &h,
            Method::Put,
            "/admin/v1/issuers",
            Some(json!({"issuers": [{"issuer": EXT_ISS, "jwks_uri": EXT_JWKS,
                "audiences": ["a"], "algorithms": [alg]}]})),
        );
        assert_eq!(r.status, 400, "{alg}");
        assert_eq!(body(&r)["field"], "issuers[0].algorithms[0]");
    }
    let r = admin(
        &h,
        Method::Put,
        "/admin/v1/issuers",
        Some(
            json!({"issuers": [{"issuer": EXT_ISS, "jwks_uri": "http://idp.example/jwks",
            "audiences": ["a"], "algorithms": ["RS256"]}]}),
        ),
    );
    assert_eq!(
        (r.status, body(&r)["field"].clone()),
        (422, json!("issuers[0].jwks_uri"))
    );
}

#[test]
fn portcullis_endpoints_never_reach_the_gateway() {
    use crate::app::Endpoint;
    let is_endpoint = |path: &str| Endpoint::of(path).is_some();
    for path in [
        "/.well-known/jwks.json",
        "/oauth/token",
        "/oauth/authorize",
        "/verify",
        "/login",
        "/account/grants",
        "/admin/v1/routes",
    ] {
        assert!(is_endpoint(path), "{path}");
    }
    for path in [
        "/",
        "/api/x",
        "/oauthx",
        "/verify/x",
        "/administrator",
        "/loginx",
    ] {
        assert!(!is_endpoint(path), "{path}");
    }
}

#[test]
fn replacing_the_route_table_is_audited() {
    let (h, _) = gateway();
    let audited = h
        .storage
        .0
        .borrow()
        .iter()
        .filter(|(k, v)| k.starts_with("audit:") && v.contains("\"routes.replace\""))
        .count();
    assert_eq!(audited, 1);
    assert!(h.kv.0.borrow().contains_key(super::ROUTES_KEY));
}
