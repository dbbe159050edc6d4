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
    /// Seconds a refresh token may go unused before its grant's tokens expire (default 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_idle_ttl: Option<u64>,
    /// Seconds a chain of refresh tokens lives in all, however often used (default 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_absolute_ttl: Option<u64>,
    /// Extra claims put into every access token of this client (e.g. `roles`).
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Where RP-Initiated Logout may send the person afterwards (matched exactly).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The algorithm of this client's ID tokens; absent = `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<KeyAlg>,
    pub disabled: bool,
    /// How the client authenticates at the token, revocation and introspection endpoints;
    /// absent in records stored before it existed (then [`Client::auth_method`] derives it from
    /// `public`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// A `private_key_jwt` client's public keys (RFC 7517 JWK Set), inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Where a `private_key_jwt` client publishes its public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Every access token of this client must be DPoP-bound (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default)]
    pub secrets: Vec<SecretInfo>,
    pub created_at: u64,
    pub updated_at: u64,
    pub version: u64,
    /// How a client nobody registered in advance came to be (absent = created by an
    /// operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    /// When a dynamic or metadata-document client last got a code or a token (day
    /// granularity); it expires `client_ttl` after this (or its creation) unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
}

/// How a client that no operator created came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Registered itself at `POST /oauth/register` (RFC 7591).
    Dynamic,
    /// Identified by the URL of its client ID metadata document.
    MetadataDocument,
}

impl Registration {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }
}

/// Seconds an unused dynamic or metadata-document client lives unless the policy says
/// otherwise: 90 days.
pub const DEFAULT_CLIENT_TTL: u64 = 90 * 24 * 3600;

/// `GET/PUT /admin/v1/registration`: how Portcullis meets clients nobody registered in
/// advance. Off by default; once enabled, both mechanisms are on unless turned off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPolicy {
    pub enabled: bool,
    /// The scopes such a client may hold (each in the catalogue).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// RFC 7591 `POST /oauth/register`.
    #[serde(default = "yes")]
    pub dynamic_registration: bool,
    /// URL `client_id`s whose metadata document Portcullis fetches.
    #[serde(default = "yes")]
    pub client_id_metadata_documents: bool,
    /// The grant types such a client may use (`authorization_code`, `refresh_token`).
    #[serde(default = "registration_grant_types")]
    pub grant_types: Vec<GrantType>,
    /// Seconds an unused dynamic or metadata-document client lives.
    #[serde(default = "default_client_ttl")]
    pub client_ttl: u64,
    /// 0 until the first `PUT` (ignored in a `PUT` body; send `If-Match`).
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated_at: u64,
}

fn yes() -> bool {
    true
}

fn registration_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

fn default_client_ttl() -> u64 {
    DEFAULT_CLIENT_TTL
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            scopes: Vec::new(),
            dynamic_registration: true,
            client_id_metadata_documents: true,
            grant_types: registration_grant_types(),
            client_ttl: DEFAULT_CLIENT_TTL,
            version: 0,
            updated_at: 0,
        }
    }
}

impl RegistrationPolicy {
    /// Whether RFC 7591 registration is open.
    pub fn dynamic(&self) -> bool {
        self.enabled && self.dynamic_registration
    }

    /// Whether URL client ids are accepted.
    pub fn metadata_documents(&self) -> bool {
        self.enabled && self.client_id_metadata_documents
    }
}

impl Client {
    /// How the client authenticates: as registered, or for a record stored before the field
    /// existed, `none` for a public client and `client_secret_basic` otherwise.
    pub fn auth_method(&self) -> TokenAuthMethod {
        self.token_endpoint_auth_method.unwrap_or(if self.public {
            TokenAuthMethod::None
        } else {
            TokenAuthMethod::ClientSecretBasic
        })
    }
}

/// A client authentication method (RFC 7591 §2 names). The two secret methods accept the
/// secret either way; `private_key_jwt` (RFC 7523 §2.2) needs a signed assertion and has no
/// secret; `none` is a public client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl TokenAuthMethod {
    /// Every method, in the order metadata lists them.
    pub const ALL: [Self; 4] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// Whether a client of this method holds a secret.
    pub fn has_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
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
    /// Seconds a refresh token may go unused before its grant's tokens expire (default 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_idle_ttl: Option<u64>,
    /// Seconds a chain of refresh tokens lives in all, however often used (default 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_absolute_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// Default: `none` for a public client, else `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// `private_key_jwt` only: the public keys inline (a JWK Set), or else `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// Where RP-Initiated Logout may send the person afterwards (matched exactly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The algorithm of this client's ID tokens (`RS256`, `ES256` or `EdDSA`); absent = `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<KeyAlg>,
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

/// A user of the password and authorization-code grants as the admin API shows it: never the
/// password nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    /// Unique, compared case-insensitively; kept as first written.
    pub username: String,
    /// The OpenID Connect standard claims the `profile` and `email` scopes release.
    #[serde(flatten)]
    pub profile: Profile,
    pub disabled: bool,
    pub created_at: u64,
    pub updated_at: u64,
    pub version: u64,
}

/// `POST /admin/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl NewUser {
    /// A new user with the profile `p`.
    pub fn with_profile(username: String, password: String, p: Profile) -> Self {
        Self {
            username,
            password,
            name: p.name,
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            email_verified: p.email_verified,
            locale: p.locale,
            picture: p.picture,
        }
    }

    /// The profile fields of the body.
    pub fn profile(&self) -> Profile {
        Profile {
            name: self.name.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            locale: self.locale.clone(),
            picture: self.picture.clone(),
        }
    }
}

/// A user's OpenID Connect standard claims (OIDC Core §5.1), every one optional. `profile`
/// releases `name`, `given_name`, `family_name`, `locale` and `picture`; `email` releases
/// `email` and `email_verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

/// `PATCH /admin/v1/users/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Profile fields: a string replaces the value, `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl UserPatch {
    /// The change that sets the profile fields `p` holds (`""` removes one) and leaves the
    /// others.
    pub fn of_profile(p: Profile) -> Self {
        Self {
            name: p.name,
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            email_verified: p.email_verified,
            locale: p.locale,
            picture: p.picture,
            ..Self::default()
        }
    }
}

/// `GET /admin/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<User>,
}

/// How a route's `scopes` are required.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeMode {
    /// Every listed scope.
    #[default]
    All,
    /// At least one listed scope.
    Any,
}

/// One gateway route: which requests it covers and what a token must carry to pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `/exact/path`, `*` for one segment, a trailing `/*` for a subtree.
    pub path: String,
    /// Methods covered (upper case); absent = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// `scheme://host[:port]` of the upstream; absent = the `ORIGIN_URL` var.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub scope_mode: ScopeMode,
    /// The `aud` a token must carry; absent = Portcullis's own default audience (the issuer)
    /// for its tokens, one of the issuer entry's `audiences` for an external issuer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Passes without a token.
    #[serde(default)]
    pub public: bool,
    /// Keep `Authorization` on the forwarded request.
    #[serde(default)]
    pub forward_token: bool,
    /// Only tokens of this issuer pass (a trusted issuer, or Portcullis's own); absent =
    /// Portcullis's own tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The route's canonical resource URI (RFC 8707, RFC 9728): its tokens' `aud` must hold
    /// it (instead of `audience`), its metadata is served at
    /// `/.well-known/oauth-protected-resource` + its path, and its challenges point there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A human-readable name of the resource, for its RFC 9728 metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// `required`: only DPoP-bound tokens, presented with a proof, pass (RFC 9449 §7); absent:
    /// bearer tokens pass too (a DPoP-bound token still needs its proof).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopPolicy>,
}

/// A route's DPoP policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopPolicy {
    Required,
}

/// `PUT /admin/v1/routes`: the whole route table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesBody {
    pub routes: Vec<Route>,
    /// Whether path literals match only in the letter case written; default false.
    #[serde(default)]
    pub case_sensitive: bool,
}

/// The stored route table and `GET /admin/v1/routes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    /// Whether path literals match only in the letter case written.
    #[serde(default)]
    pub case_sensitive: bool,
    /// 0 until the first `PUT`.
    pub version: u64,
    #[serde(default)]
    pub updated_at: u64,
}

/// A signature algorithm accepted from a trusted issuer: asymmetric only (never `none`, never
/// HMAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    RS256,
    ES256,
    EdDSA,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// An external issuer whose tokens the gateway accepts (Auth0, Okta, another Portcullis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Its `iss` value, exactly.
    pub issuer: String,
    /// Where its public keys are published (`https://`, or `http://` on loopback).
    pub jwks_uri: String,
    /// A token must name one of these in `aud`.
    pub audiences: Vec<String>,
    pub algorithms: Vec<Algorithm>,
    /// The header `typ` values its access tokens may carry (compared without case or an
    /// `application/` prefix; a token without `typ` counts as `JWT`).
    #[serde(default = "default_token_types")]
    pub token_types: Vec<String>,
}

/// What a trusted issuer's access tokens may name as `typ` unless its entry says otherwise:
/// RFC 9068's `at+jwt`, and the generic `JWT` most issuers still use.
pub fn default_token_types() -> Vec<String> {
    vec!["at+jwt".into(), "JWT".into()]
}

/// `PUT /admin/v1/issuers`: every trusted external issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuersBody {
    pub issuers: Vec<TrustedIssuer>,
}

/// The stored issuer list and `GET /admin/v1/issuers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerTable {
    pub issuers: Vec<TrustedIssuer>,
    /// 0 until the first `PUT`.
    pub version: u64,
    #[serde(default)]
    pub updated_at: u64,
}

/// `PATCH /admin/v1/clients/{client_id}`: any field of [`NewClient`] plus `disabled`; absent
/// fields stay as they are. `public` cannot change (create a new client instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u64>,
    /// Seconds a refresh token may go unused before its grant's tokens expire (default 14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_idle_ttl: Option<u64>,
    /// Seconds a chain of refresh tokens lives in all, however often used (default 90 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_absolute_ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<KeyAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Only between `client_secret_basic` and `client_secret_post`: a client cannot gain or
    /// lose its secret (create a new client instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<TokenAuthMethod>,
    /// Replaces the inline keys (and drops `jwks_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Replaces `jwks_uri` (and drops the inline keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
}

/// `POST /admin/v1/clients/{client_id}/secrets` (the body is optional). The answer is a
/// [`ClientCreated`]: the client plus the new secret, shown this once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// Seconds the previous secret keeps working: default 86 400 (24 h), `0` = it stops now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_expires_in: Option<u64>,
}

/// A signing key as the admin API shows it: public parts and state, never the private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub kid: String,
    /// JWS algorithm (`EdDSA` or `ES256` for access tokens, `RS256` for ID tokens).
    pub alg: KeyAlg,
    pub state: KeyState,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
    /// When the key leaves the JWKS (retired keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The public JWK as `/.well-known/jwks.json` publishes it.
    pub jwk: PublicJwk,
}

/// `POST /admin/v1/keys/rotate` (the body is optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// Algorithm of the access-token family's new `next` key (`EdDSA` or `ES256`); default: the
    /// same as the old `next` key. The `RS256` ID-token family rotates alongside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<KeyAlg>,
}

/// `GET /admin/v1/keys` and the answer to `POST /admin/v1/keys/rotate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
    /// The key set's version (also its `ETag`).
    pub version: u64,
}

/// An audit entry: who did what to which target, when. Never a secret, hash or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Orders the log; also the pagination cursor.
    pub id: String,
    /// Unix seconds.
    pub at: u64,
    /// `admin:<fingerprint>` of the admin token, `anonymous`, a client id or `system`.
    pub actor: String,
    /// `<resource>.<verb>`, e.g. `client.update`, `admin.auth_failed`.
    pub action: String,
    /// The id or name of what was acted on (for a failed admin login, the source network: an
    /// IPv4 address or an IPv6 /64).
    pub target: String,
    pub request_id: String,
    /// On a coalesced entry (`admin.auth_failed`, one per source network and clock hour): how
    /// many times it happened; `at` and `request_id` are the first time's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// `GET /admin/v1/audit`: newest first; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The query of `GET /admin/v1/audit`; every parameter is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Events per page, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Only events on this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Only events with this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only events at or after this Unix time (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Only events at or before this Unix time (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

/// `GET /admin/v1/grants` (optionally `?user=<id>` or `?client=<client_id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantList {
    pub grants: Vec<GrantView>,
}

/// A grant as shown to its user and to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub user: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KeyAlg {
    /// Ed25519 (RFC 8037), the default.
    #[default]
    EdDSA,
    /// ECDSA P-256 with SHA-256, through WebCrypto.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key, through WebCrypto: the ID-token
    /// family (OIDC Core §15.1), never an access token's.
    RS256,
}

impl KeyAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    /// Parses a JOSE name (`EdDSA`, `ES256`, `RS256`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDSA),
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            _ => None,
        }
    }

    /// Whether keys of this algorithm sign access tokens (`EdDSA`, `ES256`); `RS256` keys
    /// sign ID tokens only.
    pub fn signs_access_tokens(self) -> bool {
        self != Self::RS256
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signs new tokens.
    Current,
    /// Verifies tokens it signed until `expires_at`.
    Retired,
}

/// A public key as a JWK (RFC 7517 §4, RFC 8037 §2, RFC 7518 §6.2-6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    /// The curve (`OKP` and `EC` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// `OKP` and `EC` keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The modulus (`RSA` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The public exponent (`RSA` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}
