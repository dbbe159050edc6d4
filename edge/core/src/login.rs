//! `GET/POST /login`: signing a person in, and the credential check the password grant shares.
//!
//! Credentials are checked against the user store ([`crate::users::verify_user_password`]),
//! or, when the operator sets `UPSTREAM_LOGIN_URL`, by the origin's own login endpoint (JSON
//! `POST {"username", "password"}`; `200 {"user_id": …}` is a match), so a site becomes an
//! OAuth provider without moving its users.
//! Failed attempts are counted per client network (an IPv6 caller's /64) and per username in
//! the grant shards, which lock the key out with exponential back-off and cap a username's
//! guesses (RFC 9700 §4.15; NIST SP 800-63B §5.2.2; rules in `grants::lockout`). The network is
//! asked first, so a locked-out caller leaves no trace under the names it tries; while a key is
//! locked out no password is even checked. Before that, every posted
//! form counts against the caller's address and, when `next` is the authorization request of
//! an existing client and the form's CSRF token is good, against that client's sign-in budget
//! ([`ratelimit`]): a post without a session costs a stranger nothing, so it must not spend a
//! budget that the client's real users need. A successful sign-in
//! starts a new session (fresh id, so no fixation) and returns to `next`, which may only name
//! the authorization endpoint or the account page (no open redirect).
//!
//! `POST /logout` ends the browser's session (CSRF-protected) and replaces it with an anonymous
//! one.

use serde::Deserialize;

use crate::app::{only, Context};
use crate::form::Form;
use crate::grants::{GrantCommand, GrantReply, LockKey};
use crate::http::{Method, Request, Response};
use crate::pages;
use crate::people::session_generation;
use crate::ports::StoreError;
use crate::ratelimit::{self, Budget};
use crate::session::{Session, SessionUser};
use crate::lifetimes::SESSION_TTL;
use crate::users::verify_user_password;

/// Longest answer read from an upstream login endpoint.
const UPSTREAM_MAX_ANSWER: usize = 16 * 1024;
/// Where a sign-in returns when `next` is absent or not allowed.
pub const ACCOUNT_PAGE: &str = "/account/grants";

/// A signed-in user's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
    pub name: String,
}

/// The outcome of a credential check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Valid(UserRef),
    Invalid,
    /// Locked out for this many more seconds.
    Locked(u64),
}

/// The lockout keys of an attempt, in the order they are asked: the caller's network (callers
/// without an address share one), then the username.
fn lockout_keys(req: &Request, username: &str) -> [LockKey; 2] {
    let network = req.client_network().unwrap_or_else(|| "unknown".into());
    [LockKey::Network(network), LockKey::username(username)]
}

async fn lockout(
    ctx: &Context<'_>,
    command: GrantCommand,
    key: &LockKey,
) -> Result<u64, StoreError> {
    match ctx.grants.call(key.shard(), &command).await? {
        GrantReply::Lockout { retry_after } => Ok(retry_after),
        _ => Ok(0),
    }
}

/// Checks `username` and `password`, honouring and updating the lockouts.
pub async fn check_credentials(
    ctx: &Context<'_>,
    req: &Request,
    username: &str,
    password: &str,
) -> Result<Credentials, StoreError> {
    let keys = lockout_keys(req, username);
    for key in &keys {
        let attempt = GrantCommand::LoginAttempt { key: key.clone() };
        let wait = lockout(ctx, attempt, key).await?;
        if wait > 0 {
            return Ok(Credentials::Locked(wait));
        }
    }
    let found = match &ctx.settings.upstream_login_url {
        Some(url) => upstream_login(ctx, url, username, password).await?,
        None => verify_user_password(ctx, username, password)
            .await?
            .map(|record| UserRef {
                id: record.user.id,
                name: record.user.username,
            }),
    };
    let Some(user) = found else {
        // Every admitted attempt already counts as a failure.
        return Ok(Credentials::Invalid);
    };
    for key in &keys {
        let forgive = GrantCommand::LoginSucceeded { key: key.clone() };
        lockout(ctx, forgive, key).await?;
    }
    Ok(Credentials::Valid(user))
}

/// The origin's answer to a successful sign-in.
#[derive(Deserialize)]
struct UpstreamUser {
    user_id: String,
}

/// Asks the origin's own login endpoint: `POST {"username", "password"}` as JSON; a 200 with
/// `{"user_id": "…"}` is a match, any other 4xx a mismatch, anything else an outage.
async fn upstream_login(
    ctx: &Context<'_>,
    url: &str,
    username: &str,
    password: &str,
) -> Result<Option<UserRef>, StoreError> {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let (status, text) = ctx
        .http
        .post_json(url, &body, UPSTREAM_MAX_ANSWER)
        .await
        .map_err(|e| StoreError(format!("upstream login: {e}")))?;
    match status {
        200 => {
            let user: UpstreamUser = serde_json::from_str(&text)
                .map_err(|_| StoreError("upstream login answered no user_id".into()))?;
            let id = user.user_id.trim();
            if !is_upstream_user_id(id) {
                return Err(StoreError("upstream login answered a bad user_id".into()));
            }
            Ok(Some(UserRef {
                id: id.to_owned(),
                name: username.to_owned(),
            }))
        }
        400..=499 => Ok(None),
        other => Err(StoreError(format!("upstream login answered {other}"))),
    }
}

/// Whether `id` is a user id the origin's login endpoint may answer: 1 to 256 bytes, no
/// control characters, no surrounding space.
pub fn is_upstream_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256 && id.trim() == id && !id.chars().any(char::is_control)
}

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
        .filter_map(|(_, v)| crate::authorize::origin_of(&v))
        .collect()
}

/// A 303 See Other to `location` (after a form post, the browser follows with a GET).
pub fn see_other(location: &str) -> Response {
    Response::empty(303).header("location", location).no_store()
}

/// The client a sign-in is for: the `client_id` of a `next` that is the authorization
/// endpoint, when that client exists (so made-up ids create no rate-limit keys).
async fn client_of_next(ctx: &Context<'_>, next: &str) -> Option<String> {
    let query = next.strip_prefix("/oauth/authorize?")?;
    let (_, id) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "client_id")?;
    if id.is_empty() || id.len() > 256 {
        return None;
    }
    let record = ctx.client(&id).await.ok()??;
    Some(record.client.client_id.clone())
}

/// The 429 page of a tripped sign-in limit; `whose` completes "Too many sign-in attempts …".
fn too_many_attempts(whose: &str) -> Response {
    pages::error(
        429,
        "Too many attempts",
        &format!("Too many sign-in attempts {whose}. Please wait a minute and try again."),
    )
    .header("retry-after", crate::lifetimes::RETRY_AFTER_SECS.to_string())
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
        return pages::login(
            &session.csrf(ctx),
            &next,
            "",
            None,
            200,
            &next_form_targets(&next),
        )
        .header("set-cookie", session.cookie(ctx, req));
    }
    if ratelimit::check_ip(ctx, req).await.is_err() {
        return too_many_attempts("from your network");
    }
    let form = match (req.media_type().as_deref(), req.body_too_large) {
        (Some("application/x-www-form-urlencoded"), false) => Form::parse(&req.body).ok(),
        _ => None,
    };
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
    match check_credentials(ctx, req, username, password).await {
        Ok(Credentials::Valid(user)) => match signed_in_session(ctx, user).await {
            Ok(signed_in) => see_other(&next).header("set-cookie", signed_in.cookie(ctx, req)),
            Err(_) => sign_in_unavailable(),
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
        Err(_) => sign_in_unavailable(),
    }
}

fn sign_in_unavailable() -> Response {
    pages::error(
        503,
        "Temporarily unavailable",
        "Signing in is briefly unavailable. Please retry.",
    )
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
        auth_time: ctx.clock.now(),
        generation,
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
    let form = match (req.media_type().as_deref(), req.body_too_large) {
        (Some("application/x-www-form-urlencoded"), false) => Form::parse(&req.body).ok(),
        _ => None,
    };
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
    let signed_out = Session::start(ctx, None);
    see_other("/login").header("set-cookie", signed_out.cookie(ctx, req))
}

#[cfg(test)]
mod tests;

