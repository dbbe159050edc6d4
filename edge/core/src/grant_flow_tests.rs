//! Whole requests for the user grants against the in-memory ports: sign-in, consent, code
//! redemption with PKCE, refresh rotation and replay handling, through the real router.

use serde_json::{json, Value};

use crate::crypto::sha256_b64;
use crate::http::{Method, Request, Response};
use crate::testing::{Harness, TEST_ADMIN_TOKEN};

pub(crate) const ORIGIN: &str = "https://auth.test";
pub(crate) const CB: &str = "https://app.test/cb";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub(crate) fn body(resp: &Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
}

pub(crate) fn html(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

pub(crate) fn admin_post(h: &Harness, path: &str, json: &Value) -> Value {
    let r = h.send(
        Request::new(Method::Post, ORIGIN, path)
            .with_header("authorization", &format!("Bearer {TEST_ADMIN_TOKEN}"))
            .with_header("content-type", "application/json")
            .with_body(json.to_string()),
    );
    assert_eq!(r.status, 201, "{}", html(&r));
    body(&r)
}

pub(crate) fn form(path: &str, cookie: &str, params: &[(&str, &str)]) -> Request {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    Request::new(Method::Post, ORIGIN, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("cookie", cookie)
        .with_body(ser.finish())
}

/// The `name=value` part of the session cookie a response sets.
pub(crate) fn cookie_of(r: &Response) -> String {
    let set = r.header_value("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// The hidden fields of the page's form, unescaped.
pub(crate) fn hidden(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let value = rest.split_once('"').unwrap().0;
            (name.to_owned(), value.replace("&amp;", "&"))
        })
        .collect()
}

/// Scopes, a user `alice` and a public code client; answers the client id.
pub(crate) fn setup() -> (Harness, String) {
    let h = Harness::default();
    admin_post(
        &h,
        "/admin/v1/scopes",
        &json!({"name": "read", "description": "Read things"}),
    );
    admin_post(
        &h,
        "/admin/v1/users",
        &json!({"username": "alice", "password": "correct horse"}),
    );
    let c = admin_post(
        &h,
        "/admin/v1/clients",
        &json!({"name": "Printer", "grant_types": ["authorization_code", "refresh_token"], "scopes": ["read"], "redirect_uris": [CB], "public": true}),
    );
    (h, c["client_id"].as_str().unwrap().to_owned())
}

/// Signs in, consents to `read` and answers the code.
pub(crate) fn code(h: &Harness, client_id: &str) -> String {
    code_for(h, client_id, "read")
}

/// Signs in, consents to `scope` and answers the code.
fn code_for(h: &Harness, client_id: &str, scope: &str) -> String {
    let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
    let cookie = cookie_of(&page);
    let csrf = hidden(&html(&page))[0].1.clone();
    let r = h.send(form(
        "/login",
        &cookie,
        &[
            ("username", "alice"),
            ("password", "correct horse"),
            ("csrf_token", &csrf),
        ],
    ));
    assert_eq!(r.status, 303, "{}", html(&r));
    let cookie = cookie_of(&r);
    let challenge = sha256_b64(VERIFIER.as_bytes());
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    );
    let mut r = h.send(Request::new(Method::Get, ORIGIN, &url).with_header("cookie", &cookie));
    if r.status == 200 {
        // First time: the consent page; afterwards the consent is remembered.
        assert!(html(&r).contains("Read things") || !scope.contains("read"));
        r = allow(h, &cookie, &r);
    }
    assert_eq!(r.status, 302, "{}", html(&r));
    let location = r.header_value("location").unwrap();
    let query = location
        .strip_prefix(&format!("{CB}?"))
        .expect("back at the client");
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert!(params.contains(&("state".into(), "s1".into())));
    assert!(params.contains(&("iss".into(), ORIGIN.into())));
    params.into_iter().find(|(k, _)| k == "code").unwrap().1
}

/// Allows on the consent page `page`: posts its hidden fields back with `decision=allow`.
pub(crate) fn allow(h: &Harness, cookie: &str, page: &Response) -> Response {
    let mut fields = hidden(&html(page));
    fields.push(("decision".into(), "allow".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    h.send(form("/oauth/authorize", cookie, &pairs))
}

pub(crate) fn redeem(h: &Harness, client_id: &str, code: &str, verifier: &str) -> Response {
    h.send(form(
        "/oauth/token",
        "",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ],
    ))
}

pub(crate) fn verify(h: &Harness, at: &str) -> u16 {
    h.send(
        Request::new(Method::Post, ORIGIN, "/verify")
            .with_header("authorization", &format!("Bearer {at}")),
    )
    .status
}

#[test]
fn code_flow_issues_tokens_once_and_replay_revokes_them() {
    let (h, client_id) = setup();
    let code = code(&h, &client_id);
    assert_eq!(
        redeem(&h, &client_id, &code, &VERIFIER.replace('d', "e")).status,
        400
    );
    let code = self::code(&h, &client_id);
    let r = redeem(&h, &client_id, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", html(&r));
    let tokens = body(&r);
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(verify(&h, at), 200);
    let again = redeem(&h, &client_id, &code, VERIFIER);
    assert_eq!(body(&again)["error"], "invalid_grant");
    assert_eq!(verify(&h, at), 401, "the replay revoked the access token");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r = h.send(form(
        "/oauth/token",
        "",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &client_id),
        ],
    ));
    assert_eq!(body(&r)["error"], "invalid_grant", "and its refresh token");
}

#[test]
fn unknown_client_or_redirect_uri_is_a_page_not_a_redirect() {
    let (h, client_id) = setup();
    for url in [
        "/oauth/authorize?response_type=code&client_id=nobody".to_owned(),
        format!("/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fevil.test%2Fcb"),
        format!("/oauth/authorize?response_type=code&client_id={client_id}&client_id=x"),
    ] {
        let r = h.send(Request::new(Method::Get, ORIGIN, &url));
        assert_eq!(r.status, 400, "{url}");
        assert!(r.header_value("location").is_none(), "{url}");
        assert!(r.header_value("content-type").unwrap().starts_with("text/html"));
    }
}

#[test]
fn sign_ins_for_an_existing_client_count_against_its_login_budget() {
    let (h, client_id) = setup();
    h.limits.budget.set(Some(2));
    // Each attempt from its own address, so only the client's budget can run out; `csrf`
    // says whether the post carries its session's CSRF token.
    let attempt_with = |n: usize, client: &str, csrf: bool| {
        let ip = format!("192.0.2.{n}");
        let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
        let cookie = cookie_of(&page);
        let token = if csrf {
            hidden(&html(&page))[0].1.clone()
        } else {
            String::new()
        };
        let next = format!("/oauth/authorize?response_type=code&client_id={client}");
        // A name of its own, so that no lockout answers first.
        let username = format!("nobody{n}");
        h.send(
            form(
                "/login",
                &cookie,
                &[
                    ("username", &username),
                    ("password", "wrong"),
                    ("next", &next),
                    ("csrf_token", &token),
                ],
            )
            .with_header("cf-connecting-ip", &ip),
        )
        .status
    };
    let attempt = |n: usize, client: &str| attempt_with(n, client, true);
    // Posts that fail the CSRF check cost a stranger nothing and spend nothing.
    for n in 20..30 {
        assert_eq!(attempt_with(n, &client_id, false), 403);
    }
    // Made-up client ids are never counted: no key is created for them.
    for n in 0..4 {
        assert_ne!(attempt(n, "no-such-client"), 429);
    }
    assert_ne!(attempt(10, &client_id), 429);
    assert_ne!(attempt(11, &client_id), 429);
    assert_eq!(attempt(12, &client_id), 429);
    // Audited under a key of its own, apart from the client's token requests.
    let trips: Vec<String> = h
        .storage
        .0
        .borrow()
        .iter()
        .filter(|(k, v)| k.starts_with("audit:") && v.contains("ratelimit.trip"))
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(trips.len(), 1);
    assert!(
        trips[0].contains(&format!("client:login:{client_id}")),
        "{trips:?}"
    );
}

/// A refresh of `rt` by `client_id` from `ip`.
fn refresh_from(h: &Harness, client_id: &str, rt: &str, ip: &str) -> Value {
    body(
        &h.send(
            form(
                "/oauth/token",
                "",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt),
                    ("client_id", client_id),
                ],
            )
            .with_header("cf-connecting-ip", ip),
        ),
    )
}

#[test]
fn a_retried_refresh_gets_the_same_refresh_token_which_storage_never_holds_in_the_clear() {
    let (h, client_id) = setup();
    let code = code(&h, &client_id);
    let first = body(&redeem(&h, &client_id, &code, VERIFIER));
    let rt = first["refresh_token"].as_str().unwrap();
    let rotated = refresh_from(&h, &client_id, rt, "192.0.2.1");
    h.advance(1);
    let retried = refresh_from(&h, &client_id, rt, "192.0.2.1");
    let new = rotated["refresh_token"].as_str().expect("rotated");
    assert_eq!(retried["refresh_token"], new, "{retried}");
    assert_ne!(retried["access_token"], rotated["access_token"]);
    assert_eq!(verify(&h, retried["access_token"].as_str().unwrap()), 200);
    let secret_part = new.split_once('.').unwrap().1;
    let stored = h.grant_storage.0.borrow();
    assert!(
        !stored
            .iter()
            .any(|(k, v)| k.contains(secret_part) || v.contains(secret_part)),
        "the new refresh token is stored only as a hash and sealed"
    );
    drop(stored);
    // After the window, the same caller's reuse revokes everything.
    h.advance(1);
    let late = refresh_from(&h, &client_id, rt, "192.0.2.1");
    assert_eq!(late["error"], "invalid_grant");
    assert_eq!(
        refresh_from(&h, &client_id, new, "192.0.2.1")["error"],
        "invalid_grant"
    );
    assert_eq!(verify(&h, retried["access_token"].as_str().unwrap()), 401);
}

#[test]
fn a_public_clients_failed_grants_spend_nothing_and_its_successes_trip_its_budget() {
    let (h, client_id) = setup();
    let codes: Vec<String> = (0..4).map(|_| code(&h, &client_id)).collect();
    h.limits.budget.set(Some(2));
    // Each request from its own address, so only the client's budget can run out.
    let from = |n: usize, req: Request| {
        h.send(req.with_header("cf-connecting-ip", &format!("192.0.2.{n}")))
            .status
    };
    for n in 0..6 {
        let made_up = form(
            "/oauth/token",
            "",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "3.made-up"),
                ("client_id", &client_id),
            ],
        );
        assert_eq!(from(n, made_up), 400, "failure {n}");
    }
    let redeem_from = |n: usize, code: &str| {
        from(
            n,
            form(
                "/oauth/token",
                "",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", CB),
                    ("code_verifier", VERIFIER),
                    ("client_id", &client_id),
                ],
            ),
        )
    };
    assert_eq!(redeem_from(10, &codes[0]), 200);
    assert_eq!(redeem_from(11, &codes[1]), 200);
    // The grant past the limit is answered (its code is spent) and trips the budget...
    assert_eq!(redeem_from(12, &codes[2]), 200);
    // ...so the next one is refused before any work, for a minute.
    assert_eq!(redeem_from(13, &codes[3]), 429);
    h.limits.budget.set(None);
    assert_eq!(redeem_from(14, &codes[3]), 429);
    h.advance(crate::lifetimes::RETRY_AFTER_SECS);
    let fresh = code(&h, &client_id);
    assert_eq!(redeem_from(15, &fresh), 200, "a minute later");
}

mod lifecycle {
    //! When tokens stop being valid: grants that follow the client (issue 12, point 1),
    //! a deny-list that scales (point 6) and signing-key compromise (point 7).

    use serde_json::json;

    use super::{admin_post, body, code, code_for, form, html, redeem, setup, verify, ORIGIN};
    use crate::authority::Command;
    use crate::cache::DENYLIST_TTL_MS;
    use crate::denylist::{page_key, DenyHead, HEAD_KEY, PAGE_SIZE};
    use crate::flow_tests::admin;
    use crate::grants::{GrantEvent, IssuedToken};
    use crate::http::{Method, Request, Response};
    use crate::testing::Harness;

    const VERIFIER: &str = super::VERIFIER;

    fn refresh(h: &Harness, client_id: &str, rt: &str, scope: Option<&str>) -> Response {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ];
        params.extend(scope.map(|s| ("scope", s)));
        h.send(form("/oauth/token", "", &params))
    }

    /// Tokens for `client_id` through the code flow.
    fn tokens(h: &Harness, client_id: &str, scope: &str) -> (String, String) {
        let code = code_for(h, client_id, scope);
        let r = redeem(h, client_id, &code, VERIFIER);
        assert_eq!(r.status, 200, "{}", html(&r));
        let b = body(&r);
        (
            b["access_token"].as_str().unwrap().to_owned(),
            b["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// The deny-list bound: another isolate re-reads the head after this long.
    fn wait_denylist_bound(h: &Harness) {
        h.advance(DENYLIST_TTL_MS / 1000);
    }

    #[test]
    fn a_refresh_issues_only_the_scopes_the_client_still_holds() {
        let (h, client_id) = setup();
        admin_post(
            &h,
            "/admin/v1/scopes",
            &json!({"name": "write", "description": "Write things"}),
        );
        let path = format!("/admin/v1/clients/{client_id}");
        let r = admin(
            &h,
            Method::Patch,
            &path,
            Some(json!({"scopes": ["read", "write"]})),
        );
        assert_eq!(r.status, 200, "{}", html(&r));
        let (_, rt) = tokens(&h, &client_id, "read write");
        let r = admin(&h, Method::Patch, &path, Some(json!({"scopes": ["read"]})));
        assert_eq!(r.status, 200, "{}", html(&r));
        h.caches.forget_client(&client_id);
        let r = refresh(&h, &client_id, &rt, None);
        assert_eq!(r.status, 200, "{}", html(&r));
        assert_eq!(body(&r)["scope"], "read");
        let rt = body(&r)["refresh_token"].as_str().unwrap().to_owned();
        let r = refresh(&h, &client_id, &rt, Some("read write"));
        assert_eq!(body(&r)["error"], "invalid_scope");
    }

    #[test]
    fn disabling_a_client_denies_its_tokens_and_revokes_its_refresh_families() {
        let (h, client_id) = setup();
        let (at, rt) = tokens(&h, &client_id, "read");
        assert_eq!(verify(&h, &at), 200);
        let path = format!("/admin/v1/clients/{client_id}");
        let r = admin(&h, Method::Patch, &path, Some(json!({"disabled": true})));
        assert_eq!(r.status, 200, "{}", html(&r));
        wait_denylist_bound(&h);
        assert_eq!(verify(&h, &at), 401, "denied within the deny-list bound");
        let r = admin(&h, Method::Patch, &path, Some(json!({"disabled": false})));
        assert_eq!(r.status, 200, "{}", html(&r));
        wait_denylist_bound(&h);
        assert_eq!(
            verify(&h, &at),
            401,
            "enabling again does not revive old tokens"
        );
        let r = refresh(&h, &client_id, &rt, None);
        assert_eq!(body(&r)["error"], "invalid_grant", "{}", html(&r));
        let (at, _) = tokens(&h, &client_id, "read");
        assert_eq!(verify(&h, &at), 200, "new tokens are fine");
        let audit = html(&admin(&h, Method::Get, "/admin/v1/audit", None));
        assert!(audit.contains("client.grants_revoke"), "{audit}");
    }

    #[test]
    fn deleting_a_client_denies_its_tokens() {
        let (h, client_id) = setup();
        let (at, _) = tokens(&h, &client_id, "read");
        let path = format!("/admin/v1/clients/{client_id}");
        assert_eq!(admin(&h, Method::Delete, &path, None).status, 204);
        wait_denylist_bound(&h);
        assert_eq!(verify(&h, &at), 401);
    }

    #[test]
    fn a_revoked_signing_key_fails_its_tokens_and_leaves_the_jwks() {
        let (h, client_id) = setup();
        let (at, _) = tokens(&h, &client_id, "read");
        let keys = body(&admin(&h, Method::Get, "/admin/v1/keys", None));
        let kid = keys["keys"][0]["kid"].as_str().unwrap().to_owned();
        assert_eq!(keys["keys"][0]["state"], "current");
        let path = format!("/admin/v1/keys/{kid}/revoke");
        let r = admin(&h, Method::Post, &path, None);
        assert_eq!(r.status, 200, "{}", html(&r));
        assert_eq!(verify(&h, &at), 401);
        let jwks = html(&h.send(Request::new(Method::Get, ORIGIN, "/.well-known/jwks.json")));
        assert!(!jwks.contains(&kid));
        // Every isolate: the deny-list names the key.
        let head: DenyHead = serde_json::from_str(&h.kv.0.borrow()[HEAD_KEY]).unwrap();
        assert!(head.keys.contains_key(&kid));
        let (at, _) = tokens(&h, &client_id, "read");
        assert_eq!(verify(&h, &at), 200, "the next key signs");
        assert_eq!(admin(&h, Method::Post, &path, None).status, 404);
        let audit = html(&admin(&h, Method::Get, "/admin/v1/audit", None));
        assert!(audit.contains("key.revoke"), "{audit}");
    }

    #[test]
    fn with_100000_revocations_the_head_stays_small_and_everything_still_works() {
        let (h, client_id) = setup();
        let (at, rt) = tokens(&h, &client_id, "read");
        let ctx = h.context();
        let exp = h.clock.0.get() / 1000 + 3600;
        // In batches, as a grant's revocation sends them (one command per thousand, so the
        // debug build runs it in seconds); each `jti` is a record and an entry of its own.
        for batch in 0..100 {
            let deny = (0..1000)
                .map(|i| IssuedToken {
                    jti: format!("jti-{batch:03}-{i:03}"),
                    exp,
                })
                .collect();
            let event = GrantEvent {
                id: format!("g{batch}#1"),
                action: "grant.revoke".into(),
                target: format!("g{batch}"),
                deny,
            };
            let reply =
                futures::executor::block_on(ctx.command("test", Command::GrantEvent { event }));
            assert!(reply.is_ok());
        }
        let revoked = h
            .storage
            .0
            .borrow()
            .keys()
            .filter(|k| k.starts_with("denied/"))
            .count();
        assert_eq!(revoked, 100_000);
        {
            let kv = h.kv.0.borrow();
            let head = &kv[HEAD_KEY];
            assert!(head.len() < 64 * 1024, "head {} bytes", head.len());
            assert!(kv.contains_key(&page_key(99)));
            let largest = kv.values().map(String::len).max().unwrap();
            assert!(
                largest < 64 * 1024,
                "no stored value grows: {largest} bytes"
            );
        }
        // The pages are read once; after that a refresh reads the head alone.
        h.advance(DENYLIST_TTL_MS / 1000);
        assert_eq!(verify(&h, &at), 200);
        let reads = h.kv.2.get();
        h.advance(DENYLIST_TTL_MS / 1000);
        assert_eq!(verify(&h, &at), 200);
        assert_eq!(h.kv.2.get() - reads, 1, "a refresh reads the head alone");
        // Revocation, reuse detection and consent still work.
        let r = refresh(&h, &client_id, &rt, None);
        assert_eq!(r.status, 200);
        let r = refresh(&h, &client_id, &rt, None);
        assert_eq!(body(&r)["error"], "invalid_grant", "reuse detected");
        assert_eq!(
            verify(&h, &at),
            401,
            "reuse denied the family's access token"
        );
        let code = code(&h, &client_id);
        let r = redeem(&h, &client_id, &code, VERIFIER);
        let at = body(&r)["access_token"].as_str().unwrap().to_owned();
        assert_eq!(verify(&h, &at), 200);
        let r = h.send(form(
            "/oauth/revoke",
            "",
            &[("token", &at), ("client_id", &client_id)],
        ));
        assert_eq!(r.status, 200);
        assert_eq!(verify(&h, &at), 401);
        let largest = h
            .storage
            .0
            .borrow()
            .values()
            .map(String::len)
            .max()
            .unwrap();
        assert!(largest < 64 * 1024, "authority storage: {largest} bytes");
        assert_eq!(PAGE_SIZE, 1000, "100 pages");
    }
}
