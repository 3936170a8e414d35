//! The process-wide llama.cpp runtime. llama.cpp may be initialised once per
//! process (`llama_backend_init`), so every backend — and a benchmark's direct
//! loop — shares this one, and it lives until the process exits.

use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend as LlamaRuntime;
use llama_cpp_2::{LogOptions, send_logs_to_tracing};

use crate::BackendError;

static RUNTIME: OnceLock<Result<LlamaRuntime, String>> = OnceLock::new();

/// The initialised llama.cpp runtime. llama.cpp's own log lines go to
/// `tracing` (target `llama-cpp-2`) instead of stderr, so a CLI shows them
/// only at the log level the user asked for.
pub fn llama_runtime() -> Result<&'static LlamaRuntime, BackendError> {
    RUNTIME
        .get_or_init(|| {
            send_logs_to_tracing(LogOptions::default());
            LlamaRuntime::init().map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|detail| BackendError::Load {
            backend: super::BACKEND_NAME.to_string(),
            detail: format!("cannot initialise llama.cpp: {detail}"),
        })
}
