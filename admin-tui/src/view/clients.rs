//! The Clients screen: every registered client, filterable, with the selected one in detail.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.clients,
        &ScreenSpec {
            title: "Clients",
            extra: String::new(),
            widths: &[
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(12),
                Constraint::Length(8),
            ],
        },
    );
}
