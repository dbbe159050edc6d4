//! Whole requests for the user grants against the in-memory ports: sign-in, consent, code
//! redemption with PKCE, refresh rotation and replay handling, through the real router.

use serde_json::{json, Value};

use crate::crypto::sha256_b64;
use crate::http::{Method, Request, Response};
use crate::testing::{Harness, TEST_ADMIN_TOKEN};

pub(crate) const ORIGIN: &str = "https://auth.test";
const CB: &str = "https://app.test/cb";
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

/// Signs in, consents and answers the code.
pub(crate) fn code(h: &Harness, client_id: &str) -> String {
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
        "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=read&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let mut r = h.send(Request::new(Method::Get, ORIGIN, &url).with_header("cookie", &cookie));
    if r.status == 200 {
        // First time: the consent page; afterwards the consent is remembered.
        assert!(html(&r).contains("Read things"));
        let mut fields = hidden(&html(&r));
        fields.push(("decision".into(), "allow".into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        r = h.send(form("/oauth/authorize", &cookie, &pairs));
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
    h.advance(crate::ratelimit::RETRY_AFTER_SECS);
    let fresh = code(&h, &client_id);
    assert_eq!(redeem_from(15, &fresh), 200, "a minute later");
}
