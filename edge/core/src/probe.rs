//! Bench-only CPU probe (cargo feature `probe`; never in a release build).
//!
//! `GET /__probe?op=<op>&n=<n>[&client_id=..&secret=..]` runs one hot path `n` times inside the
//! runtime and answers 204. workerd freezes `Date.now()` while code computes, so the loop
//! cannot time itself: `cargo xtask bench` times `n = 0` and `n = N` from outside and divides.

use crate::context::Context;
use crate::http::{Request, Response};
use crate::tokens::{self, AccessClaims, Audience};

/// Runs the probe.
pub async fn handle(ctx: &Context<'_>, req: &Request) -> Response {
    let query = req.query.as_deref().unwrap_or_default();
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let n: u32 = param("n").parse().unwrap_or(0).min(100_000);
    let (id, secret) = (param("client_id"), param("secret"));
    let Ok(keys) = ctx.keys().await else {
        return Response::empty(503);
    };
    let claims = AccessClaims {
        iss: ctx.caller.issuer.clone(),
        sub: id.clone(),
        aud: Audience::One(ctx.caller.issuer.clone()),
        jti: "probe-jti-0123456789ab".into(),
        client_id: id.clone(),
        scope: "read".into(),
        extra: serde_json::Map::new(),
        cnf: None,
    };
    let now = ctx.clock.now();
    let Ok(token) = tokens::sign(&keys.loaded, claims.clone(), now, 3600, ctx.signatures).await
    else {
        return Response::empty(503);
    };
    let token_request = Request::new(crate::http::Method::Post, &req.origin, "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ));
    let gateway_request = Request::new(crate::http::Method::Get, &req.origin, "/api/items")
        .with_header("authorization", &format!("Bearer {token}"));
    let mut ok = true;
    for _ in 0..n {
        ok &= match param("op").as_str() {
            "lookup" => matches!(ctx.client(&id).await, Ok(Some(_))),
            "secret" => match ctx.client(&id).await {
                Ok(Some(c)) => c.secret_matches(ctx.secrets, &secret, now),
                _ => false,
            },
            "sign" => tokens::sign(&keys.loaded, claims.clone(), now, 3600, ctx.signatures)
                .await
                .is_ok(),
            "verify" => tokens::verify_signature(&token, &keys.loaded, ctx.signatures)
                .await
                .is_ok(),
            "token" => {
                Box::pin(crate::token_endpoint::token(ctx, &token_request))
                    .await
                    .status
                    == 200
            }
            "gateway" => matches!(
                Box::pin(crate::gateway::decide(ctx, &gateway_request)).await,
                crate::gateway::Decision::Forward(_)
            ),
            "form" => crate::form::Form::parse(b"grant_type=client_credentials&scope=read").is_ok(),
            _ => true,
        };
    }
    Response::empty(if ok { 204 } else { 400 })
}
