//! Verifying presented access tokens: Portcullis's own (signature, claims and the deny-list)
//! and trusted issuers' (against their JWKS, fetched and cached per isolate); how a token was
//! presented (RFC 6750 §2.1 `Bearer`, RFC 9449 §7.1 `DPoP` with its proof), checked the same way
//! wherever a token is presented ([`presented`], [`check_binding`], [`authenticate`]); and the
//! `WWW-Authenticate` challenge of a refusal.
//!
//! A DPoP-bound token (`cnf.jkt`) passes only under the `DPoP` scheme with a proof of its key
//! for this method and URL, carrying the token's hash (`ath`), whose `jti` was not used before
//! ([`crate::replay`]: a grant shard records it until the proof's `iat` is too old). A bearer
//! token passes under `Bearer` only, and not where DPoP is required.

use crate::api::TrustedIssuer;
use crate::context::Context;
use crate::dpop::{self, Expected, ProofError};
use crate::error::ErrorBody;
use crate::gateway::issuers::{key_set, ExternalToken, KeySource};
use crate::http::{Request, Response};
use crate::ports::StoreError;
use crate::replay::first_use;
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
    let verified = if let Some(hit) = cached_token(ctx, token).await? {
        hit
    } else {
        let keys = ctx.keys().await?;
        let fresh = Rc::new(
            tokens::verify_signature(token, &keys.loaded, ctx.signatures)
                .await
                .map_err(BearerError::Token)?,
        );
        ctx.caches
            .set_verified(token, keys.version, Rc::clone(&fresh));
        fresh
    };
    accept(ctx, verified, audience).await
}

/// One of our access tokens whose signature this isolate verified under the current key set:
/// a hash lookup, nothing parsed. Its claims have not been checked yet ([`accept`]).
pub async fn cached_token(
    ctx: &Context<'_>,
    token: &str,
) -> Result<Option<Rc<Verified>>, BearerError> {
    let keys = ctx.keys().await?;
    Ok(ctx.caches.verified(token, keys.version))
}

/// What a token whose signature holds must pass on every use: its time claims, `iss`, the
/// audience when one is given, and the deny-list.
pub async fn accept(
    ctx: &Context<'_>,
    verified: Rc<Verified>,
    audience: Option<&str>,
) -> Result<Rc<Verified>, BearerError> {
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

/// A token as the request presents it.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'r> {
    pub token: &'r str,
    /// Under the `DPoP` scheme (else `Bearer`).
    pub dpop: bool,
    /// The `DPoP` header.
    pub proof: Option<&'r str>,
}

/// Why a presented token was refused.
#[derive(Debug)]
pub enum Refusal {
    /// No token was sent.
    Missing,
    /// The token is not valid (`invalid_token`).
    Token(&'static str),
    /// The token is DPoP-bound, or DPoP is required, and it was not presented so
    /// (`invalid_token` in a `DPoP` challenge).
    Unbound(&'static str),
    /// The DPoP proof is missing, invalid or replayed (`invalid_dpop_proof`).
    Proof(ProofError),
    Store(StoreError),
}

impl From<BearerError> for Refusal {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Token(_) => Self::Token("the access token is not valid"),
            BearerError::Store(e) => Self::Store(e),
        }
    }
}

/// The token of the `Authorization` header under the `Bearer` or `DPoP` scheme, and the
/// `DPoP` header; `None` when no token was sent.
pub fn presented(req: &Request) -> Result<Option<Presented<'_>>, Refusal> {
    let proof = req
        .header("dpop")
        .map_err(|_| Refusal::Proof(ProofError::Repeated))?;
    let Ok(Some(value)) = req.header("authorization") else {
        return Ok(None);
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    let token = token.trim();
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    if token.is_empty() || !(dpop || scheme.eq_ignore_ascii_case("bearer")) {
        return Ok(None);
    }
    Ok(Some(Presented { token, dpop, proof }))
}

/// Checks that `verified` (the presented token, verified) was presented as its binding
/// demands: a DPoP-bound token under `DPoP` with a fresh proof of its key for this request, a
/// bearer token under `Bearer` and only where DPoP is not `required`.
pub async fn check_binding(
    ctx: &Context<'_>,
    req: &Request,
    presented: &Presented<'_>,
    verified: &Verified,
    required: bool,
) -> Result<(), Refusal> {
    let Some(cnf) = &verified.claims.cnf else {
        if presented.dpop {
            return Err(Refusal::Unbound("the access token is not DPoP-bound"));
        }
        if required {
            return Err(Refusal::Unbound(
                "this resource requires a DPoP-bound token",
            ));
        }
        return Ok(());
    };
    if !presented.dpop {
        return Err(Refusal::Unbound(
            "a DPoP-bound token must be presented with the DPoP scheme",
        ));
    }
    let proof = presented.proof.ok_or(Refusal::Proof(ProofError::Missing))?;
    let url = format!("{}{}", req.origin, req.path);
    let expect = Expected {
        method: req.method,
        url: &url,
        token: Some(presented.token),
        now: ctx.clock.now(),
        leeway: ctx.settings.leeway,
    };
    let proof = dpop::verify(proof, &expect, ctx.signatures)
        .await
        .map_err(Refusal::Proof)?;
    if proof.jkt != cnf.jkt {
        return Err(Refusal::Proof(ProofError::WrongKey));
    }
    let until = proof.remember_until(ctx.settings.leeway);
    if !first_use(ctx, &proof.replay_key(), until)
        .await
        .map_err(Refusal::Store)?
    {
        return Err(Refusal::Proof(ProofError::Replayed));
    }
    Ok(())
}

/// Verifies the token `req` presents as one of our access tokens (for `audience`, when
/// given) and checks its binding ([`check_binding`]).
pub async fn authenticate(
    ctx: &Context<'_>,
    req: &Request,
    audience: Option<&str>,
) -> Result<Rc<Verified>, Refusal> {
    let presented = presented(req)?.ok_or(Refusal::Missing)?;
    let verified = verify_token(ctx, presented.token, audience).await?;
    check_binding(ctx, req, &presented, &verified, false).await?;
    Ok(verified)
}

impl Refusal {
    /// The 401 (or 503 for a storage fault): a `DPoP` challenge (RFC 9449 §7.1, with `algs`)
    /// when the request used DPoP, the token is bound or `dpop` (the resource requires it),
    /// else a `Bearer` one (RFC 6750 §3). `extra` is appended to the challenge's parameters
    /// (see [`bearer_challenge`]).
    pub fn into_response(self, req: &Request, dpop: bool, extra: &str) -> Response {
        let used_dpop = presented(req)
            .ok()
            .flatten()
            .is_some_and(|p| p.dpop || p.proof.is_some());
        let dpop_challenge = dpop || used_dpop || matches!(self, Self::Proof(_) | Self::Unbound(_));
        let (error, why) = match self {
            Self::Missing => (None, "an access token is required"),
            Self::Token(why) | Self::Unbound(why) => (Some("invalid_token"), why),
            Self::Proof(e) => (Some("invalid_dpop_proof"), e.reason()),
            Self::Store(e) => return crate::error::OAuthError::from(e).into_response(),
        };
        if !dpop_challenge {
            return bearer_challenge(error.map(|_| why), extra);
        }
        let challenge = match error {
            Some(code) => format!(
                "DPoP realm=\"portcullis\", error=\"{code}\", error_description=\"{why}\", algs=\"{}\"{extra}",
                dpop::algs()
            ),
            None => format!("DPoP realm=\"portcullis\", algs=\"{}\"{extra}", dpop::algs()),
        };
        let body = ErrorBody {
            error: error.unwrap_or("invalid_request").into(),
            error_description: Some(why.into()),
            field: None,
        };
        Response::json(401, &body)
            .no_store()
            .header("www-authenticate", challenge)
    }
}

/// A 401 per RFC 6750 §3: no error attribute when no token was sent. `extra` is appended to
/// the challenge's parameters as it is (e.g. `, resource_metadata="…"`, RFC 9728 §5.1).
pub fn bearer_challenge(invalid: Option<&str>, extra: &str) -> Response {
    let (challenge, body) = match invalid {
        Some(why) => (
            format!(
                "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"{why}\"{extra}"
            ),
            ErrorBody {
                error: "invalid_token".into(),
                error_description: Some(why.into()),
                field: None,
            },
        ),
        None => (
            format!("Bearer realm=\"portcullis\"{extra}"),
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

/// A 403 per RFC 6750 §3.1: the token lacks the scopes `needed` (space-delimited). A
/// non-empty `hint` (a resource's metadata and scopes, see [`bearer_challenge`]) names the
/// scopes itself.
pub fn scope_challenge(needed: &str, description: &str, hint: &str) -> Response {
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
        if hint.is_empty() {
            format!("Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"{needed}\"")
        } else {
            format!("Bearer realm=\"portcullis\", error=\"insufficient_scope\"{hint}")
        },
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
        KeySource {
            jwks_uri: &issuer.jwks_uri,
            owner: &issuer.issuer,
        },
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
