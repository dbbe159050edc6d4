//! Unit tests of `audit`.

use serde_json::{json, Value};

use super::*;
use crate::http::{Method, Request};
use crate::testing::{Harness, TEST_ADMIN_TOKEN};

/// An admin request with `token`, from `ip`; answers the status and the JSON body.
fn admin(h: &Harness, method: Method, path: &str, token: &str, ip: &str) -> (u16, Value) {
    let mut req = Request::new(method, "https://auth.test", path)
        .with_header("authorization", &format!("Bearer {token}"))
        .with_header("cf-connecting-ip", ip);
    if method == Method::Post {
        let scope = json!({"name": format!("s{}", h.clock.0.get()), "description": "d"});
        req = req
            .with_header("content-type", "application/json")
            .with_body(scope.to_string());
    }
    let resp = h.send(req);
    let body = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, body)
}

fn events(h: &Harness) -> Vec<Value> {
    let (status, page) = admin(h, Method::Get, "/admin/v1/audit", TEST_ADMIN_TOKEN, "::1");
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().cloned().unwrap_or_default()
}

fn stored(h: &Harness, prefix: &str) -> usize {
    h.storage
        .0
        .borrow()
        .keys()
        .filter(|k| k.starts_with(prefix))
        .count()
}

fn guess(h: &Harness, ip: &str) {
    let (status, _) = admin(h, Method::Get, "/admin/v1/clients", "a guess", ip);
    assert_eq!(status, 401);
}

#[test]
fn failed_admin_authentications_share_one_entry_per_network_and_hour() {
    let h = Harness::default();
    // Start on the hour, so the next four minutes are one window.
    let now = h.clock.0.get() / 1000;
    h.advance(AUTH_FAILURE_WINDOW - now % AUTH_FAILURE_WINDOW);
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"] {
        guess(&h, ip);
        h.advance(60);
    }
    guess(&h, "203.0.113.9");
    h.advance(60);
    guess(&h, "2001:db8:1:2::1");
    let summary = |events: &[Value]| -> Vec<(String, u64)> {
        events
            .iter()
            .map(|e| {
                (
                    e["target"].as_str().unwrap_or_default().to_owned(),
                    e["count"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&events(&h)),
        [
            ("203.0.113.9".to_owned(), 1),
            ("2001:db8:1:2::/64".to_owned(), 4)
        ],
        "newest first; the /64's entry keeps the time of its first failure"
    );
    // The next hour opens new entries, and the past hour's marks are swept.
    h.advance(AUTH_FAILURE_WINDOW);
    guess(&h, "2001:db8:1:2::1");
    assert_eq!(
        summary(&events(&h)),
        [
            ("2001:db8:1:2::/64".to_owned(), 1),
            ("203.0.113.9".to_owned(), 1),
            ("2001:db8:1:2::/64".to_owned(), 4)
        ]
    );
    assert_eq!(stored(&h, MARK_PREFIX), 1);
    // Entries other than failed authentications carry no count.
    assert_eq!(
        admin(
            &h,
            Method::Post,
            "/admin/v1/scopes",
            TEST_ADMIN_TOKEN,
            "::1"
        )
        .0,
        201
    );
    assert!(events(&h)[0].get("count").is_none());
}

#[test]
fn entries_past_the_retention_are_never_served_and_are_swept_by_the_next_write() {
    let mut h = Harness::default();
    h.settings.audit_retention_secs = 10 * 86_400;
    let write = |h: &Harness| {
        let (status, body) = admin(h, Method::Post, "/admin/v1/scopes", TEST_ADMIN_TOKEN, "::1");
        assert_eq!(status, 201, "{body}");
        h.advance(1);
    };
    for _ in 0..3 {
        write(&h);
    }
    h.advance(10 * 86_400 - 3);
    assert_eq!(
        events(&h).len(),
        3,
        "the oldest is exactly as old as the retention"
    );
    h.advance(1);
    assert_eq!(events(&h).len(), 2, "one second more, and it is not served");
    h.advance(2);
    assert!(events(&h).is_empty());
    assert_eq!(stored(&h, ENTRY_PREFIX), 3, "reading deletes nothing");
    write(&h);
    assert_eq!(stored(&h, ENTRY_PREFIX), 1, "the write swept the three");
    assert_eq!(events(&h).len(), 1);
}

#[test]
fn a_write_sweeps_more_expired_entries_than_it_adds() {
    let mut h = Harness::default();
    for i in 0..40 {
        guess(&h, &format!("192.0.2.{i}"));
        h.advance(1);
    }
    assert_eq!(stored(&h, ENTRY_PREFIX), 40);
    // The operator shortens the retention: the backlog drains a batch per write.
    h.settings.audit_retention_secs = 3600;
    h.advance(3600);
    for expected in [40 - SWEEP_BATCH + 1, 40 - 2 * SWEEP_BATCH + 2, 3] {
        let (status, body) = admin(
            &h,
            Method::Post,
            "/admin/v1/scopes",
            TEST_ADMIN_TOKEN,
            "::1",
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(stored(&h, ENTRY_PREFIX), expected);
        h.advance(1);
    }
}

#[test]
fn retention_is_a_positive_number_of_days() {
    assert_eq!(parse_retention_days("400"), Some(400 * 86_400));
    assert_eq!(parse_retention_days(" 0.5 "), Some(43_200));
    assert_eq!(parse_retention_days("0.000001"), Some(1));
    for bad in ["0", "-1", "abc", "", "NaN", "inf", "36501"] {
        assert_eq!(parse_retention_days(bad), None, "{bad}");
    }
}
