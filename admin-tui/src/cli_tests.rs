//! The CLI's commands against the real core in-process: each runs a command as `portcullis`
//! would and checks what the server then holds or what the one-line error says.

use clap::Parser;
use portcullis_core::api::ClientPatch;

use crate::cli::{run, ClientsCmd, Command, GrantsCmd, Output, TableCmd, UsersCmd};
use crate::client::{segment, AdminApi};
use crate::testing::sample;

/// A command line after `portcullis`, parsed as the binary parses it.
#[derive(Debug, Parser)]
struct Line {
    #[command(subcommand)]
    command: Command,
}

fn command(args: &[&str]) -> Command {
    let line = std::iter::once("portcullis").chain(args.iter().copied());
    Line::try_parse_from(line)
        .expect("a valid command line")
        .command
}

#[test]
fn delete_and_update_send_the_version_just_read() {
    let api = sample();
    let billing = api.client_named("billing");
    let renamed = ClientPatch {
        name: Some("billing".into()),
        ..ClientPatch::default()
    };
    let read = api
        .update_client(&billing.client_id, billing.version, &renamed)
        .expect("changed since it was made")
        .version;
    let human = Output { json: false };
    run(
        &api,
        human,
        command(&[
            "clients",
            "update",
            &billing.client_id,
            "--scope",
            "write",
            "--disable",
        ]),
    )
    .expect("update");
    let updated = api.get_client(&billing.client_id).expect("client");
    assert_eq!(updated.scopes, ["write"]);
    assert!(updated.disabled);
    assert_eq!(updated.version, read + 1);
    run(
        &api,
        human,
        Command::Clients(ClientsCmd::Delete {
            client_id: billing.client_id.clone(),
        }),
    )
    .expect("delete");
    let clients = api.list_clients().expect("clients");
    assert!(clients.iter().all(|c| c.client_id != billing.client_id));
}

#[test]
fn a_server_failure_becomes_the_one_line_error() {
    let api = sample();
    let err = run(
        &api,
        Output { json: true },
        Command::Clients(ClientsCmd::Get {
            client_id: "nope".into(),
        }),
    )
    .expect_err("not found");
    assert_eq!(err, "404 not_found: client not found");
}

#[test]
fn grants_list_passes_the_user_and_client_filters() {
    let api = sample();
    let list = |user: Option<&str>, client: Option<&str>| {
        run(
            &api,
            Output { json: true },
            Command::Grants(GrantsCmd::List {
                user: user.map(Into::into),
                client: client.map(Into::into),
            }),
        )
    };
    let bob = api.user_named("bob").id;
    let web = api.client_named("web-frontend").client_id;
    let before = api.calls().len();
    list(Some(&bob), Some(&web)).expect("list");
    list(None, None).expect("list");
    let calls = api.calls()[before..].to_vec();
    assert_eq!(
        calls,
        [
            format!(
                "GET /admin/v1/grants?client={}&user={}",
                segment(&web),
                segment(&bob)
            ),
            "GET /admin/v1/grants".to_owned()
        ]
    );
}

#[test]
fn set_puts_the_file_at_the_version_it_names_and_refuses_a_stale_one() {
    let api = sample();
    let file = std::env::temp_dir().join(format!("portcullis-set-{}.json", std::process::id()));
    let set = |body: &str| {
        std::fs::write(&file, body).expect("temp file");
        run(
            &api,
            Output { json: true },
            Command::Issuers(TableCmd::Set {
                file: Some(file.clone()),
            }),
        )
    };
    let version = api.get_issuers().expect("issuers").version;
    let puts = api.count("PUT /admin/v1/issuers");
    let body = |version: u64| {
        format!(
            r#"{{"issuers": [{{"issuer": "https://x", "jwks_uri": "https://x/k",
            "audiences": ["a"], "algorithms": ["ES256"]}}], "version": {version}}}"#
        )
    };
    let stale = set(&body(version - 1)).expect_err("an older version is stale");
    assert!(stale.starts_with("412 precondition_failed"), "{stale}");
    set(&body(version)).expect("current version");
    set(r#"{"issuers": []}"#).expect("no version: the one just read");
    std::fs::remove_file(&file).expect("cleanup");
    let table = api.get_issuers().expect("issuers");
    assert_eq!((table.version, table.issuers.len()), (version + 2, 0));
    assert_eq!(api.count("PUT /admin/v1/issuers") - puts, 3);
}

#[test]
fn users_get_reads_one_user() {
    let api = sample();
    let get = |id: &str| {
        run(
            &api,
            Output { json: false },
            Command::Users(UsersCmd::Get { id: id.into() }),
        )
    };
    get(&api.user_named("bob").id).expect("found");
    assert_eq!(get("u-nobody"), Err("404 not_found: user not found".into()));
}

#[test]
fn users_signout_signs_a_known_user_out() {
    let api = sample();
    let signout = |id: &str| {
        run(
            &api,
            Output { json: false },
            Command::Users(UsersCmd::Signout { id: id.into() }),
        )
    };
    signout(&api.user_named("bob").id).expect("signed out");
    assert_eq!(
        signout("u-nobody"),
        Err("404 not_found: user not found".into())
    );
}

#[test]
fn registration_set_opens_registration_and_get_reads_it_back() {
    let api = sample();
    let file = std::env::temp_dir().join(format!("portcullis-reg-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"enabled": true, "scopes": ["read"], "client_ttl": 86400}"#,
    )
    .expect("temp file");
    run(
        &api,
        Output { json: true },
        command(&["registration", "set", file.to_str().expect("utf-8 path")]),
    )
    .expect("set");
    std::fs::remove_file(&file).expect("cleanup");
    let policy = api.get_registration().expect("policy");
    assert!(policy.enabled && policy.dynamic_registration);
    assert_eq!(
        (policy.scopes.as_slice(), policy.client_ttl),
        (&["read".to_owned()][..], 86_400)
    );
    assert_eq!(policy.version, 1);
    run(
        &api,
        Output { json: false },
        command(&["registration", "get"]),
    )
    .expect("get");
}

#[test]
fn clients_register_and_change_their_keys_and_dpop_binding() {
    let api = sample();
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}"#;
    let path = std::env::temp_dir().join(format!("portcullis-jwks-{}.json", std::process::id()));
    std::fs::write(&path, jwks).expect("temp file");
    let human = Output { json: false };
    let file = path.to_str().expect("utf-8 path");
    run(
        &api,
        human,
        command(&[
            "clients",
            "create",
            "--name",
            "keyed",
            "--auth-method",
            "private_key_jwt",
            "--jwks",
            file,
            "--dpop-bound",
        ]),
    )
    .expect("create");
    let made = api.client_named("keyed");
    assert_eq!(made.jwks, serde_json::from_str(jwks).ok());
    assert!(made.dpop_bound_access_tokens && made.secrets.is_empty());
    run(
        &api,
        human,
        command(&[
            "clients",
            "update",
            &made.client_id,
            "--jwks-uri",
            "https://keys.example.test/jwks.json",
            "--dpop-bound",
            "false",
        ]),
    )
    .expect("update");
    let changed = api.get_client(&made.client_id).expect("client");
    assert_eq!(changed.jwks, None);
    assert_eq!(
        changed.jwks_uri.as_deref(),
        Some("https://keys.example.test/jwks.json")
    );
    assert!(!changed.dpop_bound_access_tokens);
    let _ = std::fs::remove_file(path);
}

#[test]
fn users_update_sets_profile_fields_and_clients_take_openid_fields() {
    let api = sample();
    let alice = api.user_named("alice");
    let human = Output { json: false };
    run(
        &api,
        human,
        command(&[
            "users",
            "update",
            &alice.id,
            "--name",
            "Alice Liddell",
            "--email",
            "alice@example.com",
            "--email-verified",
            "true",
            "--locale",
            "en-GB",
        ]),
    )
    .expect("update");
    let p = api.get_user(&alice.id).expect("user").profile;
    assert_eq!(p.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(
        (p.email.as_deref(), p.email_verified),
        (Some("alice@example.com"), Some(true))
    );
    assert_eq!(p.locale.as_deref(), Some("en-GB"));
    let refused = run(
        &api,
        human,
        command(&[
            "users",
            "update",
            &alice.id,
            "--picture",
            "http://x.test/a.png",
        ]),
    )
    .expect_err("an http picture");
    assert!(refused.contains("picture"), "{refused}");
    let billing = api.client_named("billing");
    run(
        &api,
        human,
        command(&[
            "clients",
            "update",
            &billing.client_id,
            "--post-logout-redirect-uri",
            "https://app.test/bye",
            "--id-token-alg",
            "ES256",
        ]),
    )
    .expect("update");
    let c = api.get_client(&billing.client_id).expect("client");
    assert_eq!(c.post_logout_redirect_uris, ["https://app.test/bye"]);
    assert_eq!(
        c.id_token_signed_response_alg,
        Some(portcullis_core::api::KeyAlg::ES256)
    );
    let line =
        std::iter::once("portcullis").chain(["clients", "update", "x", "--id-token-alg", "HS256"]);
    assert!(
        Line::try_parse_from(line).is_err(),
        "an unknown algorithm is a usage error"
    );
}
