//! Rendering snapshots: the real app drawn on ratatui's `TestBackend` at 80×24 (the smallest
//! terminal we support) and wider, in normal, loading, dialog and error states.

use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;

use crate::app::{App, Msg, Status};
use crate::effects::Answer;
use crate::testing::{ctrl, drive, failure, key, sample, started, typed};

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| super::draw(f, app))
        .expect("drawing never fails");
    terminal.backend().to_string()
}

#[test]
fn clients_80x24() {
    let app = started(&sample());
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn clients_wide_side_by_side() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Down));
    drive(&mut app, &api, key(KeyCode::Tab));
    assert_snapshot!(render(&app, 130, 30));
}

#[test]
fn every_hint_line_shows_whole_at_80_columns_and_side_by_side() {
    let api = sample();
    let mut app = started(&api);
    for screen in crate::app::Screen::ALL {
        app.screen = screen;
        let hint = crate::app::keymap::hint(screen);
        for (width, height) in [(80, 24), (110, 30), (130, 30)] {
            let drawn = render(&app, width, height);
            assert!(
                drawn.contains(&hint),
                "{screen:?} at {width}x{height}: {hint:?} not whole in\n{drawn}"
            );
        }
    }
}

#[test]
fn clients_filtered() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('/')));
    typed(&mut app, &api, "web");
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn clients_loading_with_spinner() {
    let mut app = App::new("http://127.0.0.1:8787");
    let _ = app.start();
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn clients_load_error_and_server_down() {
    let mut app = App::new("http://127.0.0.1:8787");
    let _ = app.start();
    crate::app::update(
        &mut app,
        Msg::Api(Box::new(Answer::Clients(Err(failure(
            401,
            "invalid_token",
            "a valid admin bearer token is required",
            None,
        ))))),
    );
    crate::app::update(
        &mut app,
        Msg::Api(Box::new(Answer::Health(Err(
            crate::client::Failure::transport("connection refused"),
        )))),
    );
    assert!(matches!(app.clients.status, Status::Failed(_)));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn client_form_with_server_error_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "shop");
    for _ in 0..4 {
        drive(&mut app, &api, key(KeyCode::Tab));
    }
    typed(&mut app, &api, "http://shop.example.com/cb");
    drive(&mut app, &api, key(KeyCode::Enter));
    api.fail_next(failure(
        422,
        "invalid_value",
        "http is only allowed on loopback",
        Some("redirect_uris[0]"),
    ));
    drive(&mut app, &api, ctrl('s'));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn new_secret_modal() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "quarry");
    drive(&mut app, &api, ctrl('s'));
    drive(&mut app, &api, key(KeyCode::Char('c')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn typed_delete_confirmation() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('2')));
    drive(&mut app, &api, key(KeyCode::Char('d')));
    typed(&mut app, &api, "rea");
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn scopes_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('2')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn users_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('3')));
    drive(&mut app, &api, key(KeyCode::Char('t')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn help_overlay_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('?')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn keys_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('4')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn audit_80x24_following_with_filter() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('5')));
    drive(&mut app, &api, key(KeyCode::Char('F')));
    typed(&mut app, &api, "client.create");
    drive(&mut app, &api, ctrl('s'));
    drive(&mut app, &api, key(KeyCode::Char('f')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn edit_client_form_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('e')));
    drive(&mut app, &api, key(KeyCode::Tab));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn routes_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn grants_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('7')));
    assert_snapshot!(render(&app, 80, 24));
}

/// A screen whose list failed to (re)load: the server's message inline instead of the rows.
fn load_failed(screen: char) -> String {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char(screen)));
    api.fail_next(failure(
        503,
        "temporarily_unavailable",
        "the authority is restarting; retry in a moment",
        None,
    ));
    drive(&mut app, &api, key(KeyCode::Char('r')));
    render(&app, 80, 24)
}

#[test]
fn scopes_load_error_80x24() {
    assert_snapshot!(load_failed('2'));
}

#[test]
fn users_load_error_80x24() {
    assert_snapshot!(load_failed('3'));
}

#[test]
fn keys_load_error_80x24() {
    assert_snapshot!(load_failed('4'));
}

#[test]
fn audit_load_error_80x24() {
    assert_snapshot!(load_failed('5'));
}

#[test]
fn issuers_load_error_80x24() {
    assert_snapshot!(load_failed('8'));
}

#[test]
fn issuers_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn issuer_form_with_server_error_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('8')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "https://okta.example");
    drive(&mut app, &api, key(KeyCode::Tab));
    typed(&mut app, &api, "http://okta.example/keys");
    api.fail_next(failure(
        422,
        "invalid_value",
        "must be an https:// URL (http:// only on loopback)",
        Some("issuers[1].jwks_uri"),
    ));
    drive(&mut app, &api, ctrl('s'));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn rotate_secret_confirmation_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn rotate_secret_confirmation_waiting_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('s')));
    let _ = crate::app::update(&mut app, key(KeyCode::Char('y')));
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn new_user_form_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('3')));
    drive(&mut app, &api, key(KeyCode::Char('n')));
    typed(&mut app, &api, "carol");
    drive(&mut app, &api, key(KeyCode::Tab));
    typed(&mut app, &api, "hunter22");
    assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn edit_route_form_80x24() {
    let api = sample();
    let mut app = started(&api);
    drive(&mut app, &api, key(KeyCode::Char('6')));
    drive(&mut app, &api, key(KeyCode::Char('e')));
    assert_snapshot!(render(&app, 80, 24));
}
