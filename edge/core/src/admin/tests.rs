//! Whole admin requests through the router against the in-memory ports: validation, versioning
//! (`ETag`/`If-Match`), write-through to KV and the audit log.

use serde_json::{json, Value};

use crate::credentials::verify_user_password;
use crate::http::{Method, Request, Response};
use crate::testing::{Harness, TEST_ADMIN_TOKEN};
use crate::users::user_login_key;

const ORIGIN: &str = "https://auth.test";

fn body(resp: &Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
}

fn send(
    h: &Harness,
    method: Method,
    path: &str,
    json: Option<Value>,
    if_match: Option<&str>,
) -> Response {
    let mut req = Request::new(method, ORIGIN, path)
        .with_header("authorization", &format!("Bearer {TEST_ADMIN_TOKEN}"));
    if let Some(j) = json {
        req = req
            .with_header("content-type", "application/json")
            .with_body(j.to_string());
    }
    if let Some(tag) = if_match {
        req = req.with_header("if-match", tag);
    }
    h.send(req)
}

fn admin(h: &Harness, method: Method, path: &str, json: Option<Value>) -> Response {
    send(h, method, path, json, None)
}

fn verify(h: &Harness, username: &str, password: &str) -> Option<String> {
    futures::executor::block_on(verify_user_password(&h.context(), username, password))
        .unwrap()
        .map(|u| u.user.id)
}

fn create_alice(h: &Harness) -> String {
    let resp = admin(
        h,
        Method::Post,
        "/admin/v1/users",
        Some(json!({"username": "Alice", "password": "correct horse"})),
    );
    assert_eq!(resp.status, 201, "{}", body(&resp));
    assert_eq!(resp.header_value("etag"), Some("\"1\""));
    body(&resp)["id"].as_str().unwrap().to_owned()
}

#[test]
fn created_user_logs_in_case_insensitively_and_never_shows_the_hash() {
    let h = Harness::default();
    let id = create_alice(&h);
    assert_eq!(verify(&h, "alice", "correct horse"), Some(id.clone()));
    assert_eq!(verify(&h, "ALICE", "correct horse"), Some(id.clone()));
    assert_eq!(verify(&h, "alice", "wrong horse!"), None);
    assert_eq!(verify(&h, "nobody", "correct horse"), None);
    for path in [
        "/admin/v1/users".to_owned(),
        format!("/admin/v1/users/{id}"),
    ] {
        let resp = admin(&h, Method::Get, &path, None);
        assert_eq!(resp.status, 200);
        let text = String::from_utf8(resp.body).unwrap();
        assert!(
            !text.contains("pbkdf2") && !text.contains("password"),
            "{text}"
        );
    }
}

#[test]
fn usernames_are_unique_case_insensitively() {
    let h = Harness::default();
    create_alice(&h);
    let resp = admin(
        &h,
        Method::Post,
        "/admin/v1/users",
        Some(json!({"username": "ALICE", "password": "another one"})),
    );
    assert_eq!(resp.status, 409);
    assert_eq!(body(&resp)["field"], "username");
}

#[test]
fn user_bodies_refuse_unknown_fields_and_bad_values_by_field() {
    let h = Harness::default();
    let id = create_alice(&h);
    let cases = [
        (
            Method::Post,
            "/admin/v1/users".to_owned(),
            json!({"username": "bob", "password": "12345678", "admin": true}),
            400,
        ),
        (
            Method::Post,
            "/admin/v1/users".to_owned(),
            json!({"username": "bob", "password": 12_345_678}),
            400,
        ),
        (
            Method::Post,
            "/admin/v1/users".to_owned(),
            json!({"username": "bob", "password": "short"}),
            422,
        ),
        (
            Method::Patch,
            format!("/admin/v1/users/{id}"),
            json!({"username": "mallory"}),
            400,
        ),
        (
            Method::Patch,
            format!("/admin/v1/users/{id}"),
            json!({"password": "short"}),
            422,
        ),
    ];
    for (method, path, json, status) in cases {
        let resp = admin(&h, method, &path, Some(json.clone()));
        assert_eq!(resp.status, status, "{json}: {}", body(&resp));
        assert!(body(&resp)["field"].is_string(), "{json}: {}", body(&resp));
    }
    assert_eq!(verify(&h, "alice", "correct horse"), Some(id));
}

#[test]
fn patch_changes_password_and_disable_blocks_login() {
    let h = Harness::default();
    let id = create_alice(&h);
    let path = format!("/admin/v1/users/{id}");
    let resp = send(
        &h,
        Method::Patch,
        &path,
        Some(json!({"password": "battery staple"})),
        Some("\"1\""),
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert_eq!(resp.header_value("etag"), Some("\"2\""));
    assert_eq!(verify(&h, "alice", "correct horse"), None);
    assert_eq!(verify(&h, "alice", "battery staple"), Some(id.clone()));
    let resp = admin(&h, Method::Patch, &path, Some(json!({"disabled": true})));
    assert_eq!(body(&resp)["disabled"], true);
    assert_eq!(verify(&h, "alice", "battery staple"), None);
}

#[test]
fn stale_if_match_is_refused_and_changes_nothing() {
    let h = Harness::default();
    let id = create_alice(&h);
    let path = format!("/admin/v1/users/{id}");
    assert_eq!(
        admin(&h, Method::Patch, &path, Some(json!({"disabled": false}))).status,
        200
    );
    let resp = send(
        &h,
        Method::Patch,
        &path,
        Some(json!({"disabled": true})),
        Some("\"1\""),
    );
    assert_eq!(resp.status, 412);
    let resp = send(&h, Method::Delete, &path, None, Some("\"1\""));
    assert_eq!(resp.status, 412);
    // A weak tag never matches (RFC 9110 §13.1.1), even the current version's.
    let resp = send(&h, Method::Delete, &path, None, Some("W/\"2\""));
    assert_eq!(resp.status, 412);
    let resp = send(&h, Method::Delete, &path, None, Some("yesterday"));
    assert_eq!(
        (resp.status, body(&resp)["field"].as_str()),
        (400, Some("If-Match"))
    );
    assert_eq!(verify(&h, "alice", "correct horse"), Some(id));
}

#[test]
fn deleted_user_is_gone_from_kv_and_the_name_is_free_again() {
    let h = Harness::default();
    let id = create_alice(&h);
    let path = format!("/admin/v1/users/{id}");
    assert_eq!(
        send(&h, Method::Delete, &path, None, Some("\"1\"")).status,
        204
    );
    assert!(!h.kv.0.borrow().contains_key(&user_login_key("alice")));
    assert_eq!(admin(&h, Method::Get, &path, None).status, 404);
    assert_eq!(verify(&h, "alice", "correct horse"), None);
    create_alice(&h);
}

fn setup_client(h: &Harness) -> (String, String) {
    for name in ["read", "write"] {
        let resp = admin(
            h,
            Method::Post,
            "/admin/v1/scopes",
            Some(json!({"name": name})),
        );
        assert_eq!(resp.status, 201, "{}", body(&resp));
    }
    let resp = admin(
        h,
        Method::Post,
        "/admin/v1/clients",
        Some(json!({"name": "svc", "grant_types": ["client_credentials"], "scopes": ["read"]})),
    );
    assert_eq!(resp.status, 201, "{}", body(&resp));
    let b = body(&resp);
    (
        b["client_id"].as_str().unwrap().to_owned(),
        b["client_secret"].as_str().unwrap().to_owned(),
    )
}

fn token_status(h: &Harness, id: &str, secret: &str) -> u16 {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let req = Request::new(Method::Post, ORIGIN, "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("authorization", &format!("Basic {basic}"))
        .with_body("grant_type=client_credentials");
    h.send(req).status
}

#[test]
fn client_patch_is_validated_versioned_and_refuses_unknown_fields() {
    let h = Harness::default();
    let (id, _) = setup_client(&h);
    let path = format!("/admin/v1/clients/{id}");
    let cases = [
        (json!({"secret": "x"}), 400, "secret"),
        (json!({"scopes": "read"}), 400, "scopes"),
        (json!({"scopes": ["nope"]}), 422, "scopes[0]"),
        (json!({"public": true}), 422, "public"),
        (json!({"grant_types": ["teleport"]}), 400, "grant_types[0]"),
        (json!({"access_token_ttl": 5}), 422, "access_token_ttl"),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            422,
            "redirect_uris[0]",
        ),
    ];
    for (patch, status, field) in cases {
        let resp = admin(&h, Method::Patch, &path, Some(patch.clone()));
        assert_eq!(resp.status, status, "{patch}: {}", body(&resp));
        assert_eq!(body(&resp)["field"], field, "{patch}");
    }
    let resp = admin(&h, Method::Get, &path, None);
    assert_eq!(
        resp.header_value("etag"),
        Some("\"1\""),
        "errors changed nothing"
    );
    let resp = send(
        &h,
        Method::Patch,
        &path,
        Some(json!({"scopes": ["read", "write"]})),
        Some("\"1\""),
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert_eq!(resp.header_value("etag"), Some("\"2\""));
    assert_eq!(body(&resp)["scopes"], json!(["read", "write"]));
    let resp = send(
        &h,
        Method::Patch,
        &path,
        Some(json!({"name": "again"})),
        Some("\"1\""),
    );
    assert_eq!(resp.status, 412);
    assert_eq!(body(&admin(&h, Method::Get, &path, None))["name"], "svc");
}

#[test]
fn disabled_and_deleted_clients_get_invalid_client() {
    let h = Harness::default();
    let (id, secret) = setup_client(&h);
    let path = format!("/admin/v1/clients/{id}");
    assert_eq!(token_status(&h, &id, &secret), 200);
    assert_eq!(
        admin(&h, Method::Patch, &path, Some(json!({"disabled": true}))).status,
        200
    );
    assert_eq!(token_status(&h, &id, &secret), 401);
    assert_eq!(
        admin(&h, Method::Patch, &path, Some(json!({"disabled": false}))).status,
        200
    );
    assert_eq!(token_status(&h, &id, &secret), 200);
    assert_eq!(
        send(&h, Method::Delete, &path, None, Some("\"1\"")).status,
        412
    );
    assert_eq!(admin(&h, Method::Delete, &path, None).status, 204);
    assert_eq!(token_status(&h, &id, &secret), 401);
    assert!(!h
        .kv
        .0
        .borrow()
        .contains_key(&crate::authority::client_key(&id)));
    assert_eq!(admin(&h, Method::Get, &path, None).status, 404);
}

#[test]
fn rotated_secret_old_one_works_until_expiry_then_invalid_client() {
    let h = Harness::default();
    let (id, first) = setup_client(&h);
    let path = format!("/admin/v1/clients/{id}/secrets");
    let resp = admin(
        &h,
        Method::Post,
        &path,
        Some(json!({"previous_expires_in": 60})),
    );
    assert_eq!(resp.status, 201, "{}", body(&resp));
    let second = body(&resp)["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(body(&resp)["secrets"].as_array().unwrap().len(), 2);
    assert_eq!(token_status(&h, &id, &first), 200);
    assert_eq!(token_status(&h, &id, &second), 200);
    h.advance(60);
    assert_eq!(token_status(&h, &id, &first), 401);
    let resp = admin(&h, Method::Post, &path, None);
    let third = body(&resp)["client_secret"].as_str().unwrap().to_owned();
    let resp = admin(
        &h,
        Method::Post,
        &path,
        Some(json!({"previous_expires_in": 0})),
    );
    let fourth = body(&resp)["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(body(&resp)["secrets"].as_array().unwrap().len(), 1);
    for old in [&first, &second, &third] {
        assert_eq!(token_status(&h, &id, old), 401);
    }
    assert_eq!(token_status(&h, &id, &fourth), 200);
    let resp = admin(
        &h,
        Method::Post,
        &path,
        Some(json!({"previous_expires_in": 99_999_999})),
    );
    assert_eq!(
        (resp.status, body(&resp)["field"].as_str()),
        (422, Some("previous_expires_in"))
    );
    let resp = admin(&h, Method::Post, &path, Some(json!({"expires_at": 0})));
    assert_eq!(resp.status, 400);
}

#[test]
fn scope_in_use_cannot_be_deleted() {
    let h = Harness::default();
    let (id, _) = setup_client(&h);
    let resp = admin(&h, Method::Delete, "/admin/v1/scopes/read", None);
    assert_eq!(resp.status, 409);
    assert!(body(&resp)["error_description"]
        .as_str()
        .unwrap()
        .contains(&id));
    assert_eq!(
        admin(&h, Method::Get, "/admin/v1/scopes/read", None).status,
        200
    );
    assert_eq!(
        admin(&h, Method::Delete, "/admin/v1/scopes/write", None).status,
        204
    );
    assert_eq!(
        admin(&h, Method::Get, "/admin/v1/scopes/write", None).status,
        404
    );
    assert_eq!(
        admin(&h, Method::Delete, "/admin/v1/scopes/write", None).status,
        404
    );
}

#[test]
fn key_rotation_promotes_next_and_lists_no_private_parts() {
    let h = Harness::default();
    let resp = admin(&h, Method::Get, "/admin/v1/keys", None);
    assert_eq!(resp.status, 200);
    let before = body(&resp);
    let next = before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "next")
        .unwrap()["kid"]
        .clone();
    let resp = send(
        &h,
        Method::Post,
        "/admin/v1/keys/rotate",
        None,
        Some("\"1\""),
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let text = String::from_utf8(resp.body.clone()).unwrap();
    assert!(
        !text.contains("sealed") && !text.contains("\"d\""),
        "{text}"
    );
    let after = body(&resp);
    let states: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    // One per family: the access-token key and the RS256 ID-token key.
    assert_eq!(states.iter().filter(|s| **s == "retired").count(), 2);
    let current = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "current" && k["alg"] != "RS256")
        .unwrap();
    assert_eq!(current["kid"], next);
    assert_eq!(current["jwk"]["kid"], next);
    assert_eq!(
        send(
            &h,
            Method::Post,
            "/admin/v1/keys/rotate",
            None,
            Some("\"1\"")
        )
        .status,
        412
    );
}

#[test]
fn audit_lists_changes_newest_first_with_cursor_and_filters() {
    let h = Harness::default();
    let (id, secret) = setup_client(&h);
    h.advance(10);
    assert_eq!(
        admin(
            &h,
            Method::Patch,
            &format!("/admin/v1/clients/{id}"),
            Some(json!({"disabled": true}))
        )
        .status,
        200
    );
    let refused = Request::new(Method::Get, ORIGIN, "/admin/v1/clients")
        .with_header("authorization", "Bearer wrong-token-guess")
        .with_header("cf-connecting-ip", "203.0.113.9");
    assert_eq!(h.send(refused).status, 401);
    let resp = admin(&h, Method::Get, "/admin/v1/audit?limit=2", None);
    assert_eq!(resp.status, 200);
    let page = body(&resp);
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Disabling also revoked the client's grants in every shard.
    assert_eq!(actions, ["admin.auth_failed", "client.grants_revoke"]);
    assert_eq!(page["events"][0]["target"], "203.0.113.9");
    assert_eq!(page["events"][0]["actor"], "anonymous");
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = body(&admin(
        &h,
        Method::Get,
        &format!("/admin/v1/audit?cursor={cursor}"),
        None,
    ));
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "client.disable",
            "client.create",
            "scope.create",
            "scope.create"
        ]
    );
    assert!(page["next_cursor"].is_null());
    let page = body(&admin(
        &h,
        Method::Get,
        &format!("/admin/v1/audit?target={id}"),
        None,
    ));
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let page = body(&admin(
        &h,
        Method::Get,
        "/admin/v1/audit?action=scope.create",
        None,
    ));
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    let start = 1_700_000_000;
    let page = body(&admin(
        &h,
        Method::Get,
        &format!("/admin/v1/audit?since={}", start + 5),
        None,
    ));
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let page = body(&admin(
        &h,
        Method::Get,
        &format!("/admin/v1/audit?until={}", start + 5),
        None,
    ));
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let log = String::from_utf8(admin(&h, Method::Get, "/admin/v1/audit", None).body).unwrap();
    assert!(!log.contains(&secret) && !log.contains("wrong-token-guess"));
    for bad in [
        "limit=0",
        "limit=x",
        "cursor=abc",
        "since=yesterday",
        "sort=asc",
    ] {
        let resp = admin(&h, Method::Get, &format!("/admin/v1/audit?{bad}"), None);
        assert_eq!(resp.status, 400, "{bad}");
        assert!(body(&resp)["field"].is_string(), "{bad}");
    }
}

#[test]
fn openapi_document_is_3_1_json_and_served_without_a_token() {
    let doc: Value = serde_json::from_str(crate::admin::OPENAPI_JSON).unwrap();
    let source: Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
    assert_eq!(
        doc, source,
        "the minified document says what its source says"
    );
    assert!(!crate::admin::OPENAPI_JSON.contains('\n'));
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/admin/v1/clients/{client_id}/secrets"]["post"].is_object());
    let resp = Harness::default().send(Request::new(Method::Get, ORIGIN, "/admin/v1/openapi.json"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, crate::admin::OPENAPI_JSON.as_bytes());
}

#[test]
fn wrong_method_is_405_with_allow() {
    let h = Harness::default();
    let resp = admin(&h, Method::Put, "/admin/v1/users/some-id", None);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header_value("allow"), Some("GET, PATCH, DELETE"));
    let resp = admin(&h, Method::Get, "/admin/v1/keys/rotate", None);
    assert_eq!(resp.header_value("allow"), Some("POST"));
}

#[test]
fn a_change_saved_while_kv_is_down_reaches_kv_with_the_next_command() {
    let h = Harness::default();
    h.kv.1.set(true);
    let id = create_alice(&h);
    assert_eq!(verify(&h, "alice", "correct horse"), None, "not in KV yet");
    // A later change of the same record while KV is still down replaces what was queued.
    let path = format!("/admin/v1/users/{id}");
    let resp = admin(
        &h,
        Method::Patch,
        &path,
        Some(json!({"password": "battery staple"})),
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    h.kv.1.set(false);
    assert_eq!(admin(&h, Method::Get, "/admin/v1/scopes", None).status, 200);
    assert_eq!(verify(&h, "alice", "battery staple"), Some(id));
    assert_eq!(verify(&h, "alice", "correct horse"), None);
    assert!(!h
        .storage
        .0
        .borrow()
        .keys()
        .any(|k| k.starts_with("outbox/")));
}
