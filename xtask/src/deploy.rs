//! `cargo xtask deploy`: from a local run to a Cloudflare deployment in one command, and its
//! offline check.
//!
//! The deploy creates the KV namespace when `wrangler.toml` still names the local placeholder and
//! records the new id there; generates `KEY_ENCRYPTION_KEY` and `ADMIN_TOKEN` when the deployed
//! worker has no such secret (never replacing one: a new key-encryption key would make every
//! stored signing key unreadable), uploading them with the deployment and printing the admin
//! token once; and runs `wrangler deploy` with `ISSUER` set. `--dry-run` builds and validates
//! the bundle, its bindings and its Durable Object migrations without an account.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use toml_edit::{DocumentMut, Item, Value};

use crate::setup::random_b64;
use crate::tools::run;
use crate::workspace::Workspace;
use crate::Result;

/// The KV namespace id `wrangler.toml` holds for local runs, before a first deploy.
const KV_PLACEHOLDER: &str = "portcullis-local";

/// The secrets the worker needs, and how to make each: (name, random bytes, URL-safe base64).
const SECRETS: [(&str, usize, bool); 2] =
    [("KEY_ENCRYPTION_KEY", 32, false), ("ADMIN_TOKEN", 32, true)];

/// What `cargo xtask deploy` was asked.
#[derive(Debug, PartialEq, Eq)]
enum Options {
    DryRun,
    Deploy { issuer: String },
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        match args {
            [flag] if flag == "--dry-run" => Ok(Self::DryRun),
            [flag, issuer] if flag == "--issuer" => Ok(Self::Deploy {
                issuer: check_issuer(issuer)?,
            }),
            _ => Err(
                "usage: cargo xtask deploy --issuer https://auth.example.com | --dry-run".into(),
            ),
        }
    }
}

/// The issuer a deployment announces: an `https://` origin without a trailing slash, query or
/// fragment (tokens carry it as `iss`; clients compare it exactly).
fn check_issuer(issuer: &str) -> Result<String> {
    let rest = issuer
        .strip_prefix("https://")
        .ok_or(format!("the issuer {issuer} must start with https://"))?;
    if rest.is_empty() || rest.ends_with('/') || rest.contains(['?', '#', ' ']) {
        return Err(format!(
            "the issuer {issuer} must be an https:// URL without a trailing slash, query or fragment"
        ));
    }
    Ok(issuer.to_owned())
}

/// `cargo xtask deploy`.
pub fn deploy(ws: &Workspace, args: &[String]) -> Result {
    let wrangler = Wrangler::of(ws);
    match Options::parse(args)? {
        Options::DryRun => dry_run(ws, &wrangler),
        Options::Deploy { issuer } => deploy_to(ws, &wrangler, &issuer),
    }
}

/// Builds the worker as `wrangler deploy` would and validates it without an account: the
/// bundle, its bindings, and a migration for every Durable Object class.
pub fn dry_run(ws: &Workspace, wrangler: &Wrangler) -> Result {
    check_migrations(&read_config(ws)?)?;
    let outdir = ws.path("target/deploy-dry-run");
    wrangler.stream(&[
        "deploy",
        "--dry-run",
        "--outdir",
        &outdir.display().to_string(),
    ])?;
    for file in ["index.js", "index_bg.wasm"] {
        let found = fs::read_dir(&outdir)
            .map_err(|e| format!("{}: {e}", outdir.display()))?
            .filter_map(std::result::Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().ends_with(file));
        if !found {
            return Err(format!(
                "the dry run wrote no {file} to {}",
                outdir.display()
            ));
        }
    }
    Ok(())
}

fn deploy_to(ws: &Workspace, wrangler: &Wrangler, issuer: &str) -> Result {
    wrangler.capture(&["whoami"]).map_err(|e| {
        format!("{e}\nlog in first: npx wrangler login (or set CLOUDFLARE_API_TOKEN)")
    })?;
    let mut config = read_config(ws)?;
    check_migrations(&config)?;
    if kv_id(&config)? == KV_PLACEHOLDER {
        println!("==> creating the KV namespace PORTCULLIS_KV");
        let out = wrangler.capture(&["kv", "namespace", "create", "PORTCULLIS_KV"])?;
        let id = created_namespace_id(&out)
            .ok_or(format!("no namespace id in wrangler's answer:\n{out}"))?;
        set_kv_id(&mut config, &id)?;
        fs::write(ws.path("wrangler.toml"), config.to_string()).map_err(|e| e.to_string())?;
        println!("    recorded its id {id} in wrangler.toml (commit it)");
    }
    let present = existing_secrets(wrangler);
    let mut fresh = serde_json::Map::new();
    for (name, bytes, url_safe) in SECRETS {
        if !present.iter().any(|p| p == name) {
            fresh.insert(name.into(), random_b64(bytes, url_safe)?.into());
        }
    }
    let secrets_file = SecretsFile::write(ws, &fresh)?;
    let mut args = vec!["deploy", "--var"];
    let issuer_var = format!("ISSUER:{issuer}");
    args.push(&issuer_var);
    let path = secrets_file.as_ref().map(|f| f.0.display().to_string());
    if let Some(path) = &path {
        args.extend(["--secrets-file", path]);
    }
    println!("==> wrangler deploy (ISSUER {issuer})");
    wrangler.stream(&args)?;
    drop(secrets_file);
    if let Some(token) = fresh.get("ADMIN_TOKEN").and_then(|v| v.as_str()) {
        println!("\nThe admin token, shown this once (store it now):\n\n  {token}\n");
    }
    for name in fresh.keys() {
        println!("set the secret {name} (it was absent)");
    }
    println!("deployed; to go back: npx wrangler rollback");
    Ok(())
}

/// Runs the wrangler from `node_modules` (its version pinned by `package-lock.json`).
pub struct Wrangler {
    program: PathBuf,
    root: PathBuf,
}

impl Wrangler {
    /// The workspace's own wrangler.
    pub fn of(ws: &Workspace) -> Self {
        Self {
            program: ws.path("node_modules/.bin/wrangler"),
            root: ws.path(""),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .current_dir(&self.root)
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs with the output on the terminal.
    fn stream(&self, args: &[&str]) -> Result {
        run(&mut self.command(args))
    }

    /// Runs and answers what it printed on stdout.
    fn capture(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("wrangler {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "wrangler {} failed ({})",
                args.join(" "),
                out.status
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The names of the deployed worker's secrets; none when it has not been deployed yet.
fn existing_secrets(wrangler: &Wrangler) -> Vec<String> {
    let Ok(out) = wrangler.capture(&["secret", "list", "--format", "json"]) else {
        return Vec::new();
    };
    let listed: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap_or_default();
    listed
        .iter()
        .filter_map(|s| s.get("name")?.as_str().map(ToOwned::to_owned))
        .collect()
}

/// A secrets file for `wrangler deploy --secrets-file`, readable by its owner only and removed
/// when dropped.
struct SecretsFile(PathBuf);

impl SecretsFile {
    fn write(
        ws: &Workspace,
        secrets: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<Self>> {
        if secrets.is_empty() {
            return Ok(None);
        }
        let dir = ws.path("target");
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(format!("deploy-secrets-{}.json", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let text = serde_json::to_string(secrets).map_err(|e| e.to_string())?;
        file.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Some(Self(path)))
    }
}

impl Drop for SecretsFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn read_config(ws: &Workspace) -> Result<DocumentMut> {
    let path = ws.path("wrangler.toml");
    fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .parse()
        .map_err(|e| format!("wrangler.toml: {e}"))
}

/// The `PORTCULLIS_KV` entry of `[[kv_namespaces]]`.
fn kv_entry(config: &mut DocumentMut) -> Result<&mut toml_edit::Table> {
    config
        .get_mut("kv_namespaces")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|all| {
            all.iter_mut()
                .find(|t| t.get("binding").and_then(Item::as_str) == Some("PORTCULLIS_KV"))
        })
        .ok_or_else(|| "wrangler.toml has no [[kv_namespaces]] entry for PORTCULLIS_KV".into())
}

fn kv_id(config: &DocumentMut) -> Result<String> {
    kv_entry(&mut config.clone())?
        .get("id")
        .and_then(Item::as_str)
        .map(ToOwned::to_owned)
        .ok_or_else(|| "the PORTCULLIS_KV namespace has no id in wrangler.toml".into())
}

fn set_kv_id(config: &mut DocumentMut, id: &str) -> Result {
    let entry = kv_entry(config)?;
    let decor = entry
        .get("id")
        .and_then(Item::as_value)
        .map(|v| v.decor().clone());
    let mut value = Value::from(id);
    if let Some(decor) = decor {
        *value.decor_mut() = decor;
    }
    entry.insert("id", Item::Value(value));
    Ok(())
}

/// The id in `wrangler kv namespace create`'s answer: the 32 hexadecimal digits it prints in
/// the snippet to add to the configuration (JSON or TOML).
fn created_namespace_id(out: &str) -> Option<String> {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 32)
        .map(str::to_ascii_lowercase)
}

/// Every Durable Object class the worker binds has a migration that creates it, and no
/// migration tag repeats (wrangler applies each tag once, in order).
fn check_migrations(config: &DocumentMut) -> Result {
    let tables = |key: &str| -> Vec<toml_edit::Table> {
        config
            .get(key)
            .and_then(Item::as_array_of_tables)
            .map(|all| all.iter().cloned().collect())
            .unwrap_or_default()
    };
    let bound: Vec<String> = config
        .get("durable_objects")
        .and_then(|d| d.get("bindings"))
        .and_then(Item::as_array_of_tables)
        .map(|all| {
            all.iter()
                .filter_map(|b| {
                    b.get("class_name")
                        .and_then(Item::as_str)
                        .map(ToOwned::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let migrations = tables("migrations");
    let mut tags: Vec<&str> = migrations
        .iter()
        .filter_map(|m| m.get("tag").and_then(Item::as_str))
        .collect();
    let created: Vec<&str> = migrations
        .iter()
        .filter_map(|m| m.get("new_sqlite_classes").and_then(Item::as_array))
        .flat_map(|a| a.iter().filter_map(toml_edit::Value::as_str))
        .collect();
    if let Some(missing) = bound.iter().find(|c| !created.contains(&c.as_str())) {
        return Err(format!(
            "wrangler.toml binds the Durable Object class {missing}, but no [[migrations]] entry creates it"
        ));
    }
    let count = tags.len();
    tags.sort_unstable();
    tags.dedup();
    if tags.len() != count || count != migrations.len() {
        return Err("every [[migrations]] entry needs its own tag".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
