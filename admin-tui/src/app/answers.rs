//! How the server's answers change the state: lists refill, dialogs close on success or show
//! the failure, a new secret is revealed once.
//!
//! An answer goes back to the dialog that sent its call, and to no other: a call made without a
//! dialog (`t` toggles), or whose dialog was closed or replaced meanwhile, reports in the notice
//! line, and a secret it brings is shown as soon as no other dialog is open.

use portcullis_core::api::{AuditEvent, AuditPage, ClientCreated};

use super::{App, Health, Modal, Row, SecretShown, Status, Table};
use crate::client::{ApiResult, Failure};
use crate::effects::{Answer, AuditInto, Cmd, Ticket};

/// Settles the dialog that sent this call (`from`): closes it on success, shows the failure in
/// it otherwise. When no open dialog waits for it, a failure goes to the notice line.
fn settle<T>(app: &mut App, from: Option<Ticket>, result: Result<T, Failure>) -> Option<T> {
    let sender = app
        .modal
        .as_mut()
        .filter(|m| from.is_some() && m.waiting() == from);
    match (result, sender) {
        (Ok(v), sender) => {
            if sender.is_some() {
                app.modal = None;
            }
            Some(v)
        }
        (Err(e), Some(dialog)) => {
            dialog.fail(e);
            None
        }
        (Err(e), None) => {
            app.notice = Some(Err(e));
            None
        }
    }
}

/// Shows a just-issued secret once (now, or when the dialog open meanwhile closes) and reloads
/// the client list.
fn reveal(app: &mut App, created: ClientCreated, notice: String) -> Vec<Cmd> {
    if let Some(secret) = created.client_secret {
        let later = if app.modal.is_some() {
            "; its secret shows when this dialog closes"
        } else {
            ""
        };
        app.notice = Some(Ok(format!("{notice}{later}")));
        app.unseen_secrets.push_back(SecretShown {
            client_id: created.client.client_id,
            client_name: created.client.name,
            secret,
            copied: false,
        });
    } else {
        app.notice = Some(Ok(notice));
    }
    app.clients.load(Cmd::ListClients)
}

/// Fills a table the server stores whole, with its version.
fn fill_whole<T: Row>(table: &mut Table<T>, version: &mut u64, result: ApiResult<(Vec<T>, u64)>) {
    table.fill(result.map(|(items, v)| {
        *version = v;
        items
    }));
}

/// What the notice says when a whole table was saved: `saved the route table (2 routes)`.
fn saved_whole(what: &str, noun: &str, n: usize) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("saved the {what} ({n} {noun}{plural})")
}

/// Applies one answer from the server.
pub(super) fn on_answer(app: &mut App, answer: Answer, from: Option<Ticket>) -> Vec<Cmd> {
    match answer {
        Answer::Dialog { ticket, answer } => return on_answer(app, *answer, Some(ticket)),
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
        Answer::Keys(r) => app.keys.fill(r.map(|l| l.keys)),
        Answer::Audit(into, r) => on_audit(app, into, r),
        Answer::Routes(r) => fill_whole(
            &mut app.routes,
            &mut app.route_table.version,
            r.map(|t| {
                app.route_table.case_sensitive = t.case_sensitive;
                (t.routes, t.version)
            }),
        ),
        Answer::RoutesSaved(r) => {
            if let Some(t) = settle(app, from, r) {
                app.notice = Some(Ok(saved_whole("route table", "route", t.routes.len())));
                app.route_table.case_sensitive = t.case_sensitive;
                fill_whole(
                    &mut app.routes,
                    &mut app.route_table.version,
                    Ok((t.routes, t.version)),
                );
            }
        }
        Answer::Issuers(r) => fill_whole(
            &mut app.issuers,
            &mut app.issuers_version,
            r.map(|t| (t.issuers, t.version)),
        ),
        Answer::IssuersSaved(r) => {
            if let Some(t) = settle(app, from, r) {
                app.notice = Some(Ok(saved_whole(
                    "trusted issuers",
                    "issuer",
                    t.issuers.len(),
                )));
                fill_whole(
                    &mut app.issuers,
                    &mut app.issuers_version,
                    Ok((t.issuers, t.version)),
                );
            }
        }
        Answer::Grants(r) => app.grants.fill(r),
        written => return on_written(app, written, from),
    }
    Vec::new()
}

/// What a write's answer changes: the dialog that sent it settles, the notice says what was
/// done, the list it changed reloads. Answers that are not writes change nothing here.
fn on_written(app: &mut App, answer: Answer, from: Option<Ticket>) -> Vec<Cmd> {
    match answer {
        Answer::ClientCreated(r) => {
            if let Some(created) = settle(app, from, r) {
                let notice = format!("created client {}", created.client.name);
                return reveal(app, created, notice);
            }
        }
        Answer::ClientSaved(r) => {
            if let Some(c) = settle(app, from, r) {
                let state = if c.disabled { "disabled" } else { "enabled" };
                app.notice = Some(Ok(format!("saved client {} ({state})", c.name)));
                return app.clients.load(Cmd::ListClients);
            }
        }
        Answer::ClientDeleted(r) => {
            if let Some(id) = settle(app, from, r) {
                app.notice = Some(Ok(format!("deleted client {id}")));
                return app.clients.load(Cmd::ListClients);
            }
        }
        Answer::SecretRotated(r) => {
            if let Some(rotated) = settle(app, from, r) {
                let notice = format!("rotated the secret of {}", rotated.client.name);
                return reveal(app, rotated, notice);
            }
        }
        Answer::KeysRotated(r) => {
            if let Some(list) = settle(app, from, r) {
                app.notice = Some(Ok("rotated the signing keys".into()));
                app.keys.fill(Ok(list.keys));
            }
        }
        Answer::KeyRevoked(kid, r) => {
            if let Some(list) = settle(app, from, r) {
                app.notice = Some(Ok(format!(
                    "revoked signing key {kid}: its tokens fail within seconds"
                )));
                app.keys.fill(Ok(list.keys));
            }
        }
        Answer::GrantRevoked(r) => {
            if let Some(id) = settle(app, from, r) {
                app.notice = Some(Ok(format!("revoked grant {id}")));
                return app.grants.load(Cmd::ListGrants);
            }
        }
        Answer::ScopeSaved(r) => {
            if let Some(s) = settle(app, from, r) {
                app.notice = Some(Ok(format!("saved scope {}", s.name)));
                return app.scopes.load(Cmd::ListScopes);
            }
        }
        Answer::ScopeDeleted(r) => {
            if let Some(name) = settle(app, from, r) {
                app.notice = Some(Ok(format!("deleted scope {name}")));
                return app.scopes.load(Cmd::ListScopes);
            }
        }
        Answer::UserSaved(r) => {
            if let Some(u) = settle(app, from, r) {
                app.notice = Some(Ok(format!("saved user {}", u.username)));
                return app.users.load(Cmd::ListUsers);
            }
        }
        Answer::UserDeleted(r) => {
            let deleted = settle(app, from, r).is_some();
            if deleted {
                app.notice = Some(Ok("deleted user".into()));
                return app.users.load(Cmd::ListUsers);
            }
        }
        Answer::UserSignedOut(r) => {
            if let Some(id) = settle(app, from, r) {
                app.notice = Some(Ok(format!("signed user {id} out everywhere")));
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A page of audit events: replaces, extends or tops up what is shown.
fn on_audit(app: &mut App, into: AuditInto, result: ApiResult<AuditPage>) {
    match result {
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
    }
}
