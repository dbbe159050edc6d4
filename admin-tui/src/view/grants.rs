//! The Grants screen: what each user has authorised each client to do, and revocation.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.grants,
        &ScreenSpec {
            title: "Grants",
            extra: String::new(),
            widths: &[
                Constraint::Fill(1),
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(19),
            ],
        },
    );
}
