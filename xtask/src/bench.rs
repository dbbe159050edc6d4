//! `cargo xtask bench` and `cargo xtask soak`: the builds the load runs need, then the Node
//! runners in `bench/` (`run.mjs` holds the scenario table, `soak.mjs` the books check).

use crate::tools::{apt_install_missing, cargo_bin, ensure_cargo_tool, run};
use crate::wasm::{build_release, build_wasm, build_worker};
use crate::workspace::Workspace;
use crate::Result;

/// oha, the fixed-rate load generator, at a pinned version (1.16 builds with rustc ≥ 1.88).
const OHA_VERSION: &str = "1.16.0";

/// Benchmarks against the peers (`bench/`); extra arguments go to `bench/run.mjs`.
pub fn bench(ws: &Workspace, extra: &[String]) -> Result {
    apt_install_missing("wrk", "wrk")?;
    ensure_cargo_tool(ws, "oha", "oha", OHA_VERSION, &["--locked"])?;
    if !ws.path("bench/node_modules/.package-lock.json").exists() {
        println!("==> npm ci (bench peers)");
        run(ws
            .command("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(ws.path("bench")))?;
    }
    println!("==> building the release wasm");
    build_wasm(ws)?;
    println!("==> building the bench wasm (release + the CPU probe) into edge/build-probe");
    build_worker(ws, "build-probe", &["--features", "probe"])?;
    println!("==> building the floor worker (bench/floor)");
    build_release(ws, "bench/floor", "build", &[])?;
    run(ws
        .command("node")
        .arg("bench/run.mjs")
        .args(extra)
        .env("BENCH_OHA", cargo_bin("oha")))
}

/// 60 s of mixed load against a fresh local worker, then the books are checked (`bench/soak.mjs`).
pub fn soak(ws: &Workspace, extra: &[String]) -> Result {
    println!("==> building the wasm worker");
    build_wasm(ws)?;
    run(ws.command("node").arg("bench/soak.mjs").args(extra))
}
