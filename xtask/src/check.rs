//! `cargo xtask test`: every check, in the order a failure is cheapest to see — format, lints,
//! licenses, native tests, the fuzz regressions, the wasm build (as a deploy's dry run), the
//! end-to-end suite in workerd, and schemathesis against the admin API.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::deploy;
use crate::tools::{ensure_cargo_tool, output, run};
use crate::workspace::Workspace;
use crate::Result;

const CARGO_DENY_VERSION: &str = "0.20.2";
/// The pinned schemathesis, from the Python package index, in a virtualenv under `.tools/`.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Format, lints, native tests (the fuzz crate's regression inputs too), the wasm build and the
/// end-to-end suite.
pub fn test(ws: &Workspace) -> Result {
    let cargo = |args: &[&str]| run(ws.command("cargo").args(args));
    println!("==> cargo fmt --check");
    cargo(&["fmt", "--all", "--check"])?;
    println!("==> cargo clippy");
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&[
        "clippy",
        "-p",
        "portcullis-edge",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ])?;
    println!("==> cargo deny: licenses, duplicate versions, sources (deny.toml)");
    ensure_cargo_tool(
        ws,
        "cargo-deny",
        "cargo-deny",
        CARGO_DENY_VERSION,
        &["--locked"],
    )?;
    cargo(&["deny", "check", "licenses", "bans", "sources"])?;
    println!("==> cargo test (native)");
    cargo(&["test", "--workspace"])?;
    println!("==> the fuzz crate: lints, smoke tests and every kept input in fuzz/regressions/");
    cargo(&[
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--manifest-path", "fuzz/Cargo.toml"])?;
    println!("==> building the wasm worker as a deploy would (wrangler deploy --dry-run)");
    let started = Instant::now();
    deploy::dry_run(ws, &deploy::Wrangler::of(ws))?;
    println!("    built in {:.1}s", started.elapsed().as_secs_f64());
    println!("==> building the portcullis CLI for the end-to-end tests");
    cargo(&["build", "-p", "portcullis"])?;
    println!("==> end-to-end tests in workerd");
    run(ws
        .command("node")
        .args(["--test", "--test-concurrency=1", "tests/"]))?;
    println!("==> schemathesis against the admin API's OpenAPI document");
    let schemathesis = ensure_schemathesis(ws)?;
    run(ws
        .command("node")
        .arg("tests/schemathesis.mjs")
        .arg(schemathesis))
}

/// Installs schemathesis into `.tools/venv` unless that version is already there.
fn ensure_schemathesis(ws: &Workspace) -> Result<PathBuf> {
    let venv = ws.path(".tools/venv");
    let bin = venv.join("bin/schemathesis");
    let have = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if !have.contains(SCHEMATHESIS_VERSION) {
        println!("==> installing schemathesis {SCHEMATHESIS_VERSION} (pip, .tools/venv)");
        run(ws.command("python3").arg("-m").arg("venv").arg(&venv))?;
        run(ws.command(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
        ]))?;
    }
    Ok(bin)
}
