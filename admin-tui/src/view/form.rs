//! A create or edit form drawn as a dialog: one line per field, the focused field marked, the
//! field the server (or a local check) blamed in red, and the error itself under the fields.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{boxed_height, centered};
use crate::form::{Form, Input};

/// Width of the label column (marker + label).
const LABEL: usize = 21;
/// Widest the dialog gets.
const WIDTH: u16 = 78;

pub fn draw(frame: &mut Frame, form: &Form) {
    let inner = usize::from(WIDTH.min(frame.area().width).saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let label_style = if form.is_at_fault(field.key) {
            Style::new().fg(Color::Red).bold()
        } else if focused {
            Style::new().fg(Color::Yellow).bold()
        } else {
            Style::new().fg(Color::Cyan)
        };
        let marker = if focused { "▶ " } else { "  " };
        let label = Span::styled(format!("{marker}{:<19}", field.label), label_style);
        lines.extend(flow(label, value_spans(&field.input, focused), inner));
    }
    lines.push(Line::default());
    if let Some(e) = &form.error {
        lines.push(Line::styled(format!("✗ {e}"), Style::new().fg(Color::Red)));
    } else if form.waiting.is_some() {
        lines.push(Line::styled(
            "saving… (Esc closes; the answer goes to the notice line)",
            Style::new().fg(Color::Yellow),
        ));
    }
    lines.push(Line::styled(
        "Tab next · Space tick · Enter add/next · Ctrl-S save · Esc cancel",
        Style::new().dim(),
    ));
    let area = centered(frame.area(), WIDTH, boxed_height(&lines, inner));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::new().fg(Color::Yellow))
                .title(format!(" {} ", form.title)),
        ),
        area,
    );
}

/// Lays a label and its value pieces out over as many lines as the width needs, continuation
/// lines indented under the value column (options and list items are never split).
fn flow<'a>(label: Span<'a>, pieces: Vec<Span<'a>>, width: usize) -> Vec<Line<'a>> {
    let room = width.saturating_sub(LABEL).max(10);
    let mut lines = Vec::new();
    let mut current = vec![label];
    let mut used = 0;
    for piece in pieces {
        let w = piece.width();
        if used > 0 && used + w > room {
            lines.push(Line::from(std::mem::take(&mut current)));
            current.push(Span::raw(" ".repeat(LABEL)));
            used = 0;
        }
        used += w;
        current.push(piece);
    }
    lines.push(Line::from(current));
    lines
}

fn cursor() -> Span<'static> {
    Span::styled("▏", Style::new().fg(Color::Yellow))
}

fn value_spans(input: &Input, focused: bool) -> Vec<Span<'static>> {
    match input {
        Input::Text(s) => {
            let mut v = vec![Span::raw(s.clone())];
            if focused {
                v.push(cursor());
            }
            v
        }
        Input::Secret(s) => {
            let mut v = vec![Span::raw("•".repeat(s.chars().count()))];
            if focused {
                v.push(cursor());
            }
            v
        }
        Input::Toggle(on) => vec![Span::raw(if *on { "[x] yes" } else { "[ ] no" })],
        Input::Choice {
            options,
            chosen,
            cursor: at,
        } => {
            if options.is_empty() {
                return vec![Span::styled("(none defined)", Style::new().dim())];
            }
            options
                .iter()
                .zip(chosen)
                .enumerate()
                .map(|(i, (o, c))| {
                    let text = format!("[{}] {o} ", if *c { "x" } else { " " });
                    if focused && i == *at {
                        Span::styled(text, Style::new().reversed())
                    } else {
                        Span::raw(text)
                    }
                })
                .collect()
        }
        Input::List {
            items,
            cursor: at,
            draft,
        } => {
            let mut v: Vec<Span> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let text = format!("{item} · ");
                    if focused && i == *at && draft.is_empty() {
                        Span::styled(text, Style::new().reversed())
                    } else {
                        Span::raw(text)
                    }
                })
                .collect();
            if focused {
                v.push(Span::styled("+ ", Style::new().fg(Color::Yellow)));
                v.push(Span::raw(draft.clone()));
                v.push(cursor());
            } else if items.is_empty() {
                v.push(Span::styled("(none)", Style::new().dim()));
            }
            v
        }
    }
}
