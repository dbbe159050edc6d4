//! Unit tests of `grants`.

use std::cell::Cell;

use super::*;
use crate::crypto::token_hash;
use crate::lifetimes::CODE_TTL;
use crate::testing::{FixedClock, MemStorage};

/// One grant shard on in-memory storage and a fixed clock (also used by [`lockout`]'s
/// and [`retry`]'s tests).
pub(crate) struct T {
    pub(crate) storage: MemStorage,
    pub(crate) clock: FixedClock,
}

impl T {
    pub(crate) fn new() -> Self {
        Self {
            storage: MemStorage::default(),
            clock: FixedClock(Cell::new(1_000_000_000)),
        }
    }
    pub(crate) fn run(&self, c: &GrantCommand) -> GrantReply {
        let env = GrantEnv {
            storage: &self.storage,
            clock: &self.clock,
        };
        futures::executor::block_on(execute(&env, c)).unwrap()
    }
    fn now(&self) -> u64 {
        self.clock.0.get() / 1000
    }
    pub(crate) fn advance(&self, secs: u64) {
        self.clock.0.set(self.clock.0.get() + secs * 1000);
    }
    /// How many stored keys start with `prefix`.
    pub(crate) fn keys_with(&self, prefix: &str) -> usize {
        self.storage
            .0
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .count()
    }
    pub(crate) fn issue(&self, jti: &str, refresh: Option<&str>) -> Issue {
        Issue {
            access: IssuedToken {
                jti: jti.into(),
                exp: self.now() + 3600,
            },
            refresh_hash: refresh.map(token_hash),
            idle_ttl: 1000,
            absolute_ttl: 5000,
            refresh_jkt: None,
        }
    }
    /// A consented grant and a fresh code whose request named its redirect URI; answers
    /// the code's hash.
    fn code(&self) -> String {
        self.code_with(true)
    }
    /// As [`Self::code`], the authorization request naming `redirect_uri` or not.
    fn code_with(&self, redirect_uri_sent: bool) -> String {
        self.run(&GrantCommand::Consent {
            user: "u1".into(),
            client_id: "c1".into(),
            scopes: vec!["read".into(), "write".into()],
            grant_id: "g1".into(),
        });
        let hash = token_hash(&format!("code-{}", self.now()));
        self.run(&GrantCommand::IssueCode {
            code_hash: hash.clone(),
            code: CodeRecord {
                grant_id: "g1".into(),
                client_id: "c1".into(),
                redirect_uri: "https://app/cb".into(),
                redirect_uri_sent,
                challenge: sha256_b64(VERIFIER.as_bytes()),
                user: "u1".into(),
                scopes: vec!["read".into()],
                exp: self.now() + CODE_TTL,
                sign_in: None,
                redeemed: None,
                resource: Some(RESOURCE.into()),
                dpop_jkt: None,
            },
        });
        hash
    }
    fn redeem(&self, hash: &str, client: &str, verifier: &str, jti: &str) -> GrantReply {
        self.redeem_at(hash, client, "https://app/cb", verifier, jti)
    }
    fn redeem_at(
        &self,
        hash: &str,
        client: &str,
        redirect_uri: &str,
        verifier: &str,
        jti: &str,
    ) -> GrantReply {
        self.redeem_for(hash, client, redirect_uri, verifier, jti, None)
    }
    fn redeem_for(
        &self,
        hash: &str,
        client: &str,
        redirect_uri: &str,
        verifier: &str,
        jti: &str,
        resource: Option<&str>,
    ) -> GrantReply {
        self.run(&GrantCommand::RedeemCode {
            code_hash: hash.into(),
            client_id: client.into(),
            redirect_uri: redirect_uri.into(),
            verifier: verifier.into(),
            resource: resource.map(Into::into),
            issue: self.issue(jti, Some(&format!("rt-{jti}"))),
            jkt: None,
        })
    }
    fn refresh(&self, old: &str, new: &str, client: &str) -> GrantReply {
        self.run(&GrantCommand::Refresh {
            token_hash: token_hash(old),
            client_id: client.into(),
            scope: None,
            issue: self.issue(new, Some(&format!("rt-{new}"))),
            retry: None,
            jkt: None,
        })
    }
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn is_issued(r: &GrantReply) -> bool {
    matches!(r, GrantReply::Issued { .. })
}

#[test]
fn code_redeems_once_and_replay_revokes_what_it_issued() {
    let t = T::new();
    let code = t.code();
    assert!(is_issued(&t.redeem(&code, "c1", VERIFIER, "at1")));
    match t.redeem(&code, "c1", VERIFIER, "at2") {
        GrantReply::Refused {
            code: RefusalCode::InvalidGrant,
            revoked: Some(r),
            ..
        } => {
            assert_eq!(r.action, "code.replay");
            assert_eq!(
                r.deny.iter().map(|t| t.jti.as_str()).collect::<Vec<_>>(),
                ["at1"]
            );
        }
        other => panic!("{other:?}"),
    }
    // The refresh token the code issued is dead too.
    assert!(!is_issued(&t.refresh("rt-at1", "at3", "c1")));
}

#[test]
fn a_grant_keeps_a_bounded_number_of_refresh_families() {
    let t = T::new();
    for i in 0..=MAX_FAMILIES {
        t.advance(1);
        assert!(is_issued(&t.redeem(
            &t.code(),
            "c1",
            VERIFIER,
            &format!("at{i}")
        )));
    }
    assert_eq!(t.keys_with("family:"), MAX_FAMILIES);
    // The oldest family's refresh token ended; the newest still rotates.
    assert!(!is_issued(&t.refresh("rt-at0", "x0", "c1")));
    assert!(is_issued(&t.refresh(
        &format!("rt-at{MAX_FAMILIES}"),
        "x1",
        "c1"
    )));
}

#[test]
fn code_is_bound_to_client_verifier_and_lifetime() {
    let t = T::new();
    assert!(!is_issued(&t.redeem(&t.code(), "c2", VERIFIER, "a")));
    assert!(!is_issued(&t.redeem(
        &t.code(),
        "c1",
        &VERIFIER.replace('d', "e"),
        "b"
    )));
    let code = t.code();
    t.advance(CODE_TTL);
    assert!(!is_issued(&t.redeem(&code, "c1", VERIFIER, "c")));
    // A failed attempt burns the code.
    t.advance(1);
    let code = t.code();
    assert!(!is_issued(&t.redeem(&code, "c2", VERIFIER, "d")));
    assert!(!is_issued(&t.redeem(&code, "c1", VERIFIER, "e")));
}

/// The resource the codes of [`T::code_with`] were authorized for.
const RESOURCE: &str = "https://api.test/mcp";

#[test]
fn a_code_is_redeemed_only_for_the_resource_it_was_authorized_for() {
    let t = T::new();
    let fresh = || {
        t.advance(1);
        t.code()
    };
    let (other, same, unnamed) = (fresh(), fresh(), fresh());
    let cb = "https://app/cb";
    let redeem = |code: &str, jti, resource| t.redeem_for(code, "c1", cb, VERIFIER, jti, resource);
    assert!(!is_issued(&redeem(
        &other,
        "a",
        Some("https://api.test/other")
    )));
    assert!(
        !is_issued(&redeem(&other, "b", Some(RESOURCE))),
        "a refusal burns the code"
    );
    assert!(is_issued(&redeem(&same, "c", Some(RESOURCE))));
    assert!(is_issued(&redeem(&unnamed, "d", None)));
}

#[test]
fn redirect_uri_must_be_repeated_only_when_the_request_named_it() {
    let t = T::new();
    // Codes are named after the clock: one per second.
    let fresh = |sent| {
        t.advance(1);
        t.code_with(sent)
    };
    let (named, omitted, other, omitted_too) =
        (fresh(true), fresh(false), fresh(false), fresh(false));
    assert!(!is_issued(&t.redeem_at(&named, "c1", "", VERIFIER, "a")));
    assert!(is_issued(&t.redeem_at(&omitted, "c1", "", VERIFIER, "b")));
    // Left out of the request, it may still be sent, but only as the URI the code went to.
    let to = |uri, code: &str, jti| is_issued(&t.redeem_at(code, "c1", uri, VERIFIER, jti));
    assert!(!to("https://app/other", &other, "c"));
    assert!(to("https://app/cb", &omitted_too, "d"));
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_grant() {
    let t = T::new();
    assert!(is_issued(&t.redeem(&t.code(), "c1", VERIFIER, "at1")));
    assert!(is_issued(&t.refresh("rt-at1", "at2", "c1")));
    match t.refresh("rt-at1", "at3", "c1") {
        GrantReply::Refused {
            revoked: Some(r), ..
        } => {
            assert_eq!(r.action, "refresh.reuse");
            let mut jtis: Vec<_> = r.deny.iter().map(|t| t.jti.clone()).collect();
            jtis.sort();
            assert_eq!(jtis, ["at1", "at2"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(!is_issued(&t.refresh("rt-at2", "at4", "c1")));
    assert!(matches!(
        t.run(&GrantCommand::Consented {
            user: "u1".into(),
            client_id: "c1".into()
        }),
        GrantReply::Consented { grant: None }
    ));
}

#[test]
fn refresh_by_another_client_fails_and_scope_only_narrows() {
    let t = T::new();
    assert!(is_issued(&t.redeem(&t.code(), "c1", VERIFIER, "at1")));
    assert!(!is_issued(&t.refresh("rt-at1", "x", "c2")));
    let widen = t.run(&GrantCommand::Refresh {
        token_hash: token_hash("rt-at1"),
        client_id: "c1".into(),
        scope: Some(vec!["write".into()]),
        issue: t.issue("y", Some("rt-y")),
        retry: None,
        jkt: None,
    });
    assert!(matches!(
        widen,
        GrantReply::Refused {
            code: RefusalCode::InvalidScope,
            ..
        }
    ));
    assert!(is_issued(&t.refresh("rt-at1", "at2", "c1")));
}

#[test]
fn refresh_expires_when_idle() {
    let t = T::new();
    assert!(is_issued(&t.redeem(&t.code(), "c1", VERIFIER, "at1")));
    t.advance(1000);
    assert!(!is_issued(&t.refresh("rt-at1", "at2", "c1")));
}

#[test]
fn consent_widens_and_is_remembered() {
    let t = T::new();
    t.code();
    t.run(&GrantCommand::Consent {
        user: "u1".into(),
        client_id: "c1".into(),
        scopes: vec!["admin".into()],
        grant_id: "other".into(),
    });
    match t.run(&GrantCommand::Consented {
        user: "u1".into(),
        client_id: "c1".into(),
    }) {
        GrantReply::Consented { grant: Some(g) } => {
            assert_eq!(g.id, "g1");
            assert_eq!(g.scopes, ["read", "write", "admin"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn user_revokes_only_their_own_grant() {
    let t = T::new();
    assert!(is_issued(&t.redeem(&t.code(), "c1", VERIFIER, "at1")));
    let not_mine = t.run(&GrantCommand::Revoke {
        grant_id: "g1".into(),
        user: Some("u2".into()),
    });
    assert_eq!(not_mine, GrantReply::Revoked { revoked: None });
    match t.run(&GrantCommand::Revoke {
        grant_id: "g1".into(),
        user: Some("u1".into()),
    }) {
        GrantReply::Revoked { revoked: Some(r) } => assert_eq!(r.deny.len(), 1),
        other => panic!("{other:?}"),
    }
    assert!(!is_issued(&t.refresh("rt-at1", "at2", "c1")));
}

#[test]
fn expired_codes_and_families_are_swept_from_storage() {
    let t = T::new();
    assert!(is_issued(&t.redeem(&t.code(), "c1", VERIFIER, "at1")));
    let count = |prefix: &str| t.keys_with(prefix);
    assert_eq!(
        (count("code:"), count("refresh:"), count("family:")),
        (1, 1, 1)
    );
    t.advance(5000 + MAX_ACCESS_TOKEN_TTL + 1);
    t.code();
    assert_eq!(count("code:"), 1, "only the new code is left");
    assert_eq!((count("refresh:"), count("family:")), (0, 0));
}

#[test]
fn tokens_name_their_shard() {
    let rng = crate::testing::SeqRng::default();
    let tok = new_token(&rng, 7);
    assert_eq!(shard_of_token(&tok), Some(7));
    assert!(tok.len() >= 45);
    assert_eq!(shard_of_token("99.x"), None);
    assert_eq!(shard_of_token("7."), None);
    assert_eq!(shard_of_token("nodot"), None);
    assert!(shard_of("alice") < SHARDS);
}
