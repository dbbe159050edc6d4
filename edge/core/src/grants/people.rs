//! A person's side of a grant shard: their session generation, ending their sessions and
//! grants, and the outbox of revocations the authority has not yet applied.
//!
//! - **Session generation.** Each user id has a counter in its shard (`person:<id>`), copied
//!   into the session cookie at sign-in and compared on every signed-in request
//!   (`Session::signed_in`). Ending a person's sessions bumps it, so every
//!   cookie issued before stops working at once, wherever it is presented.
//! - **Ending a person** ([`super::GrantCommand::EndPerson`]): bumps the generation and, when
//!   asked, revokes every grant of theirs in one atomic command.
//! - **Outbox.** Every revocation a shard decides (a grant revoked, a refresh token reused, a
//!   code replayed, a person ended) is written to `outbox:<seq>` in the same command that
//!   decides it, with an id of its own. The edge forwards it to the authority (deny-list and
//!   audit) and then acknowledges it ([`super::GrantCommand::Delivered`]); until then
//!   [`super::GrantCommand::Undelivered`] hands it out again, so a forward that failed midway
//!   is retried (`people::resume`) and still deny-lists and audits. The authority
//!   applies each id once, so a retry after a lost acknowledgement changes nothing.

use serde::{Deserialize, Serialize};

use super::{GrantCommand, GrantEvent, GrantReply, Shard};
use crate::ports::{list_records, StoreError};

const OUTBOX_PREFIX: &str = "outbox:";
const OUTBOX_SEQ: &str = "outbox-seq";
/// Undelivered events handed out per request.
const UNDELIVERED_BATCH: usize = 32;

/// A revocation waiting for the authority, with the actor to audit it under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub actor: String,
    pub event: GrantEvent,
}

fn outbox_key(seq: u64) -> String {
    format!("{OUTBOX_PREFIX}{seq:020}")
}

fn person_key(user: &str) -> String {
    format!("person:{user}")
}

/// The audit actor of the revocations a command decides.
fn actor_of(command: &GrantCommand) -> String {
    match command {
        GrantCommand::RedeemCode { client_id, .. }
        | GrantCommand::Refresh { client_id, .. }
        | GrantCommand::RevokeRefresh { client_id, .. } => client_id.clone(),
        GrantCommand::Revoke {
            user: Some(user), ..
        } => format!("user:{user}"),
        GrantCommand::EndPerson { actor, .. } => actor.clone(),
        _ => "system".into(),
    }
}

impl Shard<'_, '_> {
    /// The person's session generation (0 before their sessions were first ended).
    pub(super) async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        Ok(self.read(&person_key(user)).await?.unwrap_or(0))
    }

    /// [`GrantCommand::EndPerson`]: a new session generation and, when `revoke_grants`, every
    /// grant of `user` revoked under `action`.
    pub(super) async fn end_person(
        &self,
        user: &str,
        revoke_grants: bool,
        action: &str,
    ) -> Result<GrantReply, StoreError> {
        let generation = self.generation(user).await? + 1;
        self.write(&person_key(user), &generation).await?;
        let mut events = Vec::new();
        if revoke_grants {
            let ids: Vec<String> = self
                .grants_where(|g| g.user == user)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect();
            for id in ids {
                events.extend(self.revoke_grant(&id, action).await?);
            }
        }
        Ok(GrantReply::Ended { events })
    }

    /// Gives every revocation in `reply` an id and writes it to the outbox, in the command
    /// that decided it.
    pub(super) async fn record_events(
        &self,
        command: &GrantCommand,
        reply: &mut GrantReply,
    ) -> Result<(), StoreError> {
        let events: Vec<&mut GrantEvent> = match reply {
            GrantReply::Refused {
                revoked: Some(e), ..
            }
            | GrantReply::Revoked { revoked: Some(e) } => vec![e],
            GrantReply::Ended { events } => events.iter_mut().collect(),
            _ => return Ok(()),
        };
        if events.is_empty() {
            return Ok(());
        }
        let actor = actor_of(command);
        let mut seq: u64 = self.read(OUTBOX_SEQ).await?.unwrap_or(0);
        for event in events {
            seq += 1;
            event.id = format!("{}#{seq}", event.target);
            let pending = Pending {
                actor: actor.clone(),
                event: event.clone(),
            };
            self.write(&outbox_key(seq), &pending).await?;
        }
        self.write(OUTBOX_SEQ, &seq).await
    }

    /// [`GrantCommand::Undelivered`]: the oldest revocations not yet acknowledged.
    pub(super) async fn undelivered(&self) -> Result<GrantReply, StoreError> {
        let pending = list_records(self.env.storage, OUTBOX_PREFIX, UNDELIVERED_BATCH).await?;
        Ok(GrantReply::Undelivered { pending })
    }

    /// [`GrantCommand::Delivered`]: forgets the acknowledged revocations.
    pub(super) async fn delivered(&self, ids: &[String]) -> Result<GrantReply, StoreError> {
        for id in ids {
            let Some(seq) = id.rsplit_once('#').and_then(|(_, s)| s.parse::<u64>().ok()) else {
                continue;
            };
            let key = outbox_key(seq);
            let stored: Option<Pending> = self.read(&key).await?;
            if stored.is_some_and(|p| p.event.id == *id) {
                self.env.storage.delete(&key).await?;
            }
        }
        Ok(GrantReply::Done)
    }
}
