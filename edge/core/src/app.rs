//! The request router: [`handle`] takes a plain request and answers it from the endpoint that
//! serves its path; the runtime adapter calls it and nothing else.

use crate::context::Context;
use crate::error::not_found;
use crate::http::Method;
use crate::http::{Request, Response};
use crate::uri::PROTECTED_RESOURCE_PREFIX;
use crate::{
    account, admin, authorize, end_session, introspection, login, metadata, registration,
    token_endpoint, userinfo,
};

/// What Portcullis itself serves: every path of these belongs to [`handle`], body and all;
/// every other path belongs to the gateway ([`crate::gateway::decide`]), which decides from
/// the method, path and headers so the body can stream to the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// RFC 8414 metadata.
    Metadata,
    /// OpenID Provider metadata (OpenID Connect Discovery 1.0).
    OpenIdConfiguration,
    /// The OpenID Connect UserInfo endpoint.
    UserInfo,
    /// OpenID Connect RP-Initiated Logout (`end_session_endpoint`).
    EndSession,
    Jwks,
    /// RFC 9728 metadata of a route's resource, at the well-known prefix plus its path.
    ProtectedResource,
    /// RFC 7591 dynamic client registration.
    Register,
    Token,
    Authorize,
    Login,
    Logout,
    AccountGrants,
    Revoke,
    Introspect,
    Verify,
    /// The bench-only hot-path probe (`probe` feature).
    Probe,
    /// `/admin` and everything under `/admin/`.
    Admin,
    /// A path under one of Portcullis's own prefixes (`/.well-known/`, `/oauth/`,
    /// `/account/`) that nothing serves: a 404 here, never the origin's.
    Unknown,
}

impl Endpoint {
    /// The endpoint that serves `path`, or `None` when the path is the gateway's.
    pub fn of(path: &str) -> Option<Self> {
        const RESERVED: &[&str] = &["/.well-known/", "/oauth/", "/account/"];
        Some(match path {
            "/.well-known/oauth-authorization-server" => Self::Metadata,
            "/.well-known/openid-configuration" => Self::OpenIdConfiguration,
            "/oauth/userinfo" => Self::UserInfo,
            "/oauth/logout" => Self::EndSession,
            "/.well-known/jwks.json" => Self::Jwks,
            _ if path == PROTECTED_RESOURCE_PREFIX
                || path.starts_with(&format!("{PROTECTED_RESOURCE_PREFIX}/")) =>
            {
                Self::ProtectedResource
            }
            "/oauth/register" => Self::Register,
            "/oauth/token" => Self::Token,
            "/oauth/authorize" => Self::Authorize,
            "/login" => Self::Login,
            "/logout" => Self::Logout,
            "/account/grants" => Self::AccountGrants,
            "/oauth/revoke" => Self::Revoke,
            "/oauth/introspect" => Self::Introspect,
            "/verify" => Self::Verify,
            "/__probe" if cfg!(feature = "probe") => Self::Probe,
            "/admin" => Self::Admin,
            "/account" => Self::Unknown,
            _ if path.starts_with("/admin/") => Self::Admin,
            _ if RESERVED.iter().any(|p| path.starts_with(p)) => Self::Unknown,
            _ => return None,
        })
    }

    /// The largest body the endpoint reads: 1 MiB for the admin API (a whole route table),
    /// 64 KiB elsewhere.
    pub fn body_limit(self) -> usize {
        match self {
            Self::Admin => 1024 * 1024,
            _ => 64 * 1024,
        }
    }

    /// The methods a browser may use on the endpoint from any origin (CORS), for clients that
    /// run in a browser (e.g. the MCP Inspector): the discovery documents, registration and
    /// the token endpoint (which allows it only for calls without a client secret, see
    /// [`token_endpoint::token`]). Never the admin API or the HTML pages.
    fn cors(self) -> Option<&'static str> {
        match self {
            Self::Metadata | Self::Jwks | Self::ProtectedResource => Some("GET, HEAD"),
            Self::Register | Self::Token => Some("POST"),
            _ => None,
        }
    }

    /// Answers `req`, which this endpoint serves, and logs its line
    /// ([`crate::ports::LogEvent::request`]).
    pub async fn answer(self, ctx: &Context<'_>, req: &Request) -> Response {
        let started = ctx.clock.now_ms();
        let resp = match self.cors() {
            Some(methods) if req.method == Method::Options => Response::empty(204)
                .cors()
                .header("access-control-allow-methods", methods)
                .header("access-control-allow-headers", "content-type")
                .header("access-control-max-age", "600"),
            Some(_) if self != Self::Token => self.serve(ctx, req).await.cors(),
            _ => self.serve(ctx, req).await,
        };
        ctx.log_request(&req.path, resp.status, resp.failure.as_ref(), started);
        resp
    }

    async fn serve(self, ctx: &Context<'_>, req: &Request) -> Response {
        match self {
            Self::Metadata => metadata::authorization_server(ctx, req).await,
            Self::OpenIdConfiguration => metadata::openid_configuration(ctx, req).await,
            Self::UserInfo => userinfo::userinfo(ctx, req).await,
            Self::EndSession => end_session::end_session(ctx, req).await,
            Self::Jwks => metadata::jwks(ctx, req).await,
            Self::ProtectedResource => metadata::protected_resource(ctx, req).await,
            Self::Register => registration::register(ctx, req).await,
            Self::Token => token_endpoint::token(ctx, req).await,
            Self::Authorize => authorize::authorize(ctx, req).await,
            Self::Login => login::login(ctx, req).await,
            Self::Logout => login::logout(ctx, req),
            Self::AccountGrants => account::account_grants(ctx, req).await,
            Self::Revoke => introspection::revoke(ctx, req).await,
            Self::Introspect => introspection::introspect(ctx, req).await,
            Self::Verify => introspection::verify_endpoint(ctx, req).await,
            #[cfg(feature = "probe")]
            Self::Probe => crate::probe::handle(ctx, req).await,
            Self::Admin => admin::handle(ctx, req).await,
            #[cfg(not(feature = "probe"))]
            Self::Probe => not_found(),
            Self::Unknown => not_found(),
        }
    }
}

/// Answers one request, and logs its line ([`crate::ports::LogEvent::request`]).
pub async fn handle(ctx: &Context<'_>, req: Request) -> Response {
    Endpoint::of(&req.path)
        .unwrap_or(Endpoint::Unknown)
        .answer(ctx, &req)
        .await
}
