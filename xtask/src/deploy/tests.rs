use std::env;
use std::sync::{Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;

/// The project's own wrangler.toml.
fn config() -> DocumentMut {
    fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../wrangler.toml"))
        .expect("wrangler.toml")
        .parse()
        .expect("parses")
}

/// Held while a test writes and runs its stand-in wrangler: a script being written while
/// another test's child forks would be "busy" (ETXTBSY) when executed.
static SCRIPTS: Mutex<()> = Mutex::new(());

/// A scratch workspace holding a copy of wrangler.toml, removed on drop; it holds the script
/// lock while it lives.
struct Scratch {
    dir: PathBuf,
    _lock: MutexGuard<'static, ()>,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let lock = SCRIPTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = env::temp_dir().join(format!("xtask-deploy-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch");
        fs::write(dir.join("wrangler.toml"), config().to_string()).expect("copy");
        Scratch { dir, _lock: lock }
    }

    /// A stand-in for wrangler that logs each call and answers as wrangler does; its
    /// `secret list` answers `secrets`. A deploy's secrets file is logged with its mode.
    fn wrangler(&self, secrets: &[&str]) -> Wrangler {
        let listed: Vec<String> = secrets
            .iter()
            .map(|s| format!(r#"{{"name":"{s}","type":"secret_text"}}"#))
            .collect();
        let log = self.dir.join("calls.log");
        let script = format!(
            r#"#!/bin/sh
echo "$@" >> '{log}'
case "$1" in
  whoami) echo "You are logged in with an API Token." ;;
  kv) printf '%s\n' 'Add the following to your configuration file:' '{{' '  "kv_namespaces": [' '    {{' '      "binding": "PORTCULLIS_KV",' '      "id": "0123456789ABCDEF0123456789abcdef"' '    }}' '  ]' '}}' ;;
  secret) echo '[{listed}]' ;;
  deploy) while [ $# -gt 0 ]; do
      if [ "$1" = --secrets-file ]; then stat -c 'mode %a' "$2" >> '{log}'; cat "$2" >> '{log}'; echo >> '{log}'; fi
      shift
    done ;;
esac
"#,
            log = log.display(),
            listed = listed.join(",")
        );
        let program = self.dir.join("wrangler");
        fs::write(&program, script).expect("script");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Wrangler {
            program,
            root: self.dir.clone(),
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("calls.log")).unwrap_or_default()
    }

    fn workspace(&self) -> Workspace {
        Workspace::at(self.dir.clone())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_first_deploy_creates_the_namespace_records_it_and_sets_only_the_absent_secrets() {
    let scratch = Scratch::new("first");
    let ws = scratch.workspace();
    // The worker exists with an admin token but no key-encryption key.
    let wrangler = scratch.wrangler(&["ADMIN_TOKEN"]);
    deploy_to(&ws, &wrangler, "https://auth.example.com").expect("deployed");
    let log = scratch.log();
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls[0], "whoami");
    assert_eq!(calls[1], "kv namespace create PORTCULLIS_KV");
    assert_eq!(calls[2], "secret list --format json");
    assert!(calls[3].starts_with("deploy --var ISSUER:https://auth.example.com --secrets-file "));
    assert_eq!(
        calls[4], "mode 600",
        "the secrets file is the owner's alone"
    );
    let uploaded: serde_json::Value = serde_json::from_str(calls[5]).expect("JSON");
    let kek = uploaded["KEY_ENCRYPTION_KEY"]
        .as_str()
        .expect("the absent secret");
    assert_eq!(STANDARD.decode(kek).expect("base64").len(), 32);
    assert!(
        uploaded.get("ADMIN_TOKEN").is_none(),
        "an existing secret is never replaced"
    );
    // The namespace id is recorded; everything else in the file is as it was.
    let written = fs::read_to_string(scratch.dir.join("wrangler.toml")).expect("read");
    let expected = config().to_string().replace(
        "id = \"portcullis-local\"",
        "id = \"0123456789abcdef0123456789abcdef\"",
    );
    assert_eq!(written, expected);
    assert!(
        !fs::read_dir(ws.path("target")).expect("target").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with("deploy-secrets")),
        "the secrets file is removed"
    );
}

#[test]
fn a_later_deploy_creates_nothing_and_uploads_no_secret() {
    let scratch = Scratch::new("later");
    let ws = scratch.workspace();
    let mut recorded = config();
    set_kv_id(&mut recorded, "fedcba9876543210fedcba9876543210").expect("set");
    fs::write(ws.path("wrangler.toml"), recorded.to_string()).expect("write");
    let wrangler = scratch.wrangler(&["ADMIN_TOKEN", "KEY_ENCRYPTION_KEY"]);
    deploy_to(&ws, &wrangler, "https://auth.example.com").expect("deployed");
    assert_eq!(
        scratch.log(),
        "whoami\nsecret list --format json\ndeploy --var ISSUER:https://auth.example.com\n"
    );
}

#[test]
fn the_options_want_an_https_issuer_or_a_dry_run() {
    let args = |a: &[&str]| Options::parse(&a.iter().map(ToString::to_string).collect::<Vec<_>>());
    assert_eq!(args(&["--dry-run"]), Ok(Options::DryRun));
    assert_eq!(
        args(&["--issuer", "https://auth.example.com"]),
        Ok(Options::Deploy {
            issuer: "https://auth.example.com".into()
        })
    );
    for bad in [
        "http://auth.example.com",
        "https://auth.example.com/",
        "https://",
        "https://a?b",
    ] {
        assert!(args(&["--issuer", bad]).is_err(), "{bad}");
    }
    assert!(args(&[]).is_err());
}

#[test]
fn the_projects_durable_objects_each_have_a_migration() {
    check_migrations(&config()).expect("wrangler.toml is consistent");
    let unmigrated = config().to_string().replace(
        "new_sqlite_classes = [\"GrantObject\"]",
        "new_sqlite_classes = []",
    );
    let refused = check_migrations(&unmigrated.parse().expect("parses")).expect_err("refused");
    assert!(refused.contains("GrantObject"), "{refused}");
    let twice = config().to_string().replace("tag = \"v2\"", "tag = \"v1\"");
    assert!(check_migrations(&twice.parse().expect("parses")).is_err());
}

#[test]
fn the_namespace_id_is_read_from_either_answer_format() {
    let toml = "[[kv_namespaces]]\nbinding = \"PORTCULLIS_KV\"\nid = \"e29b263ab50e42ce9b637fa8370175e8\"\n";
    assert_eq!(
        created_namespace_id(toml).as_deref(),
        Some("e29b263ab50e42ce9b637fa8370175e8")
    );
    assert_eq!(created_namespace_id("Success!"), None);
}
