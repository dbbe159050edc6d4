//! Native fakes of the ports: a settable clock, a deterministic random source, hash-map KV and
//! Durable Object storage, and an authority that runs in-process (through a JSON round trip,
//! as the real one does).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use crate::app::{Context, Settings};
use crate::authority::{execute, AuthorityEnv, Envelope, Reply};
use crate::cache::Caches;
use crate::crypto::Secrets;
use crate::http::{Request, Response};
use crate::ports::{Authority, Clock, DurableStorage, Kv, Rng, StoreError};

pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789";
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
pub struct SeqRng(Cell<u64>);

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

/// Workers KV on a hash map.
#[derive(Default)]
pub struct MemKv(pub RefCell<HashMap<String, String>>);

#[async_trait(?Send)]
impl Kv for MemKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str, _ttl: Option<u64>) -> Result<(), StoreError> {
        self.0.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
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
        let matching = map.iter().filter(|(k, _)| k.starts_with(prefix));
        let page: Vec<(String, String)> = if reverse {
            matching
                .rev()
                .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() < c))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            matching
                .filter(|(k, _)| cursor.is_none_or(|c| k.as_str() > c))
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
    pub secrets: Secrets,
    pub caches: Caches,
    pub settings: Settings,
}

impl Default for Harness {
    fn default() -> Self {
        Self {
            clock: FixedClock(Cell::new(1_700_000_000_000)),
            rng: SeqRng::default(),
            kv: MemKv::default(),
            storage: MemStorage::default(),
            secrets: Secrets::new(TEST_ADMIN_TOKEN, TEST_KEK).expect("test secrets"),
            caches: Caches::default(),
            settings: Settings {
                issuer: Some("https://auth.test".into()),
                ..Settings::default()
            },
        }
    }
}

#[async_trait(?Send)]
impl Authority for Harness {
    async fn call(&self, envelope: &Envelope) -> Result<Reply, StoreError> {
        let wire = serde_json::to_string(envelope).map_err(|e| StoreError(e.to_string()))?;
        let envelope: Envelope =
            serde_json::from_str(&wire).map_err(|e| StoreError(e.to_string()))?;
        let env = AuthorityEnv {
            storage: &self.storage,
            kv: &self.kv,
            clock: &self.clock,
            rng: &self.rng,
            secrets: &self.secrets,
        };
        let reply = execute(&env, &envelope).await?;
        let wire = serde_json::to_string(&reply).map_err(|e| StoreError(e.to_string()))?;
        serde_json::from_str(&wire).map_err(|e| StoreError(e.to_string()))
    }
}

impl Harness {
    /// Runs a request through the router.
    pub fn send(&self, req: Request) -> Response {
        let ctx = Context {
            kv: &self.kv,
            authority: self,
            clock: &self.clock,
            rng: &self.rng,
            secrets: &self.secrets,
            caches: &self.caches,
            settings: &self.settings,
            request_id: "test".into(),
        };
        futures::executor::block_on(crate::app::handle(&ctx, req))
    }

    /// Advances the clock.
    pub fn advance(&self, secs: u64) {
        self.clock.0.set(self.clock.0.get() + secs * 1000);
    }
}
