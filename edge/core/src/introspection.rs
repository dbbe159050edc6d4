//! Token status: revocation (RFC 7009), introspection (RFC 7662) and `POST /verify`.
//!
//! A revoked access token goes on the deny-list ([`crate::denylist`]: held by the authority,
//! copied to KV) until it would have expired; every verification consults it, by `jti`,
//! client and signing key. Refresh tokens (recognised by
//! their shard prefix, whatever `token_type_hint` says, RFC 7009 §2.1) are looked up in their
//! grant shard: revoking one ends its family, introspecting one reports it live or not.
//! Both endpoints count against the caller's address before any work and, for a confidential
//! client, against its revocation or introspection budget once it authenticated
//! ([`ratelimit`]); a public client's id proves nothing, so its revocations count against the
//! address alone.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::authority::{Command, Reply};
use crate::bearer::{authenticate, verify_token, BearerError};
use crate::client_auth::{authenticate_client, read_form};
use crate::context::Context;
use crate::error::{only, OAuthError};
use crate::grants::shard_of_token;
use crate::http::{Method, Request, Response};
use crate::ports::StoreError;
use crate::ratelimit::{self, Budget};
use crate::tokens::{self, Expectations};
use crate::user_grants;

impl From<StoreError> for BearerError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// `POST /verify`: `Authorization: Bearer <token>` (or `DPoP <token>` with its proof, for a
/// DPoP-bound token) → 200 with the claims, or 401 (RFC 6750 §3, RFC 9449 §7.1).
pub async fn verify_endpoint(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post, Method::Get]) {
        return refusal;
    }
    match authenticate(ctx, req, None).await {
        Ok(v) => Response::json(200, &v.to_json()).no_store(),
        Err(refusal) => refusal.into_response(req, false, ""),
    }
}

/// `POST /oauth/revoke` (RFC 7009 §2): the client authenticates; a token of its own is
/// revoked; anything else still answers 200.
pub async fn revoke(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal.no_store();
    }
    match revoke_inner(ctx, req).await {
        Ok(()) => Response::empty(200).no_store(),
        Err(e) => e.into_response(),
    }
}

/// The authenticated client and the `token` parameter of a revocation or introspection
/// request (RFC 7009 §2.1, RFC 7662 §2.1), counted against the address and the client's
/// `budget`.
async fn token_request(
    ctx: &Context<'_>,
    req: &Request,
    budget: Budget,
) -> Result<(std::rc::Rc<crate::clients::ClientRecord>, String), OAuthError> {
    ratelimit::check_ip(ctx)
        .await
        .map_err(|_| OAuthError::RateLimited)?;
    let form = read_form(req)?;
    let client = authenticate_client(ctx, req, &form).await?;
    if !client.client.public {
        ratelimit::spend(ctx, budget, &client.client.client_id)
            .await
            .map_err(|_| OAuthError::RateLimited)?;
    }
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    Ok((client, token.to_owned()))
}

async fn revoke_inner(ctx: &Context<'_>, req: &Request) -> Result<(), OAuthError> {
    let (client, token) = token_request(ctx, req, Budget::Revoke).await?;
    let token = token.as_str();
    if shard_of_token(token).is_some() {
        return Ok(user_grants::revoke_refresh(ctx, &client, token).await?);
    }
    let keys = ctx.keys().await?;
    let issuer = ctx.caller.issuer.clone();
    let verified = tokens::verify(
        token,
        &keys.loaded,
        ctx.signatures,
        &Expectations {
            issuer: &issuer,
            audience: None,
            now: ctx.clock.now(),
            leeway: ctx.settings.leeway,
        },
    )
    .await;
    // Invalid, expired or foreign tokens need no revocation (§2.2).
    let Ok(v) = verified else { return Ok(()) };
    if v.claims.client_id != client.client.client_id {
        return Ok(());
    }
    let reply = ctx
        .command(
            &client.client.client_id,
            Command::Revoke {
                jti: v.claims.jti.clone(),
                exp: v.exp + ctx.settings.leeway,
            },
        )
        .await?;
    if let Reply::Denylist(head) = reply {
        ctx.install_denylist(head).await?;
    }
    Ok(())
}

/// The introspection answer (RFC 7662 §2.2).
#[derive(Serialize)]
struct Introspection {
    active: bool,
    #[serde(flatten)]
    claims: Map<String, Value>,
}

/// `POST /oauth/introspect`: authenticated clients only.
pub async fn introspect(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal.no_store();
    }
    let result = async {
        let (client, token) = token_request(ctx, req, Budget::Introspect).await?;
        // RFC 7662 §2.1: the caller must authenticate; a public client has nothing to
        // authenticate with, so its id alone must not open every token's claims.
        if client.client.public {
            return Err(OAuthError::InvalidClient);
        }
        let token = token.as_str();
        if shard_of_token(token).is_some() {
            let claims = user_grants::inspect_refresh(ctx, &client, token).await?;
            return Ok(Introspection {
                active: claims.is_some(),
                claims: claims.unwrap_or_default(),
            });
        }
        match verify_token(ctx, token, None).await {
            Ok(v) => {
                let mut claims = v.to_json();
                // RFC 9449 §6.2: a bound token's `cnf` is in its claims.
                let token_type = if v.claims.cnf.is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                };
                claims.insert("token_type".into(), token_type.into());
                Ok(Introspection {
                    active: true,
                    claims,
                })
            }
            Err(BearerError::Token(_)) => Ok(Introspection {
                active: false,
                claims: Map::new(),
            }),
            Err(BearerError::Store(e)) => Err(e.into()),
        }
    }
    .await;
    match result {
        Ok(body) => Response::json(200, &body).no_store(),
        Err(e) => e.into_response(),
    }
}
