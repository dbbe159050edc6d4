//! Tests of the update logic against the real core in-process: each drives keys through
//! `update`, runs the commands it asks for, and checks both the app state and what the server
//! then answers.

use portcullis_core::api::{
    Algorithm, AuditQuery, IssuersBody, KeyAlg, KeyState, NewScope, RoutesBody, UserPatch,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{update, FormKind, Health, Modal, Msg, Pane, Screen, Status, HEALTH_EVERY};
use crate::client::{segment, AdminApi, GrantFilter};
use crate::effects::Cmd;
use crate::testing::{
    answer_to, ctrl, drive, failure, history, issuer, key, sample, started, typed,
};

#[test]
fn start_loads_clients_scopes_and_health() {
    let api = sample();
    let app = started(&api);
    assert_eq!(app.clients.status, Status::Ready);
    assert_eq!(app.clients.items.len(), 3);
    assert_eq!(app.scopes.items.len(), 2);
    assert_eq!(app.health, Health::Up { latency_ms: 0 });
    assert_eq!(app.pending, 0, "every call answered, spinner stopped");
}

#[test]
fn slash_filters_the_list_as_you_type_and_esc_clears_it() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('/')));
    typed(&mut app, &api, "MOB");
    let names: Vec<&str> = app
        .clients
        .visible()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["mobile-app"]);
    assert!(!app.quit, "letters go to the filter, not to commands");
    drive(&mut app, &api, key(KeyCode::Esc));
    assert_eq!(app.clients.visible().len(), 3);
    assert!(!app.clients.cursor.filtering);
}

#[test]
fn cursor_moves_with_arrows_and_vim_keys_and_stays_in_bounds() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('j')));
    drive(&mut app, &api, key(KeyCode::Down));
    drive(&mut app, &api, key(KeyCode::Down));
    assert_eq!(
        app.clients.current().map(|c| c.name.as_str()),
        Some("web-frontend")
    );
    drive(&mut app, &api, key(KeyCode::Char('k')));
    assert_eq!(app.clients.cursor.selected, 1);
    drive(&mut app, &api, key(KeyCode::Char('g')));
    assert_eq!(app.clients.cursor.selected, 0);
}

#[test]
fn creating_a_client_sends_the_form_and_shows_the_secret_once() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "quarry");
    drive(&mut app, &api, key(KeyCode::Tab)); // public
    drive(&mut app, &api, key(KeyCode::Tab)); // grant types (client_credentials ticked)
    drive(&mut app, &api, key(KeyCode::Tab)); // scopes
    drive(&mut app, &api, key(KeyCode::Char(' '))); // tick "read"
    drive(&mut app, &api, ctrl('s'));
    let made = api.client_named("quarry");
    assert_eq!(made.scopes, ["read"]);
    assert_eq!(
        made.grant_types,
        [portcullis_core::api::GrantType::ClientCredentials]
    );
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("the secret is shown: {:?}", app.modal);
    };
    let secret = shown.secret.clone();
    assert!(secret.len() >= 32, "a real secret: {secret}");
    let copied = drive(&mut app, &api, key(KeyCode::Char('c')));
    assert_eq!(copied, std::slice::from_ref(&secret));
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert!(
        !format!("{app:?}").contains(&secret),
        "once closed, the secret is gone from memory"
    );
    assert!(
        app.clients.items.iter().any(|c| c.name == "quarry"),
        "list reloaded"
    );
}

#[test]
fn a_server_rejection_stays_in_the_form_and_marks_the_field() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "bad");
    api.fail_next(failure(
        422,
        "invalid_value",
        "must be an absolute https URL",
        Some("redirect_uris[0]"),
    ));
    drive(&mut app, &api, ctrl('s'));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("the form stays open");
    };
    assert!(form.waiting.is_none());
    assert!(form.is_at_fault("redirect_uris"));
    assert_eq!(
        form.error.as_ref().map(ToString::to_string).as_deref(),
        Some("422 invalid_value: must be an absolute https URL (field redirect_uris[0])")
    );
    assert_eq!(form.text("name"), "bad", "what was typed is kept");
}

#[test]
fn a_nameless_client_is_refused_before_any_call() {
    let api = sample();
    let mut app = started(&api);
    let calls = api.calls().len();
    drive(&mut app, &api, key(KeyCode::Char('n')));
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(api.calls().len(), calls);
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("form open");
    };
    assert!(form.is_at_fault("name"));
}

#[test]
fn delete_goes_ahead_only_when_the_exact_name_is_typed() {
    let api = sample();
    let unused = NewScope {
        name: "archive".into(),
        description: "Nothing asks for it".into(),
    };
    api.create_scope(&unused).expect("scope created");
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('2')));
    assert_eq!(app.screen, Screen::Scopes);
    drive(&mut app, &api, key(KeyCode::Char('j')));
    drive(&mut app, &api, key(KeyCode::Char('j')));
    assert_eq!(
        app.scopes.current().map(|s| s.name.as_str()),
        Some("archive")
    );
    drive(&mut app, &api, key(KeyCode::Char('d')));
    typed(&mut app, &api, "archiv");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert_eq!(api.count("DELETE /admin/v1/scopes/"), 0);
    typed(&mut app, &api, "e");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(app.modal.is_none(), "{:?}", app.modal);
    let scopes = api.list_scopes().expect("scopes");
    assert!(scopes.iter().all(|s| s.name != "archive"));
    assert_eq!(app.scopes.items.len(), 2, "list reloaded");
}

#[test]
fn a_failed_load_shows_inline_and_r_retries() {
    let api = sample();
    let mut app = started(&api);
    api.fail_next(failure(503, "temporarily_unavailable", "retry", None));
    drive(&mut app, &api, key(KeyCode::Char('r')));
    assert!(matches!(app.clients.status, Status::Failed(_)));
    assert_eq!(app.clients.items.len(), 3, "the old rows stay");
    drive(&mut app, &api, key(KeyCode::Char('r')));
    assert_eq!(app.clients.status, Status::Ready);
}

#[test]
fn toggling_a_user_sends_its_version_and_a_stale_one_is_reported() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('3')));
    assert_eq!(
        app.users.items.len(),
        2,
        "the users screen loads on first visit"
    );
    let first = app.users.items[0].clone();
    drive(&mut app, &api, key(KeyCode::Char('t')));
    let toggled = api.get_user(&first.id).expect("user");
    assert!(toggled.disabled);
    assert!(app.users.items[0].disabled);
    // Someone else changes it; our copy is now stale.
    let patch = UserPatch {
        password: Some("changed elsewhere".into()),
        ..UserPatch::default()
    };
    api.update_user(&first.id, toggled.version, &patch)
        .expect("changed elsewhere");
    let cmds = update(&mut app, key(KeyCode::Char('t')));
    let [Cmd::UpdateUser { version, .. }] = cmds.as_slice() else {
        panic!("one update: {cmds:?}");
    };
    let answer = crate::effects::execute(&api, cmds[0].clone()).expect("an answer");
    assert_eq!(*version, toggled.version);
    update(&mut app, Msg::Api(Box::new(answer)));
    assert!(matches!(&app.notice, Some(Err(f)) if f.status == Some(412)));
}

#[test]
fn o_asks_then_signs_the_user_out_everywhere() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('3')));
    drive(&mut app, &api, key(KeyCode::Char('o')));
    assert!(matches!(&app.modal, Some(Modal::Confirm(_))), "asks first");
    let before = api.calls().len();
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let id = app.users.items[0].id.clone();
    let calls = api.calls()[before..].to_vec();
    assert_eq!(
        calls,
        [format!("POST /admin/v1/users/{id}/sessions/revoke")]
    );
    assert!(
        matches!(&app.notice, Some(Ok(n)) if n.contains(&id)),
        "{:?}",
        app.notice
    );
}

#[test]
fn help_overlay_takes_keys_until_closed() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('?')));
    assert!(app.help);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    assert!(app.modal.is_none());
    drive(&mut app, &api, key(KeyCode::Char('q')));
    assert!(!app.help);
    assert!(!app.quit);
    drive(&mut app, &api, key(KeyCode::Char('q')));
    assert!(app.quit);
}

#[test]
fn esc_backs_out_one_level_at_a_time() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Tab));
    assert_eq!(app.pane, Pane::Detail);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    assert!(app.modal.is_some());
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert_eq!(app.pane, Pane::Detail);
    drive(&mut app, &api, key(KeyCode::Esc));
    assert_eq!(app.pane, Pane::List);
}

#[test]
fn health_is_checked_every_so_often_and_a_failure_shows_down() {
    let api = sample();
    let mut app = started(&api);
    api.fail_next(crate::client::Failure::transport("connection refused"));
    for _ in 0..HEALTH_EVERY {
        drive(&mut app, &api, Msg::Tick);
    }
    assert!(matches!(&app.health, Health::Down(why) if why.contains("connection refused")));
    assert_eq!(app.pending, 0, "health checks do not turn the spinner");
}

#[test]
fn editing_a_client_patches_with_its_version() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('e')));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("edit form open");
    };
    assert_eq!(form.text("name"), "billing", "prefilled");
    assert_eq!(form.chosen("scopes"), ["read"], "prefilled");
    typed(&mut app, &api, "-v2");
    drive(&mut app, &api, ctrl('s'));
    let edited = api
        .get_client(&app.clients.items[0].client_id)
        .expect("client");
    assert_eq!(edited.name, "billing-v2");
    assert_eq!(edited.version, 2);
    assert!(app.modal.is_none());
}

#[test]
fn t_disables_then_enables_a_client() {
    let api = sample();
    let mut app = started(&api);
    let id = app.clients.items[0].client_id.clone();
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert!(api.get_client(&id).expect("client").disabled);
    assert!(app.clients.items[0].disabled, "list reloaded");
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert!(!api.get_client(&id).expect("client").disabled);
}

#[test]
fn deleting_a_client_needs_its_name_typed() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('j')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    typed(&mut app, &api, "billing");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert_eq!(
        api.list_clients().expect("clients").len(),
        3,
        "wrong name: nothing deleted"
    );
    for _ in 0.."billing".len() {
        drive(&mut app, &api, key(KeyCode::Backspace));
    }
    typed(&mut app, &api, "mobile-app");
    drive(&mut app, &api, key(KeyCode::Enter));
    let clients = api.list_clients().expect("clients");
    assert!(clients.iter().all(|c| c.name != "mobile-app"));
    assert_eq!(app.clients.items.len(), 2);
}

#[test]
fn rotating_a_secret_asks_first_then_shows_the_new_secret_once() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    assert!(app.modal.is_none(), "n declines");
    assert_eq!(api.count("POST /admin/v1/clients/"), 0, "nothing rotated");
    drive(&mut app, &api, key(KeyCode::Char('s')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("secret shown: {:?}", app.modal);
    };
    assert!(shown.secret.len() >= 32, "a real secret");
    let billing = api.client_named("billing");
    assert_eq!(billing.secrets.len(), 2, "the old secret lives on a while");
}

#[test]
fn a_refused_rotation_shows_the_server_error_in_the_dialog() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    api.fail_next(failure(
        409,
        "conflict",
        "a public client has no secret",
        None,
    ));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let Some(Modal::Confirm(c)) = &app.modal else {
        panic!("dialog stays");
    };
    assert!(c.waiting.is_none());
    assert_eq!(c.error.as_ref().and_then(|e| e.status), Some(409));
}

#[test]
fn key_rotation_promotes_next_and_retires_current() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('4')));
    assert_eq!(app.screen, Screen::Keys);
    let kid = |state: KeyState| {
        let key = app.keys.items.iter().find(|k| k.state == state);
        key.expect("a key in that state").kid.clone()
    };
    let (next, current) = (kid(KeyState::Next), kid(KeyState::Current));
    drive(&mut app, &api, key(KeyCode::Char('R')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    // The access-token family; the RS256 ID-token family rotates alongside.
    let states: Vec<(String, KeyState)> = app
        .keys
        .items
        .iter()
        .filter(|k| k.alg != KeyAlg::RS256)
        .map(|k| (k.kid.clone(), k.state))
        .collect();
    let fresh: Vec<&(String, KeyState)> = states
        .iter()
        .filter(|(kid, _)| ![&next, &current].contains(&kid))
        .collect();
    assert!(
        matches!(fresh.as_slice(), [(_, KeyState::Next)]),
        "a new next key: {states:?}"
    );
    assert!(states.contains(&(next, KeyState::Current)), "{states:?}");
    assert!(states.contains(&(current, KeyState::Retired)), "{states:?}");
}

#[test]
fn audit_pages_with_the_cursor_and_filters_on_the_server() {
    let api = sample();
    let seeded = api
        .audit(&AuditQuery::default())
        .expect("audit")
        .events
        .len();
    history(&api, 25);
    let total = seeded + 50;
    assert!(total > crate::app::AUDIT_PAGE, "more than a page");
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('5')));
    assert_eq!(app.audit.items.len(), crate::app::AUDIT_PAGE);
    assert!(app.audit_next.is_some());
    drive(&mut app, &api, key(KeyCode::Char('m')));
    assert_eq!(app.audit.items.len(), total, "the older page is appended");
    assert!(app.audit_next.is_none());
    let ids: Vec<&str> = app.audit.items.iter().map(|e| e.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, no duplicates");
    drive(&mut app, &api, key(KeyCode::Char('F')));
    typed(&mut app, &api, "scope.create");
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(app.audit_query.action.as_deref(), Some("scope.create"));
    assert_eq!(
        app.audit.items.len(),
        2 + 25,
        "the sample's scopes and the history's"
    );
    assert!(app.audit.items.iter().all(|e| e.action == "scope.create"));
}

#[test]
fn follow_mode_polls_and_puts_new_events_on_top() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('5')));
    drive(&mut app, &api, key(KeyCode::Char('f')));
    assert!(app.follow);
    let shown = app.audit.items.len();
    api.advance(1);
    let elsewhere = NewScope {
        name: "admin".into(),
        description: "Made elsewhere".into(),
    };
    api.create_scope(&elsewhere).expect("made elsewhere");
    for _ in 0..crate::app::FOLLOW_EVERY {
        drive(&mut app, &api, Msg::Tick);
    }
    assert_eq!(app.audit.items[0].action, "scope.create");
    assert_eq!(app.audit.items[0].target, "admin");
    assert_eq!(app.audit.items.len(), shown + 1);
    drive(&mut app, &api, key(KeyCode::Char('f')));
    let polls = api.count("GET /admin/v1/audit");
    for _ in 0..crate::app::FOLLOW_EVERY {
        drive(&mut app, &api, Msg::Tick);
    }
    let after = api.count("GET /admin/v1/audit");
    assert_eq!(polls, after, "no polling once follow is off");
}

#[test]
fn adding_a_route_puts_the_whole_table_with_its_version() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    assert_eq!(app.screen, Screen::Routes);
    assert_eq!(app.routes.items.len(), 2);
    let version = api.get_routes().expect("routes").version;
    assert_eq!(app.route_table.version, version);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "/admin/*");
    drive(&mut app, &api, key(KeyCode::Tab)); // methods
    drive(&mut app, &api, key(KeyCode::Char(' '))); // GET
    drive(&mut app, &api, key(KeyCode::Tab)); // origin
    drive(&mut app, &api, key(KeyCode::Tab)); // scopes
    drive(&mut app, &api, key(KeyCode::Down));
    drive(&mut app, &api, key(KeyCode::Char(' '))); // write
    drive(&mut app, &api, ctrl('s'));
    let table = api.get_routes().expect("routes");
    assert_eq!(table.version, version + 1);
    let added = table.routes.last().expect("added");
    assert_eq!(added.path, "/admin/*");
    assert_eq!(added.methods.as_deref(), Some(&["GET".to_owned()][..]));
    assert_eq!(added.scopes, ["write"]);
    assert_eq!(added.origin, None, "empty origin = the default origin");
    assert_eq!(app.routes.items.len(), 3);
}

#[test]
fn removing_a_route_keeps_the_others_and_a_stale_table_is_refused() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    // Someone else changes it meanwhile.
    let table = api.get_routes().expect("routes");
    let body = RoutesBody {
        routes: table.routes.clone(),
        case_sensitive: table.case_sensitive,
    };
    api.put_routes(table.version, &body)
        .expect("changed elsewhere");
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let Some(Modal::Confirm(c)) = &app.modal else {
        panic!("the dialog stays with the error");
    };
    assert_eq!(c.error.as_ref().and_then(|e| e.status), Some(412));
    let routes = api.get_routes().expect("routes").routes;
    assert_eq!(routes.len(), 2, "nothing lost");
    drive(&mut app, &api, key(KeyCode::Esc));
    drive(&mut app, &api, key(KeyCode::Char('r')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let paths: Vec<String> = api
        .get_routes()
        .expect("routes")
        .routes
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/health"]);
}

#[test]
fn revoking_a_grant_asks_then_removes_it() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('7')));
    assert_eq!(app.grants.items.len(), 2);
    let revoked = app.grants.items[0].id.clone();
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let grants = api.list_grants(&GrantFilter::default()).expect("grants");
    assert!(grants.iter().all(|g| g.id != revoked));
    assert_eq!(app.grants.items.len(), 1);
}

#[test]
fn esc_and_a_key_arriving_together_count_as_both() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('?')));
    drive(
        &mut app,
        &api,
        Msg::Key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::ALT)),
    );
    assert!(!app.help);
    assert_eq!(app.screen, Screen::Scopes);
}

/// The one call in `cmds` (a key that sends exactly one).
fn only(cmds: Vec<Cmd>) -> Cmd {
    let [cmd] = <[Cmd; 1]>::try_from(cmds).expect("exactly one call");
    cmd
}

#[test]
fn a_toggle_answer_never_lands_in_a_dialog_opened_after_it() {
    for fails in [true, false] {
        let api = sample();
        let mut app = started(&api);
        let toggle = only(update(&mut app, key(KeyCode::Char('t'))));
        drive(&mut app, &api, key(KeyCode::Char('n')));
        typed(&mut app, &api, "half-typed");
        if fails {
            api.fail_next(failure(412, "precondition_failed", "stale", None));
        }
        drive(&mut app, &api, answer_to(&api, toggle));
        let Some(Modal::Form(FormKind::NewClient, form)) = &app.modal else {
            panic!("the new form stays open: {:?}", app.modal);
        };
        assert_eq!(form.error, None, "the toggle's failure is not the form's");
        assert_eq!(form.text("name"), "half-typed");
        if fails {
            assert!(matches!(&app.notice, Some(Err(f)) if f.status == Some(412)));
        } else {
            assert!(matches!(&app.notice, Some(Ok(n)) if n.contains("disabled")));
        }
    }
}

#[test]
fn an_answer_for_a_closed_dialog_leaves_the_next_dialog_alone() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('2')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "first");
    let first = only(update(&mut app, ctrl('s')));
    drive(&mut app, &api, key(KeyCode::Esc));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "second");
    let second = only(update(&mut app, ctrl('s')));
    api.fail_next(failure(409, "conflict", "scope first exists", None));
    drive(&mut app, &api, answer_to(&api, first));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("the second form is still open");
    };
    assert!(form.waiting.is_some(), "still waiting for its own answer");
    assert_eq!(form.error, None);
    assert!(matches!(&app.notice, Some(Err(f)) if f.status == Some(409)));
    drive(&mut app, &api, answer_to(&api, second));
    assert!(app.modal.is_none(), "its own answer closes it");
    assert!(app.scopes.items.iter().any(|s| s.name == "second"));
}

#[test]
fn esc_closes_a_waiting_form_and_its_answer_still_shows_the_secret() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "quarry");
    let create = only(update(&mut app, ctrl('s')));
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none(), "Esc works while the form waits");
    drive(&mut app, &api, answer_to(&api, create));
    assert!(matches!(&app.notice, Some(Ok(n)) if n == "created client quarry"));
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("the secret is not lost: {:?}", app.modal);
    };
    assert!(shown.secret.len() >= 32, "a real secret: {}", shown.secret);
}

#[test]
fn esc_closes_a_waiting_confirmation_and_its_failure_goes_to_the_notice_line() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    let rotate = only(update(&mut app, key(KeyCode::Char('y'))));
    assert!(
        update(&mut app, key(KeyCode::Char('y'))).is_empty(),
        "sent once"
    );
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    api.fail_next(failure(
        409,
        "conflict",
        "a public client has no secret",
        None,
    ));
    drive(&mut app, &api, answer_to(&api, rotate));
    assert!(app.modal.is_none());
    assert!(matches!(&app.notice, Some(Err(f)) if f.status == Some(409)));
    assert_eq!(app.pending, 0, "the spinner stops");
}

#[test]
fn a_secret_issued_behind_another_dialog_shows_once_that_dialog_closes() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    let rotate = only(update(&mut app, key(KeyCode::Char('y'))));
    drive(&mut app, &api, key(KeyCode::Esc));
    drive(&mut app, &api, key(KeyCode::Char('e')));
    drive(&mut app, &api, answer_to(&api, rotate));
    assert!(
        matches!(app.modal, Some(Modal::Form(FormKind::EditClient { .. }, _))),
        "the open form is not replaced"
    );
    assert!(matches!(&app.notice, Some(Ok(n)) if n.contains("shows when this dialog closes")));
    drive(&mut app, &api, key(KeyCode::Esc));
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("the secret follows: {:?}", app.modal);
    };
    assert!(shown.secret.len() >= 32, "a real secret: {}", shown.secret);
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert!(app.unseen_secrets.is_empty());
}

#[test]
fn editing_a_route_replaces_it_in_place_with_its_issuer() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    drive(&mut app, &api, key(KeyCode::Char('/')));
    typed(&mut app, &api, "api");
    drive(&mut app, &api, key(KeyCode::Enter));
    drive(&mut app, &api, key(KeyCode::Char('e')));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("edit form open");
    };
    assert_eq!(form.text("path"), "/api/*", "prefilled");
    assert_eq!(form.chosen("scopes"), ["read"], "prefilled");
    for _ in 0..6 {
        drive(&mut app, &api, key(KeyCode::Tab));
    }
    typed(&mut app, &api, "https://tenant.auth0.example");
    let version = app.route_table.version;
    drive(&mut app, &api, ctrl('s'));
    let table = api.get_routes().expect("routes");
    assert_eq!(table.version, version + 1);
    let paths: Vec<&str> = table.routes.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/api/*", "/health"], "replaced, not added");
    assert_eq!(
        table.routes[0].issuer.as_deref(),
        Some("https://tenant.auth0.example")
    );
    assert_eq!(table.routes[0].scopes, ["read"]);
}

#[test]
fn adding_an_issuer_puts_the_whole_list_with_its_version() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    assert_eq!(app.screen, Screen::Issuers);
    let version = api.get_issuers().expect("issuers").version;
    assert_eq!((app.issuers.items.len(), app.issuers_version), (1, version));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "https://okta.example");
    drive(&mut app, &api, key(KeyCode::Tab));
    typed(&mut app, &api, "https://okta.example/keys");
    drive(&mut app, &api, key(KeyCode::Tab));
    typed(&mut app, &api, "api://default");
    drive(&mut app, &api, key(KeyCode::Enter));
    drive(&mut app, &api, key(KeyCode::Tab));
    drive(&mut app, &api, key(KeyCode::Down));
    drive(&mut app, &api, key(KeyCode::Char(' '))); // ES256 too
    drive(&mut app, &api, ctrl('s'));
    assert!(app.modal.is_none(), "{:?}", app.modal);
    let table = api.get_issuers().expect("issuers");
    assert_eq!(table.version, version + 1);
    let added = table.issuers.last().expect("added");
    assert_eq!(added.issuer, "https://okta.example");
    assert_eq!(added.jwks_uri, "https://okta.example/keys");
    assert_eq!(added.audiences, ["api://default"]);
    assert_eq!(added.algorithms, [Algorithm::RS256, Algorithm::ES256]);
    assert_eq!(app.issuers.items.len(), 2);
}

#[test]
fn an_issuer_without_its_iss_is_refused_before_any_call() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    let calls = api.calls().len();
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(api.calls().len(), calls);
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("form open");
    };
    assert!(form.is_at_fault("issuer"));
}

#[test]
fn editing_and_removing_an_issuer_keep_the_others() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    drive(&mut app, &api, key(KeyCode::Char('e')));
    drive(&mut app, &api, key(KeyCode::Tab));
    drive(&mut app, &api, key(KeyCode::Backspace));
    typed(&mut app, &api, "S");
    drive(&mut app, &api, ctrl('s'));
    let table = api.get_issuers().expect("issuers");
    assert_eq!(table.issuers.len(), 1, "replaced in place");
    assert!(table.issuers[0].jwks_uri.ends_with("jwks.jsoS"));
    let mut issuers = table.issuers;
    issuers.push(issuer("https://b.example"));
    api.put_issuers(table.version, &IssuersBody { issuers })
        .expect("added elsewhere");
    drive(&mut app, &api, key(KeyCode::Char('r')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    let issuers = api.get_issuers().expect("issuers").issuers;
    assert_eq!(issuers.len(), 2, "n declines");
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let left: Vec<String> = api
        .get_issuers()
        .expect("issuers")
        .issuers
        .iter()
        .map(|i| i.issuer.clone())
        .collect();
    assert_eq!(left, ["https://b.example"]);
    assert_eq!(app.issuers.items.len(), 1);
}

#[test]
fn revoking_a_compromised_key_asks_for_its_kid_and_shows_the_set_after() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('4')));
    let kid = app.keys.current().unwrap().kid.clone();
    let revoke = format!("POST /admin/v1/keys/{}/revoke", segment(&kid));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Enter));
    assert_eq!(
        api.count(&revoke),
        0,
        "nothing is sent before the kid is typed"
    );
    for c in kid.chars() {
        drive(&mut app, &api, key(KeyCode::Char(c)));
    }
    drive(&mut app, &api, key(KeyCode::Enter));
    assert_eq!(api.count(&revoke), 1);
    assert!(app.keys.items.iter().all(|k| k.kid != kid));
    assert!(matches!(&app.notice, Some(Ok(n)) if n.contains(&kid)));
}

/// An Ed25519 public key (RFC 8037 §A.2) as a one-key JWK Set.
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}"#;

#[test]
fn a_client_with_keys_is_created_as_private_key_jwt_with_no_secret() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "keyed");
    for _ in 0..7 {
        drive(&mut app, &api, key(KeyCode::Tab)); // … to "Keys (JWK Set)"
    }
    typed(&mut app, &api, JWKS);
    drive(&mut app, &api, key(KeyCode::Tab)); // keys URL
    drive(&mut app, &api, key(KeyCode::Tab)); // DPoP tokens only
    drive(&mut app, &api, key(KeyCode::Char(' ')));
    drive(&mut app, &api, ctrl('s'));
    let made = api.client_named("keyed");
    assert_eq!(
        made.auth_method(),
        portcullis_core::api::TokenAuthMethod::PrivateKeyJwt
    );
    assert_eq!(made.jwks, serde_json::from_str(JWKS).ok());
    assert!(made.dpop_bound_access_tokens);
    assert!(made.secrets.is_empty());
    assert!(
        !matches!(app.modal, Some(Modal::Secret(_))),
        "no secret to show"
    );
}

#[test]
fn a_route_can_require_dpop() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "/bound/*");
    for _ in 0..11 {
        drive(&mut app, &api, key(KeyCode::Tab)); // … to "DPoP required"
    }
    drive(&mut app, &api, key(KeyCode::Char(' ')));
    drive(&mut app, &api, ctrl('s'));
    let table = api.get_routes().expect("routes");
    let added = table.routes.last().expect("added");
    assert_eq!(added.path, "/bound/*");
    assert_eq!(added.dpop, Some(portcullis_core::api::DpopPolicy::Required));
}

#[test]
fn editing_a_user_changes_the_profile_and_a_bad_email_marks_its_field() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('3')));
    let first = app.users.items[0].clone();
    drive(&mut app, &api, key(KeyCode::Char('e')));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("edit form open");
    };
    assert_eq!(form.text("password"), "", "a new password only when typed");
    // Password, then the name.
    drive(&mut app, &api, key(KeyCode::Tab));
    typed(&mut app, &api, "Alice Liddell");
    for _ in 0..3 {
        drive(&mut app, &api, key(KeyCode::Tab));
    }
    typed(&mut app, &api, "not-an-address");
    drive(&mut app, &api, ctrl('s'));
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("the form stays open");
    };
    assert!(form.is_at_fault("email"), "{:?}", form.error);
    for _ in 0.."not-an-address".len() {
        drive(&mut app, &api, key(KeyCode::Backspace));
    }
    typed(&mut app, &api, "alice@example.com");
    drive(&mut app, &api, ctrl('s'));
    assert!(app.modal.is_none());
    let edited = api.get_user(&first.id).expect("user");
    assert_eq!(edited.profile.name.as_deref(), Some("Alice Liddell"));
    assert_eq!(edited.profile.email.as_deref(), Some("alice@example.com"));
    assert_eq!(edited.profile.email_verified, Some(false));
    assert_eq!(edited.version, first.version + 1);
}
