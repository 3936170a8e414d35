//! The replay backend: a real [`Backend`] that plays a recorded transcript,
//! one response per `generate` call, deterministically. For tests, demos, and
//! reproducing an incident from the audit log.
//!
//! # Transcript format
//!
//! YAML (`.yaml`/`.yml`) or JSON (`.json`), chosen by the file extension:
//!
//! ```yaml
//! description: list the files, then finish   # optional, for people
//! responses:
//!   - text: '{"thought": "look first", "actions": [{"run": ["ls"]}], "done": false}'
//!     expect: list the files      # optional: the last user message must contain this
//!   - reasoning: The listing is in. # optional: like DeepSeek's reasoning_content
//!     text: '{"actions": [], "done": true}'
//!     delay_ms: 50                # optional: wait this long before the first piece
//!     finish: stop                # optional: stop (default) | length
//!     piece_delay_ms: 20          # optional: wait this long between pieces
//! ```
//!
//! A cancelled generation ([`Backend::set_cancel`]) stops at the next piece
//! (or during a delay) with [`BackendError::Cancelled`].
//!
//! With `play: by_expect` (for a daemon that serves many jobs, across
//! restarts) each `generate` instead plays the first response whose `expect`
//! the last user message contains (a response without `expect` matches
//! anything), so the same transcript answers every job the same way; no
//! match is an error naming the message.
//!
//! Unknown keys are errors. Each `generate` plays the next response: the text
//! is streamed to `on_text` in small pieces; an `expect` that the last user
//! message does not contain is an error naming the step; when the responses
//! run out, [`BackendError::Transcript`] says so. Token counts are estimates
//! (a token per four bytes, rounded up): there is no tokenizer here.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::backend::{Backend, BackendError, FinishReason, GenerateRequest, Generation, Role};

/// Pieces of at most this many bytes go to `on_text`, like tokens would.
const PIECE_BYTES: usize = 8;

/// One recorded response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayStep {
    /// The answer text.
    pub text: String,
    /// Separate reasoning, as a reasoning model's server would send it.
    #[serde(default)]
    pub reasoning: Option<String>,
    /// A substring the last user message must contain.
    #[serde(default)]
    pub expect: Option<String>,
    /// Wait this long before the first piece of text.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Why generation "stopped" (default: stop).
    #[serde(default)]
    pub finish: Option<FinishReason>,
    /// Wait this long before each further piece: a slow generation, for
    /// tests of what happens while one runs (cancellation).
    #[serde(default)]
    pub piece_delay_ms: Option<u64>,
}

/// A whole transcript file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// What the recorded session was (for people reading the file; not used).
    #[serde(default)]
    pub description: Option<String>,
    /// How responses are chosen (default: in order).
    #[serde(default)]
    pub play: ReplayOrder,
    /// The recorded answers the backend gives back, one per request.
    pub responses: Vec<ReplayStep>,
}

/// How a transcript's responses are chosen. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayOrder {
    /// One after the other; `expect` is checked.
    #[default]
    InOrder,
    /// The first whose `expect` matches the last user message, every time.
    ByExpect,
}

/// Plays a [`Transcript`].
#[derive(Debug, Clone)]
pub struct ReplayBackend {
    /// Where the transcript came from (for messages), if a file.
    source: Option<PathBuf>,
    steps: Vec<ReplayStep>,
    next: usize,
    order: ReplayOrder,
    cancel: Option<crate::CancelToken>,
}

fn transcript_error(detail: String) -> BackendError {
    BackendError::Transcript {
        backend: "replay".to_string(),
        detail,
    }
}

/// Estimated tokens: one per four bytes, rounded up.
fn estimated_tokens(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(4)).unwrap_or(u32::MAX)
}

/// Splits text into pieces of at most [`PIECE_BYTES`] on char boundaries (a
/// piece may be longer when one character is).
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = PIECE_BYTES.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

impl ReplayBackend {
    /// Reads a transcript file: YAML for `.yaml`/`.yml`, JSON for `.json`.
    pub fn from_file(path: &Path) -> Result<Self, BackendError> {
        let text = std::fs::read_to_string(path).map_err(|error| BackendError::Load {
            backend: "replay".to_string(),
            detail: format!("cannot read {}: {error}", path.display()),
        })?;
        let extension = path
            .extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase);
        let transcript: Transcript = match extension.as_deref() {
            Some("yaml" | "yml") => serde_saphyr::from_str(&text)
                .map_err(|error| transcript_error(format!("{}: {error}", path.display())))?,
            Some("json") => serde_json::from_str(&text)
                .map_err(|error| transcript_error(format!("{}: {error}", path.display())))?,
            Some(_) | None => {
                return Err(transcript_error(format!(
                    "{}: unknown transcript format; use a .yaml, .yml or .json file",
                    path.display()
                )));
            }
        };
        let mut backend = ReplayBackend::from_transcript(transcript);
        backend.source = Some(path.to_path_buf());
        Ok(backend)
    }

    /// Plays an in-memory transcript.
    pub fn from_transcript(transcript: Transcript) -> Self {
        ReplayBackend {
            source: None,
            steps: transcript.responses,
            next: 0,
            order: transcript.play,
            cancel: None,
        }
    }

    /// Sleeps `delay`, in short slices so a cancel ends it promptly.
    fn pause(&self, delay: Duration, streamed: usize) -> Result<(), BackendError> {
        let until = Instant::now() + delay;
        loop {
            if crate::cancelled(self.cancel.as_ref()) {
                return Err(self.cancelled(streamed));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    fn cancelled(&self, streamed_bytes: usize) -> BackendError {
        BackendError::Cancelled {
            backend: self.name(),
            generated_tokens: estimated_tokens(streamed_bytes),
        }
    }

    /// Responses not played yet.
    pub fn remaining(&self) -> usize {
        self.steps.len() - self.next
    }

    fn describe_source(&self) -> String {
        match &self.source {
            Some(path) => path.display().to_string(),
            None => "the transcript".to_string(),
        }
    }
}

impl Backend for ReplayBackend {
    fn name(&self) -> String {
        "replay".to_string()
    }

    fn set_cancel(&mut self, cancel: Option<crate::CancelToken>) {
        self.cancel = cancel;
    }

    fn generate(&mut self, mut request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let started = Instant::now();
        if self.order == ReplayOrder::ByExpect {
            let last_user = request
                .messages
                .iter()
                .rev()
                .find(|message| message.role == Role::User)
                .map(|message| message.content.as_str())
                .unwrap_or("");
            let found = self.steps.iter().position(|step| {
                step.expect
                    .as_deref()
                    .is_none_or(|expected| last_user.contains(expected))
            });
            let Some(index) = found else {
                let shown: String = last_user.chars().take(200).collect();
                return Err(transcript_error(format!(
                    "{}: no response's `expect` matches the last user message {shown:?}",
                    self.describe_source()
                )));
            };
            // Play it as if it were next, then rewind: every job sees the
            // whole transcript.
            self.next = index;
        }
        let step_number = self.next + 1;
        let Some(step) = self.steps.get(self.next) else {
            return Err(transcript_error(format!(
                "{} has no response left for call {step_number} (it holds {})",
                self.describe_source(),
                self.steps.len()
            )));
        };
        if let Some(expected) = &step.expect {
            let last_user = request
                .messages
                .iter()
                .rev()
                .find(|message| message.role == Role::User)
                .map(|message| message.content.as_str());
            match last_user {
                Some(content) if content.contains(expected.as_str()) => {}
                Some(content) => {
                    let shown: String = content.chars().take(200).collect();
                    return Err(transcript_error(format!(
                        "{} step {step_number}: the last user message does not contain \
                         {expected:?}; it was {shown:?}",
                        self.describe_source()
                    )));
                }
                None => {
                    return Err(transcript_error(format!(
                        "{} step {step_number}: expects a user message containing \
                         {expected:?}, but the request has no user message",
                        self.describe_source()
                    )));
                }
            }
        }
        self.next += 1;
        let step = step.clone();
        let mut streamed = 0;
        if let Some(delay) = step.delay_ms {
            self.pause(Duration::from_millis(delay), streamed)?;
        }
        let time_to_first_token = started.elapsed();
        for (index, piece) in pieces(&step.text).enumerate() {
            if index > 0
                && let Some(delay) = step.piece_delay_ms
            {
                self.pause(Duration::from_millis(delay), streamed)?;
            }
            if crate::cancelled(self.cancel.as_ref()) {
                return Err(self.cancelled(streamed));
            }
            if let Some(sink) = request.on_text.as_mut() {
                sink(piece);
            }
            streamed += piece.len();
        }
        let prompt_bytes = request.messages.iter().map(|m| m.content.len()).sum();
        Ok(Generation {
            generated_tokens: estimated_tokens(step.text.len()),
            text: step.text,
            reasoning: step.reasoning,
            finish: step.finish.unwrap_or(FinishReason::Stop),
            backend: self.name(),
            prompt_tokens: estimated_tokens(prompt_bytes),
            prompt_tokens_reused: 0,
            time_to_first_token,
            total_time: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_text_on_char_boundaries() {
        let text = "héllo wörld, ünïcode ✓✓✓";
        let joined: String = pieces(text).collect();
        assert_eq!(joined, text);
        assert!(pieces(text).all(|piece| piece.len() <= PIECE_BYTES + 3));
    }
}
