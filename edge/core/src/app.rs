//! The request router: [`handle`] takes a plain request, answers it from the endpoint that
//! serves its path and logs the request's line; the runtime adapter calls it and nothing else.

use crate::context::Context;
use crate::error::not_found;
use crate::http::{Request, Response};
use crate::{account, admin, authorize, introspection, login, metadata, token_endpoint};

/// Answers one request, and logs its line ([`crate::ports::LogEvent::request`]).
pub async fn handle(ctx: &Context<'_>, req: Request) -> Response {
    let started = ctx.clock.now_ms();
    let resp = route(ctx, &req).await;
    ctx.log_request(&req.path, resp.status, resp.failure.as_ref(), started);
    resp
}

async fn route(ctx: &Context<'_>, req: &Request) -> Response {
    let path = req.path.as_str();
    match path {
        "/.well-known/oauth-authorization-server" | "/.well-known/openid-configuration" => {
            metadata::authorization_server(ctx, req).await
        }
        "/.well-known/jwks.json" => metadata::jwks(ctx, req).await,
        "/oauth/token" => token_endpoint::token(ctx, req).await,
        "/oauth/authorize" => authorize::authorize(ctx, req).await,
        "/login" => login::login(ctx, req).await,
        "/logout" => login::logout(ctx, req),
        "/account/grants" => account::account_grants(ctx, req).await,
        "/oauth/revoke" => introspection::revoke(ctx, req).await,
        "/oauth/introspect" => introspection::introspect(ctx, req).await,
        "/verify" => introspection::verify_endpoint(ctx, req).await,
        #[cfg(feature = "probe")]
        "/__probe" => crate::probe::handle(ctx, req).await,
        _ if path == "/admin" || path.starts_with("/admin/") => admin::handle(ctx, req).await,
        _ => not_found(),
    }
}

/// Whether Portcullis itself serves `path` (so [`handle`] answers it, body and all). Every
/// other path belongs to the gateway ([`crate::gateway::decide`]), which decides from the
/// method, path and headers so the body can stream to the origin. An endpoint added to
/// [`handle`] outside these prefixes must be added here too.
pub fn is_endpoint(path: &str) -> bool {
    const EXACT: &[&str] = &["/verify", "/login", "/logout", "/admin", "/account"];
    const PREFIXES: &[&str] = &["/.well-known/", "/oauth/", "/admin/", "/account/"];
    EXACT.contains(&path)
        || PREFIXES.iter().any(|p| path.starts_with(p))
        || (cfg!(feature = "probe") && path == "/__probe")
}

/// The largest body a Portcullis endpoint reads: 1 MiB for the admin API (a whole route
/// table), 64 KiB elsewhere.
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/admin/") {
        1024 * 1024
    } else {
        64 * 1024
    }
}
