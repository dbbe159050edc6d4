//! Unit tests of `users`.

use super::*;
use crate::testing::SeqRng;

fn alice() -> UserRecord {
    UserRecord::create(
        NewUser {
            username: "Alice".into(),
            password: "correct horse".into(),
            ..NewUser::default()
        },
        &SeqRng::default(),
        100,
    )
    .unwrap()
}

#[test]
fn password_is_stored_as_a_salted_pbkdf2_sha256_phc_string() {
    let record = alice();
    let stored = serde_json::to_string(&record).unwrap();
    assert!(!stored.contains("correct horse"));
    assert!(stored.contains(&format!("$pbkdf2-sha256$i={PBKDF2_ROUNDS},l=32$")));
    assert!(record.password_hash.matches("correct horse"));
    assert!(!record.password_hash.matches("correct horsE"));
    assert_eq!(format!("{:?}", record.password_hash), "PasswordDigest(..)");
}

#[test]
fn same_password_gets_a_different_salt() {
    let rng = SeqRng::default();
    let a = PasswordDigest::new(&rng, "correct horse");
    let b = PasswordDigest::new(&rng, "correct horse");
    assert_ne!(a, b);
}

#[test]
fn short_password_and_blank_username_are_refused_by_field() {
    let rng = SeqRng::default();
    let short = UserRecord::create(
        NewUser {
            username: "bob".into(),
            password: "1234567".into(),
            ..NewUser::default()
        },
        &rng,
        0,
    )
    .unwrap_err();
    assert_eq!(
        (short.status, short.field.as_deref()),
        (422, Some("password"))
    );
    let blank = UserRecord::create(
        NewUser {
            username: "bo b".into(),
            password: "12345678".into(),
            ..NewUser::default()
        },
        &rng,
        0,
    )
    .unwrap_err();
    assert_eq!(blank.field.as_deref(), Some("username"));
}

#[test]
fn patch_changes_password_and_disabled_only_when_given() {
    let record = alice();
    let rng = SeqRng::default();
    let same = record.patched(UserPatch::default(), &rng, 200).unwrap();
    assert_eq!(same.password_hash, record.password_hash);
    let changed = record
        .patched(
            UserPatch {
                password: Some("battery staple".into()),
                disabled: Some(true),
                ..UserPatch::default()
            },
            &rng,
            200,
        )
        .unwrap();
    assert!(changed.password_hash.matches("battery staple"));
    assert!(!changed.password_hash.matches("correct horse"));
    assert!(changed.user.disabled);
    assert_eq!(changed.user.updated_at, 200);
}

#[test]
fn login_key_folds_case() {
    assert_eq!(user_login_key("ALICE"), user_login_key("alice"));
}
