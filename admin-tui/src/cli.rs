//! The non-interactive subcommands for scripts and CI: `portcullis clients list`, …
//!
//! `--json` prints the admin API's own JSON (the shared `portcullis_core::api` types, so the
//! field names are the API's); otherwise a table or a labelled record. Errors are one line on
//! stderr and a non-zero exit (see `main.rs`).

use std::io::{self, BufRead, IsTerminal};

use clap::{Args, Subcommand};
use portcullis_core::api::{
    AuditQuery, ClientCreated, ClientList, ClientPatch, GrantList, GrantType, KeyAlg, KeyRotation,
    NewClient, NewScope, NewUser, ScopeList, SecretRotation, UserList, UserPatch,
};
use serde::Serialize;

use crate::client::AdminApi;
use crate::describe::Describe;

/// What to do without the interface.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// OAuth clients.
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// The scope catalogue.
    #[command(subcommand)]
    Scopes(ScopesCmd),
    /// Users of the password and authorization-code grants.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The gateway's route table (edit it in the interactive app).
    #[command(subcommand)]
    Routes(RoutesCmd),
    /// What users have authorised clients to do.
    #[command(subcommand)]
    Grants(GrantsCmd),
}

#[derive(Debug, Subcommand)]
pub enum RoutesCmd {
    List,
}

#[derive(Debug, Subcommand)]
pub enum GrantsCmd {
    List,
    /// Revokes a grant and every token issued under it.
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCmd {
    /// Every client.
    List,
    /// One client.
    Get { client_id: String },
    /// Registers a client; prints its secret once.
    Create(ClientArgs),
    /// Changes the given fields of a client (the others stay).
    Update(ClientUpdate),
    /// Deletes a client: its tokens stop being issued at once.
    Delete { client_id: String },
    /// Issues a new secret (printed once); the old one works until it expires.
    RotateSecret {
        client_id: String,
        /// Seconds the previous secret keeps working (default 86400; 0 = stop now).
        #[arg(long)]
        previous_expires_in: Option<u64>,
    },
}

/// The fields `clients update` can change.
#[derive(Debug, Args)]
pub struct ClientUpdate {
    client_id: String,
    #[arg(long)]
    name: Option<String>,
    /// Replaces the grant types (repeat for several).
    #[arg(long = "grant-type", value_parser = parse_grant)]
    grant_types: Vec<GrantType>,
    /// Replaces the scopes (repeat for several).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Replaces the redirect URIs (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Replaces the audiences (repeat for several).
    #[arg(long = "audience")]
    audiences: Vec<String>,
    #[arg(long)]
    ttl: Option<u64>,
    #[arg(long, conflicts_with = "enable")]
    disable: bool,
    #[arg(long)]
    enable: bool,
}

/// The fields of a new client.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[arg(long)]
    name: String,
    /// Repeat for several (`client_credentials`, `authorization_code`, `refresh_token`, …).
    #[arg(long = "grant-type", value_parser = parse_grant)]
    grant_types: Vec<GrantType>,
    #[arg(long = "scope")]
    scopes: Vec<String>,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// A public client (no secret; PKCE).
    #[arg(long)]
    public: bool,
    /// Access-token lifetime in seconds.
    #[arg(long)]
    ttl: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ScopesCmd {
    List,
    Get {
        name: String,
    },
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    Delete {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    List,
    /// Creates a user; the password is read from stdin (or prompted for on a terminal).
    Create {
        username: String,
    },
    /// Changes a user's password (read like `create`) or state.
    Update {
        id: String,
        #[arg(long)]
        password: bool,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    Delete {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Every signing key with its state.
    List,
    /// Promotes `next` to `current`, retires `current`, creates a new `next`.
    Rotate {
        /// Algorithm of the new `next` key (`EdDSA` or `ES256`).
        #[arg(long, value_parser = parse_alg)]
        alg: Option<KeyAlg>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// One page of events, newest first.
    List {
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        target: Option<String>,
        /// Unix seconds.
        #[arg(long)]
        since: Option<u64>,
        /// Unix seconds.
        #[arg(long)]
        until: Option<u64>,
        #[arg(long)]
        limit: Option<usize>,
        /// `next_cursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

fn parse_alg(s: &str) -> Result<KeyAlg, String> {
    KeyAlg::parse(s).ok_or_else(|| format!("unknown algorithm {s} (EdDSA or ES256)"))
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("unknown grant type {s}"))
}

/// How to print answers.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    fn record<T: Serialize + Describe>(self, value: &T) -> Result<(), String> {
        if self.json {
            return print_json(value);
        }
        let fields = value.fields();
        let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, text) in fields {
            println!("{label:<width$}  {text}");
        }
        Ok(())
    }

    /// The API's list body as JSON, or its rows as a table.
    fn list<W: Serialize, T: Describe>(
        self,
        body: &W,
        rows: impl Fn(&W) -> &Vec<T>,
    ) -> Result<(), String> {
        if self.json {
            return print_json(body);
        }
        print!(
            "{}",
            table(T::HEADERS, rows(body).iter().map(Describe::row))
        );
        Ok(())
    }

    fn done(self, what: &str) -> Result<(), String> {
        if self.json {
            print_json(&serde_json::json!({ "ok": true }))
        } else {
            println!("{what}");
            Ok(())
        }
    }
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// Left-aligned columns, two spaces apart.
pub fn table(headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.iter().map(ToString::to_string).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// A password from stdin (one line) or, on a terminal, a hidden prompt. Never an argument.
fn read_password() -> Result<String, String> {
    let password = if io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?
    } else {
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("no password given on stdin".into());
    }
    Ok(password)
}

fn nonempty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Runs one subcommand.
pub fn run(api: &dyn AdminApi, out: Output, command: Command) -> Result<(), String> {
    match command {
        Command::Clients(c) => clients(api, out, c),
        Command::Scopes(c) => scopes(api, out, c),
        Command::Users(c) => users(api, out, c),
        Command::Keys(c) => keys(api, out, &c),
        Command::Audit(c) => audit(api, out, c),
        Command::Routes(RoutesCmd::List) => out.list(&api.get_routes()?, |t| &t.routes),
        Command::Grants(GrantsCmd::List) => {
            let grants = api.list_grants()?;
            out.list(&GrantList { grants }, |l| &l.grants)
        }
        Command::Grants(GrantsCmd::Revoke { id }) => {
            api.revoke_grant(&id)?;
            out.done(&format!("revoked grant {id}"))
        }
    }
}

/// Prints a client with its new secret, which the server shows this once.
fn print_secret(out: Output, created: &ClientCreated) -> Result<(), String> {
    if out.json {
        return print_json(created);
    }
    out.record(&created.client)?;
    if let Some(secret) = &created.client_secret {
        println!("\nclient_secret  {secret}\n(shown this once: store it now)");
    }
    Ok(())
}

fn clients(api: &dyn AdminApi, out: Output, command: ClientsCmd) -> Result<(), String> {
    match command {
        ClientsCmd::List => {
            let clients = api.list_clients()?;
            out.list(&ClientList { clients }, |l| &l.clients)
        }
        ClientsCmd::Get { client_id } => out.record(&api.get_client(&client_id)?),
        ClientsCmd::Create(args) => {
            let new = NewClient {
                name: args.name,
                grant_types: nonempty(args.grant_types)
                    .unwrap_or_else(|| vec![GrantType::ClientCredentials]),
                scopes: args.scopes,
                redirect_uris: args.redirect_uris,
                public: args.public,
                audiences: args.audiences,
                access_token_ttl: args.ttl,
                ..NewClient::default()
            };
            print_secret(out, &api.create_client(&new)?)
        }
        ClientsCmd::Update(u) => {
            let patch = ClientPatch {
                name: u.name,
                grant_types: nonempty(u.grant_types),
                scopes: nonempty(u.scopes),
                redirect_uris: nonempty(u.redirect_uris),
                audiences: nonempty(u.audiences),
                access_token_ttl: u.ttl,
                disabled: (u.disable || u.enable).then_some(u.disable),
                ..ClientPatch::default()
            };
            let current = api.get_client(&u.client_id)?;
            out.record(&api.update_client(&u.client_id, current.version, &patch)?)
        }
        ClientsCmd::Delete { client_id } => {
            let current = api.get_client(&client_id)?;
            api.delete_client(&client_id, current.version)?;
            out.done(&format!("deleted client {} ({client_id})", current.name))
        }
        ClientsCmd::RotateSecret {
            client_id,
            previous_expires_in,
        } => {
            let rotation = SecretRotation {
                previous_expires_in,
            };
            print_secret(out, &api.rotate_secret(&client_id, &rotation)?)
        }
    }
}

fn scopes(api: &dyn AdminApi, out: Output, command: ScopesCmd) -> Result<(), String> {
    match command {
        ScopesCmd::List => {
            let scopes = api.list_scopes()?;
            out.list(&ScopeList { scopes }, |l| &l.scopes)
        }
        ScopesCmd::Get { name } => out.record(&api.get_scope(&name)?),
        ScopesCmd::Create { name, description } => {
            out.record(&api.create_scope(&NewScope { name, description })?)
        }
        ScopesCmd::Delete { name } => {
            let current = api.get_scope(&name)?;
            api.delete_scope(&name, current.version)?;
            out.done(&format!("deleted scope {name}"))
        }
    }
}

fn users(api: &dyn AdminApi, out: Output, command: UsersCmd) -> Result<(), String> {
    match command {
        UsersCmd::List => {
            let users = api.list_users()?;
            out.list(&UserList { users }, |l| &l.users)
        }
        UsersCmd::Create { username } => {
            let password = read_password()?;
            out.record(&api.create_user(&NewUser { username, password })?)
        }
        UsersCmd::Update {
            id,
            password,
            disable,
            enable,
        } => {
            let patch = UserPatch {
                password: if password {
                    Some(read_password()?)
                } else {
                    None
                },
                disabled: (disable || enable).then_some(disable),
            };
            let current = api.get_user(&id)?;
            out.record(&api.update_user(&id, current.version, &patch)?)
        }
        UsersCmd::Delete { id } => {
            let current = api.get_user(&id)?;
            api.delete_user(&id, current.version)?;
            out.done(&format!("deleted user {}", current.username))
        }
    }
}

fn keys(api: &dyn AdminApi, out: Output, command: &KeysCmd) -> Result<(), String> {
    let list = match *command {
        KeysCmd::List => api.list_keys(),
        KeysCmd::Rotate { alg } => api.rotate_keys(KeyRotation { alg }),
    }?;
    out.list(&list, |l| &l.keys)
}

fn audit(api: &dyn AdminApi, out: Output, command: AuditCmd) -> Result<(), String> {
    let AuditCmd::List {
        action,
        target,
        since,
        until,
        limit,
        cursor,
    } = command;
    let page = api.audit(&AuditQuery {
        cursor,
        limit,
        target,
        action,
        since,
        until,
    })?;
    out.list(&page, |p| &p.events)?;
    if let (false, Some(next)) = (out.json, &page.next_cursor) {
        println!("(older events: --cursor {next})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::sample;

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let out = table(
            &["NAME", "ID"],
            vec![
                vec!["a".to_owned(), "1".to_owned()],
                vec!["longer".to_owned(), String::new()],
            ]
            .into_iter(),
        );
        assert_eq!(out, "NAME    ID\na       1\nlonger\n");
    }

    #[test]
    fn delete_and_update_send_the_version_just_read() {
        let api = sample();
        api.state().clients[0].version = 7;
        let human = Output { json: false };
        run(
            &api,
            human,
            Command::Clients(ClientsCmd::Update(ClientUpdate {
                client_id: "c-billing-0001".into(),
                name: None,
                grant_types: Vec::new(),
                scopes: vec!["write".into()],
                redirect_uris: Vec::new(),
                audiences: Vec::new(),
                ttl: None,
                disable: true,
                enable: false,
            })),
        )
        .expect("update");
        let updated = api.state().clients[0].clone();
        assert_eq!(updated.scopes, ["write"]);
        assert!(updated.disabled);
        assert_eq!(updated.version, 8);
        run(
            &api,
            human,
            Command::Clients(ClientsCmd::Delete {
                client_id: "c-billing-0001".into(),
            }),
        )
        .expect("delete");
        assert!(api
            .state()
            .clients
            .iter()
            .all(|c| c.client_id != "c-billing-0001"));
    }

    #[test]
    fn a_server_failure_becomes_the_one_line_error() {
        let api = sample();
        let err = run(
            &api,
            Output { json: true },
            Command::Clients(ClientsCmd::Get {
                client_id: "nope".into(),
            }),
        )
        .expect_err("not found");
        assert_eq!(err, "404 not_found: not found");
    }

    #[test]
    fn grant_type_names_are_the_api_names() {
        assert_eq!(
            parse_grant("authorization_code"),
            Ok(GrantType::AuthorizationCode)
        );
        assert!(parse_grant("magic").is_err());
    }
}
