//! Escaping untrusted text (prompts, file names, command output, model text)
//! for a person's terminal: control characters (C0, DEL, C1 — `ESC[`, `CSI`
//! can rewrite the screen or the title, fake a prompt, or hide a line),
//! bidirectional overrides (which reorder what is shown) and zero-width
//! characters are shown as `\u{…}` escapes. Newlines and tabs stay in
//! multi-line text ([`escape_text`]) and are escaped on one line
//! ([`escape_line`]).

use std::fmt::Write;

/// Characters that change how text is displayed without being visible.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn escape(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let keep = keep_newlines && (c == '\n' || c == '\t');
        if !keep && (c.is_control() || is_invisible_format(c)) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Multi-line untrusted text, newlines and tabs kept.
pub fn escape_text(text: &str) -> String {
    escape(text, true)
}

/// Untrusted text on one line: newlines escaped too.
pub fn escape_line(text: &str) -> String {
    escape(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::ansi_escape("a\u{1b}[2Jb", "a\\u{1b}[2Jb")]
    #[case::c1_csi("a\u{9b}31mb", "a\\u{9b}31mb")]
    #[case::bidi_override("x\u{202e}gpj.exe", "x\\u{202e}gpj.exe")]
    #[case::carriage_return("ok\rFAKE", "ok\\u{d}FAKE")]
    #[case::delete("a\u{7f}b", "a\\u{7f}b")]
    #[case::plain("hello, wörld", "hello, wörld")]
    fn control_characters_are_escaped(#[case] input: &str, #[case] shown: &str) {
        assert_eq!(escape_text(input), shown);
    }

    #[test]
    fn newlines_stay_in_text_and_are_escaped_on_one_line() {
        assert_eq!(escape_text("a\nb\tc"), "a\nb\tc");
        assert_eq!(escape_line("a\nb"), "a\\u{a}b");
    }
}
