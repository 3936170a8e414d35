//! The managed `llama-server` backend (`model.backend: llama-server`): leash
//! runs llama.cpp's server as its own child — how leash runs a local model on
//! Termux, where the in-process backend cannot build.
//!
//! - [`process`]: the child on a private loopback port with a fresh API key
//!   (any app can reach 127.0.0.1), started with the config's model,
//!   context, threads, one slot and `--slot-save-path`; ready once `/health`
//!   answers 200; stopped with leash (SIGTERM, then SIGKILL), and a server
//!   left over by a leash that was itself killed is stopped at the next start.
//! - A server that dies — Android's phantom-process killer sends SIGKILL
//!   without warning — is started again, with backoff when it keeps dying,
//!   and the request in flight is asked again: the job sees a slower answer,
//!   not a failure.
//! - [`slots`]: slot 0 is saved once per server life and restored after each
//!   start, so a restarted server does not evaluate the system prompt again.
//! - Requests carry the same GBNF grammar the embedded backend samples under
//!   ([`crate::actions_gbnf`]) and `cache_prompt`; answers go through the same
//!   stream reader as the OpenAI-compatible backend and the same parser.

mod process;
mod slots;

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::{
    Backend, BackendError, ChatMessage, FinishReason, GenerateRequest, Generation, OutputFormat,
};
use crate::openai::stream::{Answer, read_event_stream};
use crate::openai::transport_error::request_error;
use crate::openai::wire::StreamOptions;
use crate::{ProgramChoice, actions_gbnf};
use process::ServerProcess;

/// The name in audit records and errors.
const BACKEND_NAME: &str = "llama-server";

fn server_error(detail: String) -> BackendError {
    BackendError::Load {
        backend: BACKEND_NAME.to_string(),
        detail,
    }
}

/// How to run the server (from the config's `model.*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedServerConfig {
    /// The `llama-server` program (`model.server_bin`, else found on `PATH`).
    pub server_bin: PathBuf,
    /// The GGUF file.
    pub model_path: PathBuf,
    /// Context window in tokens (`--ctx-size`): prompt and answer together.
    pub context_size: u32,
    /// Decode threads (`--threads`): the big cores only, as for the embedded
    /// backend ([`crate::default_thread_count`]).
    pub threads: u32,
    /// Prompt threads (`--threads-batch`).
    pub batch_threads: u32,
    /// Prompt tokens evaluated per batch (`--batch-size`); `None`: the server's default.
    pub batch_size: Option<u32>,
    /// Cap on generated tokens, on top of each request's own.
    pub max_tokens: Option<u32>,
    /// Private directory for the pid, key and log files and the saved slots.
    pub run_dir: PathBuf,
    /// How long a start may take (model load included).
    pub start_timeout: Duration,
    /// The longest silence tolerated while an answer streams.
    pub read_timeout: Duration,
    /// Restarts tried for one request before it fails.
    pub max_restarts_per_request: u32,
    /// The first wait before restarting a server that keeps dying; doubled
    /// per consecutive failure up to [`ManagedServerConfig::max_backoff`].
    pub initial_backoff: Duration,
    /// The longest wait between restarts, however many failed in a row.
    pub max_backoff: Duration,
}

impl ManagedServerConfig {
    /// Defaults for everything but the program, model and directory.
    pub fn new(
        server_bin: impl Into<PathBuf>,
        model_path: impl Into<PathBuf>,
        run_dir: impl Into<PathBuf>,
    ) -> Self {
        ManagedServerConfig {
            server_bin: server_bin.into(),
            model_path: model_path.into(),
            context_size: 2048,
            threads: crate::default_thread_count(),
            batch_threads: crate::default_batch_thread_count(),
            batch_size: None,
            max_tokens: None,
            run_dir: run_dir.into(),
            start_timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(120),
            max_restarts_per_request: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
        }
    }

    fn slot_dir(&self) -> PathBuf {
        self.run_dir.join("slots")
    }
}

/// What the supervisor knows, shared with whoever shows it (`leash status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedServerStatus {
    /// The running server's pid.
    pub pid: Option<u32>,
    /// The 127.0.0.1 port it listens on (chosen free at each start).
    pub port: Option<u16>,
    /// Starts after the first one.
    pub restarts: u32,
    /// How the last server died, when one did.
    pub last_exit: Option<String>,
    /// Whether the last start restored a saved slot.
    pub slot_restored: bool,
    /// Decode threads the server was started with.
    pub threads: u32,
}

/// A shared view of [`ManagedServerStatus`].
pub type ManagedServerStatusHandle = Arc<Mutex<ManagedServerStatus>>;

/// The managed backend. Blocking, one request at a time, like the others.
#[derive(Debug)]
pub struct ManagedServerBackend {
    config: ManagedServerConfig,
    agent: ureq::Agent,
    process: Option<ServerProcess>,
    /// Deaths in a row without a successful answer in between (backoff).
    consecutive_failures: u32,
    /// The slot was saved during this server's life.
    slot_saved: bool,
    slot_file: String,
    /// The model's template mentions `<think>`: the grammar allows it first.
    allow_think: bool,
    grammar: Option<(crate::OwnedProgramChoice, String)>,
    status: ManagedServerStatusHandle,
    /// Whether any server was started yet (restarts count the later ones).
    started_once: bool,
    /// Checked per streamed event ([`Backend::set_cancel`]).
    cancel: Option<crate::CancelToken>,
    /// `threads` as configured, before the governor lowered it.
    configured_threads: u32,
}

#[derive(Serialize)]
struct ServerRequest<'a> {
    messages: &'a [ChatMessage],
    max_tokens: u32,
    temperature: f32,
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    grammar: Option<&'a str>,
    /// Reuse the slot's KV cache for the common prefix.
    cache_prompt: bool,
    id_slot: u32,
}

impl ManagedServerBackend {
    /// Starts the server (so a missing program or model fails here, where a
    /// fallback chain can move on) and restores a saved slot.
    pub fn start(config: ManagedServerConfig) -> Result<Self, BackendError> {
        if !config.model_path.is_file() {
            return Err(server_error(format!(
                "model file {} does not exist (model.path; `leash model fetch` gets the default)",
                config.model_path.display()
            )));
        }
        let allow_think = crate::read_gguf_info(&config.model_path)
            .map_err(|error| server_error(format!("{}: {error}", config.model_path.display())))?
            .chat_template
            .is_some_and(|template| template.contains("<think>"));
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .proxy(None)
                .timeout_connect(Some(Duration::from_secs(5)))
                .timeout_per_read(Some(config.read_timeout))
                .build(),
        );
        let slot_file = slots::slot_file_name(&config.model_path, config.context_size);
        let status = Arc::new(Mutex::new(ManagedServerStatus {
            threads: config.threads,
            ..ManagedServerStatus::default()
        }));
        let mut backend = ManagedServerBackend {
            config,
            agent,
            process: None,
            consecutive_failures: 0,
            slot_saved: false,
            slot_file,
            allow_think,
            grammar: None,
            status,
            started_once: false,
            configured_threads: 0,
            cancel: None,
        };
        backend.configured_threads = backend.config.threads;
        backend.ensure_running()?;
        Ok(backend)
    }

    /// The supervisor's state, updated as it changes.
    pub fn status_handle(&self) -> ManagedServerStatusHandle {
        Arc::clone(&self.status)
    }

    /// The running server's pid.
    pub fn server_pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// Decode threads from the next request on: the server is started again
    /// with them (the saved slot makes that cheap). The resource governor
    /// lowers them when the device runs warm.
    fn set_threads(&mut self, threads: Option<u32>) {
        let threads = threads.unwrap_or(self.configured_threads).max(1);
        if threads != self.config.threads {
            tracing::info!(
                from = self.config.threads,
                to = threads,
                "llama-server decode threads change; restarting it"
            );
            self.config.threads = threads;
            self.save_slot();
            if let Some(mut process) = self.process.take() {
                process.stop();
                // A planned stop, not a crash: not counted as a restart.
                self.started_once = false;
            }
        }
    }

    fn update_status(&self, change: impl FnOnce(&mut ManagedServerStatus)) {
        let mut guard = match self.status.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        change(&mut guard);
    }

    /// A live server, starting one (after a backoff when they keep dying).
    fn ensure_running(&mut self) -> Result<(), BackendError> {
        if let Some(process) = &mut self.process {
            match process.exited() {
                None => return Ok(()),
                Some(status) => self.note_death(status),
            }
        }
        if self.consecutive_failures > 0 {
            let exponent = self.consecutive_failures.saturating_sub(1).min(16);
            let wait = self
                .config
                .initial_backoff
                .saturating_mul(1u32 << exponent)
                .min(self.config.max_backoff);
            tracing::info!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "waiting before starting llama-server again"
            );
            std::thread::sleep(wait);
        }
        let process = match ServerProcess::start(&self.config, self.config.threads, &self.agent) {
            Ok(process) => process,
            Err(error) => {
                self.consecutive_failures += 1;
                return Err(error);
            }
        };
        let restored = self.restore_slot(&process);
        let (pid, port, restart) = (process.pid(), process.port, self.started_once);
        self.started_once = true;
        self.slot_saved = false;
        self.process = Some(process);
        let threads = self.config.threads;
        self.update_status(|s| {
            s.pid = Some(pid);
            s.port = Some(port);
            s.slot_restored = restored;
            s.threads = threads;
            if restart {
                s.restarts += 1;
            }
        });
        Ok(())
    }

    fn note_death(&mut self, status: String) {
        tracing::warn!(%status, "llama-server died; it will be started again");
        self.process = None;
        self.consecutive_failures += 1;
        self.update_status(|s| {
            s.pid = None;
            s.port = None;
            s.last_exit = Some(status);
        });
    }

    fn restore_slot(&self, process: &ServerProcess) -> bool {
        let path = self.config.slot_dir().join(&self.slot_file);
        if !path.is_file() {
            return false;
        }
        match slots::slot_action(
            &self.agent,
            &process.base_url(),
            process.api_key.expose(),
            "restore",
            &self.slot_file,
        ) {
            Ok(()) => {
                tracing::info!(file = %path.display(), "restored llama-server slot 0");
                true
            }
            Err(error) => {
                // A file the server cannot read would fail every start.
                tracing::warn!(%error, file = %path.display(), "removing a slot file that does not restore");
                let _ = std::fs::remove_file(&path);
                false
            }
        }
    }

    /// Saves slot 0 once per server life (best effort: a failed save only
    /// costs the next start a cold prompt).
    fn save_slot(&mut self) {
        if self.slot_saved {
            return;
        }
        let Some(process) = &self.process else {
            return;
        };
        match slots::slot_action(
            &self.agent,
            &process.base_url(),
            process.api_key.expose(),
            "save",
            &self.slot_file,
        ) {
            Ok(()) => self.slot_saved = true,
            Err(error) => tracing::warn!(%error, "could not save llama-server slot 0"),
        }
    }

    fn grammar(&mut self, programs: ProgramChoice<'_>) -> String {
        let key = programs.to_owned_choice();
        if let Some((cached_key, grammar)) = &self.grammar
            && *cached_key == key
        {
            return grammar.clone();
        }
        let grammar = actions_gbnf(self.allow_think, programs);
        self.grammar = Some((key, grammar.clone()));
        grammar
    }

    /// One request to the running server.
    fn ask(
        &self,
        body: &str,
        started: Instant,
        on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<Answer, BackendError> {
        let Some(process) = &self.process else {
            return Err(server_error("llama-server is not running".to_string()));
        };
        let response = self
            .agent
            .post(format!("{}/v1/chat/completions", process.base_url()))
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream")
            .header(
                "Authorization",
                format!("Bearer {}", process.api_key.expose()),
            )
            .send(body)
            .map_err(|error| request_error(BACKEND_NAME, error))?;
        let status = response.status().as_u16();
        if status != 200 {
            let mut detail = String::new();
            let _ = std::io::Read::read_to_string(
                &mut response
                    .into_body()
                    .into_with_config()
                    .limit(64 << 10)
                    .reader(),
                &mut detail,
            );
            return Err(BackendError::Http {
                backend: BACKEND_NAME.to_string(),
                status,
                detail: detail.chars().take(500).collect(),
            });
        }
        let reader = response
            .into_body()
            .into_with_config()
            .limit(16 << 20)
            .reader();
        read_event_stream(
            &mut BufReader::new(reader),
            started,
            on_text,
            BACKEND_NAME,
            self.cancel.as_ref(),
        )
    }
}

impl Backend for ManagedServerBackend {
    fn set_cancel(&mut self, cancel: Option<crate::CancelToken>) {
        self.cancel = cancel;
    }

    fn name(&self) -> String {
        BACKEND_NAME.to_string()
    }

    fn set_decode_threads(&mut self, threads: Option<u32>) {
        self.set_threads(threads);
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let started = Instant::now();
        let grammar = match &request.format {
            OutputFormat::Actions => Some(self.grammar(request.programs)),
            OutputFormat::Shaped(shape) => Some(shape.gbnf.clone()),
            OutputFormat::Text => None,
        };
        let max_tokens = self
            .config
            .max_tokens
            .map_or(request.max_tokens, |cap| cap.min(request.max_tokens));
        let body = serde_json::to_string(&ServerRequest {
            messages: request.messages,
            max_tokens,
            temperature: request.temperature,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            grammar: grammar.as_deref(),
            cache_prompt: true,
            id_slot: 0,
        })
        .map_err(|error| BackendError::Protocol {
            backend: BACKEND_NAME.to_string(),
            detail: format!("cannot encode the request: {error}"),
        })?;
        let mut on_text = request.on_text;
        let mut forward = |text: &str| {
            if let Some(sink) = on_text.as_mut() {
                sink(text);
            }
        };
        let mut restarts_left = self.config.max_restarts_per_request;
        loop {
            self.ensure_running()?;
            let attempt_started = Instant::now();
            match self.ask(&body, attempt_started, Some(&mut forward)) {
                Ok(answer) => {
                    self.consecutive_failures = 0;
                    self.save_slot();
                    return Ok(generation(answer, attempt_started, started));
                }
                Err(error) => {
                    // A server that died mid-answer (phantom-process killer,
                    // out of memory) is started again and asked again; any
                    // other error is the answer's.
                    let died = self
                        .process
                        .as_mut()
                        .and_then(|p| p.died_within(Duration::from_millis(500)));
                    let Some(status) = died else {
                        return Err(error);
                    };
                    self.note_death(status);
                    if restarts_left == 0 {
                        return Err(error);
                    }
                    restarts_left -= 1;
                    tracing::warn!(%error, "llama-server died during a request; asking again after a restart");
                }
            }
        }
    }
}

/// A finished generation. Time to first token is measured from the attempt
/// that answered (a restart's start-up is in `total_time`).
fn generation(answer: Answer, attempt_started: Instant, started: Instant) -> Generation {
    let total_time = started.elapsed();
    let usage = answer.usage;
    Generation {
        text: answer.text,
        reasoning: (!answer.reasoning.is_empty()).then_some(answer.reasoning),
        finish: answer.finish.unwrap_or(FinishReason::Stop),
        backend: BACKEND_NAME.to_string(),
        prompt_tokens: usage.prompt_tokens.unwrap_or(0),
        prompt_tokens_reused: usage
            .prompt_tokens_details
            .and_then(|details| details.cached_tokens)
            .unwrap_or(0),
        generated_tokens: usage.completion_tokens.unwrap_or(0),
        time_to_first_token: answer
            .time_to_first_token
            .unwrap_or_else(|| attempt_started.elapsed()),
        total_time,
    }
}
