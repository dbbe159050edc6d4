//! Rate limits at the token, revocation and introspection endpoints, the login page and failed
//! admin authentications: per authenticated client and per caller address, on the runtime's
//! rate-limit binding ([`RateLimiter`]).
//!
//! The address is counted before any work (so a flood costs little), the client only after it
//! authenticated (so nobody can spend another client's budget with wrong secrets). A client
//! has one [`Budget`] per endpoint, each on a key of its own, so spending one never exhausts
//! another. A public client authenticates with an id anyone knows, so only what a stranger
//! cannot do spends its budgets: at the token endpoint, grants that succeeded
//! (the token endpoint); its revocations count against the address alone. The login
//! page counts sign-ins for an existing client's authorization request, once their CSRF token
//! is good (the login page). A tripped
//! limit answers 429 with `Retry-After` and is audited at most once a minute per key and
//! isolate, so that a flood does not turn into a flood of audit writes. The limits themselves
//! (requests per 10 or 60 s) are configured on the bindings in `wrangler.toml`.

use crate::authority::Command;
use crate::context::Context;
use crate::lifetimes::RETRY_AFTER_SECS;
use crate::ports::Limit;

/// A limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded")]
pub struct Tripped;

/// A budget of one client on the client limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Token requests (key: the client id).
    Token,
    /// Sign-ins whose `next` is the client's authorization request (`login:<id>`).
    SignIn,
    /// Revocation requests (`revoke:<id>`).
    Revoke,
    /// Introspection requests (`introspect:<id>`).
    Introspect,
}

impl Budget {
    /// The rate-limit key of this budget of `client_id`.
    pub fn key(self, client_id: &str) -> String {
        match self {
            Self::Token => client_id.to_owned(),
            Self::SignIn => format!("login:{client_id}"),
            Self::Revoke => format!("revoke:{client_id}"),
            Self::Introspect => format!("introspect:{client_id}"),
        }
    }
}

/// The audit target of `key` under `limit`.
fn target(limit: Limit, key: &str) -> String {
    match limit {
        Limit::Client => format!("client:{key}"),
        Limit::Ip => format!("ip:{key}"),
    }
}

/// Counts the request against `limit` for `key`; audits the first trip of a minute.
pub async fn check(ctx: &Context<'_>, limit: Limit, key: &str) -> Result<(), Tripped> {
    if ctx.limits.allow(limit, key).await {
        return Ok(());
    }
    let target = target(limit, key);
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
        let audited = ctx.command("system", Command::RateLimited { target }).await;
        ctx.logged("auditing a rate limit", audited);
    }
    Err(Tripped)
}

/// Counts a request of `client_id` against its `budget`.
pub async fn spend(ctx: &Context<'_>, budget: Budget, client_id: &str) -> Result<(), Tripped> {
    check(ctx, Limit::Client, &budget.key(client_id)).await
}

/// Whether this isolate saw `client_id`'s `budget` trip within the last
/// [`RETRY_AFTER_SECS`]: what refuses a public client's next grant once its successful ones
/// passed the limit, without counting the refused request.
pub fn tripped_recently(ctx: &Context<'_>, budget: Budget, client_id: &str) -> bool {
    let target = target(Limit::Client, &budget.key(client_id));
    let last = ctx.caches.rate_audits.borrow().get(&target).copied();
    last.is_some_and(|t| ctx.clock.now() < t + RETRY_AFTER_SECS)
}

/// Counts the request against its caller's address, an IPv6 caller's per /64
/// ([`Request::client_network`]; requests without one share a key).
pub async fn check_ip(ctx: &Context<'_>) -> Result<(), Tripped> {
    let ip = ctx
        .caller
        .network
        .clone()
        .unwrap_or_else(|| "unknown".into());
    check(ctx, Limit::Ip, &ip).await
}
