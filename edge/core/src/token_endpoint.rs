//! `POST /oauth/token` (RFC 6749 §3.2, §4.4, §5; RFC 8707; RFC 9068).
//!
//! Client authentication by `client_secret_basic` or `client_secret_post` (never both, never in
//! the query string); unknown clients and wrong secrets answer the same `invalid_client`.
//! Every answer carries `Cache-Control: no-store`. A confidential client's requests count
//! against its token budget once it authenticated; a public client's only when its grant
//! succeeded, as anyone can name it ([`ratelimit`]).

use std::rc::Rc;

use serde::Serialize;

use crate::api::GrantType;
use crate::error::only;
use crate::context::Context;
use crate::clients::{check_absolute_uri, is_scope_token, ClientRecord};
use crate::crypto::random_token;
use crate::error::OAuthError;
use crate::form::{parse_basic, Form};
use crate::http::{Method, Request, Response};
use crate::ratelimit::{self, Budget};
use crate::tokens::{self, AccessClaims, Audience};
use crate::user_grants;

/// Longest accepted `scope` parameter.
const MAX_SCOPE_LEN: usize = 2048;

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
}

/// Handles the token endpoint.
pub async fn token(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal.no_store();
    }
    match issue(ctx, req).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

/// Parses a form body under the endpoint rules shared by token, revocation and introspection.
pub fn read_form(req: &Request) -> Result<Form, OAuthError> {
    if req.body_too_large {
        return Err(OAuthError::PayloadTooLarge);
    }
    if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    if let Some(q) = &req.query {
        if form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_secret") {
            return Err(OAuthError::InvalidRequest(
                "credentials must not be sent in the query string".into(),
            ));
        }
    }
    Form::parse(&req.body)
}

/// Authenticates the calling client (RFC 6749 §2.3.1). Public clients identify themselves with
/// `client_id` alone.
pub async fn authenticate_client(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
) -> Result<Rc<ClientRecord>, OAuthError> {
    let header = req
        .header("authorization")
        .map_err(|_| OAuthError::InvalidRequest("the Authorization header is repeated".into()))?;
    let (client_id, secret) = match header {
        Some(value) => {
            if form.contains("client_secret") {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not two".into(),
                ));
            }
            let creds = parse_basic(value)?;
            if form
                .get("client_id")
                .is_some_and(|id| id != creds.client_id)
            {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the authenticated client".into(),
                ));
            }
            (creds.client_id, Some(creds.client_secret))
        }
        None => (
            form.get("client_id")
                .ok_or(OAuthError::InvalidClient)?
                .to_owned(),
            form.get("client_secret").map(str::to_owned),
        ),
    };
    if client_id.len() > 256 {
        return Err(OAuthError::InvalidClient);
    }
    let client = ctx.client(&client_id).await?;
    let now = ctx.clock.now();
    let accepted = match (&client, &secret) {
        (Some(c), Some(s)) => !c.client.public && c.secret_matches(ctx.secrets, s, now),
        (Some(c), None) => c.client.public,
        (None, Some(s)) => {
            // Do the same work as for a known client so timing tells nothing.
            let _ = ctx.secrets.hash_client_secret(s);
            false
        }
        (None, None) => false,
    };
    match client {
        Some(c) if accepted && !c.client.disabled => Ok(c),
        _ => Err(OAuthError::InvalidClient),
    }
}

/// Checks a requested `scope` against the client's allowed scopes; absent means all of them.
pub fn granted_scope(requested: Option<&str>, allowed: &[String]) -> Result<String, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed.join(" "));
    };
    if requested.len() > MAX_SCOPE_LEN {
        return Err(OAuthError::InvalidScope("scope is too long".into()));
    }
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(s) {
            return Err(OAuthError::InvalidScope(format!(
                "`{s}` is not a scope token"
            )));
        }
        if !allowed.iter().any(|a| a == s) {
            return Err(OAuthError::InvalidScope(format!(
                "scope `{s}` is not allowed for this client"
            )));
        }
        if !granted.contains(&s) {
            granted.push(s);
        }
    }
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope("scope is empty".into()));
    }
    Ok(granted.join(" "))
}

/// The audience for a token (RFC 8707): the requested resource if the client may address it,
/// else the client's single audience, else the issuer.
pub fn audience(
    resource: Option<&str>,
    client: &ClientRecord,
    issuer: &str,
) -> Result<String, OAuthError> {
    let allowed = &client.client.audiences;
    match resource {
        Some(r) => {
            check_absolute_uri(r)
                .map_err(|why| OAuthError::InvalidTarget(format!("resource {why}")))?;
            if allowed.iter().any(|a| a == r) {
                Ok(r.to_owned())
            } else {
                Err(OAuthError::InvalidTarget(
                    "resource is not an audience of this client".into(),
                ))
            }
        }
        None => match allowed.as_slice() {
            [] => Ok(issuer.to_owned()),
            [one] => Ok(one.clone()),
            _ => Err(OAuthError::InvalidTarget(
                "the client has several audiences: name one with `resource`".into(),
            )),
        },
    }
}

async fn issue(ctx: &Context<'_>, req: &Request) -> Result<Response, OAuthError> {
    ratelimit::check_ip(ctx, req)
        .await
        .map_err(|_| OAuthError::RateLimited)?;
    let form = read_form(req)?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    let client = authenticate_client(ctx, req, &form).await?;
    let id = &client.client.client_id;
    if !client.client.public {
        ratelimit::spend(ctx, Budget::Token, id)
            .await
            .map_err(|_| OAuthError::RateLimited)?;
        return grant(ctx, req, &form, &client, grant_type).await;
    }
    // Anyone can name a public client: its failed grants must not spend its budget, so a
    // grant is counted once it succeeded, and a spent budget refuses the grants after it.
    if ratelimit::tripped_recently(ctx, Budget::Token, id) {
        return Err(OAuthError::RateLimited);
    }
    let granted = grant(ctx, req, &form, &client, grant_type).await;
    if granted.is_ok() {
        // Over the limit, this grant is still answered (its code or refresh token is spent).
        let _ = ratelimit::spend(ctx, Budget::Token, id).await;
    }
    granted
}

async fn grant(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
    client: &ClientRecord,
    grant_type: &str,
) -> Result<Response, OAuthError> {
    match grant_type {
        "client_credentials" => client_credentials(ctx, req, form, client).await,
        "authorization_code" => user_grants::authorization_code(ctx, req, form, client).await,
        "refresh_token" => user_grants::refresh_token(ctx, req, form, client).await,
        "password" => user_grants::password(ctx, req, form, client).await,
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

async fn client_credentials(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
    client: &ClientRecord,
) -> Result<Response, OAuthError> {
    if client.client.public || !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use client_credentials".into(),
        ));
    }
    let scope = granted_scope(form.get("scope"), &client.client.scopes)?;
    let issuer = ctx.issuer(req);
    let aud = audience(form.get("resource"), client, &issuer)?;
    let claims = AccessClaims {
        iss: issuer,
        sub: client.client.client_id.clone(),
        aud: Audience::One(aud),
        jti: random_token(ctx.rng, 16),
        client_id: client.client.client_id.clone(),
        scope,
        extra: client.client.claims.clone(),
    };
    access_token_response(ctx, claims, client.client.access_token_ttl).await
}

/// Signs `claims` and builds the RFC 6749 §5.1 answer.
pub async fn access_token_response(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
) -> Result<Response, OAuthError> {
    token_response(ctx, claims, ttl, None).await
}

/// Signs an access token for `claims`, valid `ttl` seconds from now.
pub async fn sign_access(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
) -> Result<String, OAuthError> {
    let keys = ctx.keys().await?;
    tokens::sign(&keys.1, claims, ctx.clock.now(), ttl, ctx.es256)
        .await
        .map_err(|_| OAuthError::Unavailable)
}

/// Signs `claims` and builds the RFC 6749 §5.1 answer, with a refresh token when given.
pub async fn token_response(
    ctx: &Context<'_>,
    claims: AccessClaims,
    ttl: u64,
    refresh_token: Option<String>,
) -> Result<Response, OAuthError> {
    let scope = claims.scope.clone();
    let token = sign_access(ctx, claims, ttl).await?;
    Ok(Response::json(
        200,
        &TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: ttl,
            scope: &scope,
            refresh_token,
        },
    )
    .no_store())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_scope_grants_all_allowed_scopes() {
        let allowed = vec!["read".to_owned(), "write".to_owned()];
        assert_eq!(granted_scope(None, &allowed).unwrap(), "read write");
        assert_eq!(granted_scope(Some("write"), &allowed).unwrap(), "write");
        assert_eq!(granted_scope(Some("read read"), &allowed).unwrap(), "read");
    }

    #[test]
    fn scope_outside_the_client_is_invalid_scope() {
        let allowed = vec!["read".to_owned()];
        for s in ["admin", "read admin", "   ", "a\"b"] {
            assert_eq!(
                granted_scope(Some(s), &allowed).unwrap_err().code(),
                "invalid_scope",
                "{s}"
            );
        }
        let long = "read ".repeat(1000);
        assert_eq!(
            granted_scope(Some(&long), &allowed).unwrap_err().code(),
            "invalid_scope"
        );
    }
}
