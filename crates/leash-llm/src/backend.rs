//! The one interface every model source implements: the embedded llama.cpp
//! model, an OpenAI-compatible server, or a recorded transcript.
//!
//! Blocking by design: inference is CPU-bound (embedded) or a single streamed
//! HTTP response (servers); the daemon runs it on a dedicated thread, never on
//! an async executor.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ProgramChoice;

/// Who said a chat message (the shared vocabulary's [`leash_protocol::ChatRole`]).
pub use leash_protocol::ChatRole as Role;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who said it, which the chat template renders differently.
    pub role: Role,
    /// The text said.
    pub content: String,
}

/// A fixed answer shape (a skill's question, a routing choice): the GBNF
/// grammar the embedded model is sampled under, and the same shape as a JSON
/// schema for servers that honour `response_format`. The caller builds both
/// from one definition and parses the answer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerShape {
    /// A short name for the schema (letters, digits, `_`).
    pub name: String,
    /// GBNF with a `root` rule.
    pub gbnf: String,
    /// JSON schema of the same shape.
    pub schema: serde_json::Value,
}

/// What the output must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputFormat {
    /// An [`crate::ActionPlan`] JSON object, optionally after a `<think>…</think>`
    /// section: enforced by a grammar (embedded) or `response_format` (servers
    /// that support it), else only requested in the prompt and checked by the
    /// parser.
    Actions,
    /// Free text.
    Text,
    /// An answer of a fixed shape, enforced like [`OutputFormat::Actions`].
    Shaped(std::sync::Arc<AnswerShape>),
}

/// Receives generated text as it arrives (for streaming to the terminal).
pub type TokenSink<'a> = &'a mut dyn FnMut(&str);

/// One generation request.
pub struct GenerateRequest<'a> {
    /// The conversation so far, oldest first.
    pub messages: &'a [ChatMessage],
    /// What the answer must look like (actions, a fixed shape, free text):
    /// the grammar or schema the backend holds the model to.
    pub format: OutputFormat,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling temperature (0: always the likeliest token).
    pub temperature: f32,
    /// The programs a `run` action may name ([`OutputFormat::Actions`]): the
    /// policy's whitelist, so that a grammar (or schema) keeps the model to
    /// programs that can pass. The policy still judges every action.
    pub programs: ProgramChoice<'a>,
    /// Called with each piece of text as it is generated, when set.
    pub on_text: Option<TokenSink<'a>>,
}

impl std::fmt::Debug for GenerateRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateRequest")
            .field("messages", &self.messages.len())
            .field("format", &self.format)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("programs", &self.programs)
            .finish_non_exhaustive()
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End of generation (EOS / stop token / the server said stop).
    Stop,
    /// `max_tokens` reached.
    Length,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The answer text (for servers: `content`).
    pub text: String,
    /// Separate reasoning (DeepSeek's `reasoning_content`), recorded, never executed.
    pub reasoning: Option<String>,
    /// Whether the answer ended or was cut at `max_tokens`.
    pub finish: FinishReason,
    /// Which backend produced it (e.g. `llama`, `openai:lmstudio`, `replay`).
    pub backend: String,
    /// Tokens in the prompt, reused ones included.
    pub prompt_tokens: u32,
    /// Prompt tokens that were not evaluated again thanks to the KV cache.
    pub prompt_tokens_reused: u32,
    /// Tokens the model generated for the answer.
    pub generated_tokens: u32,
    /// Time to the first generated token.
    pub time_to_first_token: Duration,
    /// Wall time of the whole request, prompt evaluation included.
    pub total_time: Duration,
}

/// Why a backend could not produce a generation.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The server could not be reached (refused, DNS, TLS).
    #[error("{backend}: cannot connect: {detail}")]
    Connection {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// Connect, read or total timeout.
    #[error("{backend}: timed out: {detail}")]
    Timeout {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// The model could not be loaded (missing file, bad GGUF, out of memory).
    #[error("{backend}: cannot load the model: {detail}")]
    Load {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// The server answered with an HTTP error that retries did not fix.
    #[error("{backend}: HTTP {status}: {detail}")]
    Http {
        /// Which backend failed (`openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// The HTTP status of the last attempt.
        status: u16,
        /// The server's error body (or its start).
        detail: String,
    },
    /// The answer did not follow the protocol (bad JSON, bad stream).
    #[error("{backend}: protocol error: {detail}")]
    Protocol {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// A replay transcript has no more responses, or is malformed.
    #[error("{backend}: transcript: {detail}")]
    Transcript {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// Inference itself failed (decode error, grammar error, context full).
    #[error("{backend}: inference failed: {detail}")]
    Inference {
        /// Which backend failed (`llama`, `openai:lmstudio`), for the audit and the fallback report.
        backend: String,
        /// What went wrong, as the backend or the OS said it.
        detail: String,
    },
    /// The generation was cancelled ([`Backend::set_cancel`]) before it ended.
    #[error("{backend}: cancelled after {generated_tokens} tokens")]
    Cancelled {
        /// Which backend stopped.
        backend: String,
        /// Tokens generated before it stopped.
        generated_tokens: u32,
    },
}

impl BackendError {
    /// Whether the next backend of a fallback chain should be tried: yes for
    /// connection, timeout and load failures (docs/DESIGN.md "Models"), no for answers that
    /// another backend would not improve.
    pub fn falls_back(&self) -> bool {
        match self {
            BackendError::Connection { .. }
            | BackendError::Timeout { .. }
            | BackendError::Load { .. } => true,
            BackendError::Http { status, .. } => *status >= 500 || *status == 429,
            BackendError::Protocol { .. }
            | BackendError::Transcript { .. }
            | BackendError::Inference { .. }
            // Whoever cancelled wants no answer, from this backend or another.
            | BackendError::Cancelled { .. } => false,
        }
    }
}

/// A source of generations. `Send` so a worker thread can own it.
pub trait Backend: Send + std::fmt::Debug {
    /// A short name for audit records (`llama`, `openai:ollama`, `replay`).
    fn name(&self) -> String;
    /// Generates one answer. Blocking.
    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError>;
    /// Decode threads from the next answer on: the resource governor lowers
    /// them while the device runs warm. `None` restores the configured count.
    /// Backends that do not run the model here ignore it.
    fn set_decode_threads(&mut self, _threads: Option<u32>) {}
    /// The token that stops the following generations early (checked per
    /// token or piece; they then fail with [`BackendError::Cancelled`]).
    /// `None` removes it. Backends that cannot stop mid-answer ignore it and
    /// run to `max_tokens`.
    fn set_cancel(&mut self, _cancel: Option<crate::CancelToken>) {}
}
