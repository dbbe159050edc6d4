//! `GET/POST /login`: signing a person in (the check itself, lockouts included, is
//! [`crate::credentials`], shared with the password grant).
//!
//! Failed attempts lock the key out with exponential back-off and cap a username's guesses
//! (RFC 9700 §4.15; NIST SP 800-63B §5.2.2). Before the check, every posted
//! form counts against the caller's address and, when `next` is the authorization request of
//! an existing client and the form's CSRF token is good, against that client's sign-in budget
//! ([`ratelimit`]): a post without a session costs a stranger nothing, so it must not spend a
//! budget that the client's real users need. A successful sign-in
//! starts a new session (fresh id, so no fixation) and returns to `next`, which may only name
//! the authorization endpoint or the account page (no open redirect).
//!
//! `POST /logout` ends the browser's session (CSRF-protected) and replaces it with an anonymous
//! one.

use crate::context::Context;
use crate::credentials::{check_credentials, Credentials, UserRef};
use crate::error::only;
use crate::form::posted_form;
use crate::http::{see_other, Method, Request, Response};
use crate::lifetimes::SESSION_TTL;
use crate::pages;
use crate::pages::ACCOUNT_PAGE;
use crate::people::session_generation;
use crate::ports::StoreError;
use crate::ratelimit::{self, Budget};
use crate::session::{Session, SessionUser};
use crate::users::MAX_USERNAME_CHARS;

/// `next` if it names a page a sign-in may return to, else the account page.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        (n.starts_with("/oauth/authorize?") || *n == ACCOUNT_PAGE)
            && !n.contains(['\\', '\r', '\n', '#'])
    })
    .unwrap_or(ACCOUNT_PAGE)
    .to_owned()
}

/// The origin of the `redirect_uri` an authorization request in `next` names: a form that
/// returns there must be allowed to end at that client (`form-action`).
pub fn next_form_targets(next: &str) -> Vec<String> {
    next.split_once('?')
        .into_iter()
        .flat_map(|(_, q)| form_urlencoded::parse(q.as_bytes()))
        .filter(|(k, _)| k == "redirect_uri")
        .filter_map(|(_, v)| crate::uri::origin_of(&v))
        .collect()
}

/// Parameter `name` of the authorization request `next` names, if it names one.
fn next_param(next: &str, name: &str) -> Option<String> {
    let query = next.strip_prefix("/oauth/authorize?")?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The client a sign-in is for: the `client_id` of a `next` that is the authorization
/// endpoint, when that client exists (so made-up ids create no rate-limit keys).
async fn client_of_next(ctx: &Context<'_>, next: &str) -> Option<String> {
    let id = next_param(next, "client_id")?;
    if id.is_empty() || id.len() > 256 {
        return None;
    }
    let record = ctx.logged("reading the client of next", ctx.client(&id).await)??;
    Some(record.client.client_id.clone())
}

/// The 429 page of a tripped sign-in limit; `whose` completes "Too many sign-in attempts …".
fn too_many_attempts(whose: &str) -> Response {
    pages::error(
        429,
        "Too many attempts",
        &format!("Too many sign-in attempts {whose}. Please wait a minute and try again."),
    )
    .header(
        "retry-after",
        crate::lifetimes::RETRY_AFTER_SECS.to_string(),
    )
}

/// `GET/POST /login`.
pub async fn login(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Post]) {
        return refusal;
    }
    let existing = Session::from_request(ctx, req);
    if req.method == Method::Get {
        let query = req.query.as_deref().unwrap_or_default();
        let next = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned());
        let next = safe_next(next.as_deref());
        let session = existing.unwrap_or_else(|| Session::start(ctx, None));
        // OIDC Core §3.1.2.1: `login_hint` prefills the username.
        let hint = next_param(&next, "login_hint").unwrap_or_default();
        let hint: String = hint.chars().take(MAX_USERNAME_CHARS).collect();
        return pages::login(
            &session.csrf(ctx),
            &next,
            &hint,
            None,
            200,
            &next_form_targets(&next),
        )
        .header("set-cookie", session.cookie(ctx, req));
    }
    if ratelimit::check_ip(ctx).await.is_err() {
        return too_many_attempts("from your network");
    }
    let form = posted_form(req).ok();
    let Some(form) = form else {
        return pages::error(
            400,
            "Invalid request",
            "The sign-in form was not understood.",
        );
    };
    let next = safe_next(form.get("next"));
    let targets = next_form_targets(&next);
    let username = form.get("username").unwrap_or_default();
    let session = match existing {
        Some(s) if s.csrf_matches(ctx, form.get("csrf_token")) => s,
        _ => {
            let fresh = Session::start(ctx, None);
            return pages::login(
                &fresh.csrf(ctx),
                &next,
                username,
                Some("Your sign-in form expired. Please try again."),
                403,
                &targets,
            )
            .header("set-cookie", fresh.cookie(ctx, req));
        }
    };
    // Sign-in attempts, which anyone can make in a client's name, spend a budget of their own
    // (never the client's token budget), and only with a good CSRF token.
    if let Some(client_id) = client_of_next(ctx, &next).await {
        if ratelimit::spend(ctx, Budget::SignIn, &client_id)
            .await
            .is_err()
        {
            return too_many_attempts("for this application");
        }
    }
    let password = form.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return pages::login(
            &session.csrf(ctx),
            &next,
            username,
            Some("Enter your username and password."),
            400,
            &targets,
        );
    }
    match check_credentials(ctx, username, password).await {
        Ok(Credentials::Valid(user)) => match signed_in_session(ctx, user).await {
            Ok(signed_in) => see_other(&next).header("set-cookie", signed_in.cookie(ctx, req)),
            Err(e) => pages::unavailable("Signing in", e),
        },
        Ok(Credentials::Invalid) => pages::login(
            &session.csrf(ctx),
            &next,
            username,
            Some("Wrong username or password."),
            401,
            &targets,
        ),
        Ok(Credentials::Locked(secs)) => pages::login(
            &session.csrf(ctx),
            &next,
            username,
            Some(&format!(
                "Too many failed sign-ins. Try again in {secs} seconds."
            )),
            429,
            &targets,
        )
        .header("retry-after", secs.to_string()),
        Err(e) => pages::unavailable("Signing in", e),
    }
}

/// A new session for `user`, under their current session generation. A person signed in
/// through the origin's login endpoint gets `UPSTREAM_SESSION_SECONDS`: no session is ever
/// extended, so the origin checks them again (with their password) when it ends.
async fn signed_in_session(ctx: &Context<'_>, user: UserRef) -> Result<Session, StoreError> {
    let generation = session_generation(ctx, &user.id).await?;
    let ttl = if ctx.settings.upstream_login_url.is_some() {
        ctx.settings.upstream_session_secs
    } else {
        SESSION_TTL
    };
    let person = SessionUser {
        id: user.id,
        name: user.name,
        generation,
        auth_time: ctx.clock.now(),
    };
    Ok(Session::start_for(ctx, Some(person), ttl))
}

/// `POST /logout` (form field `csrf_token`): ends this browser's session and shows the sign-in
/// page. Without the session's CSRF token nothing is ended (RFC 9700 §4.7: no one else's page
/// can sign a person out).
pub fn logout(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal;
    }
    let form = posted_form(req).ok();
    let session = Session::from_request(ctx, req);
    let proven = session
        .as_ref()
        .zip(form.as_ref())
        .is_some_and(|(s, f)| s.csrf_matches(ctx, f.get("csrf_token")));
    if !proven {
        return pages::error(
            403,
            "Form expired",
            "This form expired or did not come from this site. Reload the page and try again.",
        );
    }
    see_other("/login").header("set-cookie", signed_out_cookie(ctx, req))
}

/// The `Set-Cookie` value that ends this browser's session: an anonymous one replaces it.
pub fn signed_out_cookie(ctx: &Context<'_>, req: &Request) -> String {
    Session::start(ctx, None).cookie(ctx, req)
}

#[cfg(test)]
mod tests;
