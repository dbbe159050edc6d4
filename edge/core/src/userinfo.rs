//! `GET/POST /oauth/userinfo`: the OpenID Connect UserInfo endpoint (OIDC Core §5.3).
//!
//! The caller presents an access token of ours in `Authorization: Bearer` (RFC 6750 §2.1), or
//! a DPoP-bound one under `DPoP` with its proof (RFC 9449 §7), verified by the same check as
//! `/verify` and the gateway ([`crate::bearer::authenticate`]: signature, claims, the
//! deny-list, the binding). Its scopes must hold `openid`; the answer is `sub` plus the claims
//! its `profile` and `email` scopes release ([`released`]) from the user's profile (the
//! admin API's user fields, published to KV under the user id). Refusals follow RFC 6750 §3:
//! 401 with `WWW-Authenticate` for a missing or bad token, 403 `insufficient_scope` without
//! `openid`.

use serde_json::{Map, Value};

use crate::api::Profile;
use crate::bearer::{authenticate, scope_challenge};
use crate::context::Context;
use crate::error::{only, OAuthError};
use crate::http::{Method, Request, Response};
use crate::scope::{ScopeSet, OPENID};
use crate::users::user_profile_key;

/// The claims `scopes` release from `profile` (OIDC Core §5.4): `profile` releases `name`,
/// `given_name`, `family_name`, `locale` and `picture`; `email` releases `email` and
/// `email_verified`. Absent fields are left out.
pub fn released(sub: &str, profile: &Profile, scopes: &ScopeSet) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), sub.into());
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert(name.into(), v);
        }
    };
    let text = |v: &Option<String>| v.clone().map(Value::from);
    if scopes.contains("profile") {
        put("name", text(&profile.name));
        put("given_name", text(&profile.given_name));
        put("family_name", text(&profile.family_name));
        put("locale", text(&profile.locale));
        put("picture", text(&profile.picture));
    }
    if scopes.contains("email") {
        put("email", text(&profile.email));
        put("email_verified", profile.email_verified.map(Value::from));
    }
    out
}

/// `GET/POST /oauth/userinfo`.
pub async fn userinfo(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Post]) {
        return refusal;
    }
    let verified = match authenticate(ctx, req, None).await {
        Ok(v) => v,
        Err(refusal) => return refusal.into_response(req, false, ""),
    };
    let scopes = ScopeSet::of_claim(&verified.claims.scope);
    // A client's own token (client credentials) names no person; it never holds `openid`
    // from a sign-in, only from a grant whose `sub` is a user.
    if !scopes.contains(OPENID) || verified.claims.sub == verified.claims.client_id {
        return scope_challenge(OPENID, "the access token was not issued for openid", "");
    }
    let sub = &verified.claims.sub;
    let profile = match ctx.kv_json::<Profile>(&user_profile_key(sub)).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return OAuthError::from(e).into_response(),
    };
    Response::json(200, &released(sub, &profile, &scopes)).no_store()
}

#[cfg(test)]
mod tests;
