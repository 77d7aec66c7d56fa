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
    std::thread::spawn(move || {
        let mut input = platform::Input::default();
        loop {
            let key = input.next_key();
            if tx.send(key).is_err() || key == Key::Stop {
                break;
            }
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
    use std::collections::VecDeque;
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

    /// What the terminal sent and no key has been made of yet.
    #[derive(Default)]
    pub struct Input {
        pending: VecDeque<u8>,
    }

    impl Input {
        pub fn next_key(&mut self) -> Key {
            loop {
                if self.pending.is_empty() {
                    let mut bytes = [0u8; 64];
                    match std::io::stdin().read(&mut bytes) {
                        Ok(0) | Err(_) => return Key::Stop,
                        Ok(read) => self.pending.extend(&bytes[..read]),
                    }
                }
                if let Some(key) = take_key(&mut self.pending) {
                    return key;
                }
            }
        }
    }

    /// The next key in what the terminal sent: a letter, Ctrl-D (EOT) to stop, or a lone Esc,
    /// which quits as on Windows. Ctrl-C stays a signal. An arrow, Home, a function key or an
    /// Alt+letter arrives as one escape sequence in one read: it is skipped whole, or its
    /// letters would count as keys (`ESC [ H` is Home, not Esc and `h`).
    pub(super) fn take_key(bytes: &mut VecDeque<u8>) -> Option<Key> {
        const ESC: u8 = 0x1b;
        match bytes.pop_front()? {
            0x04 => Some(Key::Stop),
            ESC if bytes.is_empty() => Some(Key::Char('q')),
            ESC => {
                match bytes.pop_front() {
                    // CSI: parameters up to a final byte between `@` and `~`.
                    Some(b'[') => {
                        while bytes
                            .pop_front()
                            .is_some_and(|b| !(0x40..=0x7e).contains(&b))
                        {}
                    }
                    // SS3 (F1 to F4, arrows in application mode): one more byte.
                    Some(b'O') => {
                        bytes.pop_front();
                    }
                    // Alt with a key: that key, gone too.
                    _ => {}
                }
                None
            }
            byte => Some(Key::Char(char::from(byte).to_ascii_lowercase())),
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

    /// Console input comes as key events already; nothing is kept between them.
    #[derive(Default)]
    pub struct Input {}

    impl Input {
        pub fn next_key(&mut self) -> Key {
            next_key()
        }
    }

    fn next_key() -> Key {
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

#[cfg(all(test, unix))]
mod tests {
    use super::platform::take_key;
    use super::Key;
    use std::collections::VecDeque;

    fn keys(sent: &[u8]) -> Vec<Key> {
        let mut bytes: VecDeque<u8> = sent.iter().copied().collect();
        let mut keys = Vec::new();
        while !bytes.is_empty() {
            keys.extend(take_key(&mut bytes));
        }
        keys
    }

    #[test]
    fn escape_sequences_are_not_keys() {
        // Up, Home, Delete (`ESC [ 3 ~`), F1 (`ESC O P`), Alt+h, each followed by `n`.
        for sent in [
            &b"\x1b[An"[..],
            b"\x1b[Hn",
            b"\x1b[3~n",
            b"\x1bOPn",
            b"\x1bhn",
        ] {
            assert_eq!(keys(sent), [Key::Char('n')], "{sent:?}");
        }
    }

    #[test]
    fn letters_esc_and_ctrl_d() {
        assert_eq!(keys(b"hR"), [Key::Char('h'), Key::Char('r')]);
        assert_eq!(keys(b"\x1b"), [Key::Char('q')]);
        assert_eq!(keys(b"\x04"), [Key::Stop]);
    }
}
