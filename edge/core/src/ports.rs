//! Ports: the small traits through which the core reaches time, randomness and storage, and
//! reports to the log.
//!
//! The core never names a runtime type. The Workers adapter implements these traits on
//! `Date.now()`, `crypto.getRandomValues`, Workers KV and Durable Object storage; the native
//! tests implement them on a fixed clock and hash maps.

use async_trait::async_trait;

/// Wall-clock time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Whole seconds since the Unix epoch.
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
}

/// A cryptographically secure random source.
pub trait Rng {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// A storage backend could not be reached or answered nonsense.
#[derive(Debug, thiserror::Error)]
#[error("storage unavailable: {0}")]
pub struct StoreError(pub String);

/// Parses a stored JSON record; one that does not parse is a storage fault, not bad input.
pub fn parse_record<T: serde::de::DeserializeOwned>(
    key: &str,
    raw: Option<String>,
) -> Result<Option<T>, StoreError> {
    raw.map(|raw| {
        serde_json::from_str(&raw).map_err(|e| StoreError(format!("corrupt record {key}: {e}")))
    })
    .transpose()
}

/// The records of one [`DurableStorage::list`] page, parsed.
fn parse_page<T: serde::de::DeserializeOwned>(
    page: Vec<(String, String)>,
) -> Result<Vec<T>, StoreError> {
    page.into_iter()
        .filter_map(|(key, raw)| parse_record(&key, Some(raw)).transpose())
        .collect()
}

/// Up to `limit` records under `prefix`, oldest key first, parsed.
pub async fn list_records<T: serde::de::DeserializeOwned>(
    storage: &dyn DurableStorage,
    prefix: &str,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    parse_page(storage.list(prefix, None, limit, false).await?)
}

/// Every record under `prefix`, in key order, read a page at a time.
pub async fn list_all_records<T: serde::de::DeserializeOwned>(
    storage: &dyn DurableStorage,
    prefix: &str,
) -> Result<Vec<T>, StoreError> {
    const PAGE: usize = 1000;
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = storage.list(prefix, cursor.as_deref(), PAGE, false).await?;
        let done = page.len() < PAGE;
        cursor = page.last().map(|(k, _)| k.clone());
        out.extend(parse_page(page)?);
        if done {
            return Ok(out);
        }
    }
}

/// The entry of an expiry index under `prefix` that schedules `key` for deletion at `at`
/// (seconds): keys sort by time, so [`sweep_expired`] reads the due ones first.
pub fn expiry_entry(prefix: &str, key: &str, at: u64) -> String {
    format!("{prefix}{at:011}:{key}")
}

/// Deletes up to `batch` records of the expiry index under `prefix` whose time has come
/// (before `now`, seconds), each with its index entry.
pub async fn sweep_expired(
    storage: &dyn DurableStorage,
    prefix: &str,
    now: u64,
    batch: usize,
) -> Result<(), StoreError> {
    for (entry, _) in storage.list(prefix, None, batch, false).await? {
        let Some((at, key)) = entry[prefix.len()..].split_once(':') else {
            continue;
        };
        if at.parse::<u64>().map_or(true, |at| at > now) {
            break;
        }
        storage.delete(key).await?;
        storage.delete(&entry).await?;
    }
    Ok(())
}

/// Serialises a record for storage.
pub fn record_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(e.to_string()))
}

/// Workers KV: eventually consistent, fast to read at the edge.
#[async_trait(?Send)]
pub trait Kv {
    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a value, optionally expiring after `ttl_secs` (KV's minimum is 60 s).
    async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), StoreError>;
    /// Deletes a value.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// Durable Object storage: strongly consistent, ordered keys, single writer.
#[async_trait(?Send)]
pub trait DurableStorage {
    /// Reads a value.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a value.
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Deletes a value.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Lists up to `limit` entries whose keys start with `prefix`, in key order (or reverse
    /// order), strictly after (or, reversed, before) `cursor` when given.
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

/// An outgoing HTTP call failed before an answer arrived.
#[derive(Debug, thiserror::Error)]
#[error("fetch failed: {0}")]
pub struct FetchError(pub String);

/// Outgoing HTTP (a trusted issuer's JWKS, an origin's login endpoint), through the runtime's
/// `fetch`. No redirect is followed: a 3xx is the answer, so a moved JWKS is a failed fetch
/// rather than keys from wherever it points.
#[async_trait(?Send)]
pub trait HttpClient {
    /// Fetches `url`; returns the status and at most `max_len` bytes of the body as text (a
    /// longer body is an error, and no more of it than `max_len` bytes is read).
    async fn get(&self, url: &str, max_len: usize) -> Result<(u16, String), FetchError>;

    /// Fetches a document a stranger serves (a client ID metadata document) as
    /// [`HttpClient::get`] does, giving up after `timeout_ms`, and answers its
    /// `Cache-Control` header too.
    async fn get_document(
        &self,
        url: &str,
        max_len: usize,
        timeout_ms: u32,
    ) -> Result<Fetched, FetchError>;

    /// POSTs `body` as `application/json` to `url` (an origin's login endpoint); answers as
    /// [`HttpClient::get`] does.
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        max_len: usize,
    ) -> Result<(u16, String), FetchError>;
}

/// A fetched document: status, body (at most the length asked for) and `Cache-Control`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    pub body: String,
    pub cache_control: Option<String>,
}

/// A signing operation of the runtime's WebCrypto failed.
#[derive(Debug, thiserror::Error)]
#[error("crypto failed: {0}")]
pub struct CryptoError(pub String);

/// A new ECDSA P-256 key pair: the private key as PKCS #8 DER, the public point as base64url
/// JWK coordinates.
pub struct Es256KeyPair {
    pub pkcs8: Vec<u8>,
    pub x: String,
    pub y: String,
}

/// A new RSA key pair (2048 bits, public exponent 65537): the private key as PKCS #8 DER, the
/// public key as base64url JWK members `n` and `e`.
pub struct Rs256KeyPair {
    pub pkcs8: Vec<u8>,
    pub n: String,
    pub e: String,
}

/// The signature algorithms the runtime's WebCrypto runs natively: Ed25519 (`EdDSA`: sign and
/// verify, our access tokens, trusted issuers', DPoP proofs and client assertions), ECDSA P-256
/// with SHA-256 (`ES256`: generate, sign, verify) and RSA (`RS256`: generate and sign, for ID
/// tokens; verify, for trusted issuers and ID-token hints). In wasm, Ed25519 costs about 66 µs a
/// signature and 225 µs a verification, pure-Rust P-256 about 0.7 ms a signature, and pure-Rust
/// RSA doubles the worker's size; WebCrypto is native code. `kid` (or `cache_key`) lets the
/// runtime keep an imported key instead of importing it again for every token.
#[async_trait(?Send)]
pub trait Signatures {
    /// Generates a key pair.
    async fn generate(&self) -> Result<Es256KeyPair, CryptoError>;
    /// Signs `message`; answers the raw `r ‖ s` signature (RFC 7518 §3.4).
    async fn sign(&self, kid: &str, pkcs8: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Generates an `RS256` key pair. Runtimes without it fail.
    async fn generate_rs256(&self) -> Result<Rs256KeyPair, CryptoError> {
        Err(CryptoError("RS256 is not available here".into()))
    }

    /// Signs `message` with RSASSA-PKCS1-v1_5 and SHA-256 under the PKCS #8 key `pkcs8`.
    async fn sign_rs256(
        &self,
        kid: &str,
        pkcs8: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let _ = (kid, pkcs8, message);
        Err(CryptoError("RS256 is not available here".into()))
    }

    /// Checks an `RS256` (RSASSA-PKCS1-v1_5 with SHA-256) signature against the public key
    /// `(n, e)` (base64url JWK members); `cache_key` names the key for reuse. Runtimes without
    /// it refuse every signature.
    async fn verify_rs256(
        &self,
        cache_key: &str,
        n: &str,
        e: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let _ = (cache_key, n, e, message, signature);
        Err(CryptoError("RS256 is not available here".into()))
    }

    /// Signs `message` with Ed25519 (RFC 8032) under the key `kid`, whose 32-byte private seed
    /// is `seed`; answers the 64-byte signature.
    async fn sign_ed25519(
        &self,
        kid: &str,
        seed: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// Checks an Ed25519 signature against the 32-byte public key `public`; `cache_key` names
    /// the key for reuse.
    async fn verify_ed25519(
        &self,
        cache_key: &str,
        public: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError>;

    /// Checks a raw `r ‖ s` signature against the public point `(x, y)` (base64url).
    async fn verify(
        &self,
        kid: &str,
        x: &str,
        y: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError>;
}

/// Which rate limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Requests of one client, on a key per budget (one per budget of `ratelimit`).
    Client,
    /// Requests from one address at the token, revocation and introspection endpoints and the
    /// login page, and failed admin authentications.
    Ip,
}

/// The runtime's rate limiter (the Workers rate-limit binding): counts a request against a key.
#[async_trait(?Send)]
pub trait RateLimiter {
    /// Counts one request for `key` under `limit`; `false` when the limit is exceeded.
    async fn allow(&self, limit: Limit, key: &str) -> bool;
}

/// Something that failed inside Portcullis, for the log only: the caller sees at most a generic
/// answer. The detail passes through [`Failure::new`], which blanks anything shaped like a
/// token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// `store`, `fetch`, `crypto`, `internal` or `config`.
    pub kind: &'static str,
    /// What failed.
    pub detail: String,
}

impl Failure {
    /// Longest run of token characters kept in a detail; a longer one is blanked.
    const MAX_RUN: usize = 20;

    /// A failure of `kind`; any run of more than 20 base64, base64url or hex characters in
    /// `detail` that holds a digit or mixes cases (a token, a secret, a key, a digest) is
    /// replaced by `[redacted]`. A name in one case without digits (`UPSTREAM_SESSION_SECONDS`)
    /// is kept.
    pub fn new(kind: &'static str, detail: &str) -> Self {
        let tokenish = |c: char| c.is_ascii_alphanumeric() || "-_+/=".contains(c);
        let mut out = String::with_capacity(detail.len());
        let mut run = String::new();
        let flush = |run: &mut String, out: &mut String| {
            let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
            let random = has(u8::is_ascii_digit)
                || (has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase));
            if run.len() > Self::MAX_RUN && random {
                out.push_str("[redacted]");
            } else {
                out.push_str(run);
            }
            run.clear();
        };
        for c in detail.chars() {
            if tokenish(c) {
                run.push(c);
            } else {
                flush(&mut run, &mut out);
                out.push(c);
            }
        }
        flush(&mut run, &mut out);
        Self { kind, detail: out }
    }

    /// The same failure, its detail prefixed with the step that failed.
    #[must_use]
    pub fn during(self, step: &str) -> Self {
        Self::new(self.kind, &format!("{step}: {}", self.detail))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::new("store", &e.to_string())
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Self {
        Self::new("fetch", &e.to_string())
    }
}

impl From<CryptoError> for Failure {
    fn from(e: CryptoError) -> Self {
        Self::new("crypto", &e.to_string())
    }
}

/// How a logged request or step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered below 400.
    Ok,
    /// Answered 4xx: the caller's request was refused.
    ClientError,
    /// Answered 5xx.
    ServerError,
    /// A step failed that the request went on without (its answer is logged on its own line).
    Failed,
}

/// One line of the log: the end of a request ([`LogEvent::request`]) or a failure a request
/// survived ([`LogEvent::failure`]). Carries no secret and no token: ids, a route, a status,
/// a duration and a [`Failure`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEvent {
    /// The request's id (`cf-ray` on Workers), or `scheduled` for the Cron Trigger.
    pub request_id: String,
    /// The endpoint's path, the path pattern of the gateway route a request was forwarded on,
    /// or `gateway` when the gateway answered itself; absent on a request's failure line, and
    /// where the failure happened outside one (`scheduled`, `authority`, `grants`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// `kind` and `detail` of what failed inside, when something did.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl LogEvent {
    /// Longest route logged, in characters (an unknown path is the caller's to choose).
    const MAX_ROUTE: usize = 200;

    /// The line that ends a request on `route`, answered `status` after `duration_ms`.
    pub fn request(
        request_id: &str,
        route: &str,
        status: u16,
        duration_ms: u64,
        failure: Option<Failure>,
    ) -> Self {
        let outcome = match status {
            500.. => Outcome::ServerError,
            400.. => Outcome::ClientError,
            _ => Outcome::Ok,
        };
        Self {
            request_id: request_id.to_owned(),
            route: Some(route.chars().take(Self::MAX_ROUTE).collect()),
            outcome,
            status: Some(status),
            duration_ms: Some(duration_ms),
            failure,
        }
    }

    /// A failure that no answer reports: the request went on, or there was none.
    pub fn failure(request_id: &str, failure: Failure) -> Self {
        Self {
            request_id: request_id.to_owned(),
            route: None,
            outcome: Outcome::Failed,
            status: None,
            duration_ms: None,
            failure: Some(failure),
        }
    }

    /// The event as one line of JSON.
    pub fn to_json(&self) -> String {
        // Plain strings and numbers: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Where the core reports what happened: one [`LogEvent`] per request at its end, and one per
/// failure that would otherwise vanish. The Workers adapter writes each as a JSON line to the
/// console; the native tests record them.
pub trait Log {
    /// Records one event.
    fn event(&self, event: &LogEvent);
}
