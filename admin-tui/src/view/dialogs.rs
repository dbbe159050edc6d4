//! Dialogs over the screen: a confirmation (typed name or y/n) and the once-only secret.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{boxed_height, centered};
use crate::app::{Confirm, SecretShown};

fn boxed(frame: &mut Frame, title: &str, lines: Vec<Line>, width: u16, color: Color) {
    let inner = usize::from(width.min(frame.area().width).saturating_sub(2));
    let area = centered(frame.area(), width, boxed_height(&lines, inner));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::new().fg(color))
                .title(format!(" {title} ")),
        ),
        area,
    );
}

pub fn confirm(frame: &mut Frame, c: &Confirm) {
    let mut lines = vec![Line::raw(c.message.clone()), Line::default()];
    if let Some(expect) = &c.expect {
        let style = if c.typed == *expect {
            Style::new().fg(Color::Green)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw("> "),
            Span::styled(c.typed.clone(), style),
            Span::styled("▏", Style::new().fg(Color::Yellow)),
        ]));
    }
    if let Some(e) = &c.error {
        lines.push(Line::styled(format!("✗ {e}"), Style::new().fg(Color::Red)));
    } else if c.waiting.is_some() {
        lines.push(Line::styled(
            "working… (Esc closes; the answer goes to the notice line)",
            Style::new().fg(Color::Yellow),
        ));
    }
    lines.push(Line::styled(
        if c.expect.is_some() {
            "Enter confirm (once the name matches) · Esc cancel"
        } else {
            "y yes · n / Esc no"
        },
        Style::new().dim(),
    ));
    boxed(frame, &c.title, lines, 64, Color::Red);
}

pub fn secret(frame: &mut Frame, s: &SecretShown) {
    let lines = vec![
        Line::raw(format!("Client {} ({})", s.client_name, s.client_id)),
        Line::default(),
        Line::styled(s.secret.clone(), Style::new().fg(Color::Yellow).bold()),
        Line::default(),
        Line::styled(
            "You will not see this secret again. Store it now.",
            Style::new().fg(Color::Red).bold(),
        ),
        Line::default(),
        Line::from(vec![
            Span::raw("c copy to clipboard · Enter/Esc close"),
            if s.copied {
                Span::styled("   ✓ copied", Style::new().fg(Color::Green))
            } else {
                Span::raw("")
            },
        ]),
    ];
    boxed(frame, "New client secret", lines, 72, Color::Yellow);
}
