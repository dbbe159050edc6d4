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
struct Section {
    title: &'static str,
    keys: &'static [(&'static str, &'static str)],
}

/// The list screens' sections, from the keymap.
fn left() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("Anywhere", keymap::help_lines(true).collect()),
        ("On a screen", keymap::help_lines(false).collect()),
    ]
}

/// The dialogs.
const RIGHT: &[Section] = &[
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
const KEY: usize = 12;

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

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::KeyCode;

    use super::{left, RIGHT};
    use crate::app::{update, Screen};
    use crate::testing::{drive, key, sample, started};

    /// Whether a key column names `c`: as itself, in `j/k`, or in a range like `1-8`.
    fn names(keys: &str, c: char) -> bool {
        let one = |s: &str| s.chars().count() == 1 && s.starts_with(c);
        keys.split_whitespace().any(|token| {
            let range = token.split_once('-').and_then(|(a, b)| {
                let (a, b) = (a.parse::<char>().ok()?, b.parse::<char>().ok()?);
                Some((a..=b).contains(&c))
            });
            one(token) || token.split('/').any(one) || range == Some(true)
        })
    }

    /// Every line of the overlay: the keymap's and the dialogs'.
    fn lines() -> Vec<(&'static str, &'static str)> {
        let dialogs = RIGHT.iter().flat_map(|s| s.keys.iter().copied());
        left()
            .into_iter()
            .flat_map(|(_, k)| k)
            .chain(dialogs)
            .collect()
    }

    fn help_names(c: char) -> bool {
        lines().iter().any(|(keys, _)| names(keys, c))
    }

    #[test]
    fn help_lists_every_key_a_screen_answers() {
        let api = sample();
        let mut app = started(&api);
        for (n, screen) in Screen::ALL.iter().enumerate() {
            let digit = char::from_digit(u32::try_from(n + 1).expect("small"), 10);
            drive(&mut app, &api, key(KeyCode::Char(digit.expect("a digit"))));
            assert_eq!(app.screen, *screen);
            for c in '!'..='~' {
                let before = app.clone();
                let mut app = app.clone();
                let cmds = update(&mut app, key(KeyCode::Char(c)));
                if !cmds.is_empty() || app != before {
                    assert!(help_names(c), "{c:?} does something on {screen:?}");
                }
            }
        }
    }

    #[test]
    fn every_line_fits_half_of_80_columns_with_a_gap() {
        for (keys, what) in lines() {
            assert!(keys.chars().count() <= super::KEY, "{keys}");
            // 78 columns inside the border, two columns, one blank between them.
            assert!(super::KEY + 1 + what.chars().count() <= 38, "{what}");
        }
    }
}
