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

#[test]
fn profile_fields_are_checked_and_an_empty_patch_value_removes_one() {
    let rng = SeqRng::default();
    let ok = |f: fn(&mut NewUser)| {
        let mut new = NewUser {
            username: "carol".into(),
            password: "correct horse".into(),
            ..NewUser::default()
        };
        f(&mut new);
        UserRecord::create(new, &rng, 0).map_err(|e| e.field.unwrap_or_default())
    };
    assert!(ok(|n| n.email = Some("carol+x@mail.example.org".into())).is_ok());
    assert!(ok(|n| n.locale = Some("zh-Hant-TW".into())).is_ok());
    for (bad, field) in [
        (ok(|n| n.email = Some("carol@localhost".into())), "email"),
        (ok(|n| n.email = Some("a b@example.com".into())), "email"),
        (ok(|n| n.email = Some("@example.com".into())), "email"),
        (ok(|n| n.email_verified = Some(true)), "email_verified"),
        (ok(|n| n.locale = Some("e".into())), "locale"),
        (ok(|n| n.locale = Some("en_GB".into())), "locale"),
        (
            ok(|n| n.picture = Some("javascript:alert(1)".into())),
            "picture",
        ),
        (
            ok(|n| n.picture = Some("http://example.com/p.png".into())),
            "picture",
        ),
        (ok(|n| n.name = Some(" Carol".into())), "name"),
        (ok(|n| n.given_name = Some("x".repeat(201))), "given_name"),
        (
            ok(|n| n.family_name = Some("a\u{7}b".into())),
            "family_name",
        ),
    ] {
        assert_eq!(bad.unwrap_err(), field);
    }
    let mut with_email = alice();
    with_email.user.profile.email = Some("alice@example.com".into());
    with_email.user.profile.email_verified = Some(true);
    let removed = with_email
        .patched(
            UserPatch {
                email: Some(String::new()),
                name: Some("Alice".into()),
                ..UserPatch::default()
            },
            &rng,
            300,
        )
        .unwrap();
    assert_eq!(removed.user.profile.email, None);
    assert_eq!(
        removed.user.profile.email_verified, None,
        "goes with the email"
    );
    assert_eq!(removed.user.profile.name.as_deref(), Some("Alice"));
}
