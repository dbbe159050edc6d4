//! Discovery: RFC 8414 authorization server metadata, the OpenID Provider metadata (OpenID
//! Connect Discovery 1.0 §3) and the RFC 7517 JWKS.
//!
//! The legacy grants (`password`, `implicit`; RFC 9700 §2.4, §2.1.2) are listed because a
//! client may enable them, and named again under `legacy_grant_types`; PKCE is `S256` only.
//! The OpenID document is the RFC 8414 one plus the OpenID Provider fields; its
//! `response_types_supported` names `code` only (the Basic OP profile; `token` is no OpenID
//! response type) and `scopes_supported` always holds the built-in `openid`, `profile` and
//! `email`.

use serde::Serialize;

use crate::context::Context;
use crate::error::{only, OAuthError};
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
    token_endpoint_auth_methods_supported: &'a [&'a str],
    revocation_endpoint_auth_methods_supported: &'a [&'a str],
    introspection_endpoint_auth_methods_supported: &'a [&'a str],
    scopes_supported: Vec<&'a str>,
    code_challenge_methods_supported: &'a [&'a str],
    /// RFC 9207: `iss` is in every authorization response.
    authorization_response_iss_parameter_supported: bool,
    /// Grant types that are supported only for clients that enable them, and deprecated by
    /// RFC 9700 §2.4 (password) and §2.1.2 (implicit). Not an RFC 8414 field.
    legacy_grant_types: &'a [&'a str],
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

const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];
/// Token endpoint authentication: `none` is how public clients (PKCE only) identify themselves.
const TOKEN_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
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
    match ctx.scopes().await {
        Ok(scopes) => {
            let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
            let issuer = ctx.caller.issuer.clone();
            published(&oauth_metadata(&issuer, names, &["code", "token"]))
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
pub async fn openid_configuration(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    let scopes = match ctx.scopes().await {
        Ok(scopes) => scopes,
        Err(e) => return OAuthError::from(e).into_response(),
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
        oauth: oauth_metadata(&issuer, names, &["code"]),
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
) -> Metadata<'a> {
    let base = issuer.trim_end_matches('/');
    Metadata {
        issuer,
        authorization_endpoint: format!("{base}/oauth/authorize"),
        token_endpoint: format!("{base}/oauth/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        introspection_endpoint: format!("{base}/oauth/introspect"),
        grant_types_supported: GRANT_TYPES,
        response_types_supported: response_types,
        token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        scopes_supported: scopes,
        code_challenge_methods_supported: &["S256"],
        authorization_response_iss_parameter_supported: true,
        legacy_grant_types: &["password", "implicit"],
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
