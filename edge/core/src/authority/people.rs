//! The authority's half of ending a person's sessions and grants: the durable sign-out tasks
//! and the memory of revocations already applied.
//!
//! A change that must end a person's sessions (disabling or deleting a user, a new password,
//! an operator's "sign out everywhere") writes a [`SignoutTask`] under `signout:<user id>` in
//! the same command that makes the change, so the change and the promise to finish it are
//! stored together. The edge then ends the person in their grant shard, forwards the
//! revocations, and reports [`super::Command::SignoutDone`]; a task still here is done again by
//! `people::resume`. Ending a person twice is harmless (one more session generation,
//! nothing left to revoke), so a task is done at least once.
//!
//! Revocations from a shard's outbox carry an id; the authority remembers each applied id for
//! [`APPLIED_MEMORY`] (`applied:<id>`, in an expiry index under `applied-at:`), so a delivery
//! retried after a lost acknowledgement neither audits nor deny-lists twice.

use serde::{Deserialize, Serialize};

use super::{Envelope, Reply, Run};
use crate::ports::{expiry_entry, list_records, sweep_expired, StoreError};

const TASK_PREFIX: &str = "signout:";
const APPLIED_PREFIX: &str = "applied:";
const APPLIED_AT_PREFIX: &str = "applied-at:";
/// How long an applied revocation's id is remembered, seconds: far longer than any
/// redelivery, which comes at the next retry (at most a minute apart) after a lost
/// acknowledgement.
const APPLIED_MEMORY: u64 = 7 * 86_400;
/// Sign-out tasks answered per request.
const TASK_BATCH: usize = 32;
/// Applied ids one write forgets at most.
const SWEEP_BATCH: usize = 16;

/// A person whose sessions (and, when `revoke_grants`, grants) must end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignoutTask {
    pub user: String,
    pub revoke_grants: bool,
    /// The audit action of the grants it revokes.
    pub action: String,
    /// Who asked (the audit actor of the revocations).
    pub actor: String,
    /// The request that asked, so a task replaced meanwhile is not taken for done.
    pub request_id: String,
}

impl SignoutTask {
    /// The task for `user` that `envelope` makes.
    pub fn new(envelope: &Envelope, user: &str, revoke_grants: bool) -> Self {
        Self {
            user: user.to_owned(),
            revoke_grants,
            action: "grant.revoke".into(),
            actor: envelope.actor.clone(),
            request_id: envelope.request_id.clone(),
        }
    }
}

impl Run<'_, '_> {
    /// Stores `task`, keeping any grant revocation a task still pending for the user asked.
    pub(super) async fn add_signout(&self, mut task: SignoutTask) -> Result<(), StoreError> {
        let key = format!("{TASK_PREFIX}{}", task.user);
        if let Some(pending) = self.read::<SignoutTask>(&key).await? {
            task.revoke_grants |= pending.revoke_grants;
        }
        self.store(&key, &task).await
    }

    /// The oldest pending sign-out tasks.
    pub(super) async fn pending_signouts(&self) -> Result<Reply, StoreError> {
        let tasks = list_records(self.env.storage, TASK_PREFIX, TASK_BATCH).await?;
        Ok(Reply::Signouts(tasks))
    }

    /// Forgets `task` unless a newer one replaced it meanwhile.
    pub(super) async fn signout_done(&self, task: &SignoutTask) -> Result<Reply, StoreError> {
        let key = format!("{TASK_PREFIX}{}", task.user);
        if self.read::<SignoutTask>(&key).await?.as_ref() == Some(task) {
            self.env.storage.delete(&key).await?;
        }
        Ok(Reply::Done)
    }

    /// Whether the revocation `id` was applied before; otherwise remembers it now. Empty ids
    /// (events no shard recorded) are never remembered.
    pub(super) async fn already_applied(&self, id: &str) -> Result<bool, StoreError> {
        if id.is_empty() {
            return Ok(false);
        }
        let now = self.env.clock.now();
        let storage = self.env.storage;
        sweep_expired(storage, APPLIED_AT_PREFIX, now, SWEEP_BATCH).await?;
        let key = format!("{APPLIED_PREFIX}{id}");
        if storage.get(&key).await?.is_some() {
            return Ok(true);
        }
        storage.put(&key, &now.to_string()).await?;
        let forget_at = now + APPLIED_MEMORY;
        storage
            .put(&expiry_entry(APPLIED_AT_PREFIX, &key, forget_at), "")
            .await?;
        Ok(false)
    }
}
