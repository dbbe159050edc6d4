//! The core's ports on Workers bindings, and the per-isolate state (secrets, settings, caches).

use std::cell::OnceCell;
use std::rc::Rc;

use async_trait::async_trait;
use portcullis_core::authority::{Authority, Envelope, Reply};
use portcullis_core::cache::Caches;
use portcullis_core::crypto::Secrets;
use portcullis_core::grants::{GrantCommand, GrantReply, GrantStore};
use portcullis_core::ports::{Clock, DurableStorage, Kv, Limit, RateLimiter, Rng, StoreError};
use portcullis_core::Settings;
use worker::durable::ListOptions;
use worker::kv::KvStore;
use worker::{Env, ObjectNamespace, Storage};

/// The KV namespace binding.
pub const KV_BINDING: &str = "PORTCULLIS_KV";
/// The authority Durable Object binding.
pub const AUTHORITY_BINDING: &str = "AUTHORITY";

/// What an isolate keeps between requests.
pub struct Isolate {
    pub secrets: Secrets,
    pub settings: Settings,
    pub caches: Caches,
}

thread_local! {
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// The isolate's state, built from the worker's secrets and vars on first use.
pub fn isolate(env: &Env) -> Result<Rc<Isolate>, String> {
    if let Some(hit) = ISOLATE.with(|cell| cell.get().cloned()) {
        return Ok(hit);
    }
    let admin = env
        .secret("ADMIN_TOKEN")
        .map_err(|_| "secret ADMIN_TOKEN is not set".to_owned())?
        .to_string();
    let kek = env
        .secret("KEY_ENCRYPTION_KEY")
        .map_err(|_| "secret KEY_ENCRYPTION_KEY is not set".to_owned())?
        .to_string();
    let secrets = Secrets::new(&admin, &kek).map_err(|e| e.to_string())?;
    let var = |name: &str| {
        env.var(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let mut settings = Settings {
        issuer: var("ISSUER"),
        ..Settings::default()
    };
    if let Some(leeway) = var("LEEWAY_SECONDS").and_then(|v| v.parse().ok()) {
        settings.leeway = leeway;
    }
    settings.origin_url = var("ORIGIN_URL").map(|v| v.trim_end_matches('/').to_owned());
    settings.upstream_login_url = var("UPSTREAM_LOGIN_URL");
    if let Some(secs) = var("UPSTREAM_SESSION_SECONDS") {
        settings.upstream_session_secs = secs
            .parse()
            .ok()
            .filter(|s| (1..=portcullis_core::lifetimes::SESSION_TTL).contains(s))
            .ok_or_else(|| {
                format!(
                    "UPSTREAM_SESSION_SECONDS must be 1 to {} seconds, not {secs}",
                    portcullis_core::lifetimes::SESSION_TTL
                )
            })?;
    }
    if let Some(secs) = var("JWKS_COOLDOWN_SECONDS").and_then(|v| v.parse().ok()) {
        settings.jwks_cooldown_secs = secs;
    }
    if let Some(days) = var("AUDIT_RETENTION_DAYS") {
        settings.audit_retention_secs = portcullis_core::authority::parse_retention_days(&days)
            .ok_or_else(|| {
                format!("AUDIT_RETENTION_DAYS must be a number of days above 0, not {days}")
            })?;
    }
    if let Some(ms) = var("REFRESH_RETRY_WINDOW_MS") {
        settings.refresh_retry_window_ms = portcullis_core::grants::parse_window_ms(&ms)
            .ok_or_else(|| {
                format!(
                    "REFRESH_RETRY_WINDOW_MS must be whole milliseconds from 0 to {}, not {ms}",
                    portcullis_core::grants::MAX_RETRY_WINDOW_MS
                )
            })?;
    }
    if let Some(nonce) = var("DPOP_NONCE") {
        settings.dpop_nonce = match nonce.as_str() {
            "on" => true,
            "off" => false,
            _ => return Err(format!("DPOP_NONCE must be on or off, not {nonce}")),
        };
    }
    if let Some(alg) = var("SIGNING_ALG") {
        settings.signing_alg = portcullis_core::api::KeyAlg::parse(&alg)
            .filter(|a| a.signs_access_tokens())
            .ok_or_else(|| format!("SIGNING_ALG must be EdDSA or ES256, not {alg}"))?;
    }
    let built = Rc::new(Isolate {
        secrets,
        settings,
        caches: Caches::default(),
    });
    ISOLATE.with(|cell| {
        let _ = cell.set(Rc::clone(&built));
    });
    Ok(built)
}

/// `Date.now()`.
pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> u64 {
        // Milliseconds since 1970 fit an f64 exactly.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = js_sys::Date::now() as u64;
        ms
    }
}

/// `crypto.getRandomValues` (through `getrandom`'s `js` backend).
pub struct JsRng;

impl Rng for JsRng {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::getrandom(buf).expect("the runtime's random source is available");
    }
}

fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// Workers KV.
pub struct KvPort(pub KvStore);

#[async_trait(?Send)]
impl Kv for KvPort {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get(key).text().await.map_err(store_err)
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError> {
        let mut put = self.0.put(key, value).map_err(store_err)?;
        if let Some(ttl) = ttl_secs {
            put = put.expiration_ttl(ttl.max(60));
        }
        put.execute().await.map_err(store_err)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(store_err)
    }
}

/// Durable Object storage.
pub struct StoragePort(pub Storage);

#[async_trait(?Send)]
impl DurableStorage for StoragePort {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.0.get::<String>(key).await.map_err(store_err)
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.0.put(key, value).await.map_err(store_err)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map(|_| ()).map_err(store_err)
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, String)>, StoreError> {
        // `start` is inclusive and `end` exclusive: ask for one more and drop the cursor itself.
        let mut opts = ListOptions::new()
            .prefix(prefix)
            .reverse(reverse)
            .limit(limit + 1);
        if let Some(c) = cursor {
            opts = if reverse { opts.end(c) } else { opts.start(c) };
        }
        let map = self.0.list_with_options(opts).await.map_err(store_err)?;
        let mut out = Vec::with_capacity(limit);
        for entry in map.entries() {
            let pair: js_sys::Array = entry.map_err(|e| store_err(format!("{e:?}")))?.into();
            let key = pair.get(0).as_string().unwrap_or_default();
            if Some(key.as_str()) == cursor || out.len() == limit {
                continue;
            }
            let value = pair.get(1).as_string().unwrap_or_default();
            out.push((key, value));
        }
        Ok(out)
    }
}

/// The grant Durable Objects, one per shard, reached by name.
pub struct GrantPort(pub ObjectNamespace);

/// The grant Durable Object binding.
pub const GRANTS_BINDING: &str = "GRANTS";

#[async_trait(?Send)]
impl GrantStore for GrantPort {
    async fn call(&self, shard: u32, command: &GrantCommand) -> Result<GrantReply, StoreError> {
        let stub = self
            .0
            .id_from_name(&format!("grants-{shard}"))
            .and_then(|id| id.get_stub())
            .map_err(store_err)?;
        post_json(&stub, command).await
    }
}

/// POSTs `body` as JSON to a Durable Object and parses its 200 answer.
async fn post_json<T: serde::Serialize, U: serde::de::DeserializeOwned>(
    stub: &worker::Stub,
    body: &T,
) -> Result<U, StoreError> {
    let body = serde_json::to_string(body).map_err(store_err)?;
    let req = crate::convert::post(
        "https://object.internal/",
        &body,
        &[],
        web_sys::RequestRedirect::Follow,
    )
    .map_err(store_err)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(store_err)?;
    if resp.status_code() != 200 {
        return Err(StoreError(format!(
            "durable object answered {}",
            resp.status_code()
        )));
    }
    let text = resp.text().await.map_err(store_err)?;
    serde_json::from_str(&text).map_err(store_err)
}

/// The authority Durable Object, reached by name.
pub struct AuthorityPort(pub ObjectNamespace);

/// The one authority instance.
pub const AUTHORITY_NAME: &str = "authority";

#[async_trait(?Send)]
impl Authority for AuthorityPort {
    async fn call(&self, envelope: &Envelope) -> Result<Reply, StoreError> {
        let stub = self
            .0
            .id_from_name(AUTHORITY_NAME)
            .and_then(|id| id.get_stub())
            .map_err(store_err)?;
        post_json(&stub, envelope).await
    }
}

/// The Workers rate-limit bindings, one per [`Limit`]; a missing binding limits nothing.
pub struct RateLimitPort {
    client: Option<worker::RateLimiter>,
    ip: Option<worker::RateLimiter>,
}

/// The client rate-limit binding.
pub const CLIENT_LIMITER_BINDING: &str = "CLIENT_RATE_LIMITER";
/// The address rate-limit binding.
pub const IP_LIMITER_BINDING: &str = "IP_RATE_LIMITER";

impl RateLimitPort {
    /// The bindings of `env`.
    pub fn new(env: &Env) -> Self {
        Self {
            client: env.rate_limiter(CLIENT_LIMITER_BINDING).ok(),
            ip: env.rate_limiter(IP_LIMITER_BINDING).ok(),
        }
    }
}

#[async_trait(?Send)]
impl RateLimiter for RateLimitPort {
    async fn allow(&self, limit: Limit, key: &str) -> bool {
        let binding = match limit {
            Limit::Client => &self.client,
            Limit::Ip => &self.ip,
        };
        match binding {
            // A limiter that cannot answer lets the request through: availability first.
            Some(limiter) => limiter
                .limit(key.to_owned())
                .await
                .map_or(true, |outcome| outcome.success),
            None => true,
        }
    }
}
