//! Grant state: consents, authorization codes, refresh-token families and login lockouts, held
//! in sharded Durable Objects (the `GrantObject` class).
//!
//! Everything here must be single-use or take effect at once, so none of it lives in KV. Each
//! user's grants sit in one shard (chosen by a hash of the user id); the codes and refresh
//! tokens we hand out name their shard in a short prefix (`"{shard}.{256 random bits}"`), so
//! the edge can route them without any lookup. Only SHA-256 hashes of codes and refresh tokens
//! are stored.
//!
//! [`execute`] runs one [`GrantCommand`] and awaits nothing but the object's own storage, so a
//! Durable Object's input gate makes each command atomic: of twenty concurrent redemptions of
//! one code, exactly one succeeds. Revoking access tokens (the deny-list) and auditing belong
//! to the authority: a command that revokes answers a [`GrantEvent`] the caller forwards, and
//! writes it to the shard's outbox in the same command, so that a forward that fails is
//! retried (session generations and the outbox: [`people`]).
//!
//! Rules implemented: RFC 6749 §4.1.2 and §10.5 (codes short-lived, single-use, bound to the
//! client and redirect URI; a replay revokes what the code issued), RFC 7636 §4.6 (S256 only),
//! RFC 6749 §6 and RFC 9700 §4.14.2 (refresh-token rotation with reuse detection, scope may only
//! narrow, sender binding to the client; a retried rotation answered again within a short
//! window, in [`retry`]), RFC 9700 §4.15 (bounded login attempts, in [`lockout`]).

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::api::GrantView;
use crate::crypto::{random_token, sha256_b64};
use crate::ports::{
    expiry_entry, list_all_records, sweep_expired, Clock, DurableStorage, Rng, StoreError,
};

mod lockout;
mod people;
mod retry;

pub use lockout::LockKey;
pub use people::Pending;
pub use retry::{
    parse_window_ms, RetryTicket, DEFAULT_WINDOW_MS as DEFAULT_RETRY_WINDOW_MS,
    MAX_WINDOW_MS as MAX_RETRY_WINDOW_MS,
};

/// How long a used or expired code is remembered, so that a replay still revokes, seconds.
const CODE_MEMORY: u64 = 600;
/// Longest access-token lifetime (see [`crate::lifetimes::MAX_ACCESS_TOKEN_TTL`]).
const MAX_ACCESS_TOKEN_TTL: u64 = crate::lifetimes::MAX_ACCESS_TOKEN_TTL;
/// Key prefix of the expiry index (`expiry:{unix seconds, 11 digits}:{key}`).
const EXPIRY_PREFIX: &str = "expiry:";
/// Most refresh-token families a grant keeps (one per signed-in device or session, say).
/// Starting one more ends the oldest family's refresh token, so that neither the grant record
/// nor the work of starting a family grows without bound.
pub const MAX_FAMILIES: usize = 32;
/// Records a sweep deletes at most.
const SWEEP_BATCH: usize = 32;
/// Number of grant shards (Durable Object instances named `grants-{n}`).
pub const SHARDS: u32 = 16;
/// The shard that holds `key` (a user id, or a lockout key).
pub fn shard_of(key: &str) -> u32 {
    let digest = sha256_b64(key.as_bytes());
    let n = digest.bytes().take(6).fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    n % SHARDS
}

/// The shard a code, refresh token or grant id names, if it is one of ours.
pub fn shard_of_token(token: &str) -> Option<u32> {
    let (shard, rest) = token.split_once('.')?;
    if rest.is_empty() || shard.len() > 2 || !shard.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    shard.parse().ok().filter(|s| *s < SHARDS)
}

/// A new opaque credential (code, refresh token or grant id) in `shard`: 256 random bits.
pub fn new_token(rng: &dyn Rng, shard: u32) -> String {
    format!("{shard}.{}", random_token(rng, 32))
}

/// Whether `verifier` proves `challenge` under S256 (RFC 7636 §4.1, §4.6).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && bool::from(
            sha256_b64(verifier.as_bytes())
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

/// An access token the deny-list must hold until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub jti: String,
    pub exp: u64,
}

/// What a revoking command asks the authority to do: deny these tokens and audit `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantEvent {
    /// The shard's id of this revocation (`<grant id>#<seq>`), so the authority applies it
    /// once however often it is delivered; empty for events no shard recorded.
    #[serde(default)]
    pub id: String,
    /// Audit action, e.g. `grant.revoke`, `refresh.reuse`, `code.replay`.
    pub action: String,
    /// Audit target: the grant id.
    pub target: String,
    pub deny: Vec<IssuedToken>,
}

/// The tokens to issue, chosen by the edge (which holds the random source and the client's
/// lifetimes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// The access token's `jti` and expiry.
    pub access: IssuedToken,
    /// The hash of the new refresh token, when the client may refresh.
    pub refresh_hash: Option<String>,
    pub idle_ttl: u64,
    pub absolute_ttl: u64,
    /// The DPoP key (JWK thumbprint) a new family's refresh tokens are bound to (public
    /// clients, RFC 9449 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_jkt: Option<String>,
}

/// The sign-in behind an OpenID Connect grant (`openid` granted): what its ID tokens repeat.
/// The code carries the request's `nonce`; the refresh family keeps the rest, so a refreshed
/// ID token has the same `auth_time` and `sid` (OIDC Core §12.2) and no `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    /// When the person signed in (seconds).
    pub auth_time: u64,
    /// The browser session's id.
    pub sid: String,
    /// The authorization request's `nonce`, exactly as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// An authorization code as stored (under its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub grant_id: String,
    pub client_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named it: then the token request must repeat it;
    /// otherwise it may leave it out (RFC 6749 §4.1.3).
    #[serde(default)]
    pub redirect_uri_sent: bool,
    /// The S256 `code_challenge`.
    pub challenge: String,
    /// `dpop_jkt` of the authorization request: the token request's DPoP proof must be signed
    /// by this key (RFC 9449 §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    pub user: String,
    pub scopes: Vec<String>,
    pub exp: u64,
    /// The sign-in, when the code is for an ID token too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignIn>,
    /// Once used: the family it started (empty when it was burnt by a failed redemption).
    #[serde(default)]
    pub redeemed: Option<String>,
    /// The `resource` of the authorization request (RFC 8707): a token request naming
    /// another one is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// What a token request presents with a code (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707).
#[derive(Debug, Clone, Copy)]
struct Redemption<'a> {
    client_id: &'a str,
    redirect_uri: &'a str,
    verifier: &'a str,
    resource: Option<&'a str>,
    jkt: Option<&'a str>,
}

/// A user's authorisation of a client: the consented scopes and every token family under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: String,
    pub user: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
    #[serde(default)]
    pub families: Vec<String>,
}

impl From<GrantRecord> for GrantView {
    fn from(g: GrantRecord) -> Self {
        Self {
            id: g.id,
            user: g.user,
            client_id: g.client_id,
            scopes: g.scopes,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// A chain of rotated refresh tokens and the access tokens issued along it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Family {
    id: String,
    grant_id: String,
    client_id: String,
    user: String,
    scopes: Vec<String>,
    /// The hash of the one refresh token that may be used next.
    current: Option<String>,
    created_at: u64,
    last_used: u64,
    idle_ttl: u64,
    absolute_ttl: u64,
    tokens: Vec<IssuedToken>,
    /// The DPoP key its refresh tokens are bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jkt: Option<String>,
    /// The sign-in of an OpenID Connect grant, without its `nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_in: Option<SignIn>,
}

impl Family {
    fn expires_at(&self) -> u64 {
        (self.last_used + self.idle_ttl).min(self.created_at + self.absolute_ttl)
    }
}

/// A live refresh token, for introspection (RFC 7662).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshInfo {
    pub client_id: String,
    pub user: String,
    pub scope: String,
    pub iat: u64,
    pub exp: u64,
}

/// What a grant shard can be asked to do (externally tagged, like
/// the authority's `Command`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantCommand {
    /// The scopes `user` has consented to for `client_id`, if any.
    Consented {
        user: String,
        client_id: String,
    },
    /// Records consent (the union with any earlier one); `grant_id` is used for a new grant.
    Consent {
        user: String,
        client_id: String,
        scopes: Vec<String>,
        grant_id: String,
    },
    IssueCode {
        code_hash: String,
        code: CodeRecord,
    },
    /// Redeems a code (RFC 6749 §4.1.3) with its PKCE verifier.
    RedeemCode {
        code_hash: String,
        client_id: String,
        redirect_uri: String,
        verifier: String,
        /// The token request's `resource`, if it names one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource: Option<String>,
        issue: Issue,
        /// The key of the request's DPoP proof, if it had one.
        #[serde(default)]
        jkt: Option<String>,
    },
    /// Rotates a refresh token (RFC 6749 §6); `scope` may only narrow. With `retry`, a
    /// retry of this request gets the same new refresh token ([`retry`]).
    Refresh {
        token_hash: String,
        client_id: String,
        scope: Option<Vec<String>>,
        issue: Issue,
        #[serde(default)]
        retry: Option<RetryTicket>,
        /// The key of the request's DPoP proof, if it had one.
        #[serde(default)]
        jkt: Option<String>,
    },
    /// Issues tokens without a code (password and implicit grants), recording the grant.
    IssueDirect {
        user: String,
        client_id: String,
        scopes: Vec<String>,
        grant_id: String,
        issue: Issue,
    },
    List {
        user: Option<String>,
        client_id: Option<String>,
    },
    /// Revokes a grant; when `user` is given, only if it is theirs.
    Revoke {
        grant_id: String,
        user: Option<String>,
    },
    /// RFC 7009 for a refresh token: revokes its family if `client_id` owns it.
    RevokeRefresh {
        token_hash: String,
        client_id: String,
    },
    InspectRefresh {
        token_hash: String,
    },
    /// Revokes every grant of a disabled or deleted client in this shard (sent by the
    /// authority to each shard in turn, see `authority/fanout.rs`).
    RevokeClient {
        client_id: String,
    },
    /// Admits a sign-in attempt for `key` unless it is locked out: an admitted attempt counts
    /// as a failure until [`GrantCommand::LoginSucceeded`] forgives it, so concurrent attempts
    /// cannot all pass a check before any failure is recorded. Answers the seconds until `key`
    /// may try again (0 = admitted). The rules are in [`lockout`].
    LoginAttempt {
        key: LockKey,
    },
    /// The admitted attempt was right: forgives it (a username's back-off is cleared, though
    /// not its 30-day tally; a network only loses this one attempt, so a valid sign-in cannot
    /// launder others' failures).
    LoginSucceeded {
        key: LockKey,
    },
    /// The session generation of `user` (see [`people`]).
    SessionGeneration {
        user: String,
    },
    /// Ends every session of `user` (a new generation) and, when `revoke_grants`, revokes all
    /// their grants under the audit action `action`, on behalf of `actor`.
    EndPerson {
        user: String,
        revoke_grants: bool,
        action: String,
        actor: String,
    },
    /// The oldest revocations the authority has not acknowledged yet.
    Undelivered,
    /// The authority applied these revocations (by [`GrantEvent::id`]).
    Delivered {
        ids: Vec<String>,
    },
    /// Records a single-use id (a client assertion's or a DPoP proof's `jti`, hashed with
    /// whose it is) until `until` (seconds, at most [`MAX_SEEN_SECS`] ahead); answers whether
    /// this is its first use.
    FirstUse {
        key: String,
        until: u64,
    },
}

/// Longest time a single-use id is remembered, seconds.
pub const MAX_SEEN_SECS: u64 = 3600;

/// Why a redemption or refresh failed, in RFC 6749 §5.2 terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    InvalidGrant,
    InvalidScope,
}

/// A shard's answer (externally tagged, like the authority's `Command`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantReply {
    Consented {
        grant: Option<GrantView>,
    },
    Grant {
        grant: GrantView,
    },
    Done,
    Issued {
        grant_id: String,
        user: String,
        scopes: Vec<String>,
        /// The sign-in of an OpenID Connect grant (with the code's `nonce` on redemption).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_in: Option<SignIn>,
        /// Whether the refresh token in the request was stored.
        refresh: bool,
    },
    Refused {
        code: RefusalCode,
        reason: String,
        revoked: Option<GrantEvent>,
    },
    /// A retried refresh ([`retry`]): the rotation's refresh token, sealed under the presented
    /// one, and the request's access token recorded.
    Reissued {
        grant_id: String,
        user: String,
        scopes: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_in: Option<SignIn>,
        sealed: String,
    },
    Grants {
        grants: Vec<GrantView>,
    },
    Revoked {
        revoked: Option<GrantEvent>,
    },
    Refresh {
        info: Option<RefreshInfo>,
    },
    Lockout {
        retry_after: u64,
    },
    Generation {
        generation: u64,
    },
    /// A person's sessions ended, and the grants revoked with them.
    Ended {
        events: Vec<GrantEvent>,
    },
    Undelivered {
        pending: Vec<Pending>,
    },
    /// [`GrantCommand::RevokeClient`] is done in this shard.
    ClientRevoked,
    /// [`GrantCommand::FirstUse`]: whether the id was new.
    FirstUse {
        first: bool,
    },
}

/// What a shard runs on.
pub struct GrantEnv<'a> {
    pub storage: &'a dyn DurableStorage,
    pub clock: &'a dyn Clock,
}

fn code_key(hash: &str) -> String {
    format!("code:{hash}")
}
fn grant_key(id: &str) -> String {
    format!("grant:{id}")
}
fn family_key(id: &str) -> String {
    format!("family:{id}")
}
fn refresh_key(hash: &str) -> String {
    format!("refresh:{hash}")
}
fn seen_key(hash: &str) -> String {
    format!("seen:{hash}")
}
fn pair_key(user: &str, client_id: &str) -> String {
    format!(
        "pair:{}",
        sha256_b64(format!("{user}\n{client_id}").as_bytes())
    )
}
/// The expiry index's entry that deletes `key` once `at` (seconds) has passed.
fn expiry_key(key: &str, at: u64) -> String {
    expiry_entry(EXPIRY_PREFIX, key, at)
}

fn refused(reason: &str) -> GrantReply {
    GrantReply::Refused {
        code: RefusalCode::InvalidGrant,
        reason: reason.into(),
        revoked: None,
    }
}

/// A presented refresh token and what must match it.
#[derive(Clone, Copy)]
struct Presented<'c> {
    token_hash: &'c str,
    client_id: &'c str,
    jkt: Option<&'c str>,
}

struct Shard<'e, 'a> {
    env: &'e GrantEnv<'a>,
    now: u64,
}

/// Runs one command against a shard's storage.
pub async fn execute(env: &GrantEnv<'_>, command: &GrantCommand) -> Result<GrantReply, StoreError> {
    let shard = Shard {
        env,
        now: env.clock.now(),
    };
    let mut reply = shard.run(command).await?;
    shard.record_events(command, &mut reply).await?;
    Ok(reply)
}

impl Shard<'_, '_> {
    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        crate::ports::parse_record(key, self.env.storage.get(key).await?)
    }

    async fn write<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.env
            .storage
            .put(key, &crate::ports::record_json(value)?)
            .await
    }

    /// Schedules `key` for deletion once `at` (seconds) has passed.
    async fn expire(&self, key: &str, at: u64) -> Result<(), StoreError> {
        self.env.storage.put(&expiry_key(key, at), "").await
    }

    /// Cancels what [`Self::expire`] scheduled for `key` at `at` (a record that lives on
    /// past it is scheduled again, at its new time).
    async fn unexpire(&self, key: &str, at: u64) -> Result<(), StoreError> {
        self.env.storage.delete(&expiry_key(key, at)).await
    }

    /// Deletes a few records whose time has passed (the oldest first), so a shard's storage
    /// holds only what can still matter.
    async fn sweep(&self) -> Result<(), StoreError> {
        sweep_expired(self.env.storage, EXPIRY_PREFIX, self.now, SWEEP_BATCH).await
    }

    async fn grant_of(
        &self,
        user: &str,
        client_id: &str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        match self.read::<String>(&pair_key(user, client_id)).await? {
            Some(id) => self.read(&grant_key(&id)).await,
            None => Ok(None),
        }
    }

    /// Finds or creates the grant of `user` to `client_id` and widens it to `scopes`.
    async fn upsert_grant(
        &self,
        user: &str,
        client_id: &str,
        scopes: &[String],
        new_id: &str,
    ) -> Result<GrantRecord, StoreError> {
        let existing = self.grant_of(user, client_id).await?;
        let mut grant = if let Some(g) = existing {
            g
        } else {
            self.write(&pair_key(user, client_id), &new_id).await?;
            GrantRecord {
                id: new_id.to_owned(),
                user: user.to_owned(),
                client_id: client_id.to_owned(),
                scopes: Vec::new(),
                created_at: self.now,
                updated_at: self.now,
                families: Vec::new(),
            }
        };
        for s in scopes {
            if !grant.scopes.contains(s) {
                grant.scopes.push(s.clone());
                grant.updated_at = self.now;
            }
        }
        self.write(&grant_key(&grant.id), &grant).await?;
        Ok(grant)
    }

    /// Starts a token family under `grant` and stores the refresh token, if any.
    async fn start_family(
        &self,
        grant: &mut GrantRecord,
        scopes: &[String],
        issue: &Issue,
        sign_in: Option<&SignIn>,
    ) -> Result<String, StoreError> {
        let family = Family {
            id: issue.access.jti.clone(),
            grant_id: grant.id.clone(),
            client_id: grant.client_id.clone(),
            user: grant.user.clone(),
            scopes: scopes.to_vec(),
            current: issue.refresh_hash.clone(),
            created_at: self.now,
            last_used: self.now,
            idle_ttl: issue.idle_ttl,
            absolute_ttl: issue.absolute_ttl,
            tokens: vec![issue.access.clone()],
            jkt: issue.refresh_jkt.clone(),
            sign_in: sign_in.map(|s| SignIn {
                nonce: None,
                ..s.clone()
            }),
        };
        let end = self.now + issue.absolute_ttl;
        if let Some(hash) = &issue.refresh_hash {
            self.write(&refresh_key(hash), &family.id).await?;
            self.expire(&refresh_key(hash), end).await?;
        }
        self.write(&family_key(&family.id), &family).await?;
        self.expire(&family_key(&family.id), end + MAX_ACCESS_TOKEN_TTL)
            .await?;
        let now = self.now;
        let excess = grant.families.len().saturating_sub(MAX_FAMILIES - 1);
        for id in grant.families.drain(..excess) {
            self.env.storage.delete(&family_key(&id)).await?;
        }
        let mut live = Vec::with_capacity(grant.families.len() + 1);
        for id in grant.families.drain(..) {
            if let Some(f) = self.read::<Family>(&family_key(&id)).await? {
                if f.expires_at() > now || f.tokens.iter().any(|t| t.exp > now) {
                    live.push(id);
                } else {
                    self.env.storage.delete(&family_key(&id)).await?;
                }
            }
        }
        live.push(family.id.clone());
        grant.families = live;
        self.write(&grant_key(&grant.id), grant).await?;
        Ok(family.id)
    }

    /// Deletes a family; answers its access tokens that are still alive.
    async fn drop_family(&self, id: &str) -> Result<Vec<IssuedToken>, StoreError> {
        let Some(family) = self.read::<Family>(&family_key(id)).await? else {
            return Ok(Vec::new());
        };
        self.env.storage.delete(&family_key(id)).await?;
        Ok(family
            .tokens
            .into_iter()
            .filter(|t| t.exp > self.now)
            .collect())
    }

    /// Every grant of this shard that `keep` accepts.
    async fn grants_where(
        &self,
        keep: impl Fn(&GrantRecord) -> bool,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let mut grants: Vec<GrantRecord> = list_all_records(self.env.storage, "grant:").await?;
        grants.retain(keep);
        Ok(grants)
    }

    /// Revokes a whole grant: every family, every refresh token, the consent.
    async fn revoke_grant(
        &self,
        grant_id: &str,
        action: &str,
    ) -> Result<Option<GrantEvent>, StoreError> {
        let Some(grant) = self.read::<GrantRecord>(&grant_key(grant_id)).await? else {
            return Ok(None);
        };
        let mut deny = Vec::new();
        for id in &grant.families {
            deny.extend(self.drop_family(id).await?);
        }
        self.env.storage.delete(&grant_key(grant_id)).await?;
        self.env
            .storage
            .delete(&pair_key(&grant.user, &grant.client_id))
            .await?;
        Ok(Some(GrantEvent {
            id: String::new(),
            action: action.into(),
            target: grant.id,
            deny,
        }))
    }

    async fn run(&self, command: &GrantCommand) -> Result<GrantReply, StoreError> {
        match command {
            GrantCommand::Consented { user, client_id } => Ok(GrantReply::Consented {
                grant: self.grant_of(user, client_id).await?.map(GrantView::from),
            }),
            GrantCommand::Consent {
                user,
                client_id,
                scopes,
                grant_id,
            } => Ok(GrantReply::Grant {
                grant: self
                    .upsert_grant(user, client_id, scopes, grant_id)
                    .await?
                    .into(),
            }),
            GrantCommand::IssueCode { code_hash, code } => self.issue_code(code_hash, code).await,
            GrantCommand::RedeemCode {
                code_hash,
                client_id,
                redirect_uri,
                verifier,
                resource,
                issue,
                jkt,
            } => {
                let asked = Redemption {
                    client_id,
                    redirect_uri,
                    verifier,
                    resource: resource.as_deref(),
                    jkt: jkt.as_deref(),
                };
                self.redeem(code_hash, &asked, issue).await
            }
            GrantCommand::Refresh {
                token_hash,
                client_id,
                scope,
                issue,
                retry,
                jkt,
            } => {
                let presented = Presented {
                    token_hash,
                    client_id,
                    jkt: jkt.as_deref(),
                };
                self.refresh(&presented, scope.as_deref(), issue, retry.as_ref())
                    .await
            }
            GrantCommand::IssueDirect {
                user,
                client_id,
                scopes,
                grant_id,
                issue,
            } => {
                self.issue_direct(user, client_id, scopes, grant_id, issue)
                    .await
            }
            GrantCommand::List { user, client_id } => Ok(GrantReply::Grants {
                grants: self
                    .grants_where(|g| {
                        user.as_ref().is_none_or(|u| *u == g.user)
                            && client_id.as_ref().is_none_or(|c| *c == g.client_id)
                    })
                    .await?
                    .into_iter()
                    .map(GrantView::from)
                    .collect(),
            }),
            GrantCommand::RevokeClient { client_id } => self.revoke_client(client_id).await,
            GrantCommand::Revoke { grant_id, user } => {
                self.revoke_owned(grant_id, user.as_deref()).await
            }
            GrantCommand::RevokeRefresh {
                token_hash,
                client_id,
            } => self.revoke_refresh(token_hash, client_id).await,
            GrantCommand::InspectRefresh { token_hash } => self.inspect_refresh(token_hash).await,
            GrantCommand::LoginAttempt { key } => self.login_attempt(key).await,
            GrantCommand::LoginSucceeded { key } => self.login_succeeded(key).await,
            GrantCommand::SessionGeneration { user } => Ok(GrantReply::Generation {
                generation: self.generation(user).await?,
            }),
            GrantCommand::EndPerson {
                user,
                revoke_grants,
                action,
                ..
            } => self.end_person(user, *revoke_grants, action).await,
            GrantCommand::Undelivered => self.undelivered().await,
            GrantCommand::Delivered { ids } => self.delivered(ids).await,
            GrantCommand::FirstUse { key, until } => self.first_use(key, *until).await,
        }
    }

    async fn first_use(&self, key: &str, until: u64) -> Result<GrantReply, StoreError> {
        self.sweep().await?;
        let key = seen_key(key);
        let seen = self
            .read::<u64>(&key)
            .await?
            .is_some_and(|until| until > self.now);
        if !seen {
            let until = until.min(self.now + MAX_SEEN_SECS);
            self.write(&key, &until).await?;
            self.expire(&key, until).await?;
        }
        Ok(GrantReply::FirstUse { first: !seen })
    }

    async fn issue_code(
        &self,
        code_hash: &str,
        code: &CodeRecord,
    ) -> Result<GrantReply, StoreError> {
        self.sweep().await?;
        self.write(&code_key(code_hash), code).await?;
        self.expire(&code_key(code_hash), code.exp + CODE_MEMORY)
            .await?;
        Ok(GrantReply::Done)
    }

    async fn issue_direct(
        &self,
        user: &str,
        client_id: &str,
        scopes: &[String],
        grant_id: &str,
        issue: &Issue,
    ) -> Result<GrantReply, StoreError> {
        self.sweep().await?;
        let mut grant = self.upsert_grant(user, client_id, scopes, grant_id).await?;
        self.start_family(&mut grant, scopes, issue, None).await?;
        Ok(GrantReply::Issued {
            grant_id: grant.id,
            user: user.to_owned(),
            scopes: scopes.to_vec(),
            sign_in: None,
            refresh: issue.refresh_hash.is_some(),
        })
    }

    async fn revoke_client(&self, client_id: &str) -> Result<GrantReply, StoreError> {
        let grants = self.grants_where(|g| g.client_id == *client_id).await?;
        for grant in &grants {
            // The client's access tokens are denied by its deny-list rule already.
            self.revoke_grant(&grant.id, "client.revoke").await?;
        }
        Ok(GrantReply::ClientRevoked)
    }

    /// Revokes grant `grant_id`, only if `user` (when given) holds it.
    async fn revoke_owned(
        &self,
        grant_id: &str,
        user: Option<&str>,
    ) -> Result<GrantReply, StoreError> {
        if let Some(user) = user {
            let owned = self
                .read::<GrantRecord>(&grant_key(grant_id))
                .await?
                .is_some_and(|g| g.user == *user);
            if !owned {
                return Ok(GrantReply::Revoked { revoked: None });
            }
        }
        Ok(GrantReply::Revoked {
            revoked: self.revoke_grant(grant_id, "grant.revoke").await?,
        })
    }

    async fn revoke_refresh(
        &self,
        token_hash: &str,
        client_id: &str,
    ) -> Result<GrantReply, StoreError> {
        let Some(fid) = self.read::<String>(&refresh_key(token_hash)).await? else {
            return Ok(GrantReply::Revoked { revoked: None });
        };
        let Some(family) = self.read::<Family>(&family_key(&fid)).await? else {
            return Ok(GrantReply::Revoked { revoked: None });
        };
        if family.client_id != *client_id {
            return Ok(GrantReply::Revoked { revoked: None });
        }
        let deny = self.drop_family(&fid).await?;
        Ok(GrantReply::Revoked {
            revoked: Some(GrantEvent {
                id: String::new(),
                action: "refresh.revoke".into(),
                target: family.grant_id,
                deny,
            }),
        })
    }

    async fn inspect_refresh(&self, token_hash: &str) -> Result<GrantReply, StoreError> {
        let family = match self.read::<String>(&refresh_key(token_hash)).await? {
            Some(fid) => self.read::<Family>(&family_key(&fid)).await?,
            None => None,
        };
        let info = family
            .filter(|f| f.current.as_deref() == Some(token_hash) && f.expires_at() > self.now)
            .map(|f| RefreshInfo {
                exp: f.expires_at(),
                client_id: f.client_id,
                user: f.user,
                scope: f.scopes.join(" "),
                iat: f.last_used,
            });
        Ok(GrantReply::Refresh { info })
    }

    async fn redeem(
        &self,
        code_hash: &str,
        asked: &Redemption<'_>,
        issue: &Issue,
    ) -> Result<GrantReply, StoreError> {
        let Redemption {
            client_id,
            redirect_uri,
            verifier,
            resource,
            jkt,
        } = *asked;
        let key = code_key(code_hash);
        let Some(mut code) = self.read::<CodeRecord>(&key).await? else {
            return Ok(refused("the code is unknown or expired"));
        };
        if let Some(family) = &code.redeemed {
            // RFC 6749 §4.1.2: a replayed code revokes the tokens it issued.
            let deny = self.drop_family(family).await?;
            return Ok(GrantReply::Refused {
                code: RefusalCode::InvalidGrant,
                reason: "the code was already used".into(),
                revoked: Some(GrantEvent {
                    id: String::new(),
                    action: "code.replay".into(),
                    target: code.grant_id,
                    deny,
                }),
            });
        }
        let why = if self.now >= code.exp {
            Some("the code has expired")
        } else if code.client_id != client_id {
            Some("the code was issued to another client")
        } else if redirect_uri != code.redirect_uri
            && (code.redirect_uri_sent || !redirect_uri.is_empty())
        {
            Some("redirect_uri differs from the authorization request")
        } else if !pkce_matches(verifier, &code.challenge) {
            Some("code_verifier does not match the code_challenge")
        } else if resource.is_some()
            && code.resource.is_some()
            && resource != code.resource.as_deref()
        {
            Some("resource differs from the authorization request")
        } else if code.dpop_jkt.is_some() && code.dpop_jkt.as_deref() != jkt {
            Some("the DPoP proof's key is not the dpop_jkt of the authorization request")
        } else {
            None
        };
        if let Some(why) = why {
            // A failed redemption burns the code: it cannot be tried again.
            code.redeemed = Some(String::new());
            self.write(&key, &code).await?;
            return Ok(refused(why));
        }
        let Some(mut grant) = self.read::<GrantRecord>(&grant_key(&code.grant_id)).await? else {
            self.env.storage.delete(&key).await?;
            return Ok(refused("the grant was revoked"));
        };
        let family = self
            .start_family(&mut grant, &code.scopes, issue, code.sign_in.as_ref())
            .await?;
        code.redeemed = Some(family);
        self.write(&key, &code).await?;
        Ok(GrantReply::Issued {
            grant_id: grant.id,
            user: code.user,
            scopes: code.scopes,
            sign_in: code.sign_in,
            refresh: issue.refresh_hash.is_some(),
        })
    }

    async fn refresh(
        &self,
        presented: &Presented<'_>,
        scope: Option<&[String]>,
        issue: &Issue,
        ticket: Option<&RetryTicket>,
    ) -> Result<GrantReply, StoreError> {
        let Presented {
            token_hash,
            client_id,
            jkt,
        } = *presented;
        self.sweep().await?;
        let Some(fid) = self.read::<String>(&refresh_key(token_hash)).await? else {
            return Ok(refused("the refresh token is unknown"));
        };
        let Some(mut family) = self.read::<Family>(&family_key(&fid)).await? else {
            return Ok(refused("the refresh token was revoked"));
        };
        let retry = retry::Retry {
            token_hash,
            family: &fid,
            client_id,
            scopes: scope.unwrap_or(&family.scopes),
            ticket,
        };
        if family.current.as_deref() != Some(token_hash) {
            if let Some(repeat) = self.retried(&retry, family.current.as_deref()).await? {
                family.tokens.retain(|t| t.exp > self.now);
                family.tokens.push(issue.access.clone());
                self.write(&family_key(&fid), &family).await?;
                return Ok(GrantReply::Reissued {
                    grant_id: family.grant_id,
                    user: family.user,
                    scopes: repeat.scopes,
                    sign_in: family.sign_in,
                    sealed: repeat.sealed,
                });
            }
            // RFC 9700 §4.14.2: a used refresh token came back; someone holds a copy.
            let revoked = self.revoke_grant(&family.grant_id, "refresh.reuse").await?;
            return Ok(GrantReply::Refused {
                code: RefusalCode::InvalidGrant,
                reason: "the refresh token was already used".into(),
                revoked,
            });
        }
        if family.client_id != client_id {
            return Ok(refused("the refresh token was issued to another client"));
        }
        if family.jkt.is_some() && family.jkt.as_deref() != jkt {
            return Ok(refused(
                "the refresh token is bound to another DPoP key (RFC 9449 §5)",
            ));
        }
        if family.expires_at() <= self.now {
            self.drop_family(&fid).await?;
            return Ok(refused("the refresh token has expired"));
        }
        if let Some(extra) = retry.scopes.iter().find(|s| !family.scopes.contains(s)) {
            return Ok(GrantReply::Refused {
                code: RefusalCode::InvalidScope,
                reason: format!("scope `{extra}` was not granted"),
                revoked: None,
            });
        }
        let scopes = retry.scopes.to_vec();
        if let Some(new) = &issue.refresh_hash {
            self.write(&refresh_key(new), &fid).await?;
            let end = family.created_at + family.absolute_ttl;
            self.expire(&refresh_key(new), end).await?;
            self.remember_rotation(&retry, new).await?;
        }
        family.current.clone_from(&issue.refresh_hash);
        family.last_used = self.now;
        family.tokens.retain(|t| t.exp > self.now);
        family.tokens.push(issue.access.clone());
        self.write(&family_key(&fid), &family).await?;
        Ok(GrantReply::Issued {
            grant_id: family.grant_id,
            user: family.user,
            scopes,
            sign_in: family.sign_in,
            refresh: issue.refresh_hash.is_some(),
        })
    }
}

/// The client side of the grant Durable Objects (see [`crate::grants`]).
#[async_trait(?Send)]
pub trait GrantStore {
    /// Runs `command` in grant shard `shard` and returns its reply.
    async fn call(
        &self,
        shard: u32,
        command: &crate::grants::GrantCommand,
    ) -> Result<crate::grants::GrantReply, StoreError>;
}

#[cfg(test)]
pub(crate) mod tests;
