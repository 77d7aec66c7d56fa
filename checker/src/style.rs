//! Colour and the look of errors. Colour is off when NO_COLOR is set or stdout is not a terminal.

use colored::Colorize;
use std::io::IsTerminal;

pub fn configure() {
    // `colored` already honours NO_COLOR and CLICOLOR_FORCE; a pipe gets plain text as well.
    let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0");
    if !std::io::stdout().is_terminal() && !forced {
        colored::control::set_override(false);
    }
}

pub fn color_enabled() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// One clear line (plus its causes) on stderr.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("{} {err:#}", "error:".red().bold());
}

pub fn warning(message: &str) {
    eprintln!("{} {message}", "warning:".yellow().bold());
}
