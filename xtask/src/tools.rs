//! Running programs and installing the pinned ones: `run` and `output` for any command, cargo
//! tools at a pinned version, Debian packages when their binary is missing.

use std::env;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::workspace::Workspace;
use crate::Result;

/// Runs `cmd` to the end; an error names the command and its exit status.
pub fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// What `cmd` prints on stdout when it succeeds.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where `cargo install` puts `name`.
pub fn cargo_bin(name: &str) -> PathBuf {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

/// Installs `krate` at `version` with `cargo install` (plus `extra` arguments) unless `bin`
/// already reports that version.
pub fn ensure_cargo_tool(
    ws: &Workspace,
    krate: &str,
    bin: &str,
    version: &str,
    extra: &[&str],
) -> Result {
    let have = output(Command::new(cargo_bin(bin)).arg("--version")).unwrap_or_default();
    if have.split_whitespace().any(|w| w == version) {
        return Ok(());
    }
    println!("==> installing {krate} {version}");
    run(ws
        .command("cargo")
        .args(["install", krate, "--version", version, "--force"])
        .args(extra))
}

/// Installs Debian package `package` when `binary` is not on the PATH.
pub fn apt_install_missing(binary: &str, package: &str) -> Result {
    let present = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    println!("==> installing {package} (apt)");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(["install", "-y", "-qq", package]))
}
