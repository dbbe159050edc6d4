//! Revocations the authority must deliver to every grant shard: when a client is disabled or
//! deleted, its refresh families (spread over the [`SHARDS`] shards by user) are revoked.
//!
//! Like the KV outbox, the work is recorded in storage with the change that causes it
//! (`fanout/<client_id>`: the shards still to tell) and delivered after the command's
//! storage work; a shard that cannot be reached leaves the record for the next command to
//! retry, so no shard is ever skipped. Once every shard has answered, the revocation is
//! audited (`client.grants_revoke`).

use serde::{Deserialize, Serialize};

use super::audit::Origin;
use super::{Envelope, Run};
use crate::grants::{GrantCommand, GrantReply, SHARDS};
use crate::ports::StoreError;

const FANOUT: &str = "fanout/";

/// One client's pending revocation.
#[derive(Debug, Serialize, Deserialize)]
struct Fanout {
    client_id: String,
    /// Who disabled or deleted the client, for the audit entry.
    actor: String,
    request_id: String,
    /// Shards that have not confirmed yet.
    shards: Vec<u32>,
}

impl Run<'_, '_> {
    /// Records that every shard must revoke `client_id`'s grants.
    pub(super) async fn queue_client_revocation(
        &self,
        envelope: &Envelope,
        client_id: &str,
    ) -> Result<(), StoreError> {
        let fanout = Fanout {
            client_id: client_id.to_owned(),
            actor: envelope.actor.clone(),
            request_id: envelope.request_id.clone(),
            shards: (0..SHARDS).collect(),
        };
        self.store(&format!("{FANOUT}{client_id}"), &fanout).await
    }

    /// Delivers pending revocations shard by shard until done or a shard fails (which is
    /// not an error: the rest stays queued).
    pub(super) async fn flush_fanout(&self) -> Result<(), StoreError> {
        let pending = self.env.storage.list(FANOUT, None, 100, false).await?;
        for (key, raw) in pending {
            let mut fanout: Fanout = serde_json::from_str(&raw)
                .map_err(|e| StoreError(format!("corrupt fan-out {key}: {e}")))?;
            let command = GrantCommand::RevokeClient {
                client_id: fanout.client_id.clone(),
            };
            while let Some(&shard) = fanout.shards.first() {
                match self.env.grants.call(shard, &command).await {
                    Ok(GrantReply::ClientRevoked) => {
                        fanout.shards.remove(0);
                    }
                    _ => return self.store(&key, &fanout).await,
                }
            }
            self.env.storage.delete(&key).await?;
            let origin = Origin {
                actor: &fanout.actor,
                request_id: &fanout.request_id,
            };
            self.audit(origin, "client.grants_revoke", &fanout.client_id)
                .await?;
        }
        Ok(())
    }
}
