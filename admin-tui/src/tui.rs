//! The interactive terminal: raw mode, the event loop and its threads.
//!
//! One thread reads the terminal's events, one ticks four times a second, and each admin call
//! runs on its own thread (see `effects.rs`); all of them speak to the loop over one channel, so
//! drawing never waits on the network. `ratatui::init` installs a panic hook that restores the
//! terminal before the panic message is printed.

use std::io::{self, Write};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ratatui::crossterm::event::{self, Event};

use crate::app::{update, App, Msg};
use crate::client::AdminApi;
use crate::effects::{self, Cmd};
use crate::view;

const TICK: Duration = Duration::from_millis(250);

/// Runs the app until the operator quits.
pub fn run(api: &Arc<dyn AdminApi>, url: &str) -> io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, api, url);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    api: &Arc<dyn AdminApi>,
    url: &str,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    spawn_input(tx.clone());
    spawn_ticker(tx.clone());
    let mut app = App::new(url);
    for cmd in app.start() {
        dispatch(api, &tx, cmd)?;
    }
    while !app.quit {
        terminal.draw(|f| view::draw(f, &app))?;
        let Ok(first) = rx.recv() else { break };
        // Apply everything that queued up, then draw once.
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            for cmd in update(&mut app, msg) {
                dispatch(api, &tx, cmd)?;
            }
        }
    }
    Ok(())
}

fn dispatch(api: &Arc<dyn AdminApi>, tx: &Sender<Msg>, cmd: Cmd) -> io::Result<()> {
    match cmd {
        Cmd::Copy(text) => copy_osc52(&text),
        other => {
            effects::spawn(api, other, tx, |a| Msg::Api(Box::new(a)));
            Ok(())
        }
    }
}

/// The escape sequence that puts `text` on the terminal's clipboard: OSC 52, selection `c`,
/// the text in base64, ended by BEL (xterm's "Operating System Commands"; tmux passes it on,
/// or keeps it as a paste buffer, with `set-clipboard on`).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text))
}

/// Puts `text` on the clipboard of the operator's terminal (works over SSH and tmux).
fn copy_osc52(text: &str) -> io::Result<()> {
    let mut out = io::stdout();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

fn spawn_input(tx: Sender<Msg>) {
    thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Resize(..)) => Msg::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
}

fn spawn_ticker(tx: Sender<Msg>) {
    thread::spawn(move || {
        while tx.send(Msg::Tick).is_ok() {
            thread::sleep(TICK);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::osc52;

    #[test]
    fn osc52_carries_the_text_in_base64_for_the_clipboard_selection() {
        assert_eq!(osc52("s3cret"), "\x1b]52;c;czNjcmV0\x07");
        assert_eq!(osc52(""), "\x1b]52;c;\x07");
    }
}
