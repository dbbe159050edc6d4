//! The gateway: every request that is not a Portcullis endpoint is matched against the route
//! table, its bearer token verified, and then refused or forwarded to the origin.
//!
//! The decision is made from the method, path and headers alone, so the adapter can stream the
//! body to the origin untouched. The path is made canonical first ([`routes::CanonicalPath`]):
//! the route is matched on it and the origin is sent exactly it. Refusals follow RFC 6750 §3:
//! 401 with `WWW-Authenticate: Bearer` (`error="invalid_token"` when a token was sent, no error
//! attribute when none was), 403 `insufficient_scope` naming the scopes needed. Tokens are
//! Portcullis's own (RFC 9068, checked by [`introspection::verify_token`] including the
//! deny-list), for the route's audience or else Portcullis's default one, or, on routes that
//! name it, a trusted external issuer's ([`issuers`]). A forwarded request carries the verified
//! `X-Portcullis-Issuer`, `-Subject`, `-Client-Id` and `-Scope`; such headers sent by the caller
//! are dropped, as are headers that re-route a request at the origin (`X-Original-URL`,
//! `X-HTTP-Method-Override`, `X-Forwarded-*`, …: the gateway sets `X-Forwarded-Host`, `-Proto`
//! and `-For` itself), Portcullis's own cookies, and `Authorization` unless the route forwards
//! it.

pub mod issuers;
pub mod routes;

use std::fmt::Write;
use std::rc::Rc;

use jwt_compact::{Empty, UntrustedToken};
use serde::{Deserialize, Serialize};

use self::routes::{CanonicalPath, Match};
use crate::api::{DpopPolicy, IssuerTable, Route, ScopeMode};
use crate::bearer::{
    accept, bearer_challenge, cached_token, check_binding, presented, scope_challenge,
    verify_token, BearerError, Refusal,
};
use crate::context::Context;
use crate::error::{not_found, ErrorBody, OAuthError};
use crate::http::{Request, Response};
use crate::ports::{Failure, StoreError};
use crate::scope::ScopeSet;
use crate::session::without_own_cookies;
use crate::tokens::{TokenError, Verified, MAX_TOKEN_LEN};
use crate::uri::resource_metadata_url;

pub use self::routes::{CONFIG_TTL_MS, ROUTES_KEY};

/// KV and storage key of the trusted issuers.
pub const ISSUERS_KEY: &str = "config:issuers";

/// The verified issuer, set on forwarded requests: a subject is only unique per issuer.
pub const ISSUER_HEADER: &str = "x-portcullis-issuer";
/// The verified subject, set on forwarded requests.
pub const SUBJECT_HEADER: &str = "x-portcullis-subject";
/// The verified client id.
pub const CLIENT_ID_HEADER: &str = "x-portcullis-client-id";
/// The verified scopes, space-separated.
pub const SCOPE_HEADER: &str = "x-portcullis-scope";
/// Headers only the gateway may set: a caller's copies are removed.
const RESERVED_PREFIX: &str = "x-portcullis-";
/// Connection-level headers (RFC 9110 §7.6.1) and `Host`, which the runtime sets for the hop
/// to the origin.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];
/// Headers with which common origin stacks re-route a request or believe another host, scheme
/// or caller (IIS/ASP.NET URL rewriting, Symfony/Laravel/Spring method overrides, RFC 7239
/// `Forwarded`, nginx's `X-Real-IP`), plus every `X-Forwarded-*` ([`FORWARDED_PREFIX`]). Only
/// the gateway's own `X-Forwarded-Host`, `-Proto` and `-For` reach the origin.
const REROUTING: &[&str] = &[
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-original-host",
    "x-original-method",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-host",
    "x-real-ip",
    "x-client-ip",
    "forwarded",
];
/// Every `X-Forwarded-*` header (`-Host`, `-Proto`, `-Prefix`, `-Path`, `-Port`, `-Server`, …).
const FORWARDED_PREFIX: &str = "x-forwarded-";

/// A request to send on to the origin: the caller's headers with a diff applied, and the
/// caller's body streamed along. The adapter hands the runtime the original headers and the
/// diff instead of rebuilding the list header by header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forward {
    /// The origin plus the request's canonical path and its query, unchanged.
    pub url: String,
    /// Headers of the caller's not to send (lower-case names), removed first.
    pub remove: Vec<String>,
    /// Headers to send in place of any the caller sent under the name, set after the
    /// removals (lower-case names).
    pub set: Vec<(String, String)>,
    /// The matched route's path pattern, for the log.
    pub route: String,
}

/// What the adapter does with a gateway request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Respond(Response),
    Forward(Forward),
}

/// Decides a request that no Portcullis endpoint serves. `req` needs no body.
pub async fn decide(ctx: &Context<'_>, req: &Request) -> Decision {
    match check(ctx, req).await {
        Ok(forward) => Decision::Forward(forward),
        Err(refusal) => Decision::Respond(refusal),
    }
}

async fn check(ctx: &Context<'_>, req: &Request) -> Result<Forward, Response> {
    let path = CanonicalPath::parse(&req.path)
        .map_err(|e| error(400, "invalid_request", &e.to_string()))?;
    let index = ctx.route_index().await.map_err(unavailable)?;
    let route = match index.lookup(req.method, &path) {
        Match::Route(r) => r,
        Match::MethodNotAllowed(allow) => {
            return Err(
                error(405, "invalid_request", "method not allowed on this route")
                    .header("allow", allow),
            )
        }
        Match::None => return Err(not_found()),
    };
    let origin = route
        .origin
        .as_deref()
        .or(ctx.settings.origin_url.as_deref())
        .ok_or_else(|| {
            error(
                502,
                "server_error",
                "no origin is configured for this route",
            )
            .failed(Failure::new(
                "config",
                &format!("no origin for route {}", route.path),
            ))
        })?;
    let identity = if route.public {
        None
    } else {
        Some(authorize(ctx, req, route).await?)
    };
    Ok(forward(req, &path, route, origin, identity.as_deref()))
}

fn error(status: u16, code: &str, description: &str) -> Response {
    Response::json(
        status,
        &ErrorBody {
            error: code.into(),
            error_description: Some(description.into()),
            field: None,
        },
    )
    .no_store()
}

fn unavailable(e: StoreError) -> Response {
    OAuthError::from(e).into_response()
}

/// The bearer token's verified claims, with the route's scopes present.
async fn authorize(
    ctx: &Context<'_>,
    req: &Request,
    route: &Route,
) -> Result<Rc<Verified>, Response> {
    let required = route.dpop == Some(DpopPolicy::Required);
    let refuse = |refusal: Refusal| refusal.into_response(req, required, &resource_hint(route));
    let presented = presented(req)
        .map_err(refuse)?
        .ok_or(Refusal::Missing)
        .map_err(refuse)?;
    let verified = verify(ctx, route, presented.token)
        .await
        .map_err(|e| refuse(e.into()))?;
    check_binding(ctx, req, &presented, &verified, required)
        .await
        .map_err(refuse)?;
    let c = &verified.claims;
    if ![&c.iss, &c.sub, &c.client_id, &c.scope]
        .iter()
        .all(|v| header_safe(v))
    {
        return Err(bearer_challenge(
            Some("the token's identity cannot be forwarded"),
            &resource_hint(route),
        ));
    }
    if !has_scopes(route, &c.scope) {
        return Err(insufficient_scope(route));
    }
    Ok(verified)
}

/// For a route with a `resource`: the challenge parameters that send a client to the
/// resource's RFC 9728 metadata (§5.1) and name the scopes to ask for; empty otherwise. Built
/// only for a refusal: a passing request never needs it.
/// Resource URIs and scope tokens hold neither `"` nor `\`, so they quote as they are.
fn resource_hint(route: &Route) -> String {
    let Some(url) = route.resource.as_deref().and_then(resource_metadata_url) else {
        return String::new();
    };
    let mut hint = format!(", resource_metadata=\"{url}\"");
    if !route.scopes.is_empty() {
        let _ = write!(hint, ", scope=\"{}\"", route.scopes.join(" "));
    }
    hint
}

/// The `iss` a token claims, read before verification only to pick the verifier.
fn claimed_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let untrusted = UntrustedToken::<Empty>::try_from(token).ok()?;
    Some(
        untrusted
            .deserialize_claims_unchecked::<Iss>()
            .ok()?
            .custom
            .iss,
    )
}

async fn verify(
    ctx: &Context<'_>,
    route: &Route,
    token: &str,
) -> Result<Rc<Verified>, BearerError> {
    let own = ctx.caller.issuer.as_str();
    // A route accepts one issuer: the one it names, else Portcullis itself (RFC 9068 §4).
    let expected = route.issuer.as_deref().unwrap_or(own);
    // A route's resource is the audience its tokens must hold (RFC 8707, RFC 9728 §7.4).
    let audience = route.resource.as_deref().or(route.audience.as_deref());
    // A token of ours this isolate has verified before is found without parsing it.
    if expected == own {
        if let Some(hit) = cached_token(ctx, token).await? {
            if hit.claims.iss != own {
                return Err(BearerError::Token(TokenError::Issuer));
            }
            return accept(ctx, hit, Some(audience.unwrap_or(own))).await;
        }
    }
    let iss = claimed_issuer(token).ok_or(BearerError::Token(TokenError::Malformed))?;
    if iss != expected {
        return Err(BearerError::Token(TokenError::Issuer));
    }
    if iss == own {
        return verify_token(ctx, token, Some(audience.unwrap_or(own))).await;
    }
    let table = issuer_table(ctx).await?;
    let trusted = table
        .issuers
        .iter()
        .find(|t| t.issuer == iss)
        .ok_or(BearerError::Token(TokenError::Issuer))?;
    crate::bearer::verify_trusted(ctx, trusted, token, audience)
        .await
        .map(Rc::new)
        .map_err(BearerError::Token)
}

/// Whether `granted` (a token's `scope` claim) satisfies the route.
fn has_scopes(route: &Route, granted: &str) -> bool {
    if route.scopes.is_empty() {
        return true;
    }
    let granted = ScopeSet::of_claim(granted);
    let has = |s: &String| granted.contains(s);
    match route.scope_mode {
        ScopeMode::All => route.scopes.iter().all(has),
        ScopeMode::Any => route.scopes.iter().any(has),
    }
}

/// 403 per RFC 6750 §3.1, naming the scopes needed (and, for a resource, its metadata).
fn insufficient_scope(route: &Route) -> Response {
    let needed = route.scopes.join(" ");
    let mode = match route.scope_mode {
        ScopeMode::All => "all",
        ScopeMode::Any => "one",
    };
    scope_challenge(
        &needed,
        &format!("the access token needs {mode} of these scopes: {needed}"),
        &resource_hint(route),
    )
}

/// Printable ASCII only: what an HTTP header value can carry unchanged.
fn header_safe(value: &str) -> bool {
    value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

fn forward(
    req: &Request,
    path: &CanonicalPath,
    route: &Route,
    origin: &str,
    who: Option<&Verified>,
) -> Forward {
    let mut url = format!("{origin}{}", path.as_str());
    if let Some(q) = &req.query {
        url.push('?');
        url.push_str(q);
    }
    let mut remove = Vec::new();
    let mut set: Vec<(String, String)> = Vec::with_capacity(7);
    // Header names arrive lower-cased (`Request::headers`).
    for (name, value) in &req.headers {
        let name = name.as_str();
        let dropped = name.starts_with(RESERVED_PREFIX)
            || name.starts_with(FORWARDED_PREFIX)
            || HOP_BY_HOP.contains(&name)
            || REROUTING.contains(&name)
            || ((name == "authorization" || name == "dpop") && !route.forward_token);
        if dropped {
            remove.push(name.to_owned());
        } else if name == "cookie" {
            match without_own_cookies(value) {
                Some(kept) if kept == *value => {}
                Some(kept) => set.push((name.to_owned(), kept)),
                None => remove.push(name.to_owned()),
            }
        }
    }
    let (scheme, host) = req.origin.split_once("://").unwrap_or(("https", ""));
    set.push(("x-forwarded-host".into(), host.to_owned()));
    set.push(("x-forwarded-proto".into(), scheme.to_owned()));
    if let Some(ip) = req.client_ip() {
        set.push(("x-forwarded-for".into(), ip.to_string()));
    }
    if let Some(v) = who {
        let c = &v.claims;
        for (name, value) in [
            (ISSUER_HEADER, &c.iss),
            (SUBJECT_HEADER, &c.sub),
            (CLIENT_ID_HEADER, &c.client_id),
            (SCOPE_HEADER, &c.scope),
        ] {
            if !value.is_empty() {
                set.push((name.to_owned(), value.clone()));
            }
        }
    }
    Forward {
        url,
        remove,
        set,
        route: route.path.clone(),
    }
}

/// The trusted issuers, from the isolate cache or KV.
async fn issuer_table(ctx: &Context<'_>) -> Result<Rc<IssuerTable>, StoreError> {
    ctx.cached_json(&ctx.caches.gateway.issuers, ISSUERS_KEY, CONFIG_TTL_MS)
        .await
}

#[cfg(test)]
mod tests;
