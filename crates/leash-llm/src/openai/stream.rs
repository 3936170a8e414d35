//! Reading an answer: a server-sent-event stream (`stream: true`) or, from
//! servers that ignore streaming, one JSON body. Content goes to `on_text` as
//! it arrives; reasoning (`reasoning_content` / `reasoning`) is collected
//! separately and never shown as the answer.

use std::io::BufRead;
use std::time::{Duration, Instant};

use super::transport_error::read_error;
use super::wire::{ChatResponse, Chunk, Delta, Usage};
use crate::backend::{BackendError, FinishReason};

/// An answer and what the server said about it.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub text: String,
    pub reasoning: String,
    pub finish: Option<FinishReason>,
    pub usage: Usage,
    pub time_to_first_token: Option<Duration>,
}

/// More than this much answer (text + reasoning) is a protocol error: a
/// runaway or hostile server must not fill memory.
const MAX_ANSWER_BYTES: usize = 4 << 20;

fn protocol(backend: &str, detail: String) -> BackendError {
    BackendError::Protocol {
        backend: backend.to_string(),
        detail,
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::Length,
        // "stop", "eos", "tool_calls", "content_filter", ...: the model ended.
        _other => FinishReason::Stop,
    }
}

impl Answer {
    fn absorb(
        &mut self,
        delta: Delta,
        started: Instant,
        on_text: &mut Option<&mut dyn FnMut(&str)>,
        backend: &str,
    ) -> Result<(), BackendError> {
        let reasoning = delta.reasoning_content.or(delta.reasoning);
        let got_any = delta.content.as_deref().is_some_and(|c| !c.is_empty())
            || reasoning.as_deref().is_some_and(|r| !r.is_empty());
        if got_any && self.time_to_first_token.is_none() {
            self.time_to_first_token = Some(started.elapsed());
        }
        if let Some(reasoning) = reasoning {
            self.reasoning.push_str(&reasoning);
        }
        if let Some(content) = delta.content {
            if let Some(sink) = on_text.as_mut() {
                sink(&content);
            }
            self.text.push_str(&content);
        }
        if self.text.len() + self.reasoning.len() > MAX_ANSWER_BYTES {
            return Err(protocol(
                backend,
                format!("the answer exceeds {MAX_ANSWER_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    fn absorb_usage(&mut self, usage: Option<Usage>) {
        if let Some(usage) = usage {
            self.usage = usage;
        }
    }
}

fn server_error(backend: &str, message: Option<String>) -> BackendError {
    protocol(
        backend,
        format!(
            "the server reported an error: {}",
            message.unwrap_or_else(|| "(no message)".to_string())
        ),
    )
}

/// Reads `data:` events until `[DONE]` or the end of the stream.
pub(crate) fn read_event_stream(
    reader: &mut dyn BufRead,
    started: Instant,
    mut on_text: Option<&mut dyn FnMut(&str)>,
    backend: &str,
    cancel: Option<&crate::CancelToken>,
) -> Result<Answer, BackendError> {
    let mut answer = Answer::default();
    let mut data = String::new();
    let mut line = String::new();
    let mut saw_done = false;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|error| read_error(backend, &error))?;
        let at_end = read == 0;
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if !at_end && !trimmed.is_empty() {
            // Fields other than `data` (event, id, retry) and `:` comments
            // (keep-alives) carry nothing leash needs.
            if let Some(value) = trimmed.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
            continue;
        }
        // A blank line (or the end) dispatches the event. A cancel ends the
        // read here; dropping the connection tells the server to stop.
        if crate::cancelled(cancel) {
            return Err(BackendError::Cancelled {
                backend: backend.to_string(),
                generated_tokens: u32::try_from(answer.text.len().div_ceil(4)).unwrap_or(u32::MAX),
            });
        }
        if !data.is_empty() {
            if data.trim() == "[DONE]" {
                saw_done = true;
                break;
            }
            let chunk: Chunk = serde_json::from_str(&data).map_err(|error| {
                let shown: String = data.chars().take(200).collect();
                protocol(backend, format!("bad stream event {shown:?}: {error}"))
            })?;
            if let Some(error) = chunk.error {
                return Err(server_error(backend, error.message));
            }
            answer.absorb_usage(chunk.usage);
            for choice in chunk.choices.into_iter().take(1) {
                if let Some(delta) = choice.delta {
                    answer.absorb(delta, started, &mut on_text, backend)?;
                }
                if let Some(reason) = choice.finish_reason {
                    answer.finish = Some(finish_reason(&reason));
                }
            }
            data.clear();
        }
        if at_end {
            break;
        }
    }
    if !saw_done && answer.finish.is_none() {
        return Err(protocol(
            backend,
            "the stream ended before the answer was finished".to_string(),
        ));
    }
    Ok(answer)
}

/// Reads a whole JSON response.
pub(crate) fn read_whole_body(
    body: &str,
    started: Instant,
    mut on_text: Option<&mut dyn FnMut(&str)>,
    backend: &str,
) -> Result<Answer, BackendError> {
    let response: ChatResponse = serde_json::from_str(body).map_err(|error| {
        let shown: String = body.chars().take(200).collect();
        protocol(backend, format!("bad response body {shown:?}: {error}"))
    })?;
    if let Some(error) = response.error {
        return Err(server_error(backend, error.message));
    }
    let mut answer = Answer::default();
    answer.absorb_usage(response.usage);
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(protocol(backend, "the response has no choices".to_string()));
    };
    if let Some(message) = choice.message {
        answer.absorb(message, started, &mut on_text, backend)?;
    }
    answer.finish = Some(
        choice
            .finish_reason
            .as_deref()
            .map_or(FinishReason::Stop, finish_reason),
    );
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_data_and_comments() {
        let stream = ": keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"he\"}}]}\n\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"llo\"},\n\
                      data: \"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let mut reader = std::io::Cursor::new(stream.as_bytes());
        let answer = read_event_stream(&mut reader, Instant::now(), None, "t", None).unwrap();
        assert_eq!(answer.text, "hello");
        assert_eq!(answer.finish, Some(FinishReason::Stop));
    }

    #[test]
    fn truncated_stream_is_a_protocol_error() {
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"he\"}}]}\n\n";
        let mut reader = std::io::Cursor::new(stream.as_bytes());
        let error = read_event_stream(&mut reader, Instant::now(), None, "t", None).unwrap_err();
        assert!(matches!(error, BackendError::Protocol { .. }), "{error}");
    }

    /// Cancellation class: a cancel while the server streams ends the read
    /// at the next event (the connection is then dropped), typed.
    #[test]
    fn a_cancel_stops_reading_at_the_next_event() {
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"he\"}}]}\n\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\n\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"!!\"}}]}\n\ndata: [DONE]\n\n";
        let mut reader = std::io::Cursor::new(stream.as_bytes());
        let token = crate::CancelToken::new();
        let mut seen = String::new();
        let mut sink = |piece: &str| {
            seen.push_str(piece);
            token.cancel();
        };
        let error = read_event_stream(
            &mut reader,
            Instant::now(),
            Some(&mut sink),
            "t",
            Some(&token),
        )
        .unwrap_err();
        assert!(matches!(error, BackendError::Cancelled { .. }), "{error}");
        assert_eq!(seen, "he");
    }
}
