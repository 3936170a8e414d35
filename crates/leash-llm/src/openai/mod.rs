//! The OpenAI-compatible backend: Chat Completions with streaming (SSE), for
//! LM Studio, Ollama, llama-server (how leash runs on Termux, where the
//! in-process backend cannot build) and the DeepSeek API.
//!
//! - `response_format` carries the action JSON schema for
//!   [`OutputFormat::Actions`] when the server supports it; a 400/422 that
//!   mentions `response_format`/`json_schema` makes the backend retry once
//!   without it and remember that for later calls (the parser then does the
//!   work, as for servers without support).
//! - Reasoning deltas (`reasoning_content`, `reasoning`) are collected into
//!   [`Generation::reasoning`]; only `content` goes to `on_text`.
//! - Timeouts: connect, per read (the longest silence), and total for one
//!   `generate`, retries included.
//! - 429 and 5xx are retried with exponential backoff honouring
//!   `Retry-After`, at most [`RetryPolicy::max_attempts`] attempts.
//! - Errors are sorted for the fallback chain: refused/unreachable →
//!   `Connection`, too slow → `Timeout`, the server said no → `Http`.

mod config;
mod preset;
mod retry;
pub(crate) mod stream;
pub(crate) mod transport_error;
pub(crate) mod wire;

pub use config::{OpenAiConfig, OpenAiTimeouts, RetryPolicy, api_key_from_env};
pub use preset::{OPENAI_PRESETS, OpenAiPreset, openai_preset};

use std::io::{BufReader, Read};
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, BackendError, FinishReason, GenerateRequest, Generation, OutputFormat,
};
use crate::schema::{OrderedJson, actions_response_format};
use stream::{Answer, read_event_stream, read_whole_body};
use transport_error::{read_error, request_error};
use wire::{ChatRequest, StreamOptions};

/// The most body leash reads from one response (16 MiB).
const MAX_BODY_BYTES: u64 = 16 << 20;
/// The most of an error body kept for the message.
const MAX_ERROR_DETAIL_CHARS: usize = 500;

/// A Chat Completions client. Blocking; one request at a time.
pub struct OpenAiBackend {
    config: OpenAiConfig,
    agent: ureq::Agent,
    /// `POST` target: `<base_url>/chat/completions`.
    url: String,
    /// The server rejected `response_format` once; don't send it again.
    response_format_rejected: bool,
    /// Checked per streamed event ([`Backend::set_cancel`]).
    cancel: Option<crate::CancelToken>,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("config", &self.config)
            .field("response_format_rejected", &self.response_format_rejected)
            .finish_non_exhaustive()
    }
}

/// Whether a URL points at this machine: then no proxy from the environment
/// is used (prompts must not detour through one to reach a local server).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host_port.split(':').next().unwrap_or(host_port),
    };
    host.eq_ignore_ascii_case("localhost") || host == "::1" || host.starts_with("127.")
}

impl OpenAiBackend {
    /// A backend from plain values. Fails on a base URL that is not http(s).
    pub fn new(config: OpenAiConfig) -> Result<Self, BackendError> {
        let name = format!("openai:{}", config.label);
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BackendError::Load {
                backend: name,
                detail: format!(
                    "base URL {:?} must start with http:// or https://",
                    config.base_url
                ),
            });
        }
        let url = format!("{base}/chat/completions");
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.timeouts.connect))
            .timeout_per_read(Some(config.timeouts.read))
            .user_agent(concat!("leash/", env!("CARGO_PKG_VERSION")));
        if is_loopback_url(base) {
            builder = builder.proxy(None);
        }
        let agent = ureq::Agent::new_with_config(builder.build());
        Ok(OpenAiBackend {
            config,
            agent,
            url,
            response_format_rejected: false,
            cancel: None,
        })
    }

    /// Whether the server refused `response_format` and it is no longer sent.
    pub fn response_format_rejected(&self) -> bool {
        self.response_format_rejected
    }

    fn http_error(&self, status: u16, detail: String) -> BackendError {
        BackendError::Http {
            backend: self.name(),
            status,
            detail,
        }
    }

    /// Sends one request; any HTTP status comes back as `Ok` to be judged.
    fn send(
        &self,
        body: &str,
        remaining: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, BackendError> {
        let mut request = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(remaining))
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream, application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        request
            .send(body)
            .map_err(|error| request_error(&self.name(), error))
    }

    fn read_answer(
        &self,
        response: ureq::http::Response<ureq::Body>,
        started: Instant,
        on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<Answer, BackendError> {
        let name = self.name();
        let is_event_stream = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("text/event-stream"));
        let reader = response
            .into_body()
            .into_with_config()
            .limit(MAX_BODY_BYTES)
            .reader();
        if is_event_stream {
            let mut reader = BufReader::new(reader);
            read_event_stream(&mut reader, started, on_text, &name, self.cancel.as_ref())
        } else {
            let mut body = String::new();
            BufReader::new(reader)
                .read_to_string(&mut body)
                .map_err(|error| read_error(&name, &error))?;
            read_whole_body(&body, started, on_text, &name)
        }
    }
}

/// Reads what an error answer says, briefly.
fn error_detail(response: ureq::http::Response<ureq::Body>) -> String {
    let mut text = String::new();
    // Best effort: a body that cannot be read still leaves the status.
    let _ = response
        .into_body()
        .into_with_config()
        .limit(64 << 10)
        .reader()
        .read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let shown: String = text.chars().take(MAX_ERROR_DETAIL_CHARS).collect();
    if shown.len() < text.len() {
        format!("{shown}…")
    } else {
        shown
    }
}

fn mentions_response_format(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("response_format") || lower.contains("json_schema")
}

impl Backend for OpenAiBackend {
    fn set_cancel(&mut self, cancel: Option<crate::CancelToken>) {
        self.cancel = cancel;
    }

    fn name(&self) -> String {
        format!("openai:{}", self.config.label)
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let started = Instant::now();
        // One deadline for the whole call, retries included: a job waits for
        // at most `timeouts.total`, however often the server says "later".
        let deadline = started + self.config.timeouts.total;
        // A JSON schema for the answer is only worth sending when the answer
        // is structured; free text (a summary) goes without one.
        let wants_format = match &request.format {
            OutputFormat::Actions | OutputFormat::Shaped(_) => self.config.use_response_format,
            OutputFormat::Text => false,
        };
        let response_format = match &request.format {
            OutputFormat::Shaped(shape) => OrderedJson::from_value(serde_json::json!({
                "type": "json_schema",
                "json_schema": {"name": shape.name, "strict": true, "schema": shape.schema},
            })),
            OutputFormat::Actions | OutputFormat::Text => actions_response_format(request.programs),
        };
        // A server that rejects `response_format` is asked once more without
        // it (and never sent it again, `response_format_rejected` is kept on
        // the backend); that retry is not counted as an attempt.
        let mut format_retried = false;
        let mut attempt: u32 = 0;
        // Streamed text goes to the caller once: only the attempt that
        // succeeds reads a body, so the callback is taken there.
        let mut on_text = request.on_text;
        loop {
            attempt += 1;
            let send_format = wants_format && !self.response_format_rejected;
            let body = ChatRequest {
                model: &self.config.model,
                messages: request.messages,
                max_tokens: request.max_tokens,
                temperature: request.temperature,
                stream: true,
                stream_options: StreamOptions {
                    include_usage: true,
                },
                response_format: send_format.then_some(&response_format),
            };
            let body = serde_json::to_string(&body).map_err(|error| BackendError::Protocol {
                backend: self.name(),
                detail: format!("cannot encode the request: {error}"),
            })?;
            // Each request gets what is left of the deadline as its own
            // timeout, so the last attempt cannot overrun the total.
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(BackendError::Timeout {
                    backend: self.name(),
                    detail: format!(
                        "total timeout of {:?} reached after {} attempt(s)",
                        self.config.timeouts.total,
                        attempt - 1
                    ),
                });
            }
            let response = self.send(&body, remaining)?;
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                let answer = self.read_answer(response, started, on_text.take())?;
                return Ok(self.generation(answer, started));
            }
            // Read before `error_detail` consumes the response: a 429/503
            // says how long to wait, and the backoff honours it.
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(retry::parse_retry_after);
            let detail = error_detail(response);
            if send_format
                && !format_retried
                && matches!(status, 400 | 422)
                && mentions_response_format(&detail)
            {
                tracing::warn!(
                    backend = %self.name(),
                    status,
                    %detail,
                    "server rejected response_format; retrying without it and not sending it again"
                );
                self.response_format_rejected = true;
                format_retried = true;
                attempt -= 1;
                continue;
            }
            // Only transient statuses are retried (429, 5xx), and only when
            // the wait still ends before the deadline: sleeping past it would
            // just turn the server's error into a less informative timeout.
            if retry::is_retryable(status) && attempt < self.config.retry.max_attempts {
                let wait = retry::backoff(&self.config.retry, attempt, retry_after);
                if Instant::now() + wait < deadline {
                    tracing::info!(
                        backend = %self.name(),
                        status,
                        attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying after an HTTP error"
                    );
                    std::thread::sleep(wait);
                    continue;
                }
            }
            let detail = if attempt > 1 {
                format!("{detail} (after {attempt} attempts)")
            } else {
                detail
            };
            return Err(self.http_error(status, detail));
        }
    }
}

impl OpenAiBackend {
    fn generation(&self, answer: Answer, started: Instant) -> Generation {
        let total_time = started.elapsed();
        let usage = answer.usage;
        let reused = usage
            .prompt_tokens_details
            .and_then(|details| details.cached_tokens)
            .or(usage.prompt_cache_hit_tokens)
            .unwrap_or(0);
        Generation {
            text: answer.text,
            reasoning: (!answer.reasoning.is_empty()).then_some(answer.reasoning),
            finish: answer.finish.unwrap_or(FinishReason::Stop),
            backend: self.name(),
            prompt_tokens: usage.prompt_tokens.unwrap_or(0),
            prompt_tokens_reused: reused,
            generated_tokens: usage.completion_tokens.unwrap_or(0),
            time_to_first_token: answer.time_to_first_token.unwrap_or(total_time),
            total_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_url("http://127.0.0.1:1234/v1"));
        assert!(is_loopback_url("http://localhost/v1"));
        assert!(is_loopback_url("http://[::1]:8080/v1"));
        assert!(!is_loopback_url("https://api.deepseek.com/v1"));
        assert!(!is_loopback_url("http://127example.com/v1"));
    }
}
