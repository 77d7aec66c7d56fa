//! Single-key input for `watch`: the terminal leaves line mode while watching and is always put
//! back as it was.

use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Read};
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

/// Keeps the terminal in key-at-a-time mode (no echo) until dropped.
pub struct KeyMode {
    saved: rustix::termios::Termios,
}

impl KeyMode {
    pub fn enable() -> Result<KeyMode> {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
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
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

/// Key presses, read on a thread of their own because reading stdin blocks.
pub fn keys() -> mpsc::UnboundedReceiver<char> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut stdin = std::io::stdin();
        while let Ok(1) = stdin.read(&mut byte) {
            if tx.send(char::from(byte[0])).is_err() {
                break;
            }
        }
    });
    rx
}
