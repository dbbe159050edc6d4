//! Setting up a fresh clone: the wasm target and rustup components, the pinned cargo tools, the
//! npm packages, the apt packages the tests drive, and `.dev.vars` with fresh secrets. Every
//! step checks first and skips what is already there at the right version.

use std::fs;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::tools::{apt_install_missing, ensure_cargo_tool, output, run};
use crate::workspace::Workspace;
use crate::Result;

/// Pinned tool versions (wasm-bindgen's comes from Cargo.lock).
const WORKER_BUILD_VERSION: &str = "0.8.7";

/// Installs what the build and the tests need; skips what is already there at the right
/// version. The Debian packages need root (`apt-get`), so only the test tasks ask for them.
pub fn setup_tests(ws: &Workspace) -> Result {
    setup_build(ws)?;
    // tmux drives the terminal app in tests/tui.test.mjs.
    apt_install_missing("tmux", "tmux")?;
    // Debian's Chromium drives the browser test in tests/grants.test.mjs (playwright-core
    // downloads no browser of its own).
    apt_install_missing("chromium", "chromium")
}

/// Installs what building and serving the worker need (so that `npx wrangler dev`, whose build
/// command is `cargo xtask build`, works on a fresh clone too), and writes `.dev.vars`.
pub fn setup_build(ws: &Workspace) -> Result {
    let targets =
        output(ws.command("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        println!("==> adding the wasm32 target");
        run(ws
            .command("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    for component in ["clippy", "rustfmt"] {
        let have = output(
            ws.command("rustup")
                .args(["component", "list", "--installed"]),
        )
        .unwrap_or_default();
        if !have.lines().any(|l| l.starts_with(component)) {
            run(ws.command("rustup").args(["component", "add", component]))?;
        }
    }
    ensure_cargo_tool(
        ws,
        "wasm-bindgen-cli",
        "wasm-bindgen",
        &locked_version(ws, "wasm-bindgen")?,
        &[],
    )?;
    ensure_cargo_tool(
        ws,
        "worker-build",
        "worker-build",
        WORKER_BUILD_VERSION,
        &[],
    )?;
    let fresh = match (
        fs::metadata(ws.path("node_modules/.package-lock.json")).and_then(|m| m.modified()),
        fs::metadata(ws.path("package-lock.json")).and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    };
    if !fresh {
        println!("==> npm ci");
        run(ws.command("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    }
    ensure_dev_vars(ws)
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(ws: &Workspace, package: &str) -> Result<String> {
    let lock = fs::read_to_string(ws.path("Cargo.lock")).map_err(|e| e.to_string())?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or(format!("{package} not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').ok_or("bad Cargo.lock")? + start;
    Ok(lock[start..end].to_owned())
}

/// `n` random bytes in base64 (URL-safe without padding, or standard).
pub fn random_b64(n: usize, url_safe: bool) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).map_err(|e| format!("random source: {e}"))?;
    Ok(if url_safe {
        URL_SAFE_NO_PAD.encode(buf)
    } else {
        STANDARD.encode(buf)
    })
}

/// Writes `.dev.vars` with fresh secrets when it is absent.
fn ensure_dev_vars(ws: &Workspace) -> Result {
    let path = ws.path(".dev.vars");
    if path.exists() {
        return Ok(());
    }
    let admin = random_b64(32, true)?;
    let kek = random_b64(32, false)?;
    fs::write(
        &path,
        format!("ADMIN_TOKEN=\"{admin}\"\nKEY_ENCRYPTION_KEY=\"{kek}\"\n"),
    )
    .map_err(|e| e.to_string())?;
    println!("==> wrote .dev.vars with a new ADMIN_TOKEN and KEY_ENCRYPTION_KEY");
    Ok(())
}

/// The value of `name` in `.dev.vars`.
pub fn dev_var(ws: &Workspace, name: &str) -> Result<String> {
    let text = fs::read_to_string(ws.path(".dev.vars")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .ok_or(format!("{name} missing from .dev.vars"))
}
