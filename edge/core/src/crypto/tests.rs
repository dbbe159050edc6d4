//! Unit tests of `crypto`.

use super::*;
use crate::testing::{SeqRng, TEST_ADMIN_TOKEN, TEST_KEK};

fn secrets() -> Secrets {
    Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).unwrap()
}

#[test]
fn admin_token_is_checked_exactly() {
    let s = secrets();
    assert!(s.is_admin_token(TEST_ADMIN_TOKEN));
    assert!(!s.is_admin_token(&TEST_ADMIN_TOKEN[..10]));
    assert!(!s.is_admin_token(&format!("{TEST_ADMIN_TOKEN}x")));
    assert!(!s.admin_fingerprint().contains(TEST_ADMIN_TOKEN));
}

#[test]
fn malformed_kek_is_refused() {
    assert!(Secrets::new(TEST_ADMIN_TOKEN, "c2hvcnQ=").is_err());
    assert!(Secrets::new("short", TEST_KEK).is_err());
}

#[test]
fn sealed_data_opens_only_under_its_label() {
    let s = secrets();
    let sealed = s.seal(&SeqRng::default(), "kid-1", b"private");
    assert_eq!(s.open("kid-1", &sealed).unwrap(), b"private");
    assert!(s.open("kid-2", &sealed).is_err());
    let mut tampered = sealed.clone();
    tampered.replace_range(20..21, if &sealed[20..21] == "A" { "B" } else { "A" });
    assert!(s.open("kid-1", &tampered).is_err());
}

#[test]
fn what_a_token_sealed_opens_only_with_that_token() {
    let s = secrets();
    let sealed = s.seal_for_token(&SeqRng::default(), "3.old-token", b"3.new-token");
    assert_eq!(
        s.open_for_token("3.old-token", &sealed).unwrap(),
        b"3.new-token"
    );
    assert!(s.open_for_token("3.other-token", &sealed).is_err());
    assert!(!sealed.contains("new-token"));
    let other = Secrets::new(
        TEST_ADMIN_TOKEN,
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
    )
    .unwrap();
    assert!(other.open_for_token("3.old-token", &sealed).is_err());
}

#[test]
fn secret_hash_is_keyed_and_round_trips() {
    let s = secrets();
    let h = s.hash_client_secret("abc");
    assert!(h.matches(&SecretHash::from_stored(&h.to_stored()).unwrap()));
    assert!(!h.matches(&s.hash_client_secret("abd")));
    assert_eq!(format!("{h:?}"), "SecretHash(..)");
    let other = Secrets::new(
        TEST_ADMIN_TOKEN,
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
    )
    .unwrap();
    assert!(!h.matches(&other.hash_client_secret("abc")));
}
