//! `cargo xtask fuzz`: every cargo-fuzz target for a bounded time, and a crash's input kept as a
//! regression test.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::tools::{ensure_cargo_tool, output, run};
use crate::workspace::Workspace;
use crate::Result;

const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Seconds each fuzz target runs by default.
pub const FUZZ_SECONDS: u64 = 30;

/// Runs every target of `fuzz/` for `seconds` each (libFuzzer's `-max_total_time`), starting
/// from its kept inputs in `fuzz/regressions/<target>/`. cargo-fuzz wants nightly flags;
/// `RUSTC_BOOTSTRAP=1` lets the stable compiler accept them. No sanitizer: our crates forbid
/// `unsafe`, so what the fuzzer hunts is panics, overflows and hangs, which debug assertions
/// and libFuzzer's timeout catch. A crash leaves its input in `fuzz/artifacts/<target>/`; it is
/// copied into `fuzz/regressions/<target>/`, which the fuzz crate's tests replay, and the task
/// fails.
pub fn fuzz(ws: &Workspace, args: &[String]) -> Result {
    let seconds = args.first().map_or(Ok(FUZZ_SECONDS), |s| {
        s.parse::<u64>()
            .map_err(|_| format!("`{s}` is not a number of seconds"))
    })?;
    ensure_cargo_tool(ws, "cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION, &[])?;
    let dir = ws.path("fuzz");
    let cargo_fuzz = || {
        let mut cmd = Command::new("cargo");
        cmd.arg("fuzz")
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&dir);
        cmd
    };
    let targets = output(cargo_fuzz().arg("list")).ok_or("`cargo fuzz list` failed")?;
    for target in targets.lines().filter(|t| !t.is_empty()) {
        println!("==> fuzzing {target} for {seconds} s");
        // New inputs go to the first corpus folder; the kept ones seed the run.
        let corpus = dir.join("corpus").join(target);
        let kept = dir.join("regressions").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let ran = run(cargo_fuzz()
            .args([
                "run",
                "--sanitizer",
                "none",
                "--release",
                "--debug-assertions",
                target,
            ])
            .arg(&corpus)
            .arg(&kept)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-timeout=10",
                "-rss_limit_mb=1024",
                "-print_final_stats=1",
            ]));
        let kept_now = keep_new_crashes(&dir.join("artifacts").join(target), &kept)?;
        if !kept_now.is_empty() {
            return Err(format!(
                "{target} crashed; copied {} into fuzz/regressions/{target}/. Fix the bug: `cargo test --manifest-path fuzz/Cargo.toml` replays it until then; commit the input",
                kept_now.join(", ")
            ));
        }
        ran?;
    }
    Ok(())
}

/// Copies every input libFuzzer left in `artifacts` (crashes, timeouts, out-of-memory) that
/// `kept` does not hold yet; answers their names. libFuzzer names them by content hash.
fn keep_new_crashes(artifacts: &Path, kept: &Path) -> Result<Vec<String>> {
    let Ok(entries) = fs::read_dir(artifacts) else {
        return Ok(Vec::new());
    };
    let mut copied = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = kept.join(&name);
        if entry.path().is_file() && !target.exists() {
            fs::create_dir_all(kept).map_err(|e| format!("{}: {e}", kept.display()))?;
            fs::copy(entry.path(), &target).map_err(|e| format!("{name}: {e}"))?;
            copied.push(name);
        }
    }
    copied.sort();
    Ok(copied)
}
