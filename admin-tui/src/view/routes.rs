//! The Routes screen: the gateway's route table (which requests need which token and scopes).

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.routes,
        &ScreenSpec {
            title: "Routes",
            extra: format!(" v{}", app.route_table.version),
            widths: &[
                Constraint::Fill(2),
                Constraint::Fill(1),
                Constraint::Fill(2),
                Constraint::Length(7),
            ],
        },
    );
}
