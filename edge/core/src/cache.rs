//! Isolate-local caches of read-mostly configuration, each entry alive for a short, bounded time.
//!
//! A Workers isolate serves many requests; keeping clients, keys and the deny-list in memory
//! lets the token endpoint and the verifier answer without touching KV in the steady state.
//! Staleness is bounded by the TTLs below (plus KV's own propagation delay across locations).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::api::{IssuerTable, RegistrationPolicy, Scope};
use crate::clients::ClientRecord;
use crate::denylist::{DenyHead, DenyPage, DenyView};
use crate::gateway::issuers::JwksCache;
use crate::gateway::routes::RouteIndex;
use crate::keys::KeysInUse;
use crate::tokens::Verified;

/// How long a client record is trusted, in milliseconds.
pub const CLIENT_TTL_MS: u64 = 30_000;
/// How long the key set is trusted.
pub const KEYS_TTL_MS: u64 = 60_000;
/// How long the scope catalogue is trusted.
pub const SCOPES_TTL_MS: u64 = 60_000;
/// How long the deny-list's head is trusted: the longest a revocation takes to reach another
/// isolate once KV has it.
pub const DENYLIST_TTL_MS: u64 = 5_000;
/// Most client records kept at once; beyond this the map is cleared.
const MAX_CLIENTS: usize = 50_000;
/// Most verified tokens kept at once; beyond this the map is cleared.
const MAX_VERIFIED: usize = 20_000;

/// One cached value with its expiry.
pub struct Slot<T> {
    inner: RefCell<Option<(u64, Rc<T>)>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            inner: RefCell::new(None),
        }
    }
}

impl<T> Slot<T> {
    /// The value, if still fresh at `now_ms`.
    pub fn get(&self, now_ms: u64) -> Option<Rc<T>> {
        match &*self.inner.borrow() {
            Some((exp, v)) if *exp > now_ms => Some(Rc::clone(v)),
            _ => None,
        }
    }

    /// The value, fresh or not.
    pub fn get_stale(&self) -> Option<Rc<T>> {
        self.inner.borrow().as_ref().map(|(_, v)| Rc::clone(v))
    }

    /// Stores `value` until `now_ms + ttl_ms`.
    pub fn set(&self, now_ms: u64, ttl_ms: u64, value: Rc<T>) {
        *self.inner.borrow_mut() = Some((now_ms + ttl_ms, value));
    }

    /// Marks the value stale so the next read goes to storage.
    pub fn invalidate(&self) {
        if let Some((exp, _)) = &mut *self.inner.borrow_mut() {
            *exp = 0;
        }
    }

    /// Keeps the current value for another `ttl_ms`.
    pub fn extend(&self, now_ms: u64, ttl_ms: u64) {
        if let Some((exp, _)) = &mut *self.inner.borrow_mut() {
            *exp = now_ms + ttl_ms;
        }
    }
}

/// A cached client lookup: expiry and the record (`None` = no such client).
type ClientEntry = (u64, Option<Rc<ClientRecord>>);

/// A token whose signature verified, with the key-set version that verified it.
type VerifiedEntry = (u64, Rc<Verified>);

/// Everything an isolate caches.
#[derive(Default)]
pub struct Caches {
    clients: RefCell<HashMap<String, ClientEntry>>,
    /// The key set's version with the loaded keys.
    pub keys: Slot<KeysInUse>,
    pub scopes: Slot<Vec<Scope>>,
    /// The deny-list: the latest head and every sealed page read so far.
    denylist: RefCell<DenyView>,
    /// Until when (ms) the deny-list's head is fresh.
    denylist_fresh_until: Cell<u64>,
    pub gateway: crate::cache::GatewayCaches,
    /// The policy for clients nobody registered in advance.
    pub registration: Slot<RegistrationPolicy>,
    /// Tokens whose signature already verified, by token, with the key-set version that
    /// verified them; claims are still checked on every use.
    verified: RefCell<HashMap<Box<str>, VerifiedEntry>>,
    /// Client ID metadata documents fetched, by URL: until when (ms) the fetch stands and
    /// whether it gave a client (see `client_document`).
    documents: RefCell<HashMap<String, (u64, bool)>>,
    /// When a tripped rate limit was last audited, by key (at most once a minute each); also
    /// what refuses a public client's grants once its budget is spent
    /// (`ratelimit::tripped_recently`).
    pub rate_audits: RefCell<HashMap<String, u64>>,
}

impl Caches {
    /// A cached client lookup (`Some(None)` caches "no such client").
    pub fn client(&self, id: &str, now_ms: u64) -> Option<Option<Rc<ClientRecord>>> {
        match self.clients.borrow().get(id) {
            Some((exp, v)) if *exp > now_ms => Some(v.clone()),
            _ => None,
        }
    }

    /// Caches a client lookup.
    pub fn set_client(&self, id: &str, now_ms: u64, value: Option<Rc<ClientRecord>>) {
        let mut map = self.clients.borrow_mut();
        if map.len() >= MAX_CLIENTS {
            map.clear();
        }
        map.insert(id.to_owned(), (now_ms + CLIENT_TTL_MS, value));
    }

    /// Drops a client so the next lookup reads KV (after an admin change in this isolate).
    pub fn forget_client(&self, id: &str) {
        self.clients.borrow_mut().remove(id);
    }

    /// Whether a metadata document fetched for `url` still stands at `now_ms`, and whether it
    /// gave a client.
    pub fn document(&self, url: &str, now_ms: u64) -> Option<bool> {
        match self.documents.borrow().get(url) {
            Some((exp, ok)) if *exp > now_ms => Some(*ok),
            _ => None,
        }
    }

    /// Remembers a fetch of the document at `url` until `until_ms`.
    pub fn set_document(&self, url: &str, until_ms: u64, ok: bool) {
        let mut map = self.documents.borrow_mut();
        if map.len() >= MAX_CLIENTS {
            map.clear();
        }
        map.insert(url.to_owned(), (until_ms, ok));
    }

    /// Whether the deny-list's head is still fresh at `now_ms`.
    pub fn denylist_fresh(&self, now_ms: u64) -> bool {
        self.denylist_fresh_until.get() > now_ms
    }

    /// Marks the deny-list's head stale so the next verification reads it (after an admin
    /// change in this isolate).
    pub fn expire_denylist(&self) {
        self.denylist_fresh_until.set(0);
    }

    /// The sealed pages of `head` not read yet.
    pub fn missing_pages(&self, head: &DenyHead) -> Vec<u64> {
        self.denylist.borrow().missing_pages(head)
    }

    /// Installs a deny-list head with the pages read for it; fresh for [`DENYLIST_TTL_MS`].
    pub fn install_denylist(&self, head: DenyHead, pages: Vec<(u64, DenyPage)>, now_ms: u64) {
        self.denylist
            .borrow_mut()
            .install(head, pages, now_ms / 1000);
        self.denylist_fresh_until.set(now_ms + DENYLIST_TTL_MS);
    }

    /// Whether the deny-list denies `token`.
    pub fn denies(&self, token: &Verified) -> bool {
        self.denylist.borrow().denies(token)
    }

    /// A token whose signature verified under key-set `version`.
    pub fn verified(&self, token: &str, version: u64) -> Option<Rc<Verified>> {
        match self.verified.borrow().get(token) {
            Some((v, hit)) if *v == version => Some(Rc::clone(hit)),
            _ => None,
        }
    }

    /// Remembers a token whose signature verified.
    pub fn set_verified(&self, token: &str, version: u64, value: Rc<Verified>) {
        let mut map = self.verified.borrow_mut();
        if map.len() >= MAX_VERIFIED {
            map.clear();
        }
        map.insert(token.into(), (version, value));
    }
}

/// The gateway's isolate caches.
#[derive(Default)]
pub struct GatewayCaches {
    /// The compiled route table.
    pub routes: Slot<RouteIndex>,
    pub issuers: Slot<IssuerTable>,
    pub jwks: JwksCache,
}
