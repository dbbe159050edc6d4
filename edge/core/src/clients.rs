//! Registered clients: validation of new registrations, the stored record, and client
//! authentication (RFC 6749 §2.3).
//!
//! A client secret is 256 random bits, shown once, and stored only as a keyed hash
//! ([`crate::crypto::SecretHash`]). A client may hold two secrets during a rotation; the older
//! one carries an expiry. Verification walks every stored hash without stopping early.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{Client, ClientPatch, GrantType, NewClient, Scope, SecretInfo, TokenAuthMethod};
use crate::crypto::{random_token, SecretHash, Secrets};
use crate::error::ApiError;
use crate::gateway::issuers::{has_private_member, keys_of};
use crate::lifetimes::{
    DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_REFRESH_ABSOLUTE_TTL, DEFAULT_REFRESH_IDLE_TTL,
    MAX_ACCESS_TOKEN_TTL, MAX_REFRESH_TOKEN_TTL,
};
use crate::ports::Rng;
use crate::scope::{is_builtin_scope, is_scope_token};
use crate::uri::{check_absolute_uri, check_redirect_uri, is_jwks_uri};

/// Most keys in a client's inline `jwks`.
pub const MAX_CLIENT_KEYS: usize = 10;
/// Longest inline `jwks`, as JSON.
const MAX_CLIENT_JWKS_LEN: usize = 16 * 1024;

/// Claims a client's custom claims may not override.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "auth_time",
    "acr",
    "amr",
    "cnf",
];

/// A client as stored: the public record plus the secret hashes (aligned with
/// `client.secrets`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    #[serde(flatten)]
    pub client: Client,
    #[serde(default)]
    pub secret_hashes: Vec<String>,
}

impl ClientRecord {
    /// Validates a registration and builds the record; returns the fresh secret for a
    /// confidential client.
    pub fn register(
        new: NewClient,
        catalogue: &[Scope],
        secrets: &Secrets,
        rng: &dyn Rng,
        now: u64,
    ) -> Result<(Self, Option<String>), ApiError> {
        let mut new = new;
        let method = new.token_endpoint_auth_method.unwrap_or(if new.public {
            TokenAuthMethod::None
        } else {
            TokenAuthMethod::ClientSecretBasic
        });
        if new.public && method != TokenAuthMethod::None {
            return Err(ApiError::invalid(
                "token_endpoint_auth_method",
                "a public client authenticates with none",
            ));
        }
        new.public = method == TokenAuthMethod::None;
        new.token_endpoint_auth_method = Some(method);
        validate(&new, catalogue)?;
        let client_id = random_token(rng, 16);
        let (secret, hashes, infos) = if method.has_secret() {
            let secret = new_secret(rng);
            let hash = secrets.hash_client_secret(&secret).to_stored();
            let info = SecretInfo {
                created_at: now,
                expires_at: None,
            };
            (Some(secret), vec![hash], vec![info])
        } else {
            (None, Vec::new(), Vec::new())
        };
        let mut client = Client {
            client_id,
            name: String::new(),
            grant_types: Vec::new(),
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            public: new.public,
            audiences: Vec::new(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            refresh_token_idle_ttl: None,
            refresh_token_absolute_ttl: None,
            claims: serde_json::Map::new(),
            post_logout_redirect_uris: Vec::new(),
            id_token_signed_response_alg: None,
            disabled: false,
            token_endpoint_auth_method: None,
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            secrets: infos,
            created_at: now,
            updated_at: now,
            version: 1,
            registration: None,
            last_used_at: None,
        };
        assign(&mut client, new);
        let record = Self {
            client,
            secret_hashes: hashes,
        };
        Ok((record, secret))
    }

    /// The record after an admin `PATCH`, validated like a registration (the authority assigns
    /// the next version). A client's type (`public`) cannot change.
    pub fn patched(
        &self,
        patch: ClientPatch,
        catalogue: &[Scope],
        now: u64,
    ) -> Result<Self, ApiError> {
        let c = &self.client;
        if patch.public.is_some_and(|p| p != c.public) {
            return Err(ApiError::invalid(
                "public",
                "a client's type cannot change; create a new client instead",
            ));
        }
        let method = patch.token_endpoint_auth_method.unwrap_or(c.auth_method());
        if method != c.auth_method() && !(method.has_secret() && c.auth_method().has_secret()) {
            return Err(ApiError::invalid(
                "token_endpoint_auth_method",
                "only client_secret_basic and client_secret_post can be exchanged; a client \
                 cannot gain or lose its secret or keys (create a new client instead)",
            ));
        }
        let (jwks, jwks_uri) = match (patch.jwks, patch.jwks_uri) {
            (None, None) => (c.jwks.clone(), c.jwks_uri.clone()),
            (jwks, jwks_uri) => (jwks, jwks_uri),
        };
        let merged = NewClient {
            name: patch.name.unwrap_or_else(|| c.name.clone()),
            grant_types: patch.grant_types.unwrap_or_else(|| c.grant_types.clone()),
            scopes: patch.scopes.unwrap_or_else(|| c.scopes.clone()),
            redirect_uris: patch
                .redirect_uris
                .unwrap_or_else(|| c.redirect_uris.clone()),
            public: c.public,
            audiences: patch.audiences.unwrap_or_else(|| c.audiences.clone()),
            access_token_ttl: Some(patch.access_token_ttl.unwrap_or(c.access_token_ttl)),
            refresh_token_idle_ttl: patch.refresh_token_idle_ttl.or(c.refresh_token_idle_ttl),
            refresh_token_absolute_ttl: patch
                .refresh_token_absolute_ttl
                .or(c.refresh_token_absolute_ttl),
            claims: patch.claims.unwrap_or_else(|| c.claims.clone()),
            token_endpoint_auth_method: Some(method),
            jwks,
            jwks_uri,
            dpop_bound_access_tokens: patch
                .dpop_bound_access_tokens
                .unwrap_or(c.dpop_bound_access_tokens),
            post_logout_redirect_uris: patch
                .post_logout_redirect_uris
                .unwrap_or_else(|| c.post_logout_redirect_uris.clone()),
            id_token_signed_response_alg: patch
                .id_token_signed_response_alg
                .or(c.id_token_signed_response_alg),
        };
        validate(&merged, catalogue)?;
        let mut next = self.clone();
        assign(&mut next.client, merged);
        next.client.disabled = patch.disabled.unwrap_or(c.disabled);
        next.client.updated_at = now;
        Ok(next)
    }

    /// Starts using a new secret (already hashed). The newest previous secret keeps working
    /// until `previous_expires_at` (or its own earlier expiry); any older one is dropped, so a
    /// client never holds more than two live secrets.
    pub fn rotate_secret(&mut self, hash: String, now: u64, previous_expires_at: u64) {
        let previous = self.secret_hashes.pop().zip(self.client.secrets.pop());
        self.secret_hashes.clear();
        self.client.secrets.clear();
        if let Some((old_hash, mut info)) = previous {
            let expires_at = info
                .expires_at
                .map_or(previous_expires_at, |e| e.min(previous_expires_at));
            if expires_at > now {
                info.expires_at = Some(expires_at);
                self.secret_hashes.push(old_hash);
                self.client.secrets.push(info);
            }
        }
        self.secret_hashes.push(hash);
        self.client.secrets.push(SecretInfo {
            created_at: now,
            expires_at: None,
        });
    }

    /// Whether `presented` is one of this client's live secrets. Every stored hash is compared
    /// (constant time each), whatever the outcome.
    pub fn secret_matches(&self, secrets: &Secrets, presented: &str, now: u64) -> bool {
        let presented = secrets.hash_client_secret(presented);
        let mut ok = false;
        for (stored, info) in self.secret_hashes.iter().zip(&self.client.secrets) {
            let live = info.expires_at.is_none_or(|exp| now < exp);
            let matches = SecretHash::from_stored(stored).is_some_and(|h| h.matches(&presented));
            ok |= live & matches;
        }
        ok
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        !self.client.disabled && self.client.grant_types.contains(&grant)
    }
}

/// Copies the settable fields of a validated registration or change into `client`.
fn assign(client: &mut Client, new: NewClient) {
    let mut grant_types = new.grant_types;
    grant_types.sort_unstable();
    new.name.trim().clone_into(&mut client.name);
    client.grant_types = grant_types;
    client.scopes = new.scopes;
    client.redirect_uris = new.redirect_uris;
    client.public = new.public;
    client.audiences = new.audiences;
    client.access_token_ttl = new.access_token_ttl.unwrap_or(DEFAULT_ACCESS_TOKEN_TTL);
    client.refresh_token_idle_ttl = new.refresh_token_idle_ttl;
    client.refresh_token_absolute_ttl = new.refresh_token_absolute_ttl;
    client.claims = new.claims;
    client.token_endpoint_auth_method = new.token_endpoint_auth_method;
    client.jwks = new.jwks;
    client.jwks_uri = new.jwks_uri;
    client.dpop_bound_access_tokens = new.dpop_bound_access_tokens;
    client.post_logout_redirect_uris = new.post_logout_redirect_uris;
    client.id_token_signed_response_alg = new.id_token_signed_response_alg;
}

/// Whether `client`, which registered itself, went unused for `ttl` seconds by `now` (its last
/// use, else its creation); an operator's client never expires.
pub fn client_expired(client: &Client, ttl: u64, now: u64) -> bool {
    client.registration.is_some()
        && client
            .last_used_at
            .unwrap_or(client.created_at)
            .saturating_add(ttl)
            <= now
}

/// A new client secret: 256 random bits.
pub fn new_secret(rng: &dyn Rng) -> String {
    random_token(rng, 32)
}

fn validate(new: &NewClient, catalogue: &[Scope]) -> Result<(), ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    if new.grant_types.is_empty() {
        return Err(ApiError::invalid("grant_types", "at least one grant type"));
    }
    let mut seen = new.grant_types.clone();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != new.grant_types.len() {
        return Err(ApiError::invalid("grant_types", "a grant type is repeated"));
    }
    if new.public && new.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(ApiError::invalid(
            "grant_types",
            "a public client has no secret and cannot use client_credentials",
        ));
    }
    if new.grant_types.contains(&GrantType::RefreshToken)
        && !new
            .grant_types
            .iter()
            .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Password))
    {
        return Err(ApiError::invalid(
            "grant_types",
            "refresh_token needs authorization_code or password",
        ));
    }
    for (i, scope) in new.scopes.iter().enumerate() {
        if !is_scope_token(scope) {
            return Err(ApiError::invalid(
                &format!("scopes[{i}]"),
                "not a valid scope token (RFC 6749 §3.3)",
            ));
        }
        if !catalogue.iter().any(|s| &s.name == scope) && !is_builtin_scope(scope) {
            return Err(ApiError::invalid(
                &format!("scopes[{i}]"),
                format!("unknown scope `{scope}`; create it first"),
            ));
        }
        if new.scopes[..i].contains(scope) {
            return Err(ApiError::invalid(&format!("scopes[{i}]"), "repeated scope"));
        }
    }
    let needs_redirect = new
        .grant_types
        .iter()
        .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit));
    if needs_redirect && new.redirect_uris.is_empty() {
        return Err(ApiError::invalid(
            "redirect_uris",
            "authorization_code and implicit need at least one redirect URI",
        ));
    }
    for (field, uris) in [
        ("redirect_uris", &new.redirect_uris),
        ("post_logout_redirect_uris", &new.post_logout_redirect_uris),
    ] {
        for (i, uri) in uris.iter().enumerate() {
            check_redirect_uri(uri)
                .map_err(|why| ApiError::invalid(&format!("{field}[{i}]"), why))?;
        }
    }
    for (i, aud) in new.audiences.iter().enumerate() {
        check_absolute_uri(aud)
            .map_err(|why| ApiError::invalid(&format!("audiences[{i}]"), why))?;
    }
    if let Some(ttl) = new.access_token_ttl {
        if !(60..=MAX_ACCESS_TOKEN_TTL).contains(&ttl) {
            return Err(ApiError::invalid(
                "access_token_ttl",
                format!("must be between 60 and {MAX_ACCESS_TOKEN_TTL} seconds"),
            ));
        }
    }
    check_refresh_lifetimes(new)?;
    check_keys(new)?;
    for (name, value) in &new.claims {
        if RESERVED_CLAIMS.contains(&name.as_str()) {
            return Err(ApiError::invalid(
                &format!("claims.{name}"),
                "a registered claim cannot be overridden",
            ));
        }
        if matches!(value, Value::Null) {
            return Err(ApiError::invalid(
                &format!("claims.{name}"),
                "must not be null",
            ));
        }
    }
    Ok(())
}

/// A `private_key_jwt` client's keys: exactly one of `jwks` (1 to [`MAX_CLIENT_KEYS`] usable
/// public keys, every one of them) and `jwks_uri` (as a trusted issuer's); no other client has
/// keys.
fn check_keys(new: &NewClient) -> Result<(), ApiError> {
    let key_based = new.token_endpoint_auth_method == Some(TokenAuthMethod::PrivateKeyJwt);
    match (&new.jwks, &new.jwks_uri) {
        (None, None) if key_based => Err(ApiError::invalid(
            "jwks",
            "a private_key_jwt client needs jwks or jwks_uri",
        )),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "jwks_uri",
            "give jwks or jwks_uri, not both",
        )),
        (Some(_), _) | (_, Some(_)) if !key_based => Err(ApiError::invalid(
            "token_endpoint_auth_method",
            "only a private_key_jwt client has jwks or jwks_uri",
        )),
        (Some(jwks), None) => {
            let listed = jwks
                .get("keys")
                .and_then(serde_json::Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let usable = keys_of(jwks).map_or(0, |k| k.len());
            let private = listed.iter().any(has_private_member);
            if jwks.to_string().len() > MAX_CLIENT_JWKS_LEN
                || !(1..=MAX_CLIENT_KEYS).contains(&listed.len())
                || usable != listed.len()
                || private
            {
                return Err(ApiError::invalid(
                    "jwks",
                    format!(
                        "a JWK Set of 1 to {MAX_CLIENT_KEYS} public keys (RSA of 2048 bits or \
                         more, EC P-256 or OKP Ed25519), no private members"
                    ),
                ));
            }
            Ok(())
        }
        (None, Some(uri)) if !is_jwks_uri(uri) => Err(ApiError::invalid(
            "jwks_uri",
            "must be an https:// URL (http:// only on loopback)",
        )),
        _ => Ok(()),
    }
}

/// Refresh-token lifetimes, when given: at least a minute, at most a year, idle within absolute.
fn check_refresh_lifetimes(new: &NewClient) -> Result<(), ApiError> {
    let idle = new.refresh_token_idle_ttl;
    let absolute = new.refresh_token_absolute_ttl;
    for (field, value) in [
        ("refresh_token_idle_ttl", idle),
        ("refresh_token_absolute_ttl", absolute),
    ] {
        if value.is_some_and(|v| !(60..=MAX_REFRESH_TOKEN_TTL).contains(&v)) {
            return Err(ApiError::invalid(
                field,
                format!("must be between 60 and {MAX_REFRESH_TOKEN_TTL} seconds"),
            ));
        }
    }
    let idle = idle.unwrap_or(DEFAULT_REFRESH_IDLE_TTL);
    if idle > absolute.unwrap_or(DEFAULT_REFRESH_ABSOLUTE_TTL.max(idle)) {
        return Err(ApiError::invalid(
            "refresh_token_idle_ttl",
            "must not exceed refresh_token_absolute_ttl",
        ));
    }
    Ok(())
}

pub mod dynamic;

#[cfg(test)]
mod tests;
