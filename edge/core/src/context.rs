//! The per-request context: the deployment's [`Settings`], and [`Context`], which bundles the
//! ports with the isolate caches and offers the cached reads every service shares (clients,
//! keys, scopes, the deny-list), the way to the authority, and the request's log.

use crate::api::{RegistrationPolicy, RouteTable, Scope};
use crate::authority::{
    client_key, Authority, Command, Envelope, Reply, KEYS_KEY, REGISTRATION_KEY, SCOPES_KEY,
};
use crate::cache::{Caches, Slot, KEYS_TTL_MS, SCOPES_TTL_MS};
use crate::clients::{client_expired, ClientRecord};
use crate::crypto::Secrets;
use crate::denylist::{page_key, DenyHead, DenyPage, HEAD_KEY};
use crate::gateway::routes::{RouteIndex, CONFIG_TTL_MS, ROUTES_KEY};
use crate::grants::GrantStore;
use crate::http::Request;
use crate::keys::{KeySet, KeysInUse};
use crate::ports::{Clock, Failure, Kv, LogEvent, Rng, StoreError};
use crate::tokens::{Verified, DEFAULT_LEEWAY};
use std::rc::Rc;

/// Deployment settings from the worker's plain vars.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ISSUER`; when absent, the request's origin.
    pub issuer: Option<String>,
    /// Clock leeway for token verification, seconds.
    pub leeway: u64,
    /// `ORIGIN_URL`: where gateway routes without their own `origin` forward to.
    pub origin_url: Option<String>,
    /// Least seconds between two JWKS fetches of one trusted issuer.
    pub jwks_cooldown_secs: u64,
    /// `SIGNING_ALG`: the algorithm of the first key set (`EdDSA` or `ES256`).
    pub signing_alg: crate::api::KeyAlg,
    /// `UPSTREAM_LOGIN_URL`: when set, sign-ins are checked by the origin's login endpoint
    /// instead of the user store.
    pub upstream_login_url: Option<String>,
    /// `UPSTREAM_SESSION_SECONDS`: the whole life of a session signed in through the origin's
    /// login endpoint (at most [`crate::lifetimes::SESSION_TTL`]); then the person signs in again
    /// there, which checks them anew.
    pub upstream_session_secs: u64,
    /// `AUDIT_RETENTION_DAYS`, in seconds: how long the authority keeps audit entries.
    pub audit_retention_secs: u64,
    /// `REFRESH_RETRY_WINDOW_MS`: how long a retried refresh gets the same refresh token.
    pub refresh_retry_window_ms: u64,
    /// `DPOP_NONCE` (`on` by default): whether the token endpoint requires DPoP server nonces
    /// (RFC 9449 §8).
    pub dpop_nonce: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: None,
            leeway: DEFAULT_LEEWAY,
            origin_url: None,
            jwks_cooldown_secs: crate::gateway::issuers::DEFAULT_JWKS_COOLDOWN_SECS,
            signing_alg: crate::api::KeyAlg::default(),
            upstream_login_url: None,
            upstream_session_secs: crate::lifetimes::UPSTREAM_SESSION_TTL,
            audit_retention_secs: crate::authority::DEFAULT_AUDIT_RETENTION_SECS,
            refresh_retry_window_ms: crate::grants::DEFAULT_RETRY_WINDOW_MS,
            dpop_nonce: true,
        }
    }
}

/// Everything a handler can reach.
pub struct Context<'a> {
    pub kv: &'a dyn Kv,
    pub authority: &'a dyn Authority,
    pub grants: &'a dyn GrantStore,
    pub clock: &'a dyn Clock,
    pub rng: &'a dyn Rng,
    /// ES256 through the runtime's WebCrypto.
    pub signatures: &'a dyn crate::ports::Signatures,
    /// Rate limits (the runtime's rate-limit binding).
    pub limits: &'a dyn crate::ports::RateLimiter,
    /// Outgoing HTTP (trusted issuers' JWKS).
    pub http: &'a dyn crate::ports::HttpClient,
    pub secrets: &'a Secrets,
    pub caches: &'a Caches,
    pub settings: &'a Settings,
    /// Where the request's line and its swallowed failures go.
    pub log: &'a dyn crate::ports::Log,
    pub request_id: String,
    /// Who the request comes from, read once from its head.
    pub caller: Caller,
}

/// What the services need of a request's head, read once by whoever builds the [`Context`]:
/// the issuer identifier it is served under and the caller's network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// `ISSUER`, or the request's origin.
    pub issuer: String,
    /// The caller's address, an IPv6 caller's /64 ([`Request::client_network`]).
    pub network: Option<String>,
}

impl Caller {
    /// The caller of `req`, under `settings`.
    pub fn of(settings: &Settings, req: &Request) -> Self {
        Self {
            issuer: settings
                .issuer
                .clone()
                .unwrap_or_else(|| req.origin.clone()),
            network: req.client_network(),
        }
    }
}

impl Context<'_> {
    /// Logs a failure the request goes on without (a best-effort write, a cleanup).
    pub fn report(&self, failure: impl Into<Failure>) {
        self.log
            .event(&LogEvent::failure(&self.request_id, failure.into()));
    }

    /// Logs `result`'s failure, if any, as a failure of `step`; answers the value otherwise.
    pub fn logged<T, E: Into<Failure>>(&self, step: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.report(e.into().during(step))).ok()
    }

    /// Logs the line that ends a request on `route`, begun at `started_ms`.
    pub fn log_request(
        &self,
        route: &str,
        status: u16,
        failure: Option<&Failure>,
        started_ms: u64,
    ) {
        let duration = self.clock.now_ms().saturating_sub(started_ms);
        self.log.event(&LogEvent::request(
            &self.request_id,
            route,
            status,
            duration,
            failure.cloned(),
        ));
    }

    pub(crate) async fn kv_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        crate::ports::parse_record(key, self.kv.get(key).await?)
    }

    /// The JSON document at KV `key` (its default when absent), kept in `slot` for `ttl_ms`.
    pub(crate) async fn cached_json<T: serde::de::DeserializeOwned + Default>(
        &self,
        slot: &Slot<T>,
        key: &str,
        ttl_ms: u64,
    ) -> Result<Rc<T>, StoreError> {
        let now = self.clock.now_ms();
        if let Some(hit) = slot.get(now) {
            return Ok(hit);
        }
        let value = Rc::new(self.kv_json(key).await?.unwrap_or_default());
        slot.set(now, ttl_ms, Rc::clone(&value));
        Ok(value)
    }

    /// A client by id, from the isolate cache or KV. A client that registered itself and went
    /// unused for the policy's `client_ttl` is gone already ([`client_expired`]), before the
    /// Cron Trigger's sweep deletes it.
    pub async fn client(&self, id: &str) -> Result<Option<Rc<ClientRecord>>, StoreError> {
        let now = self.clock.now_ms();
        let record = if let Some(hit) = self.caches.client(id, now) {
            hit
        } else {
            let record = self
                .kv_json::<ClientRecord>(&client_key(id))
                .await?
                .map(Rc::new);
            self.caches.set_client(id, now, record.clone());
            record
        };
        match record {
            Some(r) if r.client.registration.is_some() => {
                let ttl = self.registration_policy().await?.client_ttl;
                Ok((!client_expired(&r.client, ttl, now / 1000)).then_some(r))
            }
            other => Ok(other),
        }
    }

    /// Notes a use of a client that registered itself, at most once a day: what keeps it from
    /// expiring. Best effort: a failure is logged, not answered.
    pub async fn note_use(&self, client: &ClientRecord) {
        let now = self.clock.now();
        let c = &client.client;
        if c.registration.is_none() || c.last_used_at.is_some_and(|t| now < t + 86_400) {
            return;
        }
        let touch = Command::TouchClient {
            client_id: c.client_id.clone(),
            at: now,
        };
        let done = self.command("system", touch).await;
        self.logged("noting a client's use", done);
        self.caches.forget_client(&c.client_id);
    }

    /// The signing and verifying keys; the first call on a new deployment has the authority
    /// generate them.
    pub async fn keys(&self) -> Result<Rc<KeysInUse>, StoreError> {
        let now = self.clock.now_ms();
        if let Some(hit) = self.caches.keys.get(now) {
            return Ok(hit);
        }
        let set = match self.kv_json::<KeySet>(KEYS_KEY).await? {
            Some(set) if set.has_id_family() => set,
            _ => match self
                .command(
                    "system",
                    Command::EnsureKeys {
                        alg: self.settings.signing_alg,
                    },
                )
                .await?
            {
                Reply::Keys(set) => set,
                other => return Err(StoreError(format!("unexpected reply {other:?}"))),
            },
        };
        self.install_keys(&set)
    }

    /// Loads `set` into the cache (reusing the loaded keys when the version is unchanged).
    pub fn install_keys(&self, set: &KeySet) -> Result<Rc<KeysInUse>, StoreError> {
        let now = self.clock.now_ms();
        if let Some(old) = self.caches.keys.get_stale() {
            if old.version == set.version {
                self.caches.keys.extend(now, KEYS_TTL_MS);
                return Ok(old);
            }
        }
        let loaded = set
            .load(self.secrets, now / 1000)
            .map_err(|e| StoreError(e.to_string()))?;
        let entry = Rc::new(KeysInUse {
            version: set.version,
            loaded,
        });
        self.caches.keys.set(now, KEYS_TTL_MS, Rc::clone(&entry));
        Ok(entry)
    }

    /// The scope catalogue.
    pub async fn scopes(&self) -> Result<Rc<Vec<Scope>>, StoreError> {
        self.cached_json(&self.caches.scopes, SCOPES_KEY, SCOPES_TTL_MS)
            .await
    }

    /// The compiled route table, from the isolate cache or KV.
    pub async fn route_index(&self) -> Result<Rc<RouteIndex>, StoreError> {
        if let Some(hit) = self.caches.gateway.routes.get(self.clock.now_ms()) {
            return Ok(hit);
        }
        let table: RouteTable = self.kv_json(ROUTES_KEY).await?.unwrap_or_default();
        Ok(self.install_routes(&table))
    }

    /// Caches `table`, compiling it unless the cached index already has its version.
    pub fn install_routes(&self, table: &RouteTable) -> Rc<RouteIndex> {
        let slot = &self.caches.gateway.routes;
        let now = self.clock.now_ms();
        if let Some(old) = slot.get_stale().filter(|old| old.version == table.version) {
            slot.extend(now, CONFIG_TTL_MS);
            return old;
        }
        let index = Rc::new(RouteIndex::compile(
            table.version,
            &table.routes,
            table.case_sensitive,
        ));
        slot.set(now, CONFIG_TTL_MS, Rc::clone(&index));
        index
    }

    /// The policy for clients nobody registered in advance, from the isolate cache or KV.
    pub async fn registration_policy(&self) -> Result<Rc<RegistrationPolicy>, StoreError> {
        self.cached_json(&self.caches.registration, REGISTRATION_KEY, CONFIG_TTL_MS)
            .await
    }

    /// Whether `token` is revoked (by `jti`, client or signing key), from the isolate's copy
    /// of the deny-list, whose head is re-read from KV once it is older than
    /// [`crate::cache::DENYLIST_TTL_MS`].
    pub async fn is_denied(&self, token: &Verified) -> Result<bool, StoreError> {
        if !self.caches.denylist_fresh(self.clock.now_ms()) {
            let head = self.kv_json(HEAD_KEY).await?.unwrap_or_default();
            self.install_denylist(head).await?;
        }
        Ok(self.caches.denies(token))
    }

    /// Installs a deny-list head (read from KV or answered by the authority), fetching the
    /// sealed pages this isolate has not read yet; each page is read once in its life.
    pub async fn install_denylist(&self, head: DenyHead) -> Result<(), StoreError> {
        let mut pages = Vec::new();
        for n in self.caches.missing_pages(&head) {
            if let Some(page) = self.kv_json::<DenyPage>(&page_key(n)).await? {
                pages.push((n, page));
            }
        }
        self.caches
            .install_denylist(head, pages, self.clock.now_ms());
        Ok(())
    }

    /// Sends a command to the authority on behalf of `actor`.
    pub async fn command(&self, actor: &str, command: Command) -> Result<Reply, StoreError> {
        let envelope = Envelope {
            actor: actor.to_owned(),
            request_id: self.request_id.clone(),
            command,
        };
        self.authority.call(&envelope).await
    }
}
