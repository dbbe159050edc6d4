//! Native fakes of the ports: a settable clock, a deterministic random source, hash-map KV and
//! Durable Object storage, an authority that runs in-process (through a JSON round trip,
//! as the real one does), and a log that records its events.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use async_trait::async_trait;

use crate::authority::{execute, Authority, AuthorityEnv, Envelope, Reply};
use crate::cache::Caches;
use crate::context::{Caller, Context, Settings};
use crate::crypto::Secrets;
use crate::grants::{self, GrantCommand, GrantEnv, GrantReply, GrantStore};
use crate::http::{Method, Request, Response};
use crate::ports::{Clock, DurableStorage, Kv, Rng, StoreError};

pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// The origin the tests serve Portcullis at; a context without a request is issued under it.
pub const TEST_ORIGIN: &str = "https://auth.test";
pub const TEST_KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A clock that moves only when told.
pub struct FixedClock(pub Cell<u64>);

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// A deterministic, non-repeating byte stream (splitmix64).
#[derive(Default)]
pub struct SeqRng(pub Cell<u64>);

impl Rng for SeqRng {
    fn fill(&self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.0.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *b = (z ^ (z >> 31)).to_le_bytes()[0];
        }
    }
}

/// Workers KV on a hash map; while the flag is set, writes fail (an outage); reads are
/// counted.
#[derive(Default)]
pub struct MemKv(
    pub RefCell<HashMap<String, String>>,
    pub Cell<bool>,
    pub Cell<usize>,
);

impl MemKv {
    fn writable(&self) -> Result<(), StoreError> {
        if self.1.get() {
            Err(StoreError("KV is down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait(?Send)]
impl Kv for MemKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.2.set(self.2.get() + 1);
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str, _ttl: Option<u64>) -> Result<(), StoreError> {
        self.writable()?;
        self.0.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.writable()?;
        self.0.borrow_mut().remove(key);
        Ok(())
    }
}

/// Durable Object storage on an ordered map.
#[derive(Default)]
pub struct MemStorage(pub RefCell<BTreeMap<String, String>>);

#[async_trait(?Send)]
impl DurableStorage for MemStorage {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.0.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let map = self.0.borrow();
        let page: Vec<(String, String)> = if reverse {
            map.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .rev()
                .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() < c))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            // A range scan, as the runtime's storage does, so big maps stay fast to page.
            let lower = match cursor {
                Some(c) if c >= prefix => Bound::Excluded(c),
                _ => Bound::Included(prefix),
            };
            map.range::<str, _>((lower, Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(prefix))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Ok(page)
    }
}

/// Everything a request needs, in memory.
pub struct Harness {
    pub clock: FixedClock,
    pub rng: SeqRng,
    pub kv: MemKv,
    pub storage: MemStorage,
    /// Every grant shard's storage (ids and keys never collide across shards).
    pub grant_storage: MemStorage,
    pub secrets: Secrets,
    pub caches: Caches,
    pub settings: Settings,
    pub http: FakeHttp,
    pub limits: FakeLimits,
    /// Every event logged.
    pub log: MemLog,
    /// Commands (by their wire tag, e.g. `grant_event`, `end_person`) that fail as if the
    /// Durable Object could not be reached, to test what a failure midway leaves behind.
    pub failing: RefCell<Vec<&'static str>>,
    /// The crypto fakes (their RSA keys are drawn per harness).
    pub signatures: NativeSignatures,
}

/// A log that keeps its events, for tests to read.
#[derive(Default)]
pub struct MemLog(pub RefCell<Vec<crate::ports::LogEvent>>);

impl crate::ports::Log for MemLog {
    fn event(&self, event: &crate::ports::LogEvent) {
        self.0.borrow_mut().push(event.clone());
    }
}

/// A rate limiter allowing `budget` requests per key (unlimited when `None`).
#[derive(Default)]
pub struct FakeLimits {
    pub budget: Cell<Option<u32>>,
    counts: RefCell<HashMap<String, u32>>,
}

#[async_trait(?Send)]
impl crate::ports::RateLimiter for FakeLimits {
    async fn allow(&self, limit: crate::ports::Limit, key: &str) -> bool {
        let Some(budget) = self.budget.get() else {
            return true;
        };
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry(format!("{limit:?}:{key}")).or_insert(0);
        *n += 1;
        *n <= budget
    }
}

/// Outgoing HTTP answered from a map of URL → (status, body), counting the calls.
#[derive(Default)]
pub struct FakeHttp {
    pub answers: RefCell<HashMap<String, (u16, String)>>,
    pub calls: Cell<usize>,
    /// When set, each call yields to the executor once before answering, as a network call
    /// would, so that concurrent requests interleave.
    pub suspends: Cell<bool>,
    /// The `Cache-Control` every fetched document answers with.
    pub cache_control: RefCell<Option<String>>,
}

/// A future that is pending once, then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[async_trait(?Send)]
impl crate::ports::HttpClient for FakeHttp {
    async fn get(
        &self,
        url: &str,
        max_len: usize,
    ) -> Result<(u16, String), crate::ports::FetchError> {
        self.calls.set(self.calls.get() + 1);
        if self.suspends.get() {
            YieldOnce(false).await;
        }
        match self.answers.borrow().get(url) {
            Some((_, body)) if body.len() > max_len => {
                Err(crate::ports::FetchError("body too long".into()))
            }
            Some(answer) => Ok(answer.clone()),
            None => Err(crate::ports::FetchError(format!("no route to {url}"))),
        }
    }

    async fn get_document(
        &self,
        url: &str,
        max_len: usize,
        _timeout_ms: u32,
    ) -> Result<crate::ports::Fetched, crate::ports::FetchError> {
        let (status, body) = self.get(url, max_len).await?;
        let cache_control = self.cache_control.borrow().clone();
        Ok(crate::ports::Fetched {
            status,
            body,
            cache_control,
        })
    }

    async fn post_json(
        &self,
        url: &str,
        _body: &str,
        max_len: usize,
    ) -> Result<(u16, String), crate::ports::FetchError> {
        self.get(url, max_len).await
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self {
            clock: FixedClock(Cell::new(1_700_000_000_000)),
            rng: SeqRng::default(),
            kv: MemKv::default(),
            storage: MemStorage::default(),
            grant_storage: MemStorage::default(),
            secrets: Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).expect("test secrets"),
            caches: Caches::default(),
            http: FakeHttp::default(),
            limits: FakeLimits::default(),
            log: MemLog::default(),
            failing: RefCell::default(),
            signatures: NativeSignatures::default(),
            settings: Settings {
                issuer: Some("https://auth.test".into()),
                ..Settings::default()
            },
        }
    }
}

/// JSON there and back, as the Durable Object wire does.
fn round_trip<T: serde::Serialize, U: serde::de::DeserializeOwned>(v: &T) -> Result<U, StoreError> {
    let wire = serde_json::to_string(v).map_err(|e| StoreError(e.to_string()))?;
    serde_json::from_str(&wire).map_err(|e| StoreError(e.to_string()))
}

/// The wire tag of an externally tagged command (`{"tag": …}` or `"tag"`).
fn tag<T: serde::Serialize>(command: &T) -> String {
    match serde_json::to_value(command) {
        Ok(serde_json::Value::String(tag)) => tag,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

impl Harness {
    /// Fails `command` when it is one of the commands set to fail.
    fn reach<T: serde::Serialize>(&self, command: &T) -> Result<(), StoreError> {
        let tag = tag(command);
        if self.failing.borrow().iter().any(|f| *f == tag) {
            Err(StoreError(format!("{tag}: unreachable (test)")))
        } else {
            Ok(())
        }
    }
}

#[async_trait(?Send)]
impl GrantStore for Harness {
    async fn call(&self, shard: u32, command: &GrantCommand) -> Result<GrantReply, StoreError> {
        self.reach(command)?;
        let command: GrantCommand = round_trip(command)?;
        let env = GrantEnv {
            storage: &self.grant_storage,
            clock: &self.clock,
        };
        let reply: GrantReply = round_trip(&grants::execute(&env, &command).await?)?;
        Ok(only_shard(shard, reply))
    }
}

/// One storage holds every shard's records, so a listing answers only the grants of the shard
/// asked, as that shard's own Durable Object would (else listing all shards repeats each grant
/// once per shard).
fn only_shard(shard: u32, reply: GrantReply) -> GrantReply {
    match reply {
        GrantReply::Grants { mut grants } => {
            grants.retain(|g| grants::shard_of_token(&g.id) == Some(shard));
            GrantReply::Grants { grants }
        }
        other => other,
    }
}

#[async_trait(?Send)]
impl Authority for Harness {
    async fn call(&self, envelope: &Envelope) -> Result<Reply, StoreError> {
        self.reach(&envelope.command)?;
        let wire = serde_json::to_string(envelope).map_err(|e| StoreError(e.to_string()))?;
        let envelope: Envelope =
            serde_json::from_str(&wire).map_err(|e| StoreError(e.to_string()))?;
        let env = AuthorityEnv {
            storage: &self.storage,
            kv: &self.kv,
            grants: self,
            clock: &self.clock,
            rng: &self.rng,
            signatures: &self.signatures,
            secrets: &self.secrets,
            audit_retention_secs: self.settings.audit_retention_secs,
        };
        let reply = execute(&env, &envelope).await?;
        let wire = serde_json::to_string(&reply).map_err(|e| StoreError(e.to_string()))?;
        serde_json::from_str(&wire).map_err(|e| StoreError(e.to_string()))
    }
}

impl Harness {
    /// A request context on these fakes.
    pub fn context(&self) -> Context<'_> {
        Context {
            kv: &self.kv,
            authority: self,
            grants: self,
            clock: &self.clock,
            rng: &self.rng,
            signatures: &self.signatures,
            limits: &self.limits,
            http: &self.http,
            secrets: &self.secrets,
            caches: &self.caches,
            settings: &self.settings,
            log: &self.log,
            request_id: "test".into(),
            caller: Caller::of(&self.settings, &Request::new(Method::Get, TEST_ORIGIN, "/")),
        }
    }

    /// The context of `req`, whose head says who calls.
    pub fn context_for(&self, req: &Request) -> Context<'_> {
        Context {
            caller: Caller::of(&self.settings, req),
            ..self.context()
        }
    }

    /// Runs a request through the router.
    pub fn send(&self, req: Request) -> Response {
        futures::executor::block_on(crate::app::handle(&self.context_for(&req), req))
    }

    /// Advances the clock.
    pub fn advance(&self, secs: u64) {
        self.clock.0.set(self.clock.0.get() + secs * 1000);
    }
}

/// ES256 on the pure-Rust `p256` crate and RS256 on `rsa`: fine natively, where the worker
/// uses WebCrypto. Its RSA keys come from a shared list ([`rsa_key`]), walked from the start by
/// each instance, so one key set never holds two keys with one `kid` and a harness's keys are
/// the same from run to run.
#[derive(Default)]
pub struct NativeSignatures {
    rsa_drawn: std::sync::atomic::AtomicUsize,
}

impl NativeSignatures {
    /// How many RSA keys this instance has handed out (its place in the shared list).
    pub fn rsa_drawn(&self) -> usize {
        self.rsa_drawn.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Goes on from place `n` of the shared list (a harness restored from a copy of another's
    /// state goes on where that one stopped).
    pub fn set_rsa_drawn(&self, n: usize) {
        self.rsa_drawn
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }
}

#[async_trait(?Send)]
impl crate::ports::Signatures for NativeSignatures {
    async fn generate(&self) -> Result<crate::ports::Es256KeyPair, crate::ports::CryptoError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let mut seed = [0u8; 32];
        SeqRng::default().fill(&mut seed);
        seed[0] = 1;
        let key = p256::SecretKey::from_slice(&seed)
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        let point = key.public_key().to_encoded_point(false);
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        Ok(crate::ports::Es256KeyPair {
            pkcs8: pkcs8.as_bytes().to_vec(),
            x: URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point")),
            y: URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point")),
        })
    }

    async fn sign(
        &self,
        _kid: &str,
        pkcs8: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, crate::ports::CryptoError> {
        use p256::ecdsa::signature::Signer;
        use p256::pkcs8::DecodePrivateKey;
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        let sig: p256::ecdsa::Signature = key.sign(message);
        Ok(sig.to_bytes().to_vec())
    }

    async fn sign_ed25519(
        &self,
        _kid: &str,
        seed: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, crate::ports::CryptoError> {
        let seed = ed25519_compact::Seed::from_slice(seed)
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        let pair = ed25519_compact::KeyPair::from_seed(seed);
        Ok(pair.sk.sign(message, None).to_vec())
    }

    async fn verify_ed25519(
        &self,
        _cache_key: &str,
        public: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, crate::ports::CryptoError> {
        let (Ok(key), Ok(signature)) = (
            ed25519_compact::PublicKey::from_slice(public),
            ed25519_compact::Signature::from_slice(signature),
        ) else {
            return Ok(false);
        };
        Ok(key.verify(message, &signature).is_ok())
    }

    async fn generate_rs256(
        &self,
    ) -> Result<crate::ports::Rs256KeyPair, crate::ports::CryptoError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let n = self
            .rsa_drawn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pkcs8 = rsa_key(n);
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8)
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        Ok(crate::ports::Rs256KeyPair {
            n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            pkcs8,
        })
    }

    async fn sign_rs256(
        &self,
        _kid: &str,
        pkcs8: &[u8],
        message: &[u8],
    ) -> Result<Vec<u8>, crate::ports::CryptoError> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::from_pkcs8_der(pkcs8)
            .map_err(|e| crate::ports::CryptoError(e.to_string()))?;
        Ok(key.sign(message).to_vec())
    }

    async fn verify_rs256(
        &self,
        _cache_key: &str,
        n: &str,
        e: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, crate::ports::CryptoError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use rsa::signature::Verifier;
        let int =
            |v: &str| rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(v).unwrap_or_default());
        let Ok(key) = rsa::RsaPublicKey::new(int(n), int(e)) else {
            return Ok(false);
        };
        let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
        let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
            return Ok(false);
        };
        Ok(key.verify(message, &sig).is_ok())
    }

    async fn verify(
        &self,
        _kid: &str,
        x: &str,
        y: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, crate::ports::CryptoError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use p256::ecdsa::signature::Verifier;
        let (x, y) = (
            URL_SAFE_NO_PAD.decode(x).unwrap_or_default(),
            URL_SAFE_NO_PAD.decode(y).unwrap_or_default(),
        );
        if x.len() != 32 || y.len() != 32 {
            return Ok(false);
        }
        let point = p256::EncodedPoint::from_affine_coordinates(
            x.as_slice().into(),
            y.as_slice().into(),
            false,
        );
        let Ok(key) = p256::ecdsa::VerifyingKey::from_encoded_point(&point) else {
            return Ok(false);
        };
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
            return Ok(false);
        };
        Ok(key.verify(message, &sig).is_ok())
    }
}

/// A deterministic random source for RSA key generation in tests ([`SeqRng`] underneath).
struct TestCryptoRng(SeqRng);

impl rsa::rand_core::RngCore for TestCryptoRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for TestCryptoRng {}

/// The `n`-th RSA test key (PKCS #8 DER). Generating a 2048-bit key costs a good part of a
/// second, so the keys are made once per test binary, the `n`-th from seed `n`, and shared.
fn rsa_key(n: usize) -> Vec<u8> {
    use rsa::pkcs8::EncodePrivateKey;
    static POOL: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while pool.len() <= n {
        let mut rng = TestCryptoRng(SeqRng(Cell::new(0x5eed + pool.len() as u64)));
        let der = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .and_then(|k| k.to_pkcs8_der().map_err(rsa::Error::from))
            .expect("an RSA test key");
        pool.push(der.as_bytes().to_vec());
    }
    pool[n].clone()
}

/// A freshly generated key set of `alg`, loaded, under [`TEST_KEK`] at time 0.
pub fn loaded_keys(alg: crate::api::KeyAlg) -> crate::keys::LoadedKeys {
    let secrets = Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).expect("test secrets");
    futures::executor::block_on(crate::keys::KeySet::generate(
        alg,
        &secrets,
        &SeqRng::default(),
        &NativeSignatures::default(),
        0,
    ))
    .expect("a generated key set")
    .load(&secrets, 0)
    .expect("a loadable key set")
}

/// A scope catalogue holding `names`, each at version 1 and without a description.
pub fn catalogue_of(names: &[&str]) -> Vec<crate::api::Scope> {
    names
        .iter()
        .map(|n| crate::api::Scope {
            name: (*n).into(),
            description: String::new(),
            created_at: 0,
            version: 1,
        })
        .collect()
}
