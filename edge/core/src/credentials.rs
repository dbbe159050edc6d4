//! Checking a person's username and password, for the login page and the password grant:
//! against the user store's KV copy, or, when the operator sets `UPSTREAM_LOGIN_URL`, the
//! origin's own login endpoint (JSON `POST {"username", "password"}`; `200 {"user_id": …}` is
//! a match). The lockouts are asked first and told the outcome (rules in `grants::lockout`):
//! per client network (an IPv6 caller's /64), then per username, so a locked-out caller leaves
//! no trace under the names it tries, and while a key is locked out no password is checked.

use serde::Deserialize;

use crate::context::Context;
use crate::grants::{GrantCommand, GrantReply, LockKey};
use crate::ports::StoreError;
use crate::users::{
    is_upstream_user_id, phc_hash, user_login_key, UserRecord, MAX_PASSWORD_CHARS,
    MAX_USERNAME_CHARS,
};

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
fn lockout_keys(ctx: &Context<'_>, username: &str) -> [LockKey; 2] {
    let network = ctx
        .caller
        .network
        .clone()
        .unwrap_or_else(|| "unknown".into());
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
    username: &str,
    password: &str,
) -> Result<Credentials, StoreError> {
    let keys = lockout_keys(ctx, username);
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

/// Longest answer read from an upstream login endpoint.
const UPSTREAM_MAX_ANSWER: usize = 16 * 1024;

/// Checks a username and password for the login page and the password grant.
///
/// Returns the user when the password matches and the user is enabled; `None` otherwise (the
/// caller cannot tell an unknown user from a wrong password or a disabled user). An unknown
/// user costs one hash as well, so timing does not reveal which usernames exist. Reads the
/// user's KV copy, so a change reaches every location within KV's propagation delay.
pub async fn verify_user_password(
    ctx: &Context<'_>,
    username: &str,
    password: &str,
) -> Result<Option<UserRecord>, StoreError> {
    if username.chars().count() > MAX_USERNAME_CHARS
        || password.chars().count() > MAX_PASSWORD_CHARS
    {
        return Ok(None);
    }
    let Some(record) = ctx.kv_json::<UserRecord>(&user_login_key(username)).await? else {
        let _ = phc_hash(password, b"portcullis-dummy");
        return Ok(None);
    };
    let ok = record.password_hash.matches(password);
    Ok((ok && !record.user.disabled).then_some(record))
}

/// Whether the store still holds user `id` under `username`, enabled (read from KV, like a
/// sign-in).
pub async fn is_active(ctx: &Context<'_>, id: &str, username: &str) -> Result<bool, StoreError> {
    Ok(ctx
        .kv_json::<UserRecord>(&user_login_key(username))
        .await?
        .is_some_and(|r| r.user.id == id && !r.user.disabled))
}
