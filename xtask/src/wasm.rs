//! The release wasm builds: a worker crate through `worker-build` with the locally installed
//! tools, then our own wasm-opt pass for size.

use crate::tools::{cargo_bin, run};
use crate::workspace::Workspace;
use crate::Result;

/// wasm-opt's arguments for the release wasm. worker-build's own wasm-opt step is off
/// (`edge/Cargo.toml`) because it appends `--debuginfo`, which keeps the 300 kB name section;
/// the features are the ones worker-build enables (what workerd runs; newer encodings must not
/// be emitted before it supports them).
const WASM_OPT_ARGS: &[&str] = &[
    "-Oz",
    "--strip-debug",
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-reference-types",
    "--enable-exception-handling",
];

/// Builds the release wasm of the worker crate in `krate` and its JS shim into
/// `<krate>/<out_dir>/` with `worker-build --release` and the locally installed tools (it would
/// otherwise download them); `cargo_args` go to `cargo build`. Then optimises the wasm for size.
pub fn build_release(ws: &Workspace, krate: &str, out_dir: &str, cargo_args: &[&str]) -> Result {
    let bin = |p: &str| ws.path("node_modules/.bin").join(p);
    run(ws
        .command(cargo_bin("worker-build"))
        .args(["--release", "--out-dir", out_dir, "--"])
        .args(cargo_args)
        .current_dir(ws.path(krate))
        .env("WASM_BINDGEN_BIN", cargo_bin("wasm-bindgen"))
        .env("ESBUILD_BIN", bin("esbuild")))?;
    let wasm = ws.path(krate).join(out_dir).join("index_bg.wasm");
    run(ws
        .command(bin("wasm-opt"))
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .args(WASM_OPT_ARGS))
}

/// Builds the release wasm and its JS shim into `edge/build/` (wrangler's build command).
pub fn build_wasm(ws: &Workspace) -> Result {
    build_worker(ws, "build", &[])
}

/// Builds the Portcullis worker into `edge/<out_dir>/`: the release wasm and worker-build's
/// module, renamed `portcullis.mjs`, under the hand-written entry `edge/entry.mjs` as
/// `index.js` (the gateway keeps each request in JavaScript; everything else goes on to the
/// workers-rs handlers).
pub fn build_worker(ws: &Workspace, out_dir: &str, cargo_args: &[&str]) -> Result {
    build_release(ws, "edge", out_dir, cargo_args)?;
    let out = ws.path("edge").join(out_dir);
    let err = |e: std::io::Error| format!("installing edge/entry.mjs in edge/{out_dir}: {e}");
    std::fs::rename(out.join("index.js"), out.join("portcullis.mjs")).map_err(err)?;
    std::fs::copy(ws.path("edge/entry.mjs"), out.join("index.js")).map_err(err)?;
    Ok(())
}
