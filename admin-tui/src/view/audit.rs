//! The Audit screen: who did what to which target, newest first, page by page, with server-side
//! filters and a follow mode that polls for new events.

use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

use super::{draw_screen, ScreenSpec};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let q = &app.audit_query;
    let mut parts: Vec<String> = Vec::new();
    if let Some(action) = &q.action {
        parts.push(format!(" action={action}"));
    }
    if let Some(target) = &q.target {
        parts.push(format!(" target={target}"));
    }
    if app.follow {
        parts.push(" · following".into());
    }
    if app.audit_next.is_some() {
        parts.push(" · more".into());
    }
    let extra = parts.concat();
    draw_screen(
        frame,
        area,
        app,
        &app.audit,
        &ScreenSpec {
            title: "Audit",
            extra,
            widths: &[
                Constraint::Length(19),
                Constraint::Length(21),
                Constraint::Fill(2),
                Constraint::Fill(1),
            ],
        },
    );
}
