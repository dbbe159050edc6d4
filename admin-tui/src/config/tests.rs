use portcullis_core::api::NewScope;

use super::*;
use crate::testing::{sample, CoreApi};

fn empty() -> CoreApi {
    CoreApi::empty()
}

#[test]
fn export_then_apply_on_an_empty_worker_reproduces_the_configuration() {
    let from = sample();
    let document = export(&from).expect("exported");
    let text = serde_json::to_string(&document).expect("json");
    assert!(
        !text.contains("secret_hash") && !text.contains("\"client_id\""),
        "{text}"
    );
    assert!(!text.contains("password"), "never a password");

    let to = empty();
    let changes = plan(&to, &document, false).expect("planned");
    assert!(!changes.is_empty());
    let applied = apply(&to, changes);
    assert!(applied.failed.is_none(), "{:?}", applied.failed);
    let confidential = document
        .clients
        .iter()
        .filter(|c| c.get("public") != Some(&Value::Bool(true)))
        .count();
    assert_eq!(applied.secrets.len(), confidential);
    assert_eq!(applied.passwordless.len(), document.users.len());
    assert_eq!(export(&to).expect("exported"), document);

    // A second apply of the same document changes nothing.
    assert_eq!(plan(&to, &document, true).expect("planned"), Vec::new());
}

#[test]
fn apply_changes_only_what_differs_and_prunes_only_when_asked() {
    let api = sample();
    let mut document = export(&api).expect("exported");
    let before = api.calls().len();
    document.clients[0].insert("scopes".into(), serde_json::json!(["read", "write"]));
    document.scopes.push(NewScope {
        name: "reports".into(),
        description: "Read reports".into(),
    });
    let removed = document.users.pop().expect("a user");
    document.routes.routes.push(
        serde_json::from_value(serde_json::json!({"path": "/reports/*", "scopes": ["reports"]}))
            .expect("a route"),
    );
    let routes = document.routes.routes.len();
    let changes = plan(&api, &document, false).expect("planned");
    let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "+ scope reports".to_owned(),
            format!("~ client {}: scopes", name_of(&document.clients[0])),
            format!("~ routes: the table becomes {routes} route(s)"),
        ],
        "{shown:?}"
    );
    assert_eq!(api.calls().len(), before + 6, "planning only reads");
    let pruned = plan(&api, &document, true).expect("planned");
    assert_eq!(
        pruned.last().map(ToString::to_string),
        Some(format!("- user {}", text(&removed, "username")))
    );
    assert!(apply(&api, pruned).failed.is_none());
    document.scopes.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(export(&api).expect("exported"), document);
}

#[test]
fn an_edit_made_between_plan_and_apply_is_refused_not_overwritten() {
    let api = sample();
    let mut document = export(&api).expect("exported");
    document.clients[0].insert("access_token_ttl".into(), 120.into());
    let changes = plan(&api, &document, false).expect("planned");
    // Another operator renames the client meanwhile.
    let name = name_of(&document.clients[0]);
    let client = api.client_named(&name);
    let patch = ClientPatch {
        name: Some("renamed".into()),
        ..ClientPatch::default()
    };
    api.update_client(&client.client_id, client.version, &patch)
        .expect("changed meanwhile");
    let refused = apply(&api, changes).failed.expect("refused");
    assert_eq!(refused.status, Some(412), "{refused}");
    assert_eq!(
        api.get_client(&client.client_id).expect("read").name,
        "renamed"
    );
}

#[test]
fn documents_that_cannot_be_applied_are_refused_before_any_change() {
    let api = sample();
    let document = export(&api).expect("exported");
    let before = export(&api).expect("exported");
    let mut twice = document.clone();
    twice.clients.push(twice.clients[0].clone());
    let refused = plan(&api, &twice, false).expect_err("refused");
    assert!(refused.description.contains("appear twice"), "{refused}");

    let mut flipped = document.clone();
    let public = flipped.clients[0].get("public") == Some(&Value::Bool(true));
    flipped.clients[0].insert("public".into(), (!public).into());
    assert!(plan(&api, &flipped, false)
        .expect_err("refused")
        .description
        .contains("`public` cannot change"));

    let mut unknown = document.clone();
    unknown.clients[0].insert("colour".into(), "blue".into());
    assert!(plan(&api, &unknown, false)
        .expect_err("refused")
        .description
        .contains("colour"));

    let mut described = document;
    described.scopes[0].description = "something else".into();
    assert!(plan(&api, &described, false).is_err());
    assert_eq!(export(&api).expect("exported"), before, "nothing changed");
}

#[test]
fn the_registration_policy_travels_with_if_match_and_a_bad_one_is_refused_first() {
    let api = sample();
    let mut document = export(&api).expect("exported");
    let policy = document.registration.as_mut().expect("exported");
    assert_eq!(policy.get("enabled"), Some(&Value::Bool(false)));
    assert!(
        !policy.contains_key("version"),
        "server-kept fields stay out"
    );
    policy.insert("enabled".into(), true.into());
    policy.insert("scopes".into(), serde_json::json!(["read"]));
    let changes = plan(&api, &document, false).expect("planned");
    let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["~ registration: enabled, scopes"]);

    // A change made meanwhile is refused, not overwritten.
    let meanwhile = api.get_registration().expect("policy");
    api.put_registration(meanwhile.version, &meanwhile)
        .expect("changed meanwhile");
    let refused = apply(&api, changes).failed.expect("refused");
    assert_eq!(refused.status, Some(412), "{refused}");

    let changes = plan(&api, &document, false).expect("planned again");
    assert!(apply(&api, changes).failed.is_none());
    let now = api.get_registration().expect("policy");
    assert!(now.enabled);
    assert_eq!(now.scopes, ["read"]);
    assert_eq!(export(&api).expect("exported"), document);
    assert_eq!(plan(&api, &document, false).expect("planned"), Vec::new());

    // Without a policy in the document, the worker's stays as it is.
    let mut silent = document.clone();
    silent.registration = None;
    assert_eq!(plan(&api, &silent, false).expect("planned"), Vec::new());

    let mut bad = document;
    if let Some(policy) = bad.registration.as_mut() {
        policy.insert("client_ttl".into(), "a while".into());
    }
    let refused = plan(&api, &bad, false).expect_err("refused");
    assert!(refused.description.contains("registration"), "{refused}");
}
