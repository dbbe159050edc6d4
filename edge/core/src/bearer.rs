//! Verifying bearer tokens (RFC 6750): Portcullis's own access tokens (signature, claims and
//! the deny-list) and trusted issuers' tokens (against their JWKS, fetched and cached per
//! isolate), and the `WWW-Authenticate` challenge of a refusal.

use crate::api::TrustedIssuer;
use crate::context::Context;
use crate::error::ErrorBody;
use crate::gateway::issuers::{key_set, ExternalToken};
use crate::http::Response;
use crate::ports::StoreError;
use crate::tokens;
use crate::tokens::{Expectations, TokenError, Verified};
use std::rc::Rc;

/// Why a bearer token was not accepted.
#[derive(Debug)]
pub enum BearerError {
    Token(TokenError),
    Store(StoreError),
}

/// Verifies one of our access tokens, including the deny-list; `audience` is checked if given.
pub async fn verify_token(
    ctx: &Context<'_>,
    token: &str,
    audience: Option<&str>,
) -> Result<Rc<Verified>, BearerError> {
    let keys = ctx.keys().await?;
    let verified = if let Some(hit) = ctx.caches.verified(token, keys.version) {
        hit
    } else {
        let fresh = Rc::new(
            tokens::verify_signature(token, &keys.loaded, ctx.signatures)
                .await
                .map_err(BearerError::Token)?,
        );
        ctx.caches
            .set_verified(token, keys.version, Rc::clone(&fresh));
        fresh
    };
    let issuer = ctx.caller.issuer.clone();
    tokens::check_claims(
        &verified,
        &Expectations {
            issuer: &issuer,
            audience,
            now: ctx.clock.now(),
            leeway: ctx.settings.leeway,
        },
    )
    .map_err(BearerError::Token)?;
    if ctx.is_denied(&verified).await? {
        return Err(BearerError::Token(TokenError::Revoked));
    }
    Ok(verified)
}

/// A 401 per RFC 6750 §3: no error attribute when no token was sent.
pub fn bearer_challenge(invalid: Option<&str>) -> Response {
    let (challenge, body) = match invalid {
        Some(why) => (
            format!(
                "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"{why}\""
            ),
            ErrorBody {
                error: "invalid_token".into(),
                error_description: Some(why.into()),
                field: None,
            },
        ),
        None => (
            "Bearer realm=\"portcullis\"".to_owned(),
            ErrorBody {
                error: "invalid_request".into(),
                error_description: Some("a bearer token is required".into()),
                field: None,
            },
        ),
    };
    Response::json(401, &body)
        .no_store()
        .header("www-authenticate", challenge)
}

/// A 403 per RFC 6750 §3.1: the token lacks the scopes `needed` (space-delimited).
pub fn scope_challenge(needed: &str, description: &str) -> Response {
    Response::json(
        403,
        &ErrorBody {
            error: "insufficient_scope".into(),
            error_description: Some(description.into()),
            field: None,
        },
    )
    .no_store()
    .header(
        "www-authenticate",
        // Scope tokens hold neither `"` nor `\` (RFC 6749 §3.3), so they quote as they are.
        format!("Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"{needed}\""),
    )
}

/// Verifies a token of a trusted issuer against its JWKS, fetched or cached (see
/// [`ExternalToken::verify`] for the checks).
pub async fn verify_trusted(
    ctx: &Context<'_>,
    issuer: &TrustedIssuer,
    token: &str,
    audience: Option<&str>,
) -> Result<Verified, TokenError> {
    let parsed = ExternalToken::parse(issuer, token)?;
    let keys = key_set(
        &ctx.caches.gateway.jwks,
        ctx.http,
        ctx.clock.now_ms(),
        ctx.settings.jwks_cooldown_secs * 1000,
        issuer,
        parsed.kid(),
        |failure| ctx.report(failure),
    )
    .await;
    parsed
        .verify(
            &keys,
            ctx.signatures,
            &Expectations {
                issuer: &issuer.issuer,
                audience,
                now: ctx.clock.now(),
                leeway: ctx.settings.leeway,
            },
        )
        .await
}
