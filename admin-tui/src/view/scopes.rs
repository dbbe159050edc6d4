//! The Scopes screen: the scope catalogue clients draw from and the consent page describes.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.scopes,
        &ScreenSpec {
            title: "Scopes",
            extra: String::new(),
            widths: &[Constraint::Fill(1), Constraint::Fill(2)],
        },
    );
}
