//! The log through the router: one request line per request with its status, the detail of
//! internal failures, and never a secret or a token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::flow_tests::{body, setup, token};
use crate::http::{Method, Request, Response};
use crate::ports::{Failure, LogEvent, Outcome};
use crate::testing::{Harness, TEST_ADMIN_TOKEN, TEST_KEK};

/// Sends `req`; answers the response and the events it logged.
fn logged(h: &Harness, send: impl FnOnce(&Harness) -> Response) -> (Response, Vec<LogEvent>) {
    let before = h.log.0.borrow().len();
    let resp = send(h);
    let events = h.log.0.borrow()[before..].to_vec();
    (resp, events)
}

/// The one request line among `events`, checked against `resp` and `route`.
fn request_line<'e>(events: &'e [LogEvent], resp: &Response, route: &str) -> &'e LogEvent {
    let lines: Vec<_> = events.iter().filter(|e| e.status.is_some()).collect();
    assert_eq!(lines.len(), 1, "one request line: {events:?}");
    let line = lines[0];
    assert_eq!(line.status, Some(resp.status));
    assert_eq!(line.route.as_deref(), Some(route));
    assert_eq!(line.request_id, "test");
    assert!(line.duration_ms.is_some());
    line
}

fn admin_call(h: &Harness, token: &str, path: &str) -> Response {
    h.send(
        Request::new(Method::Get, "https://auth.test", path)
            .with_header("authorization", &format!("Bearer {token}")),
    )
}

#[test]
fn each_request_logs_one_line_with_failures_in_detail_and_no_secret_or_token() {
    let (h, id, secret) = setup();
    let wrong_secret = "not-the-secret-but-also-secret-0123456789";

    // Storage fails: the caller gets a generic 503, the line the detail.
    *h.failing.borrow_mut() = vec!["ensure_keys", "admin_auth_failed"];
    let (resp, events) = logged(&h, |h| token(h, &id, &secret, ""));
    assert_eq!(resp.status, 503, "{}", body(&resp));
    let line = request_line(&events, &resp, "/oauth/token");
    assert_eq!(line.outcome, Outcome::ServerError);
    let failure = line.failure.as_ref().expect("the 503's failure");
    assert_eq!(failure.kind, "store");
    assert!(failure.detail.contains("ensure_keys"), "{failure:?}");
    assert!(!String::from_utf8_lossy(&resp.body).contains("ensure_keys"));

    // A refused admin call whose audit write fails: the refusal stands, the failure is logged.
    let (resp, events) = logged(&h, |h| {
        admin_call(h, "wrong-admin-token", "/admin/v1/clients")
    });
    assert_eq!(resp.status, 401);
    assert_eq!(
        request_line(&events, &resp, "/admin/v1/clients").outcome,
        Outcome::ClientError
    );
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    let detail = &failed[0].failure.as_ref().unwrap().detail;
    assert!(
        detail.starts_with("auditing a refused admin call: "),
        "{detail}"
    );
    h.failing.borrow_mut().clear();

    let (resp, events) = logged(&h, |h| token(h, &id, &secret, ""));
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let line = request_line(&events, &resp, "/oauth/token");
    assert_eq!((line.outcome, &line.failure), (Outcome::Ok, &None));
    let access_token = body(&resp)["access_token"].as_str().unwrap().to_owned();

    let (resp, events) = logged(&h, |h| token(h, &id, wrong_secret, ""));
    assert_eq!(resp.status, 401);
    request_line(&events, &resp, "/oauth/token");

    let (resp, events) = logged(&h, |h| admin_call(h, TEST_ADMIN_TOKEN, "/admin/v1/clients"));
    assert_eq!(resp.status, 200);
    request_line(&events, &resp, "/admin/v1/clients");

    let (resp, events) = logged(&h, |h| {
        h.send(
            Request::new(Method::Post, "https://auth.test", "/oauth/introspect")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_header(
                    "authorization",
                    &format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
                )
                .with_body(format!("token={access_token}")),
        )
    });
    assert_eq!(resp.status, 200);
    assert_eq!(body(&resp)["active"], true);
    request_line(&events, &resp, "/oauth/introspect");

    let lines: Vec<String> = h.log.0.borrow().iter().map(LogEvent::to_json).collect();
    for line in &lines {
        for secret in [
            secret.as_str(),
            wrong_secret,
            TEST_ADMIN_TOKEN,
            "wrong-admin-token",
            TEST_KEK,
            access_token.as_str(),
        ] {
            assert!(!line.contains(secret), "{line} leaks {secret}");
        }
        for part in access_token.split('.') {
            assert!(
                !line.contains(part),
                "{line} leaks part of the access token"
            );
        }
    }
}

#[test]
fn a_request_line_is_one_json_object_of_the_documented_fields() {
    let line = LogEvent::request(
        "8f2a",
        "/oauth/token",
        503,
        12,
        Some(Failure::new("store", "storage unavailable: KV is down")),
    );
    let json: serde_json::Value = serde_json::from_str(&line.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"request_id": "8f2a", "route": "/oauth/token", "outcome": "server_error",
            "status": 503, "duration_ms": 12, "kind": "store", "detail": "storage unavailable: KV is down"})
    );
    let failure = LogEvent::failure(
        "8f2a",
        Failure::new("fetch", "no route to https://idp.test"),
    );
    assert_eq!(
        failure.to_json(),
        r#"{"request_id":"8f2a","outcome":"failed","kind":"fetch","detail":"no route to https://idp.test"}"#
    );
}

#[test]
fn a_failure_detail_blanks_anything_shaped_like_a_token() {
    let token =
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLW9mLWVzMjU2";
    let f = Failure::new(
        "store",
        &format!("corrupt record session:{token}: expected value"),
    );
    assert_eq!(
        f.detail,
        "corrupt record session:[redacted].[redacted].[redacted]: expected value"
    );
    let f = Failure::new("store", &format!("key {TEST_KEK} refused")).during("unsealing");
    assert_eq!(f.detail, "unsealing: key [redacted] refused");
    let kept = "durable object answered 503 for client:svc-01 (key 0123456789abcdefABCD)";
    assert_eq!(Failure::new("store", kept).detail, kept);
    assert_eq!(
        Failure::new("store", "key 0123456789abcdefABCDE").detail,
        "key [redacted]"
    );
    let named = "UPSTREAM_SESSION_SECONDS must be 1 to 1800 seconds";
    assert_eq!(Failure::new("config", named).detail, named);
    assert_eq!(
        Failure::new("store", "secret abcdefghijklmnopqrstuvwxYZ").detail,
        "secret [redacted]"
    );
}
