//! An in-memory [`AdminApi`] for tests, and a driver that runs `update` with it the way the
//! terminal loop does (commands executed, answers fed back) but synchronously.

use std::sync::Mutex;
use std::time::Duration;

use portcullis_core::api::{
    Algorithm, AuditEvent, AuditPage, AuditQuery, Client, ClientCreated, ClientPatch, GrantType,
    GrantView, IssuerTable, IssuersBody, KeyAlg, KeyInfo, KeyList, KeyRotation, KeyState,
    NewClient, NewScope, NewUser, PublicJwk, Route, RouteTable, RoutesBody, Scope, ScopeMode,
    SecretInfo, SecretRotation, TrustedIssuer, User, UserPatch,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{update, App, Msg};
use crate::client::{AdminApi, ApiResult, Failure, GrantFilter};
use crate::effects::{execute, Cmd};

/// Server state plus an optional failure for the next call.
#[derive(Debug, Default)]
pub struct State {
    pub clients: Vec<Client>,
    pub scopes: Vec<Scope>,
    pub users: Vec<User>,
    pub keys: Vec<KeyInfo>,
    /// Newest first, like the server answers.
    pub audit: Vec<AuditEvent>,
    pub routes: RouteTable,
    pub grants: Vec<GrantView>,
    pub issuers: IssuerTable,
    pub fail_next: Option<Failure>,
    pub calls: Vec<String>,
}

#[derive(Debug, Default)]
pub struct FakeApi(pub Mutex<State>);

pub const NOW: u64 = 1_795_000_000;

pub fn client(name: &str, id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: name.into(),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: vec!["read".into()],
        redirect_uris: Vec::new(),
        public: false,
        audiences: vec!["https://api.example.com".into()],
        access_token_ttl: 600,
        refresh_token_idle_ttl: None,
        refresh_token_absolute_ttl: None,
        claims: serde_json::Map::new(),
        disabled: false,
        secrets: Vec::new(),
        created_at: NOW,
        updated_at: NOW,
        version: 1,
    }
}

pub fn scope(name: &str, description: &str) -> Scope {
    Scope {
        name: name.into(),
        description: description.into(),
        created_at: NOW,
        version: 1,
    }
}

pub fn user(username: &str, id: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        disabled: false,
        created_at: NOW,
        updated_at: NOW,
        version: 1,
    }
}

pub fn key_info(kid: &str, state: KeyState) -> KeyInfo {
    KeyInfo {
        kid: kid.into(),
        alg: KeyAlg::EdDSA,
        state,
        created_at: NOW,
        retired_at: None,
        expires_at: None,
        jwk: PublicJwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            y: None,
            kid: kid.into(),
            alg: "EdDSA".into(),
            use_: "sig".into(),
        },
    }
}

pub fn event(n: u64, action: &str, target: &str) -> AuditEvent {
    AuditEvent {
        id: format!("{n:013}-{n:010}"),
        at: NOW + n,
        actor: "admin:3f9a".into(),
        action: action.into(),
        target: target.into(),
        request_id: format!("req-{n}"),
        count: None,
    }
}

pub fn route(path: &str, scopes: &[&str]) -> Route {
    Route {
        path: path.into(),
        methods: Some(vec!["GET".into()]),
        origin: Some("http://127.0.0.1:9000".into()),
        scopes: scopes.iter().map(ToString::to_string).collect(),
        scope_mode: ScopeMode::All,
        audience: None,
        public: false,
        forward_token: false,
        issuer: None,
    }
}

pub fn issuer(iss: &str) -> TrustedIssuer {
    TrustedIssuer {
        issuer: iss.into(),
        jwks_uri: format!("{iss}/.well-known/jwks.json"),
        audiences: vec!["https://api.example.com".into()],
        algorithms: vec![Algorithm::RS256],
        token_types: portcullis_core::api::default_token_types(),
    }
}

pub fn failure(status: u16, error: &str, description: &str, field: Option<&str>) -> Failure {
    Failure {
        status: Some(status),
        error: error.into(),
        description: description.into(),
        field: field.map(Into::into),
    }
}

impl FakeApi {
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("fake state")
    }

    fn call<T>(&self, name: &str, f: impl FnOnce(&mut State) -> ApiResult<T>) -> ApiResult<T> {
        let mut s = self.state();
        s.calls.push(name.into());
        match s.fail_next.take() {
            Some(e) => Err(e),
            None => f(&mut s),
        }
    }
}

fn not_found() -> Failure {
    failure(404, "not_found", "not found", None)
}

fn check_version(have: u64, want: u64) -> ApiResult<()> {
    if have == want {
        Ok(())
    } else {
        Err(failure(412, "precondition_failed", "stale version", None))
    }
}

impl AdminApi for FakeApi {
    fn health(&self) -> ApiResult<Duration> {
        self.call("health", |_| Ok(Duration::from_millis(7)))
    }

    fn list_clients(&self) -> ApiResult<Vec<Client>> {
        self.call("list_clients", |s| Ok(s.clients.clone()))
    }

    fn get_client(&self, client_id: &str) -> ApiResult<Client> {
        self.call("get_client", |s| {
            s.clients
                .iter()
                .find(|c| c.client_id == client_id)
                .cloned()
                .ok_or_else(not_found)
        })
    }

    fn create_client(&self, new: &NewClient) -> ApiResult<ClientCreated> {
        self.call("create_client", |s| {
            let mut c = client(&new.name, &format!("id-{}", s.clients.len() + 1));
            c.grant_types.clone_from(&new.grant_types);
            c.scopes.clone_from(&new.scopes);
            c.redirect_uris.clone_from(&new.redirect_uris);
            c.public = new.public;
            s.clients.push(c.clone());
            Ok(ClientCreated {
                client: c,
                client_secret: (!new.public).then(|| "s3cret-shown-once".into()),
            })
        })
    }

    fn update_client(
        &self,
        client_id: &str,
        version: u64,
        patch: &ClientPatch,
    ) -> ApiResult<Client> {
        self.call("update_client", |s| {
            let c = s
                .clients
                .iter_mut()
                .find(|c| c.client_id == client_id)
                .ok_or_else(not_found)?;
            check_version(c.version, version)?;
            if let Some(name) = &patch.name {
                c.name.clone_from(name);
            }
            if let Some(scopes) = &patch.scopes {
                c.scopes.clone_from(scopes);
            }
            if let Some(d) = patch.disabled {
                c.disabled = d;
            }
            c.version += 1;
            Ok(c.clone())
        })
    }

    fn delete_client(&self, client_id: &str, version: u64) -> ApiResult<()> {
        self.call("delete_client", |s| {
            let c = s
                .clients
                .iter()
                .find(|c| c.client_id == client_id)
                .ok_or_else(not_found)?;
            check_version(c.version, version)?;
            s.clients.retain(|c| c.client_id != client_id);
            Ok(())
        })
    }

    fn rotate_secret(
        &self,
        client_id: &str,
        _rotation: &SecretRotation,
    ) -> ApiResult<ClientCreated> {
        self.call("rotate_secret", |s| {
            let c = s
                .clients
                .iter_mut()
                .find(|c| c.client_id == client_id)
                .ok_or_else(not_found)?;
            c.secrets.push(SecretInfo {
                created_at: NOW,
                expires_at: None,
            });
            c.version += 1;
            Ok(ClientCreated {
                client: c.clone(),
                client_secret: Some("rotated-secret-shown-once".into()),
            })
        })
    }

    fn list_scopes(&self) -> ApiResult<Vec<Scope>> {
        self.call("list_scopes", |s| Ok(s.scopes.clone()))
    }

    fn get_scope(&self, name: &str) -> ApiResult<Scope> {
        self.call("get_scope", |s| {
            s.scopes
                .iter()
                .find(|x| x.name == name)
                .cloned()
                .ok_or_else(not_found)
        })
    }

    fn create_scope(&self, new: &NewScope) -> ApiResult<Scope> {
        self.call("create_scope", |s| {
            let sc = scope(&new.name, &new.description);
            s.scopes.push(sc.clone());
            Ok(sc)
        })
    }

    fn delete_scope(&self, name: &str, version: u64) -> ApiResult<()> {
        self.call("delete_scope", |s| {
            let sc = s
                .scopes
                .iter()
                .find(|x| x.name == name)
                .ok_or_else(not_found)?;
            check_version(sc.version, version)?;
            s.scopes.retain(|x| x.name != name);
            Ok(())
        })
    }

    fn list_users(&self) -> ApiResult<Vec<User>> {
        self.call("list_users", |s| Ok(s.users.clone()))
    }

    fn get_user(&self, id: &str) -> ApiResult<User> {
        self.call("get_user", |s| {
            s.users
                .iter()
                .find(|u| u.id == id)
                .cloned()
                .ok_or_else(not_found)
        })
    }

    fn create_user(&self, new: &NewUser) -> ApiResult<User> {
        self.call("create_user", |s| {
            let u = user(&new.username, &format!("u-{}", s.users.len() + 1));
            s.users.push(u.clone());
            Ok(u)
        })
    }

    fn update_user(&self, id: &str, version: u64, patch: &UserPatch) -> ApiResult<User> {
        self.call("update_user", |s| {
            let u = s
                .users
                .iter_mut()
                .find(|u| u.id == id)
                .ok_or_else(not_found)?;
            check_version(u.version, version)?;
            if let Some(d) = patch.disabled {
                u.disabled = d;
            }
            u.version += 1;
            Ok(u.clone())
        })
    }

    fn delete_user(&self, id: &str, version: u64) -> ApiResult<()> {
        self.call("delete_user", |s| {
            let u = s.users.iter().find(|u| u.id == id).ok_or_else(not_found)?;
            check_version(u.version, version)?;
            s.users.retain(|u| u.id != id);
            Ok(())
        })
    }

    fn sign_out_user(&self, id: &str) -> ApiResult<()> {
        self.call("sign_out_user", |s| {
            s.users.iter().find(|u| u.id == id).ok_or_else(not_found)?;
            Ok(())
        })
    }

    fn list_keys(&self) -> ApiResult<KeyList> {
        self.call("list_keys", |s| Ok(s.key_list()))
    }

    fn rotate_keys(&self, _rotation: KeyRotation) -> ApiResult<KeyList> {
        self.call("rotate_keys", |s| {
            s.keys.retain(|k| k.state != KeyState::Retired);
            for k in &mut s.keys {
                k.state = match k.state {
                    KeyState::Next => KeyState::Current,
                    _ => KeyState::Retired,
                };
            }
            let n = s.keys.len();
            s.keys.insert(0, key_info(&format!("k{n}"), KeyState::Next));
            Ok(s.key_list())
        })
    }

    fn revoke_key(&self, kid: &str) -> ApiResult<KeyList> {
        self.call("revoke_key", |s| {
            let Some(state) = s.keys.iter().find(|k| k.kid == kid).map(|k| k.state) else {
                return Err(not_found());
            };
            s.keys.retain(|k| k.kid != kid);
            if state == KeyState::Current {
                for k in &mut s.keys {
                    if k.state == KeyState::Next {
                        k.state = KeyState::Current;
                    }
                }
            }
            if state != KeyState::Retired {
                let n = s.keys.len();
                s.keys.insert(0, key_info(&format!("k{n}"), KeyState::Next));
            }
            Ok(s.key_list())
        })
    }

    fn audit(&self, query: &AuditQuery) -> ApiResult<AuditPage> {
        self.call("audit", |s| Ok(s.audit_page(query)))
    }

    fn get_routes(&self) -> ApiResult<RouteTable> {
        self.call("get_routes", |s| Ok(s.routes.clone()))
    }

    fn put_routes(&self, version: u64, body: &RoutesBody) -> ApiResult<RouteTable> {
        self.call("put_routes", |s| {
            check_version(s.routes.version, version)?;
            s.routes.routes.clone_from(&body.routes);
            s.routes.case_sensitive = body.case_sensitive;
            s.routes.version += 1;
            Ok(s.routes.clone())
        })
    }

    fn list_grants(&self, filter: &GrantFilter) -> ApiResult<Vec<GrantView>> {
        let name = format!(
            "list_grants user={:?} client={:?}",
            filter.user, filter.client
        );
        self.call(&name, |s| {
            Ok(s.grants
                .iter()
                .filter(|g| filter.user.as_ref().is_none_or(|u| *u == g.user))
                .filter(|g| filter.client.as_ref().is_none_or(|c| *c == g.client_id))
                .cloned()
                .collect())
        })
    }

    fn revoke_grant(&self, id: &str) -> ApiResult<()> {
        self.call("revoke_grant", |s| {
            let before = s.grants.len();
            s.grants.retain(|g| g.id != id);
            if s.grants.len() == before {
                Err(not_found())
            } else {
                Ok(())
            }
        })
    }

    fn get_issuers(&self) -> ApiResult<IssuerTable> {
        self.call("get_issuers", |s| Ok(s.issuers.clone()))
    }

    fn put_issuers(&self, version: u64, body: &IssuersBody) -> ApiResult<IssuerTable> {
        self.call("put_issuers", |s| {
            check_version(s.issuers.version, version)?;
            s.issuers.issuers.clone_from(&body.issuers);
            s.issuers.version += 1;
            Ok(s.issuers.clone())
        })
    }
}

impl State {
    fn key_list(&self) -> KeyList {
        KeyList {
            keys: self.keys.clone(),
            version: 1,
        }
    }

    /// Newest first, after `query.cursor`, like the server pages.
    fn audit_page(&self, query: &AuditQuery) -> AuditPage {
        let limit = query.limit.unwrap_or(50);
        let matching: Vec<&AuditEvent> = self
            .audit
            .iter()
            .filter(|e| query.action.as_ref().is_none_or(|a| *a == e.action))
            .filter(|e| query.target.as_ref().is_none_or(|t| *t == e.target))
            .filter(|e| query.cursor.as_ref().is_none_or(|c| e.id < *c))
            .collect();
        let events: Vec<AuditEvent> = matching.iter().take(limit).map(|e| (*e).clone()).collect();
        let next_cursor = (matching.len() > limit)
            .then(|| events.last().map(|e| e.id.clone()))
            .flatten();
        AuditPage {
            events,
            next_cursor,
        }
    }
}

/// Applies `msg`, runs every resulting command against `api` and feeds the answers back,
/// until nothing is left. Answers the clipboard writes asked for.
pub fn drive(app: &mut App, api: &FakeApi, msg: Msg) -> Vec<String> {
    let mut copied = Vec::new();
    let mut queue = vec![msg];
    while let Some(msg) = queue.pop() {
        for cmd in update(app, msg) {
            if let Cmd::Copy(text) = &cmd {
                copied.push(text.clone());
            }
            if let Some(answer) = execute(api, cmd) {
                queue.push(Msg::Api(Box::new(answer)));
            }
        }
    }
    copied
}

/// Starts the app against `api` and settles every first call.
pub fn started(api: &FakeApi) -> App {
    let mut app = App::new("http://127.0.0.1:8787");
    let cmds = app.start();
    for cmd in cmds {
        if let Some(answer) = execute(api, cmd) {
            drive(&mut app, api, Msg::Api(Box::new(answer)));
        }
    }
    app
}

/// The message the answer to `cmd` arrives as (for tests that hold an answer back).
pub fn answer_to(api: &FakeApi, cmd: Cmd) -> Msg {
    Msg::Api(Box::new(execute(api, cmd).expect("an admin call")))
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Presses each character of `text` in turn.
pub fn typed(app: &mut App, api: &FakeApi, text: &str) {
    for c in text.chars() {
        drive(app, api, key(KeyCode::Char(c)));
    }
}

/// A server with three clients, two scopes, two users, a key pair, sixty audit events, two
/// routes, two grants and one trusted issuer.
pub fn sample() -> FakeApi {
    FakeApi(Mutex::new(State {
        clients: vec![
            client("billing", "c-billing-0001"),
            client("mobile-app", "c-mobile-0002"),
            client("web-frontend", "c-web-0003"),
        ],
        scopes: vec![
            scope("read", "Read your data"),
            scope("write", "Change your data"),
        ],
        users: vec![user("alice", "u-alice"), user("bob", "u-bob")],
        keys: vec![
            key_info("k-next", KeyState::Next),
            key_info("k-current", KeyState::Current),
        ],
        audit: (1..=60)
            .rev()
            .map(|n| {
                let action = ["client.create", "client.update", "scope.create"]
                    [usize::try_from(n % 3).unwrap_or_default()];
                event(n, action, &format!("target-{}", n % 4))
            })
            .collect(),
        routes: RouteTable {
            routes: vec![
                route("/api/*", &["read"]),
                Route {
                    public: true,
                    ..route("/health", &[])
                },
            ],
            case_sensitive: false,
            version: 3,
            updated_at: NOW,
        },
        grants: vec![
            GrantView {
                id: "g-1".into(),
                user: "u-alice".into(),
                client_id: "c-web-0003".into(),
                scopes: vec!["read".into()],
                created_at: NOW,
                updated_at: NOW,
            },
            GrantView {
                id: "g-2".into(),
                user: "u-bob".into(),
                client_id: "c-web-0003".into(),
                scopes: vec!["read".into(), "write".into()],
                created_at: NOW,
                updated_at: NOW,
            },
        ],
        issuers: IssuerTable {
            issuers: vec![issuer("https://tenant.auth0.example")],
            version: 2,
            updated_at: NOW,
        },
        ..State::default()
    }))
}
