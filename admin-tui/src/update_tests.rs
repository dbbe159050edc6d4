//! Tests of the update logic against the in-memory API: each drives keys through `update`,
//! runs the commands it asks for, and checks both the app state and the fake server's state.

use portcullis_core::api::{Algorithm, KeyState};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{update, FormKind, Health, Modal, Msg, Pane, Screen, Status, HEALTH_EVERY};
use crate::effects::Cmd;
use crate::fake::{answer_to, ctrl, drive, failure, key, sample, started, typed};

#[test]
fn start_loads_clients_scopes_and_health() {
    let api = sample();
    let app = started(&api);
    assert_eq!(app.clients.status, Status::Ready);
    assert_eq!(app.clients.items.len(), 3);
    assert_eq!(app.scopes.items.len(), 2);
    assert_eq!(app.health, Health::Up { latency_ms: 7 });
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
    {
        let s = api.state();
        let made = s
            .clients
            .iter()
            .find(|c| c.name == "quarry")
            .expect("created");
        assert_eq!(made.scopes, ["read"]);
        assert_eq!(
            made.grant_types,
            [portcullis_core::api::GrantType::ClientCredentials]
        );
    }
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("the secret is shown: {:?}", app.modal);
    };
    assert_eq!(shown.secret, "s3cret-shown-once");
    let copied = drive(&mut app, &api, key(KeyCode::Char('c')));
    assert_eq!(copied, ["s3cret-shown-once"]);
    drive(&mut app, &api, key(KeyCode::Esc));
    assert!(app.modal.is_none());
    assert!(
        !format!("{app:?}").contains("s3cret-shown-once"),
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
    api.state().fail_next = Some(failure(
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
    let calls = api.state().calls.len();
    drive(&mut app, &api, key(KeyCode::Char('n')));
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(api.state().calls.len(), calls);
    let Some(Modal::Form(_, form)) = &app.modal else {
        panic!("form open");
    };
    assert!(form.is_at_fault("name"));
}

#[test]
fn delete_goes_ahead_only_when_the_exact_name_is_typed() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('2')));
    assert_eq!(app.screen, Screen::Scopes);
    drive(&mut app, &api, key(KeyCode::Char('d')));
    typed(&mut app, &api, "rea");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(!api.state().calls.iter().any(|c| c == "delete_scope"));
    typed(&mut app, &api, "d");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(api.state().scopes.iter().all(|s| s.name != "read"));
    assert!(app.modal.is_none());
    assert_eq!(app.scopes.items.len(), 1, "list reloaded");
}

#[test]
fn a_failed_load_shows_inline_and_r_retries() {
    let api = sample();
    let mut app = started(&api);
    api.state().fail_next = Some(failure(503, "temporarily_unavailable", "retry", None));
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
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert!(api.state().users[0].disabled);
    assert!(app.users.items[0].disabled);
    // Someone else changes it; our copy is now stale.
    api.state().users[0].version += 1;
    let cmds = update(&mut app, key(KeyCode::Char('t')));
    let [Cmd::UpdateUser { version, .. }] = cmds.as_slice() else {
        panic!("one update: {cmds:?}");
    };
    let answer = crate::effects::execute(&api, cmds[0].clone()).expect("an answer");
    assert_eq!(*version, 2);
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
    let before = api.state().calls.len();
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let calls = api.state().calls[before..].to_vec();
    assert_eq!(calls, ["sign_out_user"]);
    let id = app.users.items[0].id.clone();
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
    api.state().fail_next = Some(crate::client::Failure::transport("connection refused"));
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
    let s = api.state();
    assert_eq!(s.clients[0].name, "billing-v2");
    assert_eq!(s.clients[0].version, 2);
    assert!(app.modal.is_none());
}

#[test]
fn t_disables_then_enables_a_client() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert!(api.state().clients[0].disabled);
    assert!(app.clients.items[0].disabled, "list reloaded");
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert!(!api.state().clients[0].disabled);
}

#[test]
fn deleting_a_client_needs_its_name_typed() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('j')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    typed(&mut app, &api, "billing");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert_eq!(api.state().clients.len(), 3, "wrong name: nothing deleted");
    for _ in 0.."billing".len() {
        drive(&mut app, &api, key(KeyCode::Backspace));
    }
    typed(&mut app, &api, "mobile-app");
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(api.state().clients.iter().all(|c| c.name != "mobile-app"));
    assert_eq!(app.clients.items.len(), 2);
}

#[test]
fn rotating_a_secret_asks_first_then_shows_the_new_secret_once() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    assert!(app.modal.is_none(), "n declines");
    assert!(!api.state().calls.iter().any(|c| c == "rotate_secret"));
    drive(&mut app, &api, key(KeyCode::Char('s')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let Some(Modal::Secret(shown)) = &app.modal else {
        panic!("secret shown: {:?}", app.modal);
    };
    assert_eq!(shown.secret, "rotated-secret-shown-once");
    assert_eq!(api.state().clients[0].secrets.len(), 1);
}

#[test]
fn a_refused_rotation_shows_the_server_error_in_the_dialog() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    api.state().fail_next = Some(failure(
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
    assert_eq!(app.keys.items.len(), 2);
    drive(&mut app, &api, key(KeyCode::Char('R')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let states: Vec<(String, KeyState)> = app
        .keys
        .items
        .iter()
        .map(|k| (k.kid.clone(), k.state))
        .collect();
    assert_eq!(
        states,
        [
            ("k2".to_owned(), KeyState::Next),
            ("k-next".to_owned(), KeyState::Current),
            ("k-current".to_owned(), KeyState::Retired),
        ]
    );
}

#[test]
fn audit_pages_with_the_cursor_and_filters_on_the_server() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('5')));
    assert_eq!(app.audit.items.len(), crate::app::AUDIT_PAGE);
    assert!(app.audit_next.is_some());
    drive(&mut app, &api, key(KeyCode::Char('m')));
    assert_eq!(app.audit.items.len(), 60, "the older page is appended");
    assert!(app.audit_next.is_none());
    let ids: Vec<&str> = app.audit.items.iter().map(|e| e.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, no duplicates");
    drive(&mut app, &api, key(KeyCode::Char('F')));
    typed(&mut app, &api, "scope.create");
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(app.audit_query.action.as_deref(), Some("scope.create"));
    assert_eq!(app.audit.items.len(), 20);
    assert!(app.audit.items.iter().all(|e| e.action == "scope.create"));
}

#[test]
fn follow_mode_polls_and_puts_new_events_on_top() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('5')));
    drive(&mut app, &api, key(KeyCode::Char('f')));
    assert!(app.follow);
    api.state()
        .audit
        .insert(0, crate::fake::event(61, "client.delete", "c-web-0003"));
    for _ in 0..crate::app::FOLLOW_EVERY {
        drive(&mut app, &api, Msg::Tick);
    }
    assert_eq!(app.audit.items[0].action, "client.delete");
    assert_eq!(app.audit.items.len(), crate::app::AUDIT_PAGE + 1);
    drive(&mut app, &api, key(KeyCode::Char('f')));
    let polls = api.state().calls.iter().filter(|c| *c == "audit").count();
    for _ in 0..crate::app::FOLLOW_EVERY {
        drive(&mut app, &api, Msg::Tick);
    }
    let after = api.state().calls.iter().filter(|c| *c == "audit").count();
    assert_eq!(polls, after, "no polling once follow is off");
}

#[test]
fn adding_a_route_puts_the_whole_table_with_its_version() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    assert_eq!(app.screen, Screen::Routes);
    assert_eq!(app.routes.items.len(), 2);
    assert_eq!(app.route_table.version, 3);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "/admin/*");
    drive(&mut app, &api, key(KeyCode::Tab)); // methods
    drive(&mut app, &api, key(KeyCode::Char(' '))); // GET
    drive(&mut app, &api, key(KeyCode::Tab)); // origin
    drive(&mut app, &api, key(KeyCode::Tab)); // scopes
    drive(&mut app, &api, key(KeyCode::Down));
    drive(&mut app, &api, key(KeyCode::Char(' '))); // write
    drive(&mut app, &api, ctrl('s'));
    let s = api.state();
    assert_eq!(s.routes.version, 4);
    let added = s.routes.routes.last().expect("added");
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
    api.state().routes.version = 9; // someone else changed it meanwhile
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let Some(Modal::Confirm(c)) = &app.modal else {
        panic!("the dialog stays with the error");
    };
    assert_eq!(c.error.as_ref().and_then(|e| e.status), Some(412));
    assert_eq!(api.state().routes.routes.len(), 2, "nothing lost");
    drive(&mut app, &api, key(KeyCode::Esc));
    drive(&mut app, &api, key(KeyCode::Char('r')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let paths: Vec<String> = api
        .state()
        .routes
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
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    assert!(api.state().grants.iter().all(|g| g.id != "g-1"));
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
            api.state().fail_next = Some(failure(412, "precondition_failed", "stale", None));
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
    api.state().fail_next = Some(failure(409, "conflict", "scope first exists", None));
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
    assert_eq!(shown.secret, "s3cret-shown-once");
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
    api.state().fail_next = Some(failure(
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
    assert_eq!(shown.secret, "rotated-secret-shown-once");
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
    drive(&mut app, &api, ctrl('s'));
    let s = api.state();
    assert_eq!(s.routes.version, 4);
    let paths: Vec<&str> = s.routes.routes.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/api/*", "/health"], "replaced, not added");
    assert_eq!(
        s.routes.routes[0].issuer.as_deref(),
        Some("https://tenant.auth0.example")
    );
    assert_eq!(s.routes.routes[0].scopes, ["read"]);
}

#[test]
fn adding_an_issuer_puts_the_whole_list_with_its_version() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    assert_eq!(app.screen, Screen::Issuers);
    assert_eq!((app.issuers.items.len(), app.issuers_version), (1, 2));
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
    let s = api.state();
    assert_eq!(s.issuers.version, 3);
    let added = s.issuers.issuers.last().expect("added");
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
    let calls = api.state().calls.len();
    drive(&mut app, &api, ctrl('s'));
    assert_eq!(api.state().calls.len(), calls);
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
    assert_eq!(api.state().issuers.issuers.len(), 1, "replaced in place");
    assert!(api.state().issuers.issuers[0]
        .jwks_uri
        .ends_with("jwks.jsoS"));
    api.state()
        .issuers
        .issuers
        .push(crate::fake::issuer("https://b.example"));
    drive(&mut app, &api, key(KeyCode::Char('r')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    assert_eq!(api.state().issuers.issuers.len(), 2, "n declines");
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Char('y')));
    let left: Vec<String> = api
        .state()
        .issuers
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
    drive(&mut app, &api, key(KeyCode::Char('d')));
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(
        !api.state().calls.iter().any(|c| c == "revoke_key"),
        "nothing is sent before the kid is typed"
    );
    for c in kid.chars() {
        drive(&mut app, &api, key(KeyCode::Char(c)));
    }
    drive(&mut app, &api, key(KeyCode::Enter));
    assert!(api.state().calls.iter().any(|c| c == "revoke_key"));
    assert!(app.keys.items.iter().all(|k| k.kid != kid));
    assert!(matches!(&app.notice, Some(Ok(n)) if n.contains(&kid)));
}
