//! The Portcullis task runner: one place that says how to set up, run, build and test.
//!
//! `cargo xtask dev` installs whatever is missing and serves the worker locally with a demo
//! client; `cargo xtask test` installs whatever is missing and runs every test. Both are
//! idempotent: installed tools are checked by version and skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// Pinned tool versions (wasm-bindgen's comes from Cargo.lock).
const WORKER_BUILD_VERSION: &str = "0.8.7";
const DEV_PORT: u16 = 8787;
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const CARGO_DENY_VERSION: &str = "0.20.2";
/// Seconds each fuzz target runs by default.
const FUZZ_SECONDS: u64 = 30;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let task = args.first().map_or("help", String::as_str);
    let result = match task {
        "setup" => setup(),
        "build" => setup_build().and_then(|()| build_wasm()),
        "dev" => setup().and_then(|()| dev()),
        "test" => setup().and_then(|()| test()),
        "bench" => setup().and_then(|()| bench(&args[1..])),
        "fuzz" => fuzz(args.get(1).map(String::as_str)),
        "soak" => setup().and_then(|()| soak(&args[1..])),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  dev    set up, build and serve the worker on 127.0.0.1:{DEV_PORT} with a demo client\n  test   set up and run every test (format, lints, unit, end-to-end)\n  bench  build the release wasm and benchmark it against the peers; writes BENCHMARKS.md\n  fuzz   run every cargo-fuzz target for a bounded time (default {FUZZ_SECONDS} s each): `cargo xtask fuzz 60`\n  soak   60 s of mixed load at 64 connections against the local worker, then check the books\n  setup  install the toolchain pieces only\n  build  build the release wasm (wrangler's build command)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd
        .current_dir_if_unset()
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

trait InRoot {
    fn current_dir_if_unset(&mut self) -> &mut Self;
}

impl InRoot for Command {
    fn current_dir_if_unset(&mut self) -> &mut Self {
        if self.get_current_dir().is_none() {
            self.current_dir(root());
        }
        self
    }
}

/// The wasm-bindgen version Cargo.lock pins.
fn locked_version(package: &str) -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock")).map_err(|e| e.to_string())?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or(format!("{package} not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').ok_or("bad Cargo.lock")? + start;
    Ok(lock[start..end].to_owned())
}

/// Installs `krate` at `version` with `cargo install` (plus `extra` arguments) unless `bin`
/// already reports that version.
fn ensure_cargo_tool(krate: &str, bin: &str, version: &str, extra: &[&str]) -> Result {
    let have = output(Command::new(cargo_bin(bin)).arg("--version")).unwrap_or_default();
    if have.split_whitespace().any(|w| w == version) {
        return Ok(());
    }
    println!("==> installing {krate} {version}");
    run(Command::new("cargo")
        .args(["install", krate, "--version", version, "--force"])
        .args(extra))
}

/// Installs what the build and tests need; skips what is already there at the right version.
fn setup() -> Result {
    setup_build()?;
    // tmux drives the terminal app in tests/tui.test.mjs.
    apt_install_missing("tmux", "tmux")?;
    // Debian's Chromium drives the browser test in tests/grants.test.mjs (playwright-core
    // downloads no browser of its own).
    apt_install_missing("chromium", "chromium")
}

/// Installs what building and serving the worker need (so that `npx wrangler dev`, whose build
/// command is `cargo xtask build`, works on a fresh clone too), and writes `.dev.vars`.
fn setup_build() -> Result {
    let targets =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        println!("==> adding the wasm32 target");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    for component in ["clippy", "rustfmt"] {
        let have = output(Command::new("rustup").args(["component", "list", "--installed"]))
            .unwrap_or_default();
        if !have.lines().any(|l| l.starts_with(component)) {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    ensure_cargo_tool(
        "wasm-bindgen-cli",
        "wasm-bindgen",
        &locked_version("wasm-bindgen")?,
        &[],
    )?;
    ensure_cargo_tool("worker-build", "worker-build", WORKER_BUILD_VERSION, &[])?;
    let stamp = root().join("node_modules/.package-lock.json");
    let fresh = match (
        fs::metadata(&stamp).and_then(|m| m.modified()),
        fs::metadata(root().join("package-lock.json")).and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    };
    if !fresh {
        println!("==> npm ci");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    }
    ensure_dev_vars()
}

fn random_b64(n: usize, url_safe: bool) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).map_err(|e| format!("random source: {e}"))?;
    Ok(if url_safe {
        URL_SAFE_NO_PAD.encode(buf)
    } else {
        STANDARD.encode(buf)
    })
}

/// Writes `.dev.vars` with fresh secrets when it is absent.
fn ensure_dev_vars() -> Result {
    let path = root().join(".dev.vars");
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

fn dev_var(name: &str) -> Result<String> {
    let text = fs::read_to_string(root().join(".dev.vars")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .ok_or(format!("{name} missing from .dev.vars"))
}

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
fn build_release(krate: &str, out_dir: &str, cargo_args: &[&str]) -> Result {
    let bin = |p: &str| root().join("node_modules/.bin").join(p);
    run(Command::new(cargo_bin("worker-build"))
        .args(["--release", "--out-dir", out_dir, "--"])
        .args(cargo_args)
        .current_dir(root().join(krate))
        .env("WASM_BINDGEN_BIN", cargo_bin("wasm-bindgen"))
        .env("ESBUILD_BIN", bin("esbuild")))?;
    let wasm = root().join(krate).join(out_dir).join("index_bg.wasm");
    run(Command::new(bin("wasm-opt"))
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm)
        .args(WASM_OPT_ARGS))
}

/// Builds the release wasm and its JS shim into `edge/build/` (wrangler's build command).
fn build_wasm() -> Result {
    build_release("edge", "build", &[])
}

fn wrangler_dev(port: u16) -> Result<Child> {
    Command::new(root().join("node_modules/.bin/wrangler"))
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .current_dir(root())
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .spawn()
        .map_err(|e| format!("starting wrangler: {e}"))
}

/// One JSON request to the local worker; answers the status and the parsed body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if let Some(token) = bearer {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = match body {
        Some(json) => agent.run(
            req.header("content-type", "application/json")
                .body(json.to_string())
                .map_err(|e| e.to_string())?,
        ),
        None => agent.run(req.body(()).map_err(|e| e.to_string())?),
    }
    .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = resp.status().as_u16();
    let value = resp.into_body().read_json().unwrap_or(Value::Null);
    Ok((status, value))
}

/// Creates the demo scopes and client (once; the credentials are kept in `.wrangler/`).
fn provision_demo(port: u16) -> Result<(String, String)> {
    let saved = root().join(".wrangler/demo-client");
    let admin = dev_var("ADMIN_TOKEN")?;
    if let Some((id, secret)) = fs::read_to_string(&saved).ok().and_then(|t| {
        t.trim()
            .split_once(':')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    }) {
        let (status, _) = http(
            port,
            "GET",
            &format!("/admin/v1/clients/{id}"),
            Some(&admin),
            None,
        )?;
        if status == 200 {
            return Ok((id, secret));
        }
    }
    for (name, description) in [("read", "Read your data"), ("write", "Change your data")] {
        let scope = json!({"name": name, "description": description});
        let (status, body) = http(port, "POST", "/admin/v1/scopes", Some(&admin), Some(&scope))?;
        if status != 201 && status != 409 {
            return Err(format!("creating scope {name}: {status} {body}"));
        }
    }
    let client = json!({
        "name": format!("demo-{}", random_b64(3, true)?),
        "grant_types": ["client_credentials"],
        "scopes": ["read", "write"],
        "redirect_uris": [],
        "public": false,
    });
    let (status, body) = http(
        port,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        Some(&client),
    )?;
    let (Some(id), Some(secret)) = (body["client_id"].as_str(), body["client_secret"].as_str())
    else {
        return Err(format!("creating the demo client: {status} {body}"));
    };
    fs::write(&saved, format!("{id}:{secret}")).map_err(|e| e.to_string())?;
    Ok((id.to_owned(), secret.to_owned()))
}

fn wait_ready(port: u16, child: &mut Child, limit: Duration) -> Result {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("wrangler exited early ({status})"));
        }
        if http(
            port,
            "GET",
            "/.well-known/oauth-authorization-server",
            None,
            None,
        )
        .is_ok_and(|(s, _)| s == 200)
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err("the worker did not come up in time".into())
}

/// Serves the worker with `wrangler dev` and prints how to get a token.
fn dev() -> Result {
    let mut child = wrangler_dev(DEV_PORT)?;
    if let Err(e) = wait_ready(DEV_PORT, &mut child, Duration::from_mins(10)) {
        let _ = child.kill();
        return Err(e);
    }
    match provision_demo(DEV_PORT) {
        Ok((id, secret)) => println!(
            "\n==> Portcullis is running on http://127.0.0.1:{DEV_PORT}\n\n    demo client: {id}\n\n    get a token:\n      curl -s -u '{id}:{secret}' -d grant_type=client_credentials -d scope=read http://127.0.0.1:{DEV_PORT}/oauth/token\n\n    verify it:\n      curl -s -X POST -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{DEV_PORT}/verify\n\n    admin API: Authorization: Bearer <ADMIN_TOKEN from .dev.vars>\n    stop with Ctrl-C\n"
        ),
        Err(e) => eprintln!("could not provision the demo client: {e}"),
    }
    child.wait().map(|_| ()).map_err(|e| e.to_string())
}

/// Format, lints, native tests (the fuzz crate's regression inputs too), the wasm build and the
/// end-to-end suite.
fn test() -> Result {
    println!("==> cargo fmt --check");
    run(Command::new("cargo").args(["fmt", "--all", "--check"]))?;
    println!("==> cargo clippy");
    run(Command::new("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").args([
        "clippy",
        "-p",
        "portcullis-edge",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;
    println!("==> cargo deny: licenses, duplicate versions, sources (deny.toml)");
    ensure_cargo_tool(
        "cargo-deny",
        "cargo-deny",
        CARGO_DENY_VERSION,
        &["--locked"],
    )?;
    run(Command::new("cargo").args(["deny", "check", "licenses", "bans", "sources"]))?;
    println!("==> cargo test (native)");
    run(Command::new("cargo").args(["test", "--workspace"]))?;
    println!("==> the fuzz crate: lints, smoke tests and every kept input in fuzz/regressions/");
    run(Command::new("cargo").args([
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").args(["test", "--manifest-path", "fuzz/Cargo.toml"]))?;
    println!("==> building the wasm worker");
    let started = Instant::now();
    build_wasm()?;
    println!("    built in {:.1}s", started.elapsed().as_secs_f64());
    println!("==> building the portcullis CLI for the end-to-end tests");
    run(Command::new("cargo").args(["build", "-p", "portcullis"]))?;
    println!("==> end-to-end tests in workerd");
    run(Command::new("node").args(["--test", "--test-concurrency=1", "tests/"]))?;
    println!("==> schemathesis against the admin API's OpenAPI document");
    let schemathesis = ensure_schemathesis()?;
    run(Command::new("node")
        .arg("tests/schemathesis.mjs")
        .arg(schemathesis))
}

/// The pinned schemathesis, from the Python package index, in a virtualenv under `.tools/`.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Installs schemathesis into `.tools/venv` unless that version is already there.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = root().join(".tools/venv");
    let bin = venv.join("bin/schemathesis");
    let have = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if !have.contains(SCHEMATHESIS_VERSION) {
        println!("==> installing schemathesis {SCHEMATHESIS_VERSION} (pip, .tools/venv)");
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
        ]))?;
    }
    Ok(bin)
}

/// Benchmarks against the peers (`bench/`); extra arguments go to `bench/run.mjs`.
fn bench(extra: &[String]) -> Result {
    apt_install_missing("wrk", "wrk")?;
    if !root()
        .join("bench/node_modules/.package-lock.json")
        .exists()
    {
        println!("==> npm ci (bench peers)");
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(root().join("bench")))?;
    }
    println!("==> building the release wasm");
    build_wasm()?;
    println!("==> building the bench wasm (release + the CPU probe) into edge/build-probe");
    build_release("edge", "build-probe", &["--features", "probe"])?;
    println!("==> building the floor worker (bench/floor)");
    build_release("bench/floor", "build", &[])?;
    run(Command::new("node").arg("bench/run.mjs").args(extra))
}

/// Installs Debian package `package` when `binary` is not on the PATH.
fn apt_install_missing(binary: &str, package: &str) -> Result {
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

/// Runs every target of `fuzz/` for `seconds` each (libFuzzer's `-max_total_time`), starting
/// from its kept inputs in `fuzz/regressions/<target>/`. cargo-fuzz wants nightly flags;
/// `RUSTC_BOOTSTRAP=1` lets the stable compiler accept them. No sanitizer: our crates forbid
/// `unsafe`, so what the fuzzer hunts is panics, overflows and hangs, which debug assertions
/// and libFuzzer's timeout catch. A crash leaves its input in `fuzz/artifacts/<target>/`; it is
/// copied into `fuzz/regressions/<target>/`, which the fuzz crate's tests replay, and the task
/// fails.
fn fuzz(seconds: Option<&str>) -> Result {
    let seconds = seconds.map_or(Ok(FUZZ_SECONDS), |s| {
        s.parse::<u64>()
            .map_err(|_| format!("`{s}` is not a number of seconds"))
    })?;
    ensure_cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION, &[])?;
    let dir = root().join("fuzz");
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

/// 60 s of mixed load against a fresh local worker, then the books are checked (`bench/soak.mjs`).
fn soak(extra: &[String]) -> Result {
    println!("==> building the wasm worker");
    build_wasm()?;
    run(Command::new("node").arg("bench/soak.mjs").args(extra))
}
