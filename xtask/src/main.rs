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
    run: fn(&Workspace, &[String]) -> Result,
}

/// Every task, in the order the help lists them.
const TASKS: &[Task] = &[
    Task {
        name: "dev",
        args: "",
        help: "set up, build and serve the worker on 127.0.0.1:8787 with a demo client",
        run: |ws, _| setup::setup(ws).and_then(|()| dev::dev(ws)),
    },
    Task {
        name: "test",
        args: "",
        help: "set up and run every test (format, lints, unit, end-to-end)",
        run: |ws, _| setup::setup(ws).and_then(|()| check::test(ws)),
    },
    Task {
        name: "bench",
        args: "[run.mjs options]",
        help: "build the release wasm and benchmark it against the peers; a full run writes BENCHMARKS.md",
        run: |ws, args| setup::setup(ws).and_then(|()| bench::bench(ws, args)),
    },
    Task {
        name: "fuzz",
        args: "[seconds]",
        help: "run every cargo-fuzz target for a bounded time (default 30 s each)",
        run: fuzz::fuzz,
    },
    Task {
        name: "soak",
        args: "[soak.mjs options]",
        help: "60 s of mixed load at 64 connections against the local worker, then check the books",
        run: |ws, args| setup::setup(ws).and_then(|()| bench::soak(ws, args)),
    },
    Task {
        name: "setup",
        args: "",
        help: "install the toolchain pieces only",
        run: |ws, _| setup::setup(ws),
    },
    Task {
        name: "build",
        args: "",
        help: "build the release wasm (wrangler's build command)",
        run: |ws, _| setup::setup_build(ws).and_then(|()| wasm::build_wasm(ws)),
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
    match Workspace::from_current_dir().and_then(|ws| (task.run)(&ws, rest)) {
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
    fn the_help_states_the_numbers_the_tasks_use() {
        let help = |name: &str| TASKS.iter().find(|t| t.name == name).unwrap().help;
        assert!(help("dev").contains(&format!("127.0.0.1:{}", dev::DEV_PORT)));
        assert!(help("fuzz").contains(&format!("default {} s", fuzz::FUZZ_SECONDS)));
    }
}
