//! Rate limits at the token endpoint, the login page and failed admin authentications: per
//! authenticated client and per caller address, on the runtime's rate-limit binding
//! ([`RateLimiter`]).
//!
//! The address is counted before any work (so a flood costs little), the client only after it
//! authenticated (so nobody can spend another client's budget with wrong secrets). The login
//! page counts sign-ins for an existing client's authorization request on a key of that
//! client's own (`login:<client_id>`, see [`crate::login`]), which anyone may spend but which
//! is apart from its token budget. A tripped
//! limit answers 429 with `Retry-After` and is audited at most once a minute per key and
//! isolate, so that a flood does not turn into a flood of audit writes. The limits themselves
//! (requests per 10 or 60 s) are configured on the bindings in `wrangler.toml`.

use crate::app::Context;
use crate::authority::Command;
use crate::http::Request;
use crate::ports::{Limit, RateLimiter};

/// `Retry-After` of a 429: the longest period the binding supports.
pub const RETRY_AFTER_SECS: u64 = 60;

/// A limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded")]
pub struct Tripped;

/// Counts the request against `limit` for `key`; audits the first trip of a minute.
pub async fn check(ctx: &Context<'_>, limit: Limit, key: &str) -> Result<(), Tripped> {
    if ctx.limits.allow(limit, key).await {
        return Ok(());
    }
    let target = match limit {
        Limit::Client => format!("client:{key}"),
        Limit::Ip => format!("ip:{key}"),
    };
    let now = ctx.clock.now();
    let first = {
        let mut seen = ctx.caches.rate_audits.borrow_mut();
        if seen.len() > 10_000 {
            seen.clear();
        }
        let last = seen.get(&target).copied();
        let first = last.is_none_or(|t| now >= t + 60);
        if first {
            seen.insert(target.clone(), now);
        }
        first
    };
    if first {
        let _ = ctx.command("system", Command::RateLimited { target }).await;
    }
    Err(Tripped)
}

/// Counts the request against its caller's address, an IPv6 caller's per /64
/// ([`Request::client_network`]; requests without one share a key).
pub async fn check_ip(ctx: &Context<'_>, req: &Request) -> Result<(), Tripped> {
    let ip = req.client_network().unwrap_or_else(|| "unknown".into());
    check(ctx, Limit::Ip, &ip).await
}

/// A limiter that never refuses (for runtimes without the binding).
pub struct Unlimited;

#[async_trait::async_trait(?Send)]
impl RateLimiter for Unlimited {
    async fn allow(&self, _limit: Limit, _key: &str) -> bool {
        true
    }
}
