//! What each screen's actions do (the keys that take them are in `keymap`), and the keys of
//! the dialogs (forms, confirmations, the once-only secret).

use portcullis_core::api::{AuditQuery, ClientPatch, Profile, RoutesBody, UserPatch};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::forms::{client_form, issuer_form, profile_fields, route_form, submit};
use super::keymap::Action;
use super::{App, Confirm, Entry, FormKind, Modal, Screen, Status, AUDIT_PAGE};
use crate::effects::{AuditInto, Cmd};
use crate::form::{Field, Form, FormEvent, Input};

/// Opens a form; one that offers scopes loads the catalogue if it has not been yet.
fn open_form(app: &mut App, kind: FormKind, form: Form) -> Vec<Cmd> {
    let offers_scopes = form.fields.iter().any(|f| f.key == "scopes");
    app.modal = Some(Modal::Form(kind, form));
    if offers_scopes && app.scopes.status == Status::Idle {
        return app.scopes.load(Cmd::ListScopes);
    }
    Vec::new()
}

/// The action a screen's own key takes, on the screen shown.
pub(super) fn screen_key(app: &mut App, action: Action) -> Vec<Cmd> {
    match app.screen {
        Screen::Clients => clients(app, action),
        Screen::Scopes => scopes(app, action),
        Screen::Users => users(app, action),
        Screen::Keys => keys(app, action),
        Screen::Audit => audit(app, action),
        Screen::Routes => routes(app, action),
        Screen::Grants => grants(app, action),
        Screen::Issuers => issuers(app, action),
    }
}

fn clients(app: &mut App, action: Action) -> Vec<Cmd> {
    if action == Action::New {
        let form = client_form(app, None);
        return open_form(app, FormKind::NewClient, form);
    }
    let Some(c) = app.clients.current() else {
        return Vec::new();
    };
    match action {
        Action::Edit => {
            let c = c.clone();
            let form = client_form(app, Some(&c));
            let kind = FormKind::EditClient {
                id: c.client_id,
                version: c.version,
            };
            return open_form(app, kind, form);
        }
        Action::Toggle => {
            return vec![Cmd::UpdateClient {
                id: c.client_id.clone(),
                version: c.version,
                patch: ClientPatch {
                    disabled: Some(!c.disabled),
                    ..ClientPatch::default()
                },
            }];
        }
        Action::Delete => {
            let confirm = typed_confirm(
                "Delete client",
                &c.name,
                Cmd::DeleteClient {
                    id: c.client_id.clone(),
                    version: c.version,
                },
            );
            app.modal = Some(Modal::Confirm(confirm));
        }
        Action::RotateSecret => {
            let confirm = yes_no(
                "Rotate client secret",
                format!(
                    "Issue a new secret for {}? The current one keeps working for 24 hours.",
                    c.name
                ),
                Cmd::RotateSecret(c.client_id.clone()),
            );
            app.modal = Some(Modal::Confirm(confirm));
        }
        _ => {}
    }
    Vec::new()
}

fn scopes(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::New => {
            app.modal = Some(Modal::Form(
                FormKind::NewScope,
                Form::new(
                    "New scope",
                    vec![
                        Field::new("name", "Name", Input::Text(String::new())),
                        Field::new("description", "Description", Input::Text(String::new())),
                    ],
                ),
            ));
        }
        Action::Delete => {
            if let Some(s) = app.scopes.current() {
                app.modal = Some(Modal::Confirm(typed_confirm(
                    "Delete scope",
                    &s.name,
                    Cmd::DeleteScope {
                        name: s.name.clone(),
                        version: s.version,
                    },
                )));
            }
        }
        _ => {}
    }
    Vec::new()
}

fn users(app: &mut App, action: Action) -> Vec<Cmd> {
    if action == Action::New {
        app.modal = Some(Modal::Form(
            FormKind::NewUser,
            Form::new("New user", {
                let mut fields = vec![
                    Field::new("username", "Username", Input::Text(String::new())),
                    Field::new("password", "Password", Input::Secret(String::new())),
                ];
                fields.extend(profile_fields(&Profile::default()));
                fields
            }),
        ));
        return Vec::new();
    }
    let Some(u) = app.users.current() else {
        return Vec::new();
    };
    match action {
        Action::Edit => {
            let kind = FormKind::UserPassword {
                id: u.id.clone(),
                version: u.version,
            };
            let mut fields = vec![Field::new(
                "password",
                "New password (empty: keep)",
                Input::Secret(String::new()),
            )];
            fields.extend(profile_fields(&u.profile));
            let form = Form::new(format!("Edit user {}", u.username), fields);
            app.modal = Some(Modal::Form(kind, form));
        }
        Action::Toggle => {
            return vec![Cmd::UpdateUser {
                id: u.id.clone(),
                version: u.version,
                patch: UserPatch {
                    disabled: Some(!u.disabled),
                    ..UserPatch::default()
                },
            }];
        }
        Action::SignOut => {
            let confirm = yes_no(
                "Sign out everywhere",
                format!(
                    "Sign {} out everywhere? Every browser session of theirs ends at once.",
                    u.username
                ),
                Cmd::SignOutUser(u.id.clone()),
            );
            app.modal = Some(Modal::Confirm(confirm));
        }
        Action::Delete => {
            let confirm = typed_confirm(
                "Delete user",
                &u.username,
                Cmd::DeleteUser {
                    id: u.id.clone(),
                    version: u.version,
                },
            );
            app.modal = Some(Modal::Confirm(confirm));
        }
        _ => {}
    }
    Vec::new()
}

fn keys(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::RotateKeys => {
            app.modal = Some(Modal::Confirm(yes_no(
                "Rotate signing keys",
                "Promote the next key to current, retire the current one (it verifies until its \
                 tokens expire) and publish a new next key?"
                    .into(),
                Cmd::RotateKeys,
            )));
        }
        Action::Delete => {
            if let Some(k) = app.keys.current() {
                app.modal = Some(Modal::Confirm(typed_confirm(
                    "Revoke signing key (compromise)",
                    &k.kid,
                    Cmd::RevokeKey(k.kid.clone()),
                )));
            }
        }
        _ => {}
    }
    Vec::new()
}

fn audit(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::Older => {
            if let Some(cursor) = app.audit_next.clone() {
                let query = AuditQuery {
                    limit: Some(AUDIT_PAGE),
                    cursor: Some(cursor),
                    ..app.audit_query.clone()
                };
                return app.audit.load(Cmd::Audit {
                    query,
                    into: AuditInto::Append,
                });
            }
            app.notice = Some(Ok("no older events".into()));
        }
        Action::Follow => {
            app.follow = !app.follow;
            if app.follow {
                return app.audit_first_page(AuditInto::Merge);
            }
        }
        Action::AuditFilter => {
            let q = &app.audit_query;
            let text = |v: &Option<String>| Input::Text(v.clone().unwrap_or_default());
            app.modal = Some(Modal::Form(
                FormKind::AuditFilter,
                Form::new(
                    "Audit filter (empty = any)",
                    vec![
                        Field::new("action", "Action", text(&q.action)),
                        Field::new("target", "Target", text(&q.target)),
                    ],
                ),
            ));
        }
        _ => {}
    }
    Vec::new()
}

fn routes(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::New | Action::Edit => {
            let edit = action == Action::Edit;
            if let Some(entry) = Entry::of(&app.routes, app.route_table.version, edit) {
                let form = route_form(app, entry.current());
                let kind = FormKind::Route(entry, app.route_table.case_sensitive);
                return open_form(app, kind, form);
            }
        }
        Action::Delete => {
            if let Some((r, routes)) = Entry::without_current(&app.routes) {
                app.modal = Some(Modal::Confirm(yes_no(
                    "Remove route",
                    format!("Remove the route {} from the gateway?", r.path),
                    Cmd::PutRoutes {
                        version: app.route_table.version,
                        body: RoutesBody {
                            routes,
                            case_sensitive: app.route_table.case_sensitive,
                        },
                    },
                )));
            }
        }
        _ => {}
    }
    Vec::new()
}

fn grants(app: &mut App, action: Action) -> Vec<Cmd> {
    if let (Action::Delete, Some(g)) = (action, app.grants.current()) {
        app.modal = Some(Modal::Confirm(yes_no(
            "Revoke grant",
            format!(
                "Revoke what {} granted {}? Its refresh tokens stop working at once.",
                g.user, g.client_id
            ),
            Cmd::RevokeGrant(g.id.clone()),
        )));
    }
    Vec::new()
}

fn issuers(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::New | Action::Edit => {
            let edit = action == Action::Edit;
            if let Some(entry) = Entry::of(&app.issuers, app.issuers_version, edit) {
                let form = issuer_form(entry.current());
                return open_form(app, FormKind::Issuer(entry), form);
            }
        }
        Action::Delete => {
            if let Some((i, issuers)) = Entry::without_current(&app.issuers) {
                app.modal = Some(Modal::Confirm(yes_no(
                    "Remove trusted issuer",
                    format!(
                        "Stop accepting tokens from {}? Routes that name it refuse every token.",
                        i.issuer
                    ),
                    Cmd::PutIssuers {
                        version: app.issuers_version,
                        issuers,
                    },
                )));
            }
        }
        _ => {}
    }
    Vec::new()
}

/// A confirmation that needs the record's name typed in full.
fn typed_confirm(title: &str, name: &str, cmd: Cmd) -> Confirm {
    Confirm {
        title: title.into(),
        message: format!("This cannot be undone. Type {name} to confirm."),
        expect: Some(name.into()),
        typed: String::new(),
        cmd: Box::new(cmd),
        waiting: None,
        error: None,
    }
}

/// A yes/no question.
fn yes_no(title: &str, message: String, cmd: Cmd) -> Confirm {
    Confirm {
        title: title.into(),
        message,
        expect: None,
        typed: String::new(),
        cmd: Box::new(cmd),
        waiting: None,
        error: None,
    }
}

pub(super) fn modal_key(app: &mut App, modal: Modal, k: KeyEvent) -> Vec<Cmd> {
    match modal {
        Modal::Form(kind, mut form) => match form.key(k) {
            FormEvent::Cancel => Vec::new(),
            FormEvent::Edited => {
                app.modal = Some(Modal::Form(kind, form));
                Vec::new()
            }
            FormEvent::Submit if kind == FormKind::AuditFilter => {
                let set = |key: &str| Some(form.text(key)).filter(|t| !t.is_empty());
                app.audit_query.action = set("action");
                app.audit_query.target = set("target");
                app.audit_next = None;
                app.audit_first_page(AuditInto::Replace)
            }
            FormEvent::Submit => {
                form.error = None;
                let cmds = match submit(&kind, &mut form) {
                    Some(call) => {
                        let (ticket, cmd) = app.ticketed(call);
                        form.waiting = Some(ticket);
                        vec![cmd]
                    }
                    None => Vec::new(),
                };
                app.modal = Some(Modal::Form(kind, form));
                cmds
            }
        },
        Modal::Confirm(mut c) => {
            // Esc always closes, even while the call is on its way (its answer then goes to
            // the notice line); nothing else is taken until it answers.
            if k.code == KeyCode::Esc {
                return Vec::new();
            }
            let go = c.waiting.is_none()
                && match (k.code, &c.expect) {
                    (KeyCode::Char('n'), None) => return Vec::new(),
                    (KeyCode::Char('y'), None) => true,
                    (KeyCode::Enter, Some(expect)) => c.typed == *expect,
                    (KeyCode::Char(ch), Some(_)) => {
                        c.typed.push(ch);
                        false
                    }
                    (KeyCode::Backspace, Some(_)) => {
                        c.typed.pop();
                        false
                    }
                    _ => false,
                };
            let mut cmds = Vec::new();
            if go {
                let (ticket, cmd) = app.ticketed((*c.cmd).clone());
                c.waiting = Some(ticket);
                c.error = None;
                cmds.push(cmd);
            }
            app.modal = Some(Modal::Confirm(c));
            cmds
        }
        Modal::Secret(mut s) => match k.code {
            KeyCode::Char('c') => {
                s.copied = true;
                let secret = s.secret.clone();
                app.modal = Some(Modal::Secret(s));
                vec![Cmd::Copy(secret)]
            }
            KeyCode::Esc | KeyCode::Enter => Vec::new(),
            _ => {
                app.modal = Some(Modal::Secret(s));
                Vec::new()
            }
        },
    }
}
