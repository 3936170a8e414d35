//! The Chat Completions wire format: the request body, streamed chunks and
//! whole (non-streamed) responses. Only the fields leash reads are declared;
//! servers add many others, which are ignored.

use serde::{Deserialize, Serialize};

use crate::backend::ChatMessage;
use crate::schema::OrderedJson;

/// `POST /chat/completions` body.
#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub max_tokens: u32,
    pub temperature: f32,
    pub stream: bool,
    /// Asks for a final chunk with token usage.
    pub stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a OrderedJson>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// Token counts.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u32>,
    #[serde(default)]
    pub completion_tokens: Option<u32>,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// DeepSeek's name for prompt tokens served from its context cache.
    #[serde(default)]
    pub prompt_cache_hit_tokens: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<u32>,
}

/// A server-reported error inside a 200 stream or body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerError {
    #[serde(default)]
    pub message: Option<String>,
}

/// The text parts of a message or delta.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    /// DeepSeek (and llama-server with `--reasoning-format deepseek`).
    #[serde(default)]
    pub reasoning_content: Option<String>,
    /// Ollama / LM Studio's name for the same thing.
    #[serde(default)]
    pub reasoning: Option<String>,
}

/// One entry of `choices` in a chunk.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// One `data:` event of a stream.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ServerError>,
}

/// One entry of `choices` in a whole response.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResponseChoice {
    #[serde(default)]
    pub message: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A whole response (servers that ignore `stream: true`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChatResponse {
    #[serde(default)]
    pub choices: Vec<ResponseChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ServerError>,
}
