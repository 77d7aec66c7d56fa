//! Text from code under test, made safe to show: a test's output may hold escape sequences that
//! clear or reset the learner's terminal (`ESC[2J`, `ESC c`), move the cursor, or pretend to be
//! the checker's own lines. Control characters are shown as visible symbols instead.

/// `text` with every control character but newline and tab replaced by a visible symbol:
/// `␛` for ESC, `␍` for a carriage return that does not end a line, and so on.
pub fn visible(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => shown.push(c),
            // Windows line endings are line endings.
            '\r' if chars.peek() == Some(&'\n') => {}
            // The C0 controls have pictures at U+2400 onwards.
            '\u{0}'..='\u{1f}' => shown.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => shown.push('␡'),
            // C1 controls: some terminals act on them too (U+009B is a one-character CSI).
            '\u{80}'..='\u{9f}' => shown.push('�'),
            _ => shown.push(c),
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn escape_sequences_and_stray_controls_become_visible() {
        assert_eq!(visible("a\x1b[2Jb\x1bc"), "a␛[2Jb␛c");
        assert_eq!(visible("bell\x07 del\x7f csi\u{9b}"), "bell␇ del␡ csi�");
        assert_eq!(visible("over\rwrite"), "over␍write");
    }

    #[test]
    fn lines_and_tabs_are_kept() {
        assert_eq!(visible("one\r\ntwo\n\tthree"), "one\ntwo\n\tthree");
    }
}
