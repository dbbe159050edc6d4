//! Unit tests of `login`.

use super::*;
use crate::grants::{GrantCommand, GrantStore, LockKey};
use crate::testing::Harness;

#[test]
fn a_locked_out_network_leaves_no_record_under_the_names_it_tries() {
    let h = Harness::default();
    let network = LockKey::Network("2001:db8::/64".into());
    let attempt = GrantCommand::LoginAttempt {
        key: network.clone(),
    };
    for _ in 0..20 {
        futures::executor::block_on(h.call(network.shard(), &attempt)).expect("storage works");
    }
    let req = Request::new(Method::Post, "https://auth.test", "/login")
        .with_header("cf-connecting-ip", "2001:db8::1");
    let ctx = h.context_for(&req);
    for i in 0..30 {
        let name = format!("nobody{i}");
        let checked = check_credentials(&ctx, &name, "wrong");
        let credentials = futures::executor::block_on(checked).expect("storage works");
        assert!(matches!(credentials, Credentials::Locked(_)), "{name}");
    }
    let names = h
        .grant_storage
        .0
        .borrow()
        .keys()
        .filter(|k| k.starts_with("lock:user:"))
        .count();
    assert_eq!(names, 0, "the network's lockout is asked first");
}

#[test]
fn next_may_only_name_our_own_pages() {
    assert_eq!(
        safe_next(Some("/oauth/authorize?a=b")),
        "/oauth/authorize?a=b"
    );
    assert_eq!(safe_next(Some("/account/grants")), ACCOUNT_PAGE);
    for bad in [
        "https://evil.test/",
        "//evil.test/x",
        "/admin/v1/clients",
        "/oauth/authorize?\\x",
    ] {
        assert_eq!(safe_next(Some(bad)), ACCOUNT_PAGE, "{bad}");
    }
    assert_eq!(safe_next(None), ACCOUNT_PAGE);
}
