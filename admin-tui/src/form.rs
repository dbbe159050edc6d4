//! Forms: the fields of a create or edit dialog and how keys edit them.
//!
//! A form is plain state: text inputs, hidden inputs (passwords), toggles, multi-selects (grant
//! types, scopes) and list editors (redirect URIs, audiences). [`Form::key`] applies one key and
//! says whether the operator asked to submit or cancel; turning the values into a request body is
//! the caller's business (see `app.rs`).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::client::Failure;
use crate::effects::Ticket;

/// One editable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// Shown as bullets.
    Secret(String),
    Toggle(bool),
    /// Pick any number of `options`.
    Choice {
        options: Vec<String>,
        chosen: Vec<bool>,
        cursor: usize,
    },
    /// An ordered list of strings; `draft` is the line being typed.
    List {
        items: Vec<String>,
        cursor: usize,
        draft: String,
    },
}

impl Input {
    /// A multi-select over `options` with `selected` ticked.
    pub fn choice(options: Vec<String>, selected: &[String]) -> Self {
        let chosen = options.iter().map(|o| selected.contains(o)).collect();
        Self::Choice {
            options,
            chosen,
            cursor: 0,
        }
    }

    /// A list editor holding `items`.
    pub fn list(items: Vec<String>) -> Self {
        Self::List {
            items,
            cursor: 0,
            draft: String::new(),
        }
    }
}

/// A labelled input; `key` is the request body's field name (to match the server's `field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub input: Input,
}

impl Field {
    pub fn new(key: &'static str, label: &'static str, input: Input) -> Self {
        Self { key, label, input }
    }
}

/// What a key did to the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormEvent {
    Edited,
    Submit,
    Cancel,
}

/// A dialog's fields, the focused one, and the last error (local or from the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub error: Option<Failure>,
    /// A submission is on its way, and its answer will carry this ticket. Until it answers, only
    /// Esc is taken (it closes the form; the answer then goes to the notice line).
    pub waiting: Option<Ticket>,
}

impl Form {
    pub fn new(title: impl Into<String>, fields: Vec<Field>) -> Self {
        Self {
            title: title.into(),
            fields,
            focus: 0,
            error: None,
            waiting: None,
        }
    }

    /// Applies one key (Tab/Shift-Tab move between fields, Ctrl-S submits, Esc cancels, even
    /// while a submission is on its way).
    pub fn key(&mut self, key: KeyEvent) -> FormEvent {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return FormEvent::Cancel,
            _ if self.waiting.is_some() => return FormEvent::Edited,
            KeyCode::Char('s') if ctrl => return FormEvent::Submit,
            KeyCode::Tab => self.move_focus(1),
            KeyCode::BackTab => self.move_focus(self.fields.len() - 1),
            _ => return self.edit(key),
        }
        FormEvent::Edited
    }

    fn move_focus(&mut self, by: usize) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + by) % self.fields.len();
        }
    }

    /// Enter on the last field submits; elsewhere it moves on.
    fn next_or_submit(&mut self) -> FormEvent {
        if self.focus + 1 >= self.fields.len() {
            FormEvent::Submit
        } else {
            self.focus += 1;
            FormEvent::Edited
        }
    }

    fn edit(&mut self, key: KeyEvent) -> FormEvent {
        let Some(field) = self.fields.get_mut(self.focus) else {
            return FormEvent::Edited;
        };
        match &mut field.input {
            Input::Text(s) | Input::Secret(s) => match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => s.push(c),
                KeyCode::Backspace => {
                    s.pop();
                }
                KeyCode::Enter => return self.next_or_submit(),
                _ => {}
            },
            Input::Toggle(on) => match key.code {
                KeyCode::Char(' ') => *on = !*on,
                KeyCode::Enter => return self.next_or_submit(),
                _ => {}
            },
            Input::Choice {
                options,
                chosen,
                cursor,
            } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => *cursor = cursor.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    *cursor = (*cursor + 1).min(options.len().saturating_sub(1));
                }
                KeyCode::Char(' ') => {
                    if let Some(c) = chosen.get_mut(*cursor) {
                        *c = !*c;
                    }
                }
                KeyCode::Enter => return self.next_or_submit(),
                _ => {}
            },
            Input::List {
                items,
                cursor,
                draft,
            } => match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    draft.push(c);
                }
                KeyCode::Backspace if !draft.is_empty() => {
                    draft.pop();
                }
                KeyCode::Backspace | KeyCode::Delete if *cursor < items.len() => {
                    items.remove(*cursor);
                    *cursor = (*cursor).min(items.len().saturating_sub(1));
                }
                KeyCode::Up => *cursor = cursor.saturating_sub(1),
                KeyCode::Down => *cursor = (*cursor + 1).min(items.len().saturating_sub(1)),
                KeyCode::Enter if draft.trim().is_empty() => return self.next_or_submit(),
                KeyCode::Enter => {
                    items.push(draft.trim().to_owned());
                    *cursor = items.len() - 1;
                    draft.clear();
                }
                _ => {}
            },
        }
        FormEvent::Edited
    }

    fn input(&self, key: &str) -> Option<&Input> {
        self.fields.iter().find(|f| f.key == key).map(|f| &f.input)
    }

    /// The trimmed text of a text or secret field.
    pub fn text(&self, key: &str) -> String {
        match self.input(key) {
            Some(Input::Text(s) | Input::Secret(s)) => s.trim().to_owned(),
            _ => String::new(),
        }
    }

    pub fn toggle(&self, key: &str) -> bool {
        matches!(self.input(key), Some(Input::Toggle(true)))
    }

    /// The ticked options of a multi-select.
    pub fn chosen(&self, key: &str) -> Vec<String> {
        self.input(key).map(ticked).unwrap_or_default()
    }

    /// A list editor's items, plus a typed line not yet added with Enter.
    pub fn items(&self, key: &str) -> Vec<String> {
        match self.input(key) {
            Some(Input::List { items, draft, .. }) => {
                let mut all = items.clone();
                if !draft.trim().is_empty() {
                    all.push(draft.trim().to_owned());
                }
                all
            }
            _ => Vec::new(),
        }
    }

    /// Replaces a multi-select's options, keeping what was ticked (even if no longer offered).
    pub fn set_options(&mut self, key: &str, mut options: Vec<String>) {
        if let Some(field) = self.fields.iter_mut().find(|f| f.key == key) {
            if matches!(field.input, Input::Choice { .. }) {
                let kept = ticked(&field.input);
                for k in &kept {
                    if !options.contains(k) {
                        options.push(k.clone());
                    }
                }
                field.input = Input::choice(options, &kept);
            }
        }
    }

    /// A local validation failure shown like a server one, on `field`.
    pub fn reject(&mut self, field: &str, reason: &str) {
        self.error = Some(Failure {
            status: None,
            error: "invalid_value".into(),
            description: reason.into(),
            field: Some(field.into()),
        });
        if let Some(i) = self.fields.iter().position(|f| f.key == field) {
            self.focus = i;
        }
    }

    /// Whether the last error names this field (`redirect_uris[1]` names `redirect_uris`, and
    /// so does `clients[2].redirect_uris`: an entry of a table the server stores whole).
    pub fn is_at_fault(&self, key: &str) -> bool {
        self.error
            .as_ref()
            .and_then(|e| e.field.as_deref())
            .is_some_and(|f| {
                let f = f.split_once("].").map_or(f, |(_, inner)| inner);
                let f = f.trim_start_matches('.');
                f == key || f.starts_with(&format!("{key}[")) || f.starts_with(&format!("{key}."))
            })
    }
}

/// The ticked options of a multi-select (nothing for other inputs).
fn ticked(input: &Input) -> Vec<String> {
    match input {
        Input::Choice {
            options, chosen, ..
        } => options
            .iter()
            .zip(chosen)
            .filter(|(_, c)| **c)
            .map(|(o, _)| o.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(form: &mut Form, code: KeyCode) -> FormEvent {
        form.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn typed(form: &mut Form, text: &str) {
        for c in text.chars() {
            press(form, KeyCode::Char(c));
        }
    }

    fn sample() -> Form {
        Form::new(
            "t",
            vec![
                Field::new("name", "Name", Input::Text(String::new())),
                Field::new(
                    "grant_types",
                    "Grants",
                    Input::choice(vec!["a".into(), "b".into()], &[]),
                ),
                Field::new("redirect_uris", "Redirect URIs", Input::list(vec![])),
            ],
        )
    }

    #[test]
    fn typing_tab_and_space_fill_text_and_multi_select() {
        let mut f = sample();
        typed(&mut f, "web");
        press(&mut f, KeyCode::Tab);
        press(&mut f, KeyCode::Down);
        press(&mut f, KeyCode::Char(' '));
        assert_eq!(f.text("name"), "web");
        assert_eq!(f.chosen("grant_types"), vec!["b".to_owned()]);
    }

    #[test]
    fn list_editor_adds_on_enter_and_removes_with_backspace() {
        let mut f = sample();
        f.focus = 2;
        typed(&mut f, "https://a/cb");
        press(&mut f, KeyCode::Enter);
        typed(&mut f, "https://b/cb");
        press(&mut f, KeyCode::Enter);
        assert_eq!(f.items("redirect_uris").len(), 2);
        press(&mut f, KeyCode::Up);
        press(&mut f, KeyCode::Backspace);
        assert_eq!(f.items("redirect_uris"), vec!["https://b/cb".to_owned()]);
        assert_eq!(press(&mut f, KeyCode::Enter), FormEvent::Submit);
    }

    #[test]
    fn server_field_paths_point_at_the_form_field() {
        let mut f = sample();
        f.error = Some(Failure {
            status: Some(422),
            error: "invalid_value".into(),
            description: "x".into(),
            field: Some("redirect_uris[0]".into()),
        });
        assert!(f.is_at_fault("redirect_uris"));
        assert!(!f.is_at_fault("name"));
        if let Some(e) = &mut f.error {
            e.field = Some("routes[3].name".into());
        }
        assert!(f.is_at_fault("name"), "an entry's field in a whole table");
        assert!(!f.is_at_fault("routes"));
    }

    #[test]
    fn new_options_keep_what_was_ticked() {
        let mut f = sample();
        f.set_options("grant_types", vec!["a".into(), "b".into()]);
        f.focus = 1;
        press(&mut f, KeyCode::Char(' '));
        f.set_options("grant_types", vec!["b".into(), "c".into()]);
        assert_eq!(f.chosen("grant_types"), vec!["a".to_owned()]);
    }

    #[test]
    fn a_waiting_form_ignores_keys_but_esc() {
        let mut f = sample();
        f.waiting = Some(Ticket(1));
        typed(&mut f, "x");
        assert_eq!(press(&mut f, KeyCode::Tab), FormEvent::Edited);
        assert_eq!((f.text("name").as_str(), f.focus), ("", 0));
        assert_eq!(press(&mut f, KeyCode::Esc), FormEvent::Cancel);
    }
}
