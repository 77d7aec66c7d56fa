//! Single-key input for `watch`, on every platform: key presses come from crossterm, and the
//! terminal leaves line mode while watching and is always put back as it was.

use anyhow::{bail, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::IsTerminal;
use tokio::sync::mpsc;

/// Fails with a clear message when there is no terminal to talk to.
pub fn require_tty(command: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "`{command}` needs an interactive terminal; without one, use `cargo kata run` instead"
        );
    }
    Ok(())
}

/// What a key press asks for: a letter, or to stop (Ctrl-C, Ctrl-D, end of input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Stop,
}

/// Key presses, read on a thread of their own because reading them blocks.
pub fn keys() -> mpsc::UnboundedReceiver<Key> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || loop {
        let key = match event::read() {
            Ok(Event::Key(press)) if press.kind != KeyEventKind::Release => {
                let control = press.modifiers.contains(KeyModifiers::CONTROL);
                match press.code {
                    KeyCode::Char('c' | 'd') if control => Key::Stop,
                    KeyCode::Char(c) => Key::Char(c.to_ascii_lowercase()),
                    KeyCode::Esc => Key::Char('q'),
                    _ => continue,
                }
            }
            Ok(_) => continue,
            Err(_) => Key::Stop,
        };
        if tx.send(key).is_err() || key == Key::Stop {
            break;
        }
    });
    rx
}

pub use mode::KeyMode;

/// On Unix the terminal only leaves line mode and stops echoing: output processing and Ctrl-C
/// stay as they are, so everything printed while watching looks as it does elsewhere (crossterm's
/// raw mode would turn both off).
#[cfg(unix)]
mod mode {
    use anyhow::{Context, Result};
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions, Termios};

    /// Keeps the terminal in key-at-a-time mode (no echo) until dropped.
    pub struct KeyMode {
        saved: Termios,
    }

    impl KeyMode {
        pub fn enable() -> Result<KeyMode> {
            let stdin = std::io::stdin();
            let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
            let mut keys = saved.clone();
            keys.local_modes
                .remove(LocalModes::ICANON | LocalModes::ECHO);
            tcsetattr(&stdin, OptionalActions::Now, &keys)
                .context("cannot change the terminal's settings")?;
            Ok(KeyMode { saved })
        }
    }

    impl Drop for KeyMode {
        fn drop(&mut self) {
            let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
        }
    }
}

/// On Windows raw mode changes only the console's input; its output is untouched.
#[cfg(not(unix))]
mod mode {
    use anyhow::{Context, Result};

    pub struct KeyMode;

    impl KeyMode {
        pub fn enable() -> Result<KeyMode> {
            crossterm::terminal::enable_raw_mode()
                .context("cannot change the console's settings")?;
            Ok(KeyMode)
        }
    }

    impl Drop for KeyMode {
        fn drop(&mut self) {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}
