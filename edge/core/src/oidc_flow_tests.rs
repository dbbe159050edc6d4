//! Whole OpenID Connect requests against the in-memory ports: ID tokens at the code grant and
//! refresh, UserInfo, the `prompt`, `max_age`, `login_hint` and `id_token_hint` parameters,
//! discovery and RP-Initiated Logout, through the real router.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::crypto::sha256_b64;
use crate::grant_flow_tests::{
    admin_post, allow, body, cookie_of, form, hidden, html, redeem, CB, ORIGIN, VERIFIER,
};
use crate::http::{Method, Request, Response};
use crate::id_token::{at_hash, IdClaims};
use crate::testing::{Harness, NativeSignatures};

const BYE: &str = "https://rp.test/bye";

/// Scopes, a user `alice` with a profile, and a public OpenID client; answers the client id.
fn setup() -> (Harness, String) {
    setup_with(&json!({}))
}

fn setup_with(extra: &Value) -> (Harness, String) {
    let h = Harness::default();
    admin_post(&h, "/admin/v1/scopes", &json!({"name": "read"}));
    admin_post(
        &h,
        "/admin/v1/users",
        &json!({"username": "alice", "password": "correct horse", "name": "Alice Liddell",
                "given_name": "Alice", "email": "alice@example.com", "email_verified": true,
                "locale": "en-GB", "picture": "https://pics.example.com/alice.png"}),
    );
    admin_post(
        &h,
        "/admin/v1/users",
        &json!({"username": "bob", "password": "correct horse"}),
    );
    let mut client = json!({"name": "Relying party",
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email", "read"], "redirect_uris": [CB],
        "post_logout_redirect_uris": [BYE], "public": true});
    for (k, v) in extra.as_object().unwrap() {
        client[k] = v.clone();
    }
    let c = admin_post(&h, "/admin/v1/clients", &client);
    (h, c["client_id"].as_str().unwrap().to_owned())
}

/// Signs `user` in; answers the session cookie.
fn sign_in(h: &Harness, user: &str) -> String {
    let page = h.send(Request::new(Method::Get, ORIGIN, "/login"));
    let csrf = hidden(&html(&page))[0].1.clone();
    let r = h.send(form(
        "/login",
        &cookie_of(&page),
        &[
            ("username", user),
            ("password", "correct horse"),
            ("csrf_token", &csrf),
        ],
    ));
    assert_eq!(r.status, 303, "{}", html(&r));
    cookie_of(&r)
}

/// The authorization request's path for `scope` plus `extra` parameters.
fn authorize_url(client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::from("/oauth/authorize?"));
    ser.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", CB)
        .append_pair("scope", scope)
        .append_pair("state", "s1")
        .append_pair("code_challenge", &sha256_b64(VERIFIER.as_bytes()))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    ser.finish()
}

fn get(h: &Harness, url: &str, cookie: &str) -> Response {
    h.send(Request::new(Method::Get, ORIGIN, url).with_header("cookie", cookie))
}

/// The query parameters of a redirect back at the client.
fn back_at_client(r: &Response) -> Vec<(String, String)> {
    assert_eq!(r.status, 302, "{}", html(r));
    let location = r.header_value("location").unwrap();
    let query = location
        .strip_prefix(&format!("{CB}?"))
        .expect("at the client");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Consents on the page `r` (when it is one) and answers the code.
fn consent_and_code(h: &Harness, cookie: &str, mut r: Response) -> String {
    if r.status == 200 {
        r = allow(h, cookie, &r);
    }
    param(&back_at_client(&r), "code").unwrap().to_owned()
}

/// Signs alice in, authorizes `scope` with `extra` and redeems the code; answers the token
/// response and the session cookie.
fn tokens(h: &Harness, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> (Value, String) {
    let cookie = sign_in(h, "alice");
    let r = get(h, &authorize_url(client_id, scope, extra), &cookie);
    let code = consent_and_code(h, &cookie, r);
    let r = redeem(h, client_id, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", html(&r));
    (body(&r), cookie)
}

/// The ID token's header and its claims, once its signature holds under the key set.
fn id_token(h: &Harness, token: &str) -> (Value, IdClaims, Value) {
    let ctx = h.context();
    let keys = futures::executor::block_on(ctx.keys()).unwrap();
    let claims: IdClaims = futures::executor::block_on(crate::tokens::verify_id_token(
        token,
        &keys.loaded,
        &NativeSignatures::default(),
    ))
    .expect("a valid ID token");
    let part = |i: usize| -> Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(i).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    (part(0), claims, part(1))
}

/// `grant_type=refresh_token` for the public client `client_id`.
fn refresh(h: &Harness, client_id: &str, refresh_token: &str) -> Response {
    h.send(form(
        "/oauth/token",
        "",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    ))
}

/// An admin API call with a JSON body.
fn admin(h: &Harness, method: Method, path: &str, json: &Value) -> Response {
    h.send(
        Request::new(method, ORIGIN, path)
            .with_header(
                "authorization",
                &format!("Bearer {}", crate::testing::TEST_ADMIN_TOKEN),
            )
            .with_header("content-type", "application/json")
            .with_body(json.to_string()),
    )
}

fn userinfo(h: &Harness, at: &str) -> Response {
    h.send(
        Request::new(Method::Get, ORIGIN, "/oauth/userinfo")
            .with_header("authorization", &format!("Bearer {at}")),
    )
}

#[test]
fn an_openid_code_grant_answers_a_signed_id_token_echoing_the_nonce() {
    let (h, client_id) = setup();
    let nonce = "n-0S6_WzA2Mj \u{e9}";
    let (t, _) = tokens(&h, &client_id, "openid read", &[("nonce", nonce)]);
    let at = t["access_token"].as_str().unwrap();
    let (header, claims, raw) = id_token(&h, t["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims.iss, ORIGIN);
    assert_eq!(claims.aud, crate::tokens::Audience::One(client_id.clone()));
    assert_eq!(claims.nonce.as_deref(), Some(nonce));
    assert_eq!(
        claims.at_hash.as_deref(),
        Some(at_hash(at, crate::api::KeyAlg::RS256).as_str())
    );
    assert!(claims.sid.is_some());
    let sub = body(
        &h.send(
            Request::new(Method::Post, ORIGIN, "/verify")
                .with_header("authorization", &format!("Bearer {at}")),
        ),
    )["sub"]
        .clone();
    assert_eq!(
        json!(claims.sub),
        sub,
        "the user id, as in the access token"
    );
    assert_eq!(
        raw["exp"].as_u64().unwrap() - raw["iat"].as_u64().unwrap(),
        600
    );
    assert_eq!(claims.auth_time, raw["iat"].as_u64().unwrap());
}

#[test]
fn without_openid_there_is_no_id_token() {
    let (h, client_id) = setup();
    let (t, _) = tokens(&h, &client_id, "read", &[("nonce", "n")]);
    assert!(t["access_token"].is_string());
    assert!(t.get("id_token").is_none(), "{t}");
}

#[test]
fn a_refresh_answers_a_fresh_id_token_with_the_same_sub_and_auth_time() {
    let (h, client_id) = setup();
    let (t, _) = tokens(&h, &client_id, "openid", &[("nonce", "first")]);
    let (_, first, raw) = id_token(&h, t["id_token"].as_str().unwrap());
    h.advance(100);
    let r = refresh(&h, &client_id, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", html(&r));
    let (_, again, raw_again) = id_token(&h, body(&r)["id_token"].as_str().unwrap());
    assert_eq!((&again.sub, again.auth_time), (&first.sub, first.auth_time));
    assert_eq!(again.sid, first.sid);
    assert_eq!(again.nonce, None, "OIDC Core §12.2: no nonce on refresh");
    assert_eq!(
        raw_again["iat"].as_u64().unwrap(),
        raw["iat"].as_u64().unwrap() + 100
    );
}

#[test]
fn the_client_may_ask_for_ed25519_id_tokens() {
    let (h, client_id) = setup_with(&json!({"id_token_signed_response_alg": "EdDSA"}));
    let (t, _) = tokens(&h, &client_id, "openid", &[]);
    let (header, claims, _) = id_token(&h, t["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(
        claims.at_hash.unwrap(),
        at_hash(at, crate::api::KeyAlg::EdDSA)
    );
}

#[test]
fn userinfo_answers_the_claims_the_scopes_release() {
    let (h, client_id) = setup();
    let (t, _) = tokens(&h, &client_id, "openid profile", &[]);
    let r = userinfo(&h, t["access_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", html(&r));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let claims = body(&r);
    assert_eq!(claims["name"], "Alice Liddell");
    assert_eq!(claims["locale"], "en-GB");
    assert!(claims["sub"].is_string());
    assert!(claims.get("email").is_none(), "email needs the email scope");
    let (t, _) = tokens(&h, &client_id, "openid email", &[]);
    let claims = body(&userinfo(&h, t["access_token"].as_str().unwrap()));
    assert_eq!(
        (&claims["email"], &claims["email_verified"]),
        (&json!("alice@example.com"), &json!(true))
    );
    assert!(claims.get("name").is_none());
    let post = h.send(
        Request::new(Method::Post, ORIGIN, "/oauth/userinfo").with_header(
            "authorization",
            &format!("Bearer {}", t["access_token"].as_str().unwrap()),
        ),
    );
    assert_eq!(post.status, 200);
}

#[test]
fn userinfo_refuses_per_rfc_6750() {
    let (h, client_id) = setup();
    let none = h.send(Request::new(Method::Get, ORIGIN, "/oauth/userinfo"));
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header_value("www-authenticate"),
        Some("Bearer realm=\"portcullis\"")
    );
    let bad = userinfo(&h, "not-a-token");
    assert_eq!(bad.status, 401);
    assert!(bad
        .header_value("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    let (t, _) = tokens(&h, &client_id, "read", &[]);
    let no_openid = userinfo(&h, t["access_token"].as_str().unwrap());
    assert_eq!(no_openid.status, 403);
    assert!(no_openid
        .header_value("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\", scope=\"openid\""));
    // An ID token is no access token.
    let (t, _) = tokens(&h, &client_id, "openid", &[]);
    assert_eq!(userinfo(&h, t["id_token"].as_str().unwrap()).status, 401);
}

#[test]
fn prompt_none_answers_errors_to_the_client_instead_of_pages() {
    let (h, client_id) = setup();
    let url = authorize_url(&client_id, "openid", &[("prompt", "none")]);
    let r = get(&h, &url, "");
    let params = back_at_client(&r);
    assert_eq!(param(&params, "error"), Some("login_required"));
    assert_eq!(param(&params, "state"), Some("s1"));
    let cookie = sign_in(&h, "alice");
    let params = back_at_client(&get(&h, &url, &cookie));
    assert_eq!(param(&params, "error"), Some("consent_required"));
    // Once consented, prompt=none issues a code silently.
    let code = consent_and_code(
        &h,
        &cookie,
        get(&h, &authorize_url(&client_id, "openid", &[]), &cookie),
    );
    assert!(!code.is_empty());
    let params = back_at_client(&get(&h, &url, &cookie));
    assert!(param(&params, "code").is_some(), "{params:?}");
    let mixed = authorize_url(&client_id, "openid", &[("prompt", "none login")]);
    assert_eq!(
        param(&back_at_client(&get(&h, &mixed, &cookie)), "error"),
        Some("invalid_request")
    );
}

#[test]
fn prompt_login_and_max_age_ask_for_a_fresh_sign_in() {
    let (h, client_id) = setup();
    let cookie = sign_in(&h, "alice");
    consent_and_code(
        &h,
        &cookie,
        get(&h, &authorize_url(&client_id, "openid", &[]), &cookie),
    );
    let r = get(
        &h,
        &authorize_url(&client_id, "openid", &[("prompt", "login consent")]),
        &cookie,
    );
    assert_eq!(r.status, 303);
    let next = r.header_value("location").unwrap();
    assert!(
        next.starts_with("/login?") && next.contains("next="),
        "{next}"
    );
    assert!(
        !next.contains("login%2520consent") && next.contains("prompt%3Dconsent"),
        "prompt=login is dropped from the way back: {next}"
    );
    h.advance(120);
    let aged = authorize_url(&client_id, "openid", &[("max_age", "60")]);
    assert_eq!(get(&h, &aged, &cookie).status, 303, "signed in 120 s ago");
    let silent = authorize_url(
        &client_id,
        "openid",
        &[("max_age", "60"), ("prompt", "none")],
    );
    assert_eq!(
        param(&back_at_client(&get(&h, &silent, &cookie)), "error"),
        Some("login_required")
    );
    let fresh = sign_in(&h, "alice");
    let code = param(&back_at_client(&get(&h, &aged, &fresh)), "code")
        .unwrap()
        .to_owned();
    let t = body(&redeem(&h, &client_id, &code, VERIFIER));
    let (_, claims, raw) = id_token(&h, t["id_token"].as_str().unwrap());
    assert_eq!(
        claims.auth_time,
        raw["iat"].as_u64().unwrap(),
        "auth_time is the new sign-in"
    );
    let bad = authorize_url(&client_id, "openid", &[("max_age", "-1")]);
    assert_eq!(
        param(&back_at_client(&get(&h, &bad, &fresh)), "error"),
        Some("invalid_request")
    );
}

#[test]
fn an_id_token_hint_must_name_the_signed_in_person() {
    let (h, client_id) = setup();
    let (t, cookie) = tokens(&h, &client_id, "openid", &[]);
    let hint = t["id_token"].as_str().unwrap();
    let same = authorize_url(
        &client_id,
        "openid",
        &[("prompt", "none"), ("id_token_hint", hint)],
    );
    assert!(param(&back_at_client(&get(&h, &same, &cookie)), "code").is_some());
    let bob = sign_in(&h, "bob");
    let other = back_at_client(&get(&h, &same, &bob));
    assert_eq!(param(&other, "error"), Some("login_required"));
    let forged = authorize_url(
        &client_id,
        "openid",
        &[("prompt", "none"), ("id_token_hint", "e30.e30.AAAA")],
    );
    assert_eq!(
        param(&back_at_client(&get(&h, &forged, &cookie)), "error"),
        Some("login_required")
    );
}

#[test]
fn login_hint_prefills_the_username_and_unknown_parameters_are_ignored() {
    let (h, client_id) = setup();
    let url = authorize_url(
        &client_id,
        "openid",
        &[
            ("login_hint", "alice@example.com"),
            ("ui_locales", "fr"),
            ("whatever", "1"),
        ],
    );
    let r = get(&h, &url, "");
    let login = r.header_value("location").unwrap().to_owned();
    let page = html(&get(&h, &login, ""));
    assert!(page.contains("value=\"alice@example.com\""), "{page}");
}

#[test]
fn discovery_serves_an_openid_provider_document() {
    let (h, _) = setup();
    let doc = body(&get(&h, "/.well-known/openid-configuration", ""));
    assert_eq!(doc["issuer"], ORIGIN);
    assert_eq!(doc["userinfo_endpoint"], format!("{ORIGIN}/oauth/userinfo"));
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{ORIGIN}/oauth/logout")
    );
    assert_eq!(doc["jwks_uri"], format!("{ORIGIN}/.well-known/jwks.json"));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert!(doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));
    assert_eq!(
        doc["scopes_supported"],
        json!(["openid", "profile", "email", "read"])
    );
    assert!(doc["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("email_verified")));
    let oauth = body(&get(&h, "/.well-known/oauth-authorization-server", ""));
    assert!(
        oauth.get("userinfo_endpoint").is_none(),
        "RFC 8414's document stays as it was"
    );
    assert_eq!(oauth["response_types_supported"], json!(["code", "token"]));
}

/// Whether `cookie` still holds a signed-in session (the consent page shows, not the login).
fn signed_in(h: &Harness, client_id: &str, cookie: &str) -> bool {
    get(h, &authorize_url(client_id, "openid", &[]), cookie).status == 302
}

#[test]
fn logout_with_a_hint_ends_the_session_and_returns_with_state() {
    let (h, client_id) = setup();
    let (t, cookie) = tokens(&h, &client_id, "openid", &[]);
    assert!(signed_in(&h, &client_id, &cookie));
    let mut ser = form_urlencoded::Serializer::new(String::from("/oauth/logout?"));
    ser.append_pair("id_token_hint", t["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", BYE)
        .append_pair("state", "xyz");
    let r = get(&h, &ser.finish(), &cookie);
    assert_eq!(r.status, 303, "{}", html(&r));
    assert_eq!(
        r.header_value("location"),
        Some(format!("{BYE}?state=xyz").as_str())
    );
    let ended = cookie_of(&r);
    assert!(!signed_in(&h, &client_id, &ended));
}

#[test]
fn logout_refuses_an_unregistered_post_logout_redirect_uri() {
    let (h, client_id) = setup();
    let (t, cookie) = tokens(&h, &client_id, "openid", &[]);
    for uri in [format!("{BYE}/"), "https://evil.test/bye".into(), CB.into()] {
        let mut ser = form_urlencoded::Serializer::new(String::from("/oauth/logout?"));
        ser.append_pair("id_token_hint", t["id_token"].as_str().unwrap())
            .append_pair("post_logout_redirect_uri", &uri);
        let r = get(&h, &ser.finish(), &cookie);
        assert_eq!(r.status, 400, "{uri}");
        assert!(r.header_value("location").is_none() && r.header_value("set-cookie").is_none());
    }
    // Without a hint or client_id, no client is known: any URI is refused.
    let r = get(
        &h,
        &format!("/oauth/logout?post_logout_redirect_uri={BYE}"),
        &cookie,
    );
    assert_eq!(r.status, 400);
    assert!(signed_in(&h, &client_id, &cookie));
}

#[test]
fn logout_without_a_hint_asks_first_and_needs_the_csrf_token() {
    let (h, client_id) = setup();
    let (_, cookie) = tokens(&h, &client_id, "openid", &[]);
    let url = format!("/oauth/logout?client_id={client_id}&post_logout_redirect_uri={BYE}&state=s");
    let page = get(&h, &url, &cookie);
    assert_eq!(page.status, 200);
    assert!(html(&page).contains("Sign out?"));
    assert!(page
        .header_value("content-security-policy")
        .unwrap()
        .contains("form-action 'self' https://rp.test"));
    assert!(signed_in(&h, &client_id, &cookie), "nothing ended yet");
    let mut fields = hidden(&html(&page));
    let forged: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("decision", "logout")])
        .collect();
    let r = h.send(form("/oauth/logout", &cookie, &forged));
    assert_eq!(r.status, 200, "asked again");
    assert!(signed_in(&h, &client_id, &cookie));
    fields.push(("decision".into(), "logout".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = h.send(form("/oauth/logout", &cookie, &pairs));
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header_value("location"),
        Some(format!("{BYE}?state=s").as_str())
    );
    assert!(!signed_in(&h, &client_id, &cookie_of(&r)));
}

#[test]
fn profile_fields_are_validated_at_the_admin_api() {
    let (h, _) = setup();
    for (field, value) in [
        ("email", json!("not-an-address")),
        ("email", json!("a@b")),
        ("picture", json!("http://pics.example.com/a.png")),
        ("locale", json!("english please")),
        ("name", json!("")),
        ("email_verified", json!(true)),
    ] {
        let mut user = json!({"username": "carol", "password": "correct horse"});
        user[field] = value;
        let r = admin(&h, Method::Post, "/admin/v1/users", &user);
        assert_eq!(r.status, 422, "{field}: {}", html(&r));
        assert_eq!(body(&r)["field"], field);
    }
}

#[test]
fn a_client_with_an_unknown_id_token_alg_or_bad_logout_uri_is_refused() {
    let h = Harness::default();
    for (field, value) in [
        ("id_token_signed_response_alg", json!("HS256")),
        ("post_logout_redirect_uris", json!(["not a uri"])),
    ] {
        let mut client = json!({"name": "rp", "grant_types": ["authorization_code"],
            "scopes": ["openid"], "redirect_uris": [CB], "public": true});
        client[field] = value;
        let r = admin(&h, Method::Post, "/admin/v1/clients", &client);
        assert!(matches!(r.status, 400 | 422), "{field}: {}", html(&r));
    }
}

#[test]
fn the_openidconnect_crate_validates_a_portcullis_id_token() {
    use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
    use openidconnect::{ClientId, IssuerUrl, Nonce};

    let (h, client_id) = setup();
    let (t, _) = tokens(&h, &client_id, "openid", &[("nonce", "rust-nonce")]);
    let jwks: CoreJsonWebKeySet =
        serde_json::from_slice(&get(&h, "/.well-known/jwks.json", "").body).expect("a JWKS");
    let now = h.context().clock.now();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.clone()),
        IssuerUrl::new(ORIGIN.into()).unwrap(),
        jwks,
    )
    .set_time_fn(move || chrono::DateTime::from_timestamp(i64::try_from(now).unwrap(), 0).unwrap());
    let token: CoreIdToken = t["id_token"]
        .as_str()
        .unwrap()
        .parse()
        .expect("an ID token");
    let claims = token
        .claims(&verifier, &Nonce::new("rust-nonce".into()))
        .expect("openidconnect accepts it");
    assert_eq!(
        claims.audiences().first().map(|a| a.as_str()),
        Some(client_id.as_str())
    );
    assert!(claims.auth_time().is_some());
    assert!(
        token
            .claims(&verifier, &Nonce::new("another".into()))
            .is_err(),
        "and refuses a nonce it did not send"
    );
}

#[test]
fn a_refresh_after_openid_is_taken_from_the_client_answers_no_id_token() {
    let (h, client_id) = setup();
    let (t, _) = tokens(&h, &client_id, "openid read", &[]);
    assert!(t["id_token"].is_string());
    let r = h.send(
        Request::new(
            Method::Patch,
            ORIGIN,
            &format!("/admin/v1/clients/{client_id}"),
        )
        .with_header(
            "authorization",
            &format!("Bearer {}", crate::testing::TEST_ADMIN_TOKEN),
        )
        .with_header("content-type", "application/json")
        .with_body(json!({"scopes": ["read"]}).to_string()),
    );
    assert_eq!(r.status, 200, "{}", html(&r));
    h.caches.forget_client(&client_id);
    let r = refresh(&h, &client_id, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", html(&r));
    assert_eq!(body(&r)["scope"], "read");
    assert!(
        body(&r).get("id_token").is_none(),
        "openid is no longer the client's"
    );
}
