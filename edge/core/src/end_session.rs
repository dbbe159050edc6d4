//! `GET/POST /oauth/logout`: OpenID Connect RP-Initiated Logout 1.0 (the
//! `end_session_endpoint`).
//!
//! An application sends the person here with `id_token_hint` (an ID token we issued to it,
//! expired or not), `post_logout_redirect_uri` (matched exactly against the client's
//! registered `post_logout_redirect_uris`; it needs the client, named by the hint's `aud` or by
//! `client_id`) and `state` (returned as it came). The Portcullis session ends
//! ([`crate::login::signed_out_cookie`], the same sign-out as `POST /logout`) at once when the
//! hint names the signed-in person (or nobody is signed in); otherwise (no hint, or a hint for
//! someone else) the person confirms on a page whose form carries the session's CSRF token,
//! so no other site can sign a person out (§2, §6). Any refusal is a page, never a redirect:
//! an unregistered `post_logout_redirect_uri` is never followed.

use crate::authorize::read_params;
use crate::context::Context;
use crate::error::only;
use crate::form::Form;
use crate::http::{Method, Request, Response};
use crate::id_token::{self, IdClaims};
use crate::login::signed_out_cookie;
use crate::pages;
use crate::session::Session;
use crate::tokens::Audience;
use crate::uri::{origin_of, with_params};

/// The parameters the confirmation form carries back.
const CARRIED: &[&str] = &["post_logout_redirect_uri", "state", "client_id"];

/// `GET/POST /oauth/logout`.
pub async fn end_session(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Post]) {
        return refusal;
    }
    let form = match read_params(req) {
        Ok(f) => f,
        Err(why) => return pages::error(400, "Invalid request", why),
    };
    let bad = |msg: &str| pages::error(400, "Invalid sign-out request", msg);
    let hint = match form.get("id_token_hint") {
        Some(token) => match id_token::hint(ctx, token).await {
            Ok(claims) => Some(claims),
            Err(_) => return bad("The id_token_hint is not an ID token of this server."),
        },
        None => None,
    };
    let client_id = match client_of(hint.as_ref(), form.get("client_id")) {
        Ok(id) => id,
        Err(why) => return bad(why),
    };
    let client = match client_id {
        Some(id) => match ctx.client(&id).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => return bad("The application is not registered."),
            Err(e) => return pages::unavailable("Signing out", e),
        },
        None => None,
    };
    let back = form.get("post_logout_redirect_uri");
    if let Some(uri) = back {
        let registered = client
            .as_ref()
            .is_some_and(|c| c.client.post_logout_redirect_uris.iter().any(|r| r == uri));
        if !registered {
            return bad("The post_logout_redirect_uri is not registered for this application.");
        }
    }
    let session = Session::from_request(ctx, req);
    let signed_in = session.as_ref().and_then(|s| s.user.as_ref());
    let proven = match (&hint, signed_in) {
        (_, None) => true,
        (Some(h), Some(user)) => h.sub == user.id,
        (None, Some(_)) => false,
    };
    let confirmed = req.method == Method::Post
        && form.get("decision") == Some("logout")
        && session
            .as_ref()
            .is_some_and(|s| s.csrf_matches(ctx, form.get("csrf_token")));
    if !proven && !confirmed {
        let Some(session) = session else {
            return bad("No session to sign out of.");
        };
        let params = carried(&form);
        let targets: Vec<String> = back.and_then(origin_of).into_iter().collect();
        let name = client.as_ref().map(|c| c.client.name.as_str());
        return pages::logout_confirm(name, &params, &session.csrf(ctx), &targets);
    }
    let ended = match back {
        Some(uri) => {
            let state: Vec<(&str, &str)> = form
                .get("state")
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            Response::empty(303)
                .header("location", with_params(uri, false, &state))
                .no_store()
        }
        None => pages::signed_out(),
    };
    ended.header("set-cookie", signed_out_cookie(ctx, req))
}

/// The client a logout request is for: the hint's audience, or `client_id`; both must agree.
fn client_of(
    hint: Option<&IdClaims>,
    client_id: Option<&str>,
) -> Result<Option<String>, &'static str> {
    let from_hint = match hint.map(|h| &h.aud) {
        Some(Audience::One(aud)) => Some(aud.clone()),
        Some(Audience::Many(auds)) => auds.first().cloned(),
        None => None,
    };
    match (from_hint, client_id) {
        (Some(h), Some(c)) if h != c => Err("client_id is not the audience of the id_token_hint."),
        (Some(h), _) => Ok(Some(h)),
        (None, c) => Ok(c.filter(|c| c.len() <= 256).map(str::to_owned)),
    }
}

/// The request's parameters the confirmation form sends back.
fn carried(form: &Form) -> Vec<(String, String)> {
    CARRIED
        .iter()
        .filter_map(|k| form.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests;
