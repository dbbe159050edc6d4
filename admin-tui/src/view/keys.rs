//! The Signing keys screen: each key's state (`next` → `current` → `retired`) and rotation.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.keys,
        &ScreenSpec {
            title: "Signing keys",
            extra: String::new(),
            widths: &[
                Constraint::Fill(2),
                Constraint::Length(6),
                Constraint::Length(8),
                Constraint::Length(19),
            ],
        },
    );
}
