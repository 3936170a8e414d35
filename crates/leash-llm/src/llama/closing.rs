//! Closing an action plan before the token budget runs out.
//!
//! The grammar guarantees that a *finished* answer parses, not that the model
//! finishes: a 135M model at temperature 0 readily loops inside a string
//! ("I will delete it. I will delete it. ...") until `max_tokens` cuts the
//! JSON off mid-string. So in the last [`CLOSING_MARGIN`] tokens of the budget
//! the worker raises the logits of the tokens that close what is open — inside
//! a string, a `"` (optionally followed by `]`/`}`); outside, `]`, `}` and
//! end-of-generation — and lowers those of blank tokens (the grammar allows
//! optional blanks between JSON tokens, and a small model happily spends its
//! last tokens on indentation) before the grammar-first sampler chain runs. The grammar
//! still decides what is allowed (the mandatory `"done"` member is still
//! written), so the result is a valid plan whose last string may be cut short;
//! the generation then reports `FinishReason::Length` so the agent loop knows.

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

/// Tokens left in the budget when closing starts. From the deepest point of
/// the grammar (inside a string inside an action's object) a plan closes in
/// about a dozen tokens: `"` `}}` `]` `,` `"done"` `:` `false` `}` and the end;
/// the rest is room for an action the model opened just before closing
/// started, which the grammar makes it complete: SmolLM2-135M once wrote
/// `, { "copy" : { "from" : "rm" , "to" : "rm" } } ], "done` — 27 tokens
/// with its spaced-out punctuation — and ran out with 32.
pub(super) const CLOSING_MARGIN: u32 = 48;

/// Added to a closer's logit: larger than the spread of a small model's
/// logits, so any closer the grammar allows wins.
const CLOSING_BIAS: f32 = 50.0;

/// The vocabulary's closing tokens, found once per model.
#[derive(Debug)]
pub(super) struct ClosingTokens {
    /// Pieces that end a JSON string: `"` then only `]`, `}` and blanks.
    string_closers: Vec<LlamaToken>,
    /// Pieces of only `]`, `}`, `:`, empty arrays `[]` and blanks (at least one
    /// bracket); and end-of-generation.
    bracket_closers: Vec<LlamaToken>,
    /// Pieces of only blanks: always optional in the grammar, so they can be
    /// discouraged without ever leaving the model without a choice.
    blanks: Vec<LlamaToken>,
}

impl ClosingTokens {
    pub(super) fn from_model(model: &LlamaModel) -> Self {
        let vocab = model.vocab();
        let mut piece = Vec::new();
        let mut string_closers = Vec::new();
        let mut bracket_closers = Vec::new();
        let mut blanks = Vec::new();
        for token in vocab.tokens() {
            if vocab.is_eog(token) {
                bracket_closers.push(token);
                continue;
            }
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            match classify(&piece) {
                Some(Closer::String) => string_closers.push(token),
                Some(Closer::Bracket) => bracket_closers.push(token),
                Some(Closer::Blank) => blanks.push(token),
                None => {}
            }
        }
        ClosingTokens {
            string_closers,
            bracket_closers,
            blanks,
        }
    }

    /// Raises the logits in `candidates` (indexed by token id, as
    /// `LlamaContext::token_data_array_ith` builds it) of the tokens that
    /// close what `cursor` says is open.
    pub(super) fn favour(&self, cursor: &JsonCursor, candidates: &mut LlamaTokenDataArray) {
        let tokens = match cursor.position() {
            Position::InString => &self.string_closers,
            Position::Structure => &self.bracket_closers,
            // A reasoning section ends with `</think>`, several tokens the
            // model writes itself; nothing to favour there.
            Position::InThink => return,
        };
        shift_logits(candidates, tokens, CLOSING_BIAS);
        shift_logits(candidates, &self.blanks, -CLOSING_BIAS);
    }
}

fn shift_logits(candidates: &mut LlamaTokenDataArray, tokens: &[LlamaToken], by: f32) {
    for token in tokens {
        let index = usize::try_from(token.0).ok();
        if let Some(candidate) = index.and_then(|i| candidates.data.get_mut(i))
            && candidate.id() == *token
        {
            candidate.set_logit(candidate.logit() + by);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    String,
    Bracket,
    /// Not a closer: blanks only.
    Blank,
}

fn classify(piece: &[u8]) -> Option<Closer> {
    let is_blank = |b: &u8| matches!(b, b' ' | b'\n' | b'\t' | b'\r');
    // An empty array (`[]`, `: []`) closes as soon as it opens: after
    // `"actions":` it is the shortest way on.
    let mut reduced = Vec::with_capacity(piece.len());
    let mut emptied = false;
    let mut bytes = piece.iter().peekable();
    while let Some(b) = bytes.next() {
        if *b == b'[' && bytes.peek() == Some(&&b']') {
            bytes.next();
            emptied = true;
        } else {
            reduced.push(*b);
        }
    }
    let is_structural = |b: &u8| matches!(b, b']' | b'}' | b':') || is_blank(b);
    let closes = reduced.iter().any(|b| matches!(b, b']' | b'}'));
    match reduced.split_first() {
        _ if piece.is_empty() => None,
        Some(_) if !emptied && piece.iter().all(is_blank) => Some(Closer::Blank),
        Some((b'"', rest)) if !emptied && rest.iter().all(|b| is_structural(b) && *b != b':') => {
            Some(Closer::String)
        }
        _ if reduced.iter().all(is_structural) && (closes || emptied) => Some(Closer::Bracket),
        Some(_) | None => None,
    }
}

/// Where the answer generated so far stands, lexically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    /// Inside a leading `<think>…</think>` section.
    InThink,
    /// Inside a JSON string.
    InString,
    /// Between JSON tokens.
    Structure,
}

/// Follows the generated text just enough to know whether it is inside a
/// JSON string (the grammar guarantees the rest is well-formed).
#[derive(Debug, Default)]
pub(super) struct JsonCursor {
    /// Bytes seen while a `<think>` section may still be open.
    think: Vec<u8>,
    think_done: bool,
    in_string: bool,
    escaped: bool,
}

impl JsonCursor {
    pub(super) fn advance(&mut self, text: &str) {
        let mut bytes = text.as_bytes();
        if !self.think_done {
            self.think.extend_from_slice(bytes);
            let seen = self.think.trim_ascii_start();
            if seen.starts_with(b"<think>") {
                match find(seen, b"</think>") {
                    Some(end) => {
                        // Continue with what follows the section.
                        let after = seen.len() - end - b"</think>".len();
                        let start = bytes.len().saturating_sub(after);
                        bytes = bytes.get(start..).unwrap_or_default();
                        self.think_done = true;
                        self.think.clear();
                    }
                    None => return,
                }
            } else if b"<think>".starts_with(seen) && !seen.is_empty() {
                return; // Could still become `<think>`.
            } else {
                self.think_done = true;
                self.think.clear();
            }
        }
        for byte in bytes {
            match (self.in_string, self.escaped, byte) {
                (true, true, _) => self.escaped = false,
                (true, false, b'\\') => self.escaped = true,
                (true, false, b'"') => self.in_string = false,
                (false, _, b'"') => self.in_string = true,
                _ => {}
            }
        }
    }

    pub(super) fn position(&self) -> Position {
        if !self.think_done && !self.think.is_empty() {
            Position::InThink
        } else if self.in_string {
            Position::InString
        } else {
            Position::Structure
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::quote(b"\"", Some(Closer::String))]
    #[case::quote_brackets(b"\"]}", Some(Closer::String))]
    #[case::brackets(b"]}", Some(Closer::Bracket))]
    #[case::spaced(b" }", Some(Closer::Bracket))]
    #[case::comma_opens_more(b"},", None)]
    #[case::quote_comma_continues(b"\",", None)]
    #[case::word(b"done", None)]
    #[case::blank_only(b"  ", Some(Closer::Blank))]
    #[case::newline_indent(b"\n\t\t", Some(Closer::Blank))]
    #[case::empty(b"", None)]
    #[case::opening(b"{", None)]
    #[case::empty_array(b"[]", Some(Closer::Bracket))]
    #[case::colon_empty_array(b": []", Some(Closer::Bracket))]
    #[case::colon_alone_is_not_a_closer(b":", None)]
    #[case::opening_array(b"[{", None)]
    fn closers(#[case] piece: &[u8], #[case] expected: Option<Closer>) {
        assert_eq!(classify(piece), expected);
    }

    fn cursor_after(pieces: &[&str]) -> Position {
        let mut cursor = JsonCursor::default();
        for piece in pieces {
            cursor.advance(piece);
        }
        cursor.position()
    }

    #[rstest]
    #[case::nothing_yet(&[], Position::Structure)]
    #[case::in_thought(&["{\"thought\": \"I will"], Position::InString)]
    #[case::after_key(&["{\"thought\"", ": "], Position::Structure)]
    #[case::escaped_quote_stays_inside(&["{\"t\": \"say \\\"", "hi"], Position::InString)]
    #[case::escaped_backslash_then_quote_closes(&["{\"t\": \"a\\\\", "\""], Position::Structure)]
    #[case::quote_split_across_pieces(&["{\"run\": [\"l", "s\", \"-", "la"], Position::InString)]
    #[case::think_open(&["<thi", "nk>let me think \"quoted"], Position::InThink)]
    #[case::after_think(&["<think>a \"b\" c</think>\n{\"thought\": \"x"], Position::InString)]
    #[case::think_closed_in_a_later_piece(&["<think>a", "</think>{", "\"t"], Position::InString)]
    fn cursor(#[case] pieces: &[&str], #[case] expected: Position) {
        assert_eq!(cursor_after(pieces), expected);
    }
}
