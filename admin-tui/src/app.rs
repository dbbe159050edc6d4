//! The operator app's state and its pure update function.
//!
//! [`App`] is all there is to draw; [`Msg`] is everything that can happen (a key, a clock tick,
//! a resize, an answer from the server); [`update`] changes the state and answers the admin
//! calls to make as [`Cmd`]s, which the effects layer runs off the UI thread. Nothing here does
//! I/O, so every rule below is tested with plain values. This file holds the state and the
//! navigation every screen shares; `keymap` binds the keys, `actions` says what each screen's
//! actions do, `forms` builds the forms and their requests, `answers` applies the server's
//! replies.

use std::collections::VecDeque;

use portcullis_core::api::{
    AuditEvent, AuditQuery, Client, GrantType, GrantView, KeyInfo, Route, Scope, TrustedIssuer,
    User,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::client::Failure;
use crate::effects::{Answer, AuditInto, Cmd, Ticket};
use crate::form::Form;

mod actions;
mod answers;
mod forms;
pub mod keymap;

use actions::{modal_key, screen_key};
use answers::on_answer;
use keymap::Action;

/// Ticks between two health checks (a tick is 250 ms in the terminal).
pub const HEALTH_EVERY: u64 = 40;

/// Ticks between two audit polls in follow mode.
pub const FOLLOW_EVERY: u64 = 8;

/// Audit events per page.
pub const AUDIT_PAGE: usize = 50;

/// Every grant type a client can be given, in the order the form lists them.
pub const GRANT_TYPES: [GrantType; 5] = [
    GrantType::ClientCredentials,
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::Password,
    GrantType::Implicit,
];

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Tick,
    Resize,
    Api(Box<Answer>),
}

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Clients,
    Scopes,
    Users,
    Keys,
    Audit,
    Routes,
    Grants,
    Issuers,
}

impl Screen {
    pub const ALL: [Screen; 8] = [
        Screen::Clients,
        Screen::Scopes,
        Screen::Users,
        Screen::Keys,
        Screen::Audit,
        Screen::Routes,
        Screen::Grants,
        Screen::Issuers,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Clients => "Clients",
            Self::Scopes => "Scopes",
            Self::Users => "Users",
            Self::Keys => "Keys",
            Self::Audit => "Audit",
            Self::Routes => "Routes",
            Self::Grants => "Grants",
            Self::Issuers => "Issuers",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Detail,
}

/// Where a list's data stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Idle,
    Loading,
    Ready,
    Failed(Failure),
}

/// A row type the incremental filter can match.
pub trait Row {
    /// Whether the row matches a lower-case needle.
    fn matches(&self, needle: &str) -> bool;
}

fn any_contains(fields: &[&str], needle: &str) -> bool {
    fields.iter().any(|f| f.to_lowercase().contains(needle))
}

impl Row for Client {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.name, &self.client_id], needle)
    }
}

impl Row for Scope {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.name, &self.description], needle)
    }
}

impl Row for User {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.username, &self.id], needle)
    }
}

impl Row for KeyInfo {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.kid, self.alg.as_str()], needle)
    }
}

impl Row for AuditEvent {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.action, &self.target, &self.actor], needle)
    }
}

impl Row for Route {
    fn matches(&self, needle: &str) -> bool {
        any_contains(
            &[&self.path, self.origin.as_deref().unwrap_or_default()],
            needle,
        )
    }
}

impl Row for GrantView {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.user, &self.client_id, &self.id], needle)
    }
}

impl Row for TrustedIssuer {
    fn matches(&self, needle: &str) -> bool {
        any_contains(&[&self.issuer, &self.jwks_uri], needle)
    }
}

/// The cursor and the incremental filter of a list (the part that does not depend on the rows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Index into the visible rows.
    pub selected: usize,
    pub filter: String,
    /// The filter line has the keyboard.
    pub filtering: bool,
}

/// A list of records with a cursor and an incremental filter. The data stays on screen while
/// it reloads.
#[derive(Debug, Clone, PartialEq)]
pub struct Table<T> {
    pub items: Vec<T>,
    pub status: Status,
    pub cursor: Cursor,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            status: Status::Idle,
            cursor: Cursor::default(),
        }
    }
}

impl<T: Row> Table<T> {
    /// Where in `items` the rows the filter lets through are.
    fn visible_at(&self) -> Vec<usize> {
        let needle = self.cursor.filter.to_lowercase();
        (0..self.items.len())
            .filter(|i| self.items[*i].matches(&needle))
            .collect()
    }

    /// The rows the filter lets through.
    pub fn visible(&self) -> Vec<&T> {
        self.visible_at()
            .into_iter()
            .filter_map(|i| self.items.get(i))
            .collect()
    }

    /// Where in `items` the row under the cursor is.
    pub fn current_at(&self) -> Option<usize> {
        self.visible_at().get(self.cursor.selected).copied()
    }

    /// The row under the cursor.
    pub fn current(&self) -> Option<&T> {
        self.current_at().and_then(|i| self.items.get(i))
    }

    fn fill(&mut self, result: Result<Vec<T>, Failure>) {
        match result {
            Ok(items) => {
                self.items = items;
                self.status = Status::Ready;
                self.move_by(0);
            }
            Err(e) => self.status = Status::Failed(e),
        }
    }

    fn load(&mut self, cmd: Cmd) -> Vec<Cmd> {
        self.status = Status::Loading;
        vec![cmd]
    }
}

/// What every list offers whatever its rows: the cursor, moving it, and its load state.
trait List {
    fn cursor(&self) -> &Cursor;
    fn cursor_mut(&mut self) -> &mut Cursor;
    fn status(&self) -> &Status;
    fn move_by(&mut self, delta: isize);
}

impl<T: Row> List for Table<T> {
    fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }

    fn status(&self) -> &Status {
        &self.status
    }

    fn move_by(&mut self, delta: isize) {
        let len = self.visible_at().len();
        self.cursor.selected = self
            .cursor
            .selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }
}

/// What the route table holds besides its routes: a change sends both back unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteTableMeta {
    pub version: u64,
    pub case_sensitive: bool,
}

/// One entry of a table the server stores and replaces whole (routes, trusted issuers): the
/// table as it was read at `version`, and the entry a form replaces (`None`: it adds one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    pub version: u64,
    pub table: Vec<T>,
    pub at: Option<usize>,
}

impl<T: Row + Clone> Entry<T> {
    /// A new entry for `table` (`edit`: the one under the cursor, if any).
    fn of(table: &Table<T>, version: u64, edit: bool) -> Option<Self> {
        let at = if edit {
            Some(table.current_at()?)
        } else {
            None
        };
        Some(Self {
            version,
            table: table.items.clone(),
            at,
        })
    }

    /// The entry being edited.
    fn current(&self) -> Option<&T> {
        self.at.and_then(|i| self.table.get(i))
    }

    /// The table with `item` in place of the edited entry, or added at the end.
    fn with(&self, item: T) -> Vec<T> {
        let mut table = self.table.clone();
        match self.at.and_then(|i| table.get_mut(i)) {
            Some(slot) => *slot = item,
            None => table.push(item),
        }
        table
    }

    /// The table without the entry under the cursor (the entry, and what is left).
    fn without_current(table: &Table<T>) -> Option<(&T, Vec<T>)> {
        let at = table.current_at()?;
        let mut rest = table.items.clone();
        rest.remove(at);
        Some((table.items.get(at)?, rest))
    }
}

/// What a form creates or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    NewClient,
    EditClient {
        id: String,
        version: u64,
    },
    AuditFilter,
    NewScope,
    NewUser,
    UserPassword {
        id: String,
        version: u64,
    },
    /// A route added to (or changed in) the route table.
    /// A route of the table; the table's `case_sensitive` goes back with it unchanged.
    Route(Entry<Route>, bool),
    /// A trusted issuer added to (or changed in) the issuer list.
    Issuer(Entry<TrustedIssuer>),
}

/// A question the operator must answer before a change is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub message: String,
    /// When set, the operator must type exactly this (a name) to go ahead; otherwise `y`.
    pub expect: Option<String>,
    pub typed: String,
    pub cmd: Box<Cmd>,
    /// The call is on its way with this ticket; only Esc is taken until it answers.
    pub waiting: Option<Ticket>,
    pub error: Option<Failure>,
}

/// A freshly issued secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretShown {
    pub client_id: String,
    pub client_name: String,
    pub secret: String,
    pub copied: bool,
}

/// A dialog over the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Form(FormKind, Form),
    Confirm(Confirm),
    Secret(SecretShown),
}

impl Modal {
    /// The ticket of the call this dialog waits for.
    fn waiting(&self) -> Option<Ticket> {
        match self {
            Self::Form(_, form) => form.waiting,
            Self::Confirm(c) => c.waiting,
            Self::Secret(_) => None,
        }
    }

    /// The call it waited for failed: show why and take keys again.
    fn fail(&mut self, e: Failure) {
        match self {
            Self::Form(_, form) => {
                form.waiting = None;
                form.error = Some(e);
            }
            Self::Confirm(c) => {
                c.waiting = None;
                c.error = Some(e);
            }
            Self::Secret(_) => {}
        }
    }
}

/// Is the server reachable, and how fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up { latency_ms: u128 },
    Down(String),
}

/// The whole state of the operator app.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub url: String,
    pub screen: Screen,
    pub pane: Pane,
    pub detail_scroll: u16,
    pub health: Health,
    /// Admin calls on their way (the spinner turns while > 0).
    pub pending: usize,
    pub ticks: u64,
    pub clients: Table<Client>,
    pub scopes: Table<Scope>,
    pub users: Table<User>,
    pub keys: Table<KeyInfo>,
    pub audit: Table<AuditEvent>,
    /// The server-side audit filters (action, target); pages follow them.
    pub audit_query: AuditQuery,
    /// Where the next (older) audit page starts; `None` at the end.
    pub audit_next: Option<String>,
    /// Poll for new audit events.
    pub follow: bool,
    pub routes: Table<Route>,
    /// The route table's version (its `ETag`), sent back with a change.
    /// The route table's version and `case_sensitive`, as last read.
    pub route_table: RouteTableMeta,
    pub grants: Table<GrantView>,
    /// The external issuers the gateway trusts.
    pub issuers: Table<TrustedIssuer>,
    /// The issuer list's version (its `ETag`), sent back with a change.
    pub issuers_version: u64,
    pub modal: Option<Modal>,
    /// Secrets issued while another dialog was open, shown (once) as soon as it closes.
    pub unseen_secrets: VecDeque<SecretShown>,
    /// The last ticket handed to a dialog's call.
    pub tickets: u64,
    pub help: bool,
    /// The outcome of the last action, shown above the status bar.
    pub notice: Option<Result<String, Failure>>,
    pub quit: bool,
}

impl App {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            screen: Screen::Clients,
            pane: Pane::List,
            detail_scroll: 0,
            health: Health::Unknown,
            pending: 0,
            ticks: 0,
            clients: Table::default(),
            scopes: Table::default(),
            users: Table::default(),
            keys: Table::default(),
            audit: Table::default(),
            audit_query: AuditQuery::default(),
            audit_next: None,
            follow: false,
            routes: Table::default(),
            route_table: RouteTableMeta::default(),
            grants: Table::default(),
            issuers: Table::default(),
            issuers_version: 0,
            modal: None,
            unseen_secrets: VecDeque::new(),
            tickets: 0,
            help: false,
            notice: None,
            quit: false,
        }
    }

    /// The first calls: health, and the data of the first screen (plus scopes, which the client
    /// form offers).
    pub fn start(&mut self) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Health];
        cmds.extend(self.clients.load(Cmd::ListClients));
        cmds.extend(self.scopes.load(Cmd::ListScopes));
        self.pending += cmds.iter().filter(|c| c.shows_spinner()).count();
        cmds
    }

    /// The current screen's list.
    fn list(&self) -> &dyn List {
        match self.screen {
            Screen::Clients => &self.clients,
            Screen::Scopes => &self.scopes,
            Screen::Users => &self.users,
            Screen::Keys => &self.keys,
            Screen::Audit => &self.audit,
            Screen::Routes => &self.routes,
            Screen::Grants => &self.grants,
            Screen::Issuers => &self.issuers,
        }
    }

    fn list_mut(&mut self) -> &mut dyn List {
        match self.screen {
            Screen::Clients => &mut self.clients,
            Screen::Scopes => &mut self.scopes,
            Screen::Users => &mut self.users,
            Screen::Keys => &mut self.keys,
            Screen::Audit => &mut self.audit,
            Screen::Routes => &mut self.routes,
            Screen::Grants => &mut self.grants,
            Screen::Issuers => &mut self.issuers,
        }
    }

    /// The current screen's list cursor and filter.
    pub fn cursor(&self) -> &Cursor {
        self.list().cursor()
    }

    fn cursor_mut(&mut self) -> &mut Cursor {
        self.list_mut().cursor_mut()
    }

    /// `call`, labelled with a new ticket so that its answer finds the dialog that sent it.
    fn ticketed(&mut self, call: Cmd) -> (Ticket, Cmd) {
        self.tickets += 1;
        let ticket = Ticket(self.tickets);
        let cmd = Cmd::Dialog {
            ticket,
            call: Box::new(call),
        };
        (ticket, cmd)
    }

    fn filtering(&self) -> bool {
        self.cursor().filtering
    }

    /// The first page of the audit log under the current filters.
    fn audit_first_page(&mut self, into: AuditInto) -> Vec<Cmd> {
        let query = AuditQuery {
            limit: Some(AUDIT_PAGE),
            cursor: None,
            ..self.audit_query.clone()
        };
        self.audit.load(Cmd::Audit { query, into })
    }
}

/// Applies one message; answers the admin calls to make.
pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let cmds = match msg {
        Msg::Key(k) if k.kind != KeyEventKind::Release => key(app, k),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Tick => {
            app.ticks += 1;
            let mut cmds = Vec::new();
            if app.ticks.is_multiple_of(HEALTH_EVERY) {
                cmds.push(Cmd::Health);
            }
            if app.follow
                && app.ticks.is_multiple_of(FOLLOW_EVERY)
                && app.audit.status != Status::Loading
            {
                cmds.extend(app.audit_first_page(AuditInto::Merge));
            }
            cmds
        }
        Msg::Api(answer) => {
            if !matches!(*answer, Answer::Health(_)) {
                app.pending = app.pending.saturating_sub(1);
            }
            on_answer(app, *answer, None)
        }
    };
    app.pending += cmds.iter().filter(|c| c.shows_spinner()).count();
    if app.modal.is_none() {
        app.modal = app.unseen_secrets.pop_front().map(Modal::Secret);
    }
    cmds
}

fn key(app: &mut App, k: KeyEvent) -> Vec<Cmd> {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        app.quit = true;
        return Vec::new();
    }
    if k.modifiers.contains(KeyModifiers::ALT) {
        // Esc followed at once by a key reaches us as Alt+key (over SSH, tmux, or pasted):
        // nothing here uses Alt, so honour both keys.
        let mut cmds = key(app, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        cmds.extend(key(
            app,
            KeyEvent::new(k.code, k.modifiers.difference(KeyModifiers::ALT)),
        ));
        return cmds;
    }
    if app.help {
        if matches!(k.code, KeyCode::Esc | KeyCode::Char('?' | 'q')) {
            app.help = false;
        }
        return Vec::new();
    }
    if let Some(modal) = app.modal.take() {
        return modal_key(app, modal, k);
    }
    if app.filtering() {
        filter_key(app, k);
        return Vec::new();
    }
    global_key(app, k)
}

/// Keys while the incremental filter line is open.
fn filter_key(app: &mut App, k: KeyEvent) {
    let cursor = app.cursor_mut();
    match k.code {
        KeyCode::Char(c) => {
            cursor.filter.push(c);
            cursor.selected = 0;
        }
        KeyCode::Backspace => {
            cursor.filter.pop();
            cursor.selected = 0;
        }
        KeyCode::Enter => cursor.filtering = false,
        KeyCode::Esc => {
            cursor.filter.clear();
            cursor.filtering = false;
        }
        _ => {}
    }
}

/// Shows `screen`, loading its list on the first visit.
fn switch(app: &mut App, screen: Screen) -> Vec<Cmd> {
    app.screen = screen;
    app.pane = Pane::List;
    app.detail_scroll = 0;
    if *app.list().status() == Status::Idle {
        reload(app)
    } else {
        Vec::new()
    }
}

fn reload(app: &mut App) -> Vec<Cmd> {
    match app.screen {
        Screen::Clients => app.clients.load(Cmd::ListClients),
        Screen::Scopes => app.scopes.load(Cmd::ListScopes),
        Screen::Users => app.users.load(Cmd::ListUsers),
        Screen::Keys => app.keys.load(Cmd::ListKeys),
        Screen::Audit => app.audit_first_page(AuditInto::Replace),
        Screen::Routes => app.routes.load(Cmd::ListRoutes),
        Screen::Grants => app.grants.load(Cmd::ListGrants),
        Screen::Issuers => app.issuers.load(Cmd::ListIssuers),
    }
}

fn move_cursor(app: &mut App, delta: isize) {
    if app.pane == Pane::Detail {
        app.detail_scroll = app
            .detail_scroll
            .saturating_add_signed(i16::try_from(delta.clamp(-100, 100)).unwrap_or_default());
        return;
    }
    app.detail_scroll = 0;
    app.list_mut().move_by(delta);
}

/// The keys of the list screens, as the keymap binds them.
fn global_key(app: &mut App, k: KeyEvent) -> Vec<Cmd> {
    let Some(binding) = keymap::binding(app.screen, k.code) else {
        return Vec::new();
    };
    let screens = Screen::ALL.len();
    match binding.action {
        Action::Quit => app.quit = true,
        Action::Help => app.help = true,
        Action::Open => {
            let digit = match k.code {
                KeyCode::Char(c) => c.to_digit(10),
                _ => None,
            };
            let screen =
                digit.and_then(|d| Screen::ALL.get(usize::try_from(d).ok()?.checked_sub(1)?));
            if let Some(screen) = screen {
                return switch(app, *screen);
            }
        }
        Action::NextScreen => {
            return switch(app, Screen::ALL[(app.screen.index() + 1) % screens]);
        }
        Action::PreviousScreen => {
            return switch(
                app,
                Screen::ALL[(app.screen.index() + screens - 1) % screens],
            );
        }
        Action::SwapPane => {
            app.pane = match app.pane {
                Pane::List => Pane::Detail,
                Pane::Detail => Pane::List,
            };
        }
        Action::Detail => app.pane = Pane::Detail,
        Action::Back => {
            if app.pane == Pane::Detail {
                app.pane = Pane::List;
            } else {
                app.cursor_mut().filter.clear();
            }
        }
        Action::Down => move_cursor(app, 1),
        Action::Up => move_cursor(app, -1),
        Action::PageDown => move_cursor(app, 10),
        Action::PageUp => move_cursor(app, -10),
        Action::First => move_cursor(app, -100_000),
        Action::Last => move_cursor(app, 100_000),
        Action::Filter => {
            app.pane = Pane::List;
            app.cursor_mut().filtering = true;
        }
        Action::Reload => return reload(app),
        action => return screen_key(app, action),
    }
    Vec::new()
}
