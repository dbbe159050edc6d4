//! Retried refreshes: a client that sends one refresh request twice (a lost answer, a flaky
//! network, two tabs refreshing at once) gets the same new refresh token again, instead of
//! tripping reuse detection and losing the whole grant (RFC 9700 §4.14.2 allows such a grace).
//!
//! - **What is kept.** A rotation that came with a [`RetryTicket`] leaves a [`RetryRecord`]
//!   under the used token's hash: the new refresh token sealed under a key only the holder of
//!   the used token can derive ([`crate::crypto::Secrets::seal_for_token`]; the shard has only
//!   the token's SHA-256), the caller's network as a SHA-256, the client and the scopes.
//! - **Who gets it back.** A request with the used token, from the same client and the same
//!   caller network ([`crate::http::Request::client_network`]) asking the same scopes, within
//!   the window ([`DEFAULT_WINDOW_MS`], at most [`MAX_WINDOW_MS`]), while the token it rotated
//!   to is still unused. Anything else is reuse, and revokes the grant as before.
//! - **What it gets.** The same refresh token and a fresh access token (its own `jti`,
//!   recorded in the family, so revoking the grant denies it too).
//! - **How long it is kept.** The record expires through the shard's expiry index one second
//!   after its window; every refresh sweeps.

use serde::{Deserialize, Serialize};

use super::Shard;
use crate::ports::StoreError;

/// How long a retried refresh gets the same answer, milliseconds (`REFRESH_RETRY_WINDOW_MS`).
pub const DEFAULT_WINDOW_MS: u64 = 2_000;
/// The longest window an operator may configure, milliseconds.
pub const MAX_WINDOW_MS: u64 = 10_000;

/// Parses `REFRESH_RETRY_WINDOW_MS`: whole milliseconds from 0 (no retries) to
/// [`MAX_WINDOW_MS`].
pub fn parse_window_ms(value: &str) -> Option<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= MAX_WINDOW_MS)
}

/// What the edge sends with a rotation so that a retry can be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryTicket {
    /// SHA-256 of the caller's network.
    pub network: String,
    /// The new refresh token, sealed under a key derived from the presented one.
    pub sealed: String,
    /// How long a retry gets the same answer, milliseconds.
    pub window_ms: u64,
}

/// A rotation's answer, kept under the used token's hash until its window closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RetryRecord {
    family: String,
    client_id: String,
    network: String,
    scopes: Vec<String>,
    /// The hash of the refresh token the rotation issued.
    rotated_to: String,
    until_ms: u64,
    sealed: String,
}

fn retry_key(token_hash: &str) -> String {
    format!("retry:{token_hash}")
}

/// The request a retry must repeat.
pub(super) struct Retry<'r> {
    pub token_hash: &'r str,
    pub family: &'r str,
    pub client_id: &'r str,
    /// The scopes the request resolves to (its `scope`, else the family's).
    pub scopes: &'r [String],
    pub ticket: Option<&'r RetryTicket>,
}

impl Shard<'_, '_> {
    /// Remembers a rotation's answer (`rotated_to` is the new token's hash) for a retry.
    pub(super) async fn remember_rotation(
        &self,
        retry: &Retry<'_>,
        rotated_to: &str,
    ) -> Result<(), StoreError> {
        let Some(ticket) = retry.ticket else {
            return Ok(());
        };
        let until_ms = self.env.clock.now_ms() + ticket.window_ms.min(MAX_WINDOW_MS);
        let key = retry_key(retry.token_hash);
        let record = RetryRecord {
            family: retry.family.to_owned(),
            client_id: retry.client_id.to_owned(),
            network: ticket.network.clone(),
            scopes: retry.scopes.to_vec(),
            rotated_to: rotated_to.to_owned(),
            until_ms,
            sealed: ticket.sealed.clone(),
        };
        self.write(&key, &record).await?;
        self.expire(&key, until_ms / 1000 + 1).await
    }

    /// What `retry` gets back when it repeats a rotation within its window; `None` when it
    /// does not (a reuse). `current` is the hash of the family's unused refresh token.
    pub(super) async fn retried(
        &self,
        retry: &Retry<'_>,
        current: Option<&str>,
    ) -> Result<Option<Repeat>, StoreError> {
        let Some(ticket) = retry.ticket else {
            return Ok(None);
        };
        let Some(record) = self
            .read::<RetryRecord>(&retry_key(retry.token_hash))
            .await?
        else {
            return Ok(None);
        };
        let repeats = record.family == retry.family
            && current == Some(record.rotated_to.as_str())
            && self.env.clock.now_ms() < record.until_ms
            && record.client_id == retry.client_id
            && record.network == ticket.network
            && record.scopes == retry.scopes;
        Ok(repeats.then_some(Repeat {
            scopes: record.scopes,
            sealed: record.sealed,
        }))
    }
}

/// What a retry gets back: the scopes and the sealed refresh token of the rotation.
pub(super) struct Repeat {
    pub scopes: Vec<String>,
    pub sealed: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::token_hash;
    use crate::grants::tests::T;
    use crate::grants::{GrantCommand, GrantEvent, GrantReply};

    /// A rotation's request: the token presented, the caller, and what it asks.
    struct Ask<'a> {
        old: &'a str,
        client: &'a str,
        network: Option<&'a str>,
        scope: Option<&'a [&'a str]>,
    }

    impl Ask<'_> {
        fn of(old: &str) -> Ask<'_> {
            Ask {
                old,
                client: "c1",
                network: Some("net-1"),
                scope: None,
            }
        }
    }

    impl T {
        /// A shard with a grant of `read write` to `c1` whose family's refresh token is `rt-0`.
        fn with_family() -> Self {
            let t = Self::new();
            t.run(&GrantCommand::IssueDirect {
                user: "u1".into(),
                client_id: "c1".into(),
                scopes: vec!["read".into(), "write".into()],
                grant_id: "g1".into(),
                issue: t.issue("at-0", Some("rt-0")),
            });
            t
        }
        fn advance_ms(&self, ms: u64) {
            self.clock.0.set(self.clock.0.get() + ms);
        }
        /// Asks to rotate `ask.old` to `rt-{new}` (access token `at-{new}`); the ticket seals
        /// the name of the new token.
        fn rotate(&self, ask: &Ask<'_>, new: &str) -> GrantReply {
            self.run(&GrantCommand::Refresh {
                token_hash: token_hash(ask.old),
                client_id: ask.client.into(),
                scope: ask
                    .scope
                    .map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
                issue: self.issue(&format!("at-{new}"), Some(&format!("rt-{new}"))),
                retry: ask.network.map(|n| RetryTicket {
                    network: n.into(),
                    sealed: format!("sealed rt-{new}"),
                    window_ms: DEFAULT_WINDOW_MS,
                }),
                jkt: None,
            })
        }
    }

    fn sealed(reply: &GrantReply) -> Option<&str> {
        match reply {
            GrantReply::Reissued { sealed, .. } => Some(sealed),
            _ => None,
        }
    }

    fn reuse(reply: &GrantReply) -> Option<&GrantEvent> {
        match reply {
            GrantReply::Refused {
                revoked: Some(event),
                ..
            } => (event.action == "refresh.reuse").then_some(event),
            _ => None,
        }
    }

    #[test]
    fn a_retry_within_the_window_gets_the_same_refresh_token_and_a_fresh_access_token() {
        let t = T::with_family();
        assert!(matches!(
            t.rotate(&Ask::of("rt-0"), "1"),
            GrantReply::Issued { .. }
        ));
        t.advance_ms(DEFAULT_WINDOW_MS - 1);
        let again = t.rotate(&Ask::of("rt-0"), "2");
        assert_eq!(sealed(&again), Some("sealed rt-1"), "{again:?}");
        // The retry's access token belongs to the family: revoking the grant denies it.
        let revoked = t.run(&GrantCommand::Revoke {
            grant_id: "g1".into(),
            user: None,
        });
        let GrantReply::Revoked { revoked: Some(ev) } = revoked else {
            panic!("{revoked:?}")
        };
        let mut jtis: Vec<&str> = ev.deny.iter().map(|t| t.jti.as_str()).collect();
        jtis.sort_unstable();
        assert_eq!(jtis, ["at-0", "at-1", "at-2"]);
    }

    #[test]
    fn the_retried_answer_is_the_unused_new_token_which_still_rotates() {
        let t = T::with_family();
        t.rotate(&Ask::of("rt-0"), "1");
        assert!(sealed(&t.rotate(&Ask::of("rt-0"), "2")).is_some());
        // The retry's own refresh token was never stored; the rotation's one still works.
        assert!(matches!(
            t.rotate(&Ask::of("rt-2"), "x"),
            GrantReply::Refused { revoked: None, .. }
        ));
        assert!(matches!(
            t.rotate(&Ask::of("rt-1"), "3"),
            GrantReply::Issued { .. }
        ));
    }

    #[test]
    fn a_retry_after_the_window_is_reuse_and_revokes_the_grant() {
        let t = T::with_family();
        t.rotate(&Ask::of("rt-0"), "1");
        t.advance_ms(DEFAULT_WINDOW_MS);
        let late = t.rotate(&Ask::of("rt-0"), "2");
        let event = reuse(&late).unwrap_or_else(|| panic!("{late:?}"));
        assert_eq!(event.target, "g1");
        let newest = t.rotate(&Ask::of("rt-1"), "3");
        assert!(
            !matches!(newest, GrantReply::Issued { .. }),
            "the rotation's token died with the grant"
        );
    }

    #[test]
    fn only_the_same_client_network_and_scopes_get_the_answer_again() {
        let strangers: [Ask<'_>; 4] = [
            Ask {
                network: Some("net-2"),
                ..Ask::of("rt-0")
            },
            Ask {
                network: None,
                ..Ask::of("rt-0")
            },
            Ask {
                client: "c2",
                ..Ask::of("rt-0")
            },
            Ask {
                scope: Some(&["read"]),
                ..Ask::of("rt-0")
            },
        ];
        for (i, stranger) in strangers.iter().enumerate() {
            let t = T::with_family();
            t.rotate(&Ask::of("rt-0"), "1");
            let r = t.rotate(stranger, "2");
            assert!(reuse(&r).is_some(), "stranger {i}: {r:?}");
        }
    }

    #[test]
    fn once_the_new_token_is_used_a_retry_of_the_old_one_is_reuse() {
        let t = T::with_family();
        t.rotate(&Ask::of("rt-0"), "1");
        t.rotate(&Ask::of("rt-1"), "2");
        assert!(reuse(&t.rotate(&Ask::of("rt-0"), "3")).is_some());
    }

    #[test]
    fn retry_records_leave_storage_a_second_after_their_window() {
        let t = T::with_family();
        t.rotate(&Ask::of("rt-0"), "1");
        assert_eq!(t.keys_with("retry:"), 1);
        t.advance_ms(DEFAULT_WINDOW_MS + 1000);
        t.rotate(&Ask::of("rt-1"), "2");
        assert_eq!(
            t.keys_with("retry:"),
            1,
            "only the newest rotation's record is left"
        );
        let stored = t
            .storage
            .0
            .borrow()
            .values()
            .any(|v| v.contains("sealed rt-1"));
        assert!(!stored, "the expired record was swept");
    }

    #[test]
    fn the_window_is_whole_milliseconds_up_to_ten_seconds() {
        assert_eq!(parse_window_ms("2000"), Some(2000));
        assert_eq!(parse_window_ms("0"), Some(0));
        assert_eq!(parse_window_ms("10000"), Some(MAX_WINDOW_MS));
        for bad in ["10001", "-1", "2s", "", "1.5"] {
            assert_eq!(parse_window_ms(bad), None, "{bad}");
        }
    }
}
