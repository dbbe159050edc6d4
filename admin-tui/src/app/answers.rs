//! How the server's answers change the state: lists refill, dialogs close on success or show
//! the failure, a new secret is revealed once.

use portcullis_core::api::{AuditEvent, ClientCreated};

use super::{App, Health, Modal, SecretShown, Status};
use crate::client::Failure;
use crate::effects::{Answer, AuditInto, Cmd};

/// Closes the dialog that asked for this call, or shows its failure in it (or, when the
/// dialog is gone, in the notice line).
fn settle<T>(app: &mut App, result: Result<T, Failure>) -> Option<T> {
    match result {
        Ok(v) => {
            if matches!(app.modal, Some(Modal::Form(..) | Modal::Confirm(_))) {
                app.modal = None;
            }
            Some(v)
        }
        Err(e) => {
            match &mut app.modal {
                Some(Modal::Form(_, form)) => {
                    form.busy = false;
                    form.error = Some(e);
                }
                Some(Modal::Confirm(c)) => {
                    c.busy = false;
                    c.error = Some(e);
                }
                _ => app.notice = Some(Err(e)),
            }
            None
        }
    }
}

/// Shows a just-issued secret (once) and reloads the client list.
fn reveal(app: &mut App, created: ClientCreated, notice: String) -> Vec<Cmd> {
    app.notice = Some(Ok(notice));
    if let Some(secret) = created.client_secret {
        app.modal = Some(Modal::Secret(SecretShown {
            client_id: created.client.client_id,
            client_name: created.client.name,
            secret,
            copied: false,
        }));
    }
    app.clients.load(Cmd::ListClients)
}

pub(super) fn on_answer(app: &mut App, answer: Answer) -> Vec<Cmd> {
    match answer {
        Answer::Health(r) => {
            app.health = match r {
                Ok(d) => Health::Up {
                    latency_ms: d.as_millis(),
                },
                Err(e) => Health::Down(e.to_string()),
            };
        }
        Answer::Clients(r) => app.clients.fill(r),
        Answer::Scopes(r) => {
            app.scopes.fill(r);
            let names: Vec<String> = app.scopes.items.iter().map(|s| s.name.clone()).collect();
            // A client or route form opened before the catalogue arrived offers it now.
            if let Some(Modal::Form(_, form)) = &mut app.modal {
                form.set_options("scopes", names);
            }
        }
        Answer::Users(r) => app.users.fill(r),
        Answer::ClientCreated(r) => {
            if let Some(created) = settle(app, r) {
                let notice = format!("created client {}", created.client.name);
                return reveal(app, created, notice);
            }
        }
        Answer::ClientSaved(r) => {
            if let Some(c) = settle(app, r) {
                let state = if c.disabled { "disabled" } else { "enabled" };
                app.notice = Some(Ok(format!("saved client {} ({state})", c.name)));
                return app.clients.load(Cmd::ListClients);
            }
        }
        Answer::ClientDeleted(r) => {
            if let Some(id) = settle(app, r) {
                app.notice = Some(Ok(format!("deleted client {id}")));
                return app.clients.load(Cmd::ListClients);
            }
        }
        Answer::SecretRotated(r) => {
            if let Some(rotated) = settle(app, r) {
                let notice = format!("rotated the secret of {}", rotated.client.name);
                return reveal(app, rotated, notice);
            }
        }
        Answer::Keys(r) => app.keys.fill(r.map(|l| l.keys)),
        Answer::KeysRotated(r) => {
            if let Some(list) = settle(app, r) {
                app.notice = Some(Ok("rotated the signing keys".into()));
                app.keys.fill(Ok(list.keys));
            }
        }
        Answer::Audit(into, r) => match r {
            Ok(page) => {
                app.audit.status = Status::Ready;
                match into {
                    AuditInto::Replace => {
                        app.audit.items = page.events;
                        app.audit_next = page.next_cursor;
                        app.audit.cursor.selected = 0;
                    }
                    AuditInto::Append => {
                        app.audit.items.extend(page.events);
                        app.audit_next = page.next_cursor;
                    }
                    AuditInto::Merge => {
                        let fresh: Vec<AuditEvent> = page
                            .events
                            .into_iter()
                            .filter(|e| app.audit.items.iter().all(|have| have.id != e.id))
                            .collect();
                        if app.audit.items.is_empty() {
                            app.audit_next = page.next_cursor;
                        }
                        app.audit.items.splice(0..0, fresh);
                    }
                }
            }
            Err(e) => app.audit.status = Status::Failed(e),
        },
        Answer::Routes(r) => {
            let r = r.map(|t| {
                app.routes_version = t.version;
                t.routes
            });
            app.routes.fill(r);
        }
        Answer::RoutesSaved(r) => {
            if let Some(t) = settle(app, r) {
                let n = t.routes.len();
                let plural = if n == 1 { "" } else { "s" };
                app.notice = Some(Ok(format!("saved the route table ({n} route{plural})")));
                app.routes_version = t.version;
                app.routes.fill(Ok(t.routes));
            }
        }
        Answer::Grants(r) => app.grants.fill(r),
        Answer::GrantRevoked(r) => {
            if let Some(id) = settle(app, r) {
                app.notice = Some(Ok(format!("revoked grant {id}")));
                return app.grants.load(Cmd::ListGrants);
            }
        }
        Answer::ScopeSaved(r) => {
            if let Some(s) = settle(app, r) {
                app.notice = Some(Ok(format!("saved scope {}", s.name)));
                return app.scopes.load(Cmd::ListScopes);
            }
        }
        Answer::ScopeDeleted(r) => {
            if let Some(name) = settle(app, r) {
                app.notice = Some(Ok(format!("deleted scope {name}")));
                return app.scopes.load(Cmd::ListScopes);
            }
        }
        Answer::UserSaved(r) => {
            if let Some(u) = settle(app, r) {
                app.notice = Some(Ok(format!("saved user {}", u.username)));
                return app.users.load(Cmd::ListUsers);
            }
        }
        Answer::UserDeleted(r) => {
            if settle(app, r).is_some() {
                app.notice = Some(Ok("deleted user".into()));
                return app.users.load(Cmd::ListUsers);
            }
        }
    }
    Vec::new()
}
