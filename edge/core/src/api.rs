//! The admin API's request and response bodies, shared by the worker and the operator app.
//!
//! One definition compiled for both targets: the worker serialises these, `portcullis`
//! deserialises the same types. Request bodies refuse unknown fields (no mass assignment).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An OAuth grant a client may use (RFC 7591 §2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    /// Legacy (RFC 9700 §2.4): off unless the operator enables it for a client.
    Password,
    /// Legacy (RFC 9700 §2.1.2): off unless the operator enables it for a client.
    Implicit,
}

impl GrantType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::Password => "password",
            Self::Implicit => "implicit",
        }
    }
}

/// When a client secret was issued and when it stops working (no secret material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A registered client as the admin API shows it: never a secret nor its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub audiences: Vec<String>,
    pub access_token_ttl: u64,
    /// Extra claims put into every access token of this client (e.g. `roles`).
    #[serde(default)]
    pub claims: Map<String, Value>,
    pub disabled: bool,
    #[serde(default)]
    pub secrets: Vec<SecretInfo>,
    pub created_at: u64,
    pub updated_at: u64,
    pub version: u64,
}

/// `POST /admin/v1/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
}

/// The answer to `POST /admin/v1/clients`: the client plus, for a confidential client, its
/// secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCreated {
    #[serde(flatten)]
    pub client: Client,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `GET /admin/v1/clients`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientList {
    pub clients: Vec<Client>,
}

/// `POST /admin/v1/scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScope {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A scope in the catalogue; the description is shown on the consent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub name: String,
    pub description: String,
    pub created_at: u64,
    pub version: u64,
}

/// `GET /admin/v1/scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeList {
    pub scopes: Vec<Scope>,
}
