//! Discovery: RFC 8414 authorization server metadata and the RFC 7517 JWKS.

use serde::Serialize;

use crate::app::{only, Context};
use crate::error::OAuthError;
use crate::http::{Method, Request, Response};

#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
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
}

const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    let issuer = ctx.issuer(req);
    let Ok(scopes) = ctx.scopes().await else {
        return OAuthError::Unavailable.into_response();
    };
    let base = issuer.trim_end_matches('/');
    let doc = Metadata {
        issuer: &issuer,
        token_endpoint: format!("{base}/oauth/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        introspection_endpoint: format!("{base}/oauth/introspect"),
        grant_types_supported: &["client_credentials"],
        response_types_supported: &[],
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        scopes_supported: scopes.iter().map(|s| s.name.as_str()).collect(),
    };
    Response::json(200, &doc).header("cache-control", "public, max-age=60")
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Head]) {
        return refusal;
    }
    match ctx.keys().await {
        Ok(keys) => Response::new(200, "application/jwk-set+json", keys.1.jwks.as_bytes())
            .header("cache-control", "public, max-age=60"),
        Err(_) => OAuthError::Unavailable.into_response(),
    }
}
