//! Writing to the learner's screen: lines that fit the terminal's width, and output that goes on
//! quietly when its reader has gone away (`cargo kata run | head -1`), so that a closed pipe
//! never turns a failing run into an exit code of success.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// `println!` that ignores a reader who has gone away.
macro_rules! outln {
    () => { $crate::screen::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::screen::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that ignores a reader who has gone away.
macro_rules! out {
    ($($arg:tt)*) => { $crate::screen::write_stdout(format_args!($($arg)*)) };
}

pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // A closed pipe, most likely; the rest of the output has nowhere to go.
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// The terminal's width in columns, when stdout is a terminal; text for a pipe or a file is not
/// wrapped.
pub fn width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let columns =
        crate::terminal::columns().or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())?;
    (columns >= 20).then_some(columns)
}

/// Splits `text` into lines of at most `width` columns at spaces; the first line starts with
/// `first`, the others with `rest` (usually spaces, to line up under the first). A word longer
/// than a line is cut. Without a width, one line.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> Vec<String> {
    let Some(width) = width else {
        return vec![format!("{first}{text}")];
    };
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut used = columns(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = columns(word) + usize::from(!empty);
        if !empty && used + needed > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            used = columns(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
            used += 1;
        }
        // A word wider than the whole line is cut where the line ends.
        let mut word = word;
        while used + columns(word) > width && used < width && empty {
            let fits = width - used;
            let cut = word.char_indices().nth(fits).map_or(word.len(), |(i, _)| i);
            line.push_str(&word[..cut]);
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            used = columns(rest);
            word = &word[cut..];
            if word.is_empty() {
                break;
            }
        }
        if !word.is_empty() {
            line.push_str(word);
            used += columns(word);
            empty = false;
        }
    }
    lines.push(line);
    lines
}

/// Prints each line of `text` fitted to the terminal, indented by `indent` spaces, with wrapped
/// parts indented two more.
pub fn print_indented(text: &str, indent: usize) {
    let width = width();
    let (first, rest) = (" ".repeat(indent), " ".repeat(indent + 2));
    for line in text.lines() {
        let own = line.len() - line.trim_start().len();
        let (first, rest) = (
            format!("{first}{}", &line[..own]),
            format!("{rest}{}", &line[..own]),
        );
        for part in wrap(line.trim_start(), width, &first, &rest) {
            outln!("{part}");
        }
    }
}

/// Columns a piece of plain text takes: one per character, which is right for the text the
/// checker prints (no wide characters in its own words; colour codes are added afterwards).
fn columns(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_text_wraps_at_spaces_with_the_continuation_indent() {
        let lines = wrap(
            "A channel closes when every Sender is gone",
            Some(20),
            "> ",
            "  ",
        );
        assert_eq!(
            lines,
            ["> A channel closes", "  when every Sender", "  is gone"]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_and_no_width_means_one_line() {
        assert_eq!(wrap("abcdefghij", Some(6), "", ""), ["abcdef", "ghij"]);
        assert_eq!(wrap("a b", None, "- ", "  "), ["- a b"]);
    }
}
