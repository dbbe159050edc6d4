//! Issuing tokens: the scope and audience a grant may have (RFC 6749 §3.3, RFC 8707), the
//! claims of an RFC 9068 access token, its signature, and the RFC 6749 §5.1 answer; and the
//! plan of a user grant (the ids of the tokens a shard will record).

use serde::Serialize;

use crate::api::GrantType;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::crypto::{random_token, token_hash};
use crate::error::OAuthError;
use crate::grants::{new_token, Issue, IssuedToken, SignIn};
use crate::http::Response;
use crate::id_token;
use crate::lifetimes::{DEFAULT_REFRESH_ABSOLUTE_TTL, DEFAULT_REFRESH_IDLE_TTL};
use crate::scope::ScopeSet;
use crate::tokens;
use crate::tokens::{AccessClaims, Audience, Confirmation};
use crate::uri::check_absolute_uri;

/// The success body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
struct TokenResponse<'a> {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// OpenID Connect (OIDC Core §3.1.3.3), when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// Checks a requested `scope` against the client's allowed scopes; absent means all of them.
pub fn granted_scope(requested: Option<&str>, allowed: &[String]) -> Result<ScopeSet, OAuthError> {
    let Some(requested) = requested else {
        return Ok(ScopeSet::from(allowed));
    };
    let set = ScopeSet::parse(requested).map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
    if let Some(s) = set.first_outside(allowed) {
        return Err(OAuthError::InvalidScope(format!(
            "scope `{s}` is not allowed for this client"
        )));
    }
    if set.is_empty() {
        return Err(OAuthError::InvalidScope("scope is empty".into()));
    }
    Ok(set)
}

/// The audience for a token (RFC 8707): the requested resource if the client may address it
/// (one of its audiences, or a resource a gateway route names), else the client's single
/// audience, else the issuer. The route table is read only for a resource the client does not
/// list.
pub async fn audience(
    ctx: &Context<'_>,
    resource: Option<&str>,
    client: &ClientRecord,
) -> Result<String, OAuthError> {
    let allowed = &client.client.audiences;
    match resource {
        Some(r) => {
            check_absolute_uri(r)
                .map_err(|why| OAuthError::InvalidTarget(format!("resource {why}")))?;
            if allowed.iter().any(|a| a == r) || ctx.route_index().await?.names_resource(r) {
                Ok(r.to_owned())
            } else {
                Err(OAuthError::InvalidTarget(
                    "resource is neither an audience of this client nor a gateway resource".into(),
                ))
            }
        }
        None => match allowed.as_slice() {
            [] => Ok(ctx.caller.issuer.clone()),
            [one] => Ok(one.clone()),
            _ => Err(OAuthError::InvalidTarget(
                "the client has several audiences: name one with `resource`".into(),
            )),
        },
    }
}

/// Signs `claims` and builds the RFC 6749 §5.1 answer.
pub async fn access_token_response(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
) -> Result<Response, OAuthError> {
    token_response(ctx, claims, ttl, None, None).await
}

/// Signs an access token for `claims`, valid `ttl` seconds from now.
pub async fn sign_access(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
) -> Result<String, OAuthError> {
    let keys = ctx.keys().await?;
    tokens::sign(&keys.loaded, claims, ctx.clock.now(), ttl, ctx.signatures)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))
}

/// Signs `claims` and builds the RFC 6749 §5.1 answer, with a refresh token when given and an
/// ID token for `client` when the grant is an OpenID Connect sign-in.
pub async fn token_response(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
    refresh_token: Option<String>,
    sign_in: Option<(&ClientRecord, &SignIn)>,
) -> Result<Response, OAuthError> {
    let scope = claims.scope.clone();
    // RFC 9449 §5: a DPoP-bound token is answered as such.
    let token_type = if claims.cnf.is_some() {
        "DPoP"
    } else {
        "Bearer"
    };
    let sub = claims.sub.clone();
    let token = sign_access(ctx, claims, ttl).await?;
    let id_token = match sign_in {
        Some((client, sign_in)) => Some(id_token::issue(ctx, client, &sub, sign_in, &token).await?),
        None => None,
    };
    Ok(Response::json(
        200,
        &TokenResponse {
            access_token: token,
            token_type,
            expires_in: ttl,
            scope: &scope,
            refresh_token,
            id_token,
        },
    )
    .no_store())
}

/// The tokens about to be issued: what the shard records and what the client receives.
pub struct Plan {
    pub issue: Issue,
    pub refresh_token: Option<String>,
    /// The DPoP key the access token is bound to.
    pub jkt: Option<String>,
}

/// Chooses a `jti` and, if the client may refresh, a new refresh token in `shard`; with
/// `jkt` (the request's DPoP key) the access token is bound to it, and so, for a public client,
/// is a new refresh-token family (RFC 9449 §5: a confidential client's refresh tokens are bound
/// by its authentication).
pub fn plan(
    ctx: &Context<'_>,
    client: &ClientRecord,
    shard: u32,
    refresh: bool,
    jkt: Option<&str>,
) -> Plan {
    let refresh_token =
        (refresh && client.allows(GrantType::RefreshToken)).then(|| new_token(ctx.rng, shard));
    Plan {
        issue: Issue {
            access: IssuedToken {
                jti: random_token(ctx.rng, 16),
                exp: ctx.clock.now() + client.client.access_token_ttl,
            },
            refresh_hash: refresh_token.as_deref().map(token_hash),
            idle_ttl: client
                .client
                .refresh_token_idle_ttl
                .unwrap_or(DEFAULT_REFRESH_IDLE_TTL),
            absolute_ttl: client
                .client
                .refresh_token_absolute_ttl
                .unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL),
            refresh_jkt: jkt.filter(|_| client.client.public).map(str::to_owned),
        },
        refresh_token,
        jkt: jkt.map(str::to_owned),
    }
}

/// The claims of the access token of `plan` for `user`.
pub fn user_claims(
    client: &ClientRecord,
    issuer: String,
    aud: String,
    user: &str,
    scopes: &[String],
    plan: &Plan,
) -> AccessClaims {
    AccessClaims {
        iss: issuer,
        sub: user.to_owned(),
        aud: Audience::One(aud),
        jti: plan.issue.access.jti.clone(),
        client_id: client.client.client_id.clone(),
        scope: scopes.join(" "),
        extra: client.client.claims.clone(),
        cnf: plan.jkt.clone().map(|jkt| Confirmation { jkt }),
    }
}
