//! The Users screen: the accounts of the password and authorization-code grants.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.users,
        &ScreenSpec {
            title: "Users",
            extra: String::new(),
            widths: &[
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(8),
            ],
        },
    );
}
