//! The access-token deny-list, shaped so that no stored value grows with the number of
//! revocations and an isolate never re-downloads what it already holds.
//!
//! Three kinds of denial share one small published *head* (`config:denylist`):
//!
//! - **revoked tokens** by `jti`: the newest (fewer than [`PAGE_SIZE`]) sit in the head;
//!   every [`PAGE_SIZE`] revocations are sealed into an immutable *page*
//!   (`denylist:page:<n>`) that the head only counts (`first_page..next_page`). An isolate
//!   re-reads the bounded head every few seconds and fetches each page once, so 100,000
//!   revocations cost it 100 page reads over its life, not a growing list per refresh;
//! - **clients** (disabled or deleted): every token of the client issued before its
//!   `not_before` is denied;
//! - **signing keys** revoked outright: every token signed by the key is denied.
//!
//! Every entry and rule carries the time after which it can go (the last token it could
//! deny has expired), and the authority sweeps them, whole pages at a time, in order. The
//! pure rules live here; the authority stores and publishes them (`authority/denials.rs`)
//! and the isolate keeps a [`DenyView`] (see `Context::is_denied`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::lifetimes::MAX_ACCESS_TOKEN_TTL;
use crate::tokens::Verified;

/// KV and storage key of the head.
pub const HEAD_KEY: &str = "config:denylist";
/// Revocations per sealed page.
pub const PAGE_SIZE: usize = 1000;
/// Added to a client or key rule's life past its tokens' own: the isolate client cache and
/// KV propagation (a stale isolate may issue for a client a little after it is gone) plus
/// the largest verification leeway.
pub const RULE_MARGIN_SECS: u64 = 600;

/// The KV and storage key of sealed page `n`.
pub fn page_key(n: u64) -> String {
    format!("denylist:page:{n}")
}

/// Which tokens of one client are denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCutoff {
    /// Tokens issued (`iat`) before this time are denied; `u64::MAX` while the client is
    /// disabled or deleted.
    pub not_before: u64,
    /// When the rule can go (`u64::MAX` while the client is disabled).
    pub until: u64,
}

/// The published head: small, bounded by [`PAGE_SIZE`] and the number of clients and keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyHead {
    /// The oldest page still kept.
    #[serde(default)]
    pub first_page: u64,
    /// The number the next sealed page gets.
    #[serde(default)]
    pub next_page: u64,
    /// When every token of `first_page` has expired.
    #[serde(default)]
    pub first_expires: u64,
    /// Revoked `jti`s not sealed yet, each with the time it can go. (`entries` is the name
    /// the single-list deny-list used, read here so an upgrade loses no revocation.)
    #[serde(default, alias = "entries")]
    pub recent: BTreeMap<String, u64>,
    #[serde(default)]
    pub clients: BTreeMap<String, ClientCutoff>,
    /// Revoked signing keys by `kid`, each with the time its rule can go.
    #[serde(default)]
    pub keys: BTreeMap<String, u64>,
}

/// A sealed page: [`PAGE_SIZE`] revocations that never change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyPage {
    /// When every token on the page has expired.
    pub expires: u64,
    pub entries: BTreeMap<String, u64>,
}

impl DenyHead {
    /// Adds a revoked token; `false` if it is already expired.
    pub fn add(&mut self, jti: &str, until: u64, now: u64) -> bool {
        if until <= now {
            return false;
        }
        self.recent.insert(jti.to_owned(), until);
        true
    }

    /// Seals the oldest [`PAGE_SIZE`] recent entries into the next page once there are that
    /// many; answers the page's number and contents.
    pub fn seal(&mut self) -> Option<(u64, DenyPage)> {
        if self.recent.len() < PAGE_SIZE {
            return None;
        }
        let mut entries = BTreeMap::new();
        while entries.len() < PAGE_SIZE {
            let (jti, until) = self.recent.pop_first()?;
            entries.insert(jti, until);
        }
        let page = DenyPage {
            expires: entries.values().copied().max().unwrap_or_default(),
            entries,
        };
        let n = self.next_page;
        if self.first_page == n {
            self.first_expires = page.expires;
        }
        self.next_page += 1;
        Some((n, page))
    }

    /// Drops expired recent entries and rules; answers the dropped `jti`s.
    pub fn prune(&mut self, now: u64) -> Vec<String> {
        let gone: Vec<String> = self
            .recent
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(jti, _)| jti.clone())
            .collect();
        for jti in &gone {
            self.recent.remove(jti);
        }
        self.clients.retain(|_, c| c.until > now);
        self.keys.retain(|_, until| *until > now);
        gone
    }

    /// Whether the oldest page has expired (and can be dropped with [`Self::drop_first`]).
    pub fn first_page_expired(&self, now: u64) -> bool {
        self.first_page < self.next_page && self.first_expires <= now
    }

    /// Drops the oldest page; `next_expires` is the following page's `expires` (if any).
    pub fn drop_first(&mut self, next_expires: Option<u64>) {
        self.first_page += 1;
        self.first_expires = next_expires.unwrap_or_default();
    }

    /// A client was disabled or deleted: all its tokens are denied; `ttl` is its access-token
    /// lifetime (`None` while disabled: the rule stays until it is enabled again).
    pub fn deny_client(&mut self, client_id: &str, now: u64, ttl: Option<u64>) {
        self.clients.insert(
            client_id.to_owned(),
            ClientCutoff {
                not_before: u64::MAX,
                until: ttl.map_or(u64::MAX, |ttl| now + ttl + RULE_MARGIN_SECS),
            },
        );
    }

    /// A disabled client was enabled again: tokens issued up to this second stay denied until
    /// the last of them has expired (`iat` counts whole seconds, so one issued in this second
    /// may predate the change; it is denied too).
    pub fn enable_client(&mut self, client_id: &str, now: u64, ttl: u64) {
        if let Some(rule) = self.clients.get_mut(client_id) {
            *rule = ClientCutoff {
                not_before: now + 1,
                until: now + 1 + ttl + RULE_MARGIN_SECS,
            };
        }
    }

    /// A signing key was revoked: every token it signed is denied until the last has expired.
    pub fn deny_key(&mut self, kid: &str, now: u64) {
        self.keys.insert(
            kid.to_owned(),
            now + MAX_ACCESS_TOKEN_TTL + RULE_MARGIN_SECS,
        );
    }

    /// Whether the head's own rules and recent entries deny `token`.
    fn denies(&self, token: &Verified) -> bool {
        self.recent.contains_key(&token.claims.jti)
            || self.keys.contains_key(&token.kid)
            || self
                .clients
                .get(&token.claims.client_id)
                .is_some_and(|c| token.iat < c.not_before)
    }
}

/// An isolate's copy: the latest head and every sealed page it has fetched.
#[derive(Debug, Default)]
pub struct DenyView {
    head: DenyHead,
    sealed: HashMap<Box<str>, u64>,
    loaded: BTreeSet<u64>,
}

impl DenyView {
    /// The pages of `head` this view has not fetched yet.
    pub fn missing_pages(&self, head: &DenyHead) -> Vec<u64> {
        (head.first_page..head.next_page)
            .filter(|n| !self.loaded.contains(n))
            .collect()
    }

    /// Installs a newer head and the pages fetched for it (a page KV does not have yet is
    /// fetched on a later refresh; the old head's recent entries are kept meanwhile, so a
    /// revocation never disappears between its page being sealed and being read).
    pub fn install(&mut self, head: DenyHead, pages: Vec<(u64, DenyPage)>, now: u64) {
        let old = std::mem::replace(&mut self.head, head);
        for (jti, until) in old.recent {
            if !self.head.recent.contains_key(&jti) && until > now {
                self.sealed.insert(jti.into(), until);
            }
        }
        for (n, page) in pages {
            self.loaded.insert(n);
            self.sealed
                .extend(page.entries.into_iter().map(|(j, u)| (j.into(), u)));
        }
        let first = self.head.first_page;
        if self.loaded.first().is_some_and(|n| *n < first) {
            self.loaded.retain(|n| *n >= first);
            self.sealed.retain(|_, until| *until > now);
        }
    }

    /// Whether `token` is revoked, by `jti`, client or signing key.
    pub fn denies(&self, token: &Verified) -> bool {
        self.head.denies(token) || self.sealed.contains_key(token.claims.jti.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{AccessClaims, Audience};

    fn token(jti: &str, client: &str, kid: &str, iat: u64) -> Verified {
        Verified {
            claims: AccessClaims {
                iss: "https://issuer".into(),
                sub: "u".into(),
                aud: Audience::One("https://issuer".into()),
                jti: jti.into(),
                client_id: client.into(),
                scope: String::new(),
                extra: serde_json::Map::new(),
                cnf: None,
            },
            iat,
            exp: iat + 3600,
            nbf: None,
            kid: kid.into(),
            key_retired_at: None,
        }
    }

    fn revoke_many(head: &mut DenyHead, n: usize, now: u64) -> Vec<(u64, DenyPage)> {
        let mut pages = Vec::new();
        for i in 0..n {
            head.add(&format!("jti-{i}"), now + 3600, now);
            pages.extend(head.seal());
        }
        pages
    }

    #[test]
    fn the_head_stays_bounded_however_many_tokens_are_revoked() {
        let mut head = DenyHead::default();
        let pages = revoke_many(&mut head, 100_000, 1000);
        assert!(head.recent.len() < PAGE_SIZE);
        assert_eq!(pages.len(), 100);
        assert_eq!((head.first_page, head.next_page), (0, 100));
        assert!(serde_json::to_string(&head).unwrap().len() < 64 * 1024);
        let mut view = DenyView::default();
        assert_eq!(view.missing_pages(&head).len(), 100);
        view.install(head.clone(), pages, 1000);
        assert!(
            view.missing_pages(&head).is_empty(),
            "each page is fetched once"
        );
        assert!(view.denies(&token("jti-0", "c", "k", 1000)));
        assert!(view.denies(&token("jti-99999", "c", "k", 1000)));
        assert!(!view.denies(&token("jti-100000", "c", "k", 1000)));
    }

    #[test]
    fn a_revocation_sealed_into_an_unread_page_stays_denied() {
        let mut head = DenyHead::default();
        let mut view = DenyView::default();
        head.add("early", 5000, 1000);
        view.install(head.clone(), Vec::new(), 1000);
        revoke_many(&mut head, PAGE_SIZE, 1000);
        // KV has not got the page yet.
        view.install(head.clone(), Vec::new(), 1000);
        assert!(view.denies(&token("early", "c", "k", 1000)));
    }

    #[test]
    fn expired_pages_go_in_order_and_leave_the_isolate() {
        let mut head = DenyHead::default();
        let pages = revoke_many(&mut head, PAGE_SIZE, 1000);
        let mut view = DenyView::default();
        view.install(head.clone(), pages, 1000);
        assert!(!head.first_page_expired(4599));
        assert!(head.first_page_expired(4600));
        head.drop_first(None);
        assert!(!head.first_page_expired(10_000));
        view.install(head.clone(), Vec::new(), 4600);
        assert!(!view.denies(&token("jti-0", "c", "k", 1000)));
    }

    #[test]
    fn a_disabled_client_loses_every_token_until_enabled_and_old_ones_for_good() {
        let mut head = DenyHead::default();
        head.deny_client("c", 1000, None);
        let mut view = DenyView::default();
        view.install(head.clone(), Vec::new(), 1000);
        assert!(view.denies(&token("a", "c", "k", 900)));
        assert!(
            view.denies(&token("b", "c", "k", 1100)),
            "issued by a stale isolate"
        );
        assert!(!view.denies(&token("a", "other", "k", 900)));
        head.enable_client("c", 2000, 3600);
        view.install(head.clone(), Vec::new(), 2000);
        assert!(view.denies(&token("a", "c", "k", 2000)));
        assert!(!view.denies(&token("a", "c", "k", 2001)));
        head.prune(2001 + 3600 + RULE_MARGIN_SECS);
        assert!(head.clients.is_empty());
    }

    #[test]
    fn a_revoked_key_denies_every_token_it_signed() {
        let mut head = DenyHead::default();
        head.deny_key("k1", 1000);
        let mut view = DenyView::default();
        view.install(head.clone(), Vec::new(), 1000);
        assert!(view.denies(&token("a", "c", "k1", 900)));
        assert!(!view.denies(&token("a", "c", "k2", 900)));
    }

    #[test]
    fn the_single_list_format_is_read_as_recent_entries() {
        let head: DenyHead = serde_json::from_str(r#"{"entries":{"old":5000}}"#).unwrap();
        assert_eq!(head.recent.get("old"), Some(&5000));
    }
}
