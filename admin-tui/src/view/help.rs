//! The help overlay (`?`): every key, grouped by where it works, in two columns, with the screen
//! numbers underneath; it fits an 80×24 terminal. The list screens' keys come from the keymap
//! (`app::keymap`); the dialogs' from the table here.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::app::{keymap, Screen};

/// Keys that work in one place.
pub(super) struct Section {
    pub(super) title: &'static str,
    pub(super) keys: &'static [(&'static str, &'static str)],
}

/// The list screens' sections, from the keymap.
pub(super) fn left() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("Anywhere", keymap::help_lines(true).collect()),
        ("On a screen", keymap::help_lines(false).collect()),
    ]
}

/// The dialogs.
pub(super) const RIGHT: &[Section] = &[
    Section {
        title: "Forms",
        keys: &[
            ("Tab S-Tab", "next / previous field"),
            ("Enter", "next field; last: save"),
            ("Ctrl-S", "save"),
            ("Space", "tick an option, a toggle"),
            ("↑/↓ j/k", "move among options"),
            ("Enter", "list: add the typed line"),
            ("↑/↓", "list: pick an item"),
            ("Bksp Del", "list: remove the item"),
            ("Esc", "cancel, even while saving"),
        ],
    },
    Section {
        title: "Confirmations",
        keys: &[
            ("y n", "yes / no"),
            ("name Enter", "type the name, then go"),
            ("Esc", "cancel, even while busy"),
        ],
    },
    Section {
        title: "New secret",
        keys: &[
            ("c", "copy it (OSC 52)"),
            ("Enter Esc", "close: it is shown once"),
        ],
    },
];

/// Width of the key column.
pub(super) const KEY: usize = 12;

fn column<'a>(
    sections: impl IntoIterator<Item = (&'static str, &'a [(&'static str, &'static str)])>,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (title, keys) in sections {
        lines.push(Line::styled(title, Style::new().bold().fg(Color::Cyan)));
        for (keys, what) in keys {
            lines.push(Line::from(vec![
                Span::styled(format!("{keys:<KEY$} "), Style::new().fg(Color::Yellow)),
                Span::raw(*what),
            ]));
        }
    }
    lines
}

/// `1 Clients  2 Scopes  …`: what the number keys open.
fn screens() -> Line<'static> {
    let mut spans = Vec::new();
    for (i, s) in Screen::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(
            (i + 1).to_string(),
            Style::new().fg(Color::Yellow),
        ));
        spans.push(Span::raw(format!(" {}", s.title())));
    }
    Line::from(spans)
}

pub fn draw(frame: &mut Frame) {
    let left_sections = left();
    let left = column(left_sections.iter().map(|(t, k)| (*t, k.as_slice())));
    let right = column(RIGHT.iter().map(|s| (s.title, s.keys)));
    let rows = left.len().max(right.len()) + 1;
    let area = centered(
        frame.area(),
        80,
        u16::try_from(rows + 2).unwrap_or(u16::MAX),
    );
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" Keys (? or Esc to close) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [columns, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(columns);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
    frame.render_widget(screens().centered(), foot);
}
