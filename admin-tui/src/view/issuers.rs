//! The Issuers screen: the external issuers (Auth0, Okta, another Portcullis) whose tokens the
//! gateway accepts, each with its JWKS, audiences and algorithms.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    draw_screen(
        frame,
        area,
        app,
        &app.issuers,
        &ScreenSpec {
            title: "Trusted issuers",
            extra: format!(" v{}", app.issuers_version),
            widths: &[
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(16),
            ],
        },
    );
}
