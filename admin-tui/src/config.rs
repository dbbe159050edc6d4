//! Configuration as code: `portcullis export` writes the worker's configuration as one JSON
//! document (scopes, clients, users, routes, trusted issuers — never a secret, a password or a
//! server-assigned ID), and `portcullis apply` makes a worker match one. The registration
//! policy travels too; clients that registered themselves do not (they are not the operator's
//! to copy: each worker meets its own).
//!
//! Records are matched by what an operator names them: scopes by name, clients by name (client
//! IDs differ between workers, as their secrets do), users by username. `apply` first reads the
//! worker and plans every change, refusing the whole plan before changing anything when the
//! file cannot be applied (a duplicate name, a client whose `public` differs); then it creates,
//! changes (each with `If-Match` on the version it planned from, so an edit made meanwhile is
//! refused, not overwritten) and, with `--prune`, deletes what the file lacks. A field the file
//! leaves out of a record is left as it is.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use portcullis_core::api::{
    Client, ClientPatch, IssuersBody, NewClient, NewScope, NewUser, RegistrationPolicy, RoutesBody,
    Scope, User, UserPatch,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{AdminApi, ApiResult};

/// Fields of a client the server assigns or keeps for itself; never in the document.
const CLIENT_SERVER_FIELDS: &[&str] = &[
    "client_id",
    "secrets",
    "created_at",
    "updated_at",
    "version",
    "registration",
    "last_used_at",
];

/// Fields of the registration policy the server keeps for itself.
const REGISTRATION_SERVER_FIELDS: &[&str] = &["version", "updated_at"];

/// Fields of a user the server assigns; never in the document.
const USER_SERVER_FIELDS: &[&str] = &["id", "created_at", "updated_at", "version"];

/// The document `export` writes and `apply` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub scopes: Vec<NewScope>,
    /// Each a client's fields as `POST /admin/v1/clients` takes them, plus `disabled`.
    pub clients: Vec<Map<String, Value>>,
    /// Each a user's fields as the API shows them (never a password), keyed by `username`.
    pub users: Vec<Map<String, Value>>,
    pub routes: RoutesBody,
    pub issuers: IssuersBody,
    /// The policy for clients nobody registered in advance, as `PUT /admin/v1/registration`
    /// takes it; left as it is when the document has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Map<String, Value>>,
}

/// `record` as JSON without the fields the server keeps for itself.
fn spec_of(record: &impl Serialize, server_fields: &[&str]) -> ApiResult<Map<String, Value>> {
    let Value::Object(mut fields) = serde_json::to_value(record).map_err(|e| {
        crate::client::Failure::transport(format!("a record does not serialise: {e}"))
    })?
    else {
        return Ok(Map::new());
    };
    for name in server_fields {
        fields.remove(*name);
    }
    Ok(fields)
}

/// What the worker holds now, as read once before planning.
struct Current {
    scopes: Vec<Scope>,
    clients: Vec<Client>,
    users: Vec<User>,
    routes: portcullis_core::api::RouteTable,
    issuers: portcullis_core::api::IssuerTable,
    registration: RegistrationPolicy,
}

impl Current {
    /// Reads the worker; clients that registered themselves are left out.
    fn read(api: &dyn AdminApi) -> ApiResult<Self> {
        let mut clients = api.list_clients()?;
        clients.retain(|c| c.registration.is_none());
        Ok(Self {
            scopes: api.list_scopes()?,
            clients,
            users: api.list_users()?,
            routes: api.get_routes()?,
            issuers: api.get_issuers()?,
            registration: api.get_registration()?,
        })
    }

    fn config(&self) -> ApiResult<Config> {
        let mut scopes: Vec<NewScope> = self
            .scopes
            .iter()
            .map(|s| NewScope {
                name: s.name.clone(),
                description: s.description.clone(),
            })
            .collect();
        scopes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut clients = self
            .clients
            .iter()
            .map(|c| spec_of(c, CLIENT_SERVER_FIELDS))
            .collect::<ApiResult<Vec<_>>>()?;
        clients.sort_by_key(name_of);
        let mut users = self
            .users
            .iter()
            .map(|u| spec_of(u, USER_SERVER_FIELDS))
            .collect::<ApiResult<Vec<_>>>()?;
        users.sort_by_key(|u| text(u, "username"));
        Ok(Config {
            scopes,
            clients,
            users,
            routes: RoutesBody {
                routes: self.routes.routes.clone(),
                case_sensitive: self.routes.case_sensitive,
            },
            issuers: IssuersBody {
                issuers: self.issuers.issuers.clone(),
            },
            registration: Some(spec_of(&self.registration, REGISTRATION_SERVER_FIELDS)?),
        })
    }
}

fn text(fields: &Map<String, Value>, key: &str) -> String {
    fields
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn name_of(fields: &Map<String, Value>) -> String {
    text(fields, "name")
}

/// The worker's configuration as a document.
pub fn export(api: &dyn AdminApi) -> ApiResult<Config> {
    Current::read(api)?.config()
}

/// One change `apply` makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    CreateScope(NewScope),
    DeleteScope {
        name: String,
        version: u64,
    },
    CreateClient(Map<String, Value>),
    UpdateClient {
        name: String,
        client_id: String,
        version: u64,
        /// The fields that change, with their new values.
        fields: Map<String, Value>,
    },
    DeleteClient {
        name: String,
        client_id: String,
        version: u64,
    },
    CreateUser(Map<String, Value>),
    UpdateUser {
        username: String,
        id: String,
        version: u64,
        fields: Map<String, Value>,
    },
    DeleteUser {
        username: String,
        id: String,
        version: u64,
    },
    PutRoutes {
        version: u64,
        body: RoutesBody,
    },
    PutIssuers {
        version: u64,
        body: IssuersBody,
    },
    PutRegistration {
        version: u64,
        body: Box<RegistrationPolicy>,
        /// The fields that change, for the plan.
        fields: Map<String, Value>,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys =
            |fields: &Map<String, Value>| fields.keys().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Self::CreateScope(s) => write!(f, "+ scope {}", s.name),
            Self::DeleteScope { name, .. } => write!(f, "- scope {name}"),
            Self::CreateClient(c) => write!(f, "+ client {}", name_of(c)),
            Self::UpdateClient { name, fields, .. } => {
                write!(f, "~ client {name}: {}", keys(fields))
            }
            Self::DeleteClient {
                name, client_id, ..
            } => {
                write!(f, "- client {name} ({client_id})")
            }
            Self::CreateUser(u) => write!(f, "+ user {}", text(u, "username")),
            Self::UpdateUser {
                username, fields, ..
            } => write!(f, "~ user {username}: {}", keys(fields)),
            Self::DeleteUser { username, .. } => write!(f, "- user {username}"),
            Self::PutRoutes { body, .. } => {
                write!(
                    f,
                    "~ routes: the table becomes {} route(s)",
                    body.routes.len()
                )
            }
            Self::PutIssuers { body, .. } => {
                write!(
                    f,
                    "~ issuers: the list becomes {} issuer(s)",
                    body.issuers.len()
                )
            }
            Self::PutRegistration { fields, .. } => {
                write!(f, "~ registration: {}", keys(fields))
            }
        }
    }
}

/// Why a document cannot be applied; nothing has changed.
fn refuse(why: String) -> crate::client::Failure {
    crate::client::Failure {
        status: None,
        error: "cannot_apply".into(),
        description: why,
        field: None,
    }
}

/// Names that appear twice in `names`.
fn duplicates(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for name in names {
        if !seen.insert(name.to_lowercase()) {
            twice.insert(name);
        }
    }
    twice.into_iter().collect()
}

/// The fields of `wanted` whose values differ from `have`'s.
fn changed(wanted: &Map<String, Value>, have: &Map<String, Value>) -> Map<String, Value> {
    wanted
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every change that makes the worker match `config` (deletions only with `prune`), in the
/// order they are made: scopes before the clients that name them, deletions of clients before
/// those of scopes.
pub fn plan(api: &dyn AdminApi, config: &Config, prune: bool) -> ApiResult<Vec<Change>> {
    check(config)?;
    let current = Current::read(api)?;
    let mut changes = Vec::new();
    for scope in &config.scopes {
        match current.scopes.iter().find(|s| s.name == scope.name) {
            None => changes.push(Change::CreateScope(scope.clone())),
            Some(have) if have.description != scope.description => {
                return Err(refuse(format!(
                    "scope {}: its description differs, and the API cannot change a scope's \
                     description (delete the scope and apply again)",
                    scope.name
                )))
            }
            Some(_) => {}
        }
    }
    for wanted in &config.clients {
        let name = name_of(wanted);
        match current.clients.iter().find(|c| c.name == name) {
            None => changes.push(Change::CreateClient(wanted.clone())),
            Some(have) => {
                let fields = changed(wanted, &spec_of(have, CLIENT_SERVER_FIELDS)?);
                if fields.contains_key("public") {
                    return Err(refuse(format!(
                        "client {name}: `public` cannot change (delete the client and apply again)"
                    )));
                }
                if !fields.is_empty() {
                    changes.push(Change::UpdateClient {
                        name,
                        client_id: have.client_id.clone(),
                        version: have.version,
                        fields,
                    });
                }
            }
        }
    }
    for wanted in &config.users {
        let username = text(wanted, "username");
        match current
            .users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(&username))
        {
            None => changes.push(Change::CreateUser(wanted.clone())),
            Some(have) => {
                let fields = changed(wanted, &spec_of(have, USER_SERVER_FIELDS)?);
                if !fields.is_empty() {
                    changes.push(Change::UpdateUser {
                        username,
                        id: have.id.clone(),
                        version: have.version,
                        fields,
                    });
                }
            }
        }
    }
    let routes = RoutesBody {
        routes: current.routes.routes.clone(),
        case_sensitive: current.routes.case_sensitive,
    };
    if routes != config.routes {
        changes.push(Change::PutRoutes {
            version: current.routes.version,
            body: config.routes.clone(),
        });
    }
    if current.issuers.issuers != config.issuers.issuers {
        changes.push(Change::PutIssuers {
            version: current.issuers.version,
            body: config.issuers.clone(),
        });
    }
    if let Some(wanted) = &config.registration {
        let have = spec_of(&current.registration, REGISTRATION_SERVER_FIELDS)?;
        let fields = changed(wanted, &have);
        if !fields.is_empty() {
            let mut whole = have;
            whole.extend(fields.clone());
            changes.push(Change::PutRegistration {
                version: current.registration.version,
                body: Box::new(typed(whole, "registration")?),
                fields,
            });
        }
    }
    if prune {
        prune_changes(&current, config, &mut changes);
    }
    Ok(changes)
}

/// The deletions of what `config` lacks: clients and users, then scopes.
fn prune_changes(current: &Current, config: &Config, changes: &mut Vec<Change>) {
    for have in &current.clients {
        if !config.clients.iter().any(|c| name_of(c) == have.name) {
            changes.push(Change::DeleteClient {
                name: have.name.clone(),
                client_id: have.client_id.clone(),
                version: have.version,
            });
        }
    }
    for have in &current.users {
        if !config
            .users
            .iter()
            .any(|u| text(u, "username").eq_ignore_ascii_case(&have.username))
        {
            changes.push(Change::DeleteUser {
                username: have.username.clone(),
                id: have.id.clone(),
                version: have.version,
            });
        }
    }
    for have in &current.scopes {
        if !config.scopes.iter().any(|s| s.name == have.name) {
            changes.push(Change::DeleteScope {
                name: have.name.clone(),
                version: have.version,
            });
        }
    }
}

/// What the document must be before anything is planned: unique names, and records the API's
/// own types accept.
fn check(config: &Config) -> ApiResult<()> {
    let twice = duplicates(config.clients.iter().map(name_of));
    if !twice.is_empty() {
        return Err(refuse(format!(
            "clients are matched by name, and these names appear twice: {}",
            twice.join(", ")
        )));
    }
    let twice = duplicates(config.users.iter().map(|u| text(u, "username")));
    if !twice.is_empty() {
        return Err(refuse(format!("users appear twice: {}", twice.join(", "))));
    }
    let twice = duplicates(config.scopes.iter().map(|s| s.name.clone()));
    if !twice.is_empty() {
        return Err(refuse(format!("scopes appear twice: {}", twice.join(", "))));
    }
    for client in &config.clients {
        new_client(client)?;
        client_patch(client)?;
    }
    for user in &config.users {
        if text(user, "username").is_empty() {
            return Err(refuse("a user without a username".into()));
        }
        user_patch(&without(user, &["username"]))?;
    }
    if let Some(policy) = &config.registration {
        typed::<RegistrationPolicy>(without(policy, REGISTRATION_SERVER_FIELDS), "registration")?;
    }
    Ok(())
}

fn without(fields: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut rest = fields.clone();
    for name in names {
        rest.remove(*name);
    }
    rest
}

fn typed<T: serde::de::DeserializeOwned>(fields: Map<String, Value>, what: &str) -> ApiResult<T> {
    serde_json::from_value(Value::Object(fields)).map_err(|e| refuse(format!("{what}: {e}")))
}

fn new_client(fields: &Map<String, Value>) -> ApiResult<NewClient> {
    typed(
        without(fields, &["disabled"]),
        &format!("client {}", name_of(fields)),
    )
}

fn client_patch(fields: &Map<String, Value>) -> ApiResult<ClientPatch> {
    typed(fields.clone(), &format!("client {}", name_of(fields)))
}

fn user_patch(fields: &Map<String, Value>) -> ApiResult<UserPatch> {
    typed(fields.clone(), "user")
}

/// A secret the server showed once, for a client `apply` created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSecret {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
}

/// What `apply` did: the secrets of the clients it created (kept even when a later change
/// fails, so none is lost), the users it created without a usable password, and the refusal
/// it stopped at, if any.
#[derive(Debug, Default)]
pub struct Applied {
    pub secrets: Vec<NewSecret>,
    /// Users created without a usable password (a random one nobody knows).
    pub passwordless: Vec<String>,
    /// The changes made.
    pub made: usize,
    pub failed: Option<crate::client::Failure>,
}

/// Makes each change, in order; stops at the first refusal (the changes before it stay made).
pub fn apply(api: &dyn AdminApi, changes: Vec<Change>) -> Applied {
    let mut applied = Applied::default();
    for change in changes {
        if let Err(e) = make(api, change, &mut applied) {
            applied.failed = Some(e);
            break;
        }
        applied.made += 1;
    }
    applied
}

/// Makes one change; notes in `applied` what it brought.
fn make(api: &dyn AdminApi, change: Change, applied: &mut Applied) -> ApiResult<()> {
    match change {
        Change::CreateScope(scope) => {
            api.create_scope(&scope)?;
        }
        Change::DeleteScope { name, version } => api.delete_scope(&name, version)?,
        Change::CreateClient(fields) => {
            let created = api.create_client(&new_client(&fields)?)?;
            if fields.get("disabled") == Some(&Value::Bool(true)) {
                let patch = ClientPatch {
                    disabled: Some(true),
                    ..ClientPatch::default()
                };
                api.update_client(&created.client.client_id, created.client.version, &patch)?;
            }
            if let Some(secret) = created.client_secret {
                applied.secrets.push(NewSecret {
                    name: created.client.name,
                    client_id: created.client.client_id,
                    client_secret: secret,
                });
            }
        }
        Change::UpdateClient {
            client_id,
            version,
            fields,
            ..
        } => {
            api.update_client(&client_id, version, &client_patch(&fields)?)?;
        }
        Change::DeleteClient {
            client_id, version, ..
        } => api.delete_client(&client_id, version)?,
        Change::CreateUser(fields) => {
            let username = text(&fields, "username");
            let made = api.create_user(&NewUser {
                username: username.clone(),
                password: unusable_password()?,
                ..NewUser::default()
            })?;
            let rest = without(&fields, &["username"]);
            let patch = user_patch(&changed(&rest, &spec_of(&made, USER_SERVER_FIELDS)?))?;
            if patch != UserPatch::default() {
                api.update_user(&made.id, made.version, &patch)?;
            }
            applied.passwordless.push(username);
        }
        Change::UpdateUser {
            id,
            version,
            fields,
            ..
        } => {
            api.update_user(&id, version, &user_patch(&fields)?)?;
        }
        Change::DeleteUser { id, version, .. } => api.delete_user(&id, version)?,
        Change::PutRoutes { version, body } => {
            api.put_routes(version, &body)?;
        }
        Change::PutIssuers { version, body } => {
            api.put_issuers(version, &body)?;
        }
        Change::PutRegistration { version, body, .. } => {
            api.put_registration(version, &body)?;
        }
    }
    Ok(())
}

/// A password nobody knows (256 random bits, never shown): a user created from a document
/// signs in only once an operator sets a password (or through the origin's login).
fn unusable_password() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| crate::client::Failure::transport(format!("no random source: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests;
