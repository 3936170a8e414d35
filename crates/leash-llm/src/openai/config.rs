//! Plain values an [`super::OpenAiBackend`] is built from. The mapping from
//! leash's YAML config is the engine's; the API key is passed in, read from
//! the environment variable the config names ([`api_key_from_env`]), never
//! from the config file.

use std::time::Duration;

use super::preset::OpenAiPreset;
use crate::backend::BackendError;

/// How long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAiTimeouts {
    /// To establish the connection (TCP and TLS).
    pub connect: Duration,
    /// Between two reads: the longest silence tolerated from the server,
    /// including before the first token (prompt processing on a slow
    /// device can take a while).
    pub read: Duration,
    /// For one whole `generate`, retries and backoff included.
    pub total: Duration,
}

impl Default for OpenAiTimeouts {
    fn default() -> Self {
        OpenAiTimeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// Retries of 429 and 5xx answers, with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff; doubled on each retry.
    pub initial_backoff: Duration,
    /// No single wait is longer, not even one a `Retry-After` asks for.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }
}

/// Everything an OpenAI-compatible backend needs.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// Short label for audit records: the backend is named `openai:<label>`.
    pub label: String,
    /// Base URL up to and including `/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The model id to request.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Connect, read and whole-request limits.
    pub timeouts: OpenAiTimeouts,
    /// How 429 and 5xx answers are retried within the request's deadline.
    pub retry: RetryPolicy,
    /// Send the action JSON schema as `response_format` for
    /// [`crate::OutputFormat::Actions`] requests.
    pub use_response_format: bool,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("label", &self.label)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("use_response_format", &self.use_response_format)
            .finish()
    }
}

impl OpenAiConfig {
    /// A config from plain values, with default timeouts and retries.
    pub fn new(
        label: impl Into<String>,
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: Option<String>,
        use_response_format: bool,
    ) -> Self {
        OpenAiConfig {
            label: label.into(),
            base_url: base_url.into(),
            model: model.into(),
            api_key,
            timeouts: OpenAiTimeouts::default(),
            retry: RetryPolicy::default(),
            use_response_format,
        }
    }

    /// A config from a preset; `model` overrides the preset's default model
    /// and is required when the preset has none.
    pub fn from_preset(
        preset: &OpenAiPreset,
        model: Option<&str>,
        api_key: Option<String>,
    ) -> Result<Self, BackendError> {
        let label = preset.name.to_string();
        let Some(model) = model.or(preset.default_model) else {
            return Err(BackendError::Load {
                backend: format!("openai:{label}"),
                detail: format!(
                    "the {} preset needs a model name (model.name in the config)",
                    preset.name
                ),
            });
        };
        if preset.requires_api_key && api_key.is_none() {
            return Err(BackendError::Load {
                backend: format!("openai:{label}"),
                detail: format!(
                    "the {} preset needs an API key; set model.api_key_env to the name of \
                     an environment variable holding it{}",
                    preset.name,
                    preset
                        .api_key_env
                        .map(|var| format!(" (usually {var})"))
                        .unwrap_or_default()
                ),
            });
        }
        Ok(OpenAiConfig::new(
            label,
            preset.base_url,
            model,
            api_key,
            preset.supports_response_format,
        ))
    }
}

/// The API key from the environment variable `var`; `None` when it is unset
/// or empty. An error when it is set but not valid Unicode, naming the variable.
pub fn api_key_from_env(var: &str) -> Result<Option<String>, BackendError> {
    match std::env::var(var) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_string())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(BackendError::Load {
            backend: "openai".to_string(),
            detail: format!("the environment variable {var} is not valid UTF-8"),
        }),
    }
}
