//! Whole requests for grants that follow the person and sessions people can end, against the
//! in-memory ports, with the Durable Objects failing on purpose midway ([`Harness::failing`]).

use serde_json::json;

use crate::flow_tests::admin;
use crate::grant_flow_tests::{
    body, code, cookie_of, form, hidden, html, redeem, setup, verify, ORIGIN, VERIFIER,
};
use crate::http::{Method, Request, Response};
use crate::people::resume;
use crate::testing::Harness;

/// The id of user `alice`.
fn alice(h: &Harness) -> String {
    let users = body(&admin(h, Method::Get, "/admin/v1/users", None));
    users["users"][0]["id"].as_str().unwrap().to_owned()
}

/// Signs `username` in; answers the session cookie.
fn sign_in(h: &Harness, username: &str, password: &str) -> String {
    let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
    let csrf = hidden(&html(&page))[0].1.clone();
    let r = h.send(form(
        "/login",
        &cookie_of(&page),
        &[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ],
    ));
    assert_eq!(r.status, 303, "{}", html(&r));
    cookie_of(&r)
}

/// Whether `cookie` is a signed-in session (the account page shows, not the sign-in).
fn signed_in(h: &Harness, cookie: &str) -> bool {
    let r =
        h.send(Request::new(Method::Get, ORIGIN, "/account/grants").with_header("cookie", cookie));
    match r.status {
        200 => true,
        303 => false,
        other => panic!("account page answered {other}: {}", html(&r)),
    }
}

/// Access and refresh token of a fresh code flow.
fn tokens(h: &Harness, client_id: &str) -> (String, String) {
    let code = code(h, client_id);
    let r = redeem(h, client_id, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", html(&r));
    let t = body(&r);
    (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn refresh(h: &Harness, client_id: &str, rt: &str) -> Response {
    h.send(form(
        "/oauth/token",
        "",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ],
    ))
}

/// How many audit entries record `action`.
fn audited(h: &Harness, action: &str) -> usize {
    let needle = format!("\"action\":\"{action}\"");
    h.storage
        .0
        .borrow()
        .iter()
        .filter(|(k, v)| k.starts_with("audit:") && v.contains(&needle))
        .count()
}

fn fail(h: &Harness, commands: &[&'static str]) {
    *h.failing.borrow_mut() = commands.to_vec();
}

fn retry(h: &Harness) -> bool {
    futures::executor::block_on(resume(&h.context())).is_ok()
}

#[test]
fn a_password_reset_ends_sessions_and_revokes_grants() {
    let (h, client_id) = setup();
    let cookie = sign_in(&h, "alice", "correct horse");
    let (at, rt) = tokens(&h, &client_id);
    let id = alice(&h);
    let r = admin(
        &h,
        Method::Patch,
        &format!("/admin/v1/users/{id}"),
        Some(json!({"password": "battery staple"})),
    );
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(!signed_in(&h, &cookie), "the session ended");
    assert_eq!(
        body(&refresh(&h, &client_id, &rt))["error"],
        "invalid_grant"
    );
    assert_eq!(verify(&h, &at), 401, "the access token is deny-listed");
    assert_eq!(audited(&h, "grant.revoke"), 1);
    // The new password signs in again.
    assert!(signed_in(&h, &sign_in(&h, "alice", "battery staple")));
}

#[test]
fn a_revocation_whose_forward_fails_is_retried_and_still_denies_and_audits() {
    let (h, client_id) = setup();
    let (at, rt) = tokens(&h, &client_id);
    let id = alice(&h);
    fail(&h, &["grant_event"]);
    let r = admin(
        &h,
        Method::Patch,
        &format!("/admin/v1/users/{id}"),
        Some(json!({"disabled": true})),
    );
    assert_eq!(r.status, 200, "the change stands: {}", html(&r));
    assert_eq!(
        body(&refresh(&h, &client_id, &rt))["error"],
        "invalid_grant"
    );
    assert_eq!(verify(&h, &at), 200, "not yet deny-listed");
    assert_eq!(audited(&h, "grant.revoke"), 0);
    // The authority applies it, but the acknowledgement is lost: it is delivered again.
    fail(&h, &["delivered"]);
    assert!(!retry(&h));
    assert_eq!(verify(&h, &at), 401, "deny-listed by the retry");
    fail(&h, &[]);
    assert!(retry(&h));
    assert!(retry(&h));
    assert_eq!(audited(&h, "grant.revoke"), 1, "audited once");
}

#[test]
fn a_sign_out_whose_shard_call_fails_is_finished_by_the_retry() {
    let (h, client_id) = setup();
    let cookie = sign_in(&h, "alice", "correct horse");
    let (at, rt) = tokens(&h, &client_id);
    let id = alice(&h);
    fail(&h, &["end_person"]);
    let r = admin(&h, Method::Delete, &format!("/admin/v1/users/{id}"), None);
    assert_eq!(r.status, 204, "{}", html(&r));
    assert!(!retry(&h), "the shard is still unreachable");
    fail(&h, &[]);
    assert!(retry(&h));
    assert!(!signed_in(&h, &cookie));
    assert_eq!(
        body(&refresh(&h, &client_id, &rt))["error"],
        "invalid_grant"
    );
    assert_eq!(verify(&h, &at), 401);
    assert_eq!(audited(&h, "grant.revoke"), 1);
}

#[test]
fn refresh_reuse_and_code_replay_are_still_denied_and_audited_when_their_forward_fails() {
    let (h, client_id) = setup();
    let (at, rt) = tokens(&h, &client_id);
    let rotated = refresh(&h, &client_id, &rt);
    assert_eq!(rotated.status, 200);
    fail(&h, &["grant_event"]);
    let reuse = refresh(&h, &client_id, &rt);
    assert_eq!(reuse.status, 503, "{}", html(&reuse));
    assert_eq!(verify(&h, &at), 200);
    fail(&h, &[]);
    let code = code(&h, &client_id);
    let r = redeem(&h, &client_id, &code, VERIFIER);
    let replayed_at = body(&r)["access_token"].as_str().unwrap().to_owned();
    fail(&h, &["grant_event"]);
    assert_eq!(redeem(&h, &client_id, &code, VERIFIER).status, 503);
    assert_eq!(verify(&h, &replayed_at), 200);
    fail(&h, &[]);
    assert!(retry(&h));
    assert_eq!(verify(&h, &at), 401);
    assert_eq!(verify(&h, &replayed_at), 401);
    assert_eq!(
        (audited(&h, "refresh.reuse"), audited(&h, "code.replay")),
        (1, 1)
    );
}

#[test]
fn signing_a_user_out_everywhere_ends_every_session_at_once_and_keeps_grants() {
    let (h, client_id) = setup();
    let (laptop, phone) = (
        sign_in(&h, "alice", "correct horse"),
        sign_in(&h, "alice", "correct horse"),
    );
    let (at, _) = tokens(&h, &client_id);
    let id = alice(&h);
    let path = format!("/admin/v1/users/{id}/sessions/revoke");
    assert_eq!(admin(&h, Method::Post, &path, None).status, 204);
    assert!(!signed_in(&h, &laptop) && !signed_in(&h, &phone));
    assert_eq!(verify(&h, &at), 200, "signing out leaves the grants");
    assert_eq!(audited(&h, "user.signout"), 1);
    assert!(signed_in(&h, &sign_in(&h, "alice", "correct horse")));
    let unknown = admin(
        &h,
        Method::Post,
        "/admin/v1/users/nobody/sessions/revoke",
        None,
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(admin(&h, Method::Get, &path, None).status, 405);
}

#[test]
fn sign_out_needs_the_sessions_csrf_token_and_ends_only_that_session() {
    let (h, _) = setup();
    let (mine, other) = (
        sign_in(&h, "alice", "correct horse"),
        sign_in(&h, "alice", "correct horse"),
    );
    let page = html(
        &h.send(Request::new(Method::Get, ORIGIN, "/account/grants").with_header("cookie", &mine)),
    );
    assert!(page.contains("action=\"/logout\""), "a sign-out button");
    let csrf = hidden(&page)[0].1.clone();
    let forged = h.send(form("/logout", &mine, &[("csrf_token", "forged")]));
    assert_eq!(forged.status, 403);
    assert!(signed_in(&h, &mine));
    let r = h.send(form("/logout", &mine, &[("csrf_token", &csrf)]));
    assert_eq!(r.status, 303);
    assert_eq!(r.header_value("location"), Some("/login"));
    assert!(!signed_in(&h, &cookie_of(&r)));
    assert!(signed_in(&h, &other), "other sessions stay");
    let get = h.send(Request::new(Method::Get, ORIGIN, "/logout").with_header("cookie", &mine));
    assert_eq!(get.status, 405);
}

#[test]
fn upstream_sessions_live_their_bound_and_are_then_checked_at_the_origin_again() {
    let mut h = Harness::default();
    h.settings.upstream_login_url = Some("https://origin.test/login".into());
    h.settings.upstream_session_secs = 600;
    h.http.answers.borrow_mut().insert(
        "https://origin.test/login".into(),
        (200, json!({"user_id": "origin-42"}).to_string()),
    );
    let cookie = sign_in(&h, "bob", "whatever-pass");
    assert!(signed_in(&h, &cookie));
    h.advance(599);
    assert!(signed_in(&h, &cookie));
    h.advance(1);
    assert!(
        !signed_in(&h, &cookie),
        "no longer than UPSTREAM_SESSION_SECONDS"
    );
    // Signing in again asks the origin, which may now refuse.
    h.http
        .answers
        .borrow_mut()
        .insert("https://origin.test/login".into(), (401, "{}".into()));
    let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
    let csrf = hidden(&html(&page))[0].1.clone();
    let r = h.send(form(
        "/login",
        &cookie_of(&page),
        &[
            ("username", "bob"),
            ("password", "whatever-pass"),
            ("csrf_token", &csrf),
        ],
    ));
    assert_eq!(r.status, 401);
    // Operators can sign an origin user out everywhere by the id the origin answered.
    h.http.answers.borrow_mut().insert(
        "https://origin.test/login".into(),
        (200, json!({"user_id": "origin-42"}).to_string()),
    );
    let cookie = sign_in(&h, "bob", "whatever-pass");
    let r = admin(
        &h,
        Method::Post,
        "/admin/v1/users/origin-42/sessions/revoke",
        None,
    );
    assert_eq!(r.status, 204, "{}", html(&r));
    assert!(!signed_in(&h, &cookie));
}
