//! Single-use ids: a client assertion's `jti` (RFC 7523 §3) and a DPoP proof's (RFC 9449
//! §11.1), each recorded in a grant shard ([`crate::grants`], `GrantCommand::FirstUse`) under a
//! hash of the id and whose it is, until it could no longer pass its time checks. A shard runs
//! one command at a time, so of concurrent uses of one id, in any isolates, exactly one is
//! first.

use crate::context::Context;
use crate::grants::{shard_of, GrantCommand, GrantReply};
use crate::ports::StoreError;

/// Whether `key` (a hash) is used for the first time; it is remembered until `until`
/// (seconds).
pub async fn first_use(ctx: &Context<'_>, key: &str, until: u64) -> Result<bool, StoreError> {
    let command = GrantCommand::FirstUse {
        key: key.to_owned(),
        until,
    };
    match ctx.grants.call(shard_of(key), &command).await? {
        GrantReply::FirstUse { first } => Ok(first),
        other => Err(StoreError(format!("unexpected grant reply {other:?}"))),
    }
}
