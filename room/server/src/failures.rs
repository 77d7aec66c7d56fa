//! What two learners' failures have in common: the test and its message, without what changes
//! from one run to the next.
//!
//! A failure summary is learner text (the checker sends the failing test and the first line of
//! its message; older checkers sent libtest's `thread 'NAME' (ID) panicked at FILE:LINE:COL:`
//! line). Two learners with the same bug must land in one group, so the grouping text drops the
//! panic framing and blurs thread ids, addresses, process ids and measured times.

/// The text failures are grouped by, and shown as.
pub fn group_text(failure: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in failure.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let line = without_panic_frame(line);
        if line.is_empty() || line.ends_with(':') && lines.last().is_some_and(|l| l == line) {
            continue;
        }
        lines.push(blur(line));
    }
    // "name:" alone on its first line, the message on the next: one line, as the checker sends.
    if lines.len() > 1 && lines[0].ends_with(':') && !lines[0].contains(' ') {
        let message = lines.remove(1);
        lines[0] = format!("{} {message}", lines[0]);
    }
    lines.join("\n")
}

/// `name: thread 'name' (32152) panicked at src/lib.rs:65:5:` becomes `name:`, and a bare
/// `thread 'x' panicked at ...:` line becomes nothing: where it panicked is not the message.
fn without_panic_frame(line: &str) -> &str {
    let Some(start) = line.find("thread '") else {
        return line;
    };
    let rest = &line[start..];
    if !rest.contains(" panicked at ") || !rest.ends_with(':') {
        return line;
    }
    line[..start].trim_end()
}

const THREAD_ID: [char; 9] = ['T', 'h', 'r', 'e', 'a', 'd', 'I', 'd', '('];

/// Blurs what varies per run: hex addresses, `ThreadId(N)`, numbers of five digits or more
/// (process ids, ports, timestamps) and measured durations with a fraction (`1.203s`) or three
/// digits or more (`153ms`). Round figures such as `after 2s` or `left: 3` stay.
fn blur(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
        if chars[i..].starts_with(&THREAD_ID) {
            out.push_str("ThreadId(…");
            i += THREAD_ID.len();
            i += chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            continue;
        }
        if c == '0' && starts_word && chars.get(i + 1) == Some(&'x') {
            let digits = chars[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if digits >= 4 {
                out.push_str("0x…");
                i += 2 + digits;
                continue;
            }
        }
        if c.is_ascii_digit() && starts_word {
            let whole = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mut end = i + whole;
            let mut fraction = 0;
            if chars.get(end) == Some(&'.') {
                fraction = chars[end + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                if fraction > 0 {
                    end += 1 + fraction;
                }
            }
            let unit_len = duration_unit(&chars[end..]);
            let is_duration = unit_len > 0 && (fraction > 0 || whole >= 3);
            if is_duration {
                out.push('…');
                out.extend(&chars[end..end + unit_len]);
                i = end + unit_len;
                continue;
            }
            if whole >= 5 && fraction == 0 {
                out.push('…');
                i += whole;
                continue;
            }
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The length of a duration unit at the start of `rest`, if one is there and ends a word.
fn duration_unit(rest: &[char]) -> usize {
    for unit in ["ns", "µs", "us", "ms", "s"] {
        let len = unit.chars().count();
        let matches = rest.len() >= len && rest[..len].iter().copied().eq(unit.chars());
        if matches && rest.get(len).is_none_or(|c| !c.is_alphanumeric()) {
            return len;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_failure_in_two_runs_groups_together() {
        let one = "polls_once: thread 'polls_once' (32152) panicked at src/lib.rs:65:5:\n\
                   assertion `left == right` failed\n  left: 0\n right: 1";
        let two = "polls_once: thread 'polls_once' (977) panicked at src/lib.rs:65:5:\n\
                   assertion `left == right` failed\n  left: 0\n right: 1";
        assert_eq!(group_text(one), group_text(two));
        assert_eq!(
            group_text(one),
            "polls_once: assertion `left == right` failed\nleft: 0\nright: 1"
        );
        // As today's checker sends it: unchanged.
        let now = "polls_once: assertion `left == right` failed";
        assert_eq!(group_text(now), now);
    }

    #[test]
    fn what_varies_per_run_is_blurred_and_round_figures_stay() {
        assert_eq!(
            group_text("t: took 1.0234s, budget 2s, pid 48213 at 0x7ffd5a2b"),
            "t: took …s, budget 2s, pid … at 0x…"
        );
        assert_eq!(
            group_text("t: slept 153ms on ThreadId(12)"),
            "t: slept …ms on ThreadId(…)"
        );
        assert_eq!(group_text("t: left: 3 right: 40"), "t: left: 3 right: 40");
        assert_eq!(
            group_text("error[E0308]: mismatched types"),
            "error[E0308]: mismatched types"
        );
    }
}
