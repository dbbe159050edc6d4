//! Ports: the small traits through which the core reaches time, randomness and storage.
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

/// The client side of the authority Durable Object: sends one command, awaits its reply.
#[async_trait(?Send)]
pub trait Authority {
    /// Runs `envelope` in the authority and returns its reply.
    async fn call(
        &self,
        envelope: &crate::authority::Envelope,
    ) -> Result<crate::authority::Reply, StoreError>;
}
