//! The help overlay against the app on the real core in-process: every key that does
//! something on a screen is named in the overlay, and every line fits.

use ratatui::crossterm::event::KeyCode;

use super::help::{left, KEY, RIGHT};
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
        assert!(keys.chars().count() <= KEY, "{keys}");
        // 78 columns inside the border, two columns, one blank between them.
        assert!(KEY + 1 + what.chars().count() <= 38, "{what}");
    }
}
