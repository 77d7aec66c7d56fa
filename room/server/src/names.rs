//! Learners' display names: what a name may be, and when two names look the same.
//!
//! Names are typed by learners and shown to the whole room, so a name is normalised before it
//! is kept (NFKC, one space between words) and refused when it holds characters nobody can see
//! (zero-width, bidi overrides, controls). Two names clash when their Unicode confusable
//! skeletons (UTS #39) match without regard to case: "Linus T", "Linus  T", "Lіnus T" with a
//! Cyrillic і, and "linus t" are one name.

use unicode_normalization::UnicodeNormalization;

/// Why a name was refused.
pub type NameError = String;

/// The name as the room keeps and shows it.
pub fn normalise(raw: &str) -> Result<String, NameError> {
    let composed: String = raw.nfkc().collect();
    if let Some(bad) = composed.chars().find(|&c| invisible(c)) {
        return Err(format!(
            "the name holds an invisible or control character (U+{:04X}): type it with visible \
             characters only",
            u32::from(bad)
        ));
    }
    // NFKC has already turned no-break and ideographic spaces into plain ones.
    let name = composed.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = name.chars().count();
    if chars == 0 {
        return Err("the name is empty".into());
    }
    if chars > room_protocol::MAX_NAME_CHARS {
        return Err(format!(
            "the name is {chars} characters long; the most is {}",
            room_protocol::MAX_NAME_CHARS
        ));
    }
    Ok(name)
}

/// What a name looks like: names with the same key cannot both be in the room.
pub fn look_alike_key(name: &str) -> String {
    // The skeleton maps look-alikes to one prototype (Cyrillic а to Latin a, 0 to O); case is
    // folded after, then the skeleton is taken again so folded letters meet their look-alikes.
    let skeleton: String = unicode_security::skeleton(name).collect();
    let folded = skeleton.to_lowercase();
    unicode_security::skeleton(&folded).collect()
}

/// Characters that change how a name looks or reads without being seen themselves: controls,
/// bidi overrides and isolates, zero-width characters and the other default-ignorable code
/// points (whose skeleton is empty).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || (!c.is_whitespace()
            && unicode_security::skeleton(c.encode_utf8(&mut [0; 4]))
                .next()
                .is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_invisible_characters_refused() {
        assert_eq!(normalise("  Linus \u{a0} T ").unwrap(), "Linus T");
        assert_eq!(normalise("Ｌｉｎｕｓ").unwrap(), "Linus");
        for bad in [
            "Linus\u{200b} T",
            "\u{202e}rorrim live",
            "Ada\u{2067}x",
            "tab\there",
            "",
            "   ",
        ] {
            assert!(normalise(bad).is_err(), "{bad:?} is refused");
        }
        assert!(normalise(&"x".repeat(41)).is_err());
        assert_eq!(normalise("José Ñ").unwrap(), "José Ñ");
    }

    #[test]
    fn look_alike_names_share_a_key() {
        let key = look_alike_key("Linus T");
        assert_eq!(look_alike_key("linus t"), key);
        // A Cyrillic і and a Cyrillic Т.
        assert_eq!(look_alike_key("L\u{456}nus \u{422}"), key);
        assert_ne!(look_alike_key("Linus B"), key);
        assert_eq!(look_alike_key("B0b"), look_alike_key("Bob"));
    }
}
