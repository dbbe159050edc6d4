//! Who is calling the token, revocation and introspection endpoints: their form body read
//! under the endpoints' shared rules (RFC 6749 §3.2, one value per parameter) and the client
//! authenticated by the method it registered (RFC 6749 §2.3.1 Basic or form credentials for a
//! secret; public clients by `client_id`; `private_key_jwt`, RFC 7523 §2.2 and §3).
//!
//! A client assertion passes when it is signed (`RS256`, `ES256` or `EdDSA`, also named
//! `Ed25519`) by a key of the
//! client's inline `jwks` or of its `jwks_uri` (fetched and cached as a trusted issuer's, see
//! [`crate::gateway::issuers::key_set`]), names the client as `iss` and `sub`, names the issuer
//! or the endpoint's URL in `aud`, expires within [`MAX_ASSERTION_TTL`] seconds, and carries a
//! `jti` not used before ([`crate::replay`], until the assertion's `exp` plus the leeway).

use std::rc::Rc;

use jwt_compact::Claims;
use serde::Deserialize;

use crate::api::TokenAuthMethod;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::crypto::sha256_b64;
use crate::dpop::jws_alg;
use crate::error::OAuthError;
use crate::form::{parse_basic, posted_form, Form, FormError};
use crate::gateway::issuers::{key_set, ExternalKey, KeySource};
use crate::http::Request;
use crate::replay::first_use;
use crate::tokens::{parse_untrusted, to_secs, Audience};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest a client assertion may be valid: its `exp` at most this many seconds ahead (plus the
/// leeway).
pub const MAX_ASSERTION_TTL: u64 = 300;

/// Parses a form body under the endpoint rules shared by token, revocation and introspection.
pub fn read_form(req: &Request) -> Result<Form, OAuthError> {
    let form = posted_form(req);
    let read = !matches!(form, Err(FormError::TooLarge | FormError::NotAForm));
    if let (true, Some(q)) = (read, &req.query) {
        if form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_secret") {
            return Err(OAuthError::InvalidRequest(
                "credentials must not be sent in the query string".into(),
            ));
        }
    }
    form.map_err(|e| match e {
        FormError::TooLarge => OAuthError::PayloadTooLarge,
        FormError::NotAForm => {
            OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded".into())
        }
        FormError::Malformed(e) => e,
    })
}

/// Authenticates the calling client (RFC 6749 §2.3.1). Public clients identify themselves with
/// `client_id` alone.
pub async fn authenticate_client(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
) -> Result<Rc<ClientRecord>, OAuthError> {
    if form.contains("client_assertion") || form.contains("client_assertion_type") {
        if form.contains("client_secret") || req.header("authorization").ok().flatten().is_some() {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two".into(),
            ));
        }
        return assertion_client(ctx, req, form).await;
    }
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
    let client = crate::client_document::client(ctx, &client_id).await?;
    let now = ctx.clock.now();
    let accepted = match (&client, &secret) {
        (Some(c), Some(s)) => {
            c.client.auth_method().has_secret() && c.secret_matches(ctx.secrets, s, now)
        }
        (Some(c), None) => c.client.auth_method() == TokenAuthMethod::None,
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

/// The claims of a client assertion besides the time claims.
#[derive(Deserialize)]
struct AssertionClaims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    aud: Audience,
    #[serde(default)]
    jti: String,
}

/// RFC 7523 §2.2 and §3: the client a `client_assertion` authenticates.
async fn assertion_client(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
) -> Result<Rc<ClientRecord>, OAuthError> {
    if form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(OAuthError::InvalidRequest(format!(
            "client_assertion_type must be {ASSERTION_TYPE}"
        )));
    }
    let assertion = form
        .get("client_assertion")
        .ok_or_else(|| OAuthError::InvalidRequest("client_assertion is required".into()))?;
    let untrusted = parse_untrusted(assertion).map_err(|_| OAuthError::InvalidClient)?;
    let claims: Claims<AssertionClaims> = untrusted
        .deserialize_claims_unchecked()
        .map_err(|_| OAuthError::InvalidClient)?;
    let id = claims.custom.sub.as_str();
    let named = form.get("client_id").is_none_or(|given| given == id);
    if id.is_empty() || id.len() > 256 || claims.custom.iss != id || !named {
        return Err(OAuthError::InvalidClient);
    }
    let client = ctx
        .client(id)
        .await?
        .filter(|c| !c.client.disabled && c.client.auth_method() == TokenAuthMethod::PrivateKeyJwt)
        .ok_or(OAuthError::InvalidClient)?;
    let alg = jws_alg(untrusted.algorithm()).ok_or(OAuthError::InvalidClient)?;
    let kid = untrusted.header().key_id.as_deref().unwrap_or_default();
    let keys = client_keys(ctx, &client, kid).await;
    let mut signed = false;
    for key in keys
        .iter()
        .filter(|k| k.fits(alg) && (kid.is_empty() || k.kid() == kid))
    {
        let cache_key = format!("client:{id}#{}", key.kid());
        if key
            .check_signature(alg, assertion, &untrusted, ctx.signatures, &cache_key)
            .await
            .is_ok()
        {
            signed = true;
            break;
        }
    }
    let now = ctx.clock.now();
    let leeway = ctx.settings.leeway;
    let exp = to_secs(claims.expiration).ok_or(OAuthError::InvalidClient)?;
    let endpoint = format!("{}{}", ctx.caller.issuer, req.path);
    let timely = exp + leeway > now
        && exp <= now + MAX_ASSERTION_TTL + leeway
        && to_secs(claims.not_before).is_none_or(|nbf| nbf <= now + leeway)
        && to_secs(claims.issued_at).is_none_or(|iat| iat <= now + leeway);
    let c = &claims.custom;
    let for_us = c.aud.contains(&ctx.caller.issuer) || c.aud.contains(&endpoint);
    if !signed || !timely || !for_us || c.jti.is_empty() || c.jti.len() > 256 {
        return Err(OAuthError::InvalidClient);
    }
    let key = sha256_b64(format!("assertion\n{id}\n{}", c.jti).as_bytes());
    if !first_use(ctx, &key, exp + leeway).await? {
        return Err(OAuthError::InvalidClient);
    }
    Ok(client)
}

/// The public keys of a `private_key_jwt` client: its inline `jwks`, or its `jwks_uri`'s,
/// fetched and cached like a trusted issuer's.
async fn client_keys(ctx: &Context<'_>, client: &ClientRecord, kid: &str) -> Rc<Vec<ExternalKey>> {
    let c = &client.client;
    if let Some(jwks) = &c.jwks {
        return Rc::new(crate::gateway::issuers::keys_of(jwks).unwrap_or_default());
    }
    let Some(uri) = &c.jwks_uri else {
        return Rc::default();
    };
    let owner = format!("client {}", c.client_id);
    key_set(
        &ctx.caches.gateway.jwks,
        ctx.http,
        ctx.clock.now_ms(),
        ctx.settings.jwks_cooldown_secs * 1000,
        KeySource {
            jwks_uri: uri,
            owner: &owner,
        },
        kid,
        |failure| ctx.report(failure),
    )
    .await
}
