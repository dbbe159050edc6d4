//! The forms the app opens (client, route, trusted issuer) and how a filled form becomes an admin
//! call, with the local checks that spare a round trip.

use portcullis_core::api::{
    default_token_types, Algorithm, Client, ClientPatch, DpopPolicy, GrantType, NewClient,
    NewScope, NewUser, Profile, Route, RoutesBody, ScopeMode, TokenAuthMethod, TrustedIssuer,
    UserPatch,
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

/// The signature algorithms a trusted issuer may use, in the order the form lists them.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// The values of `all` whose names were ticked, in `all`'s order.
fn picked<T: Copy>(all: &[T], chosen: &[String], name: fn(T) -> &'static str) -> Vec<T> {
    all.iter()
        .copied()
        .filter(|v| chosen.iter().any(|c| c == name(*v)))
        .collect()
}

/// The OpenID Connect profile fields of the user forms, filled from `p`.
pub(super) fn profile_fields(p: &Profile) -> Vec<Field> {
    vec![
        Field::new("name", "Name", optional_text(p.name.as_ref())),
        Field::new(
            "given_name",
            "Given name",
            optional_text(p.given_name.as_ref()),
        ),
        Field::new(
            "family_name",
            "Family name",
            optional_text(p.family_name.as_ref()),
        ),
        Field::new("email", "Email", optional_text(p.email.as_ref())),
        Field::new(
            "email_verified",
            "Email verified",
            Input::Toggle(p.email_verified == Some(true)),
        ),
        Field::new("locale", "Locale (en-GB)", optional_text(p.locale.as_ref())),
        Field::new(
            "picture",
            "Picture (https)",
            optional_text(p.picture.as_ref()),
        ),
    ]
}

/// The profile a user form holds: empty texts are absent; `email_verified` only with an email.
fn profile_of(form: &Form) -> Profile {
    let text = |key: &str| Some(form.text(key)).filter(|t| !t.is_empty());
    let email = text("email");
    Profile {
        name: text("name"),
        given_name: text("given_name"),
        family_name: text("family_name"),
        email_verified: email.is_some().then(|| form.toggle("email_verified")),
        email,
        locale: text("locale"),
        picture: text("picture"),
    }
}

/// The new user a filled form describes.
fn new_user(form: &Form) -> NewUser {
    NewUser::with_profile(
        form.text("username"),
        form.text("password"),
        profile_of(form),
    )
}

/// The change an edit-user form asks for: a password only when one was typed; every profile
/// field, an emptied one as `""` (removed).
fn user_patch(form: &Form) -> UserPatch {
    let p = profile_of(form);
    let text = |v: Option<String>| Some(v.unwrap_or_default());
    UserPatch {
        password: Some(form.text("password")).filter(|p| !p.is_empty()),
        ..UserPatch::of_profile(Profile {
            name: text(p.name),
            given_name: text(p.given_name),
            family_name: text(p.family_name),
            email: text(p.email),
            email_verified: p.email_verified,
            locale: text(p.locale),
            picture: text(p.picture),
        })
    }
}

/// A text input holding an optional value (empty when absent).
fn optional_text(value: Option<&String>) -> Input {
    Input::Text(value.cloned().unwrap_or_default())
}

/// The add-route form, or the edit form filled from `existing`.
pub(super) fn route_form(app: &App, existing: Option<&Route>) -> Form {
    let r = existing.cloned().unwrap_or_else(|| Route {
        path: String::new(),
        methods: None,
        origin: None,
        scopes: Vec::new(),
        scope_mode: ScopeMode::All,
        audience: None,
        public: false,
        forward_token: false,
        issuer: None,
        resource: None,
        resource_name: None,
        dpop: None,
    });
    let methods = r.methods.clone().unwrap_or_default();
    let title = existing.map_or_else(|| "New route".into(), |r| format!("Edit route {}", r.path));
    Form::new(
        title,
        vec![
            Field::new("path", "Path (/api/*)", Input::Text(r.path.clone())),
            Field::new(
                "methods",
                "Methods (none=all)",
                Input::choice(METHODS.map(String::from).to_vec(), &methods),
            ),
            Field::new("origin", "Origin", optional_text(r.origin.as_ref())),
            Field::new(
                "scopes",
                "Scopes",
                Input::choice(scope_options(app, &r.scopes), &r.scopes),
            ),
            Field::new(
                "scope_mode",
                "Any scope suffices",
                Input::Toggle(r.scope_mode == ScopeMode::Any),
            ),
            Field::new("audience", "Audience", optional_text(r.audience.as_ref())),
            Field::new(
                "issuer",
                "Issuer (empty=any)",
                optional_text(r.issuer.as_ref()),
            ),
            Field::new(
                "resource",
                "Resource URI (MCP)",
                optional_text(r.resource.as_ref()),
            ),
            Field::new(
                "resource_name",
                "Resource name",
                optional_text(r.resource_name.as_ref()),
            ),
            Field::new("public", "Public (no token)", Input::Toggle(r.public)),
            Field::new(
                "forward_token",
                "Forward token",
                Input::Toggle(r.forward_token),
            ),
            Field::new(
                "dpop",
                "DPoP required",
                Input::Toggle(r.dpop == Some(DpopPolicy::Required)),
            ),
        ],
    )
}

/// The add-issuer form, or the edit form filled from `existing`.
pub(super) fn issuer_form(existing: Option<&TrustedIssuer>) -> Form {
    let algs: Vec<String> = ALGORITHMS.iter().map(|a| a.as_str().to_owned()).collect();
    let held: Vec<String> = existing.map_or_else(
        || vec![Algorithm::RS256.as_str().to_owned()],
        |i| i.algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
    );
    let title = existing.map_or_else(
        || "New trusted issuer".into(),
        |i| format!("Edit issuer {}", i.issuer),
    );
    Form::new(
        title,
        vec![
            Field::new(
                "issuer",
                "Issuer (iss)",
                optional_text(existing.map(|i| &i.issuer)),
            ),
            Field::new(
                "jwks_uri",
                "JWKS URI",
                optional_text(existing.map(|i| &i.jwks_uri)),
            ),
            Field::new(
                "audiences",
                "Audiences",
                Input::list(existing.map(|i| i.audiences.clone()).unwrap_or_default()),
            ),
            Field::new("algorithms", "Algorithms", Input::choice(algs, &held)),
            Field::new(
                "token_types",
                "Token types (typ)",
                Input::list(existing.map_or_else(default_token_types, |i| i.token_types.clone())),
            ),
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
    if existing.is_none_or(|c| c.auth_method() == TokenAuthMethod::PrivateKeyJwt) {
        fields.extend(key_fields(existing));
    }
    fields.push(Field::new(
        "dpop_bound",
        "DPoP tokens only",
        Input::Toggle(existing.is_some_and(|c| c.dpop_bound_access_tokens)),
    ));
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
    /// A `private_key_jwt` client's keys: inline (a JWK Set) or by URL; both `None` when the
    /// form has no such fields or they are empty.
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    dpop_bound: bool,
}

/// The key fields of a client form: a JWK Set pasted as JSON, or a JWKS URL.
fn key_fields(existing: Option<&Client>) -> [Field; 2] {
    let jwks = existing
        .and_then(|c| c.jwks.as_ref())
        .map(ToString::to_string)
        .unwrap_or_default();
    [
        Field::new("jwks", "Keys (JWK Set)", Input::Text(jwks)),
        Field::new(
            "jwks_uri",
            "Keys URL",
            optional_text(existing.and_then(|c| c.jwks_uri.as_ref())),
        ),
    ]
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
    let jwks_text = form.text("jwks");
    let jwks = if jwks_text.trim().is_empty() {
        None
    } else if let Ok(doc) = serde_json::from_str(&jwks_text) {
        Some(doc)
    } else {
        form.reject("jwks", "a JWK Set as JSON: {\"keys\": [...]}");
        return None;
    };
    let jwks_uri = Some(form.text("jwks_uri")).filter(|u| !u.is_empty());
    Some(ClientFields {
        name,
        grant_types: picked(&GRANT_TYPES, &form.chosen("grant_types"), GrantType::as_str),
        scopes: form.chosen("scopes"),
        redirect_uris: form.items("redirect_uris"),
        audiences: form.items("audiences"),
        access_token_ttl,
        jwks,
        jwks_uri,
        dpop_bound: form.toggle("dpop_bound"),
    })
}

/// The registration of a new client; keys make it a `private_key_jwt` client, which has no
/// secret.
fn new_client(f: ClientFields, public: bool) -> NewClient {
    let keyed = f.jwks.is_some() || f.jwks_uri.is_some();
    NewClient {
        name: f.name,
        grant_types: f.grant_types,
        scopes: f.scopes,
        redirect_uris: f.redirect_uris,
        public,
        audiences: f.audiences,
        access_token_ttl: f.access_token_ttl,
        token_endpoint_auth_method: keyed.then_some(TokenAuthMethod::PrivateKeyJwt),
        jwks: f.jwks,
        jwks_uri: f.jwks_uri,
        dpop_bound_access_tokens: f.dpop_bound,
        ..NewClient::default()
    }
}

/// Turns a filled form into its admin call, or marks the field at fault.
pub(super) fn submit(kind: &FormKind, form: &mut Form) -> Option<Cmd> {
    match kind {
        FormKind::NewClient => {
            let f = client_fields(form)?;
            Some(Cmd::CreateClient(new_client(f, form.toggle("public"))))
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
                    jwks: f.jwks,
                    jwks_uri: f.jwks_uri,
                    dpop_bound_access_tokens: Some(f.dpop_bound),
                    ..ClientPatch::default()
                },
            })
        }
        FormKind::Route(entry, case_sensitive) => {
            let path = form.text("path");
            if !path.starts_with('/') {
                form.reject("path", "a path starting with /");
                return None;
            }
            let optional = |t: String| Some(t).filter(|t| !t.is_empty());
            let methods = form.chosen("methods");
            let route = Route {
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
                issuer: optional(form.text("issuer")),
                resource: optional(form.text("resource")),
                resource_name: optional(form.text("resource_name")),
                dpop: form.toggle("dpop").then_some(DpopPolicy::Required),
            };
            Some(Cmd::PutRoutes {
                version: entry.version,
                body: RoutesBody {
                    routes: entry.with(route),
                    case_sensitive: *case_sensitive,
                },
            })
        }
        FormKind::Issuer(entry) => {
            let issuer = form.text("issuer");
            if issuer.is_empty() {
                form.reject("issuer", "the issuer's exact iss value");
                return None;
            }
            let trusted = TrustedIssuer {
                issuer,
                jwks_uri: form.text("jwks_uri"),
                audiences: form.items("audiences"),
                algorithms: picked(&ALGORITHMS, &form.chosen("algorithms"), Algorithm::as_str),
                token_types: form.items("token_types"),
            };
            Some(Cmd::PutIssuers {
                version: entry.version,
                issuers: entry.with(trusted),
            })
        }
        // Applied by `modal_key` itself: it changes the app, not the server.
        FormKind::AuditFilter => None,
        FormKind::NewScope => Some(Cmd::CreateScope(NewScope {
            name: form.text("name"),
            description: form.text("description"),
        })),
        FormKind::NewUser => Some(Cmd::CreateUser(new_user(form))),
        FormKind::UserPassword { id, version } => Some(Cmd::UpdateUser {
            id: id.clone(),
            version: *version,
            patch: user_patch(form),
        }),
    }
}
