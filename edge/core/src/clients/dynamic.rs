//! Clients nobody registered in advance: the operator's [`RegistrationPolicy`], RFC 7591
//! client metadata (§2) turned into a client record under that policy, for dynamic
//! registration (§3) and client ID metadata documents alike, and the RFC 7591 §3.2 answers.
//!
//! Such a client may hold only the policy's scopes and grant types (`authorization_code`,
//! `refresh_token`), answers `response_type=code` only, and its redirect URIs follow
//! [`check_redirect_uri`] (https, loopback http with any port, RFC 8252 §7.3, or a private-use
//! scheme, §7.1). `token_endpoint_auth_method` maps onto the client's type: `none` is a public
//! client, `client_secret_basic` and `client_secret_post` a confidential one.

use serde::{Deserialize, Serialize};

use crate::api::{GrantType, NewClient, Registration, RegistrationPolicy, Scope, TokenAuthMethod};
use crate::clients::ClientRecord;
use crate::crypto::Secrets;
use crate::error::ApiError;
use crate::http::Response;
use crate::ports::Rng;
use crate::scope::ScopeSet;
use crate::uri::check_redirect_uri;

/// Shortest and longest `client_ttl` a policy may set: a day to two years.
const CLIENT_TTL_RANGE: std::ops::RangeInclusive<u64> = 86_400..=2 * 365 * 86_400;
/// The name a client gets when its metadata names none (or an unusable one).
const UNNAMED: &str = "Unnamed client";
/// The client authentication methods registration accepts (not `private_key_jwt`: a
/// registering client brings no keys).
const AUTH_METHODS: [TokenAuthMethod; 3] = [
    TokenAuthMethod::None,
    TokenAuthMethod::ClientSecretBasic,
    TokenAuthMethod::ClientSecretPost,
];

/// Checks a policy an operator sends: known scopes, the grant types such clients may use, and
/// a `client_ttl` of a day to two years.
pub fn validate_policy(policy: &RegistrationPolicy, catalogue: &[Scope]) -> Result<(), ApiError> {
    for (i, scope) in policy.scopes.iter().enumerate() {
        if !catalogue.iter().any(|s| &s.name == scope) {
            return Err(ApiError::invalid(
                &format!("scopes[{i}]"),
                format!("unknown scope `{scope}`; create it first"),
            ));
        }
        if policy.scopes[..i].contains(scope) {
            return Err(ApiError::invalid(&format!("scopes[{i}]"), "repeated scope"));
        }
    }
    for (i, grant) in policy.grant_types.iter().enumerate() {
        if !matches!(
            grant,
            GrantType::AuthorizationCode | GrantType::RefreshToken
        ) {
            return Err(ApiError::invalid(
                &format!("grant_types[{i}]"),
                "only authorization_code and refresh_token",
            ));
        }
    }
    if !policy.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(ApiError::invalid(
            "grant_types",
            "must include authorization_code",
        ));
    }
    if !CLIENT_TTL_RANGE.contains(&policy.client_ttl) {
        return Err(ApiError::invalid(
            "client_ttl",
            "must be between 86400 (a day) and 63072000 (two years) seconds",
        ));
    }
    Ok(())
}

/// The RFC 7591 §2 client metadata Portcullis reads; other members are ignored (§2: an
/// authorization server may ignore what it does not support).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// A client ID metadata document names itself here.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Why client metadata was refused (RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
}

impl RegistrationError {
    /// The RFC 7591 §3.2.2 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
        }
    }

    /// 400 with the error code and description, never cached.
    pub fn into_response(self) -> Response {
        let description = match &self {
            Self::InvalidRedirectUri(d) | Self::InvalidClientMetadata(d) => d.clone(),
        };
        Response::json(
            400,
            &crate::error::ErrorBody {
                error: self.code().into(),
                error_description: Some(description),
                field: None,
            },
        )
        .no_store()
    }
}

fn bad_metadata(why: impl Into<String>) -> RegistrationError {
    RegistrationError::InvalidClientMetadata(why.into())
}

impl ClientMetadata {
    /// The authentication method asked for (default `client_secret_basic`, RFC 7591 §2), one
    /// of [`AUTH_METHODS`]: `none` makes a public client, the others a confidential one.
    pub fn auth_method(&self) -> Result<TokenAuthMethod, RegistrationError> {
        let Some(asked) = self.token_endpoint_auth_method.as_deref() else {
            return Ok(TokenAuthMethod::ClientSecretBasic);
        };
        AUTH_METHODS
            .into_iter()
            .find(|m| m.as_str() == asked)
            .ok_or_else(|| {
                bad_metadata(format!(
                    "token_endpoint_auth_method `{asked}` is not supported; use one of {}",
                    AUTH_METHODS.map(TokenAuthMethod::as_str).join(", ")
                ))
            })
    }

    /// The grant types asked for (default `authorization_code`, RFC 7591 §2), each allowed by
    /// the policy.
    fn grant_types(
        &self,
        policy: &RegistrationPolicy,
    ) -> Result<Vec<GrantType>, RegistrationError> {
        let asked = self
            .grant_types
            .clone()
            .unwrap_or_else(|| vec!["authorization_code".into()]);
        let mut out = Vec::with_capacity(asked.len());
        for name in &asked {
            let grant = policy
                .grant_types
                .iter()
                .find(|g| g.as_str() == name)
                .ok_or_else(|| bad_metadata(format!("grant type `{name}` is not allowed")))?;
            if !out.contains(grant) {
                out.push(*grant);
            }
        }
        if !out.contains(&GrantType::AuthorizationCode) {
            return Err(bad_metadata("grant_types must include authorization_code"));
        }
        Ok(out)
    }

    /// The scopes asked for (default: every scope of the policy), each within the policy.
    fn scopes(&self, policy: &RegistrationPolicy) -> Result<Vec<String>, RegistrationError> {
        let Some(asked) = &self.scope else {
            return Ok(policy.scopes.clone());
        };
        let set = ScopeSet::parse(asked).map_err(|e| bad_metadata(format!("scope: {e}")))?;
        if let Some(outside) = set.first_outside(&policy.scopes) {
            return Err(bad_metadata(format!(
                "scope `{outside}` is not open to registered clients"
            )));
        }
        Ok(set.into_vec())
    }

    /// Builds the client record under `policy`, identified by `client_id` when given (a
    /// metadata document's URL) or by a fresh random id; answers the new secret of a
    /// confidential client.
    pub fn into_client(
        self,
        how: Registration,
        policy: &RegistrationPolicy,
        catalogue: &[Scope],
        keys: (&Secrets, &dyn Rng),
        now: u64,
    ) -> Result<(ClientRecord, Option<String>), RegistrationError> {
        if let Some(types) = &self.response_types {
            if types.iter().any(|t| t != "code") {
                return Err(bad_metadata("only the response type `code` is supported"));
            }
        }
        let public = self.auth_method()? == TokenAuthMethod::None;
        let grant_types = self.grant_types(policy)?;
        let scopes = self.scopes(policy)?;
        if self.redirect_uris.is_empty() {
            return Err(RegistrationError::InvalidRedirectUri(
                "at least one redirect URI is required".into(),
            ));
        }
        for uri in &self.redirect_uris {
            check_redirect_uri(uri).map_err(|why| {
                RegistrationError::InvalidRedirectUri(format!("redirect URI {why}"))
            })?;
        }
        let name = self
            .client_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.len() <= 200)
            .unwrap_or(UNNAMED)
            .to_owned();
        let new = NewClient {
            name,
            grant_types,
            scopes,
            redirect_uris: self.redirect_uris,
            public,
            ..NewClient::default()
        };
        let (mut record, secret) = ClientRecord::register(new, catalogue, keys.0, keys.1, now)
            .map_err(|e| bad_metadata(e.reason))?;
        record.client.registration = Some(how);
        if let Some(id) = self.client_id {
            record.client.client_id = id;
        }
        Ok((record, secret))
    }
}

/// The RFC 7591 §3.2.1 answer: the client's id, its secret (shown this once) and the
/// metadata as registered.
#[derive(Debug, Serialize)]
pub struct RegistrationResponse<'a> {
    pub client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<&'a str>,
    pub client_id_issued_at: u64,
    /// 0: the secret does not expire (it is rotated by an operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    pub client_name: &'a str,
    pub redirect_uris: &'a [String],
    pub grant_types: Vec<&'static str>,
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: &'static str,
    pub scope: String,
}

impl<'a> RegistrationResponse<'a> {
    /// The answer for `record`; `auth_method` echoes what the client asked for.
    pub fn new(
        record: &'a ClientRecord,
        secret: Option<&'a str>,
        auth_method: TokenAuthMethod,
    ) -> Self {
        let c = &record.client;
        Self {
            client_id: &c.client_id,
            client_secret: secret,
            client_id_issued_at: c.created_at,
            client_secret_expires_at: secret.map(|_| 0),
            client_name: &c.name,
            redirect_uris: &c.redirect_uris,
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: ["code"],
            token_endpoint_auth_method: auth_method.as_str(),
            scope: c.scopes.join(" "),
        }
    }
}

#[cfg(test)]
mod tests;
