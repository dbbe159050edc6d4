//! Tokens issued to a client acting for a user: the `authorization_code`, `refresh_token` and
//! (legacy) `password` grants of the token endpoint, and the helpers the authorization endpoint
//! shares with them.
//!
//! RFC 6749 §4.1.3 (code redemption, `redirect_uri` as in the request), RFC 7636 §4.5-4.6
//! (`code_verifier`), RFC 6749 §6 with RFC 9700 §4.14.2 (refresh rotation and reuse
//! detection; a retry from the same client and network within a short window gets the same
//! refresh token, see [`crate::grants`]'s `retry`), RFC 6749 §4.3 with RFC 9700 §2.4
//! (password grant, off unless enabled). The
//! single-use decisions are taken by the grant shard ([`crate::grants`]); the deny-list and
//! the audit log by the authority, through [`apply_event`].

use crate::api::GrantType;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::credentials::{check_credentials, Credentials};
use crate::crypto::{sha256_b64, token_hash};
use crate::error::OAuthError;
use crate::form::Form;
use crate::grants::{
    new_token, shard_of, shard_of_token, GrantCommand, GrantReply, RefusalCode, RetryTicket,
};
use crate::http::Response;
use crate::issue::{audience, granted_scope, plan, token_response, user_claims, Plan};
use crate::people::settle;
use crate::ports::{Failure, StoreError};
use crate::scope::OPENID;

/// Turns a shard's answer to a redemption or refresh into the token response.
async fn finish(
    ctx: &Context<'_>,
    client: &ClientRecord,
    aud: String,
    plan: Plan,
    (shard, reply): (u32, GrantReply),
) -> Result<Response, OAuthError> {
    match reply {
        GrantReply::Issued {
            user,
            mut scopes,
            sign_in,
            ..
        } => {
            // The grant never outlives the client's own: a scope the operator has taken from
            // the client since consent is not issued again.
            scopes.retain(|s| client.client.scopes.contains(s));
            // An ID token only while `openid` is among the scopes issued (OIDC Core §3.1.2.1).
            let sign_in = sign_in.filter(|_| scopes.iter().any(|s| s == OPENID));
            let claims = user_claims(
                client,
                ctx.caller.issuer.clone(),
                aud,
                &user,
                &scopes,
                &plan,
            );
            token_response(
                ctx,
                claims,
                client.client.access_token_ttl,
                plan.refresh_token,
                sign_in.as_ref().map(|s| (client, s)),
            )
            .await
        }
        GrantReply::Refused {
            code,
            reason,
            revoked,
        } => {
            if let Some(event) = revoked {
                settle(ctx, shard, &client.client.client_id, event).await?;
            }
            Err(match code {
                RefusalCode::InvalidGrant => OAuthError::InvalidGrant(reason),
                RefusalCode::InvalidScope => OAuthError::InvalidScope(reason),
            })
        }
        _ => Err(OAuthError::Unavailable(Failure::new(
            "internal",
            "unexpected grant reply",
        ))),
    }
}

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub async fn authorization_code(
    ctx: &Context<'_>,
    form: &Form,
    client: &ClientRecord,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use authorization_code".into(),
        ));
    }
    let code = form
        .get("code")
        .ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
    let aud = audience(ctx, form.get("resource"), client).await?;
    let shard = shard_of_token(code)
        .ok_or_else(|| OAuthError::InvalidGrant("the code is unknown or expired".into()))?;
    let plan = plan(ctx, client, shard, true, jkt);
    let reply = ctx
        .grants
        .call(
            shard,
            &GrantCommand::RedeemCode {
                jkt: jkt.map(str::to_owned),
                code_hash: token_hash(code),
                client_id: client.client.client_id.clone(),
                redirect_uri: form.get("redirect_uri").unwrap_or_default().to_owned(),
                verifier: form.get("code_verifier").unwrap_or_default().to_owned(),
                resource: form.get("resource").map(str::to_owned),
                issue: plan.issue.clone(),
            },
        )
        .await?;
    finish(ctx, client, aud, plan, (shard, reply)).await
}

/// `grant_type=refresh_token` (RFC 6749 §6): rotates the token; `scope` may only narrow.
pub async fn refresh_token(
    ctx: &Context<'_>,
    form: &Form,
    client: &ClientRecord,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    if !client.allows(GrantType::RefreshToken) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use refresh_token".into(),
        ));
    }
    let token = form
        .get("refresh_token")
        .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".into()))?;
    let scope = match form.get("scope") {
        Some(s) => Some(granted_scope(Some(s), &client.client.scopes)?.into_vec()),
        None => None,
    };
    let aud = audience(ctx, form.get("resource"), client).await?;
    let shard = shard_of_token(token)
        .ok_or_else(|| OAuthError::InvalidGrant("the refresh token is unknown".into()))?;
    let mut plan = plan(ctx, client, shard, true, jkt);
    // A retry of this request from the same network may get the new refresh token again,
    // sealed under the one presented; a request without a network gets no retry.
    let retry = plan
        .refresh_token
        .as_deref()
        .zip(ctx.caller.network.clone())
        .map(|(new, network)| RetryTicket {
            network: sha256_b64(network.as_bytes()),
            sealed: ctx.secrets.seal_for_token(ctx.rng, token, new.as_bytes()),
            window_ms: ctx.settings.refresh_retry_window_ms,
        });
    let reply = ctx
        .grants
        .call(
            shard,
            &GrantCommand::Refresh {
                jkt: jkt.map(str::to_owned),
                token_hash: token_hash(token),
                client_id: client.client.client_id.clone(),
                scope,
                issue: plan.issue.clone(),
                retry,
            },
        )
        .await?;
    let reply = match reply {
        GrantReply::Reissued {
            grant_id,
            user,
            scopes,
            sealed,
            sign_in,
        } => {
            // The rotation's refresh token again, with a fresh access token (`plan`'s `jti`,
            // which the shard recorded in the family).
            let opened = ctx
                .secrets
                .open_for_token(token, &sealed)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| {
                    OAuthError::Unavailable(Failure::new(
                        "crypto",
                        "a retried refresh token does not open",
                    ))
                })?;
            plan.refresh_token = Some(opened);
            GrantReply::Issued {
                grant_id,
                user,
                scopes,
                refresh: true,
                sign_in,
            }
        }
        other => other,
    };
    finish(ctx, client, aud, plan, (shard, reply)).await
}

/// `grant_type=password` (RFC 6749 §4.3): legacy, only for clients that enable it.
pub async fn password(
    ctx: &Context<'_>,
    form: &Form,
    client: &ClientRecord,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    if !client.allows(GrantType::Password) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the password grant".into(),
        ));
    }
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return Err(OAuthError::InvalidRequest(
            "username and password are required".into(),
        ));
    };
    let scopes = granted_scope(form.get("scope"), &client.client.scopes)?.into_vec();
    let aud = audience(ctx, form.get("resource"), client).await?;
    let user = match check_credentials(ctx, username, password).await? {
        Credentials::Valid(user) => user,
        Credentials::Invalid => {
            return Err(OAuthError::InvalidGrant(
                "wrong username or password".into(),
            ))
        }
        Credentials::Locked(_) => {
            return Err(OAuthError::InvalidGrant(
                "too many failed sign-ins; try again later".into(),
            ))
        }
    };
    let shard = shard_of(&user.id);
    let plan = plan(ctx, client, shard, true, jkt);
    let reply = ctx
        .grants
        .call(
            shard,
            &GrantCommand::IssueDirect {
                user: user.id.clone(),
                client_id: client.client.client_id.clone(),
                scopes,
                grant_id: new_token(ctx.rng, shard),
                issue: plan.issue.clone(),
            },
        )
        .await?;
    finish(ctx, client, aud, plan, (shard, reply)).await
}

/// RFC 7009 for a refresh token: revokes its family (and that family's access tokens) when the
/// calling client owns it; anything else is silently ignored (§2.2).
pub async fn revoke_refresh(
    ctx: &Context<'_>,
    client: &ClientRecord,
    token: &str,
) -> Result<(), StoreError> {
    let Some(shard) = shard_of_token(token) else {
        return Ok(());
    };
    let command = GrantCommand::RevokeRefresh {
        token_hash: token_hash(token),
        client_id: client.client.client_id.clone(),
    };
    if let GrantReply::Revoked {
        revoked: Some(event),
    } = ctx.grants.call(shard, &command).await?
    {
        settle(ctx, shard, &client.client.client_id, event).await?;
    }
    Ok(())
}

/// RFC 7662 for a refresh token: its claims when it is live and `client` owns it (a refresh
/// token is no one else's business, §4).
pub async fn inspect_refresh(
    ctx: &Context<'_>,
    client: &ClientRecord,
    token: &str,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, StoreError> {
    let Some(shard) = shard_of_token(token) else {
        return Ok(None);
    };
    let command = GrantCommand::InspectRefresh {
        token_hash: token_hash(token),
    };
    let GrantReply::Refresh { info: Some(info) } = ctx.grants.call(shard, &command).await? else {
        return Ok(None);
    };
    if info.client_id != client.client.client_id {
        return Ok(None);
    }
    let mut claims = serde_json::Map::new();
    claims.insert("client_id".into(), info.client_id.into());
    claims.insert("sub".into(), info.user.into());
    claims.insert("scope".into(), info.scope.into());
    claims.insert("iat".into(), info.iat.into());
    claims.insert("exp".into(), info.exp.into());
    claims.insert("token_type".into(), "refresh_token".into());
    Ok(Some(claims))
}
