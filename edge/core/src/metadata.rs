//! Discovery: RFC 8414 authorization server metadata, the OpenID Provider metadata (OpenID
//! Connect Discovery 1.0 §3), the RFC 7517 JWKS, and the RFC 9728 protected resource metadata
//! of every route that names a `resource`.
//!
//! The legacy grants (`password`, `implicit`; RFC 9700 §2.4, §2.1.2) are listed because a
//! client may enable them, and named again under `legacy_grant_types`; PKCE is `S256` only.
//! `registration_endpoint` (RFC 7591) and `client_id_metadata_document_supported` appear only
//! while the registration policy has them on. Client authentication includes
//! `private_key_jwt` (RFC 7523) and DPoP (RFC 9449 §5.1) is offered with the proof algorithms
//! of [`crate::dpop::JWS_ALG_NAMES`].
//! The OpenID document is the RFC 8414 one plus the OpenID Provider fields; its
//! `response_types_supported` names `code` only (the Basic OP profile; `token` is no OpenID
//! response type) and `scopes_supported` always holds the built-in `openid`, `profile` and
//! `email`.

use std::rc::Rc;

use serde::Serialize;

use crate::api::{RegistrationPolicy, Scope, TokenAuthMethod};
use crate::context::Context;
use crate::dpop::JWS_ALG_NAMES;
use crate::error::{not_found, only, OAuthError};
use crate::http::{Method, Request, Response};
use crate::scope::{is_builtin_scope, BUILTIN_SCOPES};

#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    grant_types_supported: &'a [&'a str],
    response_types_supported: &'a [&'a str],
    token_endpoint_auth_methods_supported: Vec<&'a str>,
    token_endpoint_auth_signing_alg_values_supported: Vec<&'a str>,
    revocation_endpoint_auth_methods_supported: Vec<&'a str>,
    revocation_endpoint_auth_signing_alg_values_supported: Vec<&'a str>,
    introspection_endpoint_auth_methods_supported: Vec<&'a str>,
    introspection_endpoint_auth_signing_alg_values_supported: Vec<&'a str>,
    /// RFC 9449 §5.1.
    dpop_signing_alg_values_supported: Vec<&'a str>,
    scopes_supported: Vec<&'a str>,
    code_challenge_methods_supported: &'a [&'a str],
    /// RFC 9207: `iss` is in every authorization response.
    authorization_response_iss_parameter_supported: bool,
    /// Grant types that are supported only for clients that enable them, and deprecated by
    /// RFC 9700 §2.4 (password) and §2.1.2 (implicit). Not an RFC 8414 field.
    legacy_grant_types: &'a [&'a str],
    /// RFC 7591, while dynamic registration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    /// Client ID metadata documents (MCP 2025-11-25), while they are on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    client_id_metadata_document_supported: bool,
}

/// RFC 9728 §2 protected resource metadata.
#[derive(Serialize)]
struct ResourceMetadata<'a> {
    resource: &'a str,
    authorization_servers: [&'a str; 1],
    scopes_supported: &'a [String],
    /// Only the `Authorization` header (RFC 6750 §2.1): the gateway reads no other.
    bearer_methods_supported: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    /// RFC 9728 §2: every route naming the resource requires DPoP (RFC 9449).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
    /// RFC 9728 §2, with RFC 9449 §5.1's names: the proof algorithms the gateway verifies.
    dpop_signing_alg_values_supported: &'a [&'a str; 4],
}

/// The OpenID Provider fields (OpenID Connect Discovery 1.0 §3) beyond RFC 8414's.
#[derive(Serialize)]
struct OpenIdMetadata<'a> {
    #[serde(flatten)]
    oauth: Metadata<'a>,
    userinfo_endpoint: String,
    end_session_endpoint: String,
    subject_types_supported: &'a [&'a str],
    id_token_signing_alg_values_supported: &'a [&'a str],
    claims_supported: &'a [&'a str],
    response_modes_supported: &'a [&'a str],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
}

/// Every claim an ID token or the UserInfo endpoint may carry.
const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "locale",
    "picture",
    "email",
    "email_verified",
];

/// Every grant type, the legacy ones (RFC 9700) only for clients that enable them.
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "implicit",
];

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    let (scopes, policy) = match catalogue(ctx).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
    let issuer = ctx.caller.issuer.clone();
    published(&oauth_metadata(&issuer, names, &["code", "token"], &policy))
}

/// The scope catalogue and the registration policy, which both documents publish.
async fn catalogue(
    ctx: &Context<'_>,
) -> Result<(Rc<Vec<Scope>>, Rc<RegistrationPolicy>), Response> {
    match (ctx.scopes().await, ctx.registration_policy().await) {
        (Ok(scopes), Ok(policy)) => Ok((scopes, policy)),
        (Err(e), _) | (_, Err(e)) => Err(OAuthError::from(e).into_response()),
    }
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
pub async fn openid_configuration(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    let (scopes, policy) = match catalogue(ctx).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let mut names: Vec<&str> = BUILTIN_SCOPES.iter().map(|(name, _)| *name).collect();
    names.extend(
        scopes
            .iter()
            .map(|s| s.name.as_str())
            .filter(|s| !is_builtin_scope(s)),
    );
    let issuer = ctx.caller.issuer.clone();
    let base = issuer.trim_end_matches('/').to_owned();
    published(&OpenIdMetadata {
        oauth: oauth_metadata(&issuer, names, &["code"], &policy),
        userinfo_endpoint: format!("{base}/oauth/userinfo"),
        end_session_endpoint: format!("{base}/oauth/logout"),
        subject_types_supported: &["public"],
        id_token_signing_alg_values_supported: &["RS256", "ES256", "EdDSA"],
        claims_supported: CLAIMS,
        response_modes_supported: &["query"],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    })
}

/// The RFC 8414 document of `issuer`.
fn oauth_metadata<'a>(
    issuer: &'a str,
    scopes: Vec<&'a str>,
    response_types: &'a [&'a str],
    policy: &RegistrationPolicy,
) -> Metadata<'a> {
    let base = issuer.trim_end_matches('/');
    // Token endpoint authentication: `none` is how public clients (PKCE only) identify
    // themselves; introspection needs a credential.
    let token_methods: Vec<&str> = TokenAuthMethod::ALL.map(TokenAuthMethod::as_str).into();
    let credentials: Vec<&str> = TokenAuthMethod::ALL
        .into_iter()
        .filter(|m| *m != TokenAuthMethod::None)
        .map(TokenAuthMethod::as_str)
        .collect();
    let assertion_algs: Vec<&str> = JWS_ALG_NAMES.into();
    Metadata {
        issuer,
        authorization_endpoint: format!("{base}/oauth/authorize"),
        token_endpoint: format!("{base}/oauth/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        introspection_endpoint: format!("{base}/oauth/introspect"),
        grant_types_supported: GRANT_TYPES,
        response_types_supported: response_types,
        token_endpoint_auth_methods_supported: token_methods,
        token_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
        revocation_endpoint_auth_methods_supported: credentials.clone(),
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
        introspection_endpoint_auth_methods_supported: credentials,
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs,
        dpop_signing_alg_values_supported: JWS_ALG_NAMES.into(),
        scopes_supported: scopes,
        code_challenge_methods_supported: &["S256"],
        authorization_response_iss_parameter_supported: true,
        legacy_grant_types: &["password", "implicit"],
        registration_endpoint: policy.dynamic().then(|| format!("{base}/oauth/register")),
        client_id_metadata_document_supported: policy.metadata_documents(),
    }
}

/// A metadata document, cacheable for a minute.
fn published(doc: &impl Serialize) -> Response {
    Response::json(200, doc).header("cache-control", "public, max-age=60")
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    match ctx.keys().await {
        Ok(keys) => Response::new(200, "application/jwk-set+json", keys.loaded.jwks.as_bytes())
            .header("cache-control", "public, max-age=60"),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

/// `GET /.well-known/oauth-protected-resource[/path]`: the metadata of the resource a route
/// names, found by its path (RFC 9728 §3.1); 404 when no route names one there.
pub async fn protected_resource(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    let index = match ctx.route_index().await {
        Ok(index) => index,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let Some(found) = index.resource_at(&req.path) else {
        return not_found();
    };
    let doc = ResourceMetadata {
        resource: &found.resource,
        authorization_servers: [found.issuer.as_deref().unwrap_or(&ctx.caller.issuer)],
        scopes_supported: &found.scopes,
        bearer_methods_supported: ["header"],
        resource_name: found.name.as_deref(),
        dpop_bound_access_tokens_required: found.dpop_required,
        dpop_signing_alg_values_supported: &JWS_ALG_NAMES,
    };
    Response::json(200, &doc).header("cache-control", "public, max-age=60")
}
