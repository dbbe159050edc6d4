//! The keymap of the list screens: every key binding declared once — its keys, where it works,
//! the [`Action`] it takes, its line in the help overlay and its words in each screen's hint
//! line. [`action`] resolves a key for the key handling, [`help_lines`] feeds the help overlay
//! and [`hint`] each screen's hint line, so the three cannot drift apart.
//!
//! The dialogs (forms, confirmations, the once-only secret) take their keys themselves; Ctrl-C
//! quits from anywhere, dialogs included, before any of this is asked.

use ratatui::crossterm::event::KeyCode;

use super::Screen;

/// What a bound key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    /// Open the screen the digit names (`1` the first).
    Open,
    NextScreen,
    PreviousScreen,
    SwapPane,
    Detail,
    Back,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    Filter,
    Reload,
    New,
    Edit,
    Toggle,
    RotateSecret,
    SignOut,
    RotateKeys,
    Delete,
    Older,
    Follow,
    AuditFilter,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Anywhere,
    On(Screen),
}

/// A binding's words in the hint lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Not in any hint line.
    Never,
    /// In the hint line of the one screen it works on.
    Here(&'static str),
    /// In the hint lines of these screens, in these words.
    On(&'static [(Screen, &'static str)]),
}

/// One key binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The keys that take the action (modifiers aside).
    pub keys: &'static [KeyCode],
    pub at: Where,
    pub action: Action,
    /// Its line in the help overlay: the keys as written there, and what they do. `None` when
    /// an earlier binding's line already covers it.
    pub help: Option<(&'static str, &'static str)>,
    pub hint: Hint,
}

use KeyCode::{BackTab, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};
use Screen::{Audit, Clients, Grants, Issuers, Keys, Routes, Scopes, Users};

const fn anywhere(
    keys: &'static [KeyCode],
    action: Action,
    help: Option<(&'static str, &'static str)>,
    hint: Hint,
) -> Binding {
    Binding {
        keys,
        at: Where::Anywhere,
        action,
        help,
        hint,
    }
}

const fn on(
    screen: Screen,
    keys: &'static [KeyCode],
    action: Action,
    help: Option<(&'static str, &'static str)>,
    hint: &'static str,
) -> Binding {
    Binding {
        keys,
        at: Where::On(screen),
        action,
        help,
        hint: Hint::Here(hint),
    }
}

/// Every binding of the list screens. The first that matches a key wins; the hint lines list a
/// screen's own bindings, then those that work anywhere, in this order.
pub const BINDINGS: &[Binding] = &[
    anywhere(
        &[
            Char('1'),
            Char('2'),
            Char('3'),
            Char('4'),
            Char('5'),
            Char('6'),
            Char('7'),
            Char('8'),
        ],
        Action::Open,
        Some(("1-8 ←/→ h/l", "switch screen")),
        Hint::Never,
    ),
    anywhere(&[Right, Char('l')], Action::NextScreen, None, Hint::Never),
    anywhere(
        &[Left, Char('h')],
        Action::PreviousScreen,
        None,
        Hint::Never,
    ),
    anywhere(
        &[Down, Char('j')],
        Action::Down,
        Some(("↑/↓ j/k", "move; scroll the detail")),
        Hint::Never,
    ),
    anywhere(&[Up, Char('k')], Action::Up, None, Hint::Never),
    anywhere(
        &[PageDown],
        Action::PageDown,
        Some(("PgUp PgDn", "move by ten")),
        Hint::Never,
    ),
    anywhere(&[PageUp], Action::PageUp, None, Hint::Never),
    anywhere(
        &[Home, Char('g')],
        Action::First,
        Some(("g G Home End", "first / last")),
        Hint::Never,
    ),
    anywhere(&[End, Char('G')], Action::Last, None, Hint::Never),
    anywhere(
        &[Tab, BackTab],
        Action::SwapPane,
        Some(("Tab Enter", "list ⇄ detail pane")),
        Hint::Never,
    ),
    anywhere(&[Enter], Action::Detail, None, Hint::Never),
    anywhere(
        &[Esc],
        Action::Back,
        Some(("Esc", "back out one level")),
        Hint::Never,
    ),
    anywhere(
        &[Char('/')],
        Action::Filter,
        Some(("/", "filter as you type")),
        Hint::On(&[
            (Clients, "filter"),
            (Scopes, "filter"),
            (Users, "filter"),
            (Audit, "search shown"),
            (Routes, "filter"),
            (Grants, "filter"),
            (Issuers, "filter"),
        ]),
    ),
    anywhere(
        &[Char('r')],
        Action::Reload,
        Some(("r", "reload")),
        Hint::On(&[
            (Scopes, "reload"),
            (Keys, "reload"),
            (Audit, "reload"),
            (Routes, "reload"),
            (Grants, "reload"),
            (Issuers, "reload"),
        ]),
    ),
    anywhere(
        &[Char('?')],
        Action::Help,
        Some(("?", "this help")),
        Hint::Never,
    ),
    anywhere(
        &[Char('q')],
        Action::Quit,
        Some(("q Ctrl-C", "quit")),
        Hint::Never,
    ),
    on(
        Clients,
        &[Char('n')],
        Action::New,
        Some(("n", "new record")),
        "new",
    ),
    on(Scopes, &[Char('n')], Action::New, None, "new"),
    on(Users, &[Char('n')], Action::New, None, "new"),
    on(Routes, &[Char('n')], Action::New, None, "add route"),
    on(Issuers, &[Char('n')], Action::New, None, "add issuer"),
    on(
        Clients,
        &[Char('e')],
        Action::Edit,
        Some(("e", "edit (user: profile)")),
        "edit",
    ),
    on(Users, &[Char('e')], Action::Edit, None, "edit"),
    on(Routes, &[Char('e')], Action::Edit, None, "edit"),
    on(Issuers, &[Char('e')], Action::Edit, None, "edit"),
    on(
        Clients,
        &[Char('t')],
        Action::Toggle,
        Some(("t o", "toggle; user: sign out")),
        "enable/disable",
    ),
    on(Users, &[Char('t')], Action::Toggle, None, "enable/disable"),
    on(
        Clients,
        &[Char('s')],
        Action::RotateSecret,
        Some(("s", "rotate a client's secret")),
        "rotate secret",
    ),
    on(Users, &[Char('o')], Action::SignOut, None, "sign out"),
    on(
        Keys,
        &[Char('R')],
        Action::RotateKeys,
        Some(("R", "rotate the signing keys")),
        "rotate (next → current → retired)",
    ),
    on(
        Clients,
        &[Char('d')],
        Action::Delete,
        Some(("d", "delete, remove, revoke")),
        "delete",
    ),
    on(Scopes, &[Char('d')], Action::Delete, None, "delete"),
    on(Users, &[Char('d')], Action::Delete, None, "delete"),
    on(
        Keys,
        &[Char('d')],
        Action::Delete,
        None,
        "revoke (compromise)",
    ),
    on(Routes, &[Char('d')], Action::Delete, None, "remove"),
    on(Grants, &[Char('d')], Action::Delete, None, "revoke"),
    on(Issuers, &[Char('d')], Action::Delete, None, "remove"),
    on(
        Audit,
        &[Char('m')],
        Action::Older,
        Some(("m f F", "audit older/follow/filter")),
        "older",
    ),
    on(Audit, &[Char('f')], Action::Follow, None, "follow"),
    on(Audit, &[Char('F')], Action::AuditFilter, None, "filter"),
];

/// The binding `code` takes on `screen`, if any.
pub fn binding(screen: Screen, code: KeyCode) -> Option<&'static Binding> {
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&code) && (b.at == Where::Anywhere || b.at == Where::On(screen)))
}

/// The help overlay's lines: those of the bindings that work anywhere, then those of the
/// screens' own.
pub fn help_lines(anywhere: bool) -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(move |b| (b.at == Where::Anywhere) == anywhere)
        .filter_map(|b| b.help)
}

/// The hint line of `screen`: its own bindings, then those that work anywhere, as `n new · …`.
pub fn hint(screen: Screen) -> String {
    let own = BINDINGS.iter().filter(|b| b.at == Where::On(screen));
    let anywhere = BINDINGS.iter().filter(|b| b.at == Where::Anywhere);
    let words: Vec<String> = own
        .chain(anywhere)
        .filter_map(|b| {
            let text = match b.hint {
                Hint::Never => None,
                Hint::Here(text) => Some(text),
                Hint::On(screens) => screens.iter().find(|(s, _)| *s == screen).map(|(_, t)| *t),
            }?;
            let Some(Char(key)) = b.keys.first() else {
                return None;
            };
            Some(format!("{key} {text}"))
        })
        .collect();
    words.join(" · ")
}
