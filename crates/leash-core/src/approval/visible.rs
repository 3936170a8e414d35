//! Rendering untrusted text (an argv the model proposed) for a person who must
//! approve it, so that what they read is what will run.
//!
//! Terminal control sequences could repaint the prompt, bidi overrides could
//! reorder `rm -rf ~ # docs` into something harmless-looking, and zero-width
//! characters could hide inside a path. Each of those is shown as a visible
//! escape instead. Printable text, including non-ASCII letters, is kept as is.

/// Whether `c` must be shown as an escape rather than printed.
///
/// Covers C0/C1 controls and DEL, the Unicode bidi controls (embeddings,
/// overrides, isolates, marks), zero-width and invisible format characters,
/// line/paragraph separators, and the byte-order mark. Whitespace other than the
/// plain space is also escaped: a tab or a no-break space inside an argument is
/// worth noticing.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // bidi: LRM RLM ALM, embeddings/overrides, isolates
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        // zero-width space/non-joiner/joiner, word joiner, invisible operators
        | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}'
        // soft hyphen, combining grapheme joiner, Hangul fillers, Mongolian vowel separator
        | '\u{ad}' | '\u{34f}' | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' | '\u{180e}'
        // unusual spaces and separators
        | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}'
        | '\u{202f}' | '\u{205f}' | '\u{3000}'
        // byte-order mark / zero-width no-break space, interlinear annotations, tags
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}'
    )
}

/// One argument as a person should see it: escapes for invisible or dangerous
/// characters, and quotes when the argument is empty or contains a space, so
/// that word boundaries are unambiguous.
pub fn visible_arg(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    for c in arg.chars() {
        if needs_escape(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\u{1b}' => out.push_str("\\e"),
                other => out.push_str(&format!("\\u{{{:04x}}}", u32::from(other))),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    if arg.is_empty() || arg.contains(' ') || arg.contains('"') {
        format!("\"{}\"", out.replace('"', "\\\""))
    } else {
        out
    }
}

/// Free text (a rule's reason) with invisible or dangerous characters escaped,
/// but without the quoting that marks argument boundaries.
pub fn visible_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A whole argv, one visible argument after another.
pub fn visible_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| visible_arg(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any character of `text` would be escaped: used to warn the person
/// that the command contains hidden characters.
pub fn has_hidden_characters(text: &str) -> bool {
    text.chars().any(needs_escape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("ls", "ls")]
    #[case::empty("", "\"\"")]
    #[case::space("a b", "\"a b\"")]
    #[case::newline("a\nb", "a\\nb")]
    #[case::escape_sequence("\u{1b}[2Jok", "\\e[2Jok")]
    #[case::rlo_override("x\u{202e}fdp.exe", "x\\u{202e}fdp.exe")]
    #[case::lri_isolate("\u{2066}a", "\\u{2066}a")]
    #[case::zero_width_space("r\u{200b}m", "r\\u{200b}m")]
    #[case::zero_width_joiner("a\u{200d}b", "a\\u{200d}b")]
    #[case::bom("\u{feff}rm", "\\u{feff}rm")]
    #[case::nbsp("a\u{a0}b", "a\\u{00a0}b")]
    #[case::c1_csi("a\u{9b}b", "a\\u{009b}b")]
    #[case::backslash("a\\b", "a\\\\b")]
    #[case::quote_and_space("say \"hi\"", "\"say \\\"hi\\\"\"")]
    #[case::non_ascii_letters_kept("café", "café")]
    fn visible_arg_escapes_what_a_person_cannot_see(#[case] input: &str, #[case] shown: &str) {
        assert_eq!(visible_arg(input), shown);
    }

    #[test]
    fn visible_argv_keeps_word_boundaries() {
        assert_eq!(
            visible_argv(&["rm", "-rf", "my dir", "a;b"]),
            "rm -rf \"my dir\" a;b"
        );
    }

    #[test]
    fn visible_text_escapes_without_quoting() {
        assert_eq!(visible_text("a b\u{202e}c"), "a b\\u{202e}c");
    }

    #[test]
    fn hidden_characters_are_detected() {
        assert!(has_hidden_characters("ls\u{200b}"));
        assert!(!has_hidden_characters("ls -la"));
    }
}
