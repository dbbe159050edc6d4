//! Browser sessions for the login, consent and account pages: a signed cookie and the CSRF
//! tokens bound to it.
//!
//! The cookie holds the session as JSON, base64url-encoded, followed by an HMAC-SHA256 under a
//! key derived from `KEY_ENCRYPTION_KEY` ([`crate::crypto::Secrets::session_mac`]). It is
//! `HttpOnly`, `SameSite=Lax`, `Secure` unless the page is served over plain HTTP from loopback
//! (RFC 6265bis §4.1.2; RFC 8252 §8.3), and lives at most [`SESSION_TTL`]. Over https its name
//! carries the `__Host-` prefix (RFC 6265bis §4.1.3.2), so the browser holds it only as set by
//! this host, `Secure`, with `Path=/` and no `Domain`: no sibling subdomain can plant or shadow
//! it. That prefix requires `Path=/`, so the cookie is not scoped to the sign-in paths; instead
//! the gateway keeps it from origins both ways ([`without_own_cookies`], [`is_own_set_cookie`]).
//! Every form carries a CSRF token: an HMAC of the session id, so it is worthless without the
//! matching cookie (RFC 9700 §4.7). Signing in replaces the session id (no session fixation).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::credentials::is_active;
use crate::crypto::random_token;
use crate::http::Request;
use crate::lifetimes::SESSION_TTL;
use crate::people::session_generation;
use crate::ports::StoreError;
use crate::uri::is_loopback_origin;

/// The cookie's name over plain HTTP (loopback during development).
pub const COOKIE: &str = "portcullis_session";
/// The cookie's name over https.
pub const HOST_COOKIE: &str = "__Host-portcullis_session";
/// Every cookie name Portcullis sets.
const OWN_COOKIES: [&str; 2] = [COOKIE, HOST_COOKIE];
/// The signed-in user of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: String,
    pub name: String,
    /// The person's session generation at sign-in ([`crate::people::session_generation`]);
    /// the session ends once the generation moves on.
    #[serde(default)]
    pub generation: u64,
    /// When the person signed in (seconds): an ID token's `auth_time`, and what `max_age`
    /// and `prompt=login` are judged by.
    #[serde(default)]
    pub auth_time: u64,
}

/// A browser session, signed in or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    pub user: Option<SessionUser>,
    pub exp: u64,
}

impl Session {
    /// A new session for `user` (or an anonymous one), with a fresh id, living
    /// [`SESSION_TTL`].
    pub fn start(ctx: &Context<'_>, user: Option<SessionUser>) -> Self {
        Self::start_for(ctx, user, SESSION_TTL)
    }

    /// A new session that lives `ttl` seconds (at most [`SESSION_TTL`]). No session is ever
    /// extended: when it ends, the person signs in again.
    pub fn start_for(ctx: &Context<'_>, user: Option<SessionUser>, ttl: u64) -> Self {
        Self {
            sid: random_token(ctx.rng, 18),
            user,
            exp: ctx.clock.now() + ttl.min(SESSION_TTL),
        }
    }

    /// The live session the request's cookie carries, if its signature holds.
    pub fn from_request(ctx: &Context<'_>, req: &Request) -> Option<Self> {
        let name = cookie_name(&req.origin);
        let value = req
            .headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))?;
        let (payload, mac) = value.split_once('.')?;
        if !ctx.secrets.session_mac_matches(payload.as_bytes(), mac) {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let session: Self = serde_json::from_slice(&raw).ok()?;
        (session.exp > ctx.clock.now()).then_some(session)
    }

    /// The live session of a signed-in user, with the user, as long as that user may still
    /// sign in and their sessions were not ended since: a user of the store who has since been
    /// disabled or deleted is signed out, and so is anyone whose session generation moved on
    /// (a sign-out everywhere, a new password; read from the person's grant shard, so it holds
    /// at once everywhere). Users of the origin's login endpoint are re-checked there when
    /// their short session ends (`UPSTREAM_SESSION_SECONDS`).
    pub async fn signed_in(
        ctx: &Context<'_>,
        req: &Request,
    ) -> Result<Option<(Self, SessionUser)>, StoreError> {
        let Some(session) = Self::from_request(ctx, req) else {
            return Ok(None);
        };
        let Some(user) = session.user.clone() else {
            return Ok(None);
        };
        if ctx.settings.upstream_login_url.is_none()
            && !is_active(ctx, &user.id, &user.name).await?
        {
            return Ok(None);
        }
        if session_generation(ctx, &user.id).await? != user.generation {
            return Ok(None);
        }
        Ok(Some((session, user)))
    }

    /// The `Set-Cookie` value that stores this session.
    pub fn cookie(&self, ctx: &Context<'_>, req: &Request) -> String {
        // Serialising a plain struct cannot fail.
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = ctx.secrets.session_mac(payload.as_bytes());
        let max_age = self.exp.saturating_sub(ctx.clock.now());
        let secure = if is_https(&req.origin) || !is_loopback_origin(&req.origin) {
            "; Secure"
        } else {
            ""
        };
        let name = cookie_name(&req.origin);
        format!("{name}={payload}.{mac}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf(&self, ctx: &Context<'_>) -> String {
        ctx.secrets
            .session_mac(format!("csrf\n{}", self.sid).as_bytes())
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_matches(&self, ctx: &Context<'_>, token: Option<&str>) -> bool {
        token.is_some_and(|t| {
            ctx.secrets
                .session_mac_matches(format!("csrf\n{}", self.sid).as_bytes(), t)
        })
    }
}

fn is_https(origin: &str) -> bool {
    origin.starts_with("https://")
}

/// The session cookie's name for pages served from `origin`.
fn cookie_name(origin: &str) -> &'static str {
    if is_https(origin) {
        HOST_COOKIE
    } else {
        COOKIE
    }
}

/// A `Cookie` header value without Portcullis's own cookies, for an origin behind the gateway;
/// `None` when nothing is left.
pub fn without_own_cookies(header: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !OWN_COOKIES.contains(&name_of(pair)))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Whether an origin's `Set-Cookie` value would set (or delete) one of Portcullis's own
/// cookies: the gateway drops it before it reaches the browser.
pub fn is_own_set_cookie(value: &str) -> bool {
    let name = name_of(value.split(';').next().unwrap_or_default());
    OWN_COOKIES.iter().any(|own| own.eq_ignore_ascii_case(name))
}

/// The name of a cookie's `name=value` pair.
fn name_of(pair: &str) -> &str {
    pair.split_once('=').map_or(pair, |(n, _)| n).trim()
}

#[cfg(test)]
mod tests;
