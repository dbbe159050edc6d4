//! The Portcullis task runner: one place that says how to set up, run, build, test and bench.
//!
//! `cargo xtask dev` installs whatever is missing and serves the worker locally with a demo
//! client; `cargo xtask test` installs whatever is missing and runs every test. Both are
//! idempotent: installed tools are checked by version and skipped.
//!
//! This file owns the command line: the [`TASKS`] table is what `cargo xtask <task>` runs and
//! what `cargo xtask help` (or an unknown task) lists. A new task is one row here and its
//! function in the module that owns that work. Every task works on the workspace found at run
//! time from the current directory ([`workspace`]).

mod bench;
mod check;
mod deploy;
mod dev;
mod fuzz;
mod setup;
mod tools;
mod wasm;
mod workspace;

use std::env;
use std::process::ExitCode;

use crate::workspace::Workspace;

type Result<T = ()> = std::result::Result<T, String>;

/// One `cargo xtask <name>` task.
struct Task {
    name: &'static str,
    /// What it takes after its name, as the help shows it ("" for nothing).
    args: &'static str,
    /// One line for the help.
    help: &'static str,
    /// What is installed before it runs.
    needs: Needs,
    run: fn(&Workspace, &[String]) -> Result,
}

/// What a task needs installed (each step skips what is already there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Nothing beyond cargo.
    Nothing,
    /// The build and serving tools: rustup pieces, pinned cargo tools, npm packages, `.dev.vars`.
    /// No root.
    Build,
    /// The build tools plus the Debian packages the tests drive (tmux, Chromium).
    Tests,
}

impl Needs {
    fn install(self, ws: &Workspace) -> Result {
        match self {
            Needs::Nothing => Ok(()),
            Needs::Build => setup::setup_build(ws),
            Needs::Tests => setup::setup_tests(ws),
        }
    }
}

/// Every task, in the order the help lists them.
const TASKS: &[Task] = &[
    Task {
        name: "dev",
        args: "",
        help: "set up, build and serve the worker on 127.0.0.1:8787 with a demo client",
        needs: Needs::Build,
        run: |ws, _| dev::dev(ws),
    },
    Task {
        name: "test",
        args: "",
        help: "set up and run every test (format, lints, unit, end-to-end)",
        needs: Needs::Tests,
        run: |ws, _| check::test(ws),
    },
    Task {
        name: "bench",
        args: "[run.mjs options]",
        help: "build the release wasm and benchmark it against the peers; a full run writes BENCHMARKS.md",
        needs: Needs::Build,
        run: bench::bench,
    },
    Task {
        name: "fuzz",
        args: "[seconds]",
        help: "run every cargo-fuzz target for a bounded time (default 30 s each)",
        needs: Needs::Nothing,
        run: fuzz::fuzz,
    },
    Task {
        name: "soak",
        args: "[soak.mjs options]",
        help: "60 s of mixed load at 64 connections against the local worker, then check the books",
        needs: Needs::Build,
        run: bench::soak,
    },
    Task {
        name: "deploy",
        args: "--issuer URL | --dry-run",
        help: "deploy to Cloudflare: KV namespace, secrets when absent, ISSUER, wrangler deploy",
        needs: Needs::Build,
        run: deploy::deploy,
    },
    Task {
        name: "setup",
        args: "",
        help: "install the toolchain pieces only",
        needs: Needs::Tests,
        run: |_, _| Ok(()),
    },
    Task {
        name: "build",
        args: "",
        help: "build the release wasm (wrangler's build command)",
        needs: Needs::Build,
        run: |ws, _| wasm::build_wasm(ws),
    },
];

/// The help, from [`TASKS`].
fn usage() -> String {
    let shown = |t: &Task| {
        if t.args.is_empty() {
            t.name.to_owned()
        } else {
            format!("{} {}", t.name, t.args)
        }
    };
    let rows: Vec<(String, &str)> = TASKS
        .iter()
        .map(|t| (shown(t), t.help))
        .chain([("help".to_owned(), "this list")])
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let lines: Vec<String> = rows
        .iter()
        .map(|(name, help)| format!("  {name:width$}  {help}\n"))
        .collect();
    format!(
        "usage: cargo xtask <task> [arguments]\n\n{}",
        lines.concat()
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    if matches!(name.as_str(), "help" | "-h" | "--help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some(task) = TASKS.iter().find(|t| t.name == name) else {
        eprint!("xtask: unknown task `{name}`\n\n{}", usage());
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    if task.args.is_empty() && !rest.is_empty() {
        eprintln!("xtask {name}: takes no arguments (got {})", rest.join(" "));
        return ExitCode::from(2);
    }
    match Workspace::from_current_dir()
        .and_then(|ws| task.needs.install(&ws).and_then(|()| (task.run)(&ws, rest)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_are_unique_and_not_help() {
        for (i, task) in TASKS.iter().enumerate() {
            assert_ne!(task.name, "help");
            assert!(
                TASKS[i + 1..].iter().all(|t| t.name != task.name),
                "{} twice",
                task.name
            );
        }
    }

    #[test]
    fn the_help_lists_every_task_on_one_line() {
        let text = usage();
        for task in TASKS {
            let lines = text
                .lines()
                .filter(|l| l.trim_start().starts_with(&format!("{} ", task.name)))
                .count();
            assert_eq!(lines, 1, "{}", task.name);
            assert!(!task.help.contains('\n'), "{}", task.name);
        }
    }

    #[test]
    fn only_the_test_tasks_install_debian_packages() {
        let needs = |name: &str| TASKS.iter().find(|t| t.name == name).unwrap().needs;
        for name in ["dev", "build", "bench", "soak"] {
            assert_eq!(needs(name), Needs::Build, "{name}");
        }
        assert_eq!(needs("test"), Needs::Tests);
    }

    #[test]
    fn the_help_states_the_numbers_the_tasks_use() {
        let help = |name: &str| TASKS.iter().find(|t| t.name == name).unwrap().help;
        assert!(help("dev").contains(&format!("127.0.0.1:{}", dev::DEV_PORT)));
        assert!(help("fuzz").contains(&format!("default {} s", fuzz::FUZZ_SECONDS)));
    }
}
