//! Ending what a person signed in to, so that grants follow the person: the second half of a
//! user change (disable, delete, new password, an operator's "sign out everywhere") and the
//! delivery of every revocation a grant shard decides.
//!
//! Both halves are durable before anything is attempted: the authority stores a sign-out task
//! with the user change ([`crate::authority::SignoutTask`]), and a shard writes each revocation
//! it decides to its outbox in the same command ([`crate::grants`]). [`finish_signouts`] does
//! the tasks (end the person in their shard, forward the revocations to the authority for the
//! deny-list and the audit log, acknowledge), [`settle`] forwards and acknowledges one
//! revocation, and [`resume`] retries whatever a failure left behind: the adapter runs it
//! every minute (a Cron Trigger), and the requests that make such changes run it at once.
//! Every step may run twice without effect: a person ended twice just gets one more session
//! generation, and the authority applies a revocation id once.

use crate::authority::{Command, Reply, SignoutTask};
use crate::context::Context;
use crate::grants::{shard_of, GrantCommand, GrantEvent, GrantReply, SHARDS};
use crate::ports::StoreError;

/// Forwards `event`, decided by grant shard `shard`, to the authority (deny-list and audit,
/// under `actor`), then tells the shard it need not be retried.
pub async fn settle(
    ctx: &Context<'_>,
    shard: u32,
    actor: &str,
    event: GrantEvent,
) -> Result<(), StoreError> {
    let id = event.id.clone();
    apply_event(ctx, actor, event).await?;
    if !id.is_empty() {
        ctx.grants
            .call(shard, &GrantCommand::Delivered { ids: vec![id] })
            .await?;
    }
    Ok(())
}

/// Ends the person of `task` in their shard, settles the revocations, and reports the task
/// done.
async fn end(ctx: &Context<'_>, task: SignoutTask) -> Result<(), StoreError> {
    let shard = shard_of(&task.user);
    let command = GrantCommand::EndPerson {
        user: task.user.clone(),
        revoke_grants: task.revoke_grants,
        action: task.action.clone(),
        actor: task.actor.clone(),
    };
    let GrantReply::Ended { events } = ctx.grants.call(shard, &command).await? else {
        return Err(StoreError("unexpected grant reply".into()));
    };
    for event in events {
        settle(ctx, shard, &task.actor, event).await?;
    }
    let actor = task.actor.clone();
    ctx.command(&actor, Command::SignoutDone { task })
        .await
        .map(drop)
}

/// Does every pending sign-out task.
pub async fn finish_signouts(ctx: &Context<'_>) -> Result<(), StoreError> {
    let Reply::Signouts(tasks) = ctx.command("system", Command::PendingSignouts).await? else {
        return Err(StoreError("unexpected authority reply".into()));
    };
    for task in tasks {
        end(ctx, task).await?;
    }
    Ok(())
}

/// Retries everything a failure left behind: pending sign-out tasks, then every shard's
/// undelivered revocations. A step that fails again stays for the next run, and does not keep
/// the other shards from theirs; the first failure is answered.
pub async fn resume(ctx: &Context<'_>) -> Result<(), StoreError> {
    let mut outcome = finish_signouts(ctx).await;
    for shard in 0..SHARDS {
        let delivered = deliver_undelivered(ctx, shard).await;
        outcome = outcome.and(delivered);
    }
    outcome
}

/// Settles the revocations grant shard `shard` holds undelivered.
async fn deliver_undelivered(ctx: &Context<'_>, shard: u32) -> Result<(), StoreError> {
    let GrantReply::Undelivered { pending } =
        ctx.grants.call(shard, &GrantCommand::Undelivered).await?
    else {
        return Err(StoreError("unexpected grant reply".into()));
    };
    for p in pending {
        settle(ctx, shard, &p.actor, p.event).await?;
    }
    Ok(())
}

/// The session generation of `user`, from their shard.
pub async fn session_generation(ctx: &Context<'_>, user: &str) -> Result<u64, StoreError> {
    let command = GrantCommand::SessionGeneration {
        user: user.to_owned(),
    };
    match ctx.grants.call(shard_of(user), &command).await? {
        GrantReply::Generation { generation } => Ok(generation),
        _ => Err(StoreError("unexpected grant reply".into())),
    }
}

/// Sends what a grant shard decided to the authority: deny-list entries (kept one leeway past
/// their expiry) and the audit entry. A revocation from a shard's outbox goes through
/// [`settle`], which also acknowledges it.
pub async fn apply_event(
    ctx: &Context<'_>,
    actor: &str,
    mut event: GrantEvent,
) -> Result<(), StoreError> {
    for token in &mut event.deny {
        token.exp += ctx.settings.leeway;
    }
    if let Reply::Denylist(head) = ctx.command(actor, Command::GrantEvent { event }).await? {
        ctx.install_denylist(head).await?;
    }
    Ok(())
}
