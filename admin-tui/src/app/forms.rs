//! The forms the app opens (client, route) and how a filled form becomes an admin call, with the
//! local checks that spare a round trip.

use portcullis_core::api::{
    Client, ClientPatch, GrantType, NewClient, NewScope, NewUser, Route, ScopeMode, UserPatch,
};

use super::{App, FormKind, GRANT_TYPES};
use crate::effects::Cmd;
use crate::form::{Field, Form, Input};

/// The scope names the client form offers: the catalogue, plus any the client already holds.
fn scope_options(app: &App, held: &[String]) -> Vec<String> {
    let mut names: Vec<String> = app.scopes.items.iter().map(|s| s.name.clone()).collect();
    for h in held {
        if !names.contains(h) {
            names.push(h.clone());
        }
    }
    names
}

/// HTTP methods a route can be limited to (none ticked = every method).
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

pub(super) fn route_form(app: &App) -> Form {
    let text = || Input::Text(String::new());
    Form::new(
        "New route",
        vec![
            Field::new("path", "Path (/api/*)", text()),
            Field::new(
                "methods",
                "Methods (none=all)",
                Input::choice(METHODS.map(String::from).to_vec(), &[]),
            ),
            Field::new("origin", "Origin", text()),
            Field::new(
                "scopes",
                "Scopes",
                Input::choice(scope_options(app, &[]), &[]),
            ),
            Field::new("scope_mode", "Any scope (not all)", Input::Toggle(false)),
            Field::new("audience", "Audience", text()),
            Field::new("public", "Public (no token)", Input::Toggle(false)),
            Field::new("forward_token", "Forward token", Input::Toggle(false)),
        ],
    )
}

/// The create form, or the edit form filled from `existing` (`public` cannot change).
pub(super) fn client_form(app: &App, existing: Option<&Client>) -> Form {
    let grants = GRANT_TYPES.iter().map(|g| g.as_str().to_owned()).collect();
    let held_grants: Vec<String> = existing.map_or_else(
        || vec![GrantType::ClientCredentials.as_str().to_owned()],
        |c| {
            c.grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect()
        },
    );
    let held_scopes = existing.map(|c| c.scopes.clone()).unwrap_or_default();
    let list = |f: fn(&Client) -> &Vec<String>| {
        Input::list(existing.map(|c| f(c).clone()).unwrap_or_default())
    };
    let mut fields = vec![Field::new(
        "name",
        "Name",
        Input::Text(existing.map(|c| c.name.clone()).unwrap_or_default()),
    )];
    if existing.is_none() {
        fields.push(Field::new(
            "public",
            "Public (no secret)",
            Input::Toggle(false),
        ));
    }
    fields.extend([
        Field::new(
            "grant_types",
            "Grant types",
            Input::choice(grants, &held_grants),
        ),
        Field::new(
            "scopes",
            "Scopes",
            Input::choice(scope_options(app, &held_scopes), &held_scopes),
        ),
        Field::new("redirect_uris", "Redirect URIs", list(|c| &c.redirect_uris)),
        Field::new("audiences", "Audiences", list(|c| &c.audiences)),
        Field::new(
            "access_token_ttl",
            "Token TTL (s)",
            Input::Text(
                existing
                    .map(|c| c.access_token_ttl.to_string())
                    .unwrap_or_default(),
            ),
        ),
    ]);
    let title = existing.map_or_else(
        || "New client".to_owned(),
        |c| format!("Edit client {}", c.name),
    );
    Form::new(title, fields)
}

/// The client fields both the create and the edit form carry, checked locally first.
struct ClientFields {
    name: String,
    grant_types: Vec<GrantType>,
    scopes: Vec<String>,
    redirect_uris: Vec<String>,
    audiences: Vec<String>,
    access_token_ttl: Option<u64>,
}

fn client_fields(form: &mut Form) -> Option<ClientFields> {
    let name = form.text("name");
    if name.is_empty() {
        form.reject("name", "a client needs a name");
        return None;
    }
    let ttl = form.text("access_token_ttl");
    let access_token_ttl = if ttl.is_empty() {
        None
    } else if let Ok(n) = ttl.parse() {
        Some(n)
    } else {
        form.reject("access_token_ttl", "a whole number of seconds");
        return None;
    };
    let chosen = form.chosen("grant_types");
    Some(ClientFields {
        name,
        grant_types: GRANT_TYPES
            .into_iter()
            .filter(|g| chosen.iter().any(|c| c == g.as_str()))
            .collect(),
        scopes: form.chosen("scopes"),
        redirect_uris: form.items("redirect_uris"),
        audiences: form.items("audiences"),
        access_token_ttl,
    })
}

/// Turns a filled form into its admin call, or marks the field at fault.
pub(super) fn submit(kind: &FormKind, form: &mut Form) -> Option<Cmd> {
    match kind {
        FormKind::NewClient => {
            let f = client_fields(form)?;
            Some(Cmd::CreateClient(NewClient {
                name: f.name,
                grant_types: f.grant_types,
                scopes: f.scopes,
                redirect_uris: f.redirect_uris,
                public: form.toggle("public"),
                audiences: f.audiences,
                access_token_ttl: f.access_token_ttl,
                ..NewClient::default()
            }))
        }
        FormKind::EditClient { id, version } => {
            let f = client_fields(form)?;
            Some(Cmd::UpdateClient {
                id: id.clone(),
                version: *version,
                patch: ClientPatch {
                    name: Some(f.name),
                    grant_types: Some(f.grant_types),
                    scopes: Some(f.scopes),
                    redirect_uris: Some(f.redirect_uris),
                    audiences: Some(f.audiences),
                    access_token_ttl: f.access_token_ttl,
                    ..ClientPatch::default()
                },
            })
        }
        FormKind::NewRoute { version, routes } => {
            let path = form.text("path");
            if !path.starts_with('/') {
                form.reject("path", "a path starting with /");
                return None;
            }
            let optional = |t: String| Some(t).filter(|t| !t.is_empty());
            let methods = form.chosen("methods");
            let mut routes = routes.clone();
            routes.push(Route {
                path,
                methods: (!methods.is_empty()).then_some(methods),
                origin: optional(form.text("origin")),
                scopes: form.chosen("scopes"),
                scope_mode: if form.toggle("scope_mode") {
                    ScopeMode::Any
                } else {
                    ScopeMode::All
                },
                audience: optional(form.text("audience")),
                public: form.toggle("public"),
                forward_token: form.toggle("forward_token"),
                issuer: None,
            });
            Some(Cmd::PutRoutes {
                version: *version,
                routes,
            })
        }
        // Applied by `modal_key` itself: it changes the app, not the server.
        FormKind::AuditFilter => None,
        FormKind::NewScope => Some(Cmd::CreateScope(NewScope {
            name: form.text("name"),
            description: form.text("description"),
        })),
        FormKind::NewUser => Some(Cmd::CreateUser(NewUser {
            username: form.text("username"),
            password: form.text("password"),
        })),
        FormKind::UserPassword { id, version } => Some(Cmd::UpdateUser {
            id: id.clone(),
            version: *version,
            patch: UserPatch {
                password: Some(form.text("password")),
                ..UserPatch::default()
            },
        }),
    }
}
