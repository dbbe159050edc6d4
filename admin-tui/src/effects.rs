//! Side effects: the commands `update` asks for, and the thread that runs them.
//!
//! [`Cmd`] describes one admin call; [`execute`] performs it through an [`AdminApi`] and answers
//! with an [`Answer`]. [`spawn`] runs each command on its own short-lived thread and sends the
//! answer back over a channel, so the interface never waits on the network. Tests call
//! [`execute`] directly with the real core in-process (`testing.rs`).

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use portcullis_core::api::{
    AuditPage, AuditQuery, Client, ClientCreated, ClientPatch, GrantView, IssuerTable, IssuersBody,
    KeyList, KeyRotation, NewClient, NewScope, NewUser, RouteTable, RoutesBody, Scope,
    SecretRotation, TrustedIssuer, User, UserPatch,
};

use crate::client::{AdminApi, ApiResult, GrantFilter};

/// Names the dialog that sent a call, so its answer goes back to that dialog only (and to the
/// notice line when the dialog has gone or another has opened since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(pub u64);

/// One admin call the app wants made.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Health,
    ListClients,
    CreateClient(NewClient),
    UpdateClient {
        id: String,
        version: u64,
        patch: ClientPatch,
    },
    DeleteClient {
        id: String,
        version: u64,
    },
    RotateSecret(String),
    ListScopes,
    CreateScope(NewScope),
    DeleteScope {
        name: String,
        version: u64,
    },
    ListUsers,
    CreateUser(NewUser),
    UpdateUser {
        id: String,
        version: u64,
        patch: UserPatch,
    },
    DeleteUser {
        id: String,
        version: u64,
    },
    /// Sign a user out everywhere (by id).
    SignOutUser(String),
    ListKeys,
    RotateKeys,
    RevokeKey(String),
    Audit {
        query: AuditQuery,
        into: AuditInto,
    },
    ListRoutes,
    /// Replace the route table (the version it was read at guards against lost updates).
    PutRoutes {
        version: u64,
        body: RoutesBody,
    },
    ListGrants,
    RevokeGrant(String),
    ListIssuers,
    /// Replace the trusted issuers (guarded by the version they were read at, like routes).
    PutIssuers {
        version: u64,
        issuers: Vec<TrustedIssuer>,
    },
    /// A call sent by a dialog; its answer comes back as [`Answer::Dialog`] with the ticket.
    Dialog {
        ticket: Ticket,
        call: Box<Cmd>,
    },
    /// Put text on the operator's clipboard (OSC 52); handled by the terminal loop.
    Copy(String),
}

impl Cmd {
    /// Whether the spinner should turn while it runs (health checks run quietly).
    pub fn shows_spinner(&self) -> bool {
        match self {
            Self::Health | Self::Copy(_) => false,
            Self::Dialog { call, .. } => call.shows_spinner(),
            _ => true,
        }
    }
}

/// Where a page of audit events goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditInto {
    /// A fresh first page replaces what is shown.
    Replace,
    /// The next (older) page goes below.
    Append,
    /// Follow mode: events not yet shown go on top.
    Merge,
}

/// What the server answered to a [`Cmd`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Health(ApiResult<Duration>),
    Clients(ApiResult<Vec<Client>>),
    ClientCreated(ApiResult<ClientCreated>),
    ClientSaved(ApiResult<Client>),
    ClientDeleted(ApiResult<String>),
    SecretRotated(ApiResult<ClientCreated>),
    Scopes(ApiResult<Vec<Scope>>),
    ScopeSaved(ApiResult<Scope>),
    ScopeDeleted(ApiResult<String>),
    Users(ApiResult<Vec<User>>),
    UserSaved(ApiResult<User>),
    UserDeleted(ApiResult<String>),
    UserSignedOut(ApiResult<String>),
    Keys(ApiResult<KeyList>),
    KeysRotated(ApiResult<KeyList>),
    /// The key set after a revocation, with the revoked `kid`.
    KeyRevoked(String, ApiResult<KeyList>),
    Audit(AuditInto, ApiResult<AuditPage>),
    Routes(ApiResult<RouteTable>),
    RoutesSaved(ApiResult<RouteTable>),
    Grants(ApiResult<Vec<GrantView>>),
    GrantRevoked(ApiResult<String>),
    Issuers(ApiResult<IssuerTable>),
    IssuersSaved(ApiResult<IssuerTable>),
    /// The answer to a [`Cmd::Dialog`].
    Dialog {
        ticket: Ticket,
        answer: Box<Answer>,
    },
}

/// Performs one command; `None` for commands that are not admin calls.
pub fn execute(api: &dyn AdminApi, cmd: Cmd) -> Option<Answer> {
    Some(match cmd {
        Cmd::Health => Answer::Health(api.health()),
        Cmd::ListClients => Answer::Clients(api.list_clients()),
        Cmd::CreateClient(new) => Answer::ClientCreated(api.create_client(&new)),
        Cmd::UpdateClient { id, version, patch } => {
            Answer::ClientSaved(api.update_client(&id, version, &patch))
        }
        Cmd::DeleteClient { id, version } => {
            Answer::ClientDeleted(api.delete_client(&id, version).map(|()| id))
        }
        Cmd::RotateSecret(id) => {
            Answer::SecretRotated(api.rotate_secret(&id, &SecretRotation::default()))
        }
        Cmd::ListScopes => Answer::Scopes(api.list_scopes()),
        Cmd::CreateScope(new) => Answer::ScopeSaved(api.create_scope(&new)),
        Cmd::DeleteScope { name, version } => {
            Answer::ScopeDeleted(api.delete_scope(&name, version).map(|()| name))
        }
        Cmd::ListUsers => Answer::Users(api.list_users()),
        Cmd::CreateUser(new) => Answer::UserSaved(api.create_user(&new)),
        Cmd::UpdateUser { id, version, patch } => {
            Answer::UserSaved(api.update_user(&id, version, &patch))
        }
        Cmd::DeleteUser { id, version } => {
            Answer::UserDeleted(api.delete_user(&id, version).map(|()| id))
        }
        Cmd::SignOutUser(id) => Answer::UserSignedOut(api.sign_out_user(&id).map(|()| id)),
        Cmd::ListKeys => Answer::Keys(api.list_keys()),
        Cmd::RotateKeys => Answer::KeysRotated(api.rotate_keys(KeyRotation::default())),
        Cmd::RevokeKey(kid) => {
            let answer = api.revoke_key(&kid);
            Answer::KeyRevoked(kid, answer)
        }
        Cmd::Audit { query, into } => Answer::Audit(into, api.audit(&query)),
        Cmd::ListRoutes => Answer::Routes(api.get_routes()),
        Cmd::PutRoutes { version, body } => Answer::RoutesSaved(api.put_routes(version, &body)),
        Cmd::ListGrants => Answer::Grants(api.list_grants(&GrantFilter::default())),
        Cmd::RevokeGrant(id) => Answer::GrantRevoked(api.revoke_grant(&id).map(|()| id)),
        Cmd::ListIssuers => Answer::Issuers(api.get_issuers()),
        Cmd::PutIssuers { version, issuers } => {
            Answer::IssuersSaved(api.put_issuers(version, &IssuersBody { issuers }))
        }
        Cmd::Dialog { ticket, call } => Answer::Dialog {
            ticket,
            answer: Box::new(execute(api, *call)?),
        },
        Cmd::Copy(_) => return None,
    })
}

/// Runs `cmd` off the UI thread; its answer arrives on `answers`.
pub fn spawn<M: Send + 'static>(
    api: &Arc<dyn AdminApi>,
    cmd: Cmd,
    answers: &Sender<M>,
    wrap: fn(Answer) -> M,
) {
    let api = Arc::clone(api);
    let answers = answers.clone();
    thread::spawn(move || {
        if let Some(answer) = execute(api.as_ref(), cmd) {
            // The receiver is gone only when the app is quitting.
            let _ = answers.send(wrap(answer));
        }
    });
}
