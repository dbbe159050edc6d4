//! Reviewing and revoking grants: the signed-in user's `GET/POST /account/grants` page and the
//! operator's `GET /admin/v1/grants?user=&client=` and `DELETE /admin/v1/grants/{id}`.
//!
//! Revoking a grant drops its consent and every refresh token under it in the grant shard at
//! once, and puts its live access tokens on the deny-list (RFC 7009 §2.1 spirit: revoking the
//! grant revokes what it issued). Each revocation is audited by the authority.

use chrono::{DateTime, Datelike, Timelike};

use crate::api::GrantView;
use crate::context::Context;
use crate::error::only;
use crate::form::posted_form;
use crate::grants::{shard_of, shard_of_token, GrantCommand, GrantReply, SHARDS};
use crate::http::{see_other, Method, Request, Response};
use crate::pages::{self, GrantRow, ACCOUNT_PAGE};
use crate::people::settle;
use crate::ports::StoreError;
use crate::session::Session;

/// Every grant, optionally only `user`'s and/or only `client_id`'s (one shard when the user is
/// known, all shards otherwise).
pub async fn list_grants(
    ctx: &Context<'_>,
    user: Option<&str>,
    client_id: Option<&str>,
) -> Result<Vec<GrantView>, StoreError> {
    let shards: Vec<u32> = match user {
        Some(u) => vec![shard_of(u)],
        None => (0..SHARDS).collect(),
    };
    let command = GrantCommand::List {
        user: user.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
    };
    let mut all = Vec::new();
    for shard in shards {
        if let GrantReply::Grants { grants } = ctx.grants.call(shard, &command).await? {
            all.extend(grants);
        }
    }
    all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    Ok(all)
}

/// Revokes grant `id` (only if it is `user`'s, when given); whether there was one to revoke.
pub async fn revoke_grant(
    ctx: &Context<'_>,
    actor: &str,
    id: &str,
    user: Option<&str>,
) -> Result<bool, StoreError> {
    let Some(shard) = shard_of_token(id) else {
        return Ok(false);
    };
    let command = GrantCommand::Revoke {
        grant_id: id.to_owned(),
        user: user.map(str::to_owned),
    };
    match ctx.grants.call(shard, &command).await? {
        GrantReply::Revoked {
            revoked: Some(event),
        } => {
            settle(ctx, shard, actor, event).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `secs` as `YYYY-MM-DD HH:MM UTC` (written out: chrono's `format` would link its whole
/// strftime machinery into the wasm).
fn date(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|d| {
            // `%Y` signs a year past 9999.
            let sign = if d.year() > 9999 { "+" } else { "" };
            format!(
                "{sign}{:04}-{:02}-{:02} {:02}:{:02} UTC",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute()
            )
        })
        .unwrap_or_default()
}

/// `GET/POST /account/grants`.
pub async fn account_grants(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Post]) {
        return refusal;
    }
    let signed_in = match Session::signed_in(ctx, req).await {
        Ok(signed_in) => signed_in,
        Err(e) => return pages::unavailable("The service", e),
    };
    let Some((session, user)) = signed_in else {
        return see_other("/login?next=%2Faccount%2Fgrants");
    };
    let mut notice = None;
    if req.method == Method::Post {
        let Some(form) = posted_form(req)
            .ok()
            .filter(|f| session.csrf_matches(ctx, f.get("csrf_token")))
        else {
            return pages::error(
                403,
                "Form expired",
                "This form expired or did not come from this site. Reload the page and try again.",
            );
        };
        let id = form.get("grant_id").unwrap_or_default();
        match revoke_grant(ctx, &format!("user:{}", user.id), id, Some(&user.id)).await {
            Ok(true) => return see_other(&format!("{ACCOUNT_PAGE}?revoked=1")),
            Ok(false) => notice = Some("That authorisation no longer exists."),
            Err(e) => return pages::unavailable("The service", e),
        }
    } else if req.query.as_deref() == Some("revoked=1") {
        notice = Some("Access revoked.");
    }
    let grants = match list_grants(ctx, Some(&user.id), None).await {
        Ok(grants) => grants,
        Err(e) => return pages::unavailable("The service", e),
    };
    let mut rows = Vec::with_capacity(grants.len());
    for g in grants {
        let name = match ctx.logged("naming a client", ctx.client(&g.client_id).await) {
            Some(Some(c)) => c.client.name.clone(),
            _ => g.client_id.clone(),
        };
        rows.push(GrantRow {
            id: g.id,
            client_name: name,
            scopes: g.scopes.join(" "),
            created: date(g.created_at),
            updated: date(g.updated_at),
        });
    }
    pages::grants(&user.name, &rows, &session.csrf(ctx), notice)
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_reads_as_strftime_would() {
        for secs in [
            0,
            1_700_000_059,
            253_402_300_799,
            253_402_300_800,
            8_000_000_000_000,
        ] {
            let expected = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap(), 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M UTC")
                .to_string();
            assert_eq!(super::date(secs), expected);
        }
        assert_eq!(super::date(u64::MAX), "");
    }
}
