//! Separates `<think>…</think>` sections (reasoning models) from the answer.
//! The thinking is kept for the audit record and never executed.
//!
//! Only thinking where reasoning models put it is recognized, so that an
//! answer whose JSON strings mention `<think>` is not cut apart:
//! - sections at the start of the answer (one or more, blanks between);
//! - text before a `</think>` with no `<think>` before it: DeepSeek-R1
//!   distills often omit the opening tag because their chat template already
//!   put it in the prompt;
//! - otherwise one `<think>` section later in the text (a model that wrote a
//!   sentence first); unclosed, it runs to the end.
//!
//! Linear in the text: every search starts where the previous one ended.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// An answer with its thinking taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitAnswer {
    /// The text outside the think sections, pieces joined by a newline.
    pub answer: String,
    /// The text inside them, in order, trimmed, empty ones dropped.
    pub thoughts: Vec<String>,
    /// A `<think>` was opened and never closed (the rest is thinking).
    pub unterminated: bool,
}

pub(crate) fn split_thinking(text: &str) -> SplitAnswer {
    let mut thoughts: Vec<&str> = Vec::new();
    let mut answer_parts: Vec<&str> = Vec::new();
    let mut unterminated = false;
    let mut rest = text;

    // Leading sections.
    while let Some(inside) = rest.trim_start().strip_prefix(OPEN) {
        match inside.find(CLOSE) {
            Some(close_at) => {
                thoughts.push(&inside[..close_at]);
                rest = &inside[close_at + CLOSE.len()..];
            }
            None => {
                thoughts.push(inside);
                rest = "";
                unterminated = true;
            }
        }
    }
    if thoughts.is_empty() {
        let first_open = rest.find(OPEN);
        match rest.find(CLOSE) {
            // Thinking without its opening tag.
            Some(close_at) if first_open.is_none_or(|open_at| open_at > close_at) => {
                thoughts.push(&rest[..close_at]);
                rest = &rest[close_at + CLOSE.len()..];
            }
            Some(_) | None => {
                if let Some(open_at) = first_open {
                    answer_parts.push(&rest[..open_at]);
                    let inside = &rest[open_at + OPEN.len()..];
                    match inside.find(CLOSE) {
                        Some(close_at) => {
                            thoughts.push(&inside[..close_at]);
                            rest = &inside[close_at + CLOSE.len()..];
                        }
                        None => {
                            thoughts.push(inside);
                            rest = "";
                            unterminated = true;
                        }
                    }
                }
            }
        }
    }
    answer_parts.push(rest);
    SplitAnswer {
        answer: answer_parts
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        thoughts: thoughts
            .into_iter()
            .map(str::trim)
            .filter(|thought| !thought.is_empty())
            .map(str::to_string)
            .collect(),
        unterminated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_tag_without_opening_tag_ends_thinking() {
        let split = split_thinking("I should list files.\n</think>\n{\"a\":1}");
        assert_eq!(split.thoughts, vec!["I should list files."]);
        assert_eq!(split.answer.trim(), "{\"a\":1}");
        assert!(!split.unterminated);
    }

    #[test]
    fn unterminated_think_swallows_the_rest() {
        let split = split_thinking("x <think> never ends {\"actions\": []}");
        assert_eq!(split.answer, "x ");
        assert!(split.unterminated);
    }

    #[test]
    fn tags_inside_a_later_answer_are_left_alone() {
        let split = split_thinking("<think>a</think>{\"thought\": \"</think> <think>\"}");
        assert_eq!(split.thoughts, vec!["a"]);
        assert_eq!(split.answer, "{\"thought\": \"</think> <think>\"}");
    }

    #[test]
    fn several_leading_sections() {
        let split = split_thinking("<think>a</think>\n<think>b</think> {}");
        assert_eq!(split.thoughts, vec!["a", "b"]);
        assert_eq!(split.answer.trim(), "{}");
    }
}
