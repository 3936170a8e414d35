//! The embedded backend: llama.cpp in-process through `llama-cpp-2` (issue #5
//! items 1 and 5).
//!
//! - The GGUF is checked ([`preflight`]) and then mmap'd by llama.cpp.
//! - One worker thread ([`worker`]) owns the model, the context and the mirror
//!   of the KV cache; [`LlamaBackend`] sends it jobs and blocks on the reply,
//!   passing streamed text to the caller's `on_text` as it arrives.
//! - Prompts use the model's chat template, or a named fallback with a
//!   warning ([`prompt`]).
//! - `OutputFormat::Actions` is sampled under the GBNF action grammar, lazily
//!   ([`sampling`]: only a token the model picks is checked), and steered to a
//!   close as the token budget runs out ([`closing`]), so even a 135M model
//!   emits a parseable plan at nearly the speed of free text.
//! - Message contents never become control tokens: each control-token text
//!   of the vocabulary is defused before templating ([`special_text`]).
//! - With `session_dir` set, the KV cache is saved once per process and
//!   restored by the next one ([`saved_prefix`]), so a restarted daemon does
//!   not evaluate the system prompt again either.
//! - The KV cache survives between steps and jobs: only the tokens after the
//!   longest common prefix with the previous prompt are evaluated
//!   ([`prefix`]), so the system prompt is evaluated once per daemon life.

mod closing;
mod prefix;
mod preflight;
mod prompt;
mod runtime;
mod sampling;
mod saved_prefix;
mod special_text;
mod utf8_stream;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::threads::{DecodeThreadChooser, default_batch_thread_count};
pub use runtime::llama_runtime;

use crate::{Backend, BackendError, GenerateRequest, Generation, GgufInfo};

/// The name in audit records and errors.
const BACKEND_NAME: &str = "llama";

/// How to load and run the model (from the config's `model.*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// The GGUF file (`model.path`, else the default model).
    pub model_path: PathBuf,
    /// Context window in tokens (`model.context_size`), prompt plus answer.
    pub context_size: u32,
    /// Prompt tokens evaluated per pass (`model.batch_size`); `None`: 512.
    /// Capped at `context_size`.
    pub batch_size: Option<u32>,
    /// Inference threads (`model.threads`), for decoding and prompts alike;
    /// `None`: decoding on the performance cores free before each answer
    /// (chosen again per answer, see `crate::threads`) and
    /// [`default_batch_thread_count`] for prompts.
    pub threads: Option<u32>,
    /// Upper bound on generated tokens (`model.max_tokens`), applied on top of
    /// each request's own `max_tokens`; `None`: the request decides.
    pub max_tokens: Option<u32>,
    /// Seed of the sampling draw at temperature > 0; `None`: random per answer.
    pub seed: Option<u32>,
    /// The llama.cpp built-in template used when the model's own is missing or
    /// unsupported (`chatml`, `llama3`, `mistral-v7`, ...).
    pub chat_template_fallback: String,
    /// Where the KV cache is saved for the next process (see
    /// `saved_prefix`); `None`: not saved.
    pub session_dir: Option<PathBuf>,
}

impl LlamaConfig {
    /// Defaults for everything but the model: 2048-token context (the
    /// config's default), ChatML fallback.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        LlamaConfig {
            model_path: model_path.into(),
            context_size: 2048,
            batch_size: None,
            threads: None,
            max_tokens: None,
            seed: None,
            chat_template_fallback: "chatml".to_string(),
            session_dir: None,
        }
    }
}

/// The embedded llama.cpp backend. Loading takes a moment (mmap and context
/// allocation); keep one for the daemon's life so the KV cache is reused.
#[derive(Debug)]
pub struct LlamaBackend {
    /// `None` only while dropping.
    jobs: Option<mpsc::Sender<worker::Job>>,
    worker: Option<JoinHandle<()>>,
    info: GgufInfo,
    loaded: worker::LoadedModel,
    /// Checked per generated token ([`Backend::set_cancel`]).
    cancel: Option<crate::CancelToken>,
    /// The resource governor's cap on decode threads, sent with each job.
    decode_threads_cap: Option<u32>,
    /// The decode threads the worker's context runs with now.
    current_threads: Arc<AtomicU32>,
}

impl LlamaBackend {
    /// Loads the model and starts the worker thread. Fails with
    /// [`BackendError::Load`] (naming the path) when the file is missing, is
    /// not a GGUF, is too big for the memory available, or llama.cpp refuses
    /// it.
    pub fn load(config: LlamaConfig) -> Result<Self, BackendError> {
        let info = preflight::check_model_file(&config.model_path)?;
        let chooser = DecodeThreadChooser::new(config.threads);
        let threads = worker::Threads {
            decode: chooser.choose(None).threads,
            batch: config
                .threads
                .unwrap_or_else(default_batch_thread_count)
                .max(1),
        };
        let current_threads = Arc::new(AtomicU32::new(threads.decode));
        let control = worker::ThreadControl {
            initial: threads,
            chooser,
            current: Arc::clone(&current_threads),
        };
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let path = config.model_path.clone();
        let worker = std::thread::Builder::new()
            .name("leash-llama".to_string())
            .spawn(move || worker::run(config, control, ready_tx, jobs_rx))
            .map_err(|err| BackendError::Load {
                backend: BACKEND_NAME.to_string(),
                detail: format!("cannot start the inference thread: {err}"),
            })?;
        let loaded = match ready_rx.recv() {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(err)) => {
                let _ = worker.join();
                return Err(err);
            }
            Err(_) => {
                let _ = worker.join();
                return Err(BackendError::Load {
                    backend: BACKEND_NAME.to_string(),
                    detail: format!(
                        "{}: the inference thread stopped while loading",
                        path.display()
                    ),
                });
            }
        };
        tracing::info!(
            model = %path.display(),
            architecture = info.architecture.as_deref().unwrap_or("?"),
            context = loaded.context_size,
            batch = loaded.batch_size,
            threads = loaded.threads.decode,
            batch_threads = loaded.threads.batch,
            template = ?loaded.template_source,
            "model loaded"
        );
        Ok(LlamaBackend {
            jobs: Some(jobs_tx),
            worker: Some(worker),
            info,
            loaded,
            cancel: None,
            decode_threads_cap: None,
            current_threads,
        })
    }

    /// What the GGUF header says about the loaded model.
    pub fn model_info(&self) -> &GgufInfo {
        &self.info
    }

    /// The context size in tokens.
    pub fn context_size(&self) -> u32 {
        self.loaded.context_size
    }

    /// The decode threads inference runs on now: the count chosen for the
    /// last answer (at load, the count chosen then). Without
    /// `model.threads` it follows the load, answer by answer.
    pub fn threads(&self) -> u32 {
        self.current_threads.load(Ordering::Relaxed)
    }

    /// The threads prompts are evaluated on.
    pub fn batch_threads(&self) -> u32 {
        self.loaded.threads.batch
    }

    /// Whether the model's own chat template is used (`false`: the fallback).
    pub fn uses_model_chat_template(&self) -> bool {
        match self.loaded.template_source {
            prompt::TemplateSource::Model => true,
            prompt::TemplateSource::Fallback => false,
        }
    }

    fn worker_gone() -> BackendError {
        BackendError::Inference {
            backend: BACKEND_NAME.to_string(),
            detail: "the inference thread is gone".to_string(),
        }
    }
}

impl Backend for LlamaBackend {
    fn name(&self) -> String {
        BACKEND_NAME.to_string()
    }

    fn set_cancel(&mut self, cancel: Option<crate::CancelToken>) {
        self.cancel = cancel;
    }

    /// Caps the decode threads from the next answer on (the governor lowers
    /// them while the device runs warm); `None` lifts the cap.
    fn set_decode_threads(&mut self, threads: Option<u32>) {
        self.decode_threads_cap = threads;
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let GenerateRequest {
            messages,
            format,
            max_tokens,
            temperature,
            programs,
            mut on_text,
        } = request;
        let jobs = self.jobs.as_ref().ok_or_else(Self::worker_gone)?;
        let (events_tx, events_rx) = mpsc::channel();
        let job = worker::Job {
            messages: messages.to_vec(),
            format,
            max_tokens,
            temperature,
            programs: programs.to_owned_choice(),
            stream: on_text.is_some(),
            events: events_tx,
            cancel: self.cancel.clone(),
            decode_threads_cap: self.decode_threads_cap,
        };
        jobs.send(job).map_err(|_| Self::worker_gone())?;
        loop {
            match events_rx.recv().map_err(|_| Self::worker_gone())? {
                worker::Event::Text(text) => {
                    if let Some(sink) = on_text.as_mut() {
                        sink(&text);
                    }
                }
                worker::Event::Finished(result) => return result,
            }
        }
    }
}

impl Drop for LlamaBackend {
    /// Closes the job channel so the worker's loop ends, then waits for it to
    /// free the context and the model.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
