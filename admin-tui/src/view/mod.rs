//! Drawing: pure functions from `&App` to a frame. One file per screen; this one lays out the
//! tab bar, the screen, the notice line, the status bar and any dialog or help on top.

mod audit;
mod clients;
mod dialogs;
mod form;
mod grants;
mod help;
mod issuers;
mod keys;
mod routes;
mod scopes;
mod users;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Paragraph, Row as TableRow, Table as TableWidget, TableState, Wrap,
};
use ratatui::Frame;

use crate::app::{keymap, App, Health, Modal, Pane, Row, Screen, Status, Table};
use crate::describe::Describe;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the whole app.
pub fn draw(frame: &mut Frame, app: &App) {
    let [tabs, body, notice, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_tabs(frame, tabs, app);
    match app.screen {
        Screen::Clients => clients::draw(frame, body, app),
        Screen::Scopes => scopes::draw(frame, body, app),
        Screen::Users => users::draw(frame, body, app),
        Screen::Keys => keys::draw(frame, body, app),
        Screen::Audit => audit::draw(frame, body, app),
        Screen::Routes => routes::draw(frame, body, app),
        Screen::Grants => grants::draw(frame, body, app),
        Screen::Issuers => issuers::draw(frame, body, app),
    }
    draw_notice(frame, notice, app);
    draw_status(frame, status, app);
    match &app.modal {
        Some(Modal::Form(_, f)) => form::draw(frame, f),
        Some(Modal::Confirm(c)) => dialogs::confirm(frame, c),
        Some(Modal::Secret(s)) => dialogs::secret(frame, s),
        None => {}
    }
    if app.help {
        help::draw(frame);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    let wide = area.width >= 90;
    if wide {
        spans.push(Span::styled(" portcullis ", Style::new().bold().reversed()));
    }
    for (i, s) in Screen::ALL.iter().enumerate() {
        // At 80 columns every tab and the help hint fit only one space apart.
        let label = format!(" {} {}{}", i + 1, s.title(), if wide { " " } else { "" });
        spans.push(if *s == app.screen {
            Span::styled(label, Style::new().fg(Color::Yellow).bold().underlined())
        } else {
            Span::raw(label)
        });
    }
    frame.render_widget(Line::from(spans), area);
    frame.render_widget(
        Line::from(Span::styled("? help ", Style::new().dim())).right_aligned(),
        area,
    );
}

fn draw_notice(frame: &mut Frame, area: Rect, app: &App) {
    let line = if let Some(filter) = active_filter(app) {
        Line::from(vec![
            Span::styled("/", Style::new().fg(Color::Yellow)),
            Span::raw(filter.to_owned()),
            Span::styled("▏", Style::new().fg(Color::Yellow)),
            Span::styled("  Enter keep · Esc clear", Style::new().dim()),
        ])
    } else {
        match &app.notice {
            Some(Ok(text)) => Line::styled(format!("✓ {text}"), Style::new().fg(Color::Green)),
            Some(Err(e)) => Line::styled(format!("✗ {e}"), Style::new().fg(Color::Red)),
            None => Line::default(),
        }
    };
    frame.render_widget(line, area);
}

fn active_filter(app: &App) -> Option<&str> {
    let cursor = app.cursor();
    cursor.filtering.then_some(cursor.filter.as_str())
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let spinner = if app.pending > 0 {
        let frame_no = usize::try_from(app.ticks).unwrap_or_default() % SPINNER.len();
        format!("{} ", SPINNER[frame_no])
    } else {
        "  ".to_owned()
    };
    let health = match &app.health {
        Health::Unknown => Span::styled("○ checking", Style::new().dim()),
        Health::Up { latency_ms } => Span::styled(
            format!("● up {latency_ms} ms"),
            Style::new().fg(Color::Green),
        ),
        Health::Down(why) => Span::styled(format!("● down: {why}"), Style::new().fg(Color::Red)),
    };
    let line = Line::from(vec![
        Span::styled(spinner, Style::new().fg(Color::Yellow)),
        Span::raw(app.url.clone()),
        Span::raw("  "),
        health,
    ]);
    frame.render_widget(
        Paragraph::new(line).style(Style::new().bg(Color::DarkGray)),
        area,
    );
}

/// Splits the body into the list and the detail pane: side by side when wide (the list half the
/// width, or wider when its `hint` line needs it); stacked when not, the list as tall as its
/// rows need (at least 6 lines, at most half), the detail the rest.
fn split(area: Rect, rows: usize, hint: &str) -> (Rect, Rect) {
    if area.width >= 110 {
        // The hint line and the pane's two borders.
        let needed = u16::try_from(hint.chars().count() + 2).unwrap_or(u16::MAX);
        let list = (area.width / 2).max(needed).min(area.width);
        let [list, detail] =
            Layout::horizontal([Constraint::Length(list), Constraint::Min(0)]).areas(area);
        return (list, detail);
    }
    // Borders, header and hint line take four lines around the rows.
    let wanted = u16::try_from(rows.saturating_add(4)).unwrap_or(u16::MAX);
    let list = wanted.clamp(6, (area.height / 2).max(6));
    let [list, detail] =
        Layout::vertical([Constraint::Length(list), Constraint::Min(0)]).areas(area);
    (list, detail)
}

fn pane_block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(title)
}

/// One list-and-detail screen over a table of records.
struct ScreenSpec<'a> {
    title: &'a str,
    /// Shown after the count in the list's title (e.g. the audit filters).
    extra: String,
    widths: &'a [Constraint],
}

fn draw_screen<T: Row + Describe>(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    table: &Table<T>,
    spec: &ScreenSpec<'_>,
) {
    let hint = keymap::hint(app.screen);
    let (list, detail) = split(area, table.visible().len(), &hint);
    draw_list(frame, list, app, table, spec, hint);
    let lines = table.current().map_or_else(Vec::new, Describe::fields);
    draw_detail(frame, detail, app, spec.title, lines);
}

/// The list pane: a table with a header and the cursor row, or the loading or error state.
fn draw_list<T: Row + Describe>(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    table: &Table<T>,
    spec: &ScreenSpec<'_>,
    hint: String,
) {
    let rows: Vec<Vec<String>> = table.visible().into_iter().map(Describe::row).collect();
    let filter = &table.cursor.filter;
    let mut title = format!(" {} ({}){} ", spec.title, rows.len(), spec.extra);
    if !filter.is_empty() {
        title = format!("{title}/{filter} ");
    }
    let block = pane_block(title, app.pane == Pane::List);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    if let Status::Failed(e) = &table.status {
        let text = vec![
            Line::styled("Could not load:", Style::new().fg(Color::Red).bold()),
            Line::styled(e.to_string(), Style::new().fg(Color::Red)),
            Line::styled("r retry", Style::new().dim()),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), table_area);
    } else if rows.is_empty() {
        let text = match table.status {
            Status::Loading | Status::Idle => "loading…",
            _ if !filter.is_empty() => "nothing matches the filter",
            _ => "none yet",
        };
        frame.render_widget(Paragraph::new(text).dim(), table_area);
    } else {
        let header = TableRow::new(T::HEADERS.iter().map(|h| Cell::from(*h)))
            .style(Style::new().bold().fg(Color::Cyan));
        let rows = rows.into_iter().map(TableRow::new);
        let widget = TableWidget::new(rows, spec.widths.iter().copied())
            .header(header)
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("▶ ");
        let mut state = TableState::default().with_selected(Some(table.cursor.selected));
        frame.render_stateful_widget(widget, table_area, &mut state);
    }
    frame.render_widget(Line::styled(hint, Style::new().dim()), foot);
}

/// The detail pane: label/value lines of the selected record.
fn draw_detail(frame: &mut Frame, area: Rect, app: &App, title: &str, lines: Vec<(&str, String)>) {
    let block = pane_block(format!(" {title} "), app.pane == Pane::Detail);
    let text: Vec<Line> = if lines.is_empty() {
        vec![Line::styled("nothing selected", Style::new().dim())]
    } else {
        lines
            .into_iter()
            .map(|(label, value)| {
                Line::from(vec![
                    Span::styled(format!("{label:<14}"), Style::new().fg(Color::Cyan)),
                    Span::raw(value),
                ])
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(text)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

/// The height of a bordered dialog whose `lines` wrap at `inner` columns.
fn boxed_height(lines: &[Line], inner: usize) -> u16 {
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner.max(1)))
        .sum();
    u16::try_from(rows + 2).unwrap_or(u16::MAX)
}

/// A centred rectangle of at most `width`×`height` inside `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod help_tests;
#[cfg(test)]
mod snapshots;
