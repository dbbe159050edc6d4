//! The non-interactive subcommands for scripts and CI: `portcullis clients list`, …
//!
//! `--json` prints the admin API's own JSON (the shared `portcullis_core::api` types, so the
//! field names are the API's); otherwise a table or a labelled record. Errors are one line on
//! stderr and a non-zero exit (see `main.rs`). The tables the server stores whole (routes,
//! trusted issuers) are read with `list` and replaced with `set`, which sends a JSON body from a
//! file or stdin as `PUT` does. IDs are random base64url and may start with `-`, so every ID
//! argument takes a leading hyphen as part of its value.

use std::io::{self, BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use portcullis_core::api::{
    AuditEvent, AuditQuery, ClientCreated, ClientList, ClientPatch, GrantList, GrantType,
    IssuerTable, IssuersBody, KeyAlg, KeyRotation, NewClient, NewScope, NewUser, Profile,
    RegistrationPolicy, RouteTable, RoutesBody, ScopeList, SecretRotation, TokenAuthMethod,
    UserList, UserPatch,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::{AdminApi, ApiResult, GrantFilter};
use crate::config;
use crate::describe::Describe;

/// What to do without the interface.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// OAuth clients.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis clients list
  portcullis clients create --name billing --grant-type client_credentials --scope read
  portcullis clients create --name web --public --grant-type authorization_code \\
      --grant-type refresh_token --redirect-uri https://app.example.com/cb --scope read
  portcullis clients update 9xQ2… --scope read --scope write
  portcullis clients rotate-secret 9xQ2… --previous-expires-in 3600
  portcullis --json clients get 9xQ2… | jq .scopes
  portcullis clients delete 9xQ2…                 # its tokens stop being issued at once"
    )]
    Clients(ClientsCmd),
    /// The scope catalogue.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis scopes list
  portcullis scopes create read --description \"Read your invoices\"
  portcullis scopes get read
  portcullis scopes delete read"
    )]
    Scopes(ScopesCmd),
    /// Users of the password and authorization-code grants.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis users list
  portcullis users get 7hG…
  printf %s \"$PASSWORD\" | portcullis users create alice
  portcullis users update 7hG… --password        # the new one from stdin
  portcullis users update 7hG… --disable         # also revokes their grants
  portcullis users signout 7hG…
  portcullis users delete 7hG…"
    )]
    Users(UsersCmd),
    /// Token signing keys.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis keys list
  portcullis keys rotate --alg ES256
  portcullis keys revoke F49k…                    # a compromise: its tokens fail within seconds"
    )]
    Keys(KeysCmd),
    /// The audit log.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis audit list --action client.update --limit 20
  portcullis audit list --target 9xQ2… --since 1767225600
  portcullis audit tail --action admin.auth_failed
  portcullis --json audit tail | jq -c 'select(.action | startswith(\"client.\"))' "
    )]
    Audit(AuditCmd),
    /// The gateway's route table.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis --json routes list > routes.json     # edit, then:
  portcullis routes set routes.json               # refused if changed meanwhile"
    )]
    Routes(TableCmd),
    /// What users have authorised clients to do.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis grants list --user 7hG…
  portcullis grants revoke 3kP…"
    )]
    Grants(GrantsCmd),
    /// Writes the worker's configuration as one JSON document: scopes, clients, users, routes
    /// and trusted issuers (never a secret, a password or a server-assigned ID).
    #[command(after_help = "\
Examples:
  portcullis export > staging.json
  portcullis export -o prod.json")]
    Export {
        /// Write to FILE instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Makes the worker match a document `export` wrote: creates, changes (each with If-Match:
    /// an edit made meanwhile is refused) and, with --prune, deletes what the file lacks.
    /// Clients are matched by name, users by username, scopes by name.
    #[command(after_help = "\
Examples:
  portcullis apply staging.json --dry-run          # print the changes; change nothing
  portcullis apply staging.json --secrets-out new-secrets.json
  PORTCULLIS_URL=https://auth.example.com portcullis apply staging.json --prune

The secrets of clients it creates are printed once, or written to the --secrets-out file
(created with mode 0600; it must not exist). Users it creates get a password nobody knows:
set one with `portcullis users update ID --password`.")]
    Apply {
        file: PathBuf,
        /// Print the changes and make none.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the clients, users and scopes the file lacks.
        #[arg(long)]
        prune: bool,
        /// Write new clients' secrets to this file (mode 0600) instead of printing them.
        #[arg(long)]
        secrets_out: Option<PathBuf>,
    },
    /// The external issuers whose tokens the gateway accepts.
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis --json issuers list > issuers.json   # edit, then:
  portcullis issuers set issuers.json"
    )]
    Issuers(TableCmd),
    /// The policy for clients nobody registered in advance (RFC 7591 registration, client ID
    /// metadata documents).
    #[command(
        subcommand,
        after_help = "\
Examples:
  portcullis --json registration get > policy.json   # edit, then:
  portcullis registration set policy.json"
    )]
    Registration(RegistrationCmd),
}

/// The registration policy: one document, read and replaced whole.
#[derive(Debug, Subcommand)]
pub enum RegistrationCmd {
    /// Prints the policy (`--json`: the API's body, with its version).
    Get,
    /// Replaces the policy with a JSON body (`{"enabled": true, "scopes": ["mcp"]}`) read from
    /// FILE, or stdin when FILE is absent or `-`. A `version` in it is sent as `If-Match`.
    Set { file: Option<PathBuf> },
}

/// The verbs of a table the server stores and replaces whole (routes, trusted issuers).
#[derive(Debug, Subcommand)]
pub enum TableCmd {
    /// Prints the table (`--json`: the API's body, with its version).
    #[command(visible_alias = "get")]
    List,
    /// Replaces the whole table with a JSON body (`{"routes": […]}` or `{"issuers": […]}`)
    /// read from FILE, or stdin when FILE is absent or `-`. A `version` in it (as `--json
    /// list` prints) is sent as `If-Match`, so a table changed meanwhile is refused.
    Set { file: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum GrantsCmd {
    /// Every grant, or only those of one user or one client.
    List {
        /// Only this user's grants (a user ID).
        #[arg(long, allow_hyphen_values = true)]
        user: Option<String>,
        /// Only the grants given to this client (a client ID).
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
    },
    /// Revokes a grant and every token issued under it.
    Revoke {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsCmd {
    /// Every client.
    List,
    /// One client.
    Get {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Registers a client; prints its secret once.
    Create(ClientArgs),
    /// Changes the given fields of a client (the others stay).
    Update(ClientUpdate),
    /// Deletes a client: its tokens stop being issued at once.
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Issues a new secret (printed once); the old one works until it expires.
    RotateSecret {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Seconds the previous secret keeps working (default 86400; 0 = stop now).
        #[arg(long)]
        previous_expires_in: Option<u64>,
    },
}

/// The fields `clients update` can change.
#[derive(Debug, Args)]
pub struct ClientUpdate {
    #[arg(allow_hyphen_values = true)]
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
    /// Replaces where RP-Initiated Logout may return (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The algorithm of the client's ID tokens (`RS256`, `ES256` or `EdDSA`).
    #[arg(long, value_parser = parse_any_alg)]
    id_token_alg: Option<KeyAlg>,
    #[arg(long, conflicts_with = "enable")]
    disable: bool,
    #[arg(long)]
    enable: bool,
    /// `client_secret_basic` or `client_secret_post` (a client cannot gain or lose its secret).
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<TokenAuthMethod>,
    /// Replaces a `private_key_jwt` client's keys with the JWK Set in this file.
    #[arg(long, value_parser = read_jwks, conflicts_with = "jwks_uri")]
    jwks: Option<serde_json::Value>,
    /// Replaces where a `private_key_jwt` client publishes its keys.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Whether every access token must be DPoP-bound (`true` or `false`).
    #[arg(long)]
    dpop_bound: Option<bool>,
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
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` (no secret:
    /// give `--jwks` or `--jwks-uri`) or `none` (a public client).
    #[arg(long, value_parser = parse_auth_method)]
    auth_method: Option<TokenAuthMethod>,
    /// A file holding the client's public keys as a JWK Set (`private_key_jwt`).
    #[arg(long, value_parser = read_jwks, conflicts_with = "jwks_uri")]
    jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys (`private_key_jwt`).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Every access token of the client must be DPoP-bound (RFC 9449).
    #[arg(long)]
    dpop_bound: bool,
    /// Where RP-Initiated Logout may return (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The algorithm of the client's ID tokens (`RS256`, the default, `ES256` or `EdDSA`).
    #[arg(long, value_parser = parse_any_alg)]
    id_token_alg: Option<KeyAlg>,
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
    /// One user.
    Get {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Creates a user; the password is read from stdin (or prompted for on a terminal).
    Create {
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Changes a user's password (read like `create`), state or profile (`""` removes a
    /// profile field).
    Update {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        password: bool,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    Delete {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Signs a user out everywhere: every browser session of theirs ends at once (their
    /// grants stay; `update --password` or `--disable` revokes those too).
    Signout {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// A user's OpenID Connect profile (released to applications by the `profile` and `email`
/// scopes).
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Whether the email address has been verified (`true` or `false`).
    #[arg(long)]
    email_verified: Option<bool>,
    /// A BCP 47 language tag (`en`, `fr-CA`).
    #[arg(long)]
    locale: Option<String>,
    /// An https URL of the user's picture.
    #[arg(long)]
    picture: Option<String>,
}

impl ProfileArgs {
    fn into_profile(self) -> Profile {
        Profile {
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            email: self.email,
            email_verified: self.email_verified,
            locale: self.locale,
            picture: self.picture,
        }
    }
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
    /// Revokes a key outright (a compromise): it leaves the JWKS and every token it signed
    /// fails within seconds; a revoked `current` key is replaced by the `next` one.
    Revoke {
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// One page of events, newest first.
    List {
        #[arg(long)]
        action: Option<String>,
        /// A record's ID, which may start with a hyphen.
        #[arg(long, allow_hyphen_values = true)]
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
        #[arg(long, allow_hyphen_values = true)]
        cursor: Option<String>,
    },
    /// Follows the log like `tail -f`: the last ten events, then each new one as it is written
    /// (`--json`: one JSON object a line). Stops on Ctrl-C.
    Tail {
        #[arg(long)]
        action: Option<String>,
        /// A record's ID, which may start with a hyphen.
        #[arg(long, allow_hyphen_values = true)]
        target: Option<String>,
        /// Seconds between two looks at the log.
        #[arg(long, default_value_t = 2)]
        every: u64,
    },
}

fn parse_alg(s: &str) -> Result<KeyAlg, String> {
    KeyAlg::parse(s)
        .filter(|a| a.signs_access_tokens())
        .ok_or_else(|| format!("unknown algorithm {s} (EdDSA or ES256)"))
}

fn parse_any_alg(s: &str) -> Result<KeyAlg, String> {
    KeyAlg::parse(s).ok_or_else(|| format!("unknown algorithm {s} (RS256, ES256 or EdDSA)"))
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    wire_name(s, "grant type")
}

fn parse_auth_method(s: &str) -> Result<TokenAuthMethod, String> {
    wire_name(s, "authentication method")
}

/// A value by its wire name (what the admin API's JSON spells).
fn wire_name<T: DeserializeOwned>(s: &str, what: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("unknown {what} {s}"))
}

/// The JSON document in the file `path` (a JWK Set; the server checks its keys).
fn read_jwks(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))
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
        Command::Routes(c) => whole::<RouteTable>(api, out, c),
        Command::Issuers(c) => whole::<IssuerTable>(api, out, c),
        Command::Registration(RegistrationCmd::Get) => out.record(&api.get_registration()?),
        Command::Registration(RegistrationCmd::Set { file }) => {
            let policy = replace(
                file.as_deref(),
                || Ok(api.get_registration()?.version),
                |version, body: &RegistrationPolicy| api.put_registration(version, body),
            )?;
            out.record(&policy)
        }
        Command::Grants(GrantsCmd::List { user, client }) => {
            let grants = api.list_grants(&GrantFilter { user, client })?;
            out.list(&GrantList { grants }, |l| &l.grants)
        }
        Command::Grants(GrantsCmd::Revoke { id }) => {
            api.revoke_grant(&id)?;
            out.done(&format!("revoked grant {id}"))
        }
        Command::Export { output } => export(api, output.as_deref()),
        Command::Apply {
            file,
            dry_run,
            prune,
            secrets_out,
        } => apply(api, out, &file, dry_run, prune, secrets_out.as_deref()),
    }
}

fn export(api: &dyn AdminApi, output: Option<&Path>) -> Result<(), String> {
    let config = config::export(api)?;
    let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())? + "\n";
    if let Some(path) = output {
        return std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()));
    }
    print!("{text}");
    Ok(())
}

fn apply(
    api: &dyn AdminApi,
    out: Output,
    file: &Path,
    dry_run: bool,
    prune: bool,
    secrets_out: Option<&Path>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let wanted: config::Config =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let changes = config::plan(api, &wanted, prune)?;
    if changes.is_empty() {
        return out.done(&format!(
            "nothing to change: the worker matches {}",
            file.display()
        ));
    }
    for change in &changes {
        println!("{change}");
    }
    if dry_run {
        println!("(dry run: nothing changed)");
        return Ok(());
    }
    let mut secrets_file = secrets_out.map(create_private).transpose()?;
    let applied = config::apply(api, changes);
    if !applied.secrets.is_empty() {
        if let (Some(file), Some(path)) = (&mut secrets_file, secrets_out) {
            let text = serde_json::to_string_pretty(&applied.secrets).map_err(|e| e.to_string())?;
            io::Write::write_all(file, text.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("new clients' secrets written to {}", path.display());
        } else {
            for s in &applied.secrets {
                println!(
                    "client {} ({}): client_secret {}",
                    s.name, s.client_id, s.client_secret
                );
            }
            println!("(secrets shown this once: store them now)");
        }
    }
    for username in &applied.passwordless {
        println!(
            "user {username} has no usable password yet: portcullis users update ID --password"
        );
    }
    match applied.failed {
        Some(e) => Err(format!(
            "stopped after {} change(s): {e} (read the worker again and re-run apply)",
            applied.made
        )),
        None => Ok(()),
    }
}

/// A new file only its owner can read or write; refused when it exists.
fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
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
                token_endpoint_auth_method: args.auth_method,
                jwks: args.jwks,
                jwks_uri: args.jwks_uri,
                dpop_bound_access_tokens: args.dpop_bound,
                post_logout_redirect_uris: args.post_logout_redirect_uris,
                id_token_signed_response_alg: args.id_token_alg,
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
                post_logout_redirect_uris: nonempty(u.post_logout_redirect_uris),
                id_token_signed_response_alg: u.id_token_alg,
                disabled: (u.disable || u.enable).then_some(u.disable),
                token_endpoint_auth_method: u.auth_method,
                jwks: u.jwks,
                jwks_uri: u.jwks_uri,
                dpop_bound_access_tokens: u.dpop_bound,
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
        UsersCmd::Get { id } => out.record(&api.get_user(&id)?),
        UsersCmd::Create { username, profile } => {
            let password = read_password()?;
            let new = NewUser::with_profile(username, password, profile.into_profile());
            out.record(&api.create_user(&new)?)
        }
        UsersCmd::Update {
            id,
            password,
            disable,
            enable,
            profile,
        } => {
            let patch = UserPatch {
                password: if password {
                    Some(read_password()?)
                } else {
                    None
                },
                disabled: (disable || enable).then_some(disable),
                ..UserPatch::of_profile(profile.into_profile())
            };
            let current = api.get_user(&id)?;
            out.record(&api.update_user(&id, current.version, &patch)?)
        }
        UsersCmd::Delete { id } => {
            let current = api.get_user(&id)?;
            api.delete_user(&id, current.version)?;
            out.done(&format!("deleted user {}", current.username))
        }
        UsersCmd::Signout { id } => {
            api.sign_out_user(&id)?;
            out.done(&format!("signed user {id} out everywhere"))
        }
    }
}

/// A table the server stores and replaces whole, read and written through the admin API.
trait Whole: Serialize + Sized {
    /// The `PUT` body.
    type Body: DeserializeOwned;
    type Row: Describe;
    fn get(api: &dyn AdminApi) -> ApiResult<Self>;
    fn put(api: &dyn AdminApi, version: u64, body: &Self::Body) -> ApiResult<Self>;
    fn rows(&self) -> &Vec<Self::Row>;
    fn version(&self) -> u64;
}

impl Whole for RouteTable {
    type Body = RoutesBody;
    type Row = portcullis_core::api::Route;

    fn get(api: &dyn AdminApi) -> ApiResult<Self> {
        api.get_routes()
    }

    fn put(api: &dyn AdminApi, version: u64, body: &RoutesBody) -> ApiResult<Self> {
        api.put_routes(version, body)
    }

    fn rows(&self) -> &Vec<Self::Row> {
        &self.routes
    }

    fn version(&self) -> u64 {
        self.version
    }
}

impl Whole for IssuerTable {
    type Body = IssuersBody;
    type Row = portcullis_core::api::TrustedIssuer;

    fn get(api: &dyn AdminApi) -> ApiResult<Self> {
        api.get_issuers()
    }

    fn put(api: &dyn AdminApi, version: u64, body: &IssuersBody) -> ApiResult<Self> {
        api.put_issuers(version, body)
    }

    fn rows(&self) -> &Vec<Self::Row> {
        &self.issuers
    }

    fn version(&self) -> u64 {
        self.version
    }
}

/// `list` or `set` on a whole table; prints the table as it stands afterwards.
fn whole<W: Whole>(api: &dyn AdminApi, out: Output, command: TableCmd) -> Result<(), String> {
    let table = match command {
        TableCmd::List => W::get(api)?,
        TableCmd::Set { file } => replace(
            file.as_deref(),
            || Ok(W::get(api)?.version()),
            |version, body: &W::Body| W::put(api, version, body),
        )?,
    };
    out.list(&table, W::rows)?;
    if !out.json {
        println!("(version {})", table.version());
    }
    Ok(())
}

/// Replaces a document the server stores whole with the body in `file` (see [`read_body`]),
/// under the `version` the body names, else the one `current` reads (`If-Match`).
fn replace<B: DeserializeOwned, T>(
    file: Option<&Path>,
    current: impl FnOnce() -> ApiResult<u64>,
    put: impl FnOnce(u64, &B) -> ApiResult<T>,
) -> Result<T, String> {
    let (version, body) = read_body::<B>(file)?;
    let version = match version {
        Some(v) => v,
        None => current()?,
    };
    Ok(put(version, &body)?)
}

/// A `PUT` body from `file` (stdin when `None` or `-`), and the `version` it names, if any (a
/// table printed by `--json list` carries `version` and `updated_at`; both are set aside).
fn read_body<B: DeserializeOwned>(file: Option<&Path>) -> Result<(Option<u64>, B), String> {
    let (name, text) = match file {
        Some(path) if path != Path::new("-") => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        _ => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("stdin: {e}"))?;
            ("stdin".to_owned(), text)
        }
    };
    parse_body(&text).map_err(|e| format!("{name}: {e}"))
}

fn parse_body<B: DeserializeOwned>(text: &str) -> Result<(Option<u64>, B), String> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut version = None;
    if let Some(object) = value.as_object_mut() {
        object.remove("updated_at");
        if let Some(v) = object.remove("version") {
            version = Some(v.as_u64().ok_or("version must be a whole number")?);
        }
    }
    let body = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok((version, body))
}

fn keys(api: &dyn AdminApi, out: Output, command: &KeysCmd) -> Result<(), String> {
    let list = match command {
        KeysCmd::List => api.list_keys(),
        KeysCmd::Rotate { alg } => api.rotate_keys(KeyRotation { alg: *alg }),
        KeysCmd::Revoke { kid } => api.revoke_key(kid),
    }?;
    out.list(&list, |l| &l.keys)
}

fn audit(api: &dyn AdminApi, out: Output, command: AuditCmd) -> Result<(), String> {
    let (action, target, since, until, limit, cursor) = match command {
        AuditCmd::List {
            action,
            target,
            since,
            until,
            limit,
            cursor,
        } => (action, target, since, until, limit, cursor),
        AuditCmd::Tail {
            action,
            target,
            every,
        } => return tail(api, out, Follower::new(action, target), every),
    };
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

/// Events `audit tail` prints at the start, as `tail` does.
const TAIL_START: usize = 10;

/// Pages `audit tail` reads back at most in one look, when many events came at once.
const TAIL_PAGES: usize = 10;

/// What `audit tail` has seen of the log: its filters and the newest event's ID (IDs order
/// the log).
#[derive(Debug)]
struct Follower {
    action: Option<String>,
    target: Option<String>,
    newest: Option<String>,
}

impl Follower {
    fn new(action: Option<String>, target: Option<String>) -> Self {
        Self {
            action,
            target,
            newest: None,
        }
    }

    /// The events written since the last look, oldest first: at the first look, the last
    /// [`TAIL_START`]; later, every newer one, reading back up to [`TAIL_PAGES`] pages.
    fn look(&mut self, api: &dyn AdminApi) -> ApiResult<Vec<AuditEvent>> {
        let mut fresh = Vec::new();
        let mut cursor = None;
        for _ in 0..TAIL_PAGES {
            let page = api.audit(&AuditQuery {
                cursor: cursor.take(),
                limit: Some(50),
                target: self.target.clone(),
                action: self.action.clone(),
                since: None,
                until: None,
            })?;
            let count = page.events.len();
            let before = fresh.len();
            fresh.extend(
                page.events
                    .into_iter()
                    .take_while(|e| self.newest.as_ref().is_none_or(|newest| e.id > *newest)),
            );
            // The first look reads one page; a later one reads on while whole pages are new.
            if self.newest.is_none() || fresh.len() - before < count {
                break;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if self.newest.is_none() {
            fresh.truncate(TAIL_START);
        }
        if let Some(first) = fresh.first() {
            self.newest = Some(first.id.clone());
        }
        fresh.reverse();
        Ok(fresh)
    }
}

/// `audit tail`: looks every `every` seconds and prints what is new; a failed look is reported
/// on stderr and tried again.
fn tail(api: &dyn AdminApi, out: Output, mut follower: Follower, every: u64) -> Result<(), String> {
    let events = follower.look(api)?;
    if !out.json {
        println!("{}", AuditEvent::HEADERS.join("  "));
    }
    let print = |events: Vec<AuditEvent>| -> Result<(), String> {
        for event in events {
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string(&event).map_err(|e| e.to_string())?
                );
            } else {
                println!("{}", event.row().join("  "));
            }
        }
        io::Write::flush(&mut io::stdout()).map_err(|e| e.to_string())
    };
    print(events)?;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(every.max(1)));
        match follower.look(api) {
            Ok(events) => print(events)?,
            Err(e) => eprintln!("portcullis: {e} (trying again)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_table_body_sets_its_version_aside_for_if_match() {
        let (version, body): (_, RoutesBody) =
            parse_body(r#"{"routes": [{"path": "/a"}], "version": 3, "updated_at": 9}"#)
                .expect("parses");
        assert_eq!(version, Some(3));
        assert_eq!(body.routes[0].path, "/a");
        let (version, _): (_, IssuersBody) = parse_body(r#"{"issuers": []}"#).expect("parses");
        assert_eq!(version, None);
        let typo = parse_body::<RoutesBody>(r#"{"rutes": []}"#).expect_err("unknown field");
        assert!(typo.contains("rutes"), "{typo}");
        assert!(parse_body::<RoutesBody>(r#"{"routes": [], "version": "x"}"#).is_err());
    }

    #[test]
    fn audit_tail_starts_with_the_last_ten_then_prints_each_new_event_once_in_order() {
        let api = crate::testing::sample();
        crate::testing::history(&api, 8);
        let mut follower = Follower::new(None, None);
        let first = follower.look(&api).expect("a look");
        assert_eq!(first.len(), TAIL_START);
        assert!(first.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
        assert!(follower.look(&api).expect("a look").is_empty());
        // More than two pages at once: every one, in order, none twice.
        crate::testing::history(&api, 60);
        let next = follower.look(&api).expect("a look");
        assert_eq!(next.len(), 120);
        assert!(next.windows(2).all(|w| w[0].id < w[1].id));
        assert!(next[0].id > first[TAIL_START - 1].id);
        assert!(follower.look(&api).expect("a look").is_empty());
    }

    #[test]
    fn audit_tail_follows_only_the_filtered_events() {
        let api = crate::testing::sample();
        let mut follower = Follower::new(Some("scope.delete".into()), None);
        let _ = follower.look(&api).expect("a look");
        crate::testing::history(&api, 3);
        let next = follower.look(&api).expect("a look");
        assert_eq!(next.len(), 3);
        assert!(next.iter().all(|e| e.action == "scope.delete"));
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
