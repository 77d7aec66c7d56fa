//! Single-key input for `watch`: the terminal leaves line mode while watching and is always put
//! back as it was. On Unix the terminal is driven through termios, which the checker needs
//! anyway; on Windows through crossterm, the ecosystem's cross-platform terminal library (on Unix
//! it would add its own event loop and a second build of shared dependencies to a learner's
//! first build, for nothing termios does not do).

use anyhow::{bail, Result};
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
        let key = platform::next_key();
        if tx.send(key).is_err() || key == Key::Stop {
            break;
        }
    });
    rx
}

/// The terminal's width in columns, if it says.
pub fn columns() -> Option<usize> {
    platform::columns()
}

pub use platform::KeyMode;

/// On Unix the terminal only leaves line mode and stops echoing: output processing and Ctrl-C
/// stay as they are, so everything printed while watching looks as it does elsewhere.
#[cfg(unix)]
mod platform {
    use super::Key;
    use anyhow::{Context, Result};
    use rustix::termios::{
        tcgetattr, tcgetwinsize, tcsetattr, LocalModes, OptionalActions, Termios,
    };
    use std::io::Read;

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

    /// One byte is one key here: letters, and Ctrl-D (EOT) to stop. Ctrl-C stays a signal.
    pub fn next_key() -> Key {
        let mut byte = [0u8; 1];
        match std::io::stdin().read(&mut byte) {
            Ok(1) if byte[0] == 0x04 => Key::Stop,
            Ok(1) if byte[0] == 0x1b => Key::Char('q'),
            Ok(1) => Key::Char(char::from(byte[0]).to_ascii_lowercase()),
            _ => Key::Stop,
        }
    }

    pub fn columns() -> Option<usize> {
        tcgetwinsize(std::io::stdout())
            .ok()
            .map(|size| usize::from(size.ws_col))
            .filter(|&columns| columns > 0)
    }
}

/// On Windows raw mode changes only the console's input; its output is untouched.
#[cfg(not(unix))]
mod platform {
    use super::Key;
    use anyhow::{Context, Result};
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

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

    pub fn next_key() -> Key {
        loop {
            match event::read() {
                Ok(Event::Key(press)) if press.kind != KeyEventKind::Release => {
                    let control = press.modifiers.contains(KeyModifiers::CONTROL);
                    return match press.code {
                        KeyCode::Char('c' | 'd') if control => Key::Stop,
                        KeyCode::Char(c) => Key::Char(c.to_ascii_lowercase()),
                        KeyCode::Esc => Key::Char('q'),
                        _ => continue,
                    };
                }
                Ok(_) => continue,
                Err(_) => return Key::Stop,
            }
        }
    }

    pub fn columns() -> Option<usize> {
        crossterm::terminal::size()
            .ok()
            .map(|(columns, _)| usize::from(columns))
    }
}
