//! The subcommands that need no admin token: `token` and `decode` (the OAuth side, see
//! `oauth.rs`), and `completions` and `man`, generated from the same clap definitions as the
//! parser, so they cannot drift from it.

use std::io::{self, Read};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use clap_complete::Shell;

use crate::client::Transport;
use crate::oauth::{self, TokenRequest};

/// The subcommands that run without the admin token.
#[derive(Debug, Subcommand)]
pub enum Local {
    /// Gets an access token with the client-credentials grant and prints it.
    #[command(after_help = "\
Examples:
  PORTCULLIS_CLIENT_SECRET=… portcullis token 9xQ2… --scope read
  printf %s \"$SECRET\" | portcullis token 9xQ2… --scope read --resource https://api.example.com/mcp
  portcullis token 9xQ2… --scope read --json | jq .expires_in

The secret comes from PORTCULLIS_CLIENT_SECRET or stdin (a hidden prompt on a terminal),
never an argument.")]
    Token(TokenArgs),
    /// Shows a token's header and claims, checks its signature against the server's JWKS and
    /// says when it expires; exits 1 when the signature does not verify or the token expired.
    #[command(after_help = "\
Examples:
  portcullis decode eyJhbGciOi…
  portcullis token 9xQ2… | portcullis decode -")]
    Decode {
        /// The token, or `-` to read it from stdin (which keeps it out of the shell history).
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Prints the shell completion script.
    #[command(after_help = "\
Examples:
  portcullis completions bash > ~/.local/share/bash-completion/completions/portcullis
  portcullis completions zsh > \"${fpath[1]}/_portcullis\"
  portcullis completions fish > ~/.config/fish/completions/portcullis.fish")]
    Completions { shell: Shell },
    /// Prints the manual page (roff).
    #[command(after_help = "\
Examples:
  portcullis man | man -l -
  portcullis man > /usr/local/share/man/man1/portcullis.1")]
    Man,
}

/// What `token` asks for.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The client's ID.
    #[arg(allow_hyphen_values = true)]
    client_id: String,
    /// Scopes, space-separated as one argument, or repeated.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A resource the token is for (RFC 8707); repeat for several.
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// A public client: no secret is read.
    #[arg(long)]
    public: bool,
}

/// Runs one token-free subcommand against `transport`; `command` is the whole CLI's definition
/// (for completions and the manual).
pub fn run(
    transport: &dyn Transport,
    json: bool,
    local: Local,
    mut command: clap::Command,
) -> Result<(), String> {
    match local {
        Local::Token(args) => {
            let secret = if args.public {
                None
            } else {
                Some(oauth::client_secret()?)
            };
            let request = TokenRequest {
                client_id: args.client_id,
                secret,
                scope: (!args.scopes.is_empty()).then(|| args.scopes.join(" ")),
                resources: args.resources,
            };
            let answer = oauth::request_token(transport, &request)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?
                );
            } else {
                println!("{}", answer["access_token"].as_str().unwrap_or_default());
            }
            Ok(())
        }
        Local::Decode { token } => {
            let token = if token == "-" {
                let mut text = String::new();
                io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| format!("stdin: {e}"))?;
                text
            } else {
                token
            };
            let decoded = oauth::decode(transport, &token)?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            if json {
                let out = serde_json::json!({
                    "header": decoded.header,
                    "claims": decoded.claims,
                    "signature_valid": decoded.signature.is_valid(),
                    "expires_in": decoded.expires_in(now),
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", decoded.report(now));
            }
            if decoded.usable(now) {
                Ok(())
            } else {
                Err("the token is not usable now (see above)".into())
            }
        }
        Local::Completions { shell } => {
            let name = command.get_name().to_owned();
            clap_complete::generate(shell, &mut command, name, &mut io::stdout());
            Ok(())
        }
        Local::Man => clap_mangen::Man::new(command)
            .render(&mut io::stdout())
            .map_err(|e| e.to_string()),
    }
}
