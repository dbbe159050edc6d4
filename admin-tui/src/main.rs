//! `portcullis`: the Portcullis operator terminal app, and a CLI over the admin API for scripts.
//!
//! Without a subcommand it opens the interactive app; with one (`portcullis clients list`) it
//! prints the answer (a table, or the API's JSON with `--json`) and exits 0, or prints a
//! one-line error on stderr and exits 1. The server comes from `--url` or `PORTCULLIS_URL`; the
//! admin token only from `PORTCULLIS_ADMIN_TOKEN` or a hidden prompt — never an argument, never
//! written anywhere.

mod app;
mod cli;
mod client;
mod describe;
mod effects;
#[cfg(test)]
mod fake;
mod form;
mod tui;
#[cfg(test)]
mod update_tests;
mod view;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::client::HttpApi;

/// The Portcullis operator app.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about,
    after_help = "Without a command, opens the interactive app. The admin token comes from \
                  PORTCULLIS_ADMIN_TOKEN or, on a terminal, a hidden prompt; never an argument."
)]
struct Cli {
    /// The Portcullis server.
    #[arg(
        long,
        env = "PORTCULLIS_URL",
        default_value = "http://127.0.0.1:8787",
        global = true
    )]
    url: String,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<cli::Command>,
}

/// The admin token: the environment, or a hidden prompt when there is a terminal to ask on.
fn admin_token() -> Result<String, String> {
    if let Ok(token) = std::env::var("PORTCULLIS_ADMIN_TOKEN") {
        if !token.trim().is_empty() {
            return Ok(token.trim().to_owned());
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "no admin token: set PORTCULLIS_ADMIN_TOKEN (stdin is not a terminal, so no prompt)"
                .into(),
        );
    }
    let token = rpassword::prompt_password("Admin token: ").map_err(|e| e.to_string())?;
    if token.trim().is_empty() {
        return Err("no admin token given".into());
    }
    Ok(token.trim().to_owned())
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let result = admin_token().and_then(|token| {
        let api = HttpApi::new(&args.url, token);
        match args.command {
            Some(command) => cli::run(&api, cli::Output { json: args.json }, command),
            None => tui::run(&(Arc::new(api) as Arc<dyn client::AdminApi>), &args.url)
                .map_err(|e| e.to_string()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {}", e.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
