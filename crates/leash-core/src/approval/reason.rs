//! Why a person refused an action: typed, or one of a short fixed list. The
//! reason is fed back to the model in the same job and listed with the
//! trigger's "refused before" shapes, so it is bounded here, once, for every
//! channel (CLI, API, web page, notification). It is a person's words, so it
//! is trusted, but it is still shown escaped on every surface (a pasted
//! terminal escape or `<script>` must stay text).

use super::visible::visible_text;

/// The choices the web page and the notifier offer; any other text may be
/// typed.
pub const REFUSAL_REASONS: &[&str] = &[
    "not needed for this task",
    "too risky",
    "wrong file or place",
    "do it another way",
];

/// The longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// A reason that cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusalReasonError {
    /// Over [`MAX_REASON_CHARS`]: refused rather than cut, so nobody's words are
    /// silently lost.
    #[error("`reason` is {chars} characters long; at most {MAX_REASON_CHARS} are kept")]
    TooLong {
        /// Its length, in characters.
        chars: usize,
    },
}

/// The reason as it is stored: trimmed, `None` when empty, refused when too
/// long (so nobody's words are silently cut).
pub fn refusal_reason(text: Option<&str>) -> Result<Option<String>, RefusalReasonError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let chars = text.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(RefusalReasonError::TooLong { chars });
    }
    Ok(Some(text.to_owned()))
}

/// The reason as one line of plain text for a terminal, a notification or
/// the model: controls, bidi overrides and line breaks shown as escapes.
pub fn reason_line(reason: &str) -> String {
    visible_text(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_reasons_are_none_and_long_ones_are_refused() {
        assert_eq!(refusal_reason(None), Ok(None));
        assert_eq!(refusal_reason(Some("  \n")), Ok(None));
        assert_eq!(
            refusal_reason(Some(" too risky ")),
            Ok(Some("too risky".to_owned()))
        );
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            refusal_reason(Some(&long)),
            Err(RefusalReasonError::TooLong {
                chars: MAX_REASON_CHARS + 1
            })
        );
    }

    #[test]
    fn a_reason_line_cannot_break_lines_or_paint_the_terminal() {
        let line = reason_line("ok\n\u{1b}[2JRESULTS: all fine\u{202e}");
        assert!(!line.contains('\n') && !line.contains('\u{1b}') && !line.contains('\u{202e}'));
        assert!(
            line.contains("\\u{000a}") && line.contains("\\u{001b}"),
            "{line}"
        );
    }
}
