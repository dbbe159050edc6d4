//! `portcullis`: the Portcullis operator terminal app, and a CLI over the admin API for scripts.
//!
//! Without a subcommand it opens the interactive app; with one (`portcullis clients list`) it
//! prints the answer (a table, or the API's JSON with `--json`) and exits 0, or prints a
//! one-line error on stderr and exits 1 (2 for a usage error). The server comes from `--url` or
//! `PORTCULLIS_URL`, and plain `http://` is refused off loopback without `--insecure`
//! (`server.rs`); the admin token only from `PORTCULLIS_ADMIN_TOKEN` or a hidden prompt —
//! never an argument, never written anywhere.

mod app;
mod cli;
#[cfg(test)]
mod cli_tests;
mod client;
mod config;
mod describe;
mod effects;
mod form;
mod local;
mod oauth;
mod server;
#[cfg(test)]
mod testing;
mod tui;
#[cfg(test)]
mod update_tests;
mod view;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::client::{Api, Http};
use crate::server::ServerUrl;

/// The Portcullis operator app.
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about,
    after_help = "Without a command, opens the interactive app. The admin token comes from \
                  PORTCULLIS_ADMIN_TOKEN or, on a terminal, a hidden prompt; never an argument \
                  (token, decode, completions and man need none).\n\n\
                  Exit status: 0 done; 1 the server refused, could not be reached, or (decode) \
                  the token is not usable now; 2 a usage error or a refused --url."
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
    /// Allow plain http:// to a host that is not loopback (the admin token then crosses the
    /// network unencrypted).
    #[arg(long, global = true)]
    insecure: bool,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Every subcommand: those over the admin API, and those that need no admin token.
#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Admin(cli::Command),
    #[command(flatten)]
    Local(local::Local),
}

/// The whole CLI as clap defines it, with each group's examples (`portcullis clients --help`)
/// also shown under the subcommands they use (`portcullis clients create --help`).
fn definition() -> clap::Command {
    let mut cli = Cli::command();
    let groups: Vec<String> = cli
        .get_subcommands()
        .filter(|g| g.has_subcommands())
        .map(|g| g.get_name().to_owned())
        .collect();
    for group in groups {
        cli = cli.mut_subcommand(&group, |g| {
            let examples = examples(
                &g.get_after_help()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            );
            let leaves: Vec<String> = g
                .get_subcommands()
                .map(|l| l.get_name().to_owned())
                .collect();
            leaves.iter().fold(g, |g, leaf| {
                let mine: Vec<&String> = examples
                    .iter()
                    .filter(|e| command_words(e).get(1) == Some(leaf))
                    .collect();
                if mine.is_empty() {
                    return g;
                }
                let text: Vec<String> = mine.iter().map(|e| format!("  {e}")).collect();
                g.mut_subcommand(leaf, |l| {
                    l.after_help(format!("Examples:\n{}", text.join("\n")))
                })
            })
        });
    }
    cli
}

/// The example lines of a help text's `Examples:` block, each on one line (a trailing `\`
/// continues a line).
fn examples(help: &str) -> Vec<String> {
    let block = help
        .split_once("Examples:\n")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or_default())
        .unwrap_or_default();
    let pieces: Vec<&str> = block.split("\\\n").map(str::trim).collect();
    pieces
        .join(" ")
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The subcommand words of an example: what follows `portcullis` in it (the last command of
/// a pipeline that runs it), options left out.
fn command_words(example: &str) -> Vec<String> {
    example
        .split(" | ")
        .filter(|part| part.contains("portcullis "))
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .skip_while(|w| *w != "portcullis")
        .skip(1)
        .filter(|w| !w.starts_with('-'))
        .take(2)
        .map(ToOwned::to_owned)
        .collect()
}

/// Parses `words` with [`definition`].
fn parse(words: &[OsString]) -> Result<Cli, clap::Error> {
    let matches = definition().try_get_matches_from(words)?;
    Cli::from_arg_matches(&matches)
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

/// A usage error as one line: clap's message (up to its usage block) joined, without its
/// `error: ` prefix, or, for a command given without its subcommand, the subcommands it takes.
fn usage_error(e: &clap::Error, words: &[OsString]) -> String {
    if matches!(
        e.kind(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let mut command = definition();
        let mut path = vec!["portcullis".to_owned()];
        for word in words.iter().skip(1) {
            if let Some(sub) = command.find_subcommand(word).cloned() {
                path.push(word.to_string_lossy().into_owned());
                command = sub;
            }
        }
        let subs: Vec<&str> = command
            .get_subcommands()
            .map(clap::Command::get_name)
            .collect();
        return format!("{} needs a subcommand: {}", path.join(" "), subs.join(", "));
    }
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    format!(
        "{} (see --help)",
        message.strip_prefix("error: ").unwrap_or(&message)
    )
}

fn main() -> ExitCode {
    let words: Vec<OsString> = std::env::args_os().collect();
    let parsed = match parse(&words) {
        Ok(parsed) => parsed,
        // --help and --version are not errors: clap prints them to stdout.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("portcullis: {}", usage_error(&e, &words));
            return ExitCode::from(2);
        }
    };
    // Before the token is even asked for: it must not go where it would travel in clear.
    let server = match ServerUrl::parse(&parsed.url, parsed.insecure) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("portcullis: {e}");
            return ExitCode::from(2);
        }
    };
    let http = Http::new(&server);
    let result = match parsed.command {
        Some(Command::Local(command)) => local::run(&http, parsed.json, command, definition()),
        admin => admin_token().and_then(|token| {
            let api = Api::over(http, token);
            match admin {
                Some(Command::Admin(command)) => {
                    cli::run(&api, cli::Output { json: parsed.json }, command)
                }
                _ => tui::run(
                    &(Arc::new(api) as Arc<dyn client::AdminApi>),
                    server.as_str(),
                )
                .map_err(|e| e.to_string()),
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {}", e.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(line: &str) -> String {
        let words: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        let e = Cli::try_parse_from(&words).expect_err("a usage error");
        assert!(e.use_stderr());
        usage_error(&e, &words)
    }

    #[test]
    fn usage_errors_are_one_line() {
        for line in [
            "portcullis clients",
            "portcullis clients frobnicate",
            "portcullis clients get",
            "portcullis --bogus clients list",
            "portcullis grants list --user",
            "portcullis keys rotate --alg HS256",
        ] {
            let line = usage(line);
            assert!(!line.contains('\n'), "{line}: {line}");
            assert!(!line.starts_with("error"), "{line}: {line}");
        }
        assert_eq!(
            usage("portcullis --json routes"),
            "portcullis routes needs a subcommand: list, set"
        );
        // With the server given (as PORTCULLIS_URL gives it), clap words it otherwise.
        assert_eq!(
            usage("portcullis --url http://x issuers"),
            "portcullis issuers needs a subcommand: list, set"
        );
        assert!(usage("portcullis users get").contains("<ID>"));
    }

    #[test]
    fn ids_may_start_with_a_hyphen() {
        let parsed = |line: &str| {
            let cli = Cli::try_parse_from(line.split_whitespace()).expect("parses");
            format!("{:?}", cli.command)
        };
        assert!(parsed("portcullis clients get -pQx").contains(r#"client_id: "-pQx""#));
        assert!(parsed("portcullis --json grants revoke -1.x").contains(r#"id: "-1.x""#));
        let filters = parsed("portcullis grants list --user -u --client -c");
        assert!(
            filters.contains(r#"user: Some("-u"), client: Some("-c")"#),
            "{filters}"
        );
        let audit = parsed("portcullis audit list --target -C-mha --cursor -9");
        assert!(
            audit.contains(r#"target: Some("-C-mha")"#) && audit.contains(r#"cursor: Some("-9")"#),
            "{audit}"
        );
        assert!(parsed("portcullis keys revoke -k").contains(r#""-k""#));
        assert!(parsed("portcullis users signout -u").contains(r#""-u""#));
        let help = Cli::try_parse_from(["portcullis", "clients", "get", "--help"]);
        assert!(matches!(help, Err(e) if e.kind() == ErrorKind::DisplayHelp));
    }

    #[test]
    fn every_subcommand_shows_examples_that_parse() {
        let cli = definition();
        let leaves = cli.get_subcommands().flat_map(|sub| {
            let children: Vec<&clap::Command> = sub.get_subcommands().collect();
            if children.is_empty() {
                vec![(sub.get_name().to_owned(), sub)]
            } else {
                children
                    .into_iter()
                    .map(|c| (format!("{} {}", sub.get_name(), c.get_name()), c))
                    .collect()
            }
        });
        for (name, leaf) in leaves {
            let help = leaf
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            let examples = examples(&help);
            assert!(
                !examples.is_empty(),
                "`portcullis {name} --help` shows no example"
            );
            for example in examples {
                let depth = name.split(' ').count();
                assert_eq!(
                    command_words(&example)[..depth].join(" "),
                    name,
                    "{example}"
                );
                // The command as typed: of a pipeline the part that runs portcullis, without
                // a comment or a redirection.
                let part = example
                    .split(" | ")
                    .filter(|p| p.contains("portcullis "))
                    .last()
                    .unwrap_or_default();
                let line = part.split(" #").next().unwrap_or_default();
                let words: Vec<String> = shlex::split(line)
                    .unwrap_or_else(|| panic!("{example} splits as a shell would"))
                    .into_iter()
                    .skip_while(|w| w != "portcullis")
                    .take_while(|w| w != ">")
                    .map(|w| w.replace('…', "x"))
                    .collect();
                if let Err(e) = parse(&words.iter().map(OsString::from).collect::<Vec<_>>()) {
                    assert!(!e.use_stderr(), "{example}: {e}");
                }
            }
        }
    }

    #[test]
    fn completions_and_the_manual_come_from_the_parser() {
        let mut out = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "portcullis",
            &mut out,
        );
        let bash = String::from_utf8(out).expect("utf-8");
        for word in ["clients", "rotate-secret", "tail", "decode", "completions"] {
            assert!(bash.contains(word), "{word}");
        }
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut man)
            .expect("renders");
        let man = String::from_utf8(man).expect("utf-8");
        assert!(
            man.starts_with(".ie") || man.contains(".TH portcullis"),
            "{man}"
        );
        assert!(
            man.contains("Exit status"),
            "the exit codes are in the manual"
        );
    }

    #[test]
    fn help_and_version_are_not_usage_errors() {
        for args in [["portcullis", "--help"], ["portcullis", "--version"]] {
            let e = Cli::try_parse_from(args).expect_err("clap answers");
            assert!(!e.use_stderr());
        }
    }
}
