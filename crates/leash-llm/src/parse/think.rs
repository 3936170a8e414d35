//! Separates `<think>…</think>` sections (reasoning models) from the answer.
//! The thinking is kept for the audit record and never executed.
//!
//! DeepSeek-R1 distills often omit the opening tag because their chat template
//! already put it in the prompt: text before a `</think>` that has no opening
//! tag is thinking too.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// An answer with its thinking taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitAnswer {
    /// The text outside every think section, pieces joined by a newline.
    pub answer: String,
    /// The text inside them, in order.
    pub thoughts: Vec<String>,
    /// A `<think>` was opened and never closed (the rest is thinking).
    pub unterminated: bool,
}

pub(crate) fn split_thinking(text: &str) -> SplitAnswer {
    let mut answer_parts: Vec<&str> = Vec::new();
    let mut thoughts = Vec::new();
    let mut unterminated = false;
    let mut rest = text;
    loop {
        let open = rest.find(OPEN);
        let close = rest.find(CLOSE);
        match (open, close) {
            // A closing tag with no opening tag before it: all before is thinking.
            (Some(open_at), Some(close_at)) if close_at < open_at => {
                thoughts.push(rest[..close_at].trim().to_string());
                rest = &rest[close_at + CLOSE.len()..];
            }
            (None, Some(close_at)) => {
                thoughts.push(rest[..close_at].trim().to_string());
                rest = &rest[close_at + CLOSE.len()..];
            }
            (Some(open_at), _) => {
                answer_parts.push(&rest[..open_at]);
                let inside = &rest[open_at + OPEN.len()..];
                match inside.find(CLOSE) {
                    Some(close_at) => {
                        thoughts.push(inside[..close_at].trim().to_string());
                        rest = &inside[close_at + CLOSE.len()..];
                    }
                    None => {
                        thoughts.push(inside.trim().to_string());
                        unterminated = true;
                        break;
                    }
                }
            }
            (None, None) => {
                answer_parts.push(rest);
                break;
            }
        }
    }
    SplitAnswer {
        answer: answer_parts.join("\n"),
        thoughts: thoughts.into_iter().filter(|t| !t.is_empty()).collect(),
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
}
