//! The authority: the single writer behind every change (one Durable Object).
//!
//! Workers KV is eventually consistent, so nothing that must be unique, versioned or take effect
//! at once is decided there. Admin writes, key generation and revocations are sent here as an
//! [`Envelope`]; the authority checks them against its strongly consistent storage, versions
//! the record, appends an audit entry, and writes the result through to KV, which stays the
//! fast read path at the edge. The runtime adapter only moves envelopes and replies as JSON.

use std::cell::RefCell;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{KeyAlg, Scope};
use crate::clients::ClientRecord;
use crate::crypto::Secrets;
use crate::denylist::DenyHead;
use crate::error::{check_version, ApiError};
use crate::grants::{GrantEvent, GrantStore};
use crate::keys::KeySet;
use crate::ports::{list_all_records, Clock, DurableStorage, Kv, Rng, StoreError};
use crate::users::UserRecord;

mod audit;
mod denials;
mod fanout;
mod people;
mod records;

pub use audit::{
    parse_retention_days, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, AUTH_FAILURE_WINDOW,
    DEFAULT_AUDIT_RETENTION_SECS,
};
pub use people::SignoutTask;

/// KV and storage key of the scope catalogue.
pub const SCOPES_KEY: &str = "config:scopes";
/// KV and storage key of the signing key set.
pub const KEYS_KEY: &str = "config:keys";
/// KV and storage key of the policy for clients nobody registered in advance.
pub const REGISTRATION_KEY: &str = "config:registration";

/// The KV and storage key of a client.
pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// The key that keeps an operator's client names unique; a client that registered itself
/// (its name chosen by a stranger) holds none, so it can neither take nor squat a name.
fn client_name_key(client: &crate::api::Client) -> Option<String> {
    client
        .registration
        .is_none()
        .then(|| format!("client-name:{}", client.name.to_lowercase()))
}

/// One command for the authority, with who sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Audit actor: the admin token's fingerprint, a client id or `system`.
    pub actor: String,
    pub request_id: String,
    pub command: Command,
}

/// What the authority can be asked to do. Externally tagged (the wire is internal to the
/// worker): an internally tagged enum would buffer every command before parsing it, which costs
/// the wasm a second deserializer for every record type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    CreateScope {
        scope: Scope,
    },
    ListScopes,
    CreateClient {
        record: ClientRecord,
    },
    GetClient {
        client_id: String,
    },
    ListClients,
    /// Returns the key set, generating the first one if there is none.
    EnsureKeys {
        alg: crate::api::KeyAlg,
    },
    CreateUser {
        record: UserRecord,
    },
    GetUser {
        id: String,
    },
    ListUsers,
    /// Replaces a user (password hashed by the caller) if its stored version is still
    /// `expected_version`; the authority assigns the next version.
    UpdateUser {
        record: UserRecord,
        expected_version: u64,
    },
    /// Deletes a user; with `expected_version`, only if that is still the stored version.
    DeleteUser {
        id: String,
        expected_version: Option<u64>,
    },
    /// Replaces a client (validated by the caller) if its stored version is still
    /// `expected_version`; its secrets, id and creation time stay as stored.
    UpdateClient {
        record: ClientRecord,
        expected_version: u64,
    },
    /// Deletes a client and its KV copy.
    DeleteClient {
        client_id: String,
        expected_version: Option<u64>,
    },
    /// Adds a new secret (hashed by the caller); the previous one lives until
    /// `previous_expires_at`, older ones go.
    RotateClientSecret {
        client_id: String,
        secret_hash: String,
        previous_expires_at: u64,
        expected_version: Option<u64>,
    },
    /// Deletes a scope no client uses.
    DeleteScope {
        name: String,
        expected_version: Option<u64>,
    },
    /// Rotates the signing keys (`next` → `current` → `retired`).
    RotateKeys {
        alg: Option<crate::api::KeyAlg>,
        expected_version: Option<u64>,
    },
    /// Revokes a signing key outright: it leaves the key set and every token it signed is
    /// denied.
    RevokeKey {
        kid: String,
        expected_version: Option<u64>,
    },
    /// A page of the audit log, newest first.
    ListAudit {
        query: crate::api::AuditQuery,
    },
    /// Records a tripped rate limit (`client:<id>` or `ip:<address>`).
    RateLimited {
        target: String,
    },
    /// Records a failed admin authentication (never the presented token), coalesced per
    /// source network and hour.
    AdminAuthFailed {
        source_ip: Option<String>,
    },
    /// The gateway's route table.
    GetRoutes,
    /// Replaces the route table if `if_match` (when given) is still its version.
    PutRoutes {
        table: crate::api::RouteTable,
        if_match: Option<u64>,
    },
    /// The trusted external issuers.
    GetIssuers,
    /// Replaces the trusted issuers if `if_match` (when given) is still their version.
    PutIssuers {
        table: crate::api::IssuerTable,
        if_match: Option<u64>,
    },
    /// The policy for clients nobody registered in advance.
    GetRegistration,
    /// Replaces that policy if `if_match` (when given) is still its version.
    PutRegistration {
        policy: crate::api::RegistrationPolicy,
        if_match: Option<u64>,
    },
    /// Notes that a dynamic or metadata-document client was used at `at` (not audited, no
    /// new version).
    TouchClient {
        client_id: String,
        at: u64,
    },
    /// Stores the client a metadata document describes: created, or changed when the document
    /// changed; a client an operator disabled stays as stored.
    PutDocumentClient {
        record: ClientRecord,
    },
    /// Deletes every dynamic or metadata-document client unused for the policy's
    /// `client_ttl` (the Cron Trigger's sweep), as an operator's deletion would.
    ExpireClients,
    /// Adds an access token to the deny-list until `exp`.
    Revoke {
        jti: String,
        exp: u64,
    },
    /// Applies what a grant shard decided (consent, revocation, code replay, refresh-token
    /// reuse): denies its access tokens and audits the action.
    GrantEvent {
        event: crate::grants::GrantEvent,
    },
    /// Signs `user` out everywhere (an operator's request): records the sign-out task and
    /// audits `user.signout`.
    EndSessions {
        user: String,
    },
    /// The sign-out tasks not yet reported done (see `authority::people`).
    PendingSignouts,
    /// The edge ended the person of `task` in their shard and forwarded the revocations.
    SignoutDone {
        task: SignoutTask,
    },
}

/// The authority's answer (externally tagged, like [`Command`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Scope(Scope),
    Scopes(Vec<Scope>),
    /// Boxed: a client record is far larger than the other replies.
    Client(Box<ClientRecord>),
    Clients(Vec<ClientRecord>),
    Keys(KeySet),
    /// The deny-list's head after a revocation, for the caller's isolate.
    Denylist(DenyHead),
    User(UserRecord),
    Users(Vec<UserRecord>),
    /// Done, with nothing to return (a deletion, an audit-only command).
    Done,
    Audit(crate::api::AuditPage),
    Routes(crate::api::RouteTable),
    Issuers(crate::api::IssuerTable),
    Registration(crate::api::RegistrationPolicy),
    Signouts(Vec<SignoutTask>),
    Error(ApiError),
}

/// A configuration document the operator replaces whole (the gateway's routes and issuers).
pub trait Table: Serialize + DeserializeOwned + Default {
    /// Its storage and KV key.
    const KEY: &'static str;
    /// The audit action of a replacement.
    const ACTION: &'static str;
    /// The stored version (0 before the first write).
    fn version(&self) -> u64;
    /// Sets the version and time of a replacement.
    fn stamp(&mut self, version: u64, now: u64);
}

pub use crate::api::AuditEvent;

/// What the authority runs on.
pub struct AuthorityEnv<'a> {
    pub storage: &'a dyn DurableStorage,
    pub kv: &'a dyn Kv,
    /// The grant shards, told when a client's grants must go (see `authority/fanout.rs`).
    pub grants: &'a dyn GrantStore,
    pub clock: &'a dyn Clock,
    pub rng: &'a dyn Rng,
    pub signatures: &'a dyn crate::ports::Signatures,
    pub secrets: &'a Secrets,
    /// How long audit entries are kept, seconds (`AUDIT_RETENTION_DAYS`).
    pub audit_retention_secs: u64,
}

/// One command's run: KV copies are queued and written only after every storage operation,
/// because awaiting KV (network I/O) lets the next request into the Durable Object, while
/// awaiting its own storage does not.
struct Run<'e, 'a> {
    env: &'e AuthorityEnv<'a>,
    /// KV copies to write (`Some`) or delete (`None`) once storage is done.
    publish: RefCell<Vec<(String, Option<String>)>>,
}

impl Run<'_, '_> {
    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        crate::ports::parse_record(key, self.env.storage.get(key).await?)
    }

    /// Writes `value` to storage and queues its copy to KV.
    async fn write<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let raw = crate::ports::record_json(value)?;
        self.env.storage.put(key, &raw).await?;
        self.publish.borrow_mut().push((key.to_owned(), Some(raw)));
        Ok(())
    }

    /// Writes `value` to storage only.
    async fn store<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let raw = serde_json::to_string(value).map_err(|e| StoreError(e.to_string()))?;
        self.env.storage.put(key, &raw).await
    }

    /// Queues a KV copy (`Some`) or deletion (`None`) of `key` without touching storage.
    fn publish<T: Serialize>(&self, key: &str, value: Option<&T>) -> Result<(), StoreError> {
        let raw = value
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError(e.to_string()))?;
        self.publish.borrow_mut().push((key.to_owned(), raw));
        Ok(())
    }

    /// A whole-document table, empty before its first write.
    async fn table<T: Table>(&self) -> Result<T, StoreError> {
        Ok(self.read(T::KEY).await?.unwrap_or_default())
    }

    /// Replaces a table unless `if_match` names a version other than the stored one.
    async fn replace<T: Table>(
        &self,
        envelope: &Envelope,
        mut table: T,
        if_match: Option<u64>,
    ) -> Result<Result<T, ApiError>, StoreError> {
        let current: T = self.table().await?;
        if let Err(e) = check_version(current.version(), if_match) {
            return Ok(Err(e));
        }
        table.stamp(current.version() + 1, self.env.clock.now());
        self.write(T::KEY, &table).await?;
        self.audit(envelope, T::ACTION, T::KEY).await?;
        Ok(Ok(table))
    }

    /// [`Self::replace`], answered as a reply (`wrap` for the stored table).
    async fn put_table<T: Table + Clone>(
        &self,
        envelope: &Envelope,
        table: &T,
        if_match: Option<u64>,
        wrap: fn(T) -> Reply,
    ) -> Result<Reply, StoreError> {
        Ok(self
            .replace(envelope, table.clone(), if_match)
            .await?
            .map_or_else(Reply::Error, wrap))
    }

    async fn list<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        list_all_records(self.env.storage, prefix).await
    }
}

/// Storage prefix of KV copies that could not be written yet: `outbox/<KV key>` holds the JSON
/// of the copy (`null` for a deletion).
const OUTBOX: &str = "outbox/";

/// Runs one envelope, then copies what it wrote to KV. Storage failures are errors; rule
/// violations are [`Reply::Error`]. The change stands once storage has it: a KV copy that
/// fails waits in the outbox, and every later command first retries the outbox, so KV catches
/// up without losing or reordering a record. The caller must run envelopes one at a time (the
/// adapter holds the Durable Object's input gate for the whole call), so that no other
/// command's KV writes interleave with these.
pub async fn execute(env: &AuthorityEnv<'_>, envelope: &Envelope) -> Result<Reply, StoreError> {
    flush_outbox(env).await?;
    let run = Run {
        env,
        publish: RefCell::new(Vec::new()),
    };
    let reply = run.command(envelope).await?;
    run.flush_fanout().await?;
    for (key, raw) in run.publish.take() {
        let outbox = format!("{OUTBOX}{key}");
        if copy_to_kv(env.kv, &key, raw.as_deref()).await.is_ok() {
            // Newer than anything queued for this key.
            env.storage.delete(&outbox).await?;
        } else {
            let queued = serde_json::to_string(&raw).map_err(|e| StoreError(e.to_string()))?;
            env.storage.put(&outbox, &queued).await?;
        }
    }
    Ok(reply)
}

async fn copy_to_kv(kv: &dyn Kv, key: &str, raw: Option<&str>) -> Result<(), StoreError> {
    match raw {
        Some(raw) => kv.put(key, raw, None).await,
        None => kv.delete(key).await,
    }
}

/// Writes the outbox's copies to KV, oldest key first, until it is empty or KV fails again
/// (which leaves the rest queued and is not an error).
async fn flush_outbox(env: &AuthorityEnv<'_>) -> Result<(), StoreError> {
    loop {
        let page = env.storage.list(OUTBOX, None, 100, false).await?;
        if page.is_empty() {
            return Ok(());
        }
        for (outbox, queued) in page {
            let raw: Option<String> = serde_json::from_str(&queued)
                .map_err(|e| StoreError(format!("corrupt outbox entry {outbox}: {e}")))?;
            let key = &outbox[OUTBOX.len()..];
            if copy_to_kv(env.kv, key, raw.as_deref()).await.is_err() {
                return Ok(());
            }
            env.storage.delete(&outbox).await?;
        }
    }
}

impl Run<'_, '_> {
    async fn command(&self, envelope: &Envelope) -> Result<Reply, StoreError> {
        let env = self;
        match &envelope.command {
            Command::CreateScope { scope } => env.create_scope(envelope, scope).await,
            Command::ListScopes => Ok(Reply::Scopes(
                env.read(SCOPES_KEY).await?.unwrap_or_default(),
            )),
            Command::CreateClient { record } => env.create_client(envelope, record).await,
            Command::GetClient { client_id } => env.get_client(client_id).await,
            Command::ListClients => Ok(Reply::Clients(env.list("client:").await?)),
            Command::EnsureKeys { alg } => env.ensure_keys(envelope, alg).await,
            Command::CreateUser { record } => env.create_user(envelope, record).await,
            Command::GetUser { id } => env.get_user(id).await,
            Command::ListUsers => Ok(Reply::Users(env.list("user:").await?)),
            Command::UpdateUser {
                record,
                expected_version,
            } => env.update_user(envelope, record, *expected_version).await,
            Command::DeleteUser {
                id,
                expected_version,
            } => env.delete_user(envelope, id, *expected_version).await,
            Command::UpdateClient {
                record,
                expected_version,
            } => env.update_client(envelope, record, *expected_version).await,
            Command::DeleteClient {
                client_id,
                expected_version,
            } => {
                env.delete_client(envelope, client_id, *expected_version)
                    .await
            }
            Command::RotateClientSecret {
                client_id,
                secret_hash,
                previous_expires_at,
                expected_version,
            } => {
                env.rotate_client_secret(
                    envelope,
                    client_id,
                    secret_hash,
                    *previous_expires_at,
                    *expected_version,
                )
                .await
            }
            Command::DeleteScope {
                name,
                expected_version,
            } => env.delete_scope(envelope, name, *expected_version).await,
            Command::RotateKeys {
                alg,
                expected_version,
            } => env.rotate_keys(envelope, *alg, *expected_version).await,
            Command::RevokeKey {
                kid,
                expected_version,
            } => env.revoke_key(envelope, kid, *expected_version).await,
            Command::ListAudit { query } => env.list_audit(query).await,
            Command::RateLimited { target } => {
                env.audit(envelope, "ratelimit.trip", target).await?;
                Ok(Reply::Done)
            }
            Command::AdminAuthFailed { source_ip } => {
                let source = source_ip.as_deref().unwrap_or("unknown");
                env.audit_auth_failure(envelope, source).await?;
                Ok(Reply::Done)
            }
            Command::GetRoutes => Ok(Reply::Routes(env.table().await?)),
            Command::PutRoutes { table, if_match } => {
                env.put_table(envelope, table, *if_match, Reply::Routes)
                    .await
            }
            Command::GetIssuers => Ok(Reply::Issuers(env.table().await?)),
            Command::PutIssuers { table, if_match } => {
                env.put_table(envelope, table, *if_match, Reply::Issuers)
                    .await
            }
            Command::GetRegistration => Ok(Reply::Registration(env.table().await?)),
            Command::PutRegistration { policy, if_match } => {
                env.put_table(envelope, policy, *if_match, Reply::Registration)
                    .await
            }
            Command::TouchClient { client_id, at } => env.touch_client(client_id, *at).await,
            Command::ExpireClients => env.expire_clients(envelope).await,
            Command::PutDocumentClient { record } => {
                env.put_document_client(envelope, record).await
            }
            Command::Revoke { jti, exp } => env.revoke_token(envelope, jti, *exp).await,
            Command::GrantEvent { event } => env.apply_grant_event(envelope, event).await,
            Command::EndSessions { user } => env.end_sessions(envelope, user).await,
            Command::PendingSignouts => env.pending_signouts().await,
            Command::SignoutDone { task } => env.signout_done(task).await,
        }
    }

    async fn create_scope(&self, envelope: &Envelope, scope: &Scope) -> Result<Reply, StoreError> {
        let mut scopes: Vec<Scope> = self.read(SCOPES_KEY).await?.unwrap_or_default();
        if scopes.iter().any(|s| s.name == scope.name) {
            return Ok(Reply::Error(ApiError::conflict(
                "name",
                format!("scope `{}` already exists", scope.name),
            )));
        }
        scopes.push(scope.clone());
        self.write(SCOPES_KEY, &scopes).await?;
        self.audit(envelope, "scope.create", &scope.name).await?;
        Ok(Reply::Scope(scope.clone()))
    }

    async fn create_client(
        &self,
        envelope: &Envelope,
        record: &ClientRecord,
    ) -> Result<Reply, StoreError> {
        let name_key = client_name_key(&record.client);
        if let Some(name_key) = &name_key {
            if self.env.storage.get(name_key).await?.is_some() {
                return Ok(Reply::Error(ApiError::conflict(
                    "name",
                    format!("a client named `{}` already exists", record.client.name),
                )));
            }
        }
        if let Some(e) = self.missing_scope(&record.client.scopes).await? {
            return Ok(Reply::Error(e));
        }
        let key = client_key(&record.client.client_id);
        if self.env.storage.get(&key).await?.is_some() {
            return Ok(Reply::Error(ApiError::conflict(
                "client_id",
                "already taken",
            )));
        }
        if let Some(name_key) = &name_key {
            self.env
                .storage
                .put(name_key, &record.client.client_id)
                .await?;
        }
        self.write(&key, record).await?;
        self.audit(envelope, "client.create", &record.client.client_id)
            .await?;
        Ok(Reply::Client(Box::new(record.clone())))
    }

    /// The key set, generated when there is none; a set made before ID tokens existed gains
    /// its `RS256` family here.
    async fn ensure_keys(&self, envelope: &Envelope, alg: &KeyAlg) -> Result<Reply, StoreError> {
        if let Some(mut set) = self.read::<KeySet>(KEYS_KEY).await? {
            if !set.has_id_family() {
                let env = self.env;
                set.ensure_id_family(env.secrets, env.rng, env.signatures, env.clock.now())
                    .await
                    .map_err(|_| StoreError("signing key generation failed".into()))?;
                self.write(KEYS_KEY, &set).await?;
                self.audit(envelope, "key.generate", "RS256").await?;
            }
            return Ok(Reply::Keys(set));
        }
        let Ok(set) = KeySet::generate(
            *alg,
            self.env.secrets,
            self.env.rng,
            self.env.signatures,
            self.env.clock.now(),
        )
        .await
        else {
            return Err(StoreError("signing key generation failed".into()));
        };
        self.write(KEYS_KEY, &set).await?;
        let kid = set.keys.first().map(|k| k.kid.clone()).unwrap_or_default();
        self.audit(envelope, "key.generate", &kid).await?;
        Ok(Reply::Keys(set))
    }

    async fn revoke_token(
        &self,
        envelope: &Envelope,
        jti: &str,
        exp: u64,
    ) -> Result<Reply, StoreError> {
        let (head, added) = self.deny_tokens([(jti, exp)]).await?;
        if !added.is_empty() {
            self.audit(envelope, "token.revoke", jti).await?;
        }
        Ok(Reply::Denylist(head))
    }

    async fn apply_grant_event(
        &self,
        envelope: &Envelope,
        event: &GrantEvent,
    ) -> Result<Reply, StoreError> {
        let fresh = !self.already_applied(&event.id).await?;
        let tokens = event.deny.iter().map(|t| (t.jti.as_str(), t.exp));
        let (head, _) = self.deny_tokens(tokens).await?;
        if !fresh {
            // A retried delivery: denied again (a no-op), audited once.
            return Ok(Reply::Denylist(head));
        }
        self.audit(envelope, &event.action, &event.target).await?;
        Ok(Reply::Denylist(head))
    }

    async fn end_sessions(&self, envelope: &Envelope, user: &str) -> Result<Reply, StoreError> {
        self.add_signout(SignoutTask::new(envelope, user, false))
            .await?;
        self.audit(envelope, "user.signout", user).await?;
        Ok(Reply::Done)
    }
}

/// The client side of the authority Durable Object: sends one command, awaits its reply.
#[async_trait(?Send)]
pub trait Authority {
    /// Runs `envelope` in the authority and returns its reply.
    async fn call(
        &self,
        envelope: &crate::authority::Envelope,
    ) -> Result<crate::authority::Reply, StoreError>;
}
