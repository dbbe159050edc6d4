//! `POST /oauth/register`: RFC 7591 dynamic client registration, open only while the
//! operator's registration policy has it on.
//!
//! Each request counts against the caller's address, under a key of its own on the address
//! limit, before the body is read. The metadata is checked under the policy
//! ([`ClientMetadata::into_client`]); the client is stored by the authority (audited
//! `client.create` by `anonymous`), marked `dynamic`, and answered per RFC 7591 §3.2.1 with
//! its secret shown this once. Refusals are RFC 7591 §3.2.2 errors; a closed registration is
//! 403 `access_denied`. [`sweep`] is the Cron Trigger's deletion of self-registered clients
//! unused for the policy's `client_ttl` (they are refused from that moment already, see
//! [`Context::client`]).

use crate::api::Registration;
use crate::authority::{Command, Reply};
use crate::clients::dynamic::{ClientMetadata, RegistrationError, RegistrationResponse};
use crate::context::Context;
use crate::error::{only, ErrorBody, OAuthError};
use crate::http::{Method, Request, Response};
use crate::ports::{Failure, Limit, StoreError};
use crate::ratelimit;

/// `POST /oauth/register`.
pub async fn register(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal.no_store();
    }
    match create(ctx, req).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => e.into_response(),
    }
}

/// 403: the operator has not opened registration.
fn closed() -> Response {
    Response::json(
        403,
        &ErrorBody {
            error: "access_denied".into(),
            error_description: Some("dynamic client registration is not enabled".into()),
            field: None,
        },
    )
    .no_store()
}

async fn create(
    ctx: &Context<'_>,
    req: &Request,
) -> Result<Result<Response, RegistrationError>, OAuthError> {
    let network = ctx
        .caller
        .network
        .clone()
        .unwrap_or_else(|| "unknown".into());
    ratelimit::check(ctx, Limit::Ip, &format!("register:{network}"))
        .await
        .map_err(|_| OAuthError::RateLimited)?;
    let policy = ctx.registration_policy().await?;
    if !policy.dynamic() {
        return Ok(Ok(closed()));
    }
    if req.body_too_large {
        return Err(OAuthError::PayloadTooLarge);
    }
    if req.media_type().as_deref() != Some("application/json") {
        return Ok(Err(RegistrationError::InvalidClientMetadata(
            "the body must be application/json".into(),
        )));
    }
    let mut meta: ClientMetadata = match serde_json::from_slice(&req.body) {
        Ok(meta) => meta,
        Err(e) => {
            return Ok(Err(RegistrationError::InvalidClientMetadata(format!(
                "the body is not valid client metadata: {e}"
            ))))
        }
    };
    // A registered client's id is Portcullis's to choose (RFC 7591 §3.2.1).
    meta.client_id = None;
    let method = meta.auth_method();
    let catalogue = ctx.scopes().await?;
    let made = meta.into_client(
        Registration::Dynamic,
        &policy,
        &catalogue,
        (ctx.secrets, ctx.rng),
        ctx.clock.now(),
    );
    // `into_client` refuses an unsupported method itself, so its refusal comes first.
    let (record, secret, method) = match (made, method) {
        (Ok((record, secret)), Ok(method)) => (record, secret, method),
        (Err(refusal), _) | (_, Err(refusal)) => return Ok(Err(refusal)),
    };
    let stored = match ctx
        .command("anonymous", Command::CreateClient { record })
        .await?
    {
        Reply::Client(stored) => stored,
        Reply::Error(e) => {
            return Ok(Err(RegistrationError::InvalidClientMetadata(e.reason)));
        }
        _ => {
            return Err(OAuthError::Unavailable(Failure::new(
                "internal",
                "unexpected authority reply",
            )))
        }
    };
    ctx.caches.forget_client(&stored.client.client_id);
    let body = RegistrationResponse::new(&stored, secret.as_deref(), method);
    Ok(Ok(Response::json(201, &body).no_store()))
}

/// Deletes every self-registered client unused for the policy's `client_ttl` (the Cron
/// Trigger's sweep; audited `client.delete` by `system`).
pub async fn sweep(ctx: &Context<'_>) -> Result<(), StoreError> {
    match ctx.command("system", Command::ExpireClients).await? {
        Reply::Done => Ok(()),
        other => Err(StoreError(format!("unexpected reply {other:?}"))),
    }
}
