//! The authority's versioned admin records: clients, scopes, users and signing keys.
//!
//! Each record carries a `version`, bumped on every change; a change that names an expected
//! version is refused with 412 when the stored one differs (optimistic concurrency, RFC 9110
//! §13.1.1), checked here, inside the single writer, so two operators can never both win.

use super::{client_key, client_name_key, Envelope, Reply, Run, SignoutTask, KEYS_KEY, SCOPES_KEY};
use crate::api::{KeyAlg, KeyState, Profile, RegistrationPolicy, Scope};
use crate::clients::{client_expired, ClientRecord};
use crate::error::{check_version, ApiError};
use crate::keys::{KeyError, KeySet};
use crate::ports::StoreError;
use crate::scope::is_builtin_scope;
use crate::users::{user_login_key, user_profile_key, UserRecord};

fn user_key(id: &str) -> String {
    format!("user:{id}")
}

fn user_name_key(username: &str) -> String {
    format!("user-name:{}", username.to_lowercase())
}

/// The audit action of a change: `<kind>.disable`/`.enable` when it flips `disabled`, else
/// `<kind>.update`.
fn change_action(kind: &str, was_disabled: bool, is_disabled: bool) -> String {
    let verb = match (was_disabled, is_disabled) {
        (false, true) => "disable",
        (true, false) => "enable",
        _ => "update",
    };
    format!("{kind}.{verb}")
}

impl Run<'_, '_> {
    /// 422 naming the first of `scopes` missing from the catalogue.
    pub(super) async fn missing_scope(
        &self,
        scopes: &[String],
    ) -> Result<Option<ApiError>, StoreError> {
        let catalogue: Vec<Scope> = self.read(SCOPES_KEY).await?.unwrap_or_default();
        Ok(scopes
            .iter()
            .enumerate()
            .find(|(_, s)| !catalogue.iter().any(|c| &c.name == *s) && !is_builtin_scope(s))
            .map(|(i, s)| {
                ApiError::invalid(
                    &format!("scopes[{i}]"),
                    format!("unknown scope `{s}`; create it first"),
                )
            }))
    }

    /// The stored client with version `expected` (any when `None`), or the error to answer.
    async fn client_at(
        &self,
        client_id: &str,
        expected: Option<u64>,
    ) -> Result<Result<ClientRecord, ApiError>, StoreError> {
        Ok(
            match self.read::<ClientRecord>(&client_key(client_id)).await? {
                None => Err(ApiError::not_found("client")),
                Some(stored) => check_version(stored.client.version, expected).map(|()| stored),
            },
        )
    }

    /// The stored client, or 404.
    pub(super) async fn get_client(&self, client_id: &str) -> Result<Reply, StoreError> {
        Ok(self
            .client_at(client_id, None)
            .await?
            .map_or_else(Reply::Error, |r| Reply::Client(Box::new(r))))
    }

    pub(super) async fn update_client(
        &self,
        envelope: &Envelope,
        record: &ClientRecord,
        expected_version: u64,
    ) -> Result<Reply, StoreError> {
        let id = &record.client.client_id;
        let stored = match self.client_at(id, Some(expected_version)).await? {
            Ok(stored) => stored,
            Err(e) => return Ok(Reply::Error(e)),
        };
        if let Some(e) = self.missing_scope(&record.client.scopes).await? {
            return Ok(Reply::Error(e));
        }
        let mut next = record.clone();
        // How a client came to be never changes.
        next.client.registration = stored.client.registration;
        let (old_name, new_name) = (
            client_name_key(&stored.client),
            client_name_key(&next.client),
        );
        if old_name != new_name {
            if let Some(new_name) = &new_name {
                if self.env.storage.get(new_name).await?.is_some() {
                    return Ok(Reply::Error(ApiError::conflict(
                        "name",
                        format!("a client named `{}` already exists", record.client.name),
                    )));
                }
                self.env.storage.put(new_name, id).await?;
            }
            if let Some(old_name) = &old_name {
                self.env.storage.delete(old_name).await?;
            }
        }
        // Identity, type and secrets are never changed by an update.
        next.client.created_at = stored.client.created_at;
        next.client.public = stored.client.public;
        next.client.secrets = stored.client.secrets;
        next.secret_hashes = stored.secret_hashes;
        next.client.version = stored.client.version + 1;
        self.write(&client_key(id), &next).await?;
        let ttl = next.client.access_token_ttl;
        match (stored.client.disabled, next.client.disabled) {
            (false, true) => {
                self.change_rules(|head, now| head.deny_client(id, now, None))
                    .await?;
                self.queue_client_revocation(envelope, id).await?;
            }
            (true, false) => {
                self.change_rules(|head, now| head.enable_client(id, now, ttl))
                    .await?;
            }
            _ => {}
        }
        let action = change_action("client", stored.client.disabled, next.client.disabled);
        self.audit(envelope, &action, id).await?;
        Ok(Reply::Client(Box::new(next)))
    }

    pub(super) async fn delete_client(
        &self,
        envelope: &Envelope,
        client_id: &str,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let stored = match self.client_at(client_id, expected_version).await? {
            Ok(stored) => stored,
            Err(e) => return Ok(Reply::Error(e)),
        };
        let key = client_key(client_id);
        self.env.storage.delete(&key).await?;
        if let Some(name_key) = client_name_key(&stored.client) {
            self.env.storage.delete(&name_key).await?;
        }
        self.publish::<ClientRecord>(&key, None)?;
        let ttl = stored.client.access_token_ttl;
        self.change_rules(|head, now| head.deny_client(client_id, now, Some(ttl)))
            .await?;
        self.queue_client_revocation(envelope, client_id).await?;
        self.audit(envelope, "client.delete", client_id).await?;
        Ok(Reply::Done)
    }

    /// Notes the last use of a client that registered itself.
    pub(super) async fn touch_client(&self, client_id: &str, at: u64) -> Result<Reply, StoreError> {
        let Some(mut record) = self.read::<ClientRecord>(&client_key(client_id)).await? else {
            return Ok(Reply::Done);
        };
        if record.client.registration.is_some() && record.client.last_used_at.is_none_or(|t| t < at)
        {
            record.client.last_used_at = Some(at);
            self.write(&client_key(client_id), &record).await?;
        }
        Ok(Reply::Done)
    }

    /// Stores the client a metadata document describes (see `client_document`): created and
    /// audited `client.create`, or, when the document changed what it says, updated with a new
    /// version and audited `client.update`; a disabled client is left as stored.
    pub(super) async fn put_document_client(
        &self,
        envelope: &Envelope,
        record: &ClientRecord,
    ) -> Result<Reply, StoreError> {
        let id = &record.client.client_id;
        let key = client_key(id);
        let Some(stored) = self.read::<ClientRecord>(&key).await? else {
            self.write(&key, record).await?;
            self.audit(envelope, "client.create", id).await?;
            return Ok(Reply::Client(Box::new(record.clone())));
        };
        let c = &stored.client;
        let same = (&c.name, &c.redirect_uris, &c.scopes, &c.grant_types)
            == (
                &record.client.name,
                &record.client.redirect_uris,
                &record.client.scopes,
                &record.client.grant_types,
            );
        if c.disabled || same || c.registration.is_none() {
            return Ok(Reply::Client(Box::new(stored)));
        }
        let mut next = record.clone();
        next.client.created_at = c.created_at;
        next.client.last_used_at = c.last_used_at;
        next.client.version = c.version + 1;
        self.write(&key, &next).await?;
        self.audit(envelope, "client.update", id).await?;
        Ok(Reply::Client(Box::new(next)))
    }

    /// Deletes the clients that registered themselves and went unused for the policy's
    /// `client_ttl`, each as [`Self::delete_client`] does (tokens denied, grants revoked,
    /// audited `client.delete` by `system`).
    pub(super) async fn expire_clients(&self, envelope: &Envelope) -> Result<Reply, StoreError> {
        let policy: RegistrationPolicy = self.table().await?;
        let now = self.env.clock.now();
        let clients: Vec<ClientRecord> = self.list("client:").await?;
        for record in clients {
            if client_expired(&record.client, policy.client_ttl, now) {
                self.delete_client(envelope, &record.client.client_id, None)
                    .await?;
            }
        }
        Ok(Reply::Done)
    }

    pub(super) async fn rotate_client_secret(
        &self,
        envelope: &Envelope,
        client_id: &str,
        secret_hash: &str,
        previous_expires_at: u64,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let mut record = match self.client_at(client_id, expected_version).await? {
            Ok(stored) => stored,
            Err(e) => return Ok(Reply::Error(e)),
        };
        if record.client.public {
            return Ok(Reply::Error(ApiError::invalid(
                "public",
                "a public client has no secret",
            )));
        }
        if !record.client.auth_method().has_secret() {
            return Ok(Reply::Error(ApiError::invalid(
                "token_endpoint_auth_method",
                "a private_key_jwt client has no secret",
            )));
        }
        let now = self.env.clock.now();
        record.rotate_secret(secret_hash.to_owned(), now, previous_expires_at);
        record.client.updated_at = now;
        record.client.version += 1;
        self.write(&client_key(client_id), &record).await?;
        self.audit(envelope, "client.secret_rotate", client_id)
            .await?;
        Ok(Reply::Client(Box::new(record)))
    }

    pub(super) async fn delete_scope(
        &self,
        envelope: &Envelope,
        name: &str,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let mut scopes: Vec<Scope> = self.read(SCOPES_KEY).await?.unwrap_or_default();
        let Some(at) = scopes.iter().position(|s| s.name == name) else {
            return Ok(Reply::Error(ApiError::not_found("scope")));
        };
        if let Err(e) = check_version(scopes[at].version, expected_version) {
            return Ok(Reply::Error(e));
        }
        let users: Vec<String> = self
            .list::<ClientRecord>("client:")
            .await?
            .into_iter()
            .filter(|c| c.client.scopes.iter().any(|s| s == name))
            .map(|c| c.client.client_id)
            .collect();
        if !users.is_empty() {
            return Ok(Reply::Error(ApiError::conflict(
                "name",
                format!(
                    "still allowed to {} client(s): {}; remove it from them first",
                    users.len(),
                    users.join(", ")
                ),
            )));
        }
        scopes.remove(at);
        self.write(SCOPES_KEY, &scopes).await?;
        self.audit(envelope, "scope.delete", name).await?;
        Ok(Reply::Done)
    }

    /// Rotates the signing keys (generating the first set if there is none).
    pub(super) async fn rotate_keys(
        &self,
        envelope: &Envelope,
        alg: Option<KeyAlg>,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let (env, now) = (self.env, self.env.clock.now());
        if alg.is_some_and(|a| !a.signs_access_tokens()) {
            return Ok(Reply::Error(ApiError::invalid(
                "alg",
                "access tokens are signed with EdDSA or ES256 (the RS256 ID-token keys rotate alongside)",
            )));
        }
        let failed = |_| StoreError("signing key generation failed".into());
        let mut set = match self.read::<KeySet>(KEYS_KEY).await? {
            Some(set) => set,
            None => KeySet::generate(
                alg.unwrap_or_default(),
                env.secrets,
                env.rng,
                env.signatures,
                now,
            )
            .await
            .map_err(failed)?,
        };
        if let Err(e) = check_version(set.version, expected_version) {
            return Ok(Reply::Error(e));
        }
        set.rotate(alg, env.secrets, env.rng, env.signatures, now)
            .await
            .map_err(failed)?;
        self.write(KEYS_KEY, &set).await?;
        let current = set
            .keys
            .iter()
            .find(|k| k.state == KeyState::Current && k.alg.signs_access_tokens())
            .map_or("", |k| k.kid.as_str());
        self.audit(envelope, "key.rotate", current).await?;
        Ok(Reply::Keys(set))
    }

    pub(super) async fn revoke_key(
        &self,
        envelope: &Envelope,
        kid: &str,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let (env, now) = (self.env, self.env.clock.now());
        let Some(mut set) = self.read::<KeySet>(KEYS_KEY).await? else {
            return Ok(Reply::Error(ApiError::not_found("key")));
        };
        if let Err(e) = check_version(set.version, expected_version) {
            return Ok(Reply::Error(e));
        }
        match set
            .revoke(kid, env.secrets, env.rng, env.signatures, now)
            .await
        {
            Ok(()) => {}
            Err(KeyError::NoSuchKey) => return Ok(Reply::Error(ApiError::not_found("key"))),
            Err(e) => return Err(StoreError(e.to_string())),
        }
        self.write(KEYS_KEY, &set).await?;
        self.change_rules(|head, now| head.deny_key(kid, now))
            .await?;
        self.audit(envelope, "key.revoke", kid).await?;
        Ok(Reply::Keys(set))
    }

    pub(super) async fn create_user(
        &self,
        envelope: &Envelope,
        record: &UserRecord,
    ) -> Result<Reply, StoreError> {
        let name_key = user_name_key(&record.user.username);
        if self.env.storage.get(&name_key).await?.is_some() {
            return Ok(Reply::Error(ApiError::conflict(
                "username",
                format!("a user named `{}` already exists", record.user.username),
            )));
        }
        if self
            .env
            .storage
            .get(&user_key(&record.user.id))
            .await?
            .is_some()
        {
            return Ok(Reply::Error(ApiError::conflict("id", "already taken")));
        }
        self.store(&name_key, &record.user.id).await?;
        self.put_user(record).await?;
        self.audit(envelope, "user.create", &record.user.id).await?;
        Ok(Reply::User(record.clone()))
    }

    pub(super) async fn get_user(&self, id: &str) -> Result<Reply, StoreError> {
        Ok(match self.read::<UserRecord>(&user_key(id)).await? {
            Some(record) => Reply::User(record),
            None => Reply::Error(ApiError::not_found("user")),
        })
    }

    pub(super) async fn update_user(
        &self,
        envelope: &Envelope,
        record: &UserRecord,
        expected_version: u64,
    ) -> Result<Reply, StoreError> {
        let Some(stored) = self.read::<UserRecord>(&user_key(&record.user.id)).await? else {
            return Ok(Reply::Error(ApiError::not_found("user")));
        };
        if let Err(e) = check_version(stored.user.version, Some(expected_version)) {
            return Ok(Reply::Error(e));
        }
        let mut next = record.clone();
        // Usernames never change: the login key and the uniqueness index stay valid.
        next.user.username = stored.user.username;
        next.user.created_at = stored.user.created_at;
        next.user.version = stored.user.version + 1;
        self.put_user(&next).await?;
        // Disabling a person, or giving them a new password, ends what they signed in to.
        if (next.user.disabled && !stored.user.disabled)
            || next.password_hash != stored.password_hash
        {
            self.add_signout(SignoutTask::new(envelope, &next.user.id, true))
                .await?;
        }
        let action = change_action("user", stored.user.disabled, next.user.disabled);
        self.audit(envelope, &action, &next.user.id).await?;
        Ok(Reply::User(next))
    }

    pub(super) async fn delete_user(
        &self,
        envelope: &Envelope,
        id: &str,
        expected_version: Option<u64>,
    ) -> Result<Reply, StoreError> {
        let key = user_key(id);
        let Some(stored) = self.read::<UserRecord>(&key).await? else {
            return Ok(Reply::Error(ApiError::not_found("user")));
        };
        if let Err(e) = check_version(stored.user.version, expected_version) {
            return Ok(Reply::Error(e));
        }
        self.env.storage.delete(&key).await?;
        self.env
            .storage
            .delete(&user_name_key(&stored.user.username))
            .await?;
        self.publish::<UserRecord>(&user_login_key(&stored.user.username), None)?;
        self.publish::<Profile>(&user_profile_key(id), None)?;
        self.add_signout(SignoutTask::new(envelope, id, true))
            .await?;
        self.audit(envelope, "user.delete", id).await?;
        Ok(Reply::Done)
    }

    /// Stores a user by id and queues its KV copies: the record under the login key, the
    /// profile claims alone under the id.
    async fn put_user(&self, record: &UserRecord) -> Result<(), StoreError> {
        self.store(&user_key(&record.user.id), record).await?;
        self.publish(&user_login_key(&record.user.username), Some(record))?;
        self.publish(
            &user_profile_key(&record.user.id),
            Some(&record.user.profile),
        )
    }
}
